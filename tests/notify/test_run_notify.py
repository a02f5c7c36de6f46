"""A paper run on the simulator tells fake Telegram and webhook servers about its fills,
the kill switch and the day; a failing or hanging server changes nothing in the run."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bitunix.app.bot import BotRun
from bitunix.config import Mode
from bitunix.config.notify import NotifySecrets, NotifySection, TelegramSection, WebhookSection
from bitunix.notify import Notifier, build_notifier
from bitunix.store import SqliteStore
from tests.app.conftest import busy_config
from tests.notify.conftest import FakeServer

TOKEN, SECRET = "123456:fake-telegram-token", "whsec-0f1e2d3c"


def _section(tg: FakeServer | None, hook: FakeServer | None, **kw: Any) -> NotifySection:
    # Enough per minute for every fill of the runs below (the limit has its own test).
    kw.setdefault("max_per_minute", 600)
    return NotifySection(
        telegram=TelegramSection(enabled=tg is not None, chat_id="-1001",
                                 base_url=tg.url if tg else "https://api.telegram.org"),
        webhook=WebhookSection(enabled=hook is not None, url=f"{hook.url}/hook" if hook else ""),
        **kw)


async def _until(cond: Any, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_fills_and_the_kill_switch_reach_telegram_and_the_webhook(
        tmp_path: Path, capture_slice: Path, servers: Any) -> None:
    from bitunix.cli import main

    tg, hook = await servers("ok"), await servers("ok")
    notifier = build_notifier(_section(tg, hook), NotifySecrets(telegram_token=TOKEN,
                                                                webhook_secret=SECRET))
    assert notifier is not None
    cfg = busy_config(tmp_path, capture_slice, **{"sim.speed": 10.0, "run.idle_stop_s": 0.0})
    store = cfg.store.resolved_path()
    bot = BotRun(cfg, Mode.PAPER, store_path=store, secrets=None, emit=lambda _: None,
                 observers=[notifier])
    task = asyncio.ensure_future(bot.run())
    await _until(lambda: bot.summary.fills > 0 or (bot.engine is not None and any(
        p.fills for p in bot.engine.portfolio.positions.values())), 60)
    assert await asyncio.to_thread(main, ["kill", "--store", str(store), "--reason", "t"]) == 0
    await _until(lambda: bot.gate.kill_switch_engaged, 5)
    bot.interrupt()
    s = await asyncio.wait_for(task, 60)
    assert s.failures == []

    with SqliteStore(store) as st:
        fills = st.fills()
    assert fills
    hooked = hook.bodies()
    fill_bodies = {b["data"]["trade_id"]: b for b in hooked if b["kind"] == "fill"}
    assert set(fill_bodies) == {f.trade_id for f in fills}
    for f in fills:
        data = fill_bodies[f.trade_id]["data"]
        assert (data["symbol"], data["side"], data["qty"], data["price"], data["fee"],
                data["client_id"]) == (f.symbol, f.side.value, str(f.qty), str(f.price),
                                       str(f.fee), f.client_id)
        assert Decimal(data["notional"]) == f.qty * f.price
        assert fill_bodies[f.trade_id]["mode"] == "paper"
    texts = [b["text"] for b in tg.bodies()]
    assert {b["chat_id"] for b in tg.bodies()} == {"-1001"}
    for f in fills:
        want = (f"bitunix-bot [paper] fill {f.symbol} {f.side.value.lower()} {f.qty} @ "
                f"{f.price} (fee {f.fee}")
        assert sum(t.startswith(want) and f.client_id in t for t in texts) >= 1
    assert "bitunix-bot [paper] kill switch engaged (t): no new entries" in texts
    [kill] = [b for b in hooked if b["kind"] == "kill"]
    assert kill["data"]["state"] == "engaged"
    assert kill["data"]["value_reason"] == "t"
    # every webhook body is signed with the secret; Telegram's path carries the token
    for path, headers, body in hook.requests:
        assert path == "/hook"
        want_sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-Bitunix-Signature"] == want_sig
        assert headers["X-Bitunix-Event"] in {"fill", "kill"}
    assert {path for path, _, _ in tg.requests} == {f"/bot{TOKEN}/sendMessage"}
    lane_tg, lane_hook = notifier.lanes
    assert lane_tg.sent == len(tg.requests)
    assert lane_hook.sent == len(hook.requests)
    assert lane_tg.failed == lane_hook.failed == lane_tg.dropped == 0

    # the daily summary, built at a chosen time after the run: exact figures
    chosen = 1_796_256_000 * 1_000_000_000  # 2026-12-03T00:00:00Z
    notifier.now_ns = lambda: chosen
    figures = notifier.daily_figures()
    notifier_start = figures.start_ns
    assert figures.end_ns == chosen
    assert chosen - notifier_start > 0
    with SqliteStore(store) as st:
        positions = st.positions()
    assert figures.fills == len(fills)
    assert figures.fees == sum((f.fee for f in fills), Decimal(0))
    assert figures.realized == sum((p.net_realized_pnl for p in positions), Decimal(0))
    assert figures.round_trips == sum(p.closed_trades for p in positions)
    assert figures.positions == {}  # flattened on exit
    assert figures.unrealized == 0
    assert figures.equity is not None
    assert figures.equity == cfg.sim.balance + figures.realized  # the venue's wallet agrees
    notice = notifier.send_daily()
    assert notice.text == (
        f"daily summary (paper, last {(chosen - notifier_start) / 3.6e12:.1f} h): "
        f"{len(fills)} fills, {figures.round_trips} round trips, realised {figures.realized} "
        f"(fees {figures.fees}, funding {figures.funding}), unrealised {figures.unrealized}, "
        f"equity {figures.equity}; positions: flat")
    assert notice.data["fees"] == str(figures.fees)
    assert notifier.daily_figures().fills == 0  # the next period starts empty


async def test_the_daily_summary_goes_out_when_due(
        tmp_path: Path, capture_slice: Path, servers: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    hook = await servers("ok")
    notifier = build_notifier(_section(None, hook, events=["daily"]), NotifySecrets())
    assert isinstance(notifier, Notifier)
    calls = iter([0.3, 3600.0])  # first due 0.3 s after the start, the next in an hour
    monkeypatch.setattr(notifier, "seconds_to_daily", lambda: next(calls))
    cfg = busy_config(tmp_path, capture_slice)
    bot = BotRun(cfg, Mode.PAPER, store_path=cfg.store.resolved_path(), secrets=None,
                 emit=lambda _: None, observers=[notifier])
    s = await asyncio.wait_for(bot.run(), 90)
    assert s.failures == []
    [daily] = hook.bodies()  # fills are not among the events: only the summary
    assert daily["kind"] == "daily"
    assert daily["data"]["fills"] >= 0
    assert daily["text"].startswith("daily summary (paper, last 0.0 h): ")
    assert notifier.lanes[0].sent == 1


@pytest.mark.parametrize("behaviour", ["500", "hang"])
async def test_a_failing_server_gets_bounded_retries_and_the_run_is_unaffected(
        tmp_path: Path, capture_slice: Path, servers: Any, behaviour: str,
        caplog: pytest.LogCaptureFixture) -> None:
    bad, good = await servers(behaviour), await servers("ok")
    section = _section(bad, good, attempts=3, retry_backoff_s=0.01, timeout_s=0.2)
    notifier = build_notifier(section, NotifySecrets(telegram_token=TOKEN))
    assert notifier is not None
    notifier.drain_s = 2.0
    cfg = busy_config(tmp_path, capture_slice, **{"sim.speed": 15.0})
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="bitunix.notify"):
        bot = BotRun(cfg, Mode.PAPER, store_path=cfg.store.resolved_path(), secrets=None,
                     emit=lambda _: None, observers=[notifier])
        s = await asyncio.wait_for(bot.run(), 90)
    assert s.failures == []
    assert s.fills > 0
    lane_bad, lane_good = notifier.lanes
    # the good channel got every fill, whatever the other did
    assert lane_good.sent == s.fills == len(good.requests)
    # the bad one: every notice it took was tried exactly 3 times, then given up
    assert lane_bad.sent == 0
    assert lane_bad.failed >= 1
    assert len(bad.requests) == lane_bad.attempts
    assert 3 * lane_bad.failed <= lane_bad.attempts <= 3 * (lane_bad.failed + lane_bad.unsent)
    messages = [r.getMessage() for r in caplog.records]
    why = "HTTP 500" if behaviour == "500" else "no answer within 0.2 s"
    assert f"notify telegram: fill notice not sent after 3 attempts: telegram sendMessage: " \
           f"{why}" in messages
    # each notice was given up after its 3 tries, or was still waiting when the run ended
    assert lane_bad.failed + lane_bad.unsent == s.fills
    for message in messages:
        assert TOKEN not in message
    assert time.monotonic() - started < 60
