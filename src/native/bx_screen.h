/* The research screen: features, a reversion rule and a simplified fill model in one pass
 * over whole trade arrays (bitunix.backtest.research). Float arithmetic throughout: this is
 * screening before an exact replay, not an accounting of money.
 *
 * Per trade i (after adding it to every window): rolling VWAP and std over the trades with
 * ts > ts[i] - vwap_window_ns (at most vwap_max_samples), the tick-rule ratio over the last
 * tick_n signs, and the buy/sell flow imbalance over flow_window_ns (at most
 * flow_max_samples), with the semantics of the RollingVWAP, TickImbalance and
 * TradeFlowImbalance kernels. The input must be clean: timestamps non-decreasing, prices and
 * quantities finite and > 0 (the Python caller checks). */
#ifndef BX_SCREEN_H
#define BX_SCREEN_H

#include "bx_common.h"

typedef struct {
    int64_t vwap_window_ns;
    uint32_t vwap_max_samples;
    uint32_t tick_n;
    int64_t flow_window_ns;
    uint32_t flow_max_samples;
    uint32_t min_samples;        /* trades in the VWAP window before z is valid */
    /* the rule, with d = sign(z) (+1: above the VWAP, a short fade) */
    double entry_z, max_entry_z; /* entry_z <= |z| <= max_entry_z */
    double min_std_bps;          /* std / price * 1e4 >= min_std_bps */
    double min_edge_bps;         /* d * (price - vwap) * target_fraction / price * 1e4 */
    double max_tick_ratio;       /* d * tick_ratio <= max_tick_ratio */
    double max_flow_imbalance;   /* d * flow_imbalance <= max_flow_imbalance */
    /* the exits, planned at the signal from its price, vwap and std */
    double target_fraction;
    double stop_std;
    int64_t max_hold_ns;
    int64_t cooldown_ns;
} bx_screen_params_t;

enum { BX_EXIT_STOP = 1, BX_EXIT_TARGET = 2, BX_EXIT_TIME = 3, BX_EXIT_END = 4 };

/* One row per round trip: signal row, entry row (the next trade), exit row. */
typedef struct {
    int64_t *signal_i, *entry_i, *exit_i;
    int8_t *direction;           /* +1 long, -1 short */
    int8_t *reason;              /* BX_EXIT_* */
    double *target, *stop;
    size_t cap;                  /* n / 2 + 1 always suffices */
} bx_screen_trades_t;

/* Runs the screen; returns the number of round trips written, one position at a time: a
 * signal while flat (and at or after the cooldown) enters at the next trade's price; the
 * position exits at the first later trade at or beyond its stop or target, or max_hold_ns
 * after the entry, or at the last trade (BX_EXIT_END); the next signal may come after the
 * exit trade, once ts >= exit ts + cooldown_ns. `tick_ring` holds tick_n int8.
 * The optional columns (NULL: not written) get, for every row, the rule's direction
 * regardless of position (0: no signal) and the features z (0 while not valid), tick ratio
 * and flow imbalance. Returns (size_t)-1 when out.cap is too small. */
size_t bx_screen_run(const int64_t *ts, const double *px, const double *qty,
                     const uint8_t *is_buy, size_t n, const bx_screen_params_t *p,
                     int8_t *tick_ring, bx_screen_trades_t *out, int8_t *signal_out,
                     double *z_out, double *tick_out, double *flow_out);

#endif
