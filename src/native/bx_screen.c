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

/* The rule's price checks on one row: d = sign(z) when they pass, else 0. Every comparison
 * fails on NaN. */
static inline int price_rule(const bx_screen_params_t *p, double price, double vwap,
                             double std, double z) {
    const double az = fabs(z);
    if (!(p->entry_z <= az && az <= p->max_entry_z && std / price * 1e4 >= p->min_std_bps)) {
        return 0;
    }
    const int d = z > 0.0 ? 1 : -1;
    const double edge = d * (price - vwap) * p->target_fraction / price * 1e4;
    return edge >= p->min_edge_bps && edge > 0.0 ? d : 0;
}

/* The tick rule and the flow window are brought up to date only when a row needs them (a
 * row that passed the price checks, or every row for the columns): most rows never do, and
 * kept per row the two cost two thirds of the pass. */
typedef struct {
    size_t start, done; /* the window is [start, done); rows from done on not seen yet */
    double tot, net;    /* quantity and signed quantity */
    uint32_t evicted;
} flow_t;

static void flow_sum(flow_t *f, const double *qty, const uint8_t *is_buy, size_t i) {
    double tot = 0.0, net = 0.0;
    for (size_t r = f->start; r <= i; ++r) {
        tot += qty[r];
        net += qty[r] * side_sign(is_buy[r]);
    }
    f->tot = tot;
    f->net = net;
    f->evicted = 0;
}

/* The flow window after row i: rows with ts > ts[i] - flow_window_ns, at most
 * flow_max_samples of them (what a per-row window holds after i). */
static inline void flow_catch_up(flow_t *f, const int64_t *ts, const double *qty,
                                 const uint8_t *is_buy, size_t i,
                                 const bx_screen_params_t *p) {
    const int64_t cut = ts[i] - p->flow_window_ns;
    size_t s = f->start;
    while (ts[s] <= cut) { /* stops at i at the latest: ts[i] > cut */
        ++s;
    }
    if (i + 1 - s > p->flow_max_samples) {
        s = i + 1 - p->flow_max_samples;
    }
    if (s >= f->done) { /* nothing summed so far is still in: sum the window afresh */
        f->start = s;
        flow_sum(f, qty, is_buy, i);
    } else {
        double dt = 0.0, dn = 0.0;
        for (size_t r = f->done; r <= i; ++r) {
            dt += qty[r];
            dn += qty[r] * side_sign(is_buy[r]);
        }
        for (size_t r = f->start; r < s; ++r) {
            dt -= qty[r];
            dn -= qty[r] * side_sign(is_buy[r]);
        }
        f->tot += dt;
        f->net += dn;
        f->evicted += (uint32_t)(s - f->start);
        f->start = s;
        if (should_resum(f->evicted, i + 1 - s)) {
            flow_sum(f, qty, is_buy, i);
        }
    }
    f->done = i + 1;
}

typedef struct {
    size_t done;        /* rows before done have their sign in the ring */
    uint32_t head, count;
    int32_t sum;        /* exact: integer signs never drift */
    int8_t last_sign;
} tick_t;

/* The tick rule's ring after row i (row 0 only seeds the price). */
static inline void tick_catch_up(tick_t *t, const double *px, size_t i, uint32_t n,
                                 int8_t *ring) {
    uint32_t head = t->head, count = t->count;
    int32_t sum = t->sum;
    int8_t last_sign = t->last_sign;
    size_t from = t->done;
    if (last_sign != 0 && i >= from + 2 * (size_t)n) {
        /* More than the ring's worth behind, after the first move: only the last n rows
         * count, carrying the sign of the last move before them. */
        const size_t lo = i + 1 - n;
        for (size_t r = lo - 1; r >= from; --r) {
            if (px[r] != px[r - 1]) {
                last_sign = px[r] > px[r - 1] ? 1 : -1;
                break;
            }
        }
        head = count = 0;
        sum = 0;
        from = lo;
    }
    for (size_t r = from; r <= i; ++r) {
        int8_t sign = (int8_t)((px[r] > px[r - 1]) - (px[r] < px[r - 1]));
        sign = sign ? sign : last_sign;
        if (sign == 0) {
            continue; /* no move yet: not counted */
        }
        last_sign = sign;
        if (count == n) { /* full: the new sign takes the oldest one's slot */
            sum += sign - ring[head];
            ring[head] = sign;
            head = (head + 1 == n) ? 0 : head + 1;
        } else {
            ring[count++] = sign; /* filling: the head is still slot 0 */
            sum += sign;
        }
    }
    t->head = head;
    t->count = count;
    t->sum = sum;
    t->last_sign = last_sign;
    if (i + 1 > t->done) {
        t->done = i + 1;
    }
}

static inline double tick_ratio(const tick_t *t) {
    return t->count ? (double)t->sum / (double)t->count : 0.0;
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
    flow_t flow = {0, 0, 0.0, 0.0, 0};
    tick_t tick = {1, 0, 0, 0, 0};
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
                const int d = price_rule(p, price, vwap, std, z);
                if (d != 0 || want_columns) {
                    tick_catch_up(&tick, px, i, p->tick_n, tick_ring);
                    flow_catch_up(&flow, ts, qty, is_buy, i, p);
                }
                if (d != 0 && d * tick_ratio(&tick) <= p->max_tick_ratio &&
                    d * flow_imbalance(flow.tot, flow.net) <= p->max_flow_imbalance) {
                    signal = (int8_t)-d;
                }
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
            tick_catch_up(&tick, px, i, p->tick_n, tick_ring);
            flow_catch_up(&flow, ts, qty, is_buy, i, p);
            if (signal_out) {
                signal_out[i] = signal;
            }
            if (z_out) {
                z_out[i] = z;
            }
            if (tick_out) {
                tick_out[i] = tick_ratio(&tick);
            }
            if (flow_out) {
                flow_out[i] = flow_imbalance(flow.tot, flow.net);
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
