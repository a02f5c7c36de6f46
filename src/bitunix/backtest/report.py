"""A backtest's output folder: ``report.json``, ``equity.csv``, ``trades.csv``,
``orders.csv``, two PNG plots and one self-contained ``report.html``.

Every file is a function of the run's records only (no wall-clock time, no host name), so
the same run writes the same bytes: the speed of the run goes to the terminal, not here.
Money in the CSV files is the exact decimal the books hold; ``report.json`` gives money as
exact decimal strings too, and the ratios as numbers (``null`` where undefined).
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from bitunix.backtest.metrics import performance, trade_figures
from bitunix.model import Fill, Order
from bitunix.model.records import RoundTrip

__all__ = ["ReportInputs", "build_report", "write_outputs"]

_NS = 1_000_000_000


@dataclass(frozen=True)
class ReportInputs:
    """What the report is computed from (a backtest's exact records)."""

    balance: Decimal
    sampling_interval_s: float
    equity: Sequence[tuple[int, Decimal]]
    notional: Sequence[tuple[int, Decimal]]
    prices: Mapping[str, Sequence[tuple[int, float]]]
    orders: Sequence[Order]
    fills: Sequence[Fill]
    trips: Sequence[RoundTrip]
    fees: Decimal
    funding: Decimal
    final_equity: Decimal
    facts: Mapping[str, Any]


def _num(value: float | None) -> float | None:
    """A float rounded to 12 significant digits (the last bits of a float reduction
    differ between CPUs; the report must not), None kept."""
    if value is None or not math.isfinite(value):
        return None
    return float(f"{value:.12g}")


def build_report(inputs: ReportInputs) -> dict[str, Any]:
    """The ``report.json`` document."""
    curve = [float(e) for _, e in inputs.equity]
    perf = performance(curve, inputs.sampling_interval_s)
    trips = trade_figures([t.net_pnl for t in inputs.trips])
    turnover_usdt = sum((f.price * f.qty for f in inputs.fills), Decimal(0))
    exposed = sum(1 for _, n in inputs.notional[:-1] if n > 0)
    intervals = max(1, len(inputs.notional) - 1)
    pnl = inputs.final_equity - inputs.balance
    return {
        "total_return": _num(perf.total_return),
        "sharpe": _num(perf.sharpe),
        "sortino": _num(perf.sortino),
        "max_drawdown": _num(perf.max_drawdown),
        "calmar": _num(perf.calmar),
        "annual_return": _num(perf.annual_return),
        "volatility": _num(perf.volatility),
        "win_rate": _num(trips.win_rate),
        "profit_factor": _num(trips.profit_factor),
        "avg_trade": None if trips.avg_trade is None else str(trips.avg_trade),
        "exposure": _num(exposed / intervals),
        "fees": str(inputs.fees),
        "funding": str(inputs.funding),
        "turnover": _num(float(turnover_usdt / inputs.balance)),
        "turnover_usdt": str(turnover_usdt),
        "trades": trips.trades,
        "orders": len(inputs.orders),
        "fills": len(inputs.fills),
        "pnl": str(pnl),
        "start_equity": str(inputs.balance),
        "final_equity": str(inputs.final_equity),
        "sampling_interval_s": inputs.sampling_interval_s,
        "annualization_factor": _num(perf.annualization_factor),
        "periods": perf.periods,
        **inputs.facts,
    }


def _iso(ts_ns: int) -> str:
    import datetime as dt

    seconds, ns = divmod(ts_ns, _NS)
    stamp = dt.datetime.fromtimestamp(seconds, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{ns // 1000:06d}Z"


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_outputs(out: Path, inputs: ReportInputs, report: Mapping[str, Any], *,
                  plots: bool = True) -> list[Path]:
    """Write every output file into ``out`` (created); return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "report.json", out / "equity.csv", out / "trades.csv", out / "orders.csv"]
    written[0].write_text(json.dumps(report, indent=2, sort_keys=False) + "\n",
                          encoding="utf-8")
    _write_csv(written[1], ("timestamp", "equity"),
               ((_iso(ts), str(e)) for ts, e in inputs.equity))
    _write_csv(written[2], (
        "symbol", "strategy", "side", "qty", "entry_time", "entry_price", "exit_time",
        "exit_price", "reason", "gross_pnl", "fees", "funding", "net_pnl"), (
        (t.symbol, t.strategy, "long" if t.direction > 0 else "short", t.qty,
         _iso(t.entry_ns), t.entry_price, _iso(t.exit_ns), t.exit_price, t.reason,
         t.gross_pnl, t.fees, t.funding, t.net_pnl) for t in inputs.trips))
    _write_csv(written[3], (
        "client_id", "venue_id", "symbol", "side", "type", "qty", "price", "reduce_only",
        "status", "filled_qty", "avg_price", "fee", "created", "updated", "strategy",
        "reason", "reject_reason"), (
        (o.client_id, o.venue_id or "", o.spec.symbol, o.side.value, o.order_type.value,
         o.spec.format_qty(o.qty_steps),
         "" if o.price_ticks is None else o.spec.format_price(o.price_ticks),
         o.reduce_only, o.status.value, o.spec.format_qty(o.filled_steps),
         "" if o.avg_price is None else o.avg_price, o.fee, _iso(o.created_ns),
         _iso(o.updated_ns), o.strategy, o.reason, o.reject_reason)
        for o in inputs.orders))
    if plots:
        written += _write_plots(out, inputs, report)
    return written


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    # No timestamps or software version in the file: the same figure, the same bytes.
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return buf.getvalue()


def _write_plots(out: Path, inputs: ReportInputs, report: Mapping[str, Any]) -> list[Path]:
    # The object API on the Agg canvas, not pyplot: no GUI backend probing, no global
    # figure registry, and less memory at the end of a long run.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    times = [ts / _NS for ts, _ in inputs.equity]
    t0 = times[0] if times else 0.0
    hours = [(t - t0) / 3600 for t in times]
    equity = [float(e) for _, e in inputs.equity]
    peak: list[float] = []
    for e in equity:
        peak.append(max(e, peak[-1]) if peak else e)
    drawdown = [-(1 - e / p) * 100 if p > 0 else 0.0 for e, p in zip(equity, peak, strict=True)]

    fig = Figure(figsize=(10, 6))
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax1.plot(hours, equity, color="#1f77b4", linewidth=1.2)
    ax1.set_ylabel("equity (USDT)")
    ax1.set_title("Equity")
    ax1.grid(alpha=0.3)
    ax2.fill_between(hours, drawdown, 0, color="#d62728", alpha=0.4)
    ax2.set_ylabel("drawdown (%)")
    ax2.set_xlabel("hours from start")
    ax2.grid(alpha=0.3)
    fig.tight_layout()
    equity_png = _png(fig)

    symbols = list(inputs.prices)
    fig = Figure(figsize=(10, 3.5 * max(1, len(symbols))))
    FigureCanvasAgg(fig)
    axes = fig.subplots(max(1, len(symbols)), 1, squeeze=False)
    for ax, symbol in zip(axes[:, 0], symbols or [""], strict=True):
        series = inputs.prices.get(symbol, [])
        ax.plot([(ts / _NS - t0) / 3600 for ts, _ in series], [p for _, p in series],
                color="#555555", linewidth=0.8, label=f"{symbol} last price")
        trips = [t for t in inputs.trips if t.symbol == symbol]
        for marker, color, pick in (("^", "#2ca02c", 1), ("v", "#d62728", -1)):
            xs = [(t.entry_ns / _NS - t0) / 3600 for t in trips if t.direction == pick]
            ys = [float(t.entry_price) for t in trips if t.direction == pick]
            ax.scatter(xs, ys, marker=marker, color=color, s=36, zorder=3,
                       label="long entry" if pick > 0 else "short entry")
        ax.scatter([(t.exit_ns / _NS - t0) / 3600 for t in trips],
                   [float(t.exit_price) for t in trips], marker="x", color="#000000", s=30,
                   zorder=3, label="exit")
        ax.set_ylabel("price")
        ax.set_title(f"Trades on price: {symbol}")
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
    axes[-1, 0].set_xlabel("hours from start")
    fig.tight_layout()
    trades_png = _png(fig)

    paths = [out / "equity.png", out / "trades.png", out / "report.html"]
    paths[0].write_bytes(equity_png)
    paths[1].write_bytes(trades_png)
    paths[2].write_text(_html(report, inputs, equity_png, trades_png), encoding="utf-8")
    return paths


def _html(report: Mapping[str, Any], inputs: ReportInputs, equity_png: bytes,
          trades_png: bytes) -> str:
    def img(data: bytes, alt: str) -> str:
        return (f'<img alt="{alt}" src="data:image/png;base64,'
                f'{base64.b64encode(data).decode()}">')

    rows = "\n".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(json.dumps(v))}</td></tr>"
        for k, v in report.items() if not isinstance(v, dict | list))
    trips = "\n".join(
        "<tr>" + "".join(f"<td>{html.escape(str(x))}</td>" for x in (
            t.symbol, "long" if t.direction > 0 else "short", t.qty, _iso(t.entry_ns),
            t.entry_price, _iso(t.exit_ns), t.exit_price, t.reason, t.net_pnl)) + "</tr>"
        for t in inputs.trips[:500])
    notes = "".join(f"<li>{html.escape(str(n))}</li>" for n in report.get("notes", []))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>bitunix-bot backtest report</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:3px 8px;
text-align:left;font-size:13px}}img{{max-width:100%}}</style></head><body>
<h1>Backtest report</h1>
<ul>{notes}</ul>
<h2>Figures</h2><table>{rows}</table>
<h2>Equity and drawdown</h2>{img(equity_png, "equity and drawdown")}
<h2>Trades on price</h2>{img(trades_png, "trades on price")}
<h2>Round trips (first 500)</h2><table><tr><th>symbol</th><th>side</th><th>qty</th>
<th>entry time</th><th>entry</th><th>exit time</th><th>exit</th><th>reason</th>
<th>net PnL</th></tr>{trips}</table>
</body></html>
"""
