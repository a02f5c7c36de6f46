#include "bx_book.h"
#include "bx_simd.h"

static inline double ratio(double bid, double ask) {
    double total = bid + ask;
    return total > 0.0 ? (bid - ask) / total : 0.0;
}

double bx_depth_imbalance(const double *restrict bid_qty, const double *restrict ask_qty,
                          size_t n, const double *restrict weights) {
    double bid = 0.0, ask = 0.0;
    if (weights) {
        for (size_t i = 0; i < n; ++i) {
            bid += weights[i] * bid_qty[i];
            ask += weights[i] * ask_qty[i];
        }
    } else {
        for (size_t i = 0; i < n; ++i) {
            bid += bid_qty[i];
            ask += ask_qty[i];
        }
    }
    return ratio(bid, ask);
}

double bx_microprice(double bid, double bid_qty, double ask, double ask_qty) {
    double total = bid_qty + ask_qty;
    if (!(total > 0.0)) {
        return 0.5 * (bid + ask);
    }
    return (bid * ask_qty + ask * bid_qty) / total;
}

double bx_spread_ticks(double bid, double ask, double tick_size) {
    return tick_size > 0.0 ? (ask - bid) / tick_size : 0.0;
}

/* The level sums are reductions; `omp simd` (with -fopenmp-simd, no OpenMP runtime) lets the
 * compiler reassociate just these loops into vector lanes without -ffast-math elsewhere.
 * Results may differ from the scalar function in the last bits (tests allow 1e-12). */
BX_CLONES
void bx_depth_imbalance_batch(const double *restrict bid_qty, const double *restrict ask_qty,
                              size_t rows, size_t levels, const double *restrict weights,
                              double *restrict out) {
    for (size_t r = 0; r < rows; ++r) {
        const double *b = bid_qty + r * levels;
        const double *a = ask_qty + r * levels;
        double bid = 0.0, ask = 0.0;
        if (weights) {
#pragma omp simd reduction(+ : bid, ask)
            for (size_t i = 0; i < levels; ++i) {
                bid += weights[i] * b[i];
                ask += weights[i] * a[i];
            }
        } else {
#pragma omp simd reduction(+ : bid, ask)
            for (size_t i = 0; i < levels; ++i) {
                bid += b[i];
                ask += a[i];
            }
        }
        out[r] = ratio(bid, ask);
    }
}
