"""Risk on the hot path: ``RiskGate.check_entry`` per entry signal, and the breaker feed per
trade and per book, against baselines in the same run.

* ``risk/check_entry_same_snapshot``: an approved, sized entry with the snapshot the
  execution side last built (the usual case between fills: conversions cached);
* ``risk/check_entry_new_snapshot``: a fresh snapshot (new equity Decimal) on every call,
  the worst case (one Decimal-to-float conversion and the daily loss in Decimal);
* ``risk/check_entry_denied``: a tripped breaker (the denial is prebuilt);
* baseline ``risk/order_intent``: building the ``OrderIntent`` that follows an approval,
  the least work the next step does;
* ``risk/breaker_on_trade`` and ``risk/breaker_on_book`` against
  ``features/engine_on_trade``, the per-trade work they sit next to.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from bench.conftest import RATIOS
from bitunix.features import FeatureEngine
from bitunix.model import ContractSpec, OrderIntent, Side
from bitunix.risk import ExposureSnapshot, RiskConfig, RiskGate, Sized

RATIOS.extend([
    ("check_entry (cached snapshot) vs OrderIntent", "risk/check_entry_same_snapshot",
     "risk/order_intent"),
    ("check_entry (new snapshot) vs OrderIntent", "risk/check_entry_new_snapshot",
     "risk/order_intent"),
    ("breaker on_trade vs FeatureEngine.on_trade", "risk/breaker_on_trade",
     "features/engine_on_trade"),
])

N = 1_000
BTC = ContractSpec(symbol="BTCUSDT", base="BTC", quote="USDT", price_decimals=1,
                   qty_decimals=4, min_qty=Decimal("0.0001"), max_limit_qty=Decimal("1000"),
                   max_market_qty=Decimal("500"))
NOW = 20_000 * 86_400 * 10**9
# The first mean-reversion entry of the bundled capture: 61839.1, stop 61852.3, target 61813.7.
PRICE, STOP, TARGET = 618391, 618522, 618138


def _snapshot(equity: str = "10000.00") -> ExposureSnapshot:
    return ExposureSnapshot(
        equity=Decimal(equity), day_start_equity=Decimal("10050.00"), utc_day=20_000,
        day_realized_pnl=Decimal("-35.5"), day_fees=Decimal("4.12"),
        day_funding=Decimal("0.3"), unrealized_pnl=Decimal("-10.08"),
        symbol_notional={"BTCUSDT": 0.0, "ETHUSDT": 480.0},
        symbol_pending={}, total_notional=480.0, open_orders=0)


def _gate() -> RiskGate:
    gate = RiskGate(RiskConfig())
    gate.symbol_breaker("BTCUSDT").on_book(3.0, 0.1, NOW)
    return gate


def test_order_intent_baseline(benchmark, record) -> None:
    def loop() -> None:
        for _ in range(N):
            OrderIntent(spec=BTC, side=Side.SELL, qty_steps=75, tp_ticks=TARGET,
                        sl_ticks=STOP, strategy="mean_reversion", reason="enter", ts_ns=NOW)

    benchmark(loop)
    record("risk/order_intent", benchmark, N)


@pytest.mark.parametrize("fresh", [False, True], ids=["same_snapshot", "new_snapshot"])
def test_check_entry(benchmark, record, fresh: bool) -> None:
    gate = _gate()
    snaps = [_snapshot(f"{10_000 + i / 100:.2f}") for i in range(N)] if fresh else [
        _snapshot()] * N
    check = gate.check_entry

    def loop() -> None:
        for snap in snaps:
            check(BTC, Side.SELL, price_ticks=PRICE, stop_ticks=STOP, target_ticks=TARGET,
                  probability=0.7, exposure=snap, now_ns=NOW)

    benchmark(loop)
    name = f"risk/check_entry_{'new' if fresh else 'same'}_snapshot"
    record(name, benchmark, N)
    verdict = check(BTC, Side.SELL, price_ticks=PRICE, stop_ticks=STOP, target_ticks=TARGET,
                    probability=0.7, exposure=snaps[0], now_ns=NOW)
    assert isinstance(verdict, Sized)
    assert 300 < verdict.notional < 500
    assert gate.denials.total == 0


def test_check_entry_denied(benchmark, record) -> None:
    gate = _gate()
    gate.symbol_breaker("BTCUSDT").on_book(99.0, 0.1, NOW)
    snap = _snapshot()
    check = gate.check_entry

    def loop() -> None:
        for _ in range(N):
            check(BTC, Side.SELL, price_ticks=PRICE, stop_ticks=STOP, target_ticks=TARGET,
                  probability=0.7, exposure=snap, now_ns=NOW)

    benchmark(loop)
    record("risk/check_entry_denied", benchmark, N)
    assert gate.denials["breaker_volatility"] >= N


def _trades() -> list[tuple[float, float, int, bool]]:
    return [(61_800.0 + (i % 7) * 0.1, 0.001 * (1 + i % 5), NOW + i * 50_000_000, i % 2 == 0)
            for i in range(N)]


def test_breaker_on_trade(benchmark, record) -> None:
    gate = RiskGate(RiskConfig())
    feed = gate.symbol_breaker("BTCUSDT").on_trade
    trades = _trades()

    def loop() -> None:
        for _, qty, ts, _ in trades:
            feed(qty, ts)

    benchmark(loop)
    record("risk/breaker_on_trade", benchmark, N)
    assert gate.breaker.tripped() == []


def test_breaker_on_book(benchmark, record) -> None:
    gate = RiskGate(RiskConfig())
    feed = gate.symbol_breaker("BTCUSDT").on_book
    books = [(3.0 + (i % 5), ((i % 9) - 4) / 10, NOW + i * 100_000_000) for i in range(N)]

    def loop() -> None:
        for vol, imb, ts in books:
            feed(vol, imb, ts)

    benchmark(loop)
    record("risk/breaker_on_book", benchmark, N)


def test_engine_on_trade_baseline(benchmark, record) -> None:
    trades = _trades()
    fe = FeatureEngine(tick_size=0.1)
    on_trade = fe.on_trade
    rounds = [0]
    span = N * 50_000_000

    def loop() -> None:
        # Later rounds move on in time: the engine refuses timestamps that go back.
        shift = rounds[0] * span
        rounds[0] += 1
        for price, qty, ts, buy in trades:
            on_trade(price, qty, ts + shift, buy)

    benchmark(loop)
    record("features/engine_on_trade", benchmark, N)
    assert fe.trades_rejected == 0


def test_snapshot_build(benchmark, record) -> None:
    """What the execution side pays to build a snapshot (for reference)."""
    def loop() -> None:
        for _ in range(N):
            _snapshot()

    benchmark(loop)
    record("risk/snapshot_build", benchmark, N)
    assert msgspec.structs.asdict(_snapshot())["utc_day"] == 20_000
