"""A whole run: start-up order, paper trading on the simulator, the store, the summary and
an honest exit."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from bitunix.app.bot import BotRun
from bitunix.config import Mode
from bitunix.store import SqliteStore
from tests.app.conftest import busy_config


async def test_a_paper_run_trades_round_trips_and_reports_them(
    tmp_path: Path, capture_slice: Path
) -> None:
    cfg = busy_config(tmp_path, capture_slice)
    lines: list[str] = []
    bot = BotRun(cfg, Mode.PAPER, store_path=cfg.store.resolved_path(), secrets=None,
                 emit=lines.append)
    s = await asyncio.wait_for(bot.run(), 90)
    assert s.failures == []
    assert s.exit_code() == 0
    assert s.mode == "paper"
    assert s.trades_seen > 1000
    assert s.handler_errors == s.decode_errors == 0
    assert s.signals > 0
    assert s.orders >= s.trades > 0
    assert s.fills >= 2 * s.trades
    assert s.open_positions == {}  # flattened on exit
    assert s.signal_to_order_p50_us is not None
    assert s.tick_to_order_p50_us is not None
    assert s.tick_to_order_p50_us >= s.signal_to_order_p50_us > 0
    assert Decimal(s.fees) > 0
    # the PnL is the venue's: equity moved by exactly the net PnL from 10,000
    assert Decimal(s.equity) == Decimal("10000") + Decimal(s.pnl)
    assert any(line.startswith("reconciled:") for line in lines)
    with SqliteStore(cfg.store.resolved_path()) as store:
        orders = store.orders()
        assert len(orders) == s.orders
        assert all(not o.is_open for o in orders)
        assert len(store.fills()) == s.fills
        assert [p.qty_steps for p in store.positions()] == [0]
        decisions = store.decisions()
        assert len(decisions) == s.signals
        # orders, or refusals that say why: risk denials, plans too tight for the tick,
        # signals before the start-up reconciliation ended (standby)
        assert all(d.outcome in ("order", "exit", "standby")
                   or d.outcome.startswith(("denied:", "plan:")) for d in decisions)
        assert sum(d.outcome == "order" for d in decisions) > 0
        actions = {a.action for a in store.audit()}
        assert {"lease", "submit"} <= actions
        assert store.state("client_id_epoch") is not None
    text = msgspec.json.encode(s).decode()
    assert "paper-api-secret" not in text


async def test_an_unknown_symbol_is_a_clear_failure(tmp_path: Path, capture_slice: Path) -> None:
    cfg = busy_config(tmp_path, capture_slice, symbols=["NOPEUSDT"])
    bot = BotRun(cfg, Mode.PAPER, store_path=cfg.store.resolved_path(), secrets=None,
                 emit=lambda _: None)
    s = await asyncio.wait_for(bot.run(), 30)
    assert s.exit_code() == 1
    assert len(s.failures) == 1
    assert "NOPEUSDT" in s.failures[0]


async def test_market_data_that_never_delivers_fails_the_run(tmp_path: Path) -> None:
    """A book and never a trade: the feed watchdog fails the run."""
    book_only = tmp_path / "book-only.txt"
    snapshot = {"lastUpdateId": 100, "bids": [["60000.0", "1"]], "asks": [["60000.1", "3"]]}
    book_only.write_text(f"1723161255000000000 {json.dumps(snapshot)}\n")
    cfg = busy_config(tmp_path, book_only, **{"run.first_trade_timeout_s": 1.0})
    bot = BotRun(cfg, Mode.PAPER, store_path=cfg.store.resolved_path(), secrets=None,
                 emit=lambda _: None)
    s = await asyncio.wait_for(bot.run(), 30)
    assert s.exit_code() == 1
    assert "no trade arrived within 1 s" in s.failures[0]


async def test_an_empty_market_data_file_fails_the_run_at_once(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    cfg = busy_config(tmp_path, empty, **{"run.first_trade_timeout_s": 10.0})
    bot = BotRun(cfg, Mode.PAPER, store_path=cfg.store.resolved_path(), secrets=None,
                 emit=lambda _: None)
    s = await asyncio.wait_for(bot.run(), 30)
    assert s.exit_code() == 1
    assert s.failures[0] == f"no market events in {empty}: the file is empty"
    assert s.wall_s < 10.0


async def test_interrupt_stops_cleanly_with_exit_130(tmp_path: Path,
                                                     capture_slice: Path) -> None:
    cfg = busy_config(tmp_path, capture_slice, **{"sim.speed": 5.0})
    bot = BotRun(cfg, Mode.PAPER, store_path=cfg.store.resolved_path(), secrets=None,
                 emit=lambda _: None)
    task = asyncio.ensure_future(bot.run())
    await asyncio.sleep(2.0)
    bot.interrupt()
    s = await asyncio.wait_for(task, 30)
    assert s.interrupted
    assert s.exit_code() == 130
    assert s.trades_seen > 0
    assert s.open_positions == {}


async def test_a_strategy_that_raises_fails_the_run(tmp_path: Path, capture_slice: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from bitunix.strategy.meanrev import MeanReversionStrategy

    def boom(self: object, vector: object) -> tuple[bool, float, str]:
        raise RuntimeError("strategy bug")

    monkeypatch.setattr(MeanReversionStrategy, "_approve", boom)
    cfg = busy_config(tmp_path, capture_slice)
    bot = BotRun(cfg, Mode.PAPER, store_path=cfg.store.resolved_path(), secrets=None,
                 emit=lambda _: None)
    s = await asyncio.wait_for(bot.run(), 90)
    assert s.handler_errors > 0
    assert s.exit_code() == 1
    assert any("handler errors" in f for f in s.failures)


async def test_a_broken_active_model_refuses_every_entry_and_says_so(
    tmp_path: Path, capture_slice: Path
) -> None:
    import shutil

    from tests.app.conftest import MODELS

    models = tmp_path / "models"
    shutil.copytree(MODELS, models)
    onnx = next(models.glob("ovirx-gbm/*/model.onnx"))
    onnx.write_bytes(onnx.read_bytes()[:-1] + b"\x00")  # corrupt: its sha256 no longer fits
    cfg = busy_config(tmp_path, capture_slice, **{
        "signal.models_dir": str(models),
        "signal.strategies": [{"kind": "ovirx", "params": {
            "prob_threshold": 0.0, "entry_z": 1.0, "min_edge_bps": 0.0, "min_std_bps": 0.0,
            "max_tick_ratio": 1.0, "min_depth_lean": -1.0}}]})
    lines: list[str] = []
    bot = BotRun(cfg, Mode.PAPER, store_path=cfg.store.resolved_path(), secrets=None,
                 emit=lines.append)
    s = await asyncio.wait_for(bot.run(), 90)
    assert any("every entry refused until a good model is swapped in" in line
               for line in lines)
    assert s.model_status["source"] == "refused"
    assert s.signals == 0  # even at threshold 0: a refusal is never an entry
    assert s.orders == 0
    assert int(s.model_status["refused_calls"]) > 0
    assert s.model_status["fallback_calls"] == "0"


async def test_the_manual_kill_switch_stops_entries_and_release_resumes_them(
    tmp_path: Path, capture_slice: Path
) -> None:
    from bitunix.cli import main
    from tests.app.test_restart import until

    cfg = busy_config(tmp_path, capture_slice, **{"sim.speed": 4.0})
    store = cfg.store.resolved_path()
    lines: list[str] = []
    bot = BotRun(cfg, Mode.PAPER, store_path=store, secrets=None, emit=lines.append)
    task = asyncio.ensure_future(bot.run())
    await until(lambda: bot.trader is not None and bot.trader.entries > 0, 30)
    assert await asyncio.to_thread(main, ["kill", "--store", str(store), "--reason", "t"]) == 0
    await until(lambda: bot.gate.kill_switch_engaged, 5)
    entries = bot.trader.entries  # type: ignore[union-attr]
    await until(lambda: bot.gate.denials.as_dict().get("kill_switch", 0) > 0, 20)
    assert bot.trader.entries == entries  # type: ignore[union-attr]
    assert await asyncio.to_thread(main, ["kill", "--release", "--store", str(store)]) == 0
    await until(lambda: not bot.gate.kill_switch_engaged, 5)
    await until(lambda: bot.trader.entries > entries, 30)  # type: ignore[union-attr]
    bot.interrupt()
    s = await asyncio.wait_for(task, 30)
    assert s.failures == []
    assert "risk: kill switch engaged (t): no new entries" in lines
    assert "risk: kill switch released" in lines
    with SqliteStore(store) as st:
        assert [a.detail["engage"] for a in st.audit("kill")] == ["True", "False"]


def test_kill_refuses_contradictions_and_missing_stores(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bitunix.cli import main

    assert main(["kill", "--release", "--flatten", "--store", str(tmp_path / "x")]) == 1
    assert "--release and --flatten: choose one" in capsys.readouterr().err
    assert main(["kill", "--store", str(tmp_path / "none.sqlite")]) == 1
    assert "none.sqlite: does not exist" in capsys.readouterr().err


async def test_a_running_bot_scores_a_shadow_registered_meanwhile(
    tmp_path: Path, capture_slice: Path
) -> None:
    import shutil

    from bitunix.ml.registry import ModelRegistry
    from tests.app.conftest import MODELS

    models = tmp_path / "models"
    shutil.copytree(MODELS, models)
    registry = ModelRegistry(models)
    registry.retire("ovirx-logit")  # no shadow at the start
    cfg = busy_config(tmp_path, capture_slice, **{"signal.models_dir": str(models),
                                                  "run.model_poll_s": 0.2})
    lines: list[str] = []
    bot = BotRun(cfg, Mode.PAPER, store_path=cfg.store.resolved_path(), secrets=None,
                 emit=lines.append)
    task = asyncio.ensure_future(bot.run())
    try:
        for _ in range(300):
            if bot.trader is not None and bot.trader.enabled:
                break
            await asyncio.sleep(0.02)
        assert bot.stack is not None
        assert bot.stack.shadow is None
        registry.shadow("ovirx-logit")  # bitunix-bot retrain does this
        for _ in range(300):
            if any(line.startswith("model: shadow now ovirx-logit@") for line in lines):
                break
            await asyncio.sleep(0.02)
        assert bot.stack.shadow is not None
        assert bot.stack.shadow.challenger.name.startswith("ovirx-logit@")
    finally:
        bot.interrupt()
        s = await asyncio.wait_for(task, 60)
    assert s.failures == []
