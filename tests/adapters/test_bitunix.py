"""The live adapter against the simulator's own server (REST, private WebSocket, the fast
order path): the Venue contract, every kind of answer, pushes, fills, funding, faults."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import pytest

from bitunix.adapters.bitunix import (
    BitunixVenue,
    BitunixVenueSettings,
    VenueNotConnectedError,
)
from bitunix.core.errors import ConfigError
from bitunix.core.latency import LatencyProbe
from bitunix.exchange import Credentials, RestConfig, WsConfig
from bitunix.exchange.errors import ExchangeError, PositionNotFoundError
from bitunix.model import (
    ContractSpec,
    Fill,
    Order,
    OrderAccepted,
    OrderRejected,
    OrderReport,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from bitunix.model.market import BookEvent, MarketEvent
from bitunix.sim.server import SimServer
from tests.adapters.conftest import Recorder

D = Decimal
KEY, SECRET = "adapter-key", "adapter-secret"
START_NS = 1_723_161_255_000_000_000


def book(symbol: str, mid: str, tick: str, *, qty: str = "5", levels: int = 5,
         ts_ns: int = START_NS) -> BookEvent:
    m, t = D(mid), D(tick)
    return BookEvent(ts_ns=ts_ns, symbol=symbol,
                     bids=[(str(m - t * (i + 1)), qty) for i in range(levels)],
                     asks=[(str(m + t * i), qty) for i in range(levels)])


def market() -> list[MarketEvent]:
    return [book("BTCUSDT", "60000", "0.1", qty="0.005"),
            book("ETHUSDT", "2500", "0.01", qty="100")]


def server(events: list[MarketEvent] | None = None, **kw: Any) -> SimServer:
    evs = events if events is not None else market()
    return SimServer(source=lambda: iter(evs), speed=0, push_interval_s=None,
                     loop_data=False, api_keys={KEY: SECRET}, balance=D("100000"), **kw)


def configs(sim: SimServer, **rest: Any) -> tuple[RestConfig, WsConfig]:
    rest.setdefault("rate_limits", False)
    rest.setdefault("max_retries", 2)
    rest.setdefault("backoff_base_s", 0.01)
    rest.setdefault("backoff_max_s", 0.05)
    rest.setdefault("timeout_s", 2.0)
    return (RestConfig(base_url=sim.rest_url, **rest),
            WsConfig(public_url=sim.public_ws_url, private_url=sim.private_ws_url,
                     connect_timeout_s=2.0, login_timeout_s=2.0, connect_frame_wait_s=0.5,
                     reconnect_base_s=0.02, reconnect_max_s=0.1, ping_interval_s=5.0))


FAST = BitunixVenueSettings(pool_size=2, request_timeout_s=0.5, stream_timeout_s=3.0,
                            lookups=2, lookup_backoff_s=0.01, fill_retry_s=0.02)


async def until(cond: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)


class Rig:
    """A stepped simulator, a connected adapter and a recorder."""

    def __init__(self, sim: SimServer, venue: BitunixVenue, rec: Recorder,
                 requests: list[bool]) -> None:
        self.sim, self.venue, self.rec, self.requests = sim, venue, rec, requests
        self.seq = 0

    @property
    def account(self) -> Any:
        return self.sim.engine.accounts[KEY]

    def spec(self, symbol: str = "BTCUSDT") -> ContractSpec:
        return self.venue.contracts[symbol]

    def order(self, side: Side = Side.BUY, qty_steps: int = 10, *, symbol: str = "BTCUSDT",
              price_ticks: int | None = None, tif: TimeInForce | None = None,
              reduce_only: bool = False, cid: str | None = None) -> Order:
        self.seq += 1
        return Order(client_id=cid or f"t{self.seq}", spec=self.spec(symbol), side=side,
                     qty_steps=qty_steps,
                     order_type=OrderType.MARKET if price_ticks is None else OrderType.LIMIT,
                     price_ticks=price_ticks, time_in_force=tif, reduce_only=reduce_only)

    def sim_order(self, cid: str) -> Any:
        return self.account.orders[self.account.client_ids[cid]]


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    async with server() as sim:
        sim.advance(10)
        rec = Recorder()
        requests: list[bool] = []
        rest, ws = configs(sim)
        venue = BitunixVenue(Credentials(KEY, SECRET), rest_config=rest, ws_config=ws,
                             symbols=["BTCUSDT", "ETHUSDT"], settings=FAST,
                             on_request=requests.append)
        venue.bind(rec)
        await venue.connect()
        yield Rig(sim, venue, rec, requests)
        await venue.close()


# ----------------------------------------------------------------------------- orders

async def test_a_market_order_is_accepted_reported_filled_and_positioned(rig: Rig) -> None:
    order = rig.order(qty_steps=15)
    rig.venue.submit(order)
    await until(lambda: len(rig.rec.of("fill")) == 1)
    await until(lambda: any(isinstance(e, OrderAccepted) for e in rig.rec.events("t1")))
    sim_order = rig.sim_order("t1")
    accepted = [e for e in rig.rec.events("t1") if isinstance(e, OrderAccepted)]
    assert accepted == [OrderAccepted(venue_id=sim_order.order_id)]
    reports = [e for e in rig.rec.events("t1") if isinstance(e, OrderReport)]
    assert reports[-1].status is OrderStatus.FILLED
    assert reports[-1].filled_steps == 15
    assert reports[-1].fee == sim_order.fee  # the push's negative fee, normalised
    (fill,) = rig.rec.of("fill")
    (sim_fill,) = rig.account.fills
    assert fill == Fill(trade_id=sim_fill.trade_id, client_id="t1",
                        venue_order_id=sim_order.order_id, spec=rig.spec(), side=Side.BUY,
                        qty_steps=15, price_ticks=600000, fee=sim_fill.fee,
                        ts_ns=sim_fill.ts_ns // 1_000_000 * 1_000_000, maker=False)
    assert fill.fee > 0  # paid
    await until(lambda: any(p.qty_steps == 15 for p in rig.rec.of("position")))
    position = rig.rec.of("position")[-1]
    (sim_pos,) = rig.account.positions.values()
    assert position.position_id == sim_pos.position_id
    assert position.entry_price == D("60000")
    assert rig.rec.of("balance")
    assert all(rig.requests)


async def test_a_limit_order_body_and_a_sell_position(rig: Rig) -> None:
    resting = rig.order(Side.SELL, 3, symbol="ETHUSDT", price_ticks=251234,
                        tif=TimeInForce.POST_ONLY)
    rig.venue.submit(resting)
    await until(lambda: any(isinstance(e, OrderAccepted) for e in rig.rec.events("t1")))
    sim_order = rig.sim_order("t1")
    assert (sim_order.price, sim_order.qty, sim_order.effect, sim_order.side) == (
        D("2512.34"), D("0.003"), "POST_ONLY", "SELL")
    assert sim_order.status == "NEW"
    rig.venue.submit(rig.order(Side.SELL, 5, symbol="ETHUSDT"))
    await until(lambda: any(p.qty_steps == -5 for p in rig.rec.of("position")))
    positions = await rig.venue.positions(["ETHUSDT"])
    assert [p.qty_steps for p in positions] == [-5]
    assert await rig.venue.positions(["BTCUSDT"]) == []
    opens = await rig.venue.open_orders(["ETHUSDT"])
    assert [(o.client_id, o.side, o.qty_steps, o.price_ticks, o.reduce_only)
            for o in opens] == [("t1", Side.SELL, 3, 251234, False)]
    assert opens[0].report.status is OrderStatus.NEW


async def test_a_business_refusal_is_a_rejection_with_its_code(rig: Rig) -> None:
    rig.venue.submit(rig.order(Side.SELL, 10, reduce_only=True))  # no position to reduce
    await until(lambda: bool(rig.rec.events("t1")))
    (event,) = rig.rec.events("t1")
    assert isinstance(event, OrderRejected)
    assert event.reason.startswith("[30018]")
    assert rig.venue.stats.rejected == 1
    assert rig.requests == [True] * len(rig.requests)  # the venue answered: no failure


async def test_a_resend_refused_as_duplicate_is_the_existing_order(rig: Rig) -> None:
    order = rig.order(qty_steps=4)
    rig.venue.submit(order)
    await until(lambda: any(isinstance(e, OrderAccepted) for e in rig.rec.events("t1")))
    rig.venue.submit(order)  # the same client id again: 30042 at the venue
    await until(lambda: rig.venue.stats.duplicates == 1
                and len([e for e in rig.rec.events("t1") if isinstance(e, OrderAccepted)]) == 2)
    events = rig.rec.events("t1")
    assert not any(isinstance(e, OrderRejected) for e in events)
    venue_id = rig.sim_order("t1").order_id
    assert [e.venue_id for e in events if isinstance(e, OrderAccepted)] == [venue_id, venue_id]
    assert events[-1] == OrderReport(status=OrderStatus.FILLED, filled_steps=4,
                                     ts_ns=events[-1].ts_ns, venue_id=venue_id,
                                     fee=rig.sim_order("t1").fee)
    assert len(rig.account.orders) == 1
    assert len(rig.rec.of("fill")) == 1  # the fill is not reported twice


async def test_a_client_id_reused_by_another_order_is_refused(rig: Rig) -> None:
    rig.venue.submit(rig.order(qty_steps=4, cid="same"))
    await until(lambda: any(isinstance(e, OrderAccepted) for e in rig.rec.events("same")))
    rig.venue.submit(rig.order(Side.SELL, 4, cid="same"))
    await until(lambda: any(isinstance(e, OrderRejected) for e in rig.rec.events("same")))
    (rejected,) = [e for e in rig.rec.events("same") if isinstance(e, OrderRejected)]
    assert rejected.reason.startswith("[30042] the client id belongs to another order")
    assert "side SELL" not in rejected.reason
    assert "side BUY" in rejected.reason


async def test_a_duplicate_whose_order_cannot_be_read_has_no_verdict(
        rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    order = rig.order(qty_steps=4)
    rig.venue.submit(order)
    await until(lambda: any(isinstance(e, OrderAccepted) for e in rig.rec.events("t1")))

    async def down(**kw: Any) -> Any:
        from bitunix.exchange.errors import TransportError
        raise TransportError("down")

    monkeypatch.setattr(rig.venue.rest, "order_detail", down)
    rig.venue.submit(order)
    await until(lambda: bool(rig.rec.errors("t1")))
    (error,) = rig.rec.errors("t1")
    assert error.executed is None
    assert "30042" in error.reason
    assert not any(isinstance(e, OrderRejected) for e in rig.rec.events("t1"))


@pytest.mark.parametrize(("code", "executed"), [(10006, False), (10005, False),
                                                (10001, None), (500, None)])
async def test_answers_without_a_verdict(rig: Rig, code: int, executed: bool | None) -> None:
    rig.sim.faults.reject_fraction = 1.0
    rig.sim.faults.reject_code = code
    rig.venue.submit(rig.order())
    await until(lambda: bool(rig.rec.errors("t1")))
    (error,) = rig.rec.errors("t1")
    assert error.executed is executed
    assert rig.rec.events("t1") == []
    assert rig.account.orders == {}
    assert rig.requests[-1] is False
    assert rig.venue.stats.requests_failed >= 1


async def test_a_timeout_after_execution_is_unknown_and_the_fill_still_comes(
        rig: Rig) -> None:
    rig.sim.faults.delay_after_s = 1.0  # longer than request_timeout_s
    rig.venue.submit(rig.order(qty_steps=7))
    await until(lambda: bool(rig.rec.errors("t1")), timeout=3.0)
    (error,) = rig.rec.errors("t1")
    assert error.executed is None
    assert rig.sim_order("t1").status == "FILLED"  # executed all the same
    # The private stream reported it; its trades are read once REST answers in time.
    assert any(isinstance(e, OrderReport) and e.status is OrderStatus.FILLED
               for e in rig.rec.events("t1"))
    rig.sim.faults.delay_after_s = 0.0
    await until(lambda: len(rig.rec.of("fill")) == 1, timeout=5.0)
    report = await rig.venue.query_order(rig.order(qty_steps=7, cid="t1"))
    assert report is not None
    assert report.status is OrderStatus.FILLED


async def test_a_hung_request_times_out_unknown(rig: Rig) -> None:
    rig.sim.faults.rest_hang = True
    rig.venue.submit(rig.order())
    await until(lambda: bool(rig.rec.errors("t1")), timeout=3.0)
    assert rig.rec.errors("t1")[0].executed is None
    rig.sim.faults.rest_hang = False


async def test_a_request_never_written_may_be_sent_again(rig: Rig) -> None:
    await rig.venue.channel.close()
    rig.venue.submit(rig.order())
    await until(lambda: bool(rig.rec.errors("t1")))
    assert rig.rec.errors("t1")[0].executed is False


async def test_nothing_is_sent_before_connect() -> None:
    async with server() as sim:
        rest, ws = configs(sim)
        venue = BitunixVenue(Credentials(KEY, SECRET), rest_config=rest, ws_config=ws,
                             symbols=["BTCUSDT"], settings=FAST)
        venue.bind(Recorder())
        spec = ContractSpec(symbol="BTCUSDT", base="BTC", quote="USDT", price_decimals=1,
                            qty_decimals=4, min_qty=D("0.0001"))
        order = Order(client_id="x", spec=spec, side=Side.BUY, qty_steps=1)
        with pytest.raises(VenueNotConnectedError):
            venue.submit(order)
        with pytest.raises(VenueNotConnectedError):
            venue.cancel(order)
        await venue.close()


async def test_the_probe_is_told_when_the_bytes_are_written(rig: Rig) -> None:
    probe = LatencyProbe()
    rig.venue._probe = probe
    probe.start_signal()
    rig.venue.submit(rig.order())
    assert probe.signal_to_order.count == 1
    assert 0 < probe.signal_to_order.samples()[0] < 1_000_000_000


# ----------------------------------------------------------------------------- cancels

async def test_a_cancel_of_a_resting_order(rig: Rig) -> None:
    order = rig.order(price_ticks=590000)
    rig.venue.submit(order)
    await until(lambda: any(isinstance(e, OrderAccepted) for e in rig.rec.events("t1")))
    rig.venue.cancel(order)
    await until(lambda: any(isinstance(e, OrderReport) and e.status is OrderStatus.CANCELED
                            for e in rig.rec.events("t1")))
    assert rig.sim_order("t1").status == "CANCELED"
    assert rig.rec.errors("t1") == []


async def test_a_cancel_of_an_order_that_ended_reports_its_state(rig: Rig) -> None:
    order = rig.order()
    rig.venue.submit(order)
    await until(lambda: len(rig.rec.of("fill")) == 1)
    before = len(rig.rec.events("t1"))
    rig.venue.cancel(order)
    await until(lambda: len(rig.rec.events("t1")) > before)
    last = rig.rec.events("t1")[-1]
    assert isinstance(last, OrderReport)
    assert last.status is OrderStatus.FILLED
    assert rig.rec.errors("t1") == []


async def test_a_cancel_of_an_order_the_venue_does_not_know(rig: Rig) -> None:
    rig.venue.cancel(rig.order(cid="ghost"))
    await until(lambda: bool(rig.rec.errors("ghost")))
    assert rig.rec.errors("ghost")[0].executed is None
    assert "does not know it" in rig.rec.errors("ghost")[0].reason


async def test_a_rate_limited_cancel_may_be_sent_again(rig: Rig) -> None:
    order = rig.order(price_ticks=590000)
    rig.venue.submit(order)
    await until(lambda: any(isinstance(e, OrderAccepted) for e in rig.rec.events("t1")))
    rig.sim.faults.reject_fraction = 1.0
    rig.venue.cancel(order)
    await until(lambda: bool(rig.rec.errors("t1")))
    assert rig.rec.errors("t1")[0].executed is False
    assert rig.sim_order("t1").status == "NEW"


async def test_cancel_all(rig: Rig) -> None:
    for price in (590000, 591000):
        rig.venue.submit(rig.order(price_ticks=price))
    rig.venue.submit(rig.order(Side.BUY, 3, symbol="ETHUSDT", price_ticks=240000))
    await until(lambda: len(rig.account.open_orders) == 3)
    await rig.venue.cancel_all(["BTCUSDT"])
    assert [o.symbol for o in rig.account.open_orders.values()] == ["ETHUSDT"]
    assert [o.client_id for o in await rig.venue.open_orders([])] == ["t3"]


# ----------------------------------------------------------------------------- reads

async def test_query_order_and_fills_by_client_id(rig: Rig) -> None:
    order = rig.order(qty_steps=60)  # walks two levels of the book: two fills
    rig.venue.submit(order)
    await until(lambda: len(rig.rec.of("fill")) == 2)
    report = await rig.venue.query_order(order)
    assert report is not None
    assert (report.status, report.filled_steps, report.venue_id) == (
        OrderStatus.FILLED, 60, rig.sim_order("t1").order_id)
    fills = await rig.venue.fills(order)  # no venue id on this copy: found by client id
    assert sorted(f.trade_id for f in fills) == sorted(f.trade_id for f in rig.rec.of("fill"))
    assert sum(f.qty_steps for f in fills) == 60
    assert await rig.venue.query_order(rig.order(cid="never")) is None
    assert await rig.venue.fills(rig.order(cid="never")) == []


async def test_balance(rig: Rig) -> None:
    balance = await rig.venue.balance()
    assert (balance.coin, balance.available, balance.frozen) == ("USDT", D("100000"), D(0))


async def test_set_protection_and_a_triggered_stop_is_a_fill_without_client_id(
        rig: Rig) -> None:
    rig.venue.submit(rig.order(qty_steps=10))
    await until(lambda: any(p.qty_steps == 10 for p in rig.rec.of("position")))
    await rig.venue.set_protection(rig.spec(), tp_ticks=610000, sl_ticks=595000)
    (tpsl,) = rig.account.tpsl.values()
    assert (tpsl.kind, tpsl.tp_price, tpsl.sl_price, tpsl.sl_stop_type) == (
        "POSITION_TPSL", D("61000.0"), D("59500.0"), "LAST_PRICE")
    rig.venue._position_ids["BTCUSDT"] = "6000000000000999"  # stale: read again
    await rig.venue.set_protection(rig.spec(), tp_ticks=None, sl_ticks=596000)
    (tpsl,) = rig.account.tpsl.values()
    assert (tpsl.tp_price, tpsl.sl_price) == (None, D("59600.0"))
    rig.sim.engine.on_trade("BTCUSDT", D("59000"), D("1"), False)  # through the stop
    await until(lambda: any(p.qty_steps == 0 for p in rig.rec.of("position"))
                and len(rig.rec.of("fill")) == 2)
    stop_fill = rig.rec.of("fill")[-1]
    assert (stop_fill.client_id, stop_fill.side, stop_fill.qty_steps) == ("", Side.SELL, 10)
    with pytest.raises(PositionNotFoundError):
        await rig.venue.set_protection(rig.spec(), tp_ticks=None, sl_ticks=590000)


async def test_close_position_flash_closes_by_the_positions_fresh_id(rig: Rig) -> None:
    assert await rig.venue.close_position(rig.spec()) is False  # no position
    rig.venue.submit(rig.order(qty_steps=10))
    await until(lambda: any(p.qty_steps == 10 for p in rig.rec.of("position")))
    rig.venue._position_ids["BTCUSDT"] = "6000000000000999"  # stale: read again first
    assert await rig.venue.close_position(rig.spec()) is True
    assert rig.account.positions == {}
    await until(lambda: len(rig.rec.of("fill")) == 2)
    close_fill = rig.rec.of("fill")[-1]
    assert (close_fill.client_id, close_fill.side, close_fill.qty_steps) == ("", Side.SELL, 10)


async def test_funding_is_reported_as_paid(rig: Rig) -> None:
    rig.venue.submit(rig.order(qty_steps=20))
    rig.venue.submit(rig.order(Side.SELL, 30, symbol="ETHUSDT"))
    await until(lambda: {p.spec.symbol for p in rig.rec.of("position") if p.qty_steps}
                == {"BTCUSDT", "ETHUSDT"})
    rig.sim.engine.settle_funding()
    await until(lambda: len(rig.rec.of("funding")) == 2)
    ledger = {e.ref: e.amount for e in rig.account.ledger if e.kind == "funding"}
    ids = {p.symbol: p.position_id for p in rig.account.positions.values()}
    assert dict(rig.rec.of("funding")) == {s: -ledger[ids[s]] for s in ids}
    assert dict(rig.rec.of("funding"))["BTCUSDT"] > 0  # longs pay a positive rate
    # A REST read later does not report it again.
    await rig.venue.positions([])
    assert len(rig.rec.of("funding")) == 2


async def test_a_dropped_stream_is_reported_down_then_up(rig: Rig) -> None:
    assert rig.rec.of("stream") == [True]
    await rig.sim.drop_sockets()
    await until(lambda: rig.rec.of("stream") == [True, False, True])
    # Pushes flow again on the new connection.
    rig.venue.submit(rig.order())
    await until(lambda: len(rig.rec.of("fill")) == 1)


async def test_pushes_of_symbols_without_a_contract_are_ignored(rig: Rig) -> None:
    from bitunix.sim.engine import SimOrderRequest

    rig.sim.engine.on_book("SOLUSDT", [[D("150.0000"), D("100")]],
                           [[D("150.0100"), D("100")]])
    rig.sim.engine.place_order(KEY, SimOrderRequest(symbol="SOLUSDT", side="BUY",
                                                    order_type="MARKET", qty=D("1.0")))
    await until(lambda: rig.venue.stats.unknown_symbols >= 2)
    assert not any(p.spec.symbol == "SOLUSDT" for p in rig.rec.of("position"))
    assert await rig.venue.positions([]) == []


async def test_the_live_spellings_of_the_simulator_in_quirks_mode() -> None:
    """Mixed-case sides and types in pushes, NEW_ statuses, BUY/SELL position sides."""
    async with server(quirks=True) as sim:
        sim.advance(10)
        rec = Recorder()
        rest, ws = configs(sim)
        async with BitunixVenue(Credentials(KEY, SECRET), rest_config=rest, ws_config=ws,
                                symbols=["BTCUSDT"], settings=FAST) as venue:
            venue.bind(rec)
            spec = venue.contracts["BTCUSDT"]
            venue.submit(Order(client_id="q1", spec=spec, side=Side.SELL, qty_steps=5))
            venue.submit(Order(client_id="q2", spec=spec, side=Side.BUY, qty_steps=5,
                               order_type=OrderType.LIMIT, price_ticks=590000))
            await until(lambda: len(rec.of("fill")) == 1
                        and any(p.qty_steps == -5 for p in rec.of("position")))
            (opened,) = await venue.open_orders(["BTCUSDT"])
            assert (opened.client_id, opened.report.status) == ("q2", OrderStatus.NEW)
            assert [p.qty_steps for p in await venue.positions([])] == [-5]
            assert rec.of("fill")[0].side is Side.SELL


# ----------------------------------------------------------------------------- connect

async def _venue_for(sim: SimServer, settings: BitunixVenueSettings = FAST,
                     symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT"),
                     secret: str = SECRET) -> BitunixVenue:
    rest, ws = configs(sim)
    return BitunixVenue(Credentials(KEY, secret), rest_config=rest, ws_config=ws,
                        symbols=list(symbols), settings=settings)


async def test_connect_switches_a_flat_hedge_account_to_one_way_and_sets_leverage() -> None:
    async with server(position_mode="HEDGE") as sim:
        sim.advance(10)
        settings = msgspec_replace(FAST, leverage={"BTCUSDT": 7, "ETHUSDT": 20})
        venue = await _venue_for(sim, settings)
        await venue.connect()
        account = sim.engine.accounts[KEY]
        assert account.position_mode == "ONE_WAY"
        assert account.leverage.get("BTCUSDT") == 7
        assert venue.setup_log == ["position mode HEDGE -> ONE_WAY",
                                   "leverage of BTCUSDT 20 -> 7"]
        await venue.close()


async def test_connect_never_changes_what_is_open() -> None:
    from bitunix.sim.engine import SimOrderRequest

    async with server() as sim:
        sim.advance(10)
        sim.engine.place_order(KEY, SimOrderRequest(symbol="ETHUSDT", side="BUY",
                                                    order_type="MARKET", qty=D("0.01")))
        settings = msgspec_replace(FAST, leverage={"BTCUSDT": 5, "ETHUSDT": 5})
        venue = await _venue_for(sim, settings)
        await venue.connect()
        account = sim.engine.accounts[KEY]
        assert account.leverage.get("BTCUSDT") == 5
        assert "ETHUSDT" not in account.leverage
        assert "leverage of ETHUSDT left as is: a position or an order is open" in (
            venue.setup_log)
        await venue.close()
    async with server(position_mode="HEDGE") as sim:
        sim.advance(10)
        sim.engine.place_order(KEY, SimOrderRequest(
            symbol="BTCUSDT", side="BUY", order_type="LIMIT", price=D("59000"),
            qty=D("0.001"), trade_side="OPEN"))
        venue = await _venue_for(sim)
        with pytest.raises(ConfigError, match=r"HEDGE position mode.*open on BTCUSDT"):
            await venue.connect()
        assert sim.engine.accounts[KEY].position_mode == "HEDGE"
        venue = await _venue_for(sim, msgspec_replace(FAST, one_way=False))
        sim.engine.cancel_all(KEY)
        with pytest.raises(ConfigError, match="one_way is false"):
            await venue.connect()


async def test_connect_refuses_what_it_cannot_trade() -> None:
    async with server() as sim:
        sim.advance(10)
        venue = await _venue_for(sim, symbols=("BTCUSDT", "NOPEUSDT"))
        with pytest.raises(ExchangeError, match="20015"):
            await venue.connect()
        rest, ws = configs(sim)
        btc = ContractSpec(symbol="BTCUSDT", base="BTC", quote="USDT", price_decimals=1,
                           qty_decimals=4, min_qty=D("0.0001"))
        venue = BitunixVenue(Credentials(KEY, SECRET), rest_config=rest, ws_config=ws,
                             symbols=["BTCUSDT", "ETHUSDT"], contracts={"BTCUSDT": btc})
        with pytest.raises(ConfigError, match="no contract for ETHUSDT"):
            await venue.connect()
        venue = await _venue_for(sim, secret="wrong-secret")
        with pytest.raises(ExchangeError, match="10007"):
            await venue.connect()
        assert venue.channel.connections == 0


async def test_connect_fails_when_the_stream_never_goes_live() -> None:
    async with server() as sim:
        sim.advance(10)
        rest, _ = configs(sim)
        ws = WsConfig(public_url=sim.public_ws_url, private_url="ws://127.0.0.1:9/private/",
                      connect_timeout_s=0.2, reconnect_base_s=0.05, reconnect_max_s=0.1)
        venue = BitunixVenue(Credentials(KEY, SECRET), rest_config=rest, ws_config=ws,
                             symbols=["BTCUSDT"],
                             settings=msgspec_replace(FAST, stream_timeout_s=0.3))
        with pytest.raises(ExchangeError, match=r"not live within 0\.3 s"):
            await venue.connect()
        assert venue.channel.connections == 0


def msgspec_replace(settings: BitunixVenueSettings, **kw: Any) -> BitunixVenueSettings:
    import msgspec

    return msgspec.structs.replace(settings, **kw)


@pytest.mark.parametrize(("kw", "message"), [
    ({"pool_size": 0}, "venue.bitunix.pool_size must be an integer >= 1, was 0"),
    ({"pool_size": 4, "max_connections": 2}, "max_connections must be >= pool_size"),
    ({"request_timeout_s": 0}, "request_timeout_s must be a finite number > 0, was 0"),
    ({"fill_retry_s": float("nan")}, "fill_retry_s must be a finite number > 0"),
    ({"leverage": {"BTCUSDT": 0}}, "venue.bitunix.leverage.BTCUSDT must be an integer"),
])
def test_settings_refuse_bad_values(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        BitunixVenueSettings(**kw)


# ----------------------------------------------------------------------------- failures

async def test_trades_unreadable_at_first_are_read_again(
        rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    from bitunix.exchange.errors import TransportError

    real = rig.venue.rest.history_trades
    failures = [2]

    async def flaky(*args: Any, **kw: Any) -> Any:
        if failures[0]:
            failures[0] -= 1
            raise TransportError("down")
        return await real(*args, **kw)

    monkeypatch.setattr(rig.venue.rest, "history_trades", flaky)
    rig.venue.submit(rig.order())
    await until(lambda: len(rig.rec.of("fill")) == 1)
    assert rig.venue.stats.fill_fetch_failures == 2
    assert rig.requests.count(False) == 2  # each failure told to the error-rate breaker


async def test_trades_never_readable_are_left_to_the_order_manager(
        rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    from bitunix.exchange.errors import TransportError

    async def down(*args: Any, **kw: Any) -> Any:
        raise TransportError("down")

    monkeypatch.setattr(rig.venue.rest, "history_trades", down)
    rig.venue.submit(rig.order())
    await until(lambda: rig.venue.stats.fill_fetch_failures == FAST.fill_fetch_attempts)
    await asyncio.sleep(0.05)
    assert rig.rec.of("fill") == []
    assert rig.venue.stats.fill_fetch_failures == FAST.fill_fetch_attempts
    monkeypatch.undo()
    # The order manager's own gap check asks for them later: they are all there.
    (fill,) = await rig.venue.fills(rig.order(cid="t1"))
    assert fill.qty_steps == 10


async def test_a_push_that_cannot_be_read_is_counted_and_skipped(rig: Rig) -> None:
    from bitunix.wire.private import OrderData, OrderPush

    bad = OrderData(event="UPDATE", order_id="1", symbol="BTCUSDT", side="BUY",
                    qty=D("0.001"), order_status="HALF_DONE", client_id="t9")
    good = OrderData(event="CREATE", order_id="2", symbol="BTCUSDT", side="BUY",
                     qty=D("0.001"), order_status="NEW", client_id="t8")
    rig.venue.ws.handler.on_order(OrderPush(ts=1, data=[bad, good]))
    assert rig.venue.stats.convert_errors == 1
    assert rig.rec.events("t9") == []
    assert [e.status for e in rig.rec.events("t8")] == [OrderStatus.NEW]


async def test_a_limit_order_without_a_price_is_not_sent(rig: Rig) -> None:
    from bitunix.exchange.requests import InvalidRequestError

    order = Order(client_id="np", spec=rig.spec(), side=Side.BUY, qty_steps=1,
                  order_type=OrderType.LIMIT)
    with pytest.raises(InvalidRequestError, match="needs a price"):
        rig.venue.submit(order)
    assert rig.venue.stats.submits == 0
    assert rig.venue.name == "bitunix"
    assert rig.venue.stats.as_dict()["submits"] == 0
