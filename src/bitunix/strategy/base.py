"""What a strategy is: the input it reads, the signals it emits, the protocol it follows.

A strategy is called once per evaluation (after a book update, once the FeatureEngine has
written its vector) with the time and a :class:`FeatureSource`. The FeatureEngine itself
satisfies ``FeatureSource``; tests use :class:`FeatureFrame` with crafted values. Most
calls return ``None``; a :class:`Signal` is allocated only when something happens.

Signal prices are floats: they describe the market when the decision was taken. Anything
that becomes an order price or size is converted exactly later, by risk and execution.

A strategy does not hold a position of its own: execution tells it what became of its
signal (:meth:`Strategy.on_entry_filled`, :meth:`Strategy.on_entry_rejected`,
:meth:`Strategy.on_position_closed`), and execution runs the exits the entry signal planned
(stop and target at the exchange, the trailing stop and the time exit in the bot).
"""

from __future__ import annotations

import enum
import math
from typing import ClassVar, Protocol

import msgspec
import numpy as np
import numpy.typing as npt

from bitunix.model.records import RoundTrip


class FeatureSource(Protocol):
    """The readings a strategy needs (``bitunix.features.FeatureEngine`` provides them)."""

    @property
    def vector(self) -> npt.NDArray[np.float32]:
        """The feature vector, in ``FEATURE_NAMES`` order."""
        ...

    @property
    def vwap(self) -> float:
        """Rolling VWAP."""
        ...

    @property
    def std(self) -> float:
        """Volume-weighted standard deviation of price around the VWAP."""
        ...

    @property
    def last_price(self) -> float:
        """Last trade price."""
        ...

    @property
    def mid(self) -> float:
        """Mid of the best bid and ask."""
        ...


class FeatureFrame:
    """A plain FeatureSource: crafted readings for tests, replays and training."""

    __slots__ = ("last_price", "mid", "std", "vector", "vwap")

    def __init__(
        self,
        vector: npt.NDArray[np.float32],
        *,
        vwap: float,
        std: float,
        last_price: float,
        mid: float = math.nan,
    ) -> None:
        self.vector = vector
        self.vwap = vwap
        self.std = std
        self.last_price = last_price
        self.mid = last_price if math.isnan(mid) else mid


class Direction(enum.IntEnum):
    """Side of a position: the sign of its exposure."""

    LONG = 1
    SHORT = -1


class SignalKind(enum.Enum):
    """Open a position, or close the one the strategy holds before its planned exits."""

    ENTER = "enter"
    EXIT = "exit"


class ExitReason(enum.Enum):
    """Which exit closed a position (the ``reason`` of a :class:`RoundTrip`)."""

    STOP = "stop"
    TARGET = "target"
    TRAILING = "trailing"
    TIME = "time"
    EXTERNAL = "external"
    FLATTEN = "flatten"


class Signal(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """A decision to enter (with its planned exits) or to exit, and the readings behind it.

    An entry plans its exits in prices: ``stop`` (stop-loss) and ``target`` (take-profit),
    placed at the exchange; ``trail_distance`` behind the best price once the price has
    reached ``trail_arm`` (NaN: no trailing stop) and ``max_hold_ns`` (0: no time exit),
    run by the bot. Execution rounds them onto the contract's tick in the safe direction.
    """

    strategy: str
    symbol: str
    ts_ns: int
    kind: SignalKind
    direction: Direction
    price: float
    target: float = math.nan
    stop: float = math.nan
    trail_distance: float = math.nan
    trail_arm: float = math.nan
    max_hold_ns: int = 0
    probability: float = math.nan
    score_source: str = ""
    exit_reason: ExitReason | None = None


class Strategy(Protocol):
    """One trading rule for one symbol. Implementations are registered by name."""

    kind: ClassVar[str]
    name: str
    symbol: str

    def on_tick(self, ts_ns: int, src: FeatureSource, valid: bool) -> Signal | None:
        """Evaluate once; ``valid`` is what ``FeatureEngine.write()`` returned."""
        ...

    def on_entry_filled(self, ts_ns: int, price: float) -> None:
        """The entry filled (at average ``price``): the strategy is in position."""
        ...

    def on_entry_rejected(self, ts_ns: int, reason: str) -> None:
        """The entry was refused (by risk or the venue) or never filled."""
        ...

    def on_position_closed(self, trip: RoundTrip) -> None:
        """The position the strategy opened is flat again; ``trip`` says how it went."""
        ...

    @property
    def in_position(self) -> bool:
        """True from an entry signal until its position is closed (or the entry failed)."""
        ...
