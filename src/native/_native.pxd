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
