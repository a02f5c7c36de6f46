#include "bx_features.h"

#include <stdlib.h>
#include <string.h>

int bx_features_init(bx_features_t *s, const bx_features_cfg_t *cfg, const double *weights) {
    memset(s, 0, sizeof(*s));
    if (cfg->depth_levels == 0 || !(cfg->tick_size > 0.0) || !isfinite(cfg->tick_size)) {
        return -1;
    }
    s->cfg = *cfg;
    int rc = bx_vwap_init(&s->vwap, cfg->vwap_window_ns, cfg->vwap_max_samples);
    if (!rc) rc = bx_tick_init(&s->tick, cfg->tick_n);
    if (!rc) rc = bx_tradeflow_init(&s->flow, cfg->flow_window_ns, cfg->flow_max_samples);
    if (!rc) rc = bx_vol_init(&s->vol, cfg->vol_window_ns, cfg->vol_max_samples,
                              cfg->vol_halflife_ns);
    if (!rc && weights) {
        s->weights = malloc(sizeof(double) * cfg->depth_levels);
        if (!s->weights) {
            rc = -2;
        } else {
            memcpy(s->weights, weights, sizeof(double) * cfg->depth_levels);
        }
    }
    if (rc) {
        bx_features_free(s);
    }
    return rc;
}

void bx_features_free(bx_features_t *s) {
    bx_vwap_free(&s->vwap);
    bx_tick_free(&s->tick);
    bx_tradeflow_free(&s->flow);
    bx_vol_free(&s->vol);
    free(s->weights);
    s->weights = NULL;
}

void bx_features_reset(bx_features_t *s) {
    bx_vwap_reset(&s->vwap);
    bx_tick_reset(&s->tick);
    bx_tradeflow_reset(&s->flow);
    bx_vol_reset(&s->vol);
    s->last_px = 0.0;
    s->bid = s->ask = s->mid = s->microprice = s->depth_imbalance = 0.0;
    s->has_book = 0;
    s->trades_rejected = s->books_rejected = 0;
}

int bx_features_on_trade(bx_features_t *s, double px, double qty, int64_t ts_ns, int is_buy) {
    /* One validity rule for the whole trade, so the kernels never disagree on what they saw. */
    if (!bx_is_positive_finite(px) || !bx_is_positive_finite(qty) ||
        (s->vwap.has_last && ts_ns < s->vwap.last_ts)) {
        s->trades_rejected++;
        return 0;
    }
    bx_vwap_add(&s->vwap, px, qty, ts_ns);
    bx_tick_add(&s->tick, px);
    bx_tradeflow_add(&s->flow, qty, is_buy, ts_ns);
    bx_vol_add(&s->vol, px, ts_ns);
    s->last_px = px;
    return 1;
}

static int side_is_valid(const double *px, const double *qty, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        if (!bx_is_positive_finite(px[i]) || !isfinite(qty[i]) || qty[i] < 0.0) {
            return 0;
        }
    }
    return 1;
}

int bx_features_on_book(bx_features_t *s, const double *bid_px, const double *bid_qty,
                        size_t n_bid, const double *ask_px, const double *ask_qty, size_t n_ask,
                        int64_t ts_ns) {
    (void)ts_ns;
    if (n_bid == 0 || n_ask == 0 || !side_is_valid(bid_px, bid_qty, n_bid) ||
        !side_is_valid(ask_px, ask_qty, n_ask) || bid_px[0] >= ask_px[0]) {
        s->books_rejected++;
        return 0;
    }
    size_t n = s->cfg.depth_levels;
    if (n > n_bid) n = n_bid;
    if (n > n_ask) n = n_ask;
    s->depth_imbalance = bx_depth_imbalance(bid_qty, ask_qty, n, s->weights);
    s->bid = bid_px[0];
    s->ask = ask_px[0];
    s->mid = 0.5 * (s->bid + s->ask);
    s->microprice = bx_microprice(s->bid, bid_qty[0], s->ask, ask_qty[0]);
    s->has_book = 1;
    return 1;
}

double bx_features_zscore(const bx_features_t *s) {
    double vwap, std;
    bx_vwap_read(&s->vwap, &vwap, &std);
    return std > 0.0 ? (s->last_px - vwap) / std : 0.0;
}

int bx_features_write(const bx_features_t *s, float *out) {
    double vwap, std;
    bx_vwap_read(&s->vwap, &vwap, &std);
    int warm = s->vwap.count >= s->cfg.min_samples && std > 0.0;
    out[BX_F_VWAP_Z] = (float)(warm ? (s->last_px - vwap) / std : 0.0);
    out[BX_F_TICK_RATIO] = (float)bx_tick_ratio(&s->tick);
    out[BX_F_FLOW_IMBALANCE] = (float)bx_tradeflow_imbalance(&s->flow);
    out[BX_F_DEPTH_IMBALANCE] = (float)(s->has_book ? s->depth_imbalance : 0.0);
    out[BX_F_MICROPRICE_OFFSET_BPS] =
        (float)(s->has_book ? (s->microprice - s->mid) / s->mid * 1e4 : 0.0);
    out[BX_F_SPREAD_TICKS] =
        (float)(s->has_book ? bx_spread_ticks(s->bid, s->ask, s->cfg.tick_size) : 0.0);
    out[BX_F_REALIZED_VOL_BPS] = (float)(bx_vol_realized(&s->vol) * 1e4);
    out[BX_F_VWAP_DEV_BPS] = (float)(vwap > 0.0 ? (s->last_px - vwap) / vwap * 1e4 : 0.0);
    return warm && s->has_book;
}

size_t bx_features_trades_many(bx_features_t *s, const int64_t *ts, const double *px,
                               const double *qty, const uint8_t *is_buy, size_t n,
                               float *out, uint8_t *valid) {
    size_t accepted = 0;
    for (size_t i = 0; i < n; ++i) {
        accepted += (size_t)bx_features_on_trade(s, px[i], qty[i], ts[i], is_buy[i]);
        uint8_t ok = (uint8_t)bx_features_write(s, out + i * BX_N_FEATURES);
        if (valid) {
            valid[i] = ok;
        }
    }
    return accepted;
}
