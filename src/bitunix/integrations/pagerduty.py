"""PagerDuty Events API v2: events out of the run without holding it up.

:meth:`PagerDutySender.enqueue` puts an event on a bounded queue and returns (a full
queue drops it and counts it); one task on the bot's loop posts them in order to
``{base_url}/v2/enqueue``, each tried ``attempts`` times ``retry_backoff_s`` apart
(doubling) on a network error, a timeout, 429 or 5xx; a 4xx other than 429 is not
retried (the event is wrong, sending it again will not help). Nothing here raises into
the trading path.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Literal

import aiohttp
import msgspec

from bitunix.config.alerting import PagerDutySection

__all__ = ["Action", "PagerDutyEvent", "PagerDutySender", "Payload"]

log = logging.getLogger("bitunix.integrations.pagerduty")

Action = Literal["trigger", "acknowledge", "resolve"]


class Payload(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The event's ``payload`` (trigger only)."""

    summary: str
    source: str
    severity: str
    component: str = ""
    group: str = ""
    custom_details: dict[str, str] = msgspec.field(default_factory=dict)


class PagerDutyEvent(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One Events API v2 event (``routing_key`` is filled in when sent)."""

    event_action: Action
    dedup_key: str
    payload: Payload | None = None


class _Wire(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    routing_key: str
    event_action: str
    dedup_key: str
    payload: Payload | None = None


class PagerDutySender:
    """The queue and the sending task (see the module docs)."""

    def __init__(self, section: PagerDutySection, routing_key: str, *,
                 drain_s: float = 5.0) -> None:
        self.section = section
        self._routing_key = routing_key
        self.url = section.base_url.rstrip("/") + "/v2/enqueue"
        self.source = section.source or socket.gethostname()
        self.drain_s = drain_s
        self.queue: asyncio.Queue[PagerDutyEvent] = asyncio.Queue(maxsize=section.queue_size)
        #: Counts by outcome: ``sent``, ``failed`` (gave up), ``dropped`` (queue full),
        #: ``attempts`` (every try), ``unsent`` (left when the run stopped).
        self.counts = {"sent": 0, "failed": 0, "dropped": 0, "attempts": 0, "unsent": 0}
        self.sent: list[PagerDutyEvent] = []
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._busy = False

    def __repr__(self) -> str:  # the routing key stays out of every log line
        return f"PagerDutySender({self.url!r})"

    async def start(self) -> None:
        """Open the session and start sending."""
        self._session = aiohttp.ClientSession()
        self._task = asyncio.get_running_loop().create_task(self._pump(), name="pagerduty")

    async def stop(self) -> None:
        """Give the queue ``drain_s`` to empty, then stop (what is left is counted)."""
        if self._task is not None:
            try:
                await asyncio.wait_for(self.queue.join(), self.drain_s)
            except TimeoutError:
                self.counts["unsent"] = self.queue.qsize() + self._busy
                log.warning("pagerduty: %d events not sent (the run stopped)",
                            self.counts["unsent"])
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    def enqueue(self, event: PagerDutyEvent) -> None:
        """Queue ``event``; never waits."""
        if self._task is None:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.counts["dropped"] += 1
            log.warning("pagerduty: queue full (%d events): %s %s dropped",
                        self.queue.maxsize, event.event_action, event.dedup_key)

    async def _pump(self) -> None:
        while True:
            event = await self.queue.get()
            self._busy = True
            try:
                await self._deliver(event)
            finally:
                self._busy = False
                self.queue.task_done()

    async def _deliver(self, event: PagerDutyEvent) -> None:
        assert self._session is not None
        section = self.section
        body = msgspec.json.encode(_Wire(
            routing_key=self._routing_key, event_action=event.event_action,
            dedup_key=event.dedup_key, payload=event.payload))
        timeout = aiohttp.ClientTimeout(total=section.timeout_s)
        why = ""
        for attempt in range(1, section.attempts + 1):
            self.counts["attempts"] += 1
            try:
                async with self._session.post(
                        self.url, data=body, timeout=timeout,
                        headers={"Content-Type": "application/json"}) as response:
                    status = response.status
                    await response.read()
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                why = type(exc).__name__
            else:
                if 200 <= status < 300:
                    self.counts["sent"] += 1
                    self.sent.append(event)
                    return
                why = f"HTTP {status}"
                if 400 <= status < 500 and status != 429:
                    break
            if attempt < section.attempts:
                await asyncio.sleep(section.retry_backoff_s * 2 ** (attempt - 1))
        self.counts["failed"] += 1
        log.warning("pagerduty: %s %s not sent: %s", event.event_action, event.dedup_key, why)
