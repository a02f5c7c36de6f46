"""Market features computed by the native core (``bitunix._native``).

The public, stable embedding API::

    from bitunix.features import RollingVWAP, TickImbalance, FeatureEngine, BookArrays

Every type updates in O(1) amortised time without allocating; the ``*_batch`` functions
run the same C code over numpy arrays with the GIL released. See ``docs/features.md``.
"""

from __future__ import annotations

try:
    from bitunix._native import (
        FEATURE_NAMES,
        BookArrays,
        EventFeeder,
        FeatureEngine,
        RealizedVolatility,
        RollingVWAP,
        TickImbalance,
        TradeFlowImbalance,
        depth_imbalance,
        depth_imbalance_batch,
        flow_imbalance_batch,
        microprice,
        realized_vol_batch,
        screen_run,
        simd_impl,
        simd_kernels,
        spread_ticks,
        tick_ratio_batch,
        vwap_batch,
    )
except ImportError as exc:  # pragma: no cover - exercised only on a broken install
    raise ImportError(
        "bitunix's native core (bitunix._native) is not built or does not match this Python. "
        "From a source checkout run `make venv` (or `pip install -e .`); the build needs a C "
        f"compiler. Original error: {exc}"
    ) from exc

from bitunix.features.events import BOOK_LEVELS, feed_event

__all__ = [
    "BOOK_LEVELS",
    "FEATURE_NAMES",
    "BookArrays",
    "EventFeeder",
    "FeatureEngine",
    "RealizedVolatility",
    "RollingVWAP",
    "TickImbalance",
    "TradeFlowImbalance",
    "depth_imbalance",
    "depth_imbalance_batch",
    "feed_event",
    "flow_imbalance_batch",
    "microprice",
    "realized_vol_batch",
    "screen_run",
    "simd_impl",
    "simd_kernels",
    "spread_ticks",
    "tick_ratio_batch",
    "vwap_batch",
]
