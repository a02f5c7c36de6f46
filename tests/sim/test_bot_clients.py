"""The bot's own connectivity (``bitunix.exchange``: BitunixREST, BitunixWS) against the
simulator: the same code that talks to Bitunix runs unchanged against ``bitunix.sim``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from decimal import Decimal

import pytest

from bitunix.data import TradeEvent
from bitunix.exchange import (
    BitunixREST,
    BitunixWS,
    Credentials,
    ExchangeError,
    OrderRequest,
    RestConfig,
    TpslRequest,
    WsConfig,
    WsHandler,
)
from bitunix.model.enums import OrderType, PositionMode, Side, StopType, TimeInForce, TradeSide
from bitunix.sim.server import SimServer
from bitunix.wire import (
    BalancePush,
    DepthPush,
    OrderPush,
    PositionPush,
    PricePush,
    TpslPush,
    TradePush,
)

from .conftest import KEY, SECRET, START_NS, stepped_server

D = Decimal


class Recorder(WsHandler):
    def __init__(self) -> None:
        self.got: list[object] = []

    def on_trade(self, msg: TradePush) -> None:
        self.got.append(msg)

    def on_depth(self, msg: DepthPush) -> None:
        self.got.append(msg)

    def on_price(self, msg: PricePush) -> None:
        self.got.append(msg)

    def on_order(self, msg: OrderPush) -> None:
        self.got.append(msg)

    def on_position(self, msg: PositionPush) -> None:
        self.got.append(msg)

    def on_balance(self, msg: BalancePush) -> None:
        self.got.append(msg)

    def on_tpsl(self, msg: TpslPush) -> None:
        self.got.append(msg)

    def of(self, kind: type) -> list[object]:
        return [m for m in self.got if isinstance(m, kind)]


async def until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    async def poll() -> None:
        while not cond():
            await asyncio.sleep(0.005)

    await asyncio.wait_for(poll(), timeout)


def ws_config(sim: SimServer) -> WsConfig:
    return WsConfig(public_url=sim.public_ws_url, private_url=sim.private_ws_url,
                    connect_timeout_s=3.0, login_timeout_s=3.0, connect_frame_wait_s=1.0,
                    reconnect_base_s=0.05, reconnect_max_s=0.2, stale_after_s=30.0)


@pytest.fixture
async def server() -> AsyncIterator[SimServer]:
    async with stepped_server() as sim:
        sim.advance(10)
        yield sim


@pytest.fixture
async def rest(server: SimServer) -> AsyncIterator[BitunixREST]:
    config = RestConfig(base_url=server.rest_url, rate_limits=False, max_retries=0)
    async with BitunixREST(Credentials(KEY, SECRET), config) as client:
        yield client


async def test_rest_market_data(rest: BitunixREST) -> None:
    contracts = await rest.contracts()
    btc = contracts["BTCUSDT"]
    assert btc.tick_size == D("0.1")
    assert btc.qty_step == D("0.0001")
    (ticker,) = await rest.tickers(["BTCUSDT"])
    assert ticker.last_price == 60000.0
    depth = await rest.depth("BTCUSDT", 5)
    assert len(depth.bids) == 5
    klines = await rest.klines("BTCUSDT", "1m")
    assert klines[-1].close == 60000.0
    funding = await rest.funding_rate("BTCUSDT")
    assert funding.funding_rate == D("0.01")
    assert (await rest.position_tiers("BTCUSDT"))[0].maintenance_margin_rate == D("0.004")
    assert await rest.funding_rate_history("BTCUSDT") == []


async def test_rest_trading_round_trip_in_hedge_mode(rest: BitunixREST) -> None:
    account = await rest.account()
    assert account.available == D("100000")
    await rest.change_leverage("BTCUSDT", 10)
    await rest.change_position_mode(PositionMode.HEDGE)
    assert (await rest.leverage_margin_mode("BTCUSDT")).leverage == 10
    ack = await rest.place_order(OrderRequest(
        symbol="BTCUSDT", side=Side.BUY, qty=D("0.2"), price=D("59000"),
        trade_side=TradeSide.OPEN, effect=TimeInForce.GTC))
    assert ack.order_id
    assert ack.client_id
    pending = await rest.all_pending_orders("BTCUSDT")
    assert [o.order_id for o in pending] == [ack.order_id]
    await rest.modify_order(order_id=ack.order_id, qty=D("0.3"), price=D("59100"))
    detail = await rest.order_detail(client_id=ack.client_id)
    assert (detail.qty, detail.price) == (D("0.3"), "59100")
    result = await rest.cancel_orders("BTCUSDT", order_ids=[ack.order_id])
    assert [s.order_id for s in result.success_list] == [ack.order_id]

    await rest.place_order(OrderRequest(symbol="BTCUSDT", side=Side.BUY, qty=D("0.5"),
                                        order_type=OrderType.MARKET, trade_side=TradeSide.OPEN))
    (pos,) = await rest.pending_positions("BTCUSDT")
    assert (pos.side, pos.qty, pos.leverage) == ("LONG", D("0.5"), 10)
    tp = await rest.place_tpsl(TpslRequest(symbol="BTCUSDT", position_id=pos.position_id,
                                           tp_price=D("65000"), tp_stop_type=StopType.MARK_PRICE,
                                           tp_qty=D("0.5")))
    assert [t.id for t in await rest.pending_tpsl("BTCUSDT")] == [tp.order_id]
    close = await rest.place_order(OrderRequest(
        symbol="BTCUSDT", side=Side.BUY, qty=D("0.5"), order_type=OrderType.MARKET,
        trade_side=TradeSide.CLOSE, position_id=pos.position_id, reduce_only=True))
    assert await rest.pending_positions("BTCUSDT") == []
    fills = await rest.history_trades("BTCUSDT")
    assert fills.total == 2
    closing = next(f for f in fills.trade_list if f.order_id == close.order_id)
    assert closing.side == "SELL"
    assert closing.realized_pnl == D("-0.05")  # bought at 60000, sold at 59999.9
    history = await rest.history_orders("BTCUSDT")
    assert {o.status for o in history.order_list} == {"CANCELED", "FILLED"}
    assert (await rest.history_positions("BTCUSDT")).total == 1


async def test_rest_errors_surface_as_exchange_errors(rest: BitunixREST) -> None:
    with pytest.raises(ExchangeError) as info:
        await rest.place_order(OrderRequest(symbol="BTCUSDT", side=Side.BUY, qty=D("0.00001"),
                                            order_type=OrderType.MARKET))
    assert info.value.code == 10002
    bad = BitunixREST(Credentials(KEY, "wrong"), RestConfig(base_url=rest.config.base_url,
                                                             rate_limits=False, max_retries=0))
    async with bad:
        with pytest.raises(ExchangeError) as auth:
            await bad.account()
    assert auth.value.code == 10007


async def test_public_ws_client_receives_trades_and_depth(server: SimServer) -> None:
    handler = Recorder()
    ws = BitunixWS(handler, ws_config(server))
    ws.subscribe([("trade", "BTCUSDT"), ("depth_book15", "BTCUSDT"), ("price", "BTCUSDT")])
    ws.start()
    try:
        await ws.wait_live(5)
        await until(lambda: len(server.sessions) == 1
                    and len(next(iter(server.sessions)).subs) == 3)
        server.publish()
        server.playback.apply(TradeEvent(ts_ns=START_NS + 99, symbol="BTCUSDT",
                                         price="60000.1", qty="0.25", is_buy=False))
        await until(lambda: bool(handler.of(TradePush)) and bool(handler.of(DepthPush))
                    and bool(handler.of(PricePush)))
        trade = handler.of(TradePush)[0]
        assert isinstance(trade, TradePush)
        assert trade.symbol == "BTCUSDT"
        depth = handler.of(DepthPush)[0]
        assert isinstance(depth, DepthPush)
        assert depth.symbol == "BTCUSDT"
    finally:
        await ws.close()


async def test_private_ws_client_logs_in_and_gets_every_push(server: SimServer,
                                                            rest: BitunixREST) -> None:
    handler = Recorder()
    ws = BitunixWS(handler, ws_config(server), credentials=Credentials(KEY, SECRET))
    ws.start()
    try:
        await ws.wait_live(5)
        await until(lambda: any(s.uid == KEY and len(s.subs) == 4 for s in server.sessions))
        await rest.place_order(OrderRequest(symbol="BTCUSDT", side=Side.BUY, qty=D("0.5"),
                                            order_type=OrderType.MARKET))
        (pos,) = await rest.pending_positions("BTCUSDT")
        await rest.place_position_tpsl("BTCUSDT", pos.position_id, sl_price=D("50000"))
        await until(lambda: bool(handler.of(OrderPush)) and bool(handler.of(PositionPush))
                    and bool(handler.of(BalancePush)) and bool(handler.of(TpslPush)))
        orders = [m for m in handler.of(OrderPush) if isinstance(m, OrderPush)]
        assert [o.data.event for o in orders] == ["CREATE", "CLOSE"]
        assert orders[-1].data.order_status == "FILLED"
        assert orders[-1].data.deal_amount == D("0.5")
        position = handler.of(PositionPush)[0]
        assert isinstance(position, PositionPush)
        assert position.data.event == "OPEN"
        assert position.data.position_id == pos.position_id
        tpsl = handler.of(TpslPush)[0]
        assert isinstance(tpsl, TpslPush)
        assert tpsl.data.sl_price == D("50000")
        # the exchange drops every socket: the client reconnects, logs in again, resubscribes
        await server.drop_sockets()
        await until(lambda: any(s.uid == KEY and len(s.subs) == 4 for s in server.sessions))
        handler.got.clear()
        await rest.flash_close_position(pos.position_id)
        await until(lambda: any(isinstance(m, PositionPush) and m.data.event == "CLOSE"
                                for m in handler.got))
    finally:
        await ws.close()
