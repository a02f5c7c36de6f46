"""The order manager against a scripted venue: every failure of the order path, answered
exactly as the test decides (timeouts, refusals, 5xx, lookups failing, silence)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bitunix.core.clock import ManualClock
from bitunix.core.errors import BitunixError
from bitunix.execution import (
    ClientIdFactory,
    ExecutionEngine,
    NotReadyError,
    SubmitError,
    VenuePosition,
)
from bitunix.model import (
    OrderAccepted,
    OrderRejected,
    OrderReport,
    OrderStatus,
    Side,
)

from .conftest import (
    BTC,
    FAST,
    START_NS,
    D,
    Feedback,
    MemoryJournal,
    ScriptedVenue,
    buy,
    fill_of,
    limit,
    until,
)


class Rig:
    def __init__(self) -> None:
        self.venue = ScriptedVenue()
        self.journal = MemoryJournal()
        self.feedback = Feedback()
        self.clock = ManualClock(START_NS)
        self.engine = ExecutionEngine(self.venue, self.journal, clock=self.clock,
                                      ids=ClientIdFactory("bx", 5), settings=FAST,
                                      feedback=self.feedback, symbols=["BTCUSDT"])

    @property
    def listener(self) -> ExecutionEngine:
        return self.engine


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    r = Rig()
    await r.engine.reconcile()
    yield r
    await r.engine.close()


def _report(status: OrderStatus, filled: int, vid: str = "v1") -> OrderReport:
    return OrderReport(status=status, filled_steps=filled, ts_ns=START_NS + 1, venue_id=vid)


async def test_entries_wait_for_the_first_reconciliation() -> None:
    r = Rig()
    with pytest.raises(NotReadyError, match="not reconciled"):
        r.engine.submit(buy(10))
    assert r.venue.submitted == []
    exit_order = r.engine.submit(buy(10, reduce_only=True))  # exits may always go
    assert r.venue.submitted == [exit_order]
    await r.engine.reconcile()
    assert r.engine.ready
    await r.engine.close()


async def test_order_is_journaled_before_the_venue_sees_it(rig: Rig) -> None:
    seen: list[bool] = []
    rig.venue.on_submit = lambda order: seen.append(order.client_id in rig.journal.orders)
    order = rig.engine.submit(buy(10))
    assert seen == [True]
    assert order.status is OrderStatus.INIT
    assert rig.journal.actions("submit")[0].client_id == order.client_id
    assert order.client_id.startswith("bx5-")


async def test_ack_timeout_then_filled_is_resolved_by_lookup(rig: Rig) -> None:
    order = rig.engine.submit(buy(10))  # the answer never comes
    rig.venue.reports[order.client_id] = _report(OrderStatus.FILLED, 10)
    rig.venue.venue_fills[order.client_id] = [fill_of(order, "t1", 10, 600000)]
    await until(lambda: rig.engine.portfolio.qty_steps("BTCUSDT") == 10)
    assert rig.engine.order(order.client_id).status is OrderStatus.FILLED  # type: ignore[union-attr]
    assert rig.venue.queries[0] == order.client_id
    assert len(rig.venue.submitted) == 1  # found, not resent
    assert rig.engine.counters.lookups >= 1
    assert rig.engine.counters.gap_fetches == 1


async def test_unknown_to_the_venue_is_resent_under_the_same_id(rig: Rig) -> None:
    sends: list[str] = []

    def answer(order: object) -> None:
        sends.append(order.client_id)  # type: ignore[attr-defined]
        if len(sends) == 2:
            rig.engine.on_order_event(order.client_id, OrderAccepted(venue_id="v9"))  # type: ignore[attr-defined]

    rig.venue.on_submit = answer
    order = rig.engine.submit(buy(10))
    await until(lambda: rig.engine.order(order.client_id).status is OrderStatus.NEW)  # type: ignore[union-attr]
    assert sends == [order.client_id, order.client_id]
    assert rig.engine.counters.resends == 1
    assert rig.journal.actions("resend")


async def test_never_placed_after_the_attempts_is_rejected_locally(rig: Rig) -> None:
    order = rig.engine.submit(buy(10))
    await until(lambda: rig.engine.order(order.client_id).status is OrderStatus.REJECTED)  # type: ignore[union-attr]
    assert len(rig.venue.submitted) == FAST.max_submit_attempts
    assert rig.engine.order(order.client_id).reject_reason == "not placed after 3 attempts"  # type: ignore[union-attr]
    assert rig.feedback.rejected == [("BTCUSDT", "s1", "not placed after 3 attempts")]
    assert rig.engine.open_orders() == []


async def test_5xx_with_unknown_outcome_is_looked_up_first(rig: Rig) -> None:
    def fail(order: object) -> None:
        rig.engine.on_submit_error(order.client_id,  # type: ignore[attr-defined]
                                   SubmitError(reason="HTTP 502", executed=None))

    rig.venue.on_submit = fail
    order = rig.engine.submit(buy(10))
    rig.venue.on_submit = lambda o: None
    rig.venue.reports[order.client_id] = _report(OrderStatus.NEW, 0)
    await until(lambda: rig.engine.order(order.client_id).status is OrderStatus.NEW)  # type: ignore[union-attr]
    assert len(rig.venue.submitted) == 1
    assert rig.engine.counters.submit_errors == 1


async def test_rate_limited_waits_for_the_venue_hint(rig: Rig) -> None:
    loop_times: list[float] = []

    def answer(order: object) -> None:
        import asyncio

        loop_times.append(asyncio.get_running_loop().time())
        if len(loop_times) == 1:
            rig.engine.on_submit_error(order.client_id, SubmitError(  # type: ignore[attr-defined]
                reason="10006", executed=False, retry_after_s=0.08))
        else:
            rig.engine.on_order_event(order.client_id, OrderAccepted(venue_id="v2"))  # type: ignore[attr-defined]

    rig.venue.on_submit = answer
    order = rig.engine.submit(buy(10))
    await until(lambda: rig.engine.order(order.client_id).status is OrderStatus.NEW)  # type: ignore[union-attr]
    assert loop_times[1] - loop_times[0] >= 0.08


async def test_failing_lookup_is_retried_and_the_order_stays_pending_exposure(rig: Rig) -> None:
    rig.venue.query_errors = 3
    order = rig.engine.submit(buy(10))
    await until(lambda: rig.engine.counters.lookup_failures == 3)
    assert rig.engine.order(order.client_id).status is OrderStatus.INIT  # type: ignore[union-attr]
    snap = rig.engine.snapshot()
    assert snap.open_orders == 1
    assert snap.symbol_pending == {"BTCUSDT": 0.0}  # a market entry, no mark yet
    assert len(rig.venue.submitted) == 1  # no resend while the venue cannot tell
    rig.venue.reports[order.client_id] = _report(OrderStatus.NEW, 0)
    await until(lambda: rig.engine.order(order.client_id).status is OrderStatus.NEW)  # type: ignore[union-attr]


async def test_rejected_outright(rig: Rig) -> None:
    rig.venue.on_submit = lambda o: rig.engine.on_order_event(
        o.client_id, OrderRejected(reason="[20003] Insufficient balance"))
    order = rig.engine.submit(buy(10))
    assert order.status is OrderStatus.REJECTED
    assert rig.engine.counters.rejects == 1
    assert rig.journal.actions("reject")[0].reason == "[20003] Insufficient balance"
    assert rig.engine.open_orders() == []


async def test_adapter_raising_on_submit_is_a_rejection(rig: Rig) -> None:
    def boom(order: object) -> None:
        raise BitunixError("qty off the grid")

    rig.venue.on_submit = boom
    order = rig.engine.submit(buy(10))
    assert order.status is OrderStatus.REJECTED
    assert order.reject_reason == "not sent: qty off the grid"


async def test_silent_open_order_is_confirmed_by_rest(rig: Rig) -> None:
    rig.venue.on_submit = lambda o: rig.engine.on_order_event(o.client_id,
                                                              OrderAccepted(venue_id="v1"))
    order = rig.engine.submit(limit(Side.BUY, 10, 590000))
    rig.venue.reports[order.client_id] = _report(OrderStatus.CANCELED, 0)
    await until(lambda: rig.engine.order(order.client_id).status is OrderStatus.CANCELED)  # type: ignore[union-attr]
    assert rig.engine.counters.confirmations == 1
    assert rig.feedback.rejected == [("BTCUSDT", "s1", "CANCELED")]


async def test_partial_fill_then_cancel_keeps_what_filled(rig: Rig) -> None:
    def accept(o: object) -> None:
        rig.engine.on_order_event(o.client_id, OrderAccepted(venue_id="v1"))  # type: ignore[attr-defined]

    def cancelled(o: object) -> None:
        rig.engine.on_order_event(o.client_id, _report(OrderStatus.CANCELED, 4))  # type: ignore[attr-defined]

    rig.venue.on_submit = accept
    rig.venue.on_cancel = cancelled
    order = rig.engine.submit(limit(Side.BUY, 10, 590000))
    order = rig.engine.order(order.client_id)  # type: ignore[assignment]
    rig.engine.on_fill(fill_of(order, "t1", 4, 590000))
    rig.engine.on_order_event(order.client_id, _report(OrderStatus.PART_FILLED, 4))
    rig.venue.reports[order.client_id] = _report(OrderStatus.PART_FILLED, 4)
    rig.venue.venue_positions = [VenuePosition(spec=BTC, qty_steps=4)]
    await until(lambda: not rig.engine.order(order.client_id).is_open)  # type: ignore[union-attr]
    final = rig.engine.order(order.client_id)
    assert final is not None
    assert final.status is OrderStatus.PART_FILLED_CANCELED
    assert rig.engine.counters.entry_timeouts == 1
    assert rig.engine.portfolio.qty_steps("BTCUSDT") == 4
    assert rig.feedback.filled == [("BTCUSDT", "s1", 59000.0)]
    assert rig.feedback.rejected == []  # something filled: not a rejection


async def test_unanswered_cancel_is_confirmed_and_sent_again(rig: Rig) -> None:
    rig.venue.on_submit = lambda o: rig.engine.on_order_event(o.client_id,
                                                              OrderAccepted(venue_id="v1"))
    order = rig.engine.submit(limit(Side.BUY, 10, 590000))
    rig.venue.reports[order.client_id] = _report(OrderStatus.NEW, 0)
    assert rig.engine.cancel(order.client_id, "test")
    await until(lambda: len(rig.venue.cancelled) == 2)
    rig.venue.reports[order.client_id] = _report(OrderStatus.CANCELED, 0)
    await until(lambda: rig.engine.order(order.client_id).status is OrderStatus.CANCELED)  # type: ignore[union-attr]
    assert not rig.engine.cancel(order.client_id)  # no longer open


async def test_cancel_without_verdict_retries_when_proven_not_sent(rig: Rig) -> None:
    rig.venue.on_submit = lambda o: rig.engine.on_order_event(o.client_id,
                                                              OrderAccepted(venue_id="v1"))
    calls: list[int] = []

    def refuse_once(o: object) -> None:
        calls.append(1)
        if len(calls) == 1:
            rig.engine.on_submit_error(o.client_id, SubmitError(  # type: ignore[attr-defined]
                reason="rate limited", executed=False))
        else:
            rig.engine.on_order_event(o.client_id, _report(OrderStatus.CANCELED, 0))  # type: ignore[attr-defined]

    rig.venue.on_cancel = refuse_once
    order = rig.engine.submit(limit(Side.BUY, 10, 590000))
    rig.engine.cancel(order.client_id)
    await until(lambda: rig.engine.order(order.client_id).status is OrderStatus.CANCELED)  # type: ignore[union-attr]
    assert len(calls) == 2


async def test_cancel_of_a_pending_resend_gives_up_without_sending(rig: Rig) -> None:
    rig.venue.on_submit = lambda o: rig.engine.on_submit_error(
        o.client_id, SubmitError(reason="rate limited", executed=False, retry_after_s=0.05))
    order = rig.engine.submit(buy(10))
    assert rig.engine.cancel(order.client_id)
    await until(lambda: rig.engine.order(order.client_id).status is OrderStatus.REJECTED)  # type: ignore[union-attr]
    assert len(rig.venue.submitted) == 1
    assert rig.venue.cancelled == []
    assert "cancelled before it was placed" in rig.engine.order(order.client_id).reject_reason  # type: ignore[union-attr]


async def test_reports_in_any_order_twice_and_an_impossible_one(rig: Rig) -> None:
    order = rig.engine.submit(limit(Side.BUY, 10, 590000))
    cid = order.client_id
    rig.engine.on_order_event(cid, _report(OrderStatus.FILLED, 10))
    rig.engine.on_order_event(cid, OrderAccepted(venue_id="v1"))  # late ack: harmless
    rig.engine.on_order_event(cid, _report(OrderStatus.PART_FILLED, 4))  # stale
    rig.engine.on_order_event(cid, _report(OrderStatus.FILLED, 10))  # duplicate
    assert rig.engine.order(cid).status is OrderStatus.FILLED  # type: ignore[union-attr]
    rig.engine.on_order_event(cid, OrderRejected(reason="late refusal"))  # impossible
    assert rig.engine.order(cid).status is OrderStatus.FILLED  # type: ignore[union-attr]
    assert rig.engine.counters.impossible == 1
    assert rig.journal.actions("impossible")
    assert rig.engine.summary()["impossible"] == 1


async def test_duplicate_fill_counted_once(rig: Rig) -> None:
    order = rig.engine.submit(buy(10))
    fill = fill_of(order, "t1", 10, 600000)
    rig.engine.on_fill(fill)
    rig.engine.on_fill(fill)
    assert rig.engine.portfolio.qty_steps("BTCUSDT") == 10
    assert rig.engine.counters.duplicate_fills == 1
    assert len(rig.journal.fills) == 1


async def test_fills_ahead_of_the_report_bring_a_confirmation(rig: Rig) -> None:
    rig.venue.on_submit = lambda o: rig.engine.on_order_event(o.client_id,
                                                              OrderAccepted(venue_id="v1"))
    order = rig.engine.submit(buy(10))
    rig.engine.on_fill(fill_of(order, "t1", 10, 600000))
    rig.venue.reports[order.client_id] = _report(OrderStatus.FILLED, 10)
    await until(lambda: rig.engine.order(order.client_id).status is OrderStatus.FILLED)  # type: ignore[union-attr]
    assert rig.engine.counters.confirmations >= 1
    assert rig.engine.open_orders() == []


async def test_report_of_an_order_of_ours_not_in_memory_asks_for_reconciliation(
        rig: Rig) -> None:
    before = rig.engine.counters.reconciles
    rig.engine.on_order_event("bx1-zz", _report(OrderStatus.NEW, 0))
    rig.engine.on_order_event("someone-else", _report(OrderStatus.NEW, 0))
    assert rig.engine.counters.unknown_reports == 2
    await until(lambda: rig.engine.counters.reconciles == before + 1)


async def test_stream_reconnect_reconciles(rig: Rig) -> None:
    before = rig.engine.counters.reconciles
    rig.engine.on_stream(False)
    rig.engine.on_stream(True)
    await until(lambda: rig.engine.counters.reconciles == before + 1)
    assert [a.reason for a in rig.journal.actions("stream")] == ["down", "up"]


async def test_summary_has_counts_and_exact_money(rig: Rig) -> None:
    order = rig.engine.submit(buy(10))
    rig.engine.on_fill(fill_of(order, "t1", 10, 600000, fee="0.36"))
    summary = rig.engine.summary()
    assert summary["orders"] == 1
    assert summary["fills"] == 1
    assert D(str(summary["fees"])) == D("0.36")
    assert D(str(summary["pnl"])) == D("-0.36")
    assert summary["open_positions"] == 1
