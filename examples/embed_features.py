"""Embedding bitunix in another bot: the native feature core and the exchange clients inside
a host's own asyncio loop, without the rest of bitunix-bot (no strategy stack, risk gate,
order manager or store).

    python examples/embed_features.py            # about 5 s; everything on 127.0.0.1
    python examples/embed_features.py --json     # the last line is a JSON summary

The host here is a toy: it starts the built-in simulator on 127.0.0.1 (Bitunix has no
testnet; point ``RestConfig``/``WsConfig`` at the real URLs instead), feeds every public
trade and book push straight from the WebSocket callback into a ``FeatureEngine`` (C
kernels, O(1) per update, no allocation), reads the feature vector on its own timer, and
when the features are warm sends one small order through ``BitunixREST``, waits for the
fill on the private WebSocket, and closes the position. docs/embedding.md explains each
piece; tests/test_examples.py runs this file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from decimal import Decimal
from typing import Any

from bitunix.exchange import (
    BitunixREST,
    BitunixWS,
    Credentials,
    OrderRequest,
    RestConfig,
    WsConfig,
    WsHandler,
)
from bitunix.features import FEATURE_NAMES, BookArrays, FeatureEngine
from bitunix.model import OrderType, Side, TradeSide
from bitunix.sim.server import SimServer
from bitunix.wire import DepthPush, OrderPush, TradePush

SYMBOL = "BTCUSDT"
MS = 1_000_000  # ns per ms: the venue stamps pushes in ms, the kernels take ns


class MarketFeed(WsHandler):
    """Public pushes into the native engine, straight from picows' frame callback: no task,
    queue or object per message (keep handlers this cheap: they run on the socket's read)."""

    def __init__(self, engine: FeatureEngine) -> None:
        self.engine = engine
        self.book = BookArrays(15)  # reused float64 buffers for on_book
        self.trades = 0
        self.books = 0

    def on_trade(self, msg: TradePush) -> None:
        ts_ns = msg.ts * MS
        for t in msg.data:
            if self.engine.on_trade(t.p, t.v, ts_ns, t.is_buy):
                self.trades += 1

    def on_depth(self, msg: DepthPush) -> None:
        if self.book.feed(self.engine, msg.data, msg.ts * MS):
            self.books += 1


class OrderFeed(WsHandler):
    """Private order pushes: the host's own bookkeeping, keyed by its client ids."""

    def __init__(self) -> None:
        self.status: dict[str, str] = {}
        self.filled = asyncio.Event()
        self.wanted: set[str] = set()

    def on_order(self, msg: OrderPush) -> None:
        for order in msg.items:
            if order.client_id is None:
                continue
            self.status[order.client_id] = order.order_status
            if order.client_id in self.wanted and order.order_status == "FILLED":
                self.wanted.discard(order.client_id)
                if not self.wanted:
                    self.filled.set()


async def _wait_filled(orders: OrderFeed, client_id: str, timeout_s: float) -> None:
    orders.filled.clear()
    orders.wanted = {client_id}
    if orders.status.get(client_id) == "FILLED":  # the push beat us to it
        return
    await asyncio.wait_for(orders.filled.wait(), timeout_s)


async def host_bot(timeout_s: float) -> dict[str, Any]:
    """The host's main coroutine: returns what it saw and did."""
    started = time.monotonic()
    async with SimServer(speed=20, wait_for_subscriber=True) as sim:
        creds = Credentials("sim-api-key", "sim-secret-key")  # the simulator's fixed pair
        async with BitunixREST(creds, RestConfig(base_url=sim.rest_url)) as rest:
            spec = (await rest.contracts([SYMBOL]))[SYMBOL]
            engine = FeatureEngine(tick_size=float(spec.tick_size), min_samples=20)
            market = MarketFeed(engine)
            public = BitunixWS(market, WsConfig(public_url=sim.public_ws_url))
            public.subscribe([("trade", SYMBOL), ("depth_book15", SYMBOL)])
            orders = OrderFeed()
            private = BitunixWS(orders, WsConfig(private_url=sim.private_ws_url),
                                credentials=creds)
            public.start()
            private.start()
            await public.wait_live(10)
            await private.wait_live(10)

            # The host's own timer: every 50 ms it reads the vector the kernels keep current.
            features: dict[str, float] = {}
            while time.monotonic() - started < timeout_s:
                if engine.write():  # True once every feature is valid (warm)
                    features = dict(zip(FEATURE_NAMES, engine.vector.tolist(), strict=True))
                    break
                await asyncio.sleep(0.05)
            if not features:
                raise SystemExit(f"features not warm within {timeout_s} s "
                                 f"({market.trades} trades, {market.books} books)")

            # The host's rule (a toy): fade the deviation from VWAP with the smallest order.
            side = Side.SELL if features["vwap_z"] > 0 else Side.BUY
            entry = OrderRequest(symbol=SYMBOL, side=side, qty=spec.min_order_qty,
                                 order_type=OrderType.MARKET, trade_side=TradeSide.OPEN)
            ack = await rest.place_order(entry)  # keep `entry`: resending it is idempotent
            await _wait_filled(orders, entry.client_id or "", 10)
            positions = await rest.pending_positions(SYMBOL)
            held = sum((p.qty for p in positions), Decimal(0))

            close = OrderRequest(symbol=SYMBOL, side=Side.BUY if side is Side.SELL
                                 else Side.SELL, qty=spec.min_order_qty,
                                 order_type=OrderType.MARKET, reduce_only=True,
                                 trade_side=TradeSide.CLOSE,
                                 position_id=positions[0].position_id if positions else None)
            await rest.place_order(close)
            await _wait_filled(orders, close.client_id or "", 10)
            left = await rest.pending_positions(SYMBOL)

            await public.close()
            await private.close()
    return {
        "symbol": SYMBOL,
        "tick_size": str(spec.tick_size),
        "trades": market.trades,
        "books": market.books,
        "features": {k: round(v, 6) for k, v in features.items()},
        "entry": {"side": side.value, "qty": str(entry.qty), "client_id": entry.client_id,
                  "order_id": ack.order_id, "status": orders.status.get(entry.client_id or "")},
        "position_qty_after_entry": str(held),
        "close_status": orders.status.get(close.client_id or ""),
        "positions_after_close": len(left),
        "seconds": round(time.monotonic() - started, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="end with a JSON summary line")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds to wait for warm features (default 30)")
    args = parser.parse_args(argv)
    report = asyncio.run(host_bot(args.timeout))
    entry = report["entry"]
    print(f"{report['trades']} trades and {report['books']} books through the native engine")
    print("features: " + ", ".join(f"{k}={v:g}" for k, v in report["features"].items()))
    print(f"entry {entry['side']} {entry['qty']} {SYMBOL}: {entry['status']}, "
          f"position {report['position_qty_after_entry']}; close: {report['close_status']}, "
          f"{report['positions_after_close']} positions left ({report['seconds']} s)")
    if args.json:
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
