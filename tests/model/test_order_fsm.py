"""The order state machine under every event order, duplicates and gaps."""

from __future__ import annotations

import itertools
from decimal import Decimal

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitunix.model import (
    Order,
    OrderAccepted,
    OrderEvent,
    OrderIntent,
    OrderRejected,
    OrderReport,
    OrderStateMachine,
    OrderStatus,
    OrderType,
    Side,
    Verdict,
)
from bitunix.model.order_fsm import TRANSITIONS, classify
from tests.model.conftest import BTC

S = OrderStatus


def new_order(qty_steps: int = 10) -> Order:
    intent = OrderIntent(spec=BTC, side=Side.BUY, qty_steps=qty_steps,
                         order_type=OrderType.LIMIT, price_ticks=600000)
    return Order.from_intent(intent, "bx-1", created_ns=1)


def report(status: OrderStatus, filled: int, ts: int, venue_id: str | None = "v1") -> OrderReport:
    return OrderReport(status=status, filled_steps=filled, ts_ns=ts, venue_id=venue_id)


def test_happy_path_and_cumulative_fields() -> None:
    fsm = OrderStateMachine()
    o = new_order()
    o = fsm.apply(o, OrderAccepted(venue_id="v1", ts_ns=2))
    assert (o.status, o.venue_id) == (S.NEW, "v1")
    o = fsm.apply(o, OrderReport(status=S.PART_FILLED, filled_steps=4, ts_ns=3,
                                 avg_price=Decimal("60000.0"), fee=Decimal("0.01")))
    assert (o.status, o.filled_steps, o.remaining_steps) == (S.PART_FILLED, 4, 6)
    assert o.fee == Decimal("0.01")
    o = fsm.apply(o, report(S.FILLED, 10, 4))
    assert (o.status, o.filled_steps, o.remaining_steps, o.is_open) == (S.FILLED, 10, 0, False)
    assert o.avg_price == Decimal("60000.0")  # kept when a report carries none
    assert fsm.counts[Verdict.APPLIED] == 3
    assert fsm.counts[Verdict.IMPOSSIBLE] == 0


def test_a_push_before_the_rest_answer() -> None:
    fsm = OrderStateMachine()
    o = fsm.apply(new_order(), report(S.FILLED, 10, 5, venue_id=None))
    assert o.status is S.FILLED
    assert o.venue_id is None
    o = fsm.apply(o, OrderAccepted(venue_id="v9"))
    assert o.venue_id == "v9"
    assert o.status is S.FILLED
    assert fsm.apply(o, OrderAccepted(venue_id="v9")) is o
    assert fsm.counts[Verdict.DUPLICATE] == 1


def test_rejection_only_from_pending() -> None:
    fsm = OrderStateMachine()
    o = fsm.apply(new_order(), OrderRejected(reason="30001 insufficient balance"))
    assert o.status is S.REJECTED
    assert o.reject_reason.startswith("30001")
    assert not o.is_open
    assert fsm.apply(o, OrderRejected(reason="again")) is o
    live = fsm.apply(new_order(), OrderAccepted(venue_id="v1"))
    assert fsm.apply(live, OrderRejected(reason="late refusal")) is live
    assert fsm.counts[Verdict.IMPOSSIBLE] == 1
    assert "late refusal" in fsm.impossible[-1]
    # the venue reporting a rejected order live is impossible too (reconciliation fixes it)
    assert fsm.apply(o, report(S.NEW, 0, 9)) is o
    assert fsm.apply(o, OrderAccepted(venue_id="v2")) is o
    assert fsm.counts[Verdict.IMPOSSIBLE] == 3


@pytest.mark.parametrize(
    ("current", "event", "verdict"),
    [
        (S.CANCELED, report(S.FILLED, 10, 9), Verdict.IMPOSSIBLE),  # fill after cancel
        (S.CANCELED, report(S.NEW, 0, 1), Verdict.STALE),  # late CREATE push
        (S.FILLED, report(S.FILLED, 10, 9), Verdict.DUPLICATE),
        (S.NEW, report(S.FILLED, 3, 9), Verdict.IMPOSSIBLE),  # FILLED must fill the qty
        (S.NEW, report(S.PART_FILLED, 11, 9), Verdict.IMPOSSIBLE),  # more than ordered
        (S.NEW, report(S.PART_FILLED, -1, 9), Verdict.IMPOSSIBLE),
        (S.NEW, report(S.CANCELED, 0, 9), Verdict.APPLIED),
        (S.INIT, report(S.FILLED, 10, 9), Verdict.APPLIED),  # a gap is fine
    ],
)
def test_verdicts(current: OrderStatus, event: OrderEvent, verdict: Verdict) -> None:
    o = msgspec.structs.replace(new_order(), status=current, venue_id="v1",
                                filled_steps=10 if current is S.FILLED else 0)
    assert classify(o, event)[0] is verdict


def test_statuses_are_normalised_by_the_filled_quantity() -> None:
    fsm = OrderStateMachine()
    o = fsm.apply(new_order(), report(S.NEW, 3, 2))
    assert o.status is S.PART_FILLED
    o = fsm.apply(o, report(S.CANCELED, 3, 3))
    assert o.status is S.PART_FILLED_CANCELED


def test_terminal_states_are_never_left() -> None:
    terminal = [s for s in S if s.is_terminal]
    for a, b in itertools.product(terminal, S):
        assert (a, b) not in TRANSITIONS


def test_impossible_log_is_bounded() -> None:
    fsm = OrderStateMachine(keep_impossible=3)
    o = fsm.apply(new_order(), OrderAccepted(venue_id="v"))
    for i in range(10):
        fsm.apply(o, OrderRejected(reason=f"r{i}"))
    assert len(fsm.impossible) == 3
    assert "r9" in fsm.impossible[-1]
    assert fsm.counts[Verdict.IMPOSSIBLE] == 10


# -- every order of a real history -----------------------------------------------------

def _history(fills: list[int], qty: int, end: OrderStatus) -> list[OrderEvent]:
    """What a venue reports for one order: acceptance, cumulative fills, a terminal state."""
    events: list[OrderEvent] = [OrderAccepted(venue_id="v1", ts_ns=1),
                                report(S.NEW, 0, 2)]
    filled, ts = 0, 3
    for f in fills:
        filled = min(qty, filled + f)
        events.append(report(S.PART_FILLED if filled < qty else S.FILLED, filled, ts))
        ts += 1
        if filled == qty:
            break
    if filled < qty:
        events.append(report(end, filled, ts))
    return events


def _final(events: list[OrderEvent]) -> tuple[OrderStatus, int]:
    last = max((e for e in events if isinstance(e, OrderReport)), key=lambda e: e.ts_ns)
    status = last.status
    if status is S.CANCELED and last.filled_steps:
        status = S.PART_FILLED_CANCELED
    return status, last.filled_steps


@settings(max_examples=300, deadline=None)
@given(
    fills=st.lists(st.integers(1, 6), max_size=6),
    end=st.sampled_from([S.CANCELED, S.EXPIRED, S.SYSTEM_CANCELED]),
    data=st.data(),
)
def test_any_order_duplicates_and_gaps_end_in_the_latest_state(
    fills: list[int], end: OrderStatus, data: st.DataObject
) -> None:
    qty = 10
    history = _history(fills, qty, end)
    # deliver: any permutation, some events twice, some never (but the terminal one)
    terminal = history[-1]
    rest = history[:-1]
    kept = [e for e in rest if data.draw(st.booleans())]
    dupes = [e for e in kept if data.draw(st.booleans())]
    delivered = data.draw(st.permutations([*kept, *dupes, terminal]))
    fsm = OrderStateMachine()
    o = new_order(qty)
    for e in delivered:
        o = fsm.apply(o, e)
    assert (o.status, o.filled_steps) == _final(history)
    assert fsm.counts[Verdict.IMPOSSIBLE] == 0
    assert sum(fsm.counts.values()) == len(delivered)
