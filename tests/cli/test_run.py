"""``bitunix-bot run`` from the command line: flags, modes, the summary, exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bitunix.cli import main
from bitunix.sim.server import SimServer
from tests.app.conftest import BUSY, MODELS, capture_slice  # noqa: F401 (a fixture)

SUMMARY_KEYS = {"mode", "venue", "messages", "decode_errors", "handler_errors", "reconnects",
                "signals", "orders", "fills", "trades", "pnl", "fees", "denials",
                "drift_corrections", "tick_to_order_p50_us", "tick_to_order_p99_us"}


def busy_file(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "busy.toml"
    path.write_text(extra + BUSY)
    return path


def test_paper_run_prints_and_writes_the_summary(
    tmp_path: Path, capture_slice: Path, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    out_json = tmp_path / "summary.json"
    store = tmp_path / "s.sqlite"
    code = main(["run", "--config", str(busy_file(tmp_path)), "--data", str(capture_slice),
                 "--speed", "30", "--duration", "30", "--store", str(store),
                 "--models-dir", str(MODELS), "--summary-json", str(out_json)])
    out = capsys.readouterr().out
    assert code == 0, out
    first = out.splitlines()[0]
    assert first.startswith("bitunix-bot run: mode paper (orders go to the built-in simulator)")
    assert f"store {store}" in first
    summary = json.loads(out_json.read_text())
    assert set(summary) >= SUMMARY_KEYS
    assert summary["mode"] == "paper"
    assert summary["orders"] > 0
    assert summary["trades"] > 0
    assert summary["failures"] == []
    assert "trading:" in out
    assert "tick -> order bytes p50" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--symbols", "btcusdt,ETHUSDT"], "--symbols 'btcusdt,ETHUSDT': 'btcusdt' is not "
                                           "a symbol like BTCUSDT (symbols are upper case)"),
        (["--duration", "abc"], "--duration 'abc': not a number"),
        (["--duration", "-1"], "--duration '-1': must be a finite number >= 0"),
        (["--speed", "nan"], "--speed 'nan': must be a finite number > 0"),
        (["--venue", "bitunix", "--rest-url", "ftp://x"], "--rest-url 'ftp://x': must be a "
                                                          "http:// or https:// URL with a host"),
        (["--config", "/nonexistent.toml"], "config file /nonexistent.toml: does not exist"),
        (["--summary-json", "/nonexistent/s.json"], "--summary-json /nonexistent/s.json: "
                                                   "directory /nonexistent does not exist"),
        (["--store", "/nonexistent/s.sqlite"], "directory /nonexistent does not exist"),
        (["--data", "/nonexistent.gz"], "no such market-data file: /nonexistent.gz"),
    ],
)
def test_bad_flags_are_one_clear_line(args: list[str], message: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", *args]) == 1
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert message in err
    assert len(err.splitlines()) == 1
    assert "Traceback" not in captured.out + captured.err


@pytest.fixture
async def venue(capture_slice: Path) -> AsyncIterator[SimServer]:  # noqa: F811
    sim = SimServer(data=str(capture_slice), speed=20.0, loop_data=True,
                    api_keys={"k-live": "s-live"}, push_interval_s=0.015)
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


def _run_cli(args: list[str], env: dict[str, str], timeout: float = 90) -> tuple[int, str]:
    """The real command in a child process (its own event loop and signal handling)."""
    proc = subprocess.run([sys.executable, "-m", "bitunix", "run", *args],
                          check=False, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **env})
    return proc.returncode, proc.stdout + proc.stderr


async def test_another_venue_is_dry_run_unless_both_live_switches_are_on(
    tmp_path: Path, venue: SimServer
) -> None:
    import asyncio

    urls = ["--venue", "bitunix", "--rest-url", venue.rest_url,
            "--ws-public-url", venue.public_ws_url, "--ws-private-url", venue.private_ws_url,
            "--duration", "6", "--models-dir", str(MODELS), "--store",
            str(tmp_path / "s.sqlite")]
    keys = {"BITUNIX_API_KEY": "k-live", "BITUNIX_API_SECRET": "s-live"}
    cfg = busy_file(tmp_path)
    acct = next(iter(venue.engine.accounts.values()))

    # dry_run = true (the default) even with FORCE_LIVE_TRADING=true: nothing is sent
    code, out = await asyncio.to_thread(
        _run_cli, ["--config", str(cfg), *urls], {**keys, "FORCE_LIVE_TRADING": "true"})
    assert code == 0, out
    assert "mode dry-run (dry_run = true in the configuration (the default))" in out
    assert acct.orders == {}
    assert "s-live" not in out
    # dry_run = false without FORCE_LIVE_TRADING: still nothing
    live_cfg = busy_file(tmp_path, "dry_run = false\n")
    code, out = await asyncio.to_thread(_run_cli, ["--config", str(live_cfg), *urls], keys)
    assert code == 0, out
    assert "mode dry-run (dry_run = false but FORCE_LIVE_TRADING=true is not set)" in out
    assert acct.orders == {}
    # both: live, orders reach the venue
    code, out = await asyncio.to_thread(
        _run_cli, ["--config", str(live_cfg), *urls], {**keys, "FORCE_LIVE_TRADING": "true"})
    assert code == 0, out
    assert "mode live (dry_run = false and FORCE_LIVE_TRADING=true)" in out
    assert len(acct.orders) > 0
    assert "s-live" not in out


def test_ctrl_c_stops_cleanly_prints_the_summary_and_exits_130(
    tmp_path: Path, capture_slice: Path  # noqa: F811
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bitunix", "run", "--data", str(capture_slice), "--speed", "2",
         "--duration", "60", "--models-dir", str(MODELS), "--store",
         str(tmp_path / "s.sqlite")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    for line in proc.stdout:  # wait until it is live
        if line.startswith("reconciled:") or time.monotonic() > deadline:
            break
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert "interrupted (Ctrl-C)" in out
    assert "mode paper on sim" in out
    assert "Traceback" not in out + err
