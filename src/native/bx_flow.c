#include "bx_flow.h"

#include <stdlib.h>
#include <string.h>

/* ---- tick rule ------------------------------------------------------------------------ */

int bx_tick_init(bx_tick_t *s, uint32_t n) {
    memset(s, 0, sizeof(*s));
    if (n == 0) {
        return -1;
    }
    s->signs = malloc(n);
    if (!s->signs) {
        return -2;
    }
    s->cap = n;
    return 0;
}

void bx_tick_free(bx_tick_t *s) {
    free(s->signs);
    s->signs = NULL;
    s->cap = 0;
    s->count = 0;
}

void bx_tick_reset(bx_tick_t *s) {
    s->head = s->count = 0;
    s->sum = 0;
    s->last_sign = 0;
    s->last_px = 0.0;
    s->has_px = 0;
    s->rejected = 0;
}

int bx_tick_add(bx_tick_t *s, double px) {
    if (!bx_is_positive_finite(px)) {
        s->rejected++;
        return 0;
    }
    if (!s->has_px) {
        s->last_px = px;
        s->has_px = 1;
        return 1;
    }
    int8_t sign = px > s->last_px ? 1 : (px < s->last_px ? -1 : s->last_sign);
    s->last_px = px;
    if (sign == 0) {
        return 1;
    }
    s->last_sign = sign;
    if (s->count == s->cap) {
        s->sum -= s->signs[s->head];
        s->head = (s->head + 1 == s->cap) ? 0 : s->head + 1;
        s->count--;
    }
    uint32_t tail = s->head + s->count;
    if (tail >= s->cap) {
        tail -= s->cap;
    }
    s->signs[tail] = sign;
    s->sum += sign;
    s->count++;
    return 1;
}

double bx_tick_ratio(const bx_tick_t *s) {
    return s->count ? (double)s->sum / (double)s->count : 0.0;
}

size_t bx_tick_add_many(bx_tick_t *s, const double *px, size_t n, double *out_ratio) {
    size_t accepted = 0;
    for (size_t i = 0; i < n; ++i) {
        accepted += (size_t)bx_tick_add(s, px[i]);
        if (out_ratio) {
            out_ratio[i] = bx_tick_ratio(s);
        }
    }
    return accepted;
}

/* ---- windowed two-column sum ---------------------------------------------------------- */

int bx_wsum_init(bx_wsum_t *s, int64_t window_ns, uint32_t cap) {
    memset(s, 0, sizeof(*s));
    if (window_ns <= 0 || cap == 0) {
        return -1;
    }
    s->ts = malloc(sizeof(int64_t) * cap);
    s->v0 = malloc(sizeof(double) * cap);
    s->v1 = malloc(sizeof(double) * cap);
    if (!s->ts || !s->v0 || !s->v1) {
        bx_wsum_free(s);
        return -2;
    }
    s->window_ns = window_ns;
    s->cap = cap;
    return 0;
}

void bx_wsum_free(bx_wsum_t *s) {
    free(s->ts);
    free(s->v0);
    free(s->v1);
    s->ts = NULL;
    s->v0 = s->v1 = NULL;
    s->cap = 0;
    s->count = 0;
}

static void wsum_clear(bx_wsum_t *s) {
    s->sum0 = s->comp0 = s->sum1 = s->comp1 = 0.0;
    s->evicted_since_resum = 0;
}

void bx_wsum_reset(bx_wsum_t *s) {
    s->head = s->count = 0;
    s->last_ts = 0;
    s->has_last = 0;
    wsum_clear(s);
}

static void wsum_resum(bx_wsum_t *s) {
    wsum_clear(s);
    uint32_t i = s->head;
    for (uint32_t k = 0; k < s->count; ++k) {
        bx_csum_add(&s->sum0, &s->comp0, s->v0[i]);
        bx_csum_add(&s->sum1, &s->comp1, s->v1[i]);
        if (++i == s->cap) {
            i = 0;
        }
    }
}

static inline void wsum_evict_oldest(bx_wsum_t *s) {
    bx_csum_add(&s->sum0, &s->comp0, -s->v0[s->head]);
    bx_csum_add(&s->sum1, &s->comp1, -s->v1[s->head]);
    s->head = (s->head + 1 == s->cap) ? 0 : s->head + 1;
    s->count--;
    s->evicted_since_resum++;
}

static inline void wsum_settle(bx_wsum_t *s) {
    if (s->count == 0) {
        wsum_clear(s);
    } else if (s->evicted_since_resum >= BX_RESUM_FACTOR * s->count &&
               s->evicted_since_resum >= BX_RESUM_MIN) {
        wsum_resum(s);
    }
}

void bx_wsum_advance(bx_wsum_t *s, int64_t ts_ns) {
    if (s->has_last && ts_ns < s->last_ts) {
        return;
    }
    int64_t cutoff = ts_ns - s->window_ns;
    while (s->count > 0 && s->ts[s->head] <= cutoff) {
        wsum_evict_oldest(s);
    }
    wsum_settle(s);
}

int bx_wsum_add(bx_wsum_t *s, double v0, double v1, int64_t ts_ns) {
    if (s->has_last && ts_ns < s->last_ts) {
        return 0;
    }
    bx_wsum_advance(s, ts_ns);
    if (s->count == s->cap) {
        wsum_evict_oldest(s);
        wsum_settle(s);
    }
    uint32_t tail = s->head + s->count;
    if (tail >= s->cap) {
        tail -= s->cap;
    }
    s->ts[tail] = ts_ns;
    s->v0[tail] = v0;
    s->v1[tail] = v1;
    s->count++;
    bx_csum_add(&s->sum0, &s->comp0, v0);
    bx_csum_add(&s->sum1, &s->comp1, v1);
    s->last_ts = ts_ns;
    s->has_last = 1;
    return 1;
}

/* ---- trade-flow imbalance ------------------------------------------------------------- */

int bx_tradeflow_init(bx_tradeflow_t *s, int64_t window_ns, uint32_t cap) {
    s->rejected = 0;
    return bx_wsum_init(&s->w, window_ns, cap);
}

void bx_tradeflow_free(bx_tradeflow_t *s) { bx_wsum_free(&s->w); }

void bx_tradeflow_reset(bx_tradeflow_t *s) {
    bx_wsum_reset(&s->w);
    s->rejected = 0;
}

int bx_tradeflow_add(bx_tradeflow_t *s, double qty, int is_buy, int64_t ts_ns) {
    if (!bx_is_positive_finite(qty) ||
        !bx_wsum_add(&s->w, is_buy ? qty : 0.0, is_buy ? 0.0 : qty, ts_ns)) {
        s->rejected++;
        return 0;
    }
    return 1;
}

double bx_tradeflow_imbalance(const bx_tradeflow_t *s) {
    double buy = bx_wsum_total0(&s->w);
    double sell = bx_wsum_total1(&s->w);
    double total = buy + sell;
    return total > 0.0 ? (buy - sell) / total : 0.0;
}

size_t bx_tradeflow_add_many(bx_tradeflow_t *s, const int64_t *ts, const double *qty,
                             const uint8_t *is_buy, size_t n, double *out) {
    size_t accepted = 0;
    for (size_t i = 0; i < n; ++i) {
        accepted += (size_t)bx_tradeflow_add(s, qty[i], is_buy[i], ts[i]);
        if (out) {
            out[i] = bx_tradeflow_imbalance(s);
        }
    }
    return accepted;
}
