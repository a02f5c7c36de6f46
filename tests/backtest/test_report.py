"""build_report and write_outputs on hand-made inputs: every figure's definition, the
files' exact contents, and the same inputs giving the same bytes."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bitunix.backtest.report import ReportInputs, build_report, write_outputs
from bitunix.model import ContractSpec, Fill, Order, OrderStatus, OrderType, Side
from bitunix.model.records import RoundTrip

D = Decimal
S = 1_000_000_000
T0 = 1_723_075_200 * S  # 2024-08-08T00:00:00Z
SPEC = ContractSpec(symbol="BTCUSDT", base="BTC", quote="USDT", price_decimals=1,
                    qty_decimals=3, min_qty=D("0.001"))


def _fill(trade_id: str, side: Side, steps: int, ticks: int, ts_ns: int) -> Fill:
    return Fill(trade_id=trade_id, client_id=f"c-{trade_id}", venue_order_id=f"v-{trade_id}",
                spec=SPEC, side=side, qty_steps=steps, price_ticks=ticks, fee=D("0.1"),
                ts_ns=ts_ns)


ORDERS = [
    Order(client_id="bx-1", spec=SPEC, side=Side.BUY, qty_steps=100,
          order_type=OrderType.MARKET, status=OrderStatus.FILLED, venue_id="9001",
          filled_steps=100, avg_price=D("60000.1"), fee=D("3.600006"), created_ns=T0 + 5,
          updated_ns=T0 + 1_500_000, strategy="ovirx", reason="enter"),
    Order(client_id="bx-2", spec=SPEC, side=Side.SELL, qty_steps=100,
          order_type=OrderType.LIMIT, price_ticks=601_000, reduce_only=True,
          status=OrderStatus.CANCELED, created_ns=T0 + 61 * S, updated_ns=T0 + 62 * S,
          strategy="ovirx", reason="exit:target", reject_reason=""),
]
FILLS = [
    _fill("1", Side.BUY, 100, 600_001, T0 + 1_500_000),     # 0.100 x 60000.1 = 6000.01
    _fill("2", Side.SELL, 100, 601_000, T0 + 130 * S),      # 0.100 x 60100.0 = 6010.00
]
TRIP = RoundTrip(symbol="BTCUSDT", strategy="ovirx", direction=1, qty=D("0.100"),
                 entry_price=D("60000.1"), exit_price=D("60100.0"), entry_ns=T0 + 1_500_000,
                 exit_ns=T0 + 130 * S, reason="target", gross_pnl=D("9.990"),
                 fees=D("7.206006"), funding=D("0.600501"))


def inputs(**changes: Any) -> ReportInputs:
    base: dict[str, Any] = {
        "balance": D("10000"),
        "sampling_interval_s": 60.0,
        "equity": [(T0, D("10000")), (T0 + 60 * S, D("10004.123456789")),
                   (T0 + 120 * S, D("9990.5")), (T0 + 180 * S, D("10002.183493"))],
        "notional": [(T0, D(0)), (T0 + 60 * S, D("6004.1")), (T0 + 120 * S, D("6001.2")),
                     (T0 + 180 * S, D(0))],
        "prices": {"BTCUSDT": [(T0, 60000.1), (T0 + 60 * S, 60041.0),
                               (T0 + 120 * S, 60012.0), (T0 + 180 * S, 60100.0)]},
        "orders": ORDERS,
        "fills": FILLS,
        "trips": [TRIP],
        "fees": D("7.206006"),
        "funding": D("0.600501"),
        "final_equity": D("10002.183493"),
        "facts": {"seed": 7, "notes": ["a note"], "derived_books": {}},
    }
    base.update(changes)
    return ReportInputs(**base)


def test_exposure_is_the_fraction_of_intervals_that_start_with_an_open_position() -> None:
    report = build_report(inputs())
    # Three intervals; the ones starting at T0+60 s and T0+120 s hold a position.
    assert report["exposure"] == pytest.approx(2 / 3, rel=1e-12)
    flat = build_report(inputs(notional=[(ts, D(0)) for ts, _ in inputs().equity]))
    assert flat["exposure"] == 0.0
    # The last sample starts no interval: a position open only there is not exposure.
    last = build_report(inputs(notional=[(T0, D(0)), (T0 + 60 * S, D(0)),
                                         (T0 + 120 * S, D(0)), (T0 + 180 * S, D(5))]))
    assert last["exposure"] == 0.0
    always = build_report(inputs(notional=[(ts, D(1)) for ts, _ in inputs().equity]))
    assert always["exposure"] == 1.0


def test_turnover_is_traded_notional_over_the_starting_balance() -> None:
    report = build_report(inputs())
    assert report["turnover_usdt"] == "12010.0100"  # 6000.0100 + 6010.0000, exact
    assert report["turnover"] == pytest.approx(1.201001, rel=1e-12)
    doubled = build_report(inputs(balance=D("20000")))
    assert doubled["turnover"] == pytest.approx(0.6005005, rel=1e-12)


def test_money_is_exact_decimal_strings_and_counts_are_counted() -> None:
    report = build_report(inputs())
    assert report["fees"] == "7.206006"
    assert report["funding"] == "0.600501"
    assert report["pnl"] == "2.183493"
    assert report["start_equity"] == "10000"
    assert report["final_equity"] == "10002.183493"
    assert report["avg_trade"] == "2.183493"  # 9.990 - 7.206006 - 0.600501
    assert (report["trades"], report["orders"], report["fills"]) == (1, 2, 2)
    assert report["win_rate"] == 1.0
    assert report["profit_factor"] is None  # no losing trade
    assert report["periods"] == 3
    assert report["sampling_interval_s"] == 60.0
    assert report["annualization_factor"] == 525_600.0
    # The facts are passed through after the figures.
    assert report["seed"] == 7
    assert report["notes"] == ["a note"]
    assert list(report)[:3] == ["total_return", "sharpe", "sortino"]


def test_ratios_are_rounded_to_12_significant_digits() -> None:
    report = build_report(inputs())
    assert report["total_return"] == 0.0002183493
    assert report["max_drawdown"] == float(f"{1 - 9990.5 / 10004.123456789:.12g}")
    for key in ("sharpe", "sortino", "volatility", "annual_return", "calmar"):
        value = report[key]
        assert isinstance(value, float), key
        assert float(f"{value:.12g}") == value, key


def test_undefined_figures_are_json_null(tmp_path: Path) -> None:
    flat = inputs(equity=[(T0 + i * 60 * S, D("10000")) for i in range(4)], trips=[],
                  fills=[], orders=[], fees=D(0), funding=D(0), final_equity=D("10000"))
    report = build_report(flat)
    write_outputs(tmp_path, flat, report, plots=False)
    text = (tmp_path / "report.json").read_text()
    written = json.loads(text)
    for key in ("sharpe", "sortino", "calmar", "win_rate", "profit_factor", "avg_trade"):
        assert written[key] is None, key
        assert f'"{key}": null' in text
    assert "Infinity" not in text
    assert "NaN" not in text
    assert written["trades"] == 0
    assert written["turnover"] == 0.0
    assert written["max_drawdown"] == 0.0


def test_csv_headers_and_exact_decimals(tmp_path: Path) -> None:
    data = inputs()
    written = write_outputs(tmp_path, data, build_report(data), plots=False)
    assert [p.name for p in written] == ["report.json", "equity.csv", "trades.csv",
                                         "orders.csv"]
    assert (tmp_path / "equity.csv").read_text() == (
        "timestamp,equity\n"
        "2024-08-08T00:00:00.000000Z,10000\n"
        "2024-08-08T00:01:00.000000Z,10004.123456789\n"
        "2024-08-08T00:02:00.000000Z,9990.5\n"
        "2024-08-08T00:03:00.000000Z,10002.183493\n")
    with (tmp_path / "trades.csv").open(newline="") as fh:
        trades = list(csv.DictReader(fh))
    assert trades == [{
        "symbol": "BTCUSDT", "strategy": "ovirx", "side": "long", "qty": "0.100",
        "entry_time": "2024-08-08T00:00:00.001500Z", "entry_price": "60000.1",
        "exit_time": "2024-08-08T00:02:10.000000Z", "exit_price": "60100.0",
        "reason": "target", "gross_pnl": "9.990", "fees": "7.206006", "funding": "0.600501",
        "net_pnl": "2.183493"}]
    with (tmp_path / "orders.csv").open(newline="") as fh:
        orders = list(csv.DictReader(fh))
    assert list(orders[0]) == [
        "client_id", "venue_id", "symbol", "side", "type", "qty", "price", "reduce_only",
        "status", "filled_qty", "avg_price", "fee", "created", "updated", "strategy",
        "reason", "reject_reason"]
    assert orders[0] == {
        "client_id": "bx-1", "venue_id": "9001", "symbol": "BTCUSDT", "side": "BUY",
        "type": "MARKET", "qty": "0.100", "price": "", "reduce_only": "False",
        "status": "FILLED", "filled_qty": "0.100", "avg_price": "60000.1",
        "fee": "3.600006", "created": "2024-08-08T00:00:00.000000Z",
        "updated": "2024-08-08T00:00:00.001500Z", "strategy": "ovirx", "reason": "enter",
        "reject_reason": ""}
    assert (orders[1]["venue_id"], orders[1]["type"], orders[1]["price"],
            orders[1]["reduce_only"], orders[1]["status"], orders[1]["filled_qty"],
            orders[1]["avg_price"]) == ("", "LIMIT", "60100.0", "True", "CANCELED", "0.000",
                                        "")


def test_a_short_round_trip_says_short(tmp_path: Path) -> None:
    short = RoundTrip(symbol="BTCUSDT", strategy="mean_reversion", direction=-1,
                      qty=D("0.002"), entry_price=D("60000.0"), exit_price=D("60010.0"),
                      entry_ns=T0, exit_ns=T0 + S, reason="stop", gross_pnl=D("-0.020"),
                      fees=D("0.072"), funding=D(0))
    data = inputs(trips=[short])
    report = build_report(data)
    assert report["avg_trade"] == "-0.092"
    assert report["profit_factor"] == 0.0
    write_outputs(tmp_path, data, report, plots=False)
    rows = list(csv.reader((tmp_path / "trades.csv").read_text().splitlines()))
    assert rows[1][:4] == ["BTCUSDT", "mean_reversion", "short", "0.002"]
    assert rows[1][-1] == "-0.092"


def test_plots_and_html_are_written_unless_turned_off(tmp_path: Path) -> None:
    data = inputs()
    report = build_report(data)
    written = write_outputs(tmp_path / "with", data, report)
    assert [p.name for p in written] == [
        "report.json", "equity.csv", "trades.csv", "orders.csv", "equity.png", "trades.png",
        "report.html"]
    for name in ("equity.png", "trades.png"):
        assert (tmp_path / "with" / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    page = (tmp_path / "with" / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    # Self-contained: the plots are inside, nothing is fetched.
    assert page.count('src="data:image/png;base64,') == 2
    assert "http://" not in page
    assert "https://" not in page
    assert "<li>a note</li>" in page
    assert "<th>fees</th><td>&quot;7.206006&quot;</td>" in page
    assert "<td>target</td><td>2.183493</td>" in page
    write_outputs(tmp_path / "without", data, report, plots=False)
    assert sorted(p.name for p in (tmp_path / "without").iterdir()) == [
        "equity.csv", "orders.csv", "report.json", "trades.csv"]


def test_a_report_without_prices_or_trips_still_plots(tmp_path: Path) -> None:
    data = inputs(prices={}, trips=[], fills=[], orders=[])
    write_outputs(tmp_path, data, build_report(data))
    assert (tmp_path / "trades.png").read_bytes().startswith(b"\x89PNG")


def test_html_escapes_what_it_shows(tmp_path: Path) -> None:
    data = inputs(facts={"notes": ["<script>alert(1)</script>"], "label": "a<b"})
    write_outputs(tmp_path, data, build_report(data))
    page = (tmp_path / "report.html").read_text()
    assert "<script>" not in page
    assert "&lt;script&gt;" in page


def test_same_inputs_write_the_same_bytes(tmp_path: Path) -> None:
    data = inputs()
    first = write_outputs(tmp_path / "a", data, build_report(data))
    second = write_outputs(tmp_path / "b", inputs(), build_report(inputs()))
    assert [p.name for p in first] == [p.name for p in second]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    # And a different run does not: the comparison above can fail.
    other = inputs(final_equity=D("10002.183494"))
    third = write_outputs(tmp_path / "c", other, build_report(other))
    assert third[0].read_bytes() != first[0].read_bytes()


def test_rewriting_into_the_same_folder_replaces_the_files(tmp_path: Path) -> None:
    data = inputs()
    write_outputs(tmp_path, data, build_report(data), plots=False)
    flat = inputs(trips=[])
    write_outputs(tmp_path, flat, build_report(flat), plots=False)
    assert (tmp_path / "trades.csv").read_text().count("\n") == 1  # the header only
