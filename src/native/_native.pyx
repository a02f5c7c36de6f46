# cython: language_level=3
"""Native feature kernels of bitunix (C, wrapped by Cython).

The incremental types update in O(1) (amortised) without allocating; the ``*_batch``
functions run the same C code over whole numpy arrays with the GIL released, so a replay
or backtest gets bit-for-bit the values the live path computes.
"""

from cpython.dict cimport PyDict_GetItem
from cpython.float cimport PyFloat_AS_DOUBLE, PyFloat_AsDouble, PyFloat_CheckExact
from cpython.list cimport PyList_CheckExact, PyList_GET_ITEM, PyList_GET_SIZE
from cpython.object cimport PyObject
from cpython.sequence cimport PySequence_Fast, PySequence_Fast_GET_SIZE, PySequence_Fast_ITEMS
from cpython.tuple cimport PyTuple_CheckExact, PyTuple_GET_ITEM, PyTuple_GET_SIZE
from cpython.unicode cimport PyUnicode_Check
from libc.stdint cimport int8_t, int64_t, uint8_t, uint32_t

import types

import numpy as np

from bx_kernels cimport *


cdef extern from "Python.h":
    const char *PyUnicode_AsUTF8AndSize(object text, Py_ssize_t *size) except NULL
    # Python's own locale-independent, correctly rounded parser (what float(str) calls).
    double PyOS_string_to_double(const char *s, char **endptr, PyObject *overflow_exc)
    void PyErr_Clear()


cdef extern from "structmember.h":
    ctypedef struct PyMemberDef:
        int type
    object PyMember_GetOne(const char *obj_addr, PyMemberDef *member)
    enum: T_OBJECT
    enum: T_OBJECT_EX


cdef extern from "Python.h":
    ctypedef struct PyMemberDescrObject:
        PyMemberDef *d_member

FEATURE_NAMES = (
    "vwap_z",
    "tick_ratio",
    "flow_imbalance",
    "depth_imbalance",
    "microprice_offset_bps",
    "spread_ticks",
    "realized_vol_bps",
    "vwap_dev_bps",
)
assert len(FEATURE_NAMES) == BX_N_FEATURES, "FEATURE_NAMES out of step with bx_features.h"

_NS_PER_S = 1_000_000_000


def simd_kernels():
    """The kernels built with AVX2 clones, each with the variant this CPU runs (avx2 or sse2).

    Empty where the build has no clones (not x86-64 glibc, or a compiler without
    ``target_clones``). Every kernel not listed, the whole per-tick path included, runs the
    one baseline build (``simd_impl()`` names its ISA).
    """
    cdef const char *variant = bx_simd_impl()
    cdef Py_ssize_t i = 0
    kernels = {}
    while bx_simd_cloned[i] != NULL:
        kernels[bx_simd_cloned[i].decode("ascii").removeprefix("bx_")] = variant.decode("ascii")
        i += 1
    return kernels


def simd_impl():
    """What this CPU runs, in one line for a banner.

    The per-tick kernels (``FeatureEngine.on_trade``/``on_book``/``write`` and the rolling
    windows) are scalar code compiled for the baseline ISA; only the kernels in
    ``simd_kernels()`` have AVX2 clones. So: ``"scalar tick path; avx2 clone:
    depth_imbalance_batch"`` on an AVX2 CPU, ``"scalar tick path; sse2 (no avx2 on this
    CPU)"`` without AVX2, ``"scalar tick path; <isa> baseline"`` in a build without clones.
    """
    kernels = simd_kernels()
    if not kernels:
        return f"scalar tick path; {bx_simd_baseline().decode('ascii')} baseline"
    if bx_simd_impl() == b"avx2":
        return "scalar tick path; avx2 clone: " + ", ".join(sorted(kernels))
    return "scalar tick path; sse2 (no avx2 on this CPU)"


cdef inline uint32_t _capacity(Py_ssize_t n, str name) except? 0:
    if n <= 0 or n > 0xFFFFFFFF:
        raise ValueError(f"{name} must be between 1 and 2**32-1, was {n}")
    return <uint32_t>n


cdef inline void _check_init(int rc, str what) except *:
    if rc == -2:
        raise MemoryError(f"cannot allocate {what}")
    if rc != 0:
        raise ValueError(f"invalid arguments for {what}")


cdef inline void _check_positive(int64_t value, str name) except *:
    if value <= 0:
        raise ValueError(f"{name} must be > 0, was {value}")


cdef inline Py_ssize_t _same_length(Py_ssize_t a, Py_ssize_t b, str what) except -1:
    if a != b:
        raise ValueError(f"{what}: arrays differ in length ({a} != {b})")
    return a


cdef class RollingVWAP:
    """Rolling volume-weighted average price and volume-weighted standard deviation.

    After ``add(..., ts_ns=t)`` the window holds the last ``max_samples`` accepted samples
    whose timestamp is ``> t - window_ns``. ``std`` is the volume-weighted population
    deviation ``sqrt(sum q (p - vwap)^2 / sum q)``; an empty window reads 0.0.
    NaN, inf, a price or quantity <= 0, and a timestamp older than the newest accepted one
    are rejected: the state is untouched and ``rejected`` counts them.
    """

    # __cinit__ allocates (it runs exactly once, even for subclasses); __init__ only gives
    # the constructor an introspectable signature for help(), IDEs and stubtest.
    def __init__(self, int64_t window_ns, Py_ssize_t max_samples):
        """See the class docstring."""

    def __cinit__(self, int64_t window_ns, Py_ssize_t max_samples):
        _check_positive(window_ns, "window_ns")
        _check_init(bx_vwap_init(&self._s, window_ns, _capacity(max_samples, "max_samples")),
                    "RollingVWAP")
        self.window_ns = window_ns
        self.max_samples = max_samples

    def __dealloc__(self):
        bx_vwap_free(&self._s)

    def add(self, double price, double qty, int64_t ts_ns):
        """Add one trade; return True when it was accepted."""
        return bx_vwap_add(&self._s, price, qty, ts_ns) == 1

    def advance(self, int64_t ts_ns):
        """Evict by time as if a sample had arrived at ``ts_ns``, without adding one."""
        bx_vwap_advance(&self._s, ts_ns)

    def add_many(self, const int64_t[::1] ts_ns, const double[::1] price, const double[::1] qty):
        """Add arrays of trades in order (GIL released); return how many were accepted."""
        cdef Py_ssize_t n = _same_length(ts_ns.shape[0], price.shape[0], "add_many")
        _same_length(n, qty.shape[0], "add_many")
        cdef size_t accepted
        if n == 0:
            return 0
        with nogil:
            accepted = bx_vwap_add_many(&self._s, &ts_ns[0], &price[0], &qty[0], <size_t>n,
                                        NULL, NULL)
        return accepted

    def reset(self):
        """Empty the window and zero the counters."""
        bx_vwap_reset(&self._s)

    @property
    def vwap(self):
        """Volume-weighted average price of the window (0.0 when empty)."""
        return bx_vwap_value(&self._s)

    @property
    def std(self):
        """Volume-weighted population standard deviation of the window (0.0 when empty)."""
        return bx_vwap_std(&self._s)

    @property
    def count(self):
        """Number of samples in the window."""
        return self._s.count

    @property
    def volume(self):
        """Total quantity in the window."""
        return bx_vwap_volume(&self._s)

    @property
    def rejected(self):
        """Number of samples rejected since creation or the last reset."""
        return self._s.rejected

    def __repr__(self):
        return (f"RollingVWAP(window_ns={self.window_ns}, max_samples={self.max_samples}, "
                f"count={self._s.count}, vwap={bx_vwap_value(&self._s)!r})")


cdef class TickImbalance:
    """Tick-rule imbalance over the last ``n`` trades: mean of +1 (uptick) / -1 (downtick).

    An unchanged price repeats the previous sign; the first trade only seeds the price and
    zero ticks before the first move are not counted. Reads 0.0 when empty.
    """

    # __cinit__ allocates (it runs exactly once, even for subclasses); __init__ only gives
    # the constructor an introspectable signature for help(), IDEs and stubtest.
    def __init__(self, Py_ssize_t n):
        """See the class docstring."""

    def __cinit__(self, Py_ssize_t n):
        _check_init(bx_tick_init(&self._s, _capacity(n, "n")), "TickImbalance")
        self.n = n

    def __dealloc__(self):
        bx_tick_free(&self._s)

    def add(self, double price):
        """Add one trade price; return True when it was accepted."""
        return bx_tick_add(&self._s, price) == 1

    def reset(self):
        """Forget every trade and zero the counters."""
        bx_tick_reset(&self._s)

    @property
    def ratio(self):
        """sum(signs) / count over the recorded signs, in [-1, 1]."""
        return bx_tick_ratio(&self._s)

    @property
    def count(self):
        """Number of signs recorded (at most n)."""
        return self._s.count

    @property
    def rejected(self):
        """Number of prices rejected (NaN, inf, <= 0)."""
        return self._s.rejected


cdef class TradeFlowImbalance:
    """Signed trade-flow imbalance ``(buy - sell) / (buy + sell)`` over a time window.

    Same window rule as RollingVWAP; quantities must be finite and > 0.
    """

    # __cinit__ allocates (it runs exactly once, even for subclasses); __init__ only gives
    # the constructor an introspectable signature for help(), IDEs and stubtest.
    def __init__(self, int64_t window_ns, Py_ssize_t max_samples):
        """See the class docstring."""

    def __cinit__(self, int64_t window_ns, Py_ssize_t max_samples):
        _check_positive(window_ns, "window_ns")
        _check_init(bx_tradeflow_init(&self._s, window_ns, _capacity(max_samples, "max_samples")),
                    "TradeFlowImbalance")
        self.window_ns = window_ns
        self.max_samples = max_samples

    def __dealloc__(self):
        bx_tradeflow_free(&self._s)

    def add(self, double qty, bint is_buy, int64_t ts_ns):
        """Add one trade (``is_buy``: the aggressor bought); return True when accepted."""
        return bx_tradeflow_add(&self._s, qty, is_buy, ts_ns) == 1

    def advance(self, int64_t ts_ns):
        """Evict by time as of ``ts_ns``."""
        bx_wsum_advance(&self._s.w, ts_ns)

    def reset(self):
        """Empty the window and zero the counters."""
        bx_tradeflow_reset(&self._s)

    @property
    def imbalance(self):
        """(buy - sell) / (buy + sell) in the window; 0.0 when empty."""
        return bx_tradeflow_imbalance(&self._s)

    @property
    def buy_volume(self):
        """Aggressive buy quantity in the window."""
        return bx_wsum_total0(&self._s.w)

    @property
    def sell_volume(self):
        """Aggressive sell quantity in the window."""
        return bx_wsum_total1(&self._s.w)

    @property
    def count(self):
        """Number of trades in the window."""
        return self._s.w.count

    @property
    def rejected(self):
        """Number of trades rejected."""
        return self._s.rejected


cdef class RealizedVolatility:
    """Realised volatility of log returns between successive prices.

    ``realized`` is ``sqrt(sum r^2)`` over the returns whose timestamp is in the window;
    ``ewma`` is ``sqrt`` of the squared returns decayed by half every ``halflife_ns``.
    """

    # __cinit__ allocates (it runs exactly once, even for subclasses); __init__ only gives
    # the constructor an introspectable signature for help(), IDEs and stubtest.
    def __init__(self, int64_t window_ns, Py_ssize_t max_samples, int64_t halflife_ns):
        """See the class docstring."""

    def __cinit__(self, int64_t window_ns, Py_ssize_t max_samples, int64_t halflife_ns):
        _check_positive(window_ns, "window_ns")
        _check_positive(halflife_ns, "halflife_ns")
        _check_init(bx_vol_init(&self._s, window_ns, _capacity(max_samples, "max_samples"),
                                halflife_ns), "RealizedVolatility")
        self.window_ns = window_ns
        self.max_samples = max_samples
        self.halflife_ns = halflife_ns

    def __dealloc__(self):
        bx_vol_free(&self._s)

    def add(self, double price, int64_t ts_ns):
        """Add one trade price; return True when accepted."""
        return bx_vol_add(&self._s, price, ts_ns) == 1

    def reset(self):
        """Forget every price and zero the counters."""
        bx_vol_reset(&self._s)

    @property
    def realized(self):
        """sqrt of the sum of squared log returns in the window."""
        return bx_vol_realized(&self._s)

    @property
    def ewma(self):
        """sqrt of the exponentially time-decayed sum of squared log returns."""
        return bx_vol_ewma(&self._s)

    @property
    def count(self):
        """Number of returns in the window."""
        return self._s.w.count

    @property
    def rejected(self):
        """Number of prices rejected."""
        return self._s.rejected


def depth_imbalance(const double[::1] bid_qty, const double[::1] ask_qty, levels=None,
                    const double[::1] weights=None):
    """(bid - ask) / (bid + ask) of the top ``levels`` quantities (optionally weighted)."""
    cdef Py_ssize_t n = min(bid_qty.shape[0], ask_qty.shape[0])
    if levels is not None:
        if levels <= 0:
            raise ValueError(f"levels must be > 0, was {levels}")
        n = min(n, <Py_ssize_t>levels)
    if weights is not None and weights.shape[0] < n:
        raise ValueError(f"weights has {weights.shape[0]} entries, needs {n}")
    if n == 0:
        return 0.0
    return bx_depth_imbalance(&bid_qty[0], &ask_qty[0], <size_t>n,
                              NULL if weights is None else &weights[0])


def microprice(double bid, double bid_qty, double ask, double ask_qty):
    """Quantity-weighted mid ``(bid * ask_qty + ask * bid_qty) / (bid_qty + ask_qty)``."""
    return bx_microprice(bid, bid_qty, ask, ask_qty)


def spread_ticks(double bid, double ask, double tick_size):
    """Spread in ticks: ``(ask - bid) / tick_size``."""
    if not tick_size > 0:
        raise ValueError(f"tick_size must be > 0, was {tick_size}")
    return bx_spread_ticks(bid, ask, tick_size)


def depth_imbalance_batch(const double[:, ::1] bid_qty, const double[:, ::1] ask_qty,
                          const double[::1] weights=None):
    """Depth imbalance of every row of two (rows x levels) arrays (GIL released)."""
    if bid_qty.shape[0] != ask_qty.shape[0] or bid_qty.shape[1] != ask_qty.shape[1]:
        raise ValueError("bid_qty and ask_qty must have the same shape")
    cdef Py_ssize_t rows = bid_qty.shape[0], levels = bid_qty.shape[1]
    if weights is not None and weights.shape[0] != levels:
        raise ValueError(f"weights has {weights.shape[0]} entries, needs {levels}")
    out = np.zeros(rows, dtype=np.float64)
    cdef double[::1] o = out
    cdef const double *w = NULL if weights is None else &weights[0]
    if rows and levels:
        with nogil:
            bx_depth_imbalance_batch(&bid_qty[0, 0], &ask_qty[0, 0], <size_t>rows,
                                     <size_t>levels, w, &o[0])
    return out


def vwap_batch(const int64_t[::1] ts_ns, const double[::1] price, const double[::1] qty,
               int64_t window_ns, Py_ssize_t max_samples):
    """Rolling VWAP and std after each trade: the RollingVWAP kernel over arrays, GIL released."""
    cdef Py_ssize_t n = _same_length(ts_ns.shape[0], price.shape[0], "vwap_batch")
    _same_length(n, qty.shape[0], "vwap_batch")
    cdef RollingVWAP state = RollingVWAP(window_ns, max_samples)
    vwap = np.zeros(n, dtype=np.float64)
    std = np.zeros(n, dtype=np.float64)
    cdef double[::1] v = vwap, s = std
    if n:
        with nogil:
            bx_vwap_add_many(&state._s, &ts_ns[0], &price[0], &qty[0], <size_t>n, &v[0], &s[0])
    return vwap, std


def tick_ratio_batch(const double[::1] price, Py_ssize_t n):
    """TickImbalance ratio after each price (GIL released)."""
    cdef TickImbalance state = TickImbalance(n)
    cdef Py_ssize_t rows = price.shape[0]
    out = np.zeros(rows, dtype=np.float64)
    cdef double[::1] o = out
    if rows:
        with nogil:
            bx_tick_add_many(&state._s, &price[0], <size_t>rows, &o[0])
    return out


def flow_imbalance_batch(const int64_t[::1] ts_ns, const double[::1] qty, is_buy,
                         int64_t window_ns, Py_ssize_t max_samples):
    """TradeFlowImbalance after each trade (GIL released)."""
    cdef const uint8_t[::1] side = np.ascontiguousarray(is_buy, dtype=np.uint8)
    cdef Py_ssize_t n = _same_length(ts_ns.shape[0], qty.shape[0], "flow_imbalance_batch")
    _same_length(n, side.shape[0], "flow_imbalance_batch")
    cdef TradeFlowImbalance state = TradeFlowImbalance(window_ns, max_samples)
    out = np.zeros(n, dtype=np.float64)
    cdef double[::1] o = out
    if n:
        with nogil:
            bx_tradeflow_add_many(&state._s, &ts_ns[0], &qty[0], &side[0], <size_t>n, &o[0])
    return out


def realized_vol_batch(const int64_t[::1] ts_ns, const double[::1] price, int64_t window_ns,
                       Py_ssize_t max_samples, int64_t halflife_ns=_NS_PER_S):
    """RealizedVolatility.realized after each price (GIL released)."""
    cdef Py_ssize_t n = _same_length(ts_ns.shape[0], price.shape[0], "realized_vol_batch")
    cdef RealizedVolatility state = RealizedVolatility(window_ns, max_samples, halflife_ns)
    out = np.zeros(n, dtype=np.float64)
    cdef double[::1] o = out
    if n:
        with nogil:
            bx_vol_add_many(&state._s, &ts_ns[0], &price[0], <size_t>n, &o[0])
    return out


def screen_run(const int64_t[::1] ts_ns, const double[::1] price, const double[::1] qty,
               is_buy, *, int64_t vwap_window_ns, Py_ssize_t vwap_max_samples,
               Py_ssize_t tick_n, int64_t flow_window_ns, Py_ssize_t flow_max_samples,
               Py_ssize_t min_samples, double entry_z, double max_entry_z,
               double min_std_bps, double min_edge_bps, double max_tick_ratio,
               double max_flow_imbalance, double target_fraction, double stop_std,
               int64_t max_hold_ns, int64_t cooldown_ns, bint columns=False):
    """The research screen over clean trade arrays in one pass, GIL released (bx_screen.h).

    Returns ``(trades, cols)``: ``trades`` the arrays ``(signal_i, entry_i, exit_i,
    direction, reason, target, stop)``, one row per round trip; ``cols`` None, or with
    ``columns`` the per-row ``(signal, z, tick_ratio, flow_imbalance)``.
    """
    cdef const uint8_t[::1] side = np.ascontiguousarray(is_buy, dtype=np.uint8)
    cdef Py_ssize_t n = _same_length(ts_ns.shape[0], price.shape[0], "screen_run")
    _same_length(n, qty.shape[0], "screen_run")
    _same_length(n, side.shape[0], "screen_run")
    if vwap_window_ns <= 0 or flow_window_ns <= 0:
        raise ValueError("screen_run: windows must be > 0 ns")
    for value, what in ((vwap_max_samples, "vwap_max_samples"), (tick_n, "tick_n"),
                        (flow_max_samples, "flow_max_samples")):
        if not 1 <= value <= 0xFFFFFFFF:
            raise ValueError(f"screen_run: {what} must be in 1..2**32-1, was {value}")
    if not 0 <= min_samples <= 0xFFFFFFFF:
        raise ValueError(f"screen_run: min_samples must be >= 0, was {min_samples}")
    if max_hold_ns < 0 or cooldown_ns < 0:
        raise ValueError("screen_run: max_hold_ns and cooldown_ns must be >= 0")
    cdef bx_screen_params_t p
    p.vwap_window_ns = vwap_window_ns
    p.vwap_max_samples = <uint32_t>vwap_max_samples
    p.tick_n = <uint32_t>tick_n
    p.flow_window_ns = flow_window_ns
    p.flow_max_samples = <uint32_t>flow_max_samples
    p.min_samples = <uint32_t>min_samples
    p.entry_z = entry_z
    p.max_entry_z = max_entry_z
    p.min_std_bps = min_std_bps
    p.min_edge_bps = min_edge_bps
    p.max_tick_ratio = max_tick_ratio
    p.max_flow_imbalance = max_flow_imbalance
    p.target_fraction = target_fraction
    p.stop_std = stop_std
    p.max_hold_ns = max_hold_ns
    p.cooldown_ns = cooldown_ns
    cdef Py_ssize_t cap = n // 2 + 1
    ring = np.zeros(tick_n, dtype=np.int8)
    signal_i = np.empty(cap, dtype=np.int64)
    entry_i = np.empty(cap, dtype=np.int64)
    exit_i = np.empty(cap, dtype=np.int64)
    direction = np.empty(cap, dtype=np.int8)
    reason = np.empty(cap, dtype=np.int8)
    target = np.empty(cap, dtype=np.float64)
    stop = np.empty(cap, dtype=np.float64)
    cdef int8_t[::1] r = ring, dv = direction, rv = reason
    cdef int64_t[::1] sv = signal_i, ev = entry_i, xv = exit_i
    cdef double[::1] tv = target, pv = stop
    cdef bx_screen_trades_t out
    out.signal_i = &sv[0]
    out.entry_i = &ev[0]
    out.exit_i = &xv[0]
    out.direction = &dv[0]
    out.reason = &rv[0]
    out.target = &tv[0]
    out.stop = &pv[0]
    out.cap = <size_t>cap
    cdef int8_t[::1] sig_col
    cdef double[::1] z_col, tick_col, flow_col
    cdef int8_t *sig_p = NULL
    cdef double *z_p = NULL
    cdef double *tick_p = NULL
    cdef double *flow_p = NULL
    cols = None
    if columns:
        cols = (np.zeros(n, dtype=np.int8), np.zeros(n, dtype=np.float64),
                np.zeros(n, dtype=np.float64), np.zeros(n, dtype=np.float64))
        if n:
            sig_col, z_col, tick_col, flow_col = cols
            sig_p, z_p, tick_p, flow_p = &sig_col[0], &z_col[0], &tick_col[0], &flow_col[0]
    cdef size_t k = 0
    if n:
        with nogil:
            k = bx_screen_run(&ts_ns[0], &price[0], &qty[0], &side[0], <size_t>n, &p, &r[0],
                              &out, sig_p, z_p, tick_p, flow_p)
    # copies: views would keep the n / 2 capacity arrays alive
    trades = tuple(a[:k].copy() for a in (signal_i, entry_i, exit_i, direction, reason, target,
                                          stop))
    return trades, cols


cdef class FeatureEngine:
    """Per-symbol feature state: owns the kernels and writes the model's feature vector.

    ``write()`` fills ``vector`` (float32, ``len(FEATURE_NAMES)``, always the same array)
    in place and returns True when every feature is valid: at least ``min_samples`` trades
    in the VWAP window, ``std > 0`` and a book seen. Every entry is finite.
    """

    def __init__(self, double tick_size, int64_t vwap_window_ns=30 * _NS_PER_S,
                  Py_ssize_t vwap_max_samples=600, Py_ssize_t tick_n=50,
                  int64_t flow_window_ns=30 * _NS_PER_S, Py_ssize_t flow_max_samples=4096,
                  int64_t vol_window_ns=60 * _NS_PER_S, Py_ssize_t vol_max_samples=8192,
                  int64_t vol_halflife_ns=30 * _NS_PER_S, Py_ssize_t depth_levels=5,
                  Py_ssize_t min_samples=20, const double[::1] level_weights=None):
        """See the class docstring."""

    def __cinit__(self, double tick_size, int64_t vwap_window_ns=30 * _NS_PER_S,
                  Py_ssize_t vwap_max_samples=600, Py_ssize_t tick_n=50,
                  int64_t flow_window_ns=30 * _NS_PER_S, Py_ssize_t flow_max_samples=4096,
                  int64_t vol_window_ns=60 * _NS_PER_S, Py_ssize_t vol_max_samples=8192,
                  int64_t vol_halflife_ns=30 * _NS_PER_S, Py_ssize_t depth_levels=5,
                  Py_ssize_t min_samples=20, const double[::1] level_weights=None):
        if not tick_size > 0:
            raise ValueError(f"tick_size must be > 0, was {tick_size}")
        for value, name in ((vwap_window_ns, "vwap_window_ns"), (flow_window_ns, "flow_window_ns"),
                            (vol_window_ns, "vol_window_ns"), (vol_halflife_ns, "vol_halflife_ns")):
            _check_positive(value, name)
        if min_samples < 1:
            raise ValueError(f"min_samples must be >= 1, was {min_samples}")
        cdef bx_features_cfg_t cfg
        cfg.vwap_window_ns = vwap_window_ns
        cfg.vwap_max_samples = _capacity(vwap_max_samples, "vwap_max_samples")
        cfg.tick_n = _capacity(tick_n, "tick_n")
        cfg.flow_window_ns = flow_window_ns
        cfg.flow_max_samples = _capacity(flow_max_samples, "flow_max_samples")
        cfg.vol_window_ns = vol_window_ns
        cfg.vol_max_samples = _capacity(vol_max_samples, "vol_max_samples")
        cfg.vol_halflife_ns = vol_halflife_ns
        cfg.depth_levels = _capacity(depth_levels, "depth_levels")
        cfg.min_samples = <uint32_t>min_samples
        cfg.tick_size = tick_size
        if level_weights is not None and level_weights.shape[0] != depth_levels:
            raise ValueError(
                f"level_weights has {level_weights.shape[0]} entries, needs {depth_levels}")
        _check_init(bx_features_init(&self._s, &cfg,
                                     NULL if level_weights is None else &level_weights[0]),
                    "FeatureEngine")
        self.vector = np.zeros(BX_N_FEATURES, dtype=np.float32)
        self._view = self.vector

    def __dealloc__(self):
        bx_features_free(&self._s)

    cdef bint push_trade(self, double px, double qty, int64_t ts_ns, bint is_buy) noexcept nogil:
        return bx_features_on_trade(&self._s, px, qty, ts_ns, is_buy) == 1

    def on_trade(self, double price, double qty, int64_t ts_ns, bint is_buy):
        """Feed one trade (``is_buy``: the aggressor bought); return True when accepted."""
        return bx_features_on_trade(&self._s, price, qty, ts_ns, is_buy) == 1

    def on_book(self, const double[::1] bid_px, const double[::1] bid_qty,
                const double[::1] ask_px, const double[::1] ask_qty, int64_t ts_ns):
        """Feed a book snapshot (best level first); return True when accepted.

        An empty, crossed or non-finite book is rejected (counted in ``books_rejected``) and
        the previous book stays in force.
        """
        cdef Py_ssize_t nb = _same_length(bid_px.shape[0], bid_qty.shape[0], "on_book bids")
        cdef Py_ssize_t na = _same_length(ask_px.shape[0], ask_qty.shape[0], "on_book asks")
        if nb == 0 or na == 0:
            self._s.books_rejected += 1
            return False
        return bx_features_on_book(&self._s, &bid_px[0], &bid_qty[0], <size_t>nb,
                                   &ask_px[0], &ask_qty[0], <size_t>na, ts_ns) == 1

    def write(self):
        """Fill ``vector`` in place; return True when every feature is valid."""
        return bx_features_write(&self._s, &self._view[0]) == 1

    def on_trades(self, const int64_t[::1] ts_ns, const double[::1] price,
                  const double[::1] qty, is_buy):
        """Replay trades (GIL released); return (features[n, F] float32, valid[n] bool).

        Row i is the vector ``write()`` would give right after trade i.
        """
        cdef const uint8_t[::1] side = np.ascontiguousarray(is_buy, dtype=np.uint8)
        cdef Py_ssize_t n = _same_length(ts_ns.shape[0], price.shape[0], "on_trades")
        _same_length(n, qty.shape[0], "on_trades")
        _same_length(n, side.shape[0], "on_trades")
        features = np.zeros((n, BX_N_FEATURES), dtype=np.float32)
        valid = np.zeros(n, dtype=np.uint8)
        cdef float[:, ::1] f = features
        cdef uint8_t[::1] ok = valid
        if n:
            with nogil:
                bx_features_trades_many(&self._s, &ts_ns[0], &price[0], &qty[0], &side[0],
                                        <size_t>n, &f[0, 0], &ok[0])
        return features, valid.astype(bool)

    def reset(self):
        """Forget all market state and zero the counters."""
        bx_features_reset(&self._s)

    @property
    def vwap(self):
        """Rolling VWAP."""
        return bx_vwap_value(&self._s.vwap)

    @property
    def std(self):
        """Rolling volume-weighted standard deviation."""
        return bx_vwap_std(&self._s.vwap)

    @property
    def zscore(self):
        """(last_price - vwap) / std; 0.0 while std is 0."""
        return bx_features_zscore(&self._s)

    @property
    def last_price(self):
        """Price of the last accepted trade (0.0 before any)."""
        return self._s.last_px

    @property
    def mid(self):
        """Mid of the last accepted book (0.0 before any)."""
        return self._s.mid

    @property
    def trade_count(self):
        """Trades in the VWAP window."""
        return self._s.vwap.count

    @property
    def trades_rejected(self):
        """Trades rejected (non-finite, <= 0, out of order)."""
        return self._s.trades_rejected

    @property
    def books_rejected(self):
        """Books rejected (empty, crossed, non-finite)."""
        return self._s.books_rejected


cdef double _number(object value) except? -1.0:
    """float(value) without an intermediate object: a float, a decimal string or a number."""
    cdef Py_ssize_t size
    cdef const char *text
    cdef char *end
    cdef double parsed
    if PyFloat_CheckExact(value):
        return PyFloat_AS_DOUBLE(value)
    if PyUnicode_Check(value):
        # ASCII text is read in place (no copy); the venue's strings are plain decimals.
        text = PyUnicode_AsUTF8AndSize(value, &size)
        if bx_parse_decimal(text, <size_t>size, &parsed):
            return parsed
        if size > 0:
            parsed = PyOS_string_to_double(text, &end, NULL)
            if end == text + size:
                return parsed
            if end == text:
                PyErr_Clear()
        # Whitespace, underscores or junk: float() accepts or names the bad text.
        return float(value)
    return PyFloat_AsDouble(value)


cdef Py_ssize_t _fill_pairs(object levels, double *px, double *qty, Py_ssize_t cap,
                            str side) except -1:
    cdef object seq = PySequence_Fast(levels, b"book sides must be sequences of (price, qty)")
    cdef Py_ssize_t n = min(PySequence_Fast_GET_SIZE(seq), cap)
    cdef PyObject **items = PySequence_Fast_ITEMS(seq)
    cdef Py_ssize_t i
    cdef object pair
    for i in range(n):
        pair = <object>items[i]
        if PyTuple_CheckExact(pair) and PyTuple_GET_SIZE(pair) == 2:
            px[i] = _number(<object>PyTuple_GET_ITEM(pair, 0))
            qty[i] = _number(<object>PyTuple_GET_ITEM(pair, 1))
        elif PyList_CheckExact(pair) and PyList_GET_SIZE(pair) == 2:
            px[i] = _number(<object>PyList_GET_ITEM(pair, 0))
            qty[i] = _number(<object>PyList_GET_ITEM(pair, 1))
        else:
            if len(pair) != 2:
                raise ValueError(f"{side}[{i}] is not a (price, qty) pair: {pair!r}")
            px[i] = _number(pair[0])
            qty[i] = _number(pair[1])
    return n


cdef class BookArrays:
    """Reused float64 buffers that turn a book into the four arrays a FeatureEngine takes
    (bid prices, bid sizes, ask prices, ask sizes; best level first).

    ``load(book)`` reads a decoded wire book (``bitunix.wire.public.Book``: ``b``/``a`` lists
    of levels with ``px``/``qty``); ``load_levels(bids, asks)`` reads ``(price, qty)`` pairs
    whose values are floats or the venue's decimal strings (``bitunix.data.BookEvent``).
    Both return contiguous views into the buffers, valid until the next load: copy what you
    keep. ``feed``/``feed_levels`` fill the buffers and hand them to a FeatureEngine without
    creating any object. Levels beyond ``capacity`` are ignored; a value that is not a number
    raises ValueError or TypeError.
    """

    def __init__(self, Py_ssize_t capacity=15):
        """See the class docstring."""

    def __cinit__(self, Py_ssize_t capacity=15):
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, was {capacity}")
        self.capacity = capacity
        self._store = np.zeros((4, capacity), dtype=np.float64)
        cdef double[:, ::1] store = self._store
        self._bp = &store[0, 0]
        self._bq = &store[1, 0]
        self._ap = &store[2, 0]
        self._aq = &store[3, 0]
        self._rows = (self._store[0], self._store[1], self._store[2], self._store[3])

    cdef bint _learn(self, object level_type) except -1:
        # A struct's fields (msgspec, __slots__) are member descriptors: reading the slot
        # through the descriptor's PyMemberDef is what attribute access ends up doing, minus
        # the type lookup. Anything else (a property, a plain attribute) takes getattr.
        px = getattr(level_type, "px", None)
        qty = getattr(level_type, "qty", None)
        self._level_type = level_type
        if (type(px) is types.MemberDescriptorType and type(qty) is types.MemberDescriptorType
                and (<PyMemberDescrObject *>px).d_member.type in (T_OBJECT, T_OBJECT_EX)
                and (<PyMemberDescrObject *>qty).d_member.type in (T_OBJECT, T_OBJECT_EX)):
            self._px_descr, self._qty_descr = px, qty
            return True
        self._px_descr = self._qty_descr = None
        return False

    cdef Py_ssize_t _fill_side(self, object levels, double *px, double *qty) except -1:
        cdef object seq = PySequence_Fast(levels, b"book.b and book.a must be sequences of levels")
        cdef Py_ssize_t n = min(PySequence_Fast_GET_SIZE(seq), self.capacity)
        cdef PyObject **items = PySequence_Fast_ITEMS(seq)
        cdef Py_ssize_t i
        cdef object level
        for i in range(n):
            level = <object>items[i]
            if type(level) is not self._level_type:
                self._learn(type(level))
            if self._px_descr is not None:
                px[i] = _number(PyMember_GetOne(<const char *><PyObject *>level,
                                                (<PyMemberDescrObject *>self._px_descr).d_member))
                qty[i] = _number(PyMember_GetOne(<const char *><PyObject *>level,
                                                 (<PyMemberDescrObject *>self._qty_descr).d_member))
            else:
                px[i] = _number(level.px)
                qty[i] = _number(level.qty)
        return n

    cdef int fill_book(self, object book) except -1:
        self.n_bids = self.n_asks = 0
        self.n_bids = self._fill_side(book.b, self._bp, self._bq)
        self.n_asks = self._fill_side(book.a, self._ap, self._aq)
        return 0

    cdef int fill_levels(self, object bids, object asks) except -1:
        self.n_bids = self.n_asks = 0
        self.n_bids = _fill_pairs(bids, self._bp, self._bq, self.capacity, "bids")
        self.n_asks = _fill_pairs(asks, self._ap, self._aq, self.capacity, "asks")
        return 0

    cdef tuple _views(self):
        bp, bq, ap, aq = self._rows
        return bp[:self.n_bids], bq[:self.n_bids], ap[:self.n_asks], aq[:self.n_asks]

    def load(self, book):
        """Fill from a wire book (``.b``/``.a`` levels with ``.px``/``.qty``); return
        ``(bid_px, bid_qty, ask_px, ask_qty)`` views, valid until the next load."""
        self.fill_book(book)
        return self._views()

    def load_levels(self, bids, asks):
        """Fill from ``(price, qty)`` pairs (floats or decimal strings); return the views."""
        self.fill_levels(bids, asks)
        return self._views()

    def feed(self, FeatureEngine engine not None, book, int64_t ts_ns):
        """``engine.on_book(*self.load(book), ts_ns)`` with no object created per book."""
        self.fill_book(book)
        return bx_features_on_book(&engine._s, self._bp, self._bq, <size_t>self.n_bids,
                                   self._ap, self._aq, <size_t>self.n_asks, ts_ns) == 1

    def feed_levels(self, FeatureEngine engine not None, bids, asks, int64_t ts_ns):
        """``engine.on_book(*self.load_levels(bids, asks), ts_ns)`` with no object created."""
        self.fill_levels(bids, asks)
        return bx_features_on_book(&engine._s, self._bp, self._bq, <size_t>self.n_bids,
                                   self._ap, self._aq, <size_t>self.n_asks, ts_ns) == 1

    def __repr__(self):
        return (f"BookArrays(capacity={self.capacity}, n_bids={self.n_bids}, "
                f"n_asks={self.n_asks})")


cdef inline object _member(object obj, object descr, str name):
    """``getattr(obj, name)``, through the member slot when ``descr`` is one."""
    if descr is None:
        return getattr(obj, name)
    return PyMember_GetOne(<const char *><PyObject *>obj, (<PyMemberDescrObject *>descr).d_member)


cdef object _slot_of(object owner, str name):
    """The member descriptor ``name`` of type ``owner``, or None (then read by getattr)."""
    descr = getattr(owner, name, None)
    if (type(descr) is types.MemberDescriptorType
            and (<PyMemberDescrObject *>descr).d_member.type in (T_OBJECT, T_OBJECT_EX)):
        return descr
    return None


cdef enum:
    _TRADE = 1
    _BOOK = 2


cdef class EventFeeder:
    """Feeds venue-neutral market events (``bitunix.data``) to FeatureEngines in C.

    A trade is anything with ``ts_ns``, ``symbol``, ``price``, ``qty`` and ``is_buy``; a
    book anything with ``ts_ns``, ``symbol``, ``bids`` and ``asks`` (``(price, qty)``
    pairs). Prices and quantities are the venue's decimal strings or floats, parsed in C
    (the same double ``float()`` gives); books go through one reused :class:`BookArrays`
    (``book_levels`` deep), so feeding creates no object. ``feed`` is one event;
    ``replay`` is the whole loop of a replay, with the valid vectors folded into ranges.
    """

    def __init__(self, Py_ssize_t book_levels=15):
        """See the class docstring."""

    def __cinit__(self, Py_ssize_t book_levels=15):
        self.book = BookArrays(book_levels)

    cdef int _kind(self, object event) except -1:
        event_type = type(event)
        if event_type is self._trade_type:
            return _TRADE
        if event_type is self._book_type:
            return _BOOK
        # A new type: learn its shape and fields once (struct fields are member slots).
        if hasattr(event, "bids") and hasattr(event, "asks"):
            self._b_ts = _slot_of(event_type, "ts_ns")
            self._b_symbol = _slot_of(event_type, "symbol")
            self._b_bids = _slot_of(event_type, "bids")
            self._b_asks = _slot_of(event_type, "asks")
            self._book_type = event_type
            return _BOOK
        if all(hasattr(event, name) for name in ("price", "qty", "is_buy")):
            self._t_ts = _slot_of(event_type, "ts_ns")
            self._t_symbol = _slot_of(event_type, "symbol")
            self._t_price = _slot_of(event_type, "price")
            self._t_qty = _slot_of(event_type, "qty")
            self._t_is_buy = _slot_of(event_type, "is_buy")
            self._trade_type = event_type
            return _TRADE
        raise TypeError(f"not a market event: {event_type.__name__}")

    cdef int feed_one(self, FeatureEngine engine, object event, int kind) except -1:
        # 1 when the engine accepted the event, 0 when it rejected it.
        cdef int64_t ts_ns
        cdef BookArrays book = self.book
        if kind == _TRADE:
            ts_ns = _member(event, self._t_ts, "ts_ns")
            return bx_features_on_trade(
                &engine._s, _number(_member(event, self._t_price, "price")),
                _number(_member(event, self._t_qty, "qty")), ts_ns,
                1 if _member(event, self._t_is_buy, "is_buy") else 0) == 1
        ts_ns = _member(event, self._b_ts, "ts_ns")
        book.fill_levels(_member(event, self._b_bids, "bids"), _member(event, self._b_asks, "asks"))
        return bx_features_on_book(&engine._s, book._bp, book._bq, <size_t>book.n_bids,
                                   book._ap, book._aq, <size_t>book.n_asks, ts_ns) == 1

    def feed(self, FeatureEngine engine not None, event):
        """Feed one trade or book to ``engine``; return whether the engine accepted it."""
        return self.feed_one(engine, event, self._kind(event)) == 1

    def replay(self, events, engine_for, dict engines not None, Py_ssize_t limit,
               double[:, ::1] ranges not None, on_vector=None):
        """Feed ``events`` in order, one engine per symbol, and fold every valid vector in.

        ``engines`` maps a symbol to its engine; a new symbol gets ``engine_for(symbol)``,
        added to it. ``limit`` < 0: no limit. ``ranges`` (3 x len(FEATURE_NAMES)) holds the
        running min, max and sum of each feature over the valid vectors: start it at
        (inf, -inf, 0). ``on_vector(symbol, ts_ns, vector)``, when given, is called with
        each valid vector (the engine's own buffer). Returns ``(trades, books,
        valid_vectors, rejected, first_ts_ns, last_ts_ns)``.
        """
        if ranges.shape[0] != 3 or ranges.shape[1] != BX_N_FEATURES:
            raise ValueError(f"ranges must be 3 x {BX_N_FEATURES}")
        cdef Py_ssize_t trades = 0, books = 0, valid = 0, rejected = 0, n = 0, i
        cdef int64_t first_ts_ns = 0, last_ts_ns = 0
        cdef FeatureEngine engine
        cdef PyObject *found
        cdef double value
        cdef float *vector
        cdef int kind
        for event in events:
            if 0 <= limit <= n:
                break
            n += 1
            kind = self._kind(event)
            if kind == _TRADE:
                trades += 1
                symbol = _member(event, self._t_symbol, "symbol")
                last_ts_ns = _member(event, self._t_ts, "ts_ns")
            else:
                books += 1
                symbol = _member(event, self._b_symbol, "symbol")
                last_ts_ns = _member(event, self._b_ts, "ts_ns")
            if first_ts_ns == 0:
                first_ts_ns = last_ts_ns
            found = PyDict_GetItem(engines, symbol)
            if found == NULL:
                engine = engine_for(symbol)
                engines[symbol] = engine
            else:
                engine = <FeatureEngine?><object>found
            rejected += 1 - self.feed_one(engine, event, kind)
            vector = &engine._view[0]
            if bx_features_write(&engine._s, vector) != 1:
                continue
            valid += 1
            for i in range(BX_N_FEATURES):
                value = vector[i]
                if value < ranges[0, i]:
                    ranges[0, i] = value
                if value > ranges[1, i]:
                    ranges[1, i] = value
                ranges[2, i] += value
            if on_vector is not None:
                on_vector(symbol, last_ts_ns, engine.vector)
        return trades, books, valid, rejected, first_ts_ns, last_ts_ns
