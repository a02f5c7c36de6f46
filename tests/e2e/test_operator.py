"""End to end: ``bitunix-bot run`` trading on the simulator in one process, the operator
commands in others (``python -m bitunix ...``, as the console script runs them), the venue
read by the test itself over REST.

Shown: ``status``, ``positions`` and ``orders --json`` agree with the venue; ``pause`` holds
new entries until ``resume``; a manual order that breaks a limit is refused and nothing is
sent, the same order with ``--force`` is sent, both audited; ``flatten`` leaves no position
at the venue; no entry reaches the venue after ``kill`` returned; SIGTERM ends the run
cleanly (exit 130, the store flushed and its lease released).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bitunix.app.bot import SIM_API_KEY, SIM_API_SECRET
from bitunix.control.messages import BotInfo, decode_info, decode_status
from bitunix.exchange import BitunixREST, Credentials, RestConfig
from bitunix.store import SqliteStore
from tests.app.conftest import BUSY, MODELS

SRC = str(Path(__file__).resolve().parents[2] / "src")

#: The strategy of tests/app/conftest.py that trades often, on the bundled capture at 3x
#: (about 115 s of data; the tests stop the bot long before), no dashboard, no idle stop.
CONFIG = """
symbols = ["BTCUSDT"]
[run]
duration_s = 150
idle_stop_s = 0
[sim]
speed = 3
[http]
enabled = false
[store]
path = "{store}"
[signal]
models_dir = "{models}"
""" + BUSY.replace("{", "{{").replace("}", "}}")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BITUNIX_")}
    env["PYTHONPATH"] = SRC + os.pathsep + os.environ.get("PYTHONPATH", "")
    return env


class Bot:
    """The bot's process, its store and the venue it recorded."""

    def __init__(self, proc: subprocess.Popen[bytes], store: Path, log: Path) -> None:
        self.proc = proc
        self.store = store
        self.log = log
        self.info: BotInfo | None = None

    def state(self, key: str) -> str | None:
        conn = sqlite3.connect(self.store, timeout=5)
        try:
            row = conn.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        except sqlite3.OperationalError:  # created, its tables not yet
            return None
        finally:
            conn.close()
        return None if row is None else str(row[0])

    def wait_ready(self, timeout_s: float = 40.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            if self.store.exists():
                info, status = self.state("bot.info"), self.state("bot.status")
                if info and status and decode_status(status).ready:
                    self.info = decode_info(info)
                    return
            time.sleep(0.1)
        raise AssertionError(f"the bot was not ready within {timeout_s} s: "
                             f"{self.log.read_text()}")

    def command(self, *argv: str, timeout_s: float = 30.0) -> tuple[int, str, str]:
        """``python -m bitunix ARGV --store STORE``: (exit code, stdout, stderr)."""
        done = subprocess.run([sys.executable, "-m", "bitunix", *argv, "--store",
                               str(self.store)], capture_output=True, env=_env(),
                              timeout=timeout_s, check=False)
        return done.returncode, done.stdout.decode(), done.stderr.decode()

    def venue(self, call: Any) -> Any:
        """``call(rest)`` against the bot's simulator, read by the test itself."""
        assert self.info is not None
        info = self.info

        async def main() -> Any:
            async with BitunixREST(Credentials(SIM_API_KEY, SIM_API_SECRET),
                                   RestConfig(base_url=info.rest_url)) as rest:
                return await call(rest)

        return asyncio.run(main())

    def venue_state(self) -> tuple[list[tuple[str, Decimal]], list[tuple[str, Decimal]]]:
        """(positions as (symbol, signed qty), open orders as (client id, qty))."""
        async def read(rest: BitunixREST) -> Any:
            return await rest.pending_positions(), await rest.all_pending_orders()

        positions, orders = self.venue(read)
        return (sorted((p.symbol, -p.qty if p.side.upper() in ("SELL", "SHORT") else p.qty)
                       for p in positions),
                sorted((o.client_id or "", o.qty) for o in orders))


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[Bot]:
    store = tmp_path / "state.sqlite"
    config = tmp_path / "bot.toml"
    config.write_text(CONFIG.format(store=store, models=MODELS))
    log = tmp_path / "bot.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "bitunix", "run", "--config",
                                 str(config)], stdout=out, stderr=subprocess.STDOUT,
                                env=_env(), cwd=tmp_path)
    running = Bot(proc, store, log)
    try:
        running.wait_ready()
        yield running
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def _until(cond: Any, what: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, f"not within {timeout_s} s: {what}"
        time.sleep(0.1)


def _entries_after(store: Path, ts_ns: int) -> list[str]:
    """Client ids of the bot's entries (not reduce-only) created after ``ts_ns``."""
    with SqliteStore(store) as s:
        return [o.client_id for o in s.orders() if o.created_ns > ts_ns and not o.reduce_only]


def test_reads_agree_with_the_venue_and_pause_holds_entries(bot: Bot) -> None:
    _until(lambda: len(_entries_after(bot.store, 0)) >= 1, "the bot's first entry")
    code, out, err = bot.command("pause")
    assert code == 0, err
    assert out.startswith("paused: no new entries")
    paused_ns = time.time_ns()
    # A state that holds still: a manual long (no exits of its own) and a resting bid.
    code, _, err = bot.command("order", "place", "BTCUSDT", "BUY", "0.002", "--force")
    assert code == 0, err
    assert bot.info is not None
    code, out, err = bot.command("status", "--json")
    assert code == 0, err
    status = json.loads(out)
    assert status["running"] is True
    assert status["paused"] is True
    assert status["bot"]["pid"] == bot.proc.pid
    assert status["bot"]["rest_url"] == bot.info.rest_url
    assert status["bot"]["symbols"] == ["BTCUSDT"]
    assert status["bot"]["mode"] == "paper"
    assert status["lease"]["owner"] == bot.info.owner
    assert status["heartbeat_age_s"] < 5
    # The reads against the venue: equal whenever the venue did not move meanwhile.
    for _ in range(20):
        before = bot.venue_state()
        _, pos_out, pos_err = bot.command("positions", "--json")
        _, ord_out, ord_err = bot.command("orders", "--json")
        _, st_out, st_err = bot.command("status", "--json")
        if bot.venue_state() == before:
            break
    else:
        pytest.fail("the venue never held still for the length of three reads")
    venue_positions, venue_orders = before
    positions, orders, status = json.loads(pos_out), json.loads(ord_out), json.loads(st_out)
    assert "" == pos_err == ord_err == st_err
    assert [(p["symbol"], Decimal(p["qty"])) for p in positions["venue"]["positions"]] == \
        venue_positions
    assert [(p["symbol"], Decimal(p["qty"])) for p in positions["bot"]["positions"]] == \
        venue_positions
    assert sorted((o["client_id"], Decimal(o["qty"])) for o in orders["venue"]["orders"]) == \
        venue_orders
    assert sorted((o["client_id"], Decimal(o["qty"])) for o in orders["bot"]["orders"]) == \
        venue_orders
    assert status["positions"] == status["venue"]["positions"] == len(venue_positions)
    assert status["open_orders"] == status["venue"]["open_orders"] == len(venue_orders)
    assert any(qty >= Decimal("0.002") for _, qty in venue_positions)
    # Paused: no entry of the bot's own since (the forced one is the operator's).
    time.sleep(1.5)
    with SqliteStore(bot.store) as s:
        own = [o.client_id for o in s.orders() if o.created_ns > paused_ns
               and not o.reduce_only and o.strategy != "operator"]
    assert own == []
    code, _, err = bot.command("order", "place", "BTCUSDT", "SELL", "0.002", "--reduce-only")
    assert code == 0, err
    code, out, err = bot.command("resume")
    assert code == 0, err
    assert out.startswith("resumed")
    resumed_ns = time.time_ns()
    _until(lambda: len(_entries_after(bot.store, resumed_ns)) >= 1, "an entry after resume",
           60)


def test_manual_orders_go_through_risk_and_flatten_leaves_nothing(bot: Bot) -> None:
    code, _, err = bot.command("pause")
    assert code == 0, err

    async def entries(rest: BitunixREST) -> dict[str, Decimal]:
        """Every order at the venue that is not reduce-only (the bot's exits still go
        out while paused): client id -> qty."""
        history = await rest.history_orders(limit=100)
        return {o.client_id or o.order_id: o.qty
                for o in [*history.order_list, *await rest.all_pending_orders()]
                if not o.reduce_only}

    sent = bot.venue(entries)
    code, out, err = bot.command("order", "place", "BTCUSDT", "BUY", "0.1")
    assert code == 1
    assert out == ""
    assert "refused by risk: exposure_symbol" in err
    assert "nothing sent" in err
    assert len(err.strip().splitlines()) == 1
    assert bot.venue(entries) == sent
    code, out, err = bot.command("order", "place", "BTCUSDT", "BUY", "0.1", "--force",
                                 "--json")
    assert code == 0, err
    placed = json.loads(out)["detail"]
    assert placed["status"] == "FILLED"
    assert bot.venue(entries) == {**sent, placed["client_id"]: Decimal("0.1")}
    positions, _ = bot.venue_state()
    assert any(qty >= Decimal("0.1") for _, qty in positions)
    code, out, err = bot.command("flatten")
    assert code == 0, err
    assert out.startswith("flat (")
    assert bot.venue_state()[0] == []
    with SqliteStore(bot.store) as s:
        audit = [(a.reason, a.detail.get("ok"), a.detail.get("force"))
                 for a in s.audit("operator")]
        assert all(p.is_flat for p in s.positions())
    assert audit == [("pause", "true", None), ("order_place", "false", "false"),
                     ("order_place", "true", "true"), ("flatten", "true", None)]


def test_no_entry_reaches_the_venue_after_kill_returned(bot: Bot) -> None:
    _until(lambda: len(_entries_after(bot.store, 0)) >= 1, "the bot's first entry")
    code, out, err = bot.command("kill", "--reason", "e2e")
    returned_ns = time.time_ns()
    assert code == 0, err
    assert out.strip() == "kill switch engaged: no new entries"
    time.sleep(2.0)  # signals keep coming: every one is refused

    async def after(rest: BitunixREST) -> list[Any]:
        start_ms = returned_ns // 1_000_000
        done = await rest.history_orders(limit=100, start_ms=start_ms)
        return [o for o in [*done.order_list, *await rest.all_pending_orders()]
                if (o.ctime or 0) >= start_ms]

    assert [o.client_id for o in bot.venue(after) if not o.reduce_only] == []
    assert _entries_after(bot.store, returned_ns) == []
    assert bot.proc.poll() is None  # still running, trading nothing new
    code, out, _ = bot.command("status", "--json")
    assert json.loads(out)["kill_switch"] is True
    assert json.loads(out)["kill_reason"] == "e2e"


def test_sigterm_ends_the_run_cleanly_with_the_state_flushed(bot: Bot) -> None:
    _until(lambda: len(_entries_after(bot.store, 0)) >= 1, "the bot's first entry")
    bot.proc.send_signal(signal.SIGTERM)
    assert bot.proc.wait(60) == 130  # interrupted: the documented exit status
    log = bot.log.read_text()
    assert "flatten on exit: flat" in log
    assert "Traceback" not in log
    conn = sqlite3.connect(bot.store)
    try:
        assert conn.execute("SELECT COUNT(*) FROM lease").fetchone() == (0,)
    finally:
        conn.close()
    info = bot.state("bot.info")
    assert info is not None
    assert decode_info(info).stopped_ns > 0
    with SqliteStore(bot.store) as s:
        assert s.orders(open_only=True) == []
        assert all(p.is_flat for p in s.positions())
        assert len(s.orders()) >= 1
    code, out, err = bot.command("status", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["running"] is False
    assert "stopped with the bot" in doc["venue"]["error"]
    code, out, err = bot.command("pause")
    assert code == 1
    assert out == ""
    assert err.startswith("bitunix-bot pause: error: no bot is running on store")
    assert err.strip().endswith("nothing changed")
