"""Many symbols at once: bursts of orders sent from one callback and bursts of pushes in one
socket read (a market move that fills every resting order of eight symbols together), with
partial fills: no update is lost, the books equal the venue's."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

import pytest

from bitunix.model import OrderIntent, OrderType, Side, TimeInForce
from bitunix.model.market import BookEvent, MarketEvent
from bitunix.sim.contracts import bundled_contracts

from .conftest import Session

D = Decimal
MIDS = {"BTCUSDT": "60000", "ETHUSDT": "2500", "SOLUSDT": "150", "XRPUSDT": "0.5",
        "DOGEUSDT": "0.1", "BNBUSDT": "500", "LTCUSDT": "70", "LINKUSDT": "12"}
SYMBOLS = tuple(MIDS)


def levels(symbol: str, mid: Decimal, n: int = 10) -> tuple[list[tuple[str, str]],
                                                              list[tuple[str, str]]]:
    """``n`` levels each side around ``mid``, one tick apart, deep enough for every order."""
    contract = bundled_contracts()[symbol]
    tick = D(1).scaleb(-contract.quote_precision)
    qty = str(contract.min_qty * 2000)
    bids = [(str(mid - tick * (i + 1)), qty) for i in range(n)]
    asks = [(str(mid + tick * i), qty) for i in range(n)]
    return bids, asks


def books() -> list[MarketEvent]:
    out: list[MarketEvent] = []
    for i, (symbol, mid) in enumerate(MIDS.items()):
        bids, asks = levels(symbol, D(mid))
        out.append(BookEvent(ts_ns=1_723_161_255_000_000_000 + i, symbol=symbol, bids=bids,
                             asks=asks))
    return out


def move(session: Session, symbol: str, mid: Decimal) -> None:
    """The market of ``symbol`` jumps to ``mid`` (resting orders it crosses fill now)."""
    bids, asks = levels(symbol, mid)
    session.sim.engine.on_book(symbol, [[D(p), D(q)] for p, q in bids],
                               [[D(p), D(q)] for p, q in asks])


@pytest.mark.parametrize("seed", [1, 2])
async def test_bursts_over_eight_symbols_lose_nothing(seed: int) -> None:
    rng = random.Random(seed)
    s = await Session.open(seed=seed, source=books, symbols=SYMBOLS, warmup=len(MIDS),
                           balance=D("10000000"))
    try:
        s.sim.faults.partial_fill_fraction = D("0.5")  # resting orders fill in pieces
        for burst in range(4):
            # One callback: entries and resting bids on every symbol, no await between.
            for symbol in SYMBOLS:
                spec = s.venue.contracts[symbol]
                for _ in range(rng.randint(1, 3)):
                    s.entry(symbol)
                ticks_below = rng.randint(2, 6)
                best_bid = spec.price_to_ticks(D(MIDS[symbol])) - 1
                s.engine.submit(OrderIntent(
                    spec=spec, side=Side.BUY, qty_steps=spec.min_order_steps * rng.randint(2, 6),
                    order_type=OrderType.LIMIT, price_ticks=best_bid - ticks_below,
                    time_in_force=TimeInForce.GTC, strategy="e2e", reason="enter"))
            await asyncio.sleep(0.05)
            # One market event per symbol, back to back: every resting bid is crossed, and
            # partly filled, at once; then the market comes back.
            for step in range(3):
                for symbol in SYMBOLS:
                    tick = s.venue.contracts[symbol].tick_size
                    move(s, symbol, D(MIDS[symbol]) - tick * 8)
                await asyncio.sleep(0.01 * step)
            for symbol in SYMBOLS:
                move(s, symbol, D(MIDS[symbol]))
            if burst % 2:
                for symbol in rng.sample(SYMBOLS, 4):
                    s.exit(symbol)
            await s.settle(timeout=30.0)
            s.check()
        assert s.engine.counters.orders > 60
        assert len(s.account.fills) > 100
        assert s.venue.stats.fill_fetch_failures == 0
        ws = s.venue.ws.stats
        assert ws.messages > 2 * ws.batches  # pushes arrived several to a socket read
        assert ws.handler_errors == 0
        await s.engine.cancel_all()
        await s.flatten_and_check()
    finally:
        await s.close()
