/* Central finite differences against an analytic gradient. */
#ifndef TESSERA_GRADCHECK_H
#define TESSERA_GRADCHECK_H

#include <stddef.h>

/* Recomputes the forward pass from the current parameters and returns the
 * scalar loss (in double where it can, to keep the differences clean). */
typedef double (*tu_loss_fn)(void *ctx);

/* For up to max_checks entries of param (spread evenly over n), compares
 * grad[i] with (L(p+eps) - L(p-eps)) / 2eps. Returns the largest error
 * |a - n| / max(atol, |a| + |n|); prints the worst entry when verbose. */
double tu_gradcheck(tu_loss_fn loss, void *ctx, float *param, const float *grad, size_t n,
                    float eps, size_t max_checks, double atol, const char *what);

#endif
