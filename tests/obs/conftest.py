"""A paper run on the simulator with the HTTP observer on a free port, for the obs tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from bitunix.app.bot import BotRun
from bitunix.app.http_observer import HttpObserver
from bitunix.app.summary import RunSummary
from bitunix.config import Mode
from bitunix.obs import ObsServer
from bitunix.sim.server import SimServer
from tests.app.conftest import busy_config, capture_slice  # noqa: F401 (a fixture)


class LiveRun:
    """A running bot, its HTTP server and (when it ended) its summary."""

    def __init__(self, bot: BotRun, observer: HttpObserver, lines: list[str]) -> None:
        self.bot = bot
        self.observer = observer
        self.lines = lines
        self.sim: SimServer | None = None
        self.task: asyncio.Task[RunSummary] | None = None

    @property
    def server(self) -> ObsServer:
        assert self.observer.server is not None
        return self.observer.server

    @property
    def url(self) -> str:
        return self.server.url


async def wait_for(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll ``check`` every 50 ms for at most ``timeout_s``."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout_s
    while not check():
        if loop.time() > end:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.05)


@asynccontextmanager
async def live_run(tmp_path: Path, data: Path, **overrides: object) -> AsyncIterator[LiveRun]:
    """Start a paper run with the HTTP server on port 0; stop it (bounded) at the end."""
    base: dict[str, object] = {"http.port": 0, "sim.speed": 5.0, "run.duration_s": 40.0}
    base.update(overrides)
    cfg = busy_config(tmp_path, data, **base)
    observer = HttpObserver(cfg.http)
    lines: list[str] = []
    holder: list[SimServer] = []
    bot = BotRun(cfg, Mode.PAPER, store_path=cfg.store.resolved_path(), secrets=None,
                 emit=lines.append, observers=[observer], sim_faults_hook=holder.append)
    run = LiveRun(bot, observer, lines)
    run.task = asyncio.ensure_future(bot.run())
    try:
        await wait_for(lambda: (observer.server is not None and observer.server.port > 0)
                       or (run.task is not None and run.task.done()), 30, "the HTTP server")
        assert observer.server is not None, lines
        run.sim = holder[0]
        yield run
    finally:
        bot.interrupt()
        await asyncio.wait_for(run.task, 60)
