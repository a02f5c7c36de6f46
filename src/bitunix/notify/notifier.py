"""The :class:`Notifier` observer: notices out of the run without holding it up.

Each hook builds a :class:`~bitunix.notify.messages.Notice` (cheap: a few strings) and puts
it, without waiting, on a bounded queue per channel; a full queue drops the notice and
counts it. A task per channel on the bot's loop sends them in order: at most
``max_per_minute`` a minute, each tried ``attempts`` times (``retry_backoff_s`` apart,
doubling), ``timeout_s`` per try; what still fails is logged and counted, never raised. A
slow or dead channel delays only itself. When the run stops, the queues get a few seconds
to drain (the closing fills go out), then whatever is left is logged as not sent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import aiohttp

from bitunix.app.observers import Observer
from bitunix.config.notify import NotifySecrets, NotifySection
from bitunix.model import Fill
from bitunix.notify.channels import Channel, NotifyError, TelegramChannel, WebhookChannel
from bitunix.notify.messages import (
    DailyFigures,
    Notice,
    Totals,
    daily_summary,
    error_notice,
    fill_notice,
    risk_notice,
)
from bitunix.risk.verdict import RiskTransition

if TYPE_CHECKING:
    from bitunix.app.bot import BotRun

__all__ = ["Lane", "Notifier", "build_notifier"]

log = logging.getLogger("bitunix.notify")
_NS = 1_000_000_000
_DAY_S = 86_400


class Lane:
    """One channel's queue, rate window and counters."""

    def __init__(self, channel: Channel, size: int, per_minute: int) -> None:
        self.channel = channel
        self.queue: asyncio.Queue[Notice] = asyncio.Queue(maxsize=size)
        self.per_minute = per_minute
        self.window: deque[float] = deque()
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self.attempts = 0
        #: Notices left unsent when the run stopped (queued, or cut off mid-send).
        self.unsent = 0
        self.busy = False
        self.task: asyncio.Task[None] | None = None

    async def wait_for_slot(self) -> None:
        """Sleep until one more send fits in the last minute's budget."""
        loop = asyncio.get_running_loop()
        while len(self.window) >= self.per_minute:
            wait = self.window[0] + 60.0 - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self.window.popleft()
        self.window.append(loop.time())


class Notifier(Observer):
    """Tells Telegram and/or a webhook about a run (see the module docs)."""

    name = "notifier"

    def __init__(self, section: NotifySection, channels: Sequence[Channel], *,
                 now_ns: Callable[[], int] = time.time_ns, drain_s: float = 5.0) -> None:
        self.section = section
        self.events = frozenset(section.events)
        self.lanes = [Lane(c, section.queue_size, section.max_per_minute) for c in channels]
        self.now_ns = now_ns
        self.drain_s = drain_s
        self.mode = ""
        self._bot: BotRun | None = None
        self._session: aiohttp.ClientSession | None = None
        self._daily: asyncio.TimerHandle | None = None
        self._baseline = Totals()
        self._period_start_ns = 0

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self, bot: BotRun) -> None:
        self._bot = bot
        self.mode = bot.mode.value
        self._session = aiohttp.ClientSession()
        self._baseline = self._totals()
        self._period_start_ns = self.now_ns()
        for lane in self.lanes:
            lane.task = asyncio.get_running_loop().create_task(
                self._pump(lane), name=f"notify-{lane.channel.name}")
        if "daily" in self.events:
            self._arm_daily()
        bot.emit(self.describe())

    def describe(self) -> str:
        """The line the run prints at start: where notices go and which (no secret, and a
        webhook's URL only up to its host: a path can hold a token)."""
        where = ", ".join(lane.channel.describe() for lane in self.lanes)
        daily = f"; daily summary at {self.section.daily_at} UTC" if "daily" in self.events \
            else ""
        return f"notify: {where}; events {', '.join(self.section.events)}{daily}"

    async def stop(self) -> None:
        if self._daily is not None:
            self._daily.cancel()
            self._daily = None
        started = [lane for lane in self.lanes if lane.task is not None]
        if started:
            try:
                await asyncio.wait_for(
                    asyncio.gather(*(lane.queue.join() for lane in started)), self.drain_s)
            except TimeoutError:
                for lane in started:
                    lane.unsent = lane.queue.qsize() + lane.busy
                    if lane.unsent:
                        log.warning("notify %s: %d notices not sent (the run stopped)",
                                    lane.channel.name, lane.unsent)
            for lane in started:
                assert lane.task is not None
                lane.task.cancel()
            await asyncio.gather(*(lane.task for lane in started if lane.task is not None),
                                 return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- hooks (the trading path: queue and return) -------------------------------------------

    def on_fill(self, fill: Fill) -> None:
        if "fill" in self.events:
            self.notify(fill_notice(fill))

    def on_risk(self, transition: RiskTransition) -> None:
        notice = risk_notice(transition)
        if notice.kind in self.events:
            self.notify(notice)

    def on_line(self, line: str) -> None:
        if line.startswith("error: ") and "error" in self.events:
            self.notify(error_notice(line, self.now_ns()))

    def notify(self, notice: Notice) -> None:
        """Queue ``notice`` on every channel; never waits (a full queue drops it)."""
        for lane in self.lanes:
            if lane.task is None:
                continue
            try:
                lane.queue.put_nowait(notice)
            except asyncio.QueueFull:
                lane.dropped += 1
                if lane.dropped == 1 or lane.dropped % 100 == 0:
                    log.warning("notify %s: queue full (%d notices): %d dropped so far",
                                lane.channel.name, lane.queue.maxsize, lane.dropped)

    # -- the daily summary ------------------------------------------------------------------

    def _totals(self) -> Totals:
        engine = self._bot.engine if self._bot is not None else None
        if engine is None:
            return Totals()
        return Totals.of(list(engine.portfolio.positions.values()))

    def daily_figures(self) -> DailyFigures:
        """The figures since the previous summary (or the start of the run), now."""
        now = self.now_ns()
        totals, base = self._totals(), self._baseline
        engine = self._bot.engine if self._bot is not None else None
        portfolio = engine.portfolio if engine is not None else None
        zero = totals.realized - totals.realized
        return DailyFigures(
            start_ns=self._period_start_ns, end_ns=now,
            fills=totals.fills - base.fills, round_trips=totals.round_trips - base.round_trips,
            realized=totals.realized - base.realized, fees=totals.fees - base.fees,
            funding=totals.funding - base.funding,
            unrealized=portfolio.unrealized() if portfolio is not None else zero,
            equity=portfolio.equity() if portfolio is not None else None,
            positions={} if portfolio is None else {
                s: p.qty for s, p in sorted(portfolio.positions.items()) if not p.is_flat})

    def send_daily(self) -> Notice:
        """Queue the summary of the period that ends now and start the next period."""
        figures = self.daily_figures()
        notice = daily_summary(figures, self.mode)
        self.notify(notice)
        self._baseline = self._totals()
        self._period_start_ns = figures.end_ns
        return notice

    def seconds_to_daily(self) -> float:
        """Seconds from now to the next ``daily_at`` (UTC)."""
        now_s = self.now_ns() / _NS
        due = (now_s // _DAY_S) * _DAY_S + self.section.daily_minute * 60
        while due <= now_s:
            due += _DAY_S
        return due - now_s

    def _arm_daily(self) -> None:
        def due() -> None:
            self.send_daily()
            self._arm_daily()

        self._daily = asyncio.get_running_loop().call_later(self.seconds_to_daily(), due)

    # -- sending (background) ---------------------------------------------------------------

    async def _pump(self, lane: Lane) -> None:
        while True:
            notice = await lane.queue.get()
            lane.busy = True
            try:
                await lane.wait_for_slot()
                await self._deliver(lane, notice)
            finally:
                lane.busy = False
                lane.queue.task_done()

    async def _deliver(self, lane: Lane, notice: Notice) -> None:
        assert self._session is not None
        section = self.section
        why = ""
        for attempt in range(1, section.attempts + 1):
            lane.attempts += 1
            try:
                await lane.channel.send(self._session, notice, self.mode, section.timeout_s)
            except NotifyError as exc:
                why = str(exc)
            except Exception as exc:  # a bug must not end the lane: log it, go on
                log.exception("notify %s: sending failed", lane.channel.name)
                why = f"internal error: {type(exc).__name__}"
                break
            else:
                lane.sent += 1
                return
            if attempt < section.attempts:
                await asyncio.sleep(section.retry_backoff_s * 2 ** (attempt - 1))
        lane.failed += 1
        log.warning("notify %s: %s notice not sent after %d attempts: %s", lane.channel.name,
                    notice.kind, section.attempts, why)


def build_notifier(section: NotifySection, secrets: NotifySecrets) -> Notifier | None:
    """The notifier of ``section`` (None when no channel is enabled)."""
    channels: list[Channel] = []
    if section.telegram.enabled:
        channels.append(TelegramChannel(token=secrets.telegram_token,
                                        chat_id=section.telegram.chat_id,
                                        base_url=section.telegram.base_url))
    if section.webhook.enabled:
        channels.append(WebhookChannel(url=section.webhook.url, secret=secrets.webhook_secret,
                                       signature_header=section.webhook.signature_header))
    return Notifier(section, channels) if channels else None
