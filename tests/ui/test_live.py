"""The live view against a real paper run: what it draws is the bot's state."""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path

from rich.console import Console

from bitunix.app.bot import BotRun
from bitunix.app.observers import Observer
from bitunix.config import Mode
from bitunix.model import Position
from bitunix.ui import LiveView, render_live
from tests.app.conftest import busy_config

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


async def test_the_view_shows_the_runs_positions_and_pnl(
        tmp_path: Path, capture_slice: Path) -> None:
    # Not flattened on exit: the final picture has open positions to compare.
    # Slower than the app tests' 30x: under load a fast replay can end before a trade.
    cfg = busy_config(tmp_path, capture_slice, **{"run.flatten_on_exit": False,
                                                   "http.enabled": False, "sim.speed": 15.0})
    screen = io.StringIO()
    console = Console(force_terminal=True, file=screen, width=160, height=60,
                      color_system="standard")
    view = LiveView(console, refresh_s=0.05)
    seen_open: list[tuple[dict[str, str], dict[str, str]]] = []

    class Peek(Observer):
        """Takes the view's snapshot the moment a position opens (after the view heard it)."""

        def on_position(self, position: Position) -> None:
            if not position.is_flat and not seen_open:
                snap = view.snapshot()
                seen_open.append(({p["symbol"]: p["qty"] for p in snap["positions"]},
                                  {position.symbol: str(position.qty)}))

    def emit(line: str) -> None:
        print(line)  # what bitunix-bot run does: the view puts it above itself

    bot = BotRun(cfg, Mode.PAPER, store_path=cfg.store.resolved_path(), secrets=None,
                 emit=emit, observers=[view, Peek()])
    task = asyncio.ensure_future(bot.run())
    s = await task
    assert s.failures == []
    assert s.fills > 0
    assert view.frames > 10  # refreshed a few times a second
    [(shown, opened)] = seen_open  # a snapshot taken with a position open shows it
    assert shown == opened

    engine = bot.engine
    assert engine is not None
    pf = engine.portfolio
    final = view.last_snapshot
    assert final is not None
    account = final["account"]
    assert account["pnl_realized"] == str(pf.net_realized())
    assert account["pnl_unrealized"] == str(pf.unrealized())
    assert account["fees"] == str(pf.fees())
    assert account["equity"] == str(pf.equity())
    assert account["fills"] == s.fills
    positions = {p["symbol"]: p["qty"] for p in final["positions"]}
    assert positions == {sym: str(p.qty) for sym, p in pf.positions.items() if not p.is_flat}

    # What reached the terminal: the run's lines above the view, then the final picture
    # with the same figures.
    out = _ANSI.sub("", screen.getvalue())
    assert "reconciled: 0 open orders" in out
    assert final["ready"]["components"] == {"run": {"ok": True,
                                                    "detail": "ended; connections closed"}}
    last = out[out.rindex("bitunix-bot  mode paper"):]
    assert f"realised {account['pnl_realized']} " in last
    assert f"equity   {account['equity']} " in last
    for symbol, qty in positions.items():
        assert re.search(rf"{symbol} │ {re.escape(qty)} ", last)
    if not positions:
        assert "positions: flat" in last
    # The picture drawn is render_live's picture of that snapshot.
    record = Console(record=True, width=160, file=io.StringIO(), color_system=None)
    record.print(render_live(final))
    body = record.export_text().splitlines()[2:]  # past the header (its uptime moves)
    assert "\n".join(line.rstrip() for line in body[:6]) in "\n".join(
        line.rstrip() for line in last.splitlines())


async def test_log_lines_go_through_the_view_while_it_is_on(
        tmp_path: Path, capture_slice: Path) -> None:
    import logging
    import sys

    from bitunix.logs import KeyValueFormatter

    cfg = busy_config(tmp_path, capture_slice, **{"http.enabled": False, "sim.speed": 15.0})
    screen = io.StringIO()
    view = LiveView(Console(force_terminal=True, file=screen, width=120), refresh_s=0.05)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    seen: list[object] = []

    class Log(Observer):
        def on_fill(self, fill: object) -> None:
            if not seen:
                seen.append(handler.stream)
                logging.getLogger("bitunix.test").warning("a warning while the view is on")

    try:
        bot = BotRun(cfg, Mode.PAPER, store_path=cfg.store.resolved_path(), secrets=None,
                     emit=lambda _: None, observers=[view, Log()])
        s = await asyncio.wait_for(bot.run(), 90)
    finally:
        root.removeHandler(handler)
    assert s.fills > 0
    assert seen[0] is not sys.stderr  # rich's stand-in while the view was on
    assert handler.stream is sys.stderr  # given back
    assert 'msg="a warning while the view is on"' in _ANSI.sub("", screen.getvalue())


def test_run_on_a_terminal_shows_the_view_and_piped_prints_plain_lines(
        tmp_path: Path, capture_slice: Path) -> None:
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import sys
    import termios

    from tests.app.conftest import MODELS

    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "BITUNIX_CFG_HTTP__ENABLED": "false"}
    argv = [sys.executable, "-m", "bitunix", "run", "--data", str(capture_slice), "--speed",
            "30", "--duration", "4", "--models-dir", str(MODELS)]

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen([*argv, "--store", str(tmp_path / "a.sqlite")], cwd=tmp_path,
                            env=env, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the other side closed: the process ended
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.wait(timeout=60) == 0
    tty_out = _ANSI.sub("", b"".join(chunks).decode("utf-8", "replace"))
    assert "bitunix-bot  mode paper  |  venue sim" in tty_out
    assert "ended; connections closed" in tty_out
    assert "trading: " in tty_out  # the summary below the view

    piped = subprocess.run([*argv, "--store", str(tmp_path / "b.sqlite")], cwd=tmp_path,
                           env=env, capture_output=True, text=True, timeout=60, check=True)
    assert "\x1b[" not in piped.stdout
    assert "bitunix-bot  mode paper" not in piped.stdout
    assert "trading: " in piped.stdout
