"""Type stubs for the native feature core (src/native/_native.pyx)."""

from collections.abc import Callable, Iterable, Sequence
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt
from typing_extensions import disjoint_base

FEATURE_NAMES: Final[tuple[str, ...]]

_F64 = npt.NDArray[np.float64]
_I64 = npt.NDArray[np.int64]
_Bools = npt.ArrayLike
_Number = float | str
_Pairs = Sequence[Sequence[_Number]]

class _Level(Protocol):
    @property
    def px(self) -> _Number: ...
    @property
    def qty(self) -> _Number: ...

class _Book(Protocol):
    @property
    def b(self) -> Sequence[_Level]: ...
    @property
    def a(self) -> Sequence[_Level]: ...

def simd_kernels() -> dict[str, str]:
    """The kernels built with AVX2 clones, each with the variant this CPU runs (avx2 or sse2)."""

def simd_impl() -> str:
    """What this CPU runs, in one line for a banner ("scalar tick path; avx2 clone: ...")."""

@disjoint_base
class RollingVWAP:
    """Rolling VWAP and volume-weighted std over a time- and count-bounded window."""

    @property
    def window_ns(self) -> int: ...
    @property
    def max_samples(self) -> int: ...
    def __init__(self, window_ns: int, max_samples: int) -> None: ...
    def add(self, price: float, qty: float, ts_ns: int) -> bool:
        """Add one trade; return True when it was accepted."""
    def advance(self, ts_ns: int) -> None:
        """Evict by time as if a sample had arrived at ``ts_ns``, without adding one."""
    def add_many(self, ts_ns: _I64, price: _F64, qty: _F64) -> int:
        """Add arrays of trades in order (GIL released); return how many were accepted."""
    def reset(self) -> None:
        """Empty the window and zero the counters."""
    @property
    def vwap(self) -> float: ...
    @property
    def std(self) -> float: ...
    @property
    def count(self) -> int: ...
    @property
    def volume(self) -> float: ...
    @property
    def rejected(self) -> int: ...

@disjoint_base
class TickImbalance:
    """Tick-rule imbalance over the last ``n`` trades."""

    @property
    def n(self) -> int: ...
    def __init__(self, n: int) -> None: ...
    def add(self, price: float) -> bool: ...
    def reset(self) -> None: ...
    @property
    def ratio(self) -> float: ...
    @property
    def count(self) -> int: ...
    @property
    def rejected(self) -> int: ...

@disjoint_base
class TradeFlowImbalance:
    """Signed trade-flow imbalance (buy - sell) / (buy + sell) over a time window."""

    @property
    def window_ns(self) -> int: ...
    @property
    def max_samples(self) -> int: ...
    def __init__(self, window_ns: int, max_samples: int) -> None: ...
    def add(self, qty: float, is_buy: bool, ts_ns: int) -> bool: ...
    def advance(self, ts_ns: int) -> None: ...
    def reset(self) -> None: ...
    @property
    def imbalance(self) -> float: ...
    @property
    def buy_volume(self) -> float: ...
    @property
    def sell_volume(self) -> float: ...
    @property
    def count(self) -> int: ...
    @property
    def rejected(self) -> int: ...

@disjoint_base
class RealizedVolatility:
    """Realised volatility of log returns over a time window, and a time-decayed variant."""

    @property
    def window_ns(self) -> int: ...
    @property
    def max_samples(self) -> int: ...
    @property
    def halflife_ns(self) -> int: ...
    def __init__(self, window_ns: int, max_samples: int, halflife_ns: int) -> None: ...
    def add(self, price: float, ts_ns: int) -> bool: ...
    def reset(self) -> None: ...
    @property
    def realized(self) -> float: ...
    @property
    def ewma(self) -> float: ...
    @property
    def count(self) -> int: ...
    @property
    def rejected(self) -> int: ...

def depth_imbalance(
    bid_qty: _F64, ask_qty: _F64, levels: int | None = None, weights: _F64 | None = None
) -> float: ...
def microprice(bid: float, bid_qty: float, ask: float, ask_qty: float) -> float: ...
def spread_ticks(bid: float, ask: float, tick_size: float) -> float: ...
def depth_imbalance_batch(bid_qty: _F64, ask_qty: _F64, weights: _F64 | None = None) -> _F64: ...
def vwap_batch(
    ts_ns: _I64, price: _F64, qty: _F64, window_ns: int, max_samples: int
) -> tuple[_F64, _F64]: ...
def tick_ratio_batch(price: _F64, n: int) -> _F64: ...
def flow_imbalance_batch(
    ts_ns: _I64, qty: _F64, is_buy: _Bools, window_ns: int, max_samples: int
) -> _F64: ...
def realized_vol_batch(
    ts_ns: _I64, price: _F64, window_ns: int, max_samples: int, halflife_ns: int = ...
) -> _F64: ...

def screen_run(
    ts_ns: _I64,
    price: _F64,
    qty: _F64,
    is_buy: _Bools,
    *,
    vwap_window_ns: int,
    vwap_max_samples: int,
    tick_n: int,
    flow_window_ns: int,
    flow_max_samples: int,
    min_samples: int,
    entry_z: float,
    max_entry_z: float,
    min_std_bps: float,
    min_edge_bps: float,
    max_tick_ratio: float,
    max_flow_imbalance: float,
    target_fraction: float,
    stop_std: float,
    max_hold_ns: int,
    cooldown_ns: int,
    columns: bool = False,
) -> tuple[
    tuple[_I64, _I64, _I64, npt.NDArray[np.int8], npt.NDArray[np.int8], _F64, _F64],
    tuple[npt.NDArray[np.int8], _F64, _F64, _F64] | None,
]:
    """The research screen in one pass (see bx_screen.h): ``(trades, columns)``."""

@disjoint_base
class FeatureEngine:
    """Per-symbol feature state that writes the model's feature vector in place."""

    vector: Final[npt.NDArray[np.float32]]
    def __init__(
        self,
        tick_size: float,
        vwap_window_ns: int = ...,
        vwap_max_samples: int = ...,
        tick_n: int = ...,
        flow_window_ns: int = ...,
        flow_max_samples: int = ...,
        vol_window_ns: int = ...,
        vol_max_samples: int = ...,
        vol_halflife_ns: int = ...,
        depth_levels: int = ...,
        min_samples: int = ...,
        level_weights: _F64 | None = None,
    ) -> None: ...
    def on_trade(self, price: float, qty: float, ts_ns: int, is_buy: bool) -> bool: ...
    def on_book(
        self, bid_px: _F64, bid_qty: _F64, ask_px: _F64, ask_qty: _F64, ts_ns: int
    ) -> bool: ...
    def write(self) -> bool: ...
    def on_trades(
        self, ts_ns: _I64, price: _F64, qty: _F64, is_buy: _Bools
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]: ...
    def reset(self) -> None: ...
    @property
    def vwap(self) -> float: ...
    @property
    def std(self) -> float: ...
    @property
    def zscore(self) -> float: ...
    @property
    def last_price(self) -> float: ...
    @property
    def mid(self) -> float: ...
    @property
    def trade_count(self) -> int: ...
    @property
    def trades_rejected(self) -> int: ...
    @property
    def books_rejected(self) -> int: ...

@disjoint_base
class BookArrays:
    """Reused float64 buffers that turn a book into the four arrays a FeatureEngine takes."""

    @property
    def capacity(self) -> int: ...
    @property
    def n_bids(self) -> int: ...
    @property
    def n_asks(self) -> int: ...
    def __init__(self, capacity: int = 15) -> None: ...
    def load(self, book: _Book) -> tuple[_F64, _F64, _F64, _F64]:
        """Fill from a wire book; return (bid_px, bid_qty, ask_px, ask_qty) views."""
    def load_levels(self, bids: _Pairs, asks: _Pairs) -> tuple[_F64, _F64, _F64, _F64]:
        """Fill from (price, qty) pairs (floats or decimal strings); return the views."""
    def feed(self, engine: FeatureEngine, book: _Book, ts_ns: int) -> bool:
        """engine.on_book(*self.load(book), ts_ns) with no object created per book."""
    def feed_levels(self, engine: FeatureEngine, bids: _Pairs, asks: _Pairs, ts_ns: int) -> bool:
        """engine.on_book(*self.load_levels(bids, asks), ts_ns) with no object created."""

class _TradeLike(Protocol):
    @property
    def ts_ns(self) -> int: ...
    @property
    def symbol(self) -> str: ...
    @property
    def price(self) -> _Number: ...
    @property
    def qty(self) -> _Number: ...
    @property
    def is_buy(self) -> bool: ...

class _BookLike(Protocol):
    @property
    def ts_ns(self) -> int: ...
    @property
    def symbol(self) -> str: ...
    @property
    def bids(self) -> _Pairs: ...
    @property
    def asks(self) -> _Pairs: ...

_Event = _TradeLike | _BookLike

@disjoint_base
class EventFeeder:
    """Feeds venue-neutral market events to FeatureEngines in C (see docs/features.md)."""

    @property
    def book(self) -> BookArrays: ...
    def __init__(self, book_levels: int = 15) -> None: ...
    def feed(self, engine: FeatureEngine, event: _Event) -> bool:
        """Feed one trade or book to engine; return whether the engine accepted it."""
    def replay(
        self,
        events: Iterable[_Event],
        engine_for: Callable[[str], FeatureEngine],
        engines: dict[str, FeatureEngine],
        limit: int,
        ranges: _F64,
        on_vector: Callable[[str, int, npt.NDArray[np.float32]], object] | None = None,
    ) -> tuple[int, int, int, int, int, int]:
        """Feed events in order, one engine per symbol; fold valid vectors into ranges."""
