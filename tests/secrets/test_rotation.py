"""Rotating the exchange key pair while a live-mode bot trades (venue.kind bitunix against a
simulator on 127.0.0.1): the new pair is written into the encrypted secrets file, the bot
swaps it in without a restart, the old key is revoked at the venue, and nothing is lost or
doubled: every order placed exactly once (client ids), the store's fills are the venue's,
no drift, a clean end, and neither secret in any output."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bitunix.app.bot import BotRun
from bitunix.config import BotConfig, Mode, load_secrets
from bitunix.config.secrets import encrypt_pair, new_master_key, write_owner_only
from bitunix.exchange import BitunixREST, RestConfig
from bitunix.exchange.errors import ExchangeError
from bitunix.exchange.signing import Credentials
from bitunix.exchange.ws import ConnState
from bitunix.model import Order, OrderIntent, OrderType, Side
from bitunix.sim.server import SimServer
from bitunix.store import SqliteStore
from tests.app.conftest import busy_config

OLD_KEY, OLD_SECRET = "rotation-old-key-7f3a", "rotation-old-secret-91c2e5"
NEW_KEY, NEW_SECRET = "rotation-new-key-2b8d", "rotation-new-secret-44d0a7"


async def until(predicate: Callable[[], bool], timeout_s: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


def live_config(tmp_path: Path, capture: Path, sim: SimServer, secrets_file: Path) -> BotConfig:
    return busy_config(tmp_path, capture, **{
        "signal.strategies": [], "venue.kind": "bitunix", "dry_run": False,
        "venue.rest_url": sim.rest_url, "venue.ws_public_url": sim.public_ws_url,
        "venue.ws_private_url": sim.private_ws_url, "venue.secrets_file": str(secrets_file),
        "venue.secrets_poll_s": 0.1, "run.idle_stop_s": 0.0, "run.duration_s": 0.0,
        "run.flatten_on_exit": True})


async def test_rotation_mid_run_loses_and_doubles_nothing(
        tmp_path: Path, capture_slice: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    master = new_master_key()
    environ = {"BITUNIX_SECRETS_KEY": master, "FORCE_LIVE_TRADING": "true"}
    secrets_file = tmp_path / "secrets.toml"
    write_owner_only(secrets_file, encrypt_pair(OLD_KEY, OLD_SECRET, Fernet(master)))
    sim = SimServer(data=str(capture_slice), speed=5.0, loop_data=True,
                    api_keys={OLD_KEY: OLD_SECRET}, push_interval_s=0.06)
    await sim.start()
    lines: list[str] = []
    try:
        cfg = live_config(tmp_path, capture_slice, sim, secrets_file)
        pair = load_secrets(environ, cfg.venue.secrets_file)
        bot = BotRun(cfg, Mode.LIVE, store_path=cfg.store.resolved_path(), secrets=pair,
                     emit=lines.append, environ=environ)
        task = asyncio.ensure_future(bot.run())
        market = sim.engine.markets["BTCUSDT"]
        await until(lambda: bot.trader is not None and bot.trader.enabled
                    and bool(market.asks) and bool(market.bids))
        engine, venue = bot.engine, bot.venue
        assert engine is not None
        assert venue is not None
        spec = bot.contracts["BTCUSDT"]
        far = spec.price_ticks_from_float(50_000.0, "ROUND_FLOOR")
        placed: list[Order] = []

        def limit(offset: int) -> None:
            placed.append(engine.submit(OrderIntent(
                spec=spec, side=Side.BUY, qty_steps=10, order_type=OrderType.LIMIT,
                price_ticks=far - offset, strategy="t", reason="enter")))

        def market_order(side: Side, reduce_only: bool = False) -> None:
            placed.append(engine.submit(OrderIntent(
                spec=spec, side=side, qty_steps=10, reduce_only=reduce_only, strategy="t",
                reason="exit:t" if reduce_only else "enter")))

        # Before: resting orders and a filled entry, all under the old key.
        for i in range(3):
            limit(i)
        market_order(Side.BUY)
        await until(lambda: all((o := engine.order(p.client_id)) is not None
                                and o.venue_id is not None for p in placed))

        # The operator adds the new key at the venue (same account) and moves the new
        # encrypted file over the old one; orders keep being placed meanwhile.
        sim.add_api_key(NEW_KEY, NEW_SECRET, account_of=OLD_KEY)
        # A first attempt others can read is refused: the pair in use stays.
        staged = tmp_path / "secrets.new"
        write_owner_only(staged, encrypt_pair(NEW_KEY, NEW_SECRET, Fernet(master)))
        staged.chmod(0o644)
        os.replace(staged, secrets_file)
        await until(lambda: any(line.startswith("warning: the new secrets file is not used")
                                for line in lines))
        assert venue.stats.rotations == 0
        write_owner_only(staged, encrypt_pair(NEW_KEY, NEW_SECRET, Fernet(master)))
        ups = venue.stats.stream_ups
        os.replace(staged, secrets_file)
        for i in range(3, 9):
            limit(i)
            await asyncio.sleep(0.04)
        market_order(Side.BUY)
        await until(lambda: any(line.startswith("secrets: ") for line in lines))
        await until(lambda: venue.stats.stream_ups > ups and venue.ws.state is ConnState.LIVE)
        assert venue.stats.rotations == 1

        # Only then is the old key deleted at the venue: from here it is refused.
        sim.revoke_api_key(OLD_KEY)
        async with BitunixREST(Credentials(OLD_KEY, OLD_SECRET),
                               RestConfig(base_url=sim.rest_url)) as old:
            with pytest.raises(ExchangeError) as refused:
                await old.account()
        assert refused.value.code == 10003

        # After: a cancel, a reduce and new orders, all under the new key.
        assert engine.cancel(placed[0].client_id, "test")
        market_order(Side.SELL, reduce_only=True)
        limit(20)
        await until(lambda: all((o := engine.order(p.client_id)) is not None
                                and o.venue_id is not None for p in placed))
        await until(lambda: (p := engine.position("BTCUSDT")) is not None and p.qty_steps == 10)
        bot.interrupt()
        summary = await asyncio.wait_for(task, 60)
    finally:
        await sim.stop()

    assert summary.failures == []
    assert summary.drift_corrections == 0
    assert summary.open_positions == {}
    account = sim.engine.accounts[OLD_KEY]  # one account, traded by both keys
    assert set(sim.engine.accounts) == {OLD_KEY}
    # every intended order placed exactly once: its client id names one venue order
    for order in placed:
        local = bot.engine.order(order.client_id) if bot.engine else None
        assert local is not None
        assert account.client_ids[order.client_id] == local.venue_id
    assert len({p.client_id for p in placed}) == len(placed) == 13
    assert not any(o.status.is_open for o in (bot.engine.orders.values() if bot.engine
                                              else []))
    with SqliteStore(cfg.store.resolved_path()) as store:
        stored = {f.trade_id: (f.qty_steps, f.price_ticks) for f in store.fills()}
    at_venue = {f.trade_id: (int(f.qty / spec.qty_step), int(f.price / spec.tick_size))
                for f in account.fills}
    assert stored == at_venue
    assert sum(f.qty for f in account.fills) == Decimal("0.0040")  # 2 entries, 1 reduce, 1 close
    assert any("rotated from the secrets file" in a.reason for a in _audit(cfg))
    output = "\n".join(lines) + caplog.text + repr(summary) + _dump_audit(cfg)
    for secret in (OLD_SECRET, NEW_SECRET, master):
        assert secret not in output


def _audit(cfg: BotConfig) -> list[object]:
    with SqliteStore(cfg.store.resolved_path()) as store:
        return list(store.audit())


def _dump_audit(cfg: BotConfig) -> str:
    return "\n".join(repr(a) for a in _audit(cfg))
