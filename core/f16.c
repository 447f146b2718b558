/* The public half-precision conversions; the inline bodies are in f16.h. */
#include "tessera/gguf.h"

#include "core/f16.h"

uint16_t ts_f32_to_f16(float f) { return ts_f16_from_f32_(f); }
float ts_f16_to_f32(uint16_t h) { return ts_f16_to_f32_(h); }
uint16_t ts_f32_to_bf16(float f) { return ts_bf16_from_f32_(f); }
float ts_bf16_to_f32(uint16_t h) { return ts_bf16_to_f32_(h); }
