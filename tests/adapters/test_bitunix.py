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
from bitunix.execution import SubmitError, VenuePosition
from bitunix.model import (
    Balance,
    ContractSpec,
    Fill,
    Order,
    OrderAccepted,
    OrderEvent,
    OrderRejected,
    OrderReport,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from bitunix.model.market import BookEvent, MarketEvent
from bitunix.sim.server import SimServer

D = Decimal
KEY, SECRET = "adapter-key", "adapter-secret"
START_NS = 1_723_161_255_000_000_000


class Recorder:
    """A VenueListener that keeps every call in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def on_order_event(self, client_id: str, event: OrderEvent) -> None:
        self.calls.append(("event", (client_id, event)))

    def on_submit_error(self, client_id: str, error: SubmitError) -> None:
        self.calls.append(("error", (client_id, error)))

    def on_fill(self, fill: Fill) -> None:
        self.calls.append(("fill", fill))

    def on_position(self, position: VenuePosition) -> None:
        self.calls.append(("position", position))

    def on_balance(self, balance: Balance) -> None:
        self.calls.append(("balance", balance))

    def on_funding(self, spec: ContractSpec, paid: Decimal, ts_ns: int) -> None:
        self.calls.append(("funding", (spec.symbol, paid)))

    def on_stream(self, connected: bool) -> None:
        self.calls.append(("stream", connected))

    def of(self, kind: str) -> list[Any]:
        return [arg for k, arg in self.calls if k == kind]

    def events(self, cid: str) -> list[OrderEvent]:
        return [e for c, e in self.of("event") if c == cid]

    def errors(self, cid: str) -> list[SubmitError]:
        return [e for c, e in self.of("error") if c == cid]


def book(symbol: str, mid: str, tick: str, qty: str = "5", levels: int = 5,
         ts_ns: int = START_NS) -> BookEvent:
    m, t = D(mid), D(tick)
    return BookEvent(ts_ns=ts_ns, symbol=symbol,
                     bids=[(str(m - t * (i + 1)), qty) for i in range(levels)],
                     asks=[(str(m + t * i), qty) for i in range(levels)])


def market() -> list[MarketEvent]:
    return [book("BTCUSDT", "60000", "0.1"), book("ETHUSDT", "2500", "0.01", qty="100")]


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
