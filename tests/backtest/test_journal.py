"""BacktestJournal: a run's records in memory, in order; feedback passed on."""

from __future__ import annotations

from decimal import Decimal

from bitunix.backtest.journal import BacktestJournal
from bitunix.execution import TradeFeedback
from bitunix.model import ContractSpec, Fill, Order, OrderStatus, Position, Side
from bitunix.model.records import AuditEntry, Decision, RoundTrip

D = Decimal
SPEC = ContractSpec(symbol="BTCUSDT", base="BTC", quote="USDT", price_decimals=1,
                    qty_decimals=3, min_qty=D("0.001"))
ETH = ContractSpec(symbol="ETHUSDT", base="ETH", quote="USDT", price_decimals=2,
                   qty_decimals=2, min_qty=D("0.01"))


class Recorder:
    """The strategies' side of the feedback: what reached it, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, ...]] = []

    def on_entry_filled(self, symbol: str, strategy: str, ts_ns: int, price: float) -> None:
        self.calls.append(("filled", symbol, strategy, ts_ns, price))

    def on_entry_rejected(self, symbol: str, strategy: str, ts_ns: int, reason: str) -> None:
        self.calls.append(("rejected", symbol, strategy, ts_ns, reason))

    def on_position_closed(self, trip: RoundTrip) -> None:
        self.calls.append(("closed", trip))


def order(client_id: str, status: OrderStatus = OrderStatus.INIT, filled: int = 0,
          spec: ContractSpec = SPEC) -> Order:
    return Order(client_id=client_id, spec=spec, side=Side.BUY, qty_steps=10, status=status,
                 filled_steps=filled)


def fill(trade_id: str, price_ticks: int) -> Fill:
    return Fill(trade_id=trade_id, client_id="c1", venue_order_id="v1", spec=SPEC,
                side=Side.BUY, qty_steps=10, price_ticks=price_ticks, fee=D("0.36"), ts_ns=5)


def decision(ts_ns: int, outcome: str) -> Decision:
    return Decision(ts_ns=ts_ns, symbol="BTCUSDT", strategy="ovirx", direction=1,
                    probability=0.7, source="model", model="m@1", outcome=outcome)


def trip(net: str) -> RoundTrip:
    return RoundTrip(symbol="BTCUSDT", strategy="ovirx", direction=1, qty=D("0.01"),
                     entry_price=D("60000.0"), exit_price=D("60010.0"), entry_ns=1, exit_ns=2,
                     reason="target", gross_pnl=D(net), fees=D(0), funding=D(0))


def test_orders_keep_their_latest_state_in_creation_order() -> None:
    journal = BacktestJournal(Recorder())
    journal.record_order(order("a"))
    journal.record_order(order("b", spec=ETH))
    journal.record_order(order("a", OrderStatus.NEW))
    journal.record_order(order("a", OrderStatus.FILLED, filled=10))
    assert list(journal.orders) == ["a", "b"]
    assert journal.orders["a"].status is OrderStatus.FILLED
    assert journal.orders["a"].filled_steps == 10
    assert journal.orders["b"].symbol == "ETHUSDT"


def test_fills_audit_and_trips_are_kept_in_order_positions_by_symbol() -> None:
    journal = BacktestJournal(Recorder())
    fills = [fill("t1", 600_000), fill("t2", 600_001), fill("t1", 600_000)]
    for f in fills:
        journal.record_fill(f)
    assert journal.fills == fills  # as recorded: deduplication is the engine's job
    entries = [AuditEntry(ts_ns=1, action="submit"), AuditEntry(ts_ns=2, action="fill")]
    for e in entries:
        journal.record_audit(e)
    assert journal.audit == entries
    first, later = Position(spec=SPEC, fills=1), Position(spec=SPEC, fills=2)
    journal.record_position(first)
    journal.record_position(Position(spec=ETH))
    journal.record_position(later)
    assert journal.positions == {"BTCUSDT": later, "ETHUSDT": Position(spec=ETH)}
    trips = [trip("1.5"), trip("-2")]
    for t in trips:
        journal.on_position_closed(t)
    assert journal.trips == trips


def test_decisions_are_counted_by_outcome_and_kept_up_to_the_cap() -> None:
    journal = BacktestJournal(Recorder(), keep_decisions=3)
    outcomes = ["order", "denied:exposure", "order", "dry-run", "denied:exposure", "order"]
    made = [decision(i, o) for i, o in enumerate(outcomes)]
    for d in made:
        journal.record_decision(d)
    assert journal.outcomes == {"order": 3, "denied:exposure": 2, "dry-run": 1}
    assert journal.decisions == made[:3]  # the first ones, not the last


def test_the_default_cap_keeps_a_hundred_thousand_decisions() -> None:
    journal = BacktestJournal(Recorder())
    for i in range(100_005):
        journal.record_decision(decision(i, "order"))
    assert len(journal.decisions) == 100_000
    assert journal.decisions[-1].ts_ns == 99_999
    assert journal.outcomes["order"] == 100_005


def test_a_zero_cap_keeps_none_but_counts_all() -> None:
    journal = BacktestJournal(Recorder(), keep_decisions=0)
    journal.record_decision(decision(1, "order"))
    assert journal.decisions == []
    assert journal.outcomes == {"order": 1}


def test_feedback_is_forwarded_in_order() -> None:
    strategies = Recorder()
    journal = BacktestJournal(strategies)
    feedback: TradeFeedback = journal  # what the execution engine is given
    closed = trip("3.25")
    feedback.on_entry_filled("BTCUSDT", "ovirx", 10, 60000.5)
    feedback.on_entry_rejected("ETHUSDT", "mean_reversion", 11, "timeout")
    feedback.on_position_closed(closed)
    assert strategies.calls == [
        ("filled", "BTCUSDT", "ovirx", 10, 60000.5),
        ("rejected", "ETHUSDT", "mean_reversion", 11, "timeout"),
        ("closed", closed),
    ]
    # Entries are not round trips: only the closed position is kept.
    assert journal.trips == [closed]
    assert journal.trips[0].net_pnl == D("3.25")
