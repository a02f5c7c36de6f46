#include "bx_vwap.h"

#include <stdlib.h>
#include <string.h>

int bx_vwap_init(bx_vwap_t *s, int64_t window_ns, uint32_t cap) {
    memset(s, 0, sizeof(*s));
    if (window_ns <= 0 || cap == 0) {
        return -1;
    }
    s->ts = malloc(sizeof(int64_t) * cap);
    s->px = malloc(sizeof(double) * cap);
    s->qty = malloc(sizeof(double) * cap);
    if (!s->ts || !s->px || !s->qty) {
        bx_vwap_free(s);
        return -2;
    }
    s->window_ns = window_ns;
    s->cap = cap;
    return 0;
}

void bx_vwap_free(bx_vwap_t *s) {
    free(s->ts);
    free(s->px);
    free(s->qty);
    s->ts = NULL;
    s->px = NULL;
    s->qty = NULL;
    s->cap = 0;
    s->count = 0;
}

static void clear_sums(bx_vwap_t *s) {
    s->sum_q = s->comp_q = 0.0;
    s->sum_dq = s->comp_dq = 0.0;
    s->sum_ddq = s->comp_ddq = 0.0;
    s->evicted_since_resum = 0;
}

void bx_vwap_reset(bx_vwap_t *s) {
    s->head = 0;
    s->count = 0;
    s->ref = 0.0;
    s->last_ts = 0;
    s->has_last = 0;
    s->rejected = 0;
    clear_sums(s);
}

void bx_vwap_resum(bx_vwap_t *s) {
    clear_sums(s);
    if (s->count == 0) {
        return;
    }
    /* Re-centre on the newest price so the shifted sums stay small as the price trends. */
    uint32_t newest = (s->head + s->count - 1) % s->cap;
    s->ref = s->px[newest];
    uint32_t i = s->head;
    for (uint32_t k = 0; k < s->count; ++k) {
        double q = s->qty[i];
        double d = s->px[i] - s->ref;
        bx_csum_add(&s->sum_q, &s->comp_q, q);
        bx_csum_add(&s->sum_dq, &s->comp_dq, q * d);
        bx_csum_add(&s->sum_ddq, &s->comp_ddq, q * d * d);
        if (++i == s->cap) {
            i = 0;
        }
    }
}

static inline void evict_oldest(bx_vwap_t *s) {
    uint32_t i = s->head;
    double q = s->qty[i];
    double d = s->px[i] - s->ref;
    bx_csum_add(&s->sum_q, &s->comp_q, -q);
    bx_csum_add(&s->sum_dq, &s->comp_dq, -(q * d));
    bx_csum_add(&s->sum_ddq, &s->comp_ddq, -(q * d * d));
    s->head = (i + 1 == s->cap) ? 0 : i + 1;
    s->count--;
    s->evicted_since_resum++;
}

static inline void evict_before(bx_vwap_t *s, int64_t ts_ns) {
    int64_t cutoff = ts_ns - s->window_ns;
    while (s->count > 0 && s->ts[s->head] <= cutoff) {
        evict_oldest(s);
    }
}

static inline void settle(bx_vwap_t *s) {
    if (s->count == 0) {
        clear_sums(s); /* an empty window is exactly zero, whatever rounding came before */
    } else if (s->evicted_since_resum >= s->count && s->evicted_since_resum >= BX_RESUM_MIN) {
        bx_vwap_resum(s);
    }
}

void bx_vwap_advance(bx_vwap_t *s, int64_t ts_ns) {
    if (s->has_last && ts_ns < s->last_ts) {
        return;
    }
    evict_before(s, ts_ns);
    settle(s);
}

int bx_vwap_add(bx_vwap_t *s, double px, double qty, int64_t ts_ns) {
    if (!bx_is_positive_finite(px) || !bx_is_positive_finite(qty) ||
        (s->has_last && ts_ns < s->last_ts)) {
        s->rejected++;
        return 0;
    }
    evict_before(s, ts_ns);
    if (s->count == s->cap) {
        evict_oldest(s);
    }
    settle(s);
    if (s->count == 0) {
        s->ref = px;
    }
    uint32_t tail = s->head + s->count;
    if (tail >= s->cap) {
        tail -= s->cap;
    }
    s->ts[tail] = ts_ns;
    s->px[tail] = px;
    s->qty[tail] = qty;
    s->count++;
    double d = px - s->ref;
    bx_csum_add(&s->sum_q, &s->comp_q, qty);
    bx_csum_add(&s->sum_dq, &s->comp_dq, qty * d);
    bx_csum_add(&s->sum_ddq, &s->comp_ddq, qty * d * d);
    s->last_ts = ts_ns;
    s->has_last = 1;
    return 1;
}

double bx_vwap_volume(const bx_vwap_t *s) {
    return s->count ? s->sum_q + s->comp_q : 0.0;
}

double bx_vwap_value(const bx_vwap_t *s) {
    if (s->count == 0) {
        return 0.0;
    }
    return s->ref + (s->sum_dq + s->comp_dq) / (s->sum_q + s->comp_q);
}

double bx_vwap_std(const bx_vwap_t *s) {
    if (s->count < 2) {
        return 0.0;
    }
    double w = s->sum_q + s->comp_q;
    double m = (s->sum_dq + s->comp_dq) / w;
    double var = (s->sum_ddq + s->comp_ddq) / w - m * m;
    /* Rounding can leave a tiny negative variance for a flat window: never sqrt it. */
    return var > 0.0 ? sqrt(var) : 0.0;
}

size_t bx_vwap_add_many(bx_vwap_t *s, const int64_t *ts, const double *px, const double *qty,
                        size_t n, double *out_vwap, double *out_std) {
    size_t accepted = 0;
    for (size_t i = 0; i < n; ++i) {
        accepted += (size_t)bx_vwap_add(s, px[i], qty[i], ts[i]);
        if (out_vwap) {
            out_vwap[i] = bx_vwap_value(s);
        }
        if (out_std) {
            out_std[i] = bx_vwap_std(s);
        }
    }
    return accepted;
}
