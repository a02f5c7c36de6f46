# C declarations of the bitunix kernels (src/native/*.h), for Cython callers.
from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint32_t, uint64_t


cdef extern from "bx_vwap.h" nogil:
    ctypedef struct bx_vwap_t:
        uint32_t count
        uint64_t rejected
        int64_t last_ts
        int has_last
    int bx_vwap_init(bx_vwap_t *s, int64_t window_ns, uint32_t cap)
    void bx_vwap_free(bx_vwap_t *s)
    void bx_vwap_reset(bx_vwap_t *s)
    int bx_vwap_add(bx_vwap_t *s, double px, double qty, int64_t ts_ns)
    void bx_vwap_advance(bx_vwap_t *s, int64_t ts_ns)
    double bx_vwap_value(const bx_vwap_t *s)
    double bx_vwap_std(const bx_vwap_t *s)
    double bx_vwap_volume(const bx_vwap_t *s)
    void bx_vwap_resum(bx_vwap_t *s)
    size_t bx_vwap_add_many(bx_vwap_t *s, const int64_t *ts, const double *px,
                            const double *qty, size_t n, double *out_vwap, double *out_std)


cdef extern from "bx_flow.h" nogil:
    ctypedef struct bx_tick_t:
        uint32_t count
        uint64_t rejected
    int bx_tick_init(bx_tick_t *s, uint32_t n)
    void bx_tick_free(bx_tick_t *s)
    void bx_tick_reset(bx_tick_t *s)
    int bx_tick_add(bx_tick_t *s, double px)
    double bx_tick_ratio(const bx_tick_t *s)
    size_t bx_tick_add_many(bx_tick_t *s, const double *px, size_t n, double *out_ratio)

    ctypedef struct bx_wsum_t:
        uint32_t count
    double bx_wsum_total0(const bx_wsum_t *s)
    double bx_wsum_total1(const bx_wsum_t *s)
    void bx_wsum_advance(bx_wsum_t *s, int64_t ts_ns)

    ctypedef struct bx_tradeflow_t:
        bx_wsum_t w
        uint64_t rejected
    int bx_tradeflow_init(bx_tradeflow_t *s, int64_t window_ns, uint32_t cap)
    void bx_tradeflow_free(bx_tradeflow_t *s)
    void bx_tradeflow_reset(bx_tradeflow_t *s)
    int bx_tradeflow_add(bx_tradeflow_t *s, double qty, int is_buy, int64_t ts_ns)
    double bx_tradeflow_imbalance(const bx_tradeflow_t *s)
    size_t bx_tradeflow_add_many(bx_tradeflow_t *s, const int64_t *ts, const double *qty,
                                 const uint8_t *is_buy, size_t n, double *out)


cdef extern from "bx_vol.h" nogil:
    ctypedef struct bx_vol_t:
        bx_wsum_t w
        uint64_t rejected
    int bx_vol_init(bx_vol_t *s, int64_t window_ns, uint32_t cap, int64_t halflife_ns)
    void bx_vol_free(bx_vol_t *s)
    void bx_vol_reset(bx_vol_t *s)
    int bx_vol_add(bx_vol_t *s, double px, int64_t ts_ns)
    double bx_vol_realized(const bx_vol_t *s)
    double bx_vol_ewma(const bx_vol_t *s)
    size_t bx_vol_add_many(bx_vol_t *s, const int64_t *ts, const double *px, size_t n,
                           double *out_realized)


cdef extern from "bx_book.h" nogil:
    double bx_depth_imbalance(const double *bid_qty, const double *ask_qty, size_t n,
                              const double *weights)
    double bx_microprice(double bid, double bid_qty, double ask, double ask_qty)
    double bx_spread_ticks(double bid, double ask, double tick_size)
    void bx_depth_imbalance_batch(const double *bid_qty, const double *ask_qty, size_t rows,
                                  size_t levels, const double *weights, double *out)


cdef extern from "bx_decimal.h" nogil:
    int bx_parse_decimal(const char *text, size_t n, double *out)


cdef extern from "bx_simd.h" nogil:
    const char *const bx_simd_cloned[]
    const char *bx_simd_impl()
    const char *bx_simd_baseline()


cdef extern from "bx_features.h" nogil:
    enum: BX_N_FEATURES
    ctypedef struct bx_features_cfg_t:
        int64_t vwap_window_ns
        uint32_t vwap_max_samples
        uint32_t tick_n
        int64_t flow_window_ns
        uint32_t flow_max_samples
        int64_t vol_window_ns
        uint32_t vol_max_samples
        int64_t vol_halflife_ns
        uint32_t depth_levels
        uint32_t min_samples
        double tick_size
    ctypedef struct bx_features_t:
        bx_features_cfg_t cfg
        bx_vwap_t vwap
        bx_tick_t tick
        bx_tradeflow_t flow
        bx_vol_t vol
        double last_px
        double bid
        double ask
        double mid
        double microprice
        double depth_imbalance
        int has_book
        uint64_t trades_rejected
        uint64_t books_rejected
    int bx_features_init(bx_features_t *s, const bx_features_cfg_t *cfg, const double *weights)
    void bx_features_free(bx_features_t *s)
    void bx_features_reset(bx_features_t *s)
    int bx_features_on_trade(bx_features_t *s, double px, double qty, int64_t ts_ns, int is_buy)
    int bx_features_on_book(bx_features_t *s, const double *bid_px, const double *bid_qty,
                            size_t n_bid, const double *ask_px, const double *ask_qty,
                            size_t n_ask, int64_t ts_ns)
    int bx_features_write(const bx_features_t *s, float *out)
    double bx_features_zscore(const bx_features_t *s)
    size_t bx_features_trades_many(bx_features_t *s, const int64_t *ts, const double *px,
                                   const double *qty, const uint8_t *is_buy, size_t n,
                                   float *out, uint8_t *valid)


cdef extern from "bx_screen.h" nogil:
    ctypedef struct bx_screen_params_t:
        int64_t vwap_window_ns
        uint32_t vwap_max_samples
        uint32_t tick_n
        int64_t flow_window_ns
        uint32_t flow_max_samples
        uint32_t min_samples
        double entry_z
        double max_entry_z
        double min_std_bps
        double min_edge_bps
        double max_tick_ratio
        double max_flow_imbalance
        double target_fraction
        double stop_std
        int64_t max_hold_ns
        int64_t cooldown_ns
    ctypedef struct bx_screen_trades_t:
        int64_t *signal_i
        int64_t *entry_i
        int64_t *exit_i
        int8_t *direction
        int8_t *reason
        double *target
        double *stop
        size_t cap
    size_t bx_screen_run(const int64_t *ts, const double *px, const double *qty,
                         const uint8_t *is_buy, size_t n, const bx_screen_params_t *p,
                         int8_t *tick_ring, bx_screen_trades_t *out, int8_t *signal_out,
                         double *z_out, double *tick_out, double *flow_out)
