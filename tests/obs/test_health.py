"""Readiness of each component, from the run's state, in every state it can be in (the
live paths are in test_metrics; here the ones a short paper run never reaches)."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace as Ns
from typing import Any

import pytest

from bitunix.obs.health import LoopBeat, readiness


def ws(state: str = "live") -> Ns:
    return Ns(state=Ns(value=state), stats=Ns(reconnects=2))


def model(source: str = "model", *, demoted: bool = False, load_error: str = "") -> Ns:
    status = Ns(model="m@1" if source == "model" else "", source=source, demoted=demoted,
                load_error=load_error)
    return Ns(model_status=lambda: status)


def bot(**changes: Any) -> Ns:
    base: dict[str, Any] = {
        "ws": ws(), "pipeline": Ns(stats=Ns(last_push_monotonic=99.0)),
        "venue": Ns(ws=ws()), "mode": Ns(value="paper"),
        "lease": Ns(held=True), "last_request_ok": True, "last_request_at": 98.0,
        "store": Ns(error=""), "stack": model()}
    base.update(changes)
    return Ns(**base)


def check(b: Ns, component: str) -> tuple[bool, str]:
    ready, parts = readiness(b, stale_after_s=5.0, now=100.0)
    part = parts[component]
    assert ready == all(p["ok"] for p in parts.values())
    return bool(part["ok"]), str(part["detail"])


def test_everything_ready() -> None:
    ready, parts = readiness(bot(), stale_after_s=5.0, now=100.0)
    assert ready
    assert parts["feed"]["detail"] == "live, last push 1.00 s ago"
    assert parts["rest"]["detail"] == "the last venue request succeeded 2.0 s ago"
    assert parts["store"]["detail"] == "healthy; lease held"
    assert parts["model"]["detail"] == "m@1"


@pytest.mark.parametrize(("changes", "component", "ok", "detail"), [
    ({"ws": None}, "feed", False, "market data not subscribed yet"),
    ({"ws": ws("backoff")}, "feed", False, "public stream backoff (2 reconnects)"),
    ({"pipeline": Ns(stats=Ns(last_push_monotonic=0.0))}, "feed", False,
     "subscribed; no market data yet"),
    ({"pipeline": Ns(stats=Ns(last_push_monotonic=90.0))}, "feed", False,
     "stale: no market push for 10.0 s (limit 5 s)"),
    ({"venue": None, "mode": Ns(value="dry-run")}, "private_stream", True,
     "dry-run: no private stream"),
    ({"lease": Ns(held=False)}, "private_stream", True,
     "standby: not connected until the lease is taken over"),
    ({"venue": Ns(ws=ws("connecting"))}, "private_stream", False,
     "private stream connecting"),
    ({"last_request_ok": None}, "rest", True,
     "no venue request since start-up (the contracts were read)"),
    ({"last_request_ok": False, "last_request_at": 97.5}, "rest", False,
     "the last venue request failed 2.5 s ago"),
    ({"store": None}, "store", False, "not open"),
    ({"store": Ns(error="store x: write failed: locked")}, "store", False,
     "store x: write failed: locked"),
    ({"lease": None}, "store", False, "no lease"),
    ({"lease": Ns(held=False)}, "store", True,
     "healthy; standby (another instance holds the lease)"),
    ({"stack": None}, "model", False, "not loaded"),
    ({"stack": model(demoted=True)}, "model", False,
     "m@1 demoted (slow calls or errors): entries refused"),
    ({"stack": model("fallback")}, "model", True, "rule fallback"),
    ({"stack": model("fallback", load_error="no model in the registry")}, "model", True,
     "rule fallback: no model in the registry"),
    ({"stack": model("refused", load_error="bad onnx")}, "model", False, "refused: bad onnx"),
    ({"stack": model("refused")}, "model", False, "refused: no model serves"),
])
def test_each_component_state(changes: dict[str, Any], component: str, ok: bool,
                              detail: str) -> None:
    assert check(bot(**changes), component) == (ok, detail)


async def test_the_loop_beat_measures_lag_and_stops() -> None:
    beat = LoopBeat(period_s=0.02)
    beat.start()
    await asyncio.sleep(0.1)
    assert beat.beats >= 2
    assert beat.age_s() < 0.1
    time.sleep(0.1)  # a blocked loop: the next beat is late
    await asyncio.sleep(0.03)
    assert beat.max_lag_s >= 0.07
    beat.stop()
    beats = beat.beats
    await asyncio.sleep(0.06)
    assert beat.beats == beats
    beat.stop()  # twice is fine
