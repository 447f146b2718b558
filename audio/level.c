/* The level floor of clips read for the model (see tessera/audio.h): the
 * log-mel has no gain normalisation (whisper's clamp is relative to the
 * loudest bin, its scale absolute), so a recording 20 dB quieter than any
 * the model was trained on reads as other codes. */
#include <math.h>

#include "tessera/audio.h"

float ts_audio_level_floor(float *x, size_t n, float level) {
    float peak = 0;
    for (size_t i = 0; i < n; i++)
        peak = fmaxf(peak, fabsf(x[i]));
    if (!(level > 0) || peak <= 0 || peak >= level) return 1.0f;
    const float gain = level / peak;
    for (size_t i = 0; i < n; i++)
        x[i] *= gain;
    return gain;
}
