"""``/healthz`` and ``/readyz``: is the process alive, and is each part of the run ready.

Liveness is the event loop turning: :class:`LoopBeat` is a timer that notes how late it
fires. Readiness is read from what the run already knows, never by a new request per
probe: the market feed (connected and fresh), the venue's private stream and REST (the
last request's outcome), the state store (no failed write; the lease held, or a standby)
and the model (loaded, or the rule fallback deciding). ``bot`` is a
:class:`bitunix.app.bot.BotRun`, read by duck typing (``obs`` sits below ``app``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

__all__ = ["LoopBeat", "readiness"]

Component = dict[str, object]


def _part(ok: bool, detail: str) -> Component:
    return {"ok": ok, "detail": detail}


class LoopBeat:
    """A timer every ``period_s`` on the running loop; ``lag_s`` is how late its last
    firing was, ``age_s()`` how long ago it fired (a blocked loop stops it)."""

    def __init__(self, period_s: float = 0.25) -> None:
        self.period_s = period_s
        self.lag_s = 0.0
        self.max_lag_s = 0.0
        self.beats = 0
        self._last = 0.0
        self._handle: asyncio.TimerHandle | None = None

    def start(self) -> None:
        """Start beating on the running loop."""
        loop = asyncio.get_running_loop()
        self._last = loop.time()
        self._handle = loop.call_later(self.period_s, self._beat, self._last + self.period_s)

    def _beat(self, due: float) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        self.lag_s = max(0.0, now - due)
        self.max_lag_s = max(self.max_lag_s, self.lag_s)
        self.beats += 1
        self._last = now
        self._handle = loop.call_later(self.period_s, self._beat, now + self.period_s)

    def age_s(self) -> float:
        """Seconds since the last beat (the loop's own clock)."""
        return asyncio.get_running_loop().time() - self._last

    def stop(self) -> None:
        """Stop beating."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


def readiness(bot: Any, *, stale_after_s: float,
              now: float | None = None) -> tuple[bool, dict[str, Component]]:
    """``(ready, components)``: one entry per component with ``ok`` and ``detail``;
    ready when every one is ok. ``now``: ``time.monotonic()`` (the pipeline's clock)."""
    now = time.monotonic() if now is None else now
    parts: dict[str, Component] = {
        "feed": _feed(bot, stale_after_s, now),
        "private_stream": _private(bot),
        "rest": _rest(bot, now),
        "store": _store(bot),
        "model": _model(bot),
    }
    return all(p["ok"] for p in parts.values()), parts


def _standby(bot: Any) -> bool:
    lease = bot.lease
    return lease is not None and not lease.held


def _feed(bot: Any, stale_after_s: float, now: float) -> Component:
    ws, pipeline = bot.ws, bot.pipeline
    if ws is None or pipeline is None:
        return _part(False, "market data not subscribed yet")
    state = ws.state.value
    if state != "live":
        return _part(False, f"public stream {state} ({ws.stats.reconnects} reconnects)")
    last = pipeline.stats.last_push_monotonic
    if not last:
        return _part(False, "subscribed; no market data yet")
    age = now - last
    if age > stale_after_s:
        return _part(False, f"stale: no market push for {age:.1f} s "
                            f"(limit {stale_after_s:g} s)")
    return _part(True, f"live, last push {age:.2f} s ago")


def _private(bot: Any) -> Component:
    venue = bot.venue
    if venue is None:
        return _part(True, f"{bot.mode.value}: no private stream")
    if _standby(bot):
        return _part(True, "standby: not connected until the lease is taken over")
    state = venue.ws.state.value
    if state != "live":
        return _part(False, f"private stream {state}")
    return _part(True, "live")


def _rest(bot: Any, now: float) -> Component:
    ok = bot.last_request_ok
    if ok is None:
        return _part(True, "no venue request since start-up (the contracts were read)")
    ago = now - bot.last_request_at
    if not ok:
        return _part(False, f"the last venue request failed {ago:.1f} s ago")
    return _part(True, f"the last venue request succeeded {ago:.1f} s ago")


def _store(bot: Any) -> Component:
    store = bot.store
    if store is None:
        return _part(False, "not open")
    if store.error:
        return _part(False, str(store.error))
    lease = bot.lease
    if lease is None:
        return _part(False, "no lease")
    if not lease.held:
        return _part(True, "healthy; standby (another instance holds the lease)")
    return _part(True, "healthy; lease held")


def _model(bot: Any) -> Component:
    stack = bot.stack
    if stack is None:
        return _part(False, "not loaded")
    st = stack.model_status()
    if st.demoted:
        return _part(False, f"{st.model} demoted (slow calls or errors): entries refused")
    if st.source == "model":
        return _part(True, st.model)
    if st.source == "fallback":
        why = f": {st.load_error}" if st.load_error else ""
        return _part(True, f"rule fallback{why}")
    return _part(False, f"{st.source}: {st.load_error or 'no model serves'}")
