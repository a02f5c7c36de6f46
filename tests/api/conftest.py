"""A paper bot on the simulator serving the control API on a free port, run on an event
loop of its own in a thread (so that synchronous clients, schemathesis among them, can
call it), with three tokens: ``read``, ``trade`` and ``admin``."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bitunix.api.observer import build_http_observers
from bitunix.api.tokens import hash_token
from bitunix.app.bot import BotRun
from bitunix.app.http_observer import HttpObserver
from bitunix.config import BotConfig, Mode
from tests.app.conftest import MODELS, busy_config, capture_slice  # noqa: F401 (a fixture)

TOKENS = {scope: f"bxa_test-{scope}-token-0123456789abcdefghijklmnopqrstuv"
          for scope in ("read", "trade", "admin")}


def api_overrides(tmp_path: Path, **more: object) -> dict[str, object]:
    """Overrides of :func:`busy_config` for a run with the API on a free port and a copy
    of the model registry (promote and rollback change it)."""
    models = tmp_path / "models"
    if not models.exists():
        shutil.copytree(MODELS, models)
    base: dict[str, object] = {
        "http.port": 0, "sim.speed": 1.0, "run.duration_s": 240.0, "run.idle_stop_s": 0.0,
        "signal.models_dir": str(models), "api.enabled": True,
        "api.tokens": [{"name": scope, "sha256": hash_token(token), "scopes": [scope]}
                       for scope, token in TOKENS.items()]}
    base.update(more)
    return base


def wait_until(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll ``check`` every 50 ms for at most ``timeout_s``."""
    end = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


class ThreadedBot:
    """A :class:`BotRun` of ``config`` on its own loop in a thread."""

    def __init__(self, config: BotConfig) -> None:
        self.config = config
        self.observers = build_http_observers(config.http, config.api)
        self.lines: list[str] = []
        self.bot = BotRun(config, Mode.PAPER, store_path=config.store.resolved_path(),
                          secrets=None, emit=self.lines.append, observers=self.observers)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="api-bot", daemon=True)

    @property
    def http(self) -> HttpObserver:
        observer = self.observers[0]
        assert isinstance(observer, HttpObserver)
        return observer

    @property
    def url(self) -> str:
        """The listener's base URL, without the trailing slash."""
        assert self.http.server is not None
        return self.http.server.url.rstrip("/")

    def _main(self) -> None:
        async def main() -> None:
            self.loop = asyncio.get_running_loop()
            await self.bot.run()

        try:
            asyncio.run(main())
        except BaseException as exc:
            self.error = exc

    def start(self, *, ready: bool = True) -> None:
        """Start; wait for the listener (and, ``ready``, for a reconciled engine with
        market prices)."""
        self._thread.start()
        wait_until(lambda: self.http.server is not None and self.http.server.port > 0
                   and self.bot.lease is not None and self.bot.lease.held, 30,
                   "the listener and the lease")
        if ready:
            wait_until(self._trading, 30, "a reconciled engine with prices")

    def _trading(self) -> bool:
        engine = self.bot.engine
        return engine is not None and engine.ready and all(
            s in engine.portfolio.marks for s in self.config.symbols)

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the bot's loop and return its result."""
        assert self.loop is not None
        done = threading.Event()
        out: list[Any] = []

        def run() -> None:
            out.append(fn())
            done.set()

        self.loop.call_soon_threadsafe(run)
        assert done.wait(10)
        return out[0]

    def stop(self) -> None:
        """Stop (bounded) and re-raise what the run raised."""
        if self.loop is not None and self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.bot.interrupt)
        self._thread.join(60)
        assert not self._thread.is_alive(), "the bot did not stop within 60 s"
        if self.error is not None:
            raise self.error


@pytest.fixture(scope="module")
def api_bot(tmp_path_factory: pytest.TempPathFactory, capture_slice: Path  # noqa: F811
            ) -> Iterator[ThreadedBot]:
    """One paper bot serving the API for the tests of a module."""
    tmp = tmp_path_factory.mktemp("api")
    bot = ThreadedBot(busy_config(tmp, capture_slice, **api_overrides(tmp)))
    bot.start()
    try:
        yield bot
    finally:
        bot.stop()


def auth(scope: str) -> dict[str, str]:
    """The Authorization header of the ``scope`` token."""
    return {"Authorization": f"Bearer {TOKENS[scope]}"}
