"""The live view's picture of a run: :func:`render_live` (snapshot in, rich renderable out).

The snapshot is the dashboard's (:meth:`bitunix.obs.snapshot.DashboardState.snapshot`):
plain JSON-ready values, money as exact decimal strings, shown as they are (never through
a float). Nothing here reads the bot, so the picture of a snapshot is the same every time
and is tested by rendering into a string.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

__all__ = ["render_live"]

#: Rows of the signals table (the view should fit a 24-line terminal).
SIGNAL_ROWS = 5


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", expand=False, pad_edge=False,
                  show_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")  # a narrow terminal wraps, never cuts
    return table


def _us(value: object) -> str:
    return "-" if value is None else f"{float(str(value)):.1f}"


def _when(ts_ms: object) -> str:
    seconds = int(str(ts_ms)) // 1000
    return time.strftime("%H:%M:%S", time.gmtime(seconds))


def _header(snap: Mapping[str, Any], uptime_s: float | None) -> Text:
    model = snap.get("model") or {}
    parts = [f"mode {snap.get('mode')}", f"venue {snap.get('venue')}",
             "symbols " + ",".join(snap.get("symbols", []))]
    if model:
        parts.append(f"model {model.get('model') or 'none'} ({model.get('source')})")
    if uptime_s is not None:
        parts.append(f"up {uptime_s:.0f} s")
    return Text("bitunix-bot  " + "  |  ".join(parts), style="bold")


def _account(snap: Mapping[str, Any]) -> RenderableType:
    account = snap.get("account")
    if not account:
        return Text("account: no orders are sent in this mode")
    rows = [("equity", account["equity"] or "-", "pnl", account["pnl_total"]),
            ("realised", account["pnl_realized"], "unrealised", account["pnl_unrealized"]),
            ("fees", account["fees"], "funding", account["funding"]),
            ("day pnl", account["pnl_day"], "orders/fills/trips",
             f"{account['orders']}/{account['fills']}/{account['round_trips']}")]
    grid = Table.grid(padding=(0, 1))
    for i, style in enumerate(("bold", "", "bold", "")):
        # As wide as its widest value: money is not folded while the terminal allows.
        grid.add_column(style=style, overflow="fold",
                        min_width=max(len(str(row[i])) for row in rows))
    for row in rows:
        grid.add_row(*row)
    return grid


def _positions(rows: Sequence[Mapping[str, Any]]) -> RenderableType:
    if not rows:
        return Text("positions: flat")
    table = _table("Positions", "symbol", "qty", "avg entry", "mark", "unrealised",
                   "notional")
    for row in rows:
        table.add_row(row["symbol"], row["qty"], row["avg_entry"] or "-", row["mark"] or "-",
                      row["unrealized"] or "-", row["notional"])
    return table


def _orders(rows: Sequence[Mapping[str, Any]]) -> RenderableType:
    if not rows:
        return Text("open orders: none")
    table = _table("Open orders", "client id", "symbol", "side", "qty", "status", "")
    for row in rows:
        table.add_row(row["client_id"], row["symbol"], row["side"], row["qty"], row["status"],
                      "reduce-only" if row["reduce_only"] else "")
    return table


def _signals(rows: Sequence[Mapping[str, Any]]) -> RenderableType:
    if not rows:
        return Text("signals: none yet")
    table = _table("Recent signals", "time", "symbol", "strategy", "dir", "prob", "source",
                   "outcome")
    for row in list(rows)[:SIGNAL_ROWS]:
        denied = str(row["outcome"]).startswith("denied")
        table.add_row(_when(row["ts_ms"]), row["symbol"], row["strategy"],
                      "long" if row["direction"] > 0 else "short", f"{row['probability']:.4f}",
                      row["source"], Text(str(row["outcome"]), style="red" if denied else ""))
    return table


def _risk(risk: Mapping[str, Any]) -> RenderableType:
    lines = []
    if risk.get("kill_switch"):
        lines.append(Text(f"kill switch ENGAGED ({risk.get('kill_reason') or 'no reason'})",
                          style="bold red"))
    else:
        lines.append(Text("kill switch off", style="green"))
    breakers = risk.get("breakers") or []
    if breakers:
        shown = ", ".join(f"{b['kind']}" + (f" on {b['symbol']}" if b["symbol"] else "")
                          for b in breakers)
        lines.append(Text(f"breakers tripped: {shown}", style="bold red"))
    else:
        lines.append(Text("breakers: none tripped", style="green"))
    if risk.get("daily_loss_stop"):
        lines.append(Text("daily loss limit reached: entries stopped for the day",
                          style="bold red"))
    denials = risk.get("denials") or {}
    lines.append(Text("denials: " + (", ".join(f"{k} {v}" for k, v in sorted(denials.items()))
                                     or "none")))
    return Group(*lines)


def _latency(latency: Mapping[str, Any]) -> RenderableType:
    table = _table("Latency (us)", "path", "p50", "p99", "samples")
    for name, label in (("tick_to_order", "tick -> order"),
                        ("decision_to_order", "decision -> order")):
        ring = latency.get(name) or {}
        table.add_row(label, _us(ring.get("p50_us")), _us(ring.get("p99_us")),
                      str(ring.get("count", 0)))
    return table


def _connections(ready: Mapping[str, Any]) -> RenderableType:
    table = _table("Connections", "component", "state", "detail")
    for name, part in (ready.get("components") or {}).items():
        ok = bool(part["ok"])
        table.add_row(name, Text("ok" if ok else "DOWN", style="green" if ok else "bold red"),
                      str(part["detail"]))
    return table


def render_live(snap: Mapping[str, Any], *, uptime_s: float | None = None) -> RenderableType:
    """The live view of ``snap`` (a dashboard snapshot): header, PnL, positions, open
    orders, recent signals and denials, risk state, latency percentiles, connections."""
    bottom = Table.grid(padding=(0, 4))
    bottom.add_column()
    bottom.add_column()
    bottom.add_row(_latency(snap.get("latency") or {}),
                   _connections(snap.get("ready") or {}))
    return Group(
        _header(snap, uptime_s),
        _account(snap),
        _risk(snap.get("risk") or {}),
        _positions(snap.get("positions") or []),
        _orders(snap.get("open_orders") or []),
        _signals(snap.get("decisions") or []),
        bottom,
    )
