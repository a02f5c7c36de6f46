"""Fixtures of the control tests: a paper bot running in this process on the simulator,
driven by the operator commands from a worker thread (as a second process would)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bitunix import cli
from bitunix.app.bot import BotRun
from bitunix.config import Mode
from bitunix.data import bundled_capture
from tests.app.conftest import busy_config


class Running:
    """A bot running on its own task, and the way to send it operator commands."""

    def __init__(self, bot: BotRun, task: asyncio.Task[object], store: Path,
                 capsys: pytest.CaptureFixture[str]) -> None:
        self.bot = bot
        self.task = task
        self.store = store
        self.capsys = capsys
        self.lines: list[str] = []

    async def command(self, *argv: str) -> tuple[int, str, str]:
        """``bitunix-bot ARGV --store STORE`` in a worker thread: (code, stdout, stderr)."""
        self.capsys.readouterr()
        code = await asyncio.to_thread(cli.main, [*argv, "--store", str(self.store)])
        out, err = self.capsys.readouterr()
        return code, out, err

    async def until(self, cond: Callable[[], bool], what: str, timeout_s: float = 15.0) -> None:
        """Wait until ``cond()``; fail saying ``what`` after ``timeout_s``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not cond():
            assert loop.time() < deadline, f"not within {timeout_s} s: {what}"
            await asyncio.sleep(0.02)


@pytest.fixture
async def running(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> AsyncIterator[Running]:
    """A paper bot on the bundled capture, reconciled, with a market price; stopped after."""
    cfg = busy_config(tmp_path, bundled_capture(), **{
        "sim.speed": 5.0, "run.duration_s": 90.0, "run.idle_stop_s": 0.0})
    bot = BotRun(cfg, Mode.PAPER, store_path=cfg.store.resolved_path(), secrets=None,
                 emit=lambda _line: None)
    task: asyncio.Task[object] = asyncio.ensure_future(bot.run())
    run = Running(bot, task, cfg.store.resolved_path(), capsys)
    bot._emit_line = run.lines.append
    try:
        await run.until(lambda: bot.engine is not None and bot.engine.ready
                        and bot._control is not None
                        and "BTCUSDT" in bot.engine.portfolio.marks, "the bot is ready", 30)
        yield run
    finally:
        bot.interrupt()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 60)
