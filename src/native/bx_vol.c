#include "bx_vol.h"

#include <string.h>

int bx_vol_init(bx_vol_t *s, int64_t window_ns, uint32_t cap, int64_t halflife_ns) {
    memset(s, 0, sizeof(*s));
    if (halflife_ns <= 0) {
        return -1;
    }
    s->halflife_ns = (double)halflife_ns;
    return bx_wsum_init(&s->w, window_ns, cap);
}

void bx_vol_free(bx_vol_t *s) { bx_wsum_free(&s->w); }

void bx_vol_reset(bx_vol_t *s) {
    bx_wsum_reset(&s->w);
    s->last_px = 0.0;
    s->has_px = 0;
    s->ewma_sum = 0.0;
    s->ewma_ts = 0;
    s->rejected = 0;
}

int bx_vol_add(bx_vol_t *s, double px, int64_t ts_ns) {
    if (!bx_is_positive_finite(px) || (s->w.has_last && ts_ns < s->w.last_ts) ||
        (s->has_px && ts_ns < s->ewma_ts)) {
        s->rejected++;
        return 0;
    }
    if (!s->has_px) {
        s->last_px = px;
        s->has_px = 1;
        s->ewma_ts = ts_ns;
        return 1;
    }
    double r = log(px / s->last_px);
    s->last_px = px;
    bx_wsum_add(&s->w, r * r, r, ts_ns);
    double age = (double)(ts_ns - s->ewma_ts);
    s->ewma_sum = s->ewma_sum * exp2(-age / s->halflife_ns) + r * r;
    s->ewma_ts = ts_ns;
    return 1;
}

size_t bx_vol_add_many(bx_vol_t *s, const int64_t *ts, const double *px, size_t n,
                       double *out_realized) {
    size_t accepted = 0;
    for (size_t i = 0; i < n; ++i) {
        accepted += (size_t)bx_vol_add(s, px[i], ts[i]);
        if (out_realized) {
            out_realized[i] = bx_vol_realized(s);
        }
    }
    return accepted;
}
