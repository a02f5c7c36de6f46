"""render_live: every value of the snapshot is shown as it is."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from bitunix.ui import render_live

SNAP: dict[str, Any] = {
    "mode": "paper", "venue": "sim", "symbols": ["BTCUSDT", "ETHUSDT"],
    "model": {"model": "ovirx-gbm@b156c2cc3e33", "source": "model"},
    "account": {"equity": "9999.12215063", "pnl_total": "-0.377849370",
                "pnl_realized": "-0.877849370", "pnl_unrealized": "0.500000000",
                "fees": "1.192979370", "funding": "0.0012", "pnl_day": "-0.377849370",
                "orders": 7, "fills": 11, "round_trips": 3},
    "positions": [{"symbol": "BTCUSDT", "qty": "-0.0020", "avg_entry": "97012.3",
                   "mark": "96987.1", "unrealized": "0.05040", "notional": "193.9742"}],
    "open_orders": [{"client_id": "bx-1796234252603-17", "symbol": "BTCUSDT",
                     "side": "BUY", "status": "NEW", "qty": "0.0020", "reduce_only": True}],
    "decisions": [
        {"ts_ms": 1_796_234_252_603, "symbol": "BTCUSDT", "strategy": "mean_reversion",
         "direction": -1, "probability": 0.6125, "source": "rules", "outcome": "order"},
        {"ts_ms": 1_796_234_253_000, "symbol": "ETHUSDT", "strategy": "ovirx",
         "direction": 1, "probability": 0.71, "source": "model",
         "outcome": "denied:exposure_total"}],
    "risk": {"kill_switch": True, "kill_reason": "operator at 18:02",
             "daily_loss_stop": True,
             "breakers": [{"kind": "breaker_volatility", "symbol": "ETHUSDT"}],
             "denials": {"exposure_total": 4, "kill_switch": 2}},
    "latency": {"tick_to_order": {"p50_us": 425.25, "p99_us": 1210.0, "count": 42},
                "decision_to_order": {"p50_us": None, "p99_us": None, "count": 0}},
    "ready": {"ok": False, "components": {
        "feed": {"ok": True, "detail": "live, last push 0.12 s ago"},
        "private_stream": {"ok": False, "detail": "private stream reconnecting"}}},
}


def _text(snap: dict[str, Any], width: int = 200, **kw: Any) -> str:
    console = Console(record=True, width=width, file=io.StringIO(), color_system=None)
    console.print(render_live(snap, **kw))
    return console.export_text()


def test_every_value_of_the_snapshot_is_shown() -> None:
    text = _text(SNAP, uptime_s=61.4)
    assert ("bitunix-bot  mode paper  |  venue sim  |  symbols BTCUSDT,ETHUSDT  |  model "
            "ovirx-gbm@b156c2cc3e33 (model)  |  up 61 s") in text
    account = SNAP["account"]
    for key in ("equity", "pnl_total", "pnl_realized", "pnl_unrealized", "fees", "funding",
                "pnl_day"):
        assert account[key] in text, key
    assert "orders/fills/trips 7/11/3" in text
    for value in SNAP["positions"][0].values():
        assert value in text
    order = SNAP["open_orders"][0]
    assert f"{order['client_id']} │ BTCUSDT │ BUY  │ 0.0020 │ NEW    │ reduce-only" in text
    assert "17:57:32 │ BTCUSDT │ mean_reversion │ short │ 0.6125 │ rules  │ order" in text
    assert "│ ETHUSDT │ ovirx          │ long  │ 0.7100 │ model  │ denied:exposure_total" in text
    assert "kill switch ENGAGED (operator at 18:02)" in text
    assert "breakers tripped: breaker_volatility on ETHUSDT" in text
    assert "daily loss limit reached" in text
    assert "denials: exposure_total 4, kill_switch 2" in text
    assert "tick -> order     │ 425.2 │ 1210.0 │ 42" in text
    assert "decision -> order │ -     │ -      │ 0" in text
    assert "feed           │ ok    │ live, last push 0.12 s ago" in text
    assert "private_stream │ DOWN  │ private stream reconnecting" in text


def test_a_quiet_start_and_a_dry_run() -> None:
    snap = {**SNAP, "account": None, "positions": [], "open_orders": [], "decisions": [],
            "risk": {"kill_switch": False, "breakers": [], "denials": {}}, "model": None}
    text = _text(snap)
    assert "account: no orders are sent in this mode" in text
    assert "positions: flat" in text
    assert "open orders: none" in text
    assert "signals: none yet" in text
    assert "kill switch off" in text
    assert "breakers: none tripped" in text
    assert "denials: none" in text
    assert "model" not in text.splitlines()[0]


def test_a_narrow_terminal_wraps_values_and_never_cuts_them() -> None:
    narrow = _text(SNAP, width=60)
    assert "…" not in narrow
    assert max(len(line) for line in narrow.splitlines()) <= 60
    for value in SNAP["account"].values():  # the PnL fits 60 columns whole
        assert str(value) in narrow
    text = _text(SNAP, width=100)  # a common terminal: every value whole
    for value in ("9999.12215063", "-0.877849370", "bx-1796234252603-17", "97012.3",
                  "denied:exposure_total", "private stream reconnecting"):
        assert value in text


def test_only_the_latest_signals_are_shown() -> None:
    rows = [{**SNAP["decisions"][0], "strategy": f"s{i}"} for i in range(9)]
    text = _text({**SNAP, "decisions": rows})
    assert [f"s{i}" in text for i in range(9)] == [True] * 5 + [False] * 4
