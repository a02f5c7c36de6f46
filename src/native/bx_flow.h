/* Trade-flow kernels: the tick-rule imbalance over the last n trades, and a two-column
 * windowed sum (bounded by time and count) used for buy/sell flow and for squared returns. */
#ifndef BX_FLOW_H
#define BX_FLOW_H

#include "bx_common.h"

/* Tick rule: +1 on an uptick, -1 on a downtick, an unchanged price repeats the previous
 * sign. The first trade only seeds the price, and zero ticks before any move are not
 * counted, so ratio = sum(signs) / count over the last n recorded signs. */
typedef struct {
    int8_t *signs;
    uint32_t cap, head, count;
    int32_t sum;          /* exact: integer signs never drift */
    int8_t last_sign;
    double last_px;
    int has_px;
    uint64_t rejected;
} bx_tick_t;

int bx_tick_init(bx_tick_t *s, uint32_t n);
void bx_tick_free(bx_tick_t *s);
void bx_tick_reset(bx_tick_t *s);
int bx_tick_add(bx_tick_t *s, double px);
double bx_tick_ratio(const bx_tick_t *s);
size_t bx_tick_add_many(bx_tick_t *s, const double *px, size_t n, double *out_ratio);

/* Sum of two value columns over the samples with ts > t - window_ns, at most `cap` of them. */
typedef struct {
    int64_t *ts;
    double *v0, *v1;
    int64_t window_ns;
    uint32_t cap, head, count;
    uint32_t evicted_since_resum;
    double sum0, comp0, sum1, comp1;
    int64_t last_ts;
    int has_last;
} bx_wsum_t;

int bx_wsum_init(bx_wsum_t *s, int64_t window_ns, uint32_t cap);
void bx_wsum_free(bx_wsum_t *s);
void bx_wsum_reset(bx_wsum_t *s);
/* The caller validates the values; a timestamp older than the newest returns 0. */
int bx_wsum_add(bx_wsum_t *s, double v0, double v1, int64_t ts_ns);
void bx_wsum_advance(bx_wsum_t *s, int64_t ts_ns);
static inline double bx_wsum_total0(const bx_wsum_t *s) { return s->count ? s->sum0 + s->comp0 : 0.0; }
static inline double bx_wsum_total1(const bx_wsum_t *s) { return s->count ? s->sum1 + s->comp1 : 0.0; }

/* Signed trade-flow imbalance (buy - sell) / (buy + sell) over a time window. */
typedef struct {
    bx_wsum_t w;          /* v0 = buy qty, v1 = sell qty */
    uint64_t rejected;
} bx_tradeflow_t;

int bx_tradeflow_init(bx_tradeflow_t *s, int64_t window_ns, uint32_t cap);
void bx_tradeflow_free(bx_tradeflow_t *s);
void bx_tradeflow_reset(bx_tradeflow_t *s);
int bx_tradeflow_add(bx_tradeflow_t *s, double qty, int is_buy, int64_t ts_ns);
double bx_tradeflow_imbalance(const bx_tradeflow_t *s);
size_t bx_tradeflow_add_many(bx_tradeflow_t *s, const int64_t *ts, const double *qty,
                             const uint8_t *is_buy, size_t n, double *out);

#endif
