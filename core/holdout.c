/* Which speech-commands speakers are held out. One rule serves the VQ-VAE
 * (train-vq's `sc%P` pattern) and the decoder corpus, so no val speaker's
 * voice shapes either model. */
#include "tessera/dataset.h"

bool ts_sc_speaker_is_val(const char *speaker, int val_percent) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a: stable across platforms */
    for (; *speaker; speaker++)
        h = (h ^ (uint8_t)*speaker) * 1099511628211ull;
    return (int)(h % 100) < val_percent;
}
