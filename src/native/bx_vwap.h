/* Rolling volume-weighted average price and volume-weighted standard deviation over a
 * window bounded by time (ts > t - window_ns) and by count (the last `cap` samples). */
#ifndef BX_VWAP_H
#define BX_VWAP_H

#include "bx_common.h"

/* Compensated sums of the window: sum q, sum q (p - ref), sum q (p - ref)^2. */
typedef struct {
    double q, comp_q;
    double dq, comp_dq;
    double ddq, comp_ddq;
} bx_vwap_sums_t;

typedef struct {
    int64_t *ts;
    double *px;
    double *qty;
    int64_t window_ns;
    uint32_t cap;
    uint32_t head;      /* index of the oldest sample */
    uint32_t count;
    uint32_t evicted_since_resum;
    /* Sums are of prices shifted by `ref` (a recent price), which keeps the variance
     * E[(p-ref)^2] - E[p-ref]^2 free of the cancellation that p^2 sums suffer at 1e4-1e5. */
    double ref;
    bx_vwap_sums_t sums;
    int64_t last_ts;
    int has_last;
    uint64_t rejected;
} bx_vwap_t;

/* Returns 0 on success, -1 on bad arguments, -2 when memory cannot be allocated. */
int bx_vwap_init(bx_vwap_t *s, int64_t window_ns, uint32_t cap);
void bx_vwap_free(bx_vwap_t *s);
void bx_vwap_reset(bx_vwap_t *s);
/* Returns 1 when the sample is accepted; 0 when rejected (non-finite, price or qty <= 0,
 * or a timestamp older than the newest accepted one), which only bumps `rejected`. */
int bx_vwap_add(bx_vwap_t *s, double px, double qty, int64_t ts_ns);
/* Evict by time as if a sample had arrived at ts_ns, without adding one. */
void bx_vwap_advance(bx_vwap_t *s, int64_t ts_ns);
/* vwap and std together from one reciprocal: what every reader uses, so values agree bit
 * for bit between the incremental and the batch paths. */
void bx_vwap_read(const bx_vwap_t *s, double *vwap, double *std);
double bx_vwap_value(const bx_vwap_t *s);
double bx_vwap_std(const bx_vwap_t *s);
double bx_vwap_volume(const bx_vwap_t *s);
/* Recompute every sum from the stored samples. */
void bx_vwap_resum(bx_vwap_t *s);
/* Feed n samples, writing vwap and std after each when both outputs are given (or neither,
 * both NULL). Returns the number accepted. */
size_t bx_vwap_add_many(bx_vwap_t *s, const int64_t *ts, const double *px, const double *qty,
                        size_t n, double *out_vwap, double *out_std);

#endif
