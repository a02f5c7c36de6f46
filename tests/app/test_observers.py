"""Observers see what a run journals and reports, in order, and never stop it."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bitunix.app.bot import BotRun
from bitunix.app.observers import Observer, Observers, TeeJournal
from bitunix.config import Mode
from bitunix.model import Fill, Order, Position
from bitunix.model.records import AuditEntry, Decision
from bitunix.risk.verdict import Reason, RiskTransition
from bitunix.store import SqliteStore
from tests.app.conftest import busy_config


class Recorder(Observer):
    name = "recorder"

    def __init__(self) -> None:
        self.events: list[str] = []
        self.orders: dict[str, Order] = {}
        self.fills: list[Fill] = []
        self.decisions: list[Decision] = []
        self.audits: list[AuditEntry] = []
        self.bot: BotRun | None = None

    async def start(self, bot: BotRun) -> None:
        self.bot = bot
        self.events.append("start")

    async def stop(self) -> None:
        self.events.append("stop")

    def on_order(self, order: Order) -> None:
        self.orders[order.client_id] = order

    def on_fill(self, fill: Fill) -> None:
        self.fills.append(fill)

    def on_position(self, position: Position) -> None:
        self.events.append(f"position {position.symbol}")

    def on_audit(self, entry: AuditEntry) -> None:
        self.audits.append(entry)

    def on_decision(self, decision: Decision) -> None:
        self.decisions.append(decision)

    def on_line(self, line: str) -> None:
        self.events.append(f"line {line}")


class Broken(Observer):
    name = "broken"

    def __init__(self) -> None:
        self.calls = 0

    def on_fill(self, fill: Fill) -> None:
        self.calls += 1
        raise RuntimeError("a bug in an observer")

    async def stop(self) -> None:
        raise RuntimeError("cannot stop")


async def test_an_observer_sees_what_the_run_journals(
    tmp_path: Path, capture_slice: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = busy_config(tmp_path, capture_slice)
    recorder, broken = Recorder(), Broken()
    lines: list[str] = []
    bot = BotRun(cfg, Mode.PAPER, store_path=cfg.store.resolved_path(), secrets=None,
                 emit=lines.append, observers=[broken, recorder])
    with caplog.at_level(logging.ERROR, logger="bitunix.app.observers"):
        s = await asyncio.wait_for(bot.run(), 90)
    assert s.failures == []  # a raising observer stops nothing
    assert s.fills > 0
    assert recorder.bot is bot
    # started before anything traded (lines from the start-up may come first)
    first_position = next(i for i, e in enumerate(recorder.events) if e.startswith("position"))
    assert recorder.events.index("start") < first_position
    assert recorder.events[-1] == "stop"
    # every line the run printed, in order, and the same as the observer heard
    assert [e[5:] for e in recorder.events if e.startswith("line ")] == lines
    with SqliteStore(cfg.store.resolved_path()) as store:
        assert {o.client_id: o.status for o in store.orders()} == {
            cid: o.status for cid, o in recorder.orders.items()}
        assert sorted(f.trade_id for f in store.fills()) == sorted(
            f.trade_id for f in recorder.fills)
        assert len(store.decisions()) == len(recorder.decisions) == s.signals
        assert len(store.audit()) == len(recorder.audits)
    assert broken.calls == s.fills  # still called, every time
    failures = [r.getMessage() for r in caplog.records]
    assert failures.count("observer broken failed in on_fill (further failures of it are "
                          "not logged)") == 1
    assert "observer broken failed to stop" in failures


async def test_observers_fan_out_and_an_observer_that_cannot_start_fails_the_run(
    tmp_path: Path, capture_slice: Path
) -> None:
    class NoStart(Observer):
        async def start(self, bot: BotRun) -> None:
            from bitunix.core.errors import ConfigError

            raise ConfigError("key http.port: 80 is taken")

    cfg = busy_config(tmp_path, capture_slice)
    recorder = Recorder()
    bot = BotRun(cfg, Mode.PAPER, store_path=cfg.store.resolved_path(), secrets=None,
                 emit=lambda _: None, observers=[NoStart(), recorder])
    s = await asyncio.wait_for(bot.run(), 60)
    assert s.failures == ["key http.port: 80 is taken"]
    assert s.orders == 0
    assert recorder.events[-1] == "stop"  # stopped though never started


def test_a_tee_journal_records_first_then_tells() -> None:
    seen: list[str] = []

    class Store:
        def record_order(self, order: Order) -> None:
            seen.append("store order")

        def record_fill(self, fill: Fill) -> None:
            seen.append("store fill")

        def record_position(self, position: Position) -> None:
            seen.append("store position")

        def record_audit(self, entry: AuditEntry) -> None:
            seen.append("store audit")

        def record_decision(self, decision: Decision) -> None:
            seen.append("store decision")

    class Tell(Observer):
        def on_order(self, order: Order) -> None:
            seen.append("told order")

        def on_fill(self, fill: Fill) -> None:
            seen.append("told fill")

        def on_position(self, position: Position) -> None:
            seen.append("told position")

        def on_audit(self, entry: AuditEntry) -> None:
            seen.append("told audit")

        def on_decision(self, decision: Decision) -> None:
            seen.append("told decision")

        def on_risk(self, transition: RiskTransition) -> None:
            seen.append(f"told risk {transition.kind}")

    observers = Observers([Tell()])
    assert observers
    assert not Observers()
    tee = TeeJournal(Store(), observers)
    tee.record_order(object())  # type: ignore[arg-type]
    tee.record_fill(object())  # type: ignore[arg-type]
    tee.record_position(object())  # type: ignore[arg-type]
    tee.record_audit(object())  # type: ignore[arg-type]
    tee.record_decision(object())  # type: ignore[arg-type]
    observers.on_risk(RiskTransition(kind=Reason.KILL_SWITCH, active=True, ts_ns=1))
    assert seen == ["store order", "told order", "store fill", "told fill", "store position",
                    "told position", "store audit", "told audit", "store decision",
                    "told decision", "told risk kill_switch"]
