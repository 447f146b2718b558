/* tessera: a small multimodal model and the C library that trains and runs it.
 *
 * Worked example — what an image becomes at the model's input:
 *
 *     #include <tessera.h>
 *
 *     float input[3 * 32 * 32];   // planar RGB in [-1, 1]
 *     if (ts_image_load_input_file("cat.jpg", 32, TS_FIT_STRETCH, input) != TS_OK) {
 *         fprintf(stderr, "%s\n", ts_last_error());   // "cat.jpg: not a PNG or JPEG file"
 *         return 2;
 *     }
 *
 * and what an audio clip becomes:
 *
 *     float *pcm, *mel; size_t n; int T;
 *     ts_audio_load_file("seven.wav", &pcm, &n);       // 16 kHz mono
 *     ts_logmel(pcm, n, 1, &mel, &T);                  // 80 x T
 *
 * Every function that can fail returns a ts_status (TS_OK on success) and
 * leaves a one-line message for ts_last_error(). Nothing in the library
 * prints to stdout or exits.
 */
#ifndef TESSERA_H
#define TESSERA_H

#ifdef __cplusplus
extern "C" {
#endif

#include "tessera/core.h"
#include "tessera/gguf.h"
#include "tessera/json.h"
#include "tessera/model.h"
#include "tessera/image.h"
#include "tessera/audio.h"
#include "tessera/dataset.h"
#include "tessera/vqvae.h"
#include "tessera/text.h"
#include "tessera/fusion.h"
#include "tessera/eval.h"
#include "tessera/pipeline.h"

#ifdef __cplusplus
}
#endif

#endif
