"""The in-process venue adapter: exact events from the engine, the Venue contract, faults."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bitunix.adapters.inprocess import InjectedFaultError, InProcessVenueAdapter, contract_spec
from bitunix.core.errors import BitunixError, ConfigError
from bitunix.model import (
    Order,
    OrderAccepted,
    OrderEvent,
    OrderIntent,
    OrderRejected,
    OrderReport,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from bitunix.model.market import BookEvent, TradeEvent
from bitunix.sim import SimError, SimOrderRequest
from bitunix.sim.venue import InProcessVenue
from tests.adapters.conftest import Recorder

D = Decimal
START_NS = 1_723_161_255_000_000_000


def _book(mid: str = "60000") -> tuple[list[list[Decimal]], list[list[Decimal]]]:
    m, t = D(mid), D("0.1")
    return ([[m - t * (i + 1), D("2")] for i in range(5)],
            [[m + t * i, D("2")] for i in range(5)])


@pytest.fixture
def sim() -> InProcessVenue:
    venue = InProcessVenue(lambda: iter(()), balance=D("100000"), start_ns=START_NS)
    venue.engine.on_book("BTCUSDT", *_book())
    return venue


@pytest.fixture
def adapter(sim: InProcessVenue) -> tuple[InProcessVenueAdapter, Recorder]:
    a = InProcessVenueAdapter(sim)
    rec = Recorder()
    a.bind(rec)
    return a, rec


def _order(adapter: InProcessVenueAdapter, cid: str, side: Side = Side.BUY, qty: int = 10,
           **kw: object) -> Order:
    spec = adapter.contracts["BTCUSDT"]
    return Order.from_intent(OrderIntent(spec=spec, side=side, qty_steps=qty,
                                         **kw), cid, 0)  # type: ignore[arg-type]


def test_contract_spec_keeps_the_grids() -> None:
    spec = contract_spec(InProcessVenue(lambda: iter(())).engine.contracts["ETHUSDT"])
    assert (spec.symbol, spec.price_decimals, spec.qty_decimals) == ("ETHUSDT", 2, 3)
    assert spec.min_qty == D("0.003")
    assert spec.max_leverage == 100


def test_hedge_mode_and_an_unbound_adapter_are_refused(sim: InProcessVenue) -> None:
    hedged = InProcessVenue(lambda: iter(()), position_mode="HEDGE")
    with pytest.raises(ConfigError, match="ONE_WAY"):
        InProcessVenueAdapter(hedged)
    a = InProcessVenueAdapter(sim)
    assert a.name == "sim"
    with pytest.raises(ConfigError, match="bind"):
        a.submit(_order(a, "c1"))


def test_market_order_reports_accept_fill_report_position_balance_in_order(
        adapter: tuple[InProcessVenueAdapter, Recorder]) -> None:
    a, rec = adapter
    a.submit(_order(a, "c1", qty=25000))  # 2.5 BTC: two levels of the book
    assert rec.kinds() == ["event", "fill", "fill", "event", "position", "balance"]
    accepted = rec.calls[0][1]
    assert isinstance(accepted[1], OrderAccepted)  # type: ignore[index]
    fills = rec.of("fill")
    assert [(f.qty_steps, f.price_ticks) for f in fills] == [(20000, 600000), (5000, 600001)]  # type: ignore[attr-defined]
    assert fills[0].fee == D("2") * D("60000") * D("0.0006")  # type: ignore[attr-defined]
    report = rec.calls[3][1][1]  # type: ignore[index]
    assert report == OrderReport(status=OrderStatus.FILLED, filled_steps=25000, ts_ns=START_NS,
                                 venue_id=accepted[1].venue_id,  # type: ignore[index]
                                 avg_price=report.avg_price, fee=report.fee)
    position = rec.of("position")[0]
    assert position.qty_steps == 25000  # type: ignore[attr-defined]


def test_refusal_carries_the_venue_code(adapter: tuple[InProcessVenueAdapter, Recorder]) -> None:
    a, rec = adapter
    a.submit(_order(a, "c1", order_type=OrderType.LIMIT, price_ticks=700000))  # above the band
    (cid, event), = rec.of("event")  # type: ignore[misc]
    assert cid == "c1"
    assert isinstance(event, OrderRejected)
    assert event.reason.startswith("[30014]")


def test_resend_of_an_executed_order_answers_with_its_state(
        adapter: tuple[InProcessVenueAdapter, Recorder], sim: InProcessVenue) -> None:
    a, rec = adapter
    order = _order(a, "c1")
    a.submit(order)
    rec.calls.clear()
    a.submit(order)  # same client id: 30042 at the venue
    events = [e for _, e in rec.of("event")]  # type: ignore[misc]
    assert isinstance(events[0], OrderAccepted)
    assert isinstance(events[1], OrderReport)
    assert events[1].status is OrderStatus.FILLED
    assert len(sim.account.orders) == 1


async def test_resting_order_filled_by_the_market_reports_through_step(
        sim: InProcessVenue) -> None:
    events = [TradeEvent(ts_ns=START_NS + 10, symbol="BTCUSDT", price="59000.0", qty="1",
                         is_buy=False),
              BookEvent(ts_ns=START_NS + 20, symbol="BTCUSDT", bids=[("59000.0", "1")],
                        asks=[("59000.1", "1")])]
    venue = InProcessVenue(lambda: iter(events), balance=D("100000"), start_ns=START_NS)
    venue.engine.on_book("BTCUSDT", *_book())
    a = InProcessVenueAdapter(venue)
    rec = Recorder()
    a.bind(rec)
    order = _order(a, "c1", order_type=OrderType.LIMIT, price_ticks=590000,
                   time_in_force=TimeInForce.GTC)
    a.submit(order)
    assert rec.of("fill") == []
    assert a.step(1) == 1
    (fill,) = rec.of("fill")
    assert fill.price_ticks == 590000  # type: ignore[attr-defined]
    assert fill.maker  # type: ignore[attr-defined]
    assert list(a.events()) == [events[1]]
    assert a.step(5) == 0
    report = await a.query_order(order)
    assert report is not None
    assert report.status is OrderStatus.FILLED


def test_callbacks_that_submit_again_are_queued_not_reentrant(
        adapter: tuple[InProcessVenueAdapter, Recorder]) -> None:
    a, rec = adapter
    seen: list[str] = []

    def hook(cid: str, event: OrderEvent) -> None:
        seen.append(cid)
        if cid == "c1" and isinstance(event, OrderReport):
            a.submit(_order(a, "c2", side=Side.SELL, reduce_only=True))

    rec.on_event_hook = hook
    a.submit(_order(a, "c1"))
    assert seen == ["c1", "c1", "c2", "c2"]
    assert a.sim.account.positions == {}


async def test_cancel_reports_and_cancel_of_a_finished_or_unknown_order(
        adapter: tuple[InProcessVenueAdapter, Recorder]) -> None:
    a, rec = adapter
    resting = _order(a, "r1", order_type=OrderType.LIMIT, price_ticks=590000)
    a.submit(resting)
    venue_id = rec.of("event")[0][1].venue_id  # type: ignore[index]
    resting = Order.from_intent(OrderIntent(spec=resting.spec, side=Side.BUY, qty_steps=10,
                                            order_type=OrderType.LIMIT, price_ticks=590000),
                                "r1", 0)
    a.cancel(resting)  # by client id
    assert rec.of("event")[-1][1].status is OrderStatus.CANCELED  # type: ignore[index]
    import msgspec

    a.cancel(msgspec.structs.replace(resting, venue_id=venue_id))  # already cancelled
    assert rec.of("event")[-1][1].status is OrderStatus.CANCELED  # type: ignore[index]
    a.cancel(_order(a, "never"))
    cid, err = rec.of("error")[-1]  # type: ignore[misc]
    assert cid == "never"
    assert err.executed is None


async def test_reads_answer_from_the_engine(
        adapter: tuple[InProcessVenueAdapter, Recorder], sim: InProcessVenue) -> None:
    a, _ = adapter
    a.submit(_order(a, "c1", qty=30))
    a.submit(_order(a, "c2", side=Side.SELL, qty=5, order_type=OrderType.LIMIT,
                    price_ticks=610000))
    sim.place_order(SimOrderRequest(symbol="BTCUSDT", side="BUY", order_type="LIMIT",
                                    qty=D("0.001"), price=D("59000")))
    listed = await a.open_orders(["BTCUSDT"])
    assert sorted(o.client_id or "-" for o in listed) == ["-", "c2"]
    assert await a.open_orders(["ETHUSDT"]) == []
    (pos,) = await a.positions([])
    assert pos.qty_steps == 30
    assert pos.entry_price is not None
    balance = await a.balance()
    assert balance.available + balance.frozen + balance.margin == sim.account.wallet
    fills = await a.fills(_order(a, "c1"))
    assert sum(f.qty_steps for f in fills) == 30
    assert await a.fills(_order(a, "unknown")) == []
    assert await a.query_order(_order(a, "unknown")) is None
    await a.cancel_all(["BTCUSDT"])
    assert sim.account.open_orders == {}
    await a.close()


async def test_protection_places_the_position_tpsl(
        adapter: tuple[InProcessVenueAdapter, Recorder], sim: InProcessVenue) -> None:
    a, _ = adapter
    spec = a.contracts["BTCUSDT"]
    with pytest.raises(SimError, match="30004"):
        await a.set_protection(spec, tp_ticks=610000, sl_ticks=590000)
    a.submit(_order(a, "c1"))
    await a.set_protection(spec, tp_ticks=610000, sl_ticks=590000)
    await a.set_protection(spec, tp_ticks=None, sl_ticks=595000)  # replaces the first
    (tpsl,) = sim.account.tpsl.values()
    assert (tpsl.tp_price, tpsl.sl_price) == (None, D("59500.0"))


async def test_close_position_flash_closes_the_whole_position(
        adapter: tuple[InProcessVenueAdapter, Recorder], sim: InProcessVenue) -> None:
    a, rec = adapter
    spec = a.contracts["BTCUSDT"]
    assert await a.close_position(spec) is False  # nothing to close
    a.submit(_order(a, "c1", qty=15))
    assert await a.close_position(spec) is True
    assert sim.account.positions == {}
    closing = [f for f in rec.of("fill") if not f.client_id]  # an order the bot never sent
    assert [(f.side, f.qty_steps) for f in closing] == [(Side.SELL, 15)]


def test_funding_is_reported_as_paid(adapter: tuple[InProcessVenueAdapter, Recorder],
                                     sim: InProcessVenue) -> None:
    a, rec = adapter
    a.submit(_order(a, "c1"))
    rec.calls.clear()
    sim.engine.settle_funding()
    a.sync()
    (symbol, paid), = rec.of("funding")  # type: ignore[misc]
    assert symbol == "BTCUSDT"
    assert paid > 0  # a long pays a positive rate
    assert paid == -sim.account.ledger[-1].amount


async def test_injected_faults(adapter: tuple[InProcessVenueAdapter, Recorder],
                               sim: InProcessVenue) -> None:
    a, rec = adapter
    a.faults.refuse_submits = 1
    a.faults.retry_after_s = 0.5
    a.submit(_order(a, "c1"))
    (cid, err), = rec.of("error")  # type: ignore[misc]
    assert (cid, err.executed, err.retry_after_s) == ("c1", False, 0.5)
    assert sim.account.orders == {}
    rec.calls.clear()
    a.faults.lose_submits = 1
    a.submit(_order(a, "c2"))
    assert rec.kinds() == ["balance", "error"]
    assert rec.of("error")[0][1].executed is None  # type: ignore[index]
    assert len(sim.account.orders) == 1  # it did execute
    rec.calls.clear()
    a.faults.drop_reports = 2
    a.faults.drop_fills = 1
    a.faults.drop_positions = 1
    a.submit(_order(a, "c3"))
    assert rec.kinds() == ["balance"]
    for fault in ("fail_queries", "fail_reads", "fail_protection"):
        setattr(a.faults, fault, 1)
    with pytest.raises(InjectedFaultError):
        await a.query_order(_order(a, "c3"))
    with pytest.raises(InjectedFaultError):
        await a.positions([])
    with pytest.raises(BitunixError):
        await a.set_protection(a.contracts["BTCUSDT"], tp_ticks=None, sl_ticks=590000)
    assert await a.query_order(_order(a, "c3")) is not None
