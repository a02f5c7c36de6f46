"""Restart and standby at the level of whole runs, against one simulator that outlives them
(as a real venue outlives a bot): open positions and orders survive a restart, drift made
behind the bot's back is found and corrected, and a second bot on the same store does not
trade while the first holds the lease."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path

import pytest

from bitunix.app.bot import BotRun
from bitunix.config import BotConfig, Mode, Secrets
from bitunix.exchange import BitunixREST, RestConfig
from bitunix.exchange.signing import Credentials
from bitunix.model import OrderIntent, OrderType, Side
from bitunix.sim.server import SimServer
from tests.app.conftest import busy_config

KEY, SECRET = "restart-key", "restart-secret"


@pytest.fixture
async def venue(capture_slice: Path) -> AsyncIterator[SimServer]:
    sim = SimServer(data=str(capture_slice), speed=5.0, loop_data=True,
                    api_keys={KEY: SECRET}, push_interval_s=0.06)
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


def live_config(tmp_path: Path, capture: Path, sim: SimServer, **overrides: object) -> BotConfig:
    quiet = {"signal.strategies": [], "venue.kind": "bitunix", "dry_run": False,
             "venue.rest_url": sim.rest_url, "venue.ws_public_url": sim.public_ws_url,
             "venue.ws_private_url": sim.private_ws_url, "run.idle_stop_s": 0.0,
             "run.duration_s": 0.0, "run.flatten_on_exit": False,
             "store.lease_ttl_s": 1.0}
    quiet.update(overrides)
    return busy_config(tmp_path, capture, **quiet)


async def until(predicate: Callable[[], bool], timeout_s: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def trading(bot: BotRun, sim: SimServer) -> None:
    """Until ``bot`` may trade and the venue's replay has reached its first two-sided book (a
    market order before that finds nothing to take and is cancelled, as a real venue would
    with an empty book)."""
    market = sim.engine.markets["BTCUSDT"]
    await until(lambda: bot.trader is not None and bot.trader.enabled
                and bool(market.asks) and bool(market.bids))


def start(cfg: BotConfig, lines: list[str] | None = None) -> tuple[BotRun, asyncio.Task[object]]:
    bot = BotRun(cfg, Mode.LIVE, store_path=cfg.store.resolved_path(),
                 secrets=Secrets(api_key=KEY, api_secret=SECRET),
                 emit=(lines.append if lines is not None else lambda _: None))
    return bot, asyncio.ensure_future(bot.run())


def venue_qty(sim: SimServer, symbol: str = "BTCUSDT") -> Decimal:
    acct = next(iter(sim.engine.accounts.values()))
    return sum((p.qty if p.side == "LONG" else -p.qty for p in acct.positions.values()
                if p.symbol == symbol), Decimal(0))


def venue_open_ids(sim: SimServer) -> set[str]:
    acct = next(iter(sim.engine.accounts.values()))
    return {o.client_id for o in acct.open_orders.values()}


async def open_position_and_resting_order(bot: BotRun, sim: SimServer) -> str:
    """Through the bot's own engine: a filled market entry and a far resting limit order."""
    await trading(bot, sim)
    engine = bot.engine
    assert engine is not None
    spec = bot.contracts["BTCUSDT"]
    engine.submit(OrderIntent(spec=spec, side=Side.BUY, qty_steps=20, strategy="t",
                              reason="enter"))
    price = spec.price_ticks_from_float(50_000.0, "ROUND_FLOOR")
    rest = engine.submit(OrderIntent(spec=spec, side=Side.BUY, qty_steps=10,
                                     order_type=OrderType.LIMIT, price_ticks=price,
                                     strategy="t", reason="enter"))
    await until(lambda: (p := engine.position("BTCUSDT")) is not None and p.qty_steps == 20
                and (o := engine.order(rest.client_id)) is not None and o.venue_id is not None)
    return rest.client_id


async def test_restart_restores_the_open_position_and_orders_then_reconciles(
    tmp_path: Path, capture_slice: Path, venue: SimServer
) -> None:
    cfg = live_config(tmp_path, capture_slice, venue)
    first, task = start(cfg)
    resting = await open_position_and_resting_order(first, venue)
    first.interrupt()  # no flatten on exit: the position and the order stay at the venue
    s1 = await asyncio.wait_for(task, 30)
    assert s1.open_positions == {"BTCUSDT": "0.0020"}
    assert venue_qty(venue) == Decimal("0.0020")
    assert resting in venue_open_ids(venue)

    lines: list[str] = []
    second, task = start(cfg, lines)
    await until(lambda: second.trader is not None and second.trader.enabled)
    engine = second.engine
    assert engine is not None
    position = engine.position("BTCUSDT")
    assert position is not None
    assert position.qty_steps == 20  # restored from the store, confirmed by the venue
    assert [o.client_id for o in engine.open_orders()] == [resting]
    assert any("1 open orders and 1 positions restored" in line for line in lines)
    second.interrupt()
    s2 = await asyncio.wait_for(task, 30)
    assert s2.drift_corrections == 0
    assert s2.failures == []


async def test_drift_behind_the_bots_back_is_found_and_corrected(
    tmp_path: Path, capture_slice: Path, venue: SimServer
) -> None:
    first, task = start(live_config(tmp_path, capture_slice, venue))
    resting = await open_position_and_resting_order(first, venue)
    first.interrupt()  # stops without flattening: the position and the order stay
    await asyncio.wait_for(task, 30)
    # behind the bot's back: an operator cancels the order and sells half the position
    async with BitunixREST(Credentials(KEY, SECRET),
                           RestConfig(base_url=venue.rest_url)) as rest:
        await rest.cancel_orders("BTCUSDT", client_ids=[resting])
        from bitunix.exchange import OrderRequest

        await rest.place_order(OrderRequest(symbol="BTCUSDT", side=Side.SELL,
                                            order_type=OrderType.MARKET, qty=Decimal("0.001"),
                                            reduce_only=True, client_id="operator-1"))
    assert venue_qty(venue) == Decimal("0.0010")
    second, task = start(live_config(tmp_path, capture_slice, venue,
                                     **{"run.flatten_on_exit": True}))
    await until(lambda: second.trader is not None and second.trader.enabled)
    engine = second.engine
    assert engine is not None
    # corrected to the venue's truth before the first new order
    assert engine.open_orders() == []
    position = engine.position("BTCUSDT")
    assert position is not None
    assert position.qty_steps == 10
    second.interrupt()
    s2 = await asyncio.wait_for(task, 30)
    assert s2.drift_corrections >= 1
    assert s2.open_positions == {}  # flattened on exit, at the venue too
    assert venue_qty(venue) == 0


async def test_a_second_bot_on_the_same_store_waits_until_the_lease_lapses(
    tmp_path: Path, capture_slice: Path, venue: SimServer
) -> None:
    cfg = live_config(tmp_path, capture_slice, venue)
    first, first_task = start(cfg)
    await until(lambda: first.trader is not None and first.trader.enabled)
    lines: list[str] = []
    standby, standby_task = start(cfg, lines)
    await until(lambda: any(line.startswith("standby:") for line in lines))
    await asyncio.sleep(1.5)  # longer than the lease's ttl: the holder keeps renewing it
    assert standby.trader is not None
    assert not standby.trader.enabled
    assert standby.engine is not None
    assert standby.engine.orders == {}
    first.interrupt()
    await asyncio.wait_for(first_task, 30)
    await until(lambda: standby.trader is not None and standby.trader.enabled)
    assert any(line.startswith("lease taken over") for line in lines)
    assert any(line.startswith("reconciled:") for line in lines)
    standby.interrupt()
    s = await asyncio.wait_for(standby_task, 30)
    assert s.failures == []


async def test_a_restart_keeps_the_days_loss_and_the_positions_exits(
    tmp_path: Path, capture_slice: Path, venue: SimServer
) -> None:
    cfg = live_config(tmp_path, capture_slice, venue)
    first, task = start(cfg)
    await trading(first, venue)
    engine = first.engine
    assert engine is not None
    spec = first.contracts["BTCUSDT"]
    # a losing round trip (fees), then an entry whose time exit is 20 s of market time away
    engine.submit(OrderIntent(spec=spec, side=Side.BUY, qty_steps=10, strategy="t",
                              reason="enter"))
    await until(lambda: (p := engine.position("BTCUSDT")) is not None and p.qty_steps == 10)
    engine.submit(OrderIntent(spec=spec, side=Side.SELL, qty_steps=10, reduce_only=True,
                              strategy="t", reason="exit:test"))
    await until(lambda: (p := engine.position("BTCUSDT")) is not None and p.is_flat)
    engine.submit(OrderIntent(spec=spec, side=Side.BUY, qty_steps=10, strategy="t",
                              reason="enter", max_hold_ns=20 * 10**9))
    await until(lambda: (p := engine.position("BTCUSDT")) is not None and p.qty_steps == 10)
    await asyncio.sleep(1.2)  # the day's PnL is saved by a 1 s timer
    day_loss = engine.portfolio.day_pnl()
    first.interrupt()
    await asyncio.wait_for(task, 30)
    assert day_loss < 0

    second, task = start(cfg)
    await until(lambda: second.trader is not None and second.trader.enabled)
    engine = second.engine
    assert engine is not None
    # the realised part of the day survives: the daily loss limit does not start over
    assert engine.portfolio.day_pnl() < 0
    # the restored position's time exit still fires (market time moves 5x wall time here)
    await until(lambda: (p := engine.position("BTCUSDT")) is not None and p.is_flat, 20)
    second.interrupt()
    s = await asyncio.wait_for(task, 30)
    assert s.failures == []
    assert venue_qty(venue) == 0


async def test_a_position_the_venue_closed_while_the_bot_was_down_is_dropped_first(
    tmp_path: Path, capture_slice: Path, venue: SimServer
) -> None:
    first, task = start(live_config(tmp_path, capture_slice, venue))
    await trading(first, venue)
    engine = first.engine
    assert engine is not None
    spec = first.contracts["BTCUSDT"]
    # an entry with a stop, a target and a time exit, as the trader sends them
    mark = engine.portfolio.marks["BTCUSDT"]
    engine.submit(OrderIntent(spec=spec, side=Side.BUY, qty_steps=30, strategy="t",
                              reason="enter", sl_ticks=mark - 2000, tp_ticks=mark + 2000,
                              trail_distance_ticks=500, max_hold_ns=3600 * 10**9))
    await until(lambda: (p := engine.position("BTCUSDT")) is not None and p.qty_steps == 30)
    first.interrupt()
    await asyncio.wait_for(task, 30)
    # while the bot is down, the position is closed at the venue (its stop fired, say)
    async with BitunixREST(Credentials(KEY, SECRET),
                           RestConfig(base_url=venue.rest_url)) as rest:
        from bitunix.exchange import OrderRequest

        await rest.place_order(OrderRequest(symbol="BTCUSDT", side=Side.SELL,
                                            order_type=OrderType.MARKET, qty=Decimal("0.003"),
                                            reduce_only=True, client_id="stop-fired"))
    assert venue_qty(venue) == 0
    lines: list[str] = []
    second, task = start(live_config(tmp_path, capture_slice, venue,
                                     **{"run.flatten_on_exit": True}), lines)
    await until(lambda: second.trader is not None and second.trader.enabled)
    engine = second.engine
    assert engine is not None
    position = engine.position("BTCUSDT")
    assert position is None or position.is_flat  # corrected before the first new order
    assert engine.exits.guards == {}  # nothing left to guard: no refused exit orders
    await asyncio.sleep(1.0)
    second.interrupt()
    s = await asyncio.wait_for(task, 30)
    assert s.failures == []
    assert s.drift_corrections >= 1
    assert s.orders == 0  # not one exit or protection order sent for the phantom position
    assert s.rejects == 0
    assert venue_qty(venue) == 0
