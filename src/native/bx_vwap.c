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
    memset(&s->sums, 0, sizeof(s->sums));
    s->evicted_since_resum = 0;
}

/* The sums are updated in a local copy and stored once per call: through `s` the compiler
 * must assume the ring stores may alias them and round-trips every add via memory (seen in
 * perf annotate as addsd on the struct's fields). */
static inline void sums_add(bx_vwap_sums_t *m, double q, double d) {
    bx_csum_add(&m->q, &m->comp_q, q);
    bx_csum_add(&m->dq, &m->comp_dq, q * d);
    bx_csum_add(&m->ddq, &m->comp_ddq, q * d * d);
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
    bx_vwap_sums_t m = s->sums;
    const double ref = s->ref;
    uint32_t i = s->head;
    for (uint32_t k = 0; k < s->count; ++k) {
        sums_add(&m, s->qty[i], s->px[i] - ref);
        if (++i == s->cap) {
            i = 0;
        }
    }
    s->sums = m;
}

static inline void evict_oldest(bx_vwap_t *s, bx_vwap_sums_t *m) {
    uint32_t i = s->head;
    sums_add(m, -s->qty[i], s->px[i] - s->ref);
    s->head = (i + 1 == s->cap) ? 0 : i + 1;
    s->count--;
    s->evicted_since_resum++;
}

static inline void evict_before(bx_vwap_t *s, bx_vwap_sums_t *m, int64_t ts_ns) {
    int64_t cutoff = ts_ns - s->window_ns;
    while (s->count > 0 && s->ts[s->head] <= cutoff) {
        evict_oldest(s, m);
    }
}

static inline void settle(bx_vwap_t *s) {
    if (s->count == 0) {
        clear_sums(s); /* an empty window is exactly zero, whatever rounding came before */
    } else if (s->evicted_since_resum >= BX_RESUM_FACTOR * s->count &&
               s->evicted_since_resum >= BX_RESUM_MIN) {
        bx_vwap_resum(s);
    }
}

void bx_vwap_advance(bx_vwap_t *s, int64_t ts_ns) {
    if (s->has_last && ts_ns < s->last_ts) {
        return;
    }
    bx_vwap_sums_t m = s->sums;
    evict_before(s, &m, ts_ns);
    s->sums = m;
    settle(s);
}

/* Always inlined so the batch loop keeps the state in registers across samples. */
static inline __attribute__((always_inline)) int add_sample(bx_vwap_t *s, double px, double qty,
                                                             int64_t ts_ns) {
    if (!bx_is_positive_finite(px) || !bx_is_positive_finite(qty) ||
        (s->has_last && ts_ns < s->last_ts)) {
        s->rejected++;
        return 0;
    }
    bx_vwap_sums_t m = s->sums;
    evict_before(s, &m, ts_ns);
    if (s->count == s->cap) {
        evict_oldest(s, &m);
    }
    s->sums = m;
    settle(s);
    m = s->sums;
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
    sums_add(&m, qty, px - s->ref);
    s->sums = m;
    s->last_ts = ts_ns;
    s->has_last = 1;
    return 1;
}

int bx_vwap_add(bx_vwap_t *s, double px, double qty, int64_t ts_ns) {
    return add_sample(s, px, qty, ts_ns);
}

double bx_vwap_volume(const bx_vwap_t *s) {
    return s->count ? s->sums.q + s->sums.comp_q : 0.0;
}

/* vwap and std from one reciprocal. The batch, the std property and the feature engine read
 * through here (bx_vwap_value repeats its vwap arithmetic exactly), so batch outputs are
 * bit-identical to the incremental properties. */
void bx_vwap_read(const bx_vwap_t *s, double *vwap, double *std) {
    if (s->count == 0) {
        *vwap = *std = 0.0;
        return;
    }
    double inv_w = 1.0 / (s->sums.q + s->sums.comp_q);
    double m = (s->sums.dq + s->sums.comp_dq) * inv_w;
    double var = (s->sums.ddq + s->sums.comp_ddq) * inv_w - m * m;
    *vwap = s->ref + m;
    *std = (s->count >= 2 && var > 0.0) ? sqrt(var) : 0.0;
}

double bx_vwap_value(const bx_vwap_t *s) {
    /* The same arithmetic as bx_vwap_read, without the square root it would discard. */
    if (s->count == 0) {
        return 0.0;
    }
    double inv_w = 1.0 / (s->sums.q + s->sums.comp_q);
    return s->ref + (s->sums.dq + s->sums.comp_dq) * inv_w;
}

double bx_vwap_std(const bx_vwap_t *s) {
    double vwap, std;
    bx_vwap_read(s, &vwap, &std);
    return std;
}

size_t bx_vwap_add_many(bx_vwap_t *restrict s, const int64_t *restrict ts,
                        const double *restrict px, const double *restrict qty,
                        size_t n, double *restrict out_vwap, double *restrict out_std) {
    size_t accepted = 0;
    if (!out_vwap || !out_std) {
        for (size_t i = 0; i < n; ++i) {
            accepted += (size_t)add_sample(s, px[i], qty[i], ts[i]);
        }
        return accepted;
    }
    for (size_t i = 0; i < n; ++i) {
        accepted += (size_t)add_sample(s, px[i], qty[i], ts[i]);
        bx_vwap_read(s, &out_vwap[i], &out_std[i]);
    }
    return accepted;
}
