"""The spec cache wired into a live-mode bot (venue.kind bitunix against a simulator on
127.0.0.1 whose contract changes mid-run): a refusal that signals a contract change makes
the bot read the spec again at once, a spec past its TTL is read again without one, and a
new tick or step pauses entries instead of trading on the old grid."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from bitunix.app.bot import BotRun
from bitunix.config import Mode, Secrets
from bitunix.model import OrderIntent, Side
from bitunix.sim.server import SimServer
from tests.app.conftest import busy_config

KEY, SECRET = "spec-key", "spec-secret"


async def until(predicate: Callable[[], bool], timeout_s: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


def change_contract(sim: SimServer, **changes: object) -> None:
    contracts = sim.engine.contracts
    contracts["BTCUSDT"] = dataclasses.replace(contracts["BTCUSDT"], **changes)


async def test_a_live_bot_reads_changed_specs_and_pauses_on_a_new_grid(
        tmp_path: Path, capture_slice: Path) -> None:
    sim = SimServer(data=str(capture_slice), speed=5.0, loop_data=True,
                    api_keys={KEY: SECRET}, push_interval_s=0.06)
    await sim.start()
    lines: list[str] = []
    try:
        cfg = busy_config(tmp_path, capture_slice, **{
            "signal.strategies": [], "venue.kind": "bitunix", "dry_run": False,
            "venue.rest_url": sim.rest_url, "venue.ws_public_url": sim.public_ws_url,
            "venue.ws_private_url": sim.private_ws_url, "venue.spec_ttl_s": 1.0,
            "run.idle_stop_s": 0.0, "run.duration_s": 0.0, "run.flatten_on_exit": True})
        bot = BotRun(cfg, Mode.LIVE, store_path=cfg.store.resolved_path(),
                     secrets=Secrets(api_key=KEY, api_secret=SECRET), emit=lines.append)
        task = asyncio.ensure_future(bot.run())
        market = sim.engine.markets["BTCUSDT"]
        await until(lambda: bot.trader is not None and bot.trader.enabled
                    and bool(market.asks) and bool(market.bids))
        engine, cache = bot.engine, bot.spec_cache
        assert engine is not None
        assert cache is not None

        def buy(qty_steps: int) -> str:
            return engine.submit(OrderIntent(spec=bot.contracts["BTCUSDT"], side=Side.BUY,
                                             qty_steps=qty_steps, strategy="t",
                                             reason="enter")).client_id

        # The minimum is raised: the first order is refused (30017), the spec read again.
        reads = cache.stats.reads
        change_contract(sim, min_qty=Decimal("0.01"))
        refused = buy(10)
        await until(lambda: bot.contracts["BTCUSDT"].min_qty == Decimal("0.01"))
        order = engine.order(refused)
        assert order is not None
        assert "30017" in order.reject_reason
        assert cache.stats.invalidations == 1
        assert cache.stats.reads == reads + 1
        assert any(line == "contract BTCUSDT changed at the venue: min_qty 0.0001 -> 0.01"
                   for line in lines)
        filled = buy(100)  # 0.01: the new minimum
        await until(lambda: (p := engine.position("BTCUSDT")) is not None
                    and p.qty_steps == 100)
        assert engine.order(filled) is not None

        # No refusal: the TTL (1 s) expires and the lowered maximum is read anyway.
        change_contract(sim, max_limit_qty=Decimal("400"))
        await until(lambda: bot.contracts["BTCUSDT"].max_limit_qty == Decimal("400"))

        # A new step: refused with 10002, entries paused until a restart.
        change_contract(sim, base_precision=3)
        buy(15)
        await until(lambda: bot.paused)
        assert "the venue changed the grid of BTCUSDT (qty_decimals 4 -> 3" in bot.paused_reason
        assert bot.contracts["BTCUSDT"].qty_decimals == 4  # nothing built on a mixed grid
        assert bot.trader is not None
        assert not bot.trader.enabled
        change_contract(sim, base_precision=4)  # so that the exit flattens on its grid
        bot.interrupt()
        summary = await asyncio.wait_for(task, 60)
    finally:
        await sim.stop()
    assert summary.failures == []
    assert summary.open_positions == {}
