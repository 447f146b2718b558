#include "tests/gradcheck.h"

#include <math.h>
#include <stdio.h>

double tu_gradcheck(tu_loss_fn loss, void *ctx, float *param, const float *grad, size_t n,
                    float eps, size_t max_checks, double atol, const char *what) {
    size_t step = n > max_checks ? n / max_checks : 1;
    double worst = 0;
    size_t worst_i = 0;
    double worst_a = 0, worst_n = 0;
    for (size_t i = 0; i < n; i += step) {
        float orig = param[i];
        param[i] = orig + eps;
        double lp = loss(ctx);
        param[i] = orig - eps;
        double lm = loss(ctx);
        param[i] = orig;
        double num = (lp - lm) / (2.0 * (double)eps);
        double a = grad[i];
        double err = fabs(a - num) / fmax(atol, fabs(a) + fabs(num));
        if (err > worst) worst = err, worst_i = i, worst_a = a, worst_n = num;
    }
    if (worst > 1e-2)
        fprintf(stderr, "gradcheck %s: worst at %zu: analytic %.6g numeric %.6g (rel %.3g)\n",
                what, worst_i, worst_a, worst_n, worst);
    return worst;
}
