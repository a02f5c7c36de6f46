"""A paper run on the simulator with the run's listener on a free port and the
integrations under test as observers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from bitunix.app.bot import BotRun
from bitunix.app.http_observer import HttpObserver
from bitunix.app.observers import Observer
from bitunix.config import BotConfig, Mode, load_config
from bitunix.obs.server import RouteAdder
from bitunix.sim.server import SimServer
from tests.app.conftest import MODELS, capture_slice  # noqa: F401 (a fixture)
from tests.obs.conftest import wait_for


def quiet_config(tmp_path: Path, data: Path, **overrides: object) -> BotConfig:
    """A paper configuration on ``data`` whose own strategies stay out of the way (the
    default guards rarely pass on a minute of data), the listener on a free port."""
    base: dict[str, object] = {"sim.data": str(data), "sim.speed": 5.0,
                               "run.duration_s": 60.0, "run.idle_stop_s": 0.0,
                               "signal.models_dir": str(MODELS), "http.port": 0,
                               "store.path": str(tmp_path / "state.sqlite")}
    base.update(overrides)
    return load_config(None, {}, overrides=base)


class Running:
    """A running bot and its listener's URL."""

    def __init__(self, bot: BotRun, http: HttpObserver) -> None:
        self.bot = bot
        self.http = http
        self.sim: SimServer | None = None

    @property
    def url(self) -> str:
        assert self.http.server is not None
        return self.http.server.url


@asynccontextmanager
async def running(config: BotConfig, *, routes: Sequence[RouteAdder] = (),
                  observers: Sequence[Observer] = (), trading: bool = True
                  ) -> AsyncIterator[Running]:
    """``config`` running as a paper bot with ``observers`` after its listener; entered
    once the listener serves (and, with ``trading``, the bot trades and has seen a
    price); interrupted and awaited on exit."""
    http = HttpObserver(config.http, routes=routes)
    holder: list[SimServer] = []
    bot = BotRun(config, Mode.PAPER, store_path=config.store.resolved_path(), secrets=None,
                 emit=lambda _: None, observers=[http, *observers],
                 sim_faults_hook=holder.append)
    task = asyncio.ensure_future(bot.run())
    run = Running(bot, http)
    try:
        await wait_for(lambda: task.done() or (http.server is not None
                                               and http.server.port > 0), 30, "the listener")
        assert not task.done(), task.result().failures
        run.sim = holder[0] if holder else None
        if trading:
            await wait_for(lambda: bot.trader is not None and bot.trader.enabled
                           and bot.pipeline is not None
                           and bot.pipeline.stats.last_trade_monotonic > 0, 30, "trading")
        yield run
    finally:
        bot.interrupt()
        await asyncio.wait_for(task, 60)
