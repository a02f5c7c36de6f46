/* Realised volatility of log returns between successive trade prices: the square root of
 * the sum of squared returns over a time window, and an exponentially time-decayed variant. */
#ifndef BX_VOL_H
#define BX_VOL_H

#include "bx_flow.h"

typedef struct {
    bx_wsum_t w;          /* v0 = r^2, v1 = r */
    double last_px;
    int has_px;
    double halflife_ns;
    double ewma_sum;      /* sum of r^2 decayed by 2^(-age / halflife) */
    int64_t ewma_ts;
    uint64_t rejected;
} bx_vol_t;

int bx_vol_init(bx_vol_t *s, int64_t window_ns, uint32_t cap, int64_t halflife_ns);
void bx_vol_free(bx_vol_t *s);
void bx_vol_reset(bx_vol_t *s);
int bx_vol_add(bx_vol_t *s, double px, int64_t ts_ns);
static inline double bx_vol_realized(const bx_vol_t *s) {
    double v = bx_wsum_total0(&s->w);
    return v > 0.0 ? sqrt(v) : 0.0;
}
static inline double bx_vol_ewma(const bx_vol_t *s) {
    return s->ewma_sum > 0.0 ? sqrt(s->ewma_sum) : 0.0;
}
size_t bx_vol_add_many(bx_vol_t *s, const int64_t *ts, const double *px, size_t n,
                       double *out_realized);

#endif
