/* Shared inline helpers for the bitunix kernels: compensated summation and input checks.
 * Kernels are plain C (no Python.h) and never allocate after their init function. */
#ifndef BX_COMMON_H
#define BX_COMMON_H

#include <math.h>
#include <stdint.h>
#include <stddef.h>

/* Neumaier's compensated sum: `sum + comp` carries the exact running total far better than
 * a naive sum, which matters because the rolling windows subtract what they evicted. */
static inline void bx_csum_add(double *sum, double *comp, double x) {
    double t = *sum + x;
    if (fabs(*sum) >= fabs(x)) {
        *comp += (*sum - t) + x;
    } else {
        *comp += (x - t) + *sum;
    }
    *sum = t;
}

static inline int bx_is_positive_finite(double x) {
    return isfinite(x) && x > 0.0;
}

/* Re-sum from the stored samples after this many evictions (at least), so that rounding
 * left by add/subtract pairs can never accumulate: amortised O(1) per update. */
#define BX_RESUM_MIN 64u

#endif
