/* Shared inline helpers for the bitunix kernels: compensated summation and input checks.
 * Kernels are plain C (no Python.h) and never allocate after their init function. */
#ifndef BX_COMMON_H
#define BX_COMMON_H

#include <math.h>
#include <stdint.h>
#include <stddef.h>

/* Compensated sum: `sum + comp` carries the running total far more exactly than a naive
 * sum, which matters because the rolling windows subtract what they evicted. The error term
 * is Knuth's branch-free TwoSum rather than Neumaier's compare, because the shifted sums
 * change sign constantly and a data-dependent branch would be at the predictor's mercy. */
static inline void bx_csum_add(double *sum, double *comp, double x) {
    double s = *sum;
    double t = s + x;
    double bp = t - s;
    *comp += (s - (t - bp)) + (x - bp);
    *sum = t;
}

static inline int bx_is_positive_finite(double x) {
    return isfinite(x) && x > 0.0;
}

/* Re-sum from the stored samples once evictions reach BX_RESUM_FACTOR times the window's
 * count (and at least BX_RESUM_MIN), so rounding left by add/subtract pairs can never
 * accumulate: amortised O(1/BX_RESUM_FACTOR) extra adds per update. The compensated sums keep
 * the error negligible in between; re-summing every `count` evictions cost 22% of an update. */
#define BX_RESUM_FACTOR 8u
#define BX_RESUM_MIN 64u

#endif
