"""Shared fixtures of the simulator tests: an engine on a manual clock with a known book."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bitunix.core.clock import ManualClock
from bitunix.sim.engine import MatchingEngine

D = Decimal
START_NS = 1_723_161_255_000_000_000  # 2024-08-08T23:54:15Z, inside a funding interval


def book(mid: str = "60000", levels: int = 5, qty: str = "1", tick: str = "0.1"
         ) -> tuple[list[list[Decimal]], list[list[Decimal]]]:
    """A symmetric book around ``mid`` (best bid mid - tick/2 rounded down to the tick)."""
    m, t = D(mid), D(tick)
    bids = [[m - t * (i + 1), D(qty)] for i in range(levels)]
    asks = [[m + t * i, D(qty)] for i in range(levels)]
    return bids, asks


def set_book(engine: MatchingEngine, symbol: str = "BTCUSDT", **kw: str | int) -> None:
    """Feed a fresh book (see :func:`book`) into ``engine``."""
    bids, asks = book(**kw)  # type: ignore[arg-type]
    engine.on_book(symbol, bids, asks)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START_NS)


@pytest.fixture
def engine(clock: ManualClock) -> MatchingEngine:
    eng = MatchingEngine(clock)
    eng.add_account("u1", D("100000"))
    set_book(eng)
    return eng
