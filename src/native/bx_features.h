/* The per-symbol feature engine: owns every kernel and writes the model's feature vector
 * into a caller-owned float buffer. The order below is the contract with the model
 * registry (FEATURE_NAMES in bitunix.features mirrors it). */
#ifndef BX_FEATURES_H
#define BX_FEATURES_H

#include "bx_book.h"
#include "bx_flow.h"
#include "bx_vol.h"
#include "bx_vwap.h"

enum {
    BX_F_VWAP_Z = 0,
    BX_F_TICK_RATIO,
    BX_F_FLOW_IMBALANCE,
    BX_F_DEPTH_IMBALANCE,
    BX_F_MICROPRICE_OFFSET_BPS,
    BX_F_SPREAD_TICKS,
    BX_F_REALIZED_VOL_BPS,
    BX_F_VWAP_DEV_BPS,
    BX_N_FEATURES
};

typedef struct {
    int64_t vwap_window_ns;
    uint32_t vwap_max_samples;
    uint32_t tick_n;
    int64_t flow_window_ns;
    uint32_t flow_max_samples;
    int64_t vol_window_ns;
    uint32_t vol_max_samples;
    int64_t vol_halflife_ns;
    uint32_t depth_levels;
    uint32_t min_samples;
    double tick_size;
} bx_features_cfg_t;

typedef struct {
    bx_features_cfg_t cfg;
    bx_vwap_t vwap;
    bx_tick_t tick;
    bx_tradeflow_t flow;
    bx_vol_t vol;
    double *weights;          /* depth_levels entries, or NULL for equal weights */
    double last_px;
    double bid, ask, mid, microprice, depth_imbalance;
    int has_book;
    uint64_t trades_rejected;
    uint64_t books_rejected;
} bx_features_t;

int bx_features_init(bx_features_t *s, const bx_features_cfg_t *cfg, const double *weights);
void bx_features_free(bx_features_t *s);
void bx_features_reset(bx_features_t *s);
int bx_features_on_trade(bx_features_t *s, double px, double qty, int64_t ts_ns, int is_buy);
/* Returns 1 when the book is accepted; 0 (counted) when it is empty, crossed or carries a
 * non-finite or negative value, in which case the previous book stays in force. */
int bx_features_on_book(bx_features_t *s, const double *bid_px, const double *bid_qty,
                        size_t n_bid, const double *ask_px, const double *ask_qty, size_t n_ask,
                        int64_t ts_ns);
/* Writes BX_N_FEATURES finite floats; returns 1 when every feature is valid (a warm VWAP
 * with std > 0 and a book seen), 0 otherwise (invalid entries are written as 0). */
int bx_features_write(const bx_features_t *s, float *out);
double bx_features_zscore(const bx_features_t *s);
/* Replay n trades; writes n x BX_N_FEATURES floats (row-major) and one valid flag per row. */
size_t bx_features_trades_many(bx_features_t *s, const int64_t *ts, const double *px,
                               const double *qty, const uint8_t *is_buy, size_t n,
                               float *out, uint8_t *valid);

#endif
