#include "bx_screen.h"

#include <string.h>

/* The windows are index ranges [j, i] of the input arrays themselves (clean, time-ordered
 * input), so nothing is copied into rings; the VWAP sums are of prices shifted by a recent
 * price, like RollingVWAP's. */
typedef struct {
    double q, dq, ddq;
} vsums_t;

static inline void vs_add(vsums_t *m, double q, double d) {
    m->q += q;
    m->dq += q * d;
    m->ddq += q * d * d;
}

/* Plain sums, re-summed once evictions reach twice the window's count: the rounding of
 * add/subtract pairs stays bounded for about 1.5 extra adds per row. The compensated sums of
 * the live kernels cost 35% of this loop; screening does not need their last bits. */
static inline int should_resum(uint32_t evicted, size_t count) {
    return evicted >= 2 * count && evicted >= BX_RESUM_MIN;
}

/* +1.0 for a buy, -1.0 for a sell, without a branch on a coin toss. */
static inline double side_sign(uint8_t is_buy) { return 2.0 * (double)(is_buy != 0) - 1.0; }

static inline double flow_imbalance(double total, double net) {
    return total > 0.0 ? net / total : 0.0;
}

/* The entry rule on one row's readings: +1 (long), -1 (short) or 0. Every comparison fails
 * on NaN. */
static inline int8_t rule(const bx_screen_params_t *p, double price, double vwap, double std,
                          double z, double tick, double flow) {
    const double az = fabs(z);
    if (!(p->entry_z <= az && az <= p->max_entry_z && std / price * 1e4 >= p->min_std_bps)) {
        return 0;
    }
    const int d = z > 0.0 ? 1 : -1;
    const double edge = d * (price - vwap) * p->target_fraction / price * 1e4;
    if (edge >= p->min_edge_bps && edge > 0.0 && d * tick <= p->max_tick_ratio &&
        d * flow <= p->max_flow_imbalance) {
        return (int8_t)-d;
    }
    return 0;
}

enum { FLAT = 0, PENDING = 1, HOLDING = 2 };

size_t bx_screen_run(const int64_t *restrict ts, const double *restrict px,
                     const double *restrict qty, const uint8_t *restrict is_buy, size_t n,
                     const bx_screen_params_t *params, int8_t *restrict tick_ring,
                     bx_screen_trades_t *trades, int8_t *restrict signal_out,
                     double *restrict z_out, double *restrict tick_out,
                     double *restrict flow_out) {
    /* Local copies: an int8_t store (the tick ring, the signal column) may alias anything,
     * so through the pointers every parameter would be reloaded after each one. */
    const bx_screen_params_t P = *params;
    const bx_screen_params_t *p = &P;
    bx_screen_trades_t T = *trades;
    bx_screen_trades_t *out = &T;
    if (out->cap < n / 2 + 1) {
        return (size_t)-1;
    }
    if (n == 0) {
        return 0;
    }
    const int want_columns = signal_out || z_out || tick_out || flow_out;
    const double ez2 = p->entry_z * p->entry_z * (1.0 - 1e-9); /* pre-filter with slack */
    /* VWAP window */
    size_t vj = 0;
    vsums_t vs;
    memset(&vs, 0, sizeof(vs));
    double ref = px[0];
    uint32_t v_evicted = 0;
    /* flow window */
    size_t fj = 0;
    double tot = 0.0, net = 0.0;
    uint32_t f_evicted = 0;
    /* tick rule */
    uint32_t t_head = 0, t_count = 0;
    int32_t t_sum = 0;
    int8_t last_sign = 0;
    double last_px = px[0];
    /* position */
    int state = FLAT;
    size_t k = 0, entry_row = 0;
    int8_t dir = 0;
    double target = 0.0, stop = 0.0;
    int64_t next_entry_ts = INT64_MIN;

    for (size_t i = 0; i < n; ++i) {
        const int64_t t = ts[i];
        const double price = px[i], q = qty[i];

        /* ---- VWAP and std ----
         * What leaves the window is summed apart and the row's net change added once: one
         * dependent add per row on each running sum instead of one per eviction and one for
         * the new trade (the loop is bound by those chains). */
        const int64_t vcut = t - p->vwap_window_ns;
        vsums_t gone = {0.0, 0.0, 0.0};
        while (vj < i && ts[vj] <= vcut) {
            vs_add(&gone, qty[vj], px[vj] - ref);
            ++vj;
            ++v_evicted;
        }
        if (i - vj == p->vwap_max_samples) {
            vs_add(&gone, qty[vj], px[vj] - ref);
            ++vj;
            ++v_evicted;
        }
        if (vj == i) {
            memset(&vs, 0, sizeof(vs));
            v_evicted = 0;
            ref = price;
            vs.q = q;
        } else if (should_resum(v_evicted, i - vj)) {
            memset(&vs, 0, sizeof(vs));
            v_evicted = 0;
            ref = px[i - 1];
            for (size_t r = vj; r < i; ++r) {
                vs_add(&vs, qty[r], px[r] - ref);
            }
            vs_add(&vs, q, price - ref);
        } else {
            const double d = price - ref;
            vs.q += q - gone.q;
            vs.dq += q * d - gone.dq;
            vs.ddq += q * d * d - gone.ddq;
        }
        const size_t v_count = i - vj + 1;

        /* ---- tick rule: once the ring is full, the new sign takes the oldest one's slot ---- */
        if (i > 0) {
            int8_t sign = (int8_t)((price > last_px) - (price < last_px));
            sign = sign ? sign : last_sign;
            last_px = price;
            if (sign != 0) {
                last_sign = sign;
                if (t_count == p->tick_n) {
                    t_sum += sign - tick_ring[t_head];
                    tick_ring[t_head] = sign;
                    t_head = (t_head + 1 == p->tick_n) ? 0 : t_head + 1;
                } else {
                    tick_ring[t_count++] = sign; /* filling: the head is still slot 0 */
                    t_sum += sign;
                }
            }
        }

        /* ---- flow imbalance: total and signed quantity (branch-free: the side of a trade
         * is a coin toss to the branch predictor) ---- */
        const int64_t fcut = t - p->flow_window_ns;
        double gone_tot = 0.0, gone_net = 0.0;
        while (fj < i && ts[fj] <= fcut) {
            gone_tot += qty[fj];
            gone_net += qty[fj] * side_sign(is_buy[fj]);
            ++fj;
            ++f_evicted;
        }
        if (i - fj == p->flow_max_samples) {
            gone_tot += qty[fj];
            gone_net += qty[fj] * side_sign(is_buy[fj]);
            ++fj;
            ++f_evicted;
        }
        if (fj == i || should_resum(f_evicted, i - fj)) {
            tot = net = 0.0;
            f_evicted = 0;
            for (size_t r = fj; r <= i; ++r) {
                tot += qty[r];
                net += qty[r] * side_sign(is_buy[r]);
            }
        } else {
            tot += q - gone_tot;
            net += q * side_sign(is_buy[i]) - gone_net;
        }

        /* ---- the position ---- */
        int exited = 0;
        if (state == PENDING) {
            entry_row = i;
            out->entry_i[k] = (int64_t)i;
            state = HOLDING;
        } else if (state == HOLDING) {
            int8_t reason = 0;
            if (dir > 0 ? price <= stop : price >= stop) {
                reason = BX_EXIT_STOP;
            } else if (dir > 0 ? price >= target : price <= target) {
                reason = BX_EXIT_TARGET;
            } else if (t - ts[entry_row] >= p->max_hold_ns) {
                reason = BX_EXIT_TIME;
            }
            if (reason) {
                out->exit_i[k] = (int64_t)i;
                out->reason[k] = reason;
                ++k;
                state = FLAT;
                exited = 1;
                /* saturating: a huge cooldown must not wrap around */
                next_entry_ts = t > INT64_MAX - p->cooldown_ns ? INT64_MAX : t + p->cooldown_ns;
            }
        }
        const int may_enter = state == FLAT && !exited && t >= next_entry_ts && i + 1 < n;
        if (!may_enter && !want_columns) {
            continue;
        }

        /* ---- the rule ---- */
        /* |z| >= entry_z without a division: (sum dq - a w)^2 >= z^2 (sum ddq w - sum dq^2)
         * with a = price - ref and w = sum q; most rows stop here. */
        const double a = price - ref;
        const double num = vs.dq - a * vs.q;
        const int valid = v_count >= p->min_samples && v_count >= 2;
        int8_t signal = 0;
        double z = 0.0;
        if (valid && (want_columns || num * num >= ez2 * (vs.ddq * vs.q - vs.dq * vs.dq))) {
            const double inv_w = 1.0 / vs.q;
            const double m = vs.dq * inv_w;
            const double var = vs.ddq * inv_w - m * m;
            const double vwap = ref + m;
            const double std = var > 0.0 ? sqrt(var) : 0.0;
            if (std > 0.0) {
                z = (price - vwap) / std;
                signal = rule(p, price, vwap, std, z, t_count ? (double)t_sum / t_count : 0.0,
                              flow_imbalance(tot, net));
            }
            if (may_enter && signal) {
                dir = signal;
                out->signal_i[k] = (int64_t)i;
                out->direction[k] = dir;
                target = price + p->target_fraction * (vwap - price);
                stop = price - dir * p->stop_std * std;
                out->target[k] = target;
                out->stop[k] = stop;
                state = PENDING;
            }
        }
        if (want_columns) {
            if (signal_out) {
                signal_out[i] = signal;
            }
            if (z_out) {
                z_out[i] = z;
            }
            if (tick_out) {
                tick_out[i] = t_count ? (double)t_sum / (double)t_count : 0.0;
            }
            if (flow_out) {
                flow_out[i] = flow_imbalance(tot, net);
            }
        }
    }
    if (state == HOLDING) {
        out->exit_i[k] = (int64_t)(n - 1);
        out->reason[k] = BX_EXIT_END;
        ++k;
    }
    return k;
}
