# The extension types of bitunix._native, so Cython code can call them without Python
# dispatch (e.g. `fe.push_trade(...)` from a picows frame callback).
from libc.stdint cimport int64_t

from bx_kernels cimport bx_features_t, bx_tick_t, bx_tradeflow_t, bx_vol_t, bx_vwap_t


cdef class RollingVWAP:
    cdef bx_vwap_t _s
    cdef readonly int64_t window_ns
    cdef readonly Py_ssize_t max_samples


cdef class TickImbalance:
    cdef bx_tick_t _s
    cdef readonly Py_ssize_t n


cdef class TradeFlowImbalance:
    cdef bx_tradeflow_t _s
    cdef readonly int64_t window_ns
    cdef readonly Py_ssize_t max_samples


cdef class RealizedVolatility:
    cdef bx_vol_t _s
    cdef readonly int64_t window_ns
    cdef readonly Py_ssize_t max_samples
    cdef readonly int64_t halflife_ns


cdef class FeatureEngine:
    cdef bx_features_t _s
    cdef float[::1] _view
    cdef readonly object vector
    cdef bint push_trade(self, double px, double qty, int64_t ts_ns, bint is_buy) noexcept nogil


cdef class BookArrays:
    cdef readonly Py_ssize_t capacity
    cdef readonly Py_ssize_t n_bids
    cdef readonly Py_ssize_t n_asks
    cdef object _store
    cdef tuple _rows
    cdef double *_bp
    cdef double *_bq
    cdef double *_ap
    cdef double *_aq
    # The level type last seen and its px/qty member slots (see BookArrays._learn).
    cdef object _level_type
    cdef object _px_descr
    cdef object _qty_descr
    cdef bint _learn(self, object level_type) except -1
    cdef Py_ssize_t _fill_side(self, object levels, double *px, double *qty) except -1
    cdef tuple _views(self)
    cdef int fill_book(self, object book) except -1
    cdef int fill_levels(self, object bids, object asks) except -1


cdef class EventFeeder:
    cdef readonly BookArrays book
    # The trade and book types seen last, and their fields' member slots (None: read by
    # getattr). See EventFeeder._learn.
    cdef object _trade_type
    cdef object _t_ts
    cdef object _t_symbol
    cdef object _t_price
    cdef object _t_qty
    cdef object _t_is_buy
    cdef object _book_type
    cdef object _b_ts
    cdef object _b_symbol
    cdef object _b_bids
    cdef object _b_asks
    cdef int _kind(self, object event) except -1
    cdef int feed_one(self, FeatureEngine engine, object event, int kind) except -1
