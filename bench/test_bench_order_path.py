"""The whole order path, signal -> request bytes written, against the same request sent with
aiohttp, in the same run, both against the simulator's own server.

The venue is a :class:`~bitunix.sim.server.SimServer` (stepped, one deep BTCUSDT book) in a
forked process (on its own CPU when there are two), so that it executes every order, pushes
its private events and answers every read like the venue would, without sharing the
client's event loop. The client runs on uvloop, as the bot does:

* ``order_path/trader signal->written``: ``Trader.on_signal`` (entry plan, risk checks and
  sizing, the intent) -> ``ExecutionEngine.submit`` (client id, order, journal) ->
  ``BitunixVenue.submit`` (msgspec body, signature, ``transport.write``), from the
  ``LatencyProbe`` the bot uses (``start_signal`` in the trader, ``written`` in the adapter);
  each order is filled, protected (position TP/SL) and closed before the next signal, so
  the event loop carries the answers, pushes and fill reads of a real round trip;
* ``order_path/engine intent->written``: ``ExecutionEngine.submit`` of a ready intent;
* ``order_path/adapter order->written``: ``BitunixVenue.submit`` of a ready order;
* ``aiohttp/place_order call->written``: ``BitunixREST.place_order`` until aiohttp has sent
  the body (its ``on_request_chunk_sent`` trace), the baseline;
* round trips: engine intent -> acknowledgement (fast path) and ``BitunixREST.place_order``
  -> ack (aiohttp);
* ``floor/os_write``: one ``os.write`` of a signed request of the same size on a bare
  keep-alive connection to the same server: the kernel's share of "written".

Wall time is what the bot sees; this thread's CPU time (``... cpu``) leaves out preemption.
On a shared VM both depend on how warm the CPU is: an order sent after a few idle
milliseconds costs several times one sent while the loop is busy (caches, frequency, the
hypervisor), so the adapter and the floor are paced alike (the answer, then 1 ms).

    PYTHONPATH=src python -m pytest bench/test_bench_order_path.py --benchmark-only -s
"""

from __future__ import annotations

import asyncio
import itertools
import operator
import os
import socket
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import partial
from multiprocessing.connection import Connection
from types import SimpleNamespace
from typing import Any

import aiohttp
import msgspec
import pytest
import uvloop

from bench.conftest import RATIOS, record_percentiles
from bench.forked import forked_server, pin_server
from bitunix.adapters.bitunix import BitunixVenue, BitunixVenueSettings
from bitunix.adapters.bitunix_convert import PlaceMarketBody
from bitunix.app.trader import StrategyFeedback, Trader
from bitunix.config import Mode, TraderSection
from bitunix.core.clock import LiveClock
from bitunix.core.latency import LatencyProbe
from bitunix.exchange import BitunixREST, Credentials, OrderRequest, RestConfig, WsConfig
from bitunix.execution import ClientIdFactory, ExecutionEngine, ExecutionSettings
from bitunix.model import (
    Fill,
    Order,
    OrderAccepted,
    OrderIntent,
    OrderRejected,
    OrderStatus,
    OrderType,
    Position,
    Side,
)
from bitunix.model.records import AuditEntry, Decision
from bitunix.risk.config import RiskConfig, SymbolRiskConfig
from bitunix.risk.gate import RiskGate
from bitunix.strategy import Direction, Signal, SignalKind

KEY, SECRET = "bench-key-0123456789", "bench-secret-0123456789"
MID = 60_000
SAMPLES = 1500

RATIOS.extend([
    ("order path: aiohttp call->written / trader signal->written (p50)",
     "aiohttp/place_order call->written p50", "order_path/trader signal->written p50"),
    ("order path: aiohttp call->written / engine intent->written (p50)",
     "aiohttp/place_order call->written p50", "order_path/engine intent->written p50"),
    ("order path: trader signal->written / os.write floor (p50)",
     "order_path/trader signal->written p50", "floor/os_write p50"),
    ("order path: adapter order->written / os.write floor (p50)",
     "order_path/adapter order->written p50", "floor/os_write p50"),
    ("order path: aiohttp round trip / fast round trip (p50)",
     "aiohttp/place_order round trip p50", "order_path/engine intent->ack p50"),
])


# ------------------------------------------------------------------------ the venue

def _serve(port_out: Connection, cmds: Connection) -> None:  # pragma: no cover - child
    from bitunix.model.market import BookEvent
    from bitunix.sim.server import SimServer

    bids = [(f"{MID - 0.1 * (i + 1):.1f}", "1000") for i in range(20)]
    asks = [(f"{MID + 0.1 * i:.1f}", "1000") for i in range(20)]
    events = [BookEvent(ts_ns=time.time_ns(), symbol="BTCUSDT", bids=bids, asks=asks)]

    async def main() -> None:
        sim = SimServer(source=lambda: iter(events), speed=0, push_interval_s=None,
                        loop_data=False, api_keys={KEY: SECRET}, balance=Decimal("1000000"),
                        ws_msg_per_s=None)
        await sim.start()
        sim.advance(1)
        port_out.send(sim.port)
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        loop.add_reader(cmds.fileno(), lambda: done.done() or done.set_result(None))
        await done
        await sim.stop()

    pin_server()
    uvloop.run(main())




@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with forked_server(_serve, start_timeout_s=30) as ready:
        yield ready


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    lp = uvloop.new_event_loop()
    asyncio.set_event_loop(lp)
    yield lp
    asyncio.set_event_loop(None)
    lp.close()


class NullJournal:
    """The store's write-behind enqueue costs next to nothing; this one costs nothing."""

    def record_order(self, order: Order) -> None:
        pass

    def record_fill(self, fill: Fill) -> None:
        pass

    def record_position(self, position: Position) -> None:
        pass

    def record_audit(self, entry: AuditEntry) -> None:
        pass

    def record_decision(self, decision: Decision) -> None:
        pass


#: The order manager's timings: nothing times out during the bench.
ENGINE = ExecutionSettings(ack_timeout_s=5.0, entry_timeout_s=0.0, silence_s=5.0,
                           reconcile_interval_s=0.0)


@pytest.fixture(scope="module")
def bot(port: int, loop: asyncio.AbstractEventLoop) -> Iterator[SimpleNamespace]:
    """The adapter, engine and trader of a paper bot, connected to the simulator."""
    url = f"http://127.0.0.1:{port}"
    probe = LatencyProbe(capacity=4 * SAMPLES)
    clock = LiveClock()
    venue = BitunixVenue(
        Credentials(KEY, SECRET), rest_config=RestConfig(base_url=url, rate_limits=False),
        ws_config=WsConfig(public_url=f"ws://127.0.0.1:{port}/public/",
                           private_url=f"ws://127.0.0.1:{port}/private/"),
        symbols=["BTCUSDT"], settings=BitunixVenueSettings(pool_size=4), probe=probe,
        clock=clock)
    journal = NullJournal()
    engine = ExecutionEngine(venue, journal, clock=clock,
                             ids=ClientIdFactory("bench", time.time_ns() // 1_000_000),
                             settings=ENGINE, symbols=["BTCUSDT"], loop=loop)
    loop.run_until_complete(venue.connect())
    loop.run_until_complete(engine.reconcile())
    # Small entries: a day of round trips' fees stays far from the daily loss limit.
    risk = RiskConfig(symbols={"BTCUSDT": SymbolRiskConfig(max_order_qty=Decimal("0.002"))})
    trader = Trader(mode=Mode.PAPER, contracts=venue.contracts, gate=RiskGate(risk),
                    engine=engine, journal=journal, feedback=StrategyFeedback({}),
                    config=TraderSection(), clock=clock, probe=probe,
                    model_name=lambda: "bench", paper_equity=Decimal("10000"))
    trader.enabled = True
    yield SimpleNamespace(venue=venue, engine=engine, trader=trader, probe=probe, url=url)
    loop.run_until_complete(engine.flatten(timeout_s=10.0))
    loop.run_until_complete(engine.close())
    loop.run_until_complete(venue.close())


async def _until(cond: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("the venue did not answer in time")
        await asyncio.sleep(0.0002)


def _percentiles(name: str, samples_ns: list[int], benchmark: Any) -> tuple[float, float]:
    return record_percentiles(name, samples_ns, benchmark, "orders")


def _signal(i: int) -> Signal:
    long_ = i % 2 == 0
    d = 1 if long_ else -1
    return Signal(strategy="bench", symbol="BTCUSDT", ts_ns=time.time_ns(),
                  kind=SignalKind.ENTER, direction=Direction.LONG if long_ else Direction.SHORT,
                  price=float(MID), stop=MID - d * 60.0, target=MID + d * 90.0,
                  probability=0.8, score_source="bench")


# ------------------------------------------------------------------ the measurements

def test_trader_signal_to_bytes(benchmark: Any, bot: SimpleNamespace,
                                loop: asyncio.AbstractEventLoop) -> None:
    """A signal through the trader: each one an entry that fills, is protected at the
    exchange and closed (outside the measured span) before the next. Wall time from the
    probe; this thread's CPU time over the whole ``on_signal`` call (which also journals
    the decision after the write) leaves out time the thread was preempted."""
    engine, trader, probe = bot.engine, bot.trader, bot.probe
    ring = probe.signal_to_order
    cpu = time.thread_time_ns

    async def run() -> tuple[list[int], list[int]]:
        wall_out: list[int] = []
        cpu_out: list[int] = []
        refused = 0
        for i in range(SAMPLES):
            before = ring.count
            sig = _signal(i)
            c0 = cpu()
            trader.on_signal(sig)
            c1 = cpu()
            if ring.count == before:
                refused += 1
                continue
            wall_out.append(_last(ring))
            cpu_out.append(c1 - c0)
            await _until(lambda: engine.portfolio.qty_steps("BTCUSDT") != 0)
            engine.exits.close_position("BTCUSDT", "bench", time.time_ns())
            await _until(lambda: engine.portfolio.is_flat and not engine.open_orders())
        assert refused <= SAMPLES // 100, f"{refused} signals refused"
        return wall_out, cpu_out

    wall_ns, cpu_ns = benchmark.pedantic(lambda: loop.run_until_complete(run()), rounds=1,
                                         iterations=1)
    _percentiles("order_path/trader signal->written", wall_ns, benchmark)
    _percentiles("order_path/trader on_signal cpu", cpu_ns, benchmark)
    assert bot.venue.channel.stats.slow_path == 0


def _last(ring: Any) -> int:
    """The latest sample of a :class:`~bitunix.core.latency.LatencyRing`."""
    samples = ring.samples()
    return int(samples[(ring.count - 1) % len(samples)])


def _intent(bot: SimpleNamespace, side: Side) -> OrderIntent:
    return OrderIntent(spec=bot.venue.contracts["BTCUSDT"], side=side, qty_steps=10,
                       strategy="bench", reason="enter")


def test_engine_intent_to_bytes_and_ack(benchmark: Any, bot: SimpleNamespace,
                                        loop: asyncio.AbstractEventLoop) -> None:
    """``engine.submit`` of a ready intent (sides alternate: the position stays small);
    and the round trip to the acknowledgement."""
    engine, probe = bot.engine, bot.probe
    wall, cpu = time.perf_counter_ns, time.thread_time_ns

    async def run() -> tuple[list[int], list[int], list[int]]:
        written: list[int] = []
        cpu_out: list[int] = []
        acked: list[int] = []
        for i in range(SAMPLES):
            intent = _intent(bot, Side.BUY if i % 2 == 0 else Side.SELL)
            t0, c0 = wall(), cpu()
            probe.start_signal()
            order = engine.submit(intent)
            c1 = cpu()
            written.append(_last(probe.signal_to_order))
            cpu_out.append(c1 - c0)
            await _until(lambda cid=order.client_id: engine.order(cid).status  # type: ignore[misc, union-attr]
                         is not OrderStatus.INIT)
            acked.append(wall() - t0)
            await _until(lambda: not engine.open_orders())
        return written, cpu_out, acked

    written, cpu_ns, acked = benchmark.pedantic(lambda: loop.run_until_complete(run()),
                                                rounds=1, iterations=1)
    _percentiles("order_path/engine intent->written", written, benchmark)
    _percentiles("order_path/engine submit cpu", cpu_ns, benchmark)
    _percentiles("order_path/engine intent->ack", acked, benchmark)


def test_adapter_order_to_bytes(benchmark: Any, bot: SimpleNamespace,
                                loop: asyncio.AbstractEventLoop) -> None:
    """``BitunixVenue.submit`` alone: body, signature, write (no engine, no risk)."""
    venue = bot.venue
    spec = venue.contracts["BTCUSDT"]
    wall, cpu = time.perf_counter_ns, time.thread_time_ns
    cpu_out: list[int] = []
    ids = itertools.count()
    answered: set[str] = set()

    class Listener:
        """Notes the answer of each order; ignores the rest (there is no engine here)."""

        def on_order_event(self, client_id: str, event: object) -> None:
            if isinstance(event, OrderAccepted | OrderRejected):
                answered.add(client_id)

        def on_submit_error(self, client_id: str, error: object) -> None:
            answered.add(client_id)

        def __getattr__(self, name: str) -> Callable[..., None]:
            return lambda *a: None

    engine_listener = venue._listener
    venue.bind(Listener())  # type: ignore[arg-type]

    async def run() -> tuple[list[int], list[int]]:
        first: list[int] = []
        then: list[int] = []
        for i in range(SAMPLES):
            # Three orders back to back (one callback): the first after an idle wait, the
            # next two on a warm CPU, as in a burst.
            orders = [Order(client_id=f"ad{next(ids)}-{time.time_ns()}", spec=spec,
                            side=Side.BUY if (i + k) % 2 == 0 else Side.SELL, qty_steps=10,
                            order_type=OrderType.MARKET) for k in range(3)]
            for k, order in enumerate(orders):
                t0, c0 = wall(), cpu()
                venue.submit(order)
                c1, t1 = cpu(), wall()
                (first if k == 0 else then).append(t1 - t0)
                if k == 0:
                    cpu_out.append(c1 - c0)
            for order in orders:
                await _until(partial(operator.contains, answered, order.client_id))
            await asyncio.sleep(0.001)  # their pushes and fill reads
        return first, then

    try:
        samples, warm = benchmark.pedantic(lambda: loop.run_until_complete(run()), rounds=1,
                                           iterations=1)
    finally:
        venue.bind(engine_listener)
    _percentiles("order_path/adapter order->written", samples, benchmark)
    _percentiles("order_path/adapter submit cpu", cpu_out, benchmark)
    _percentiles("order_path/adapter order->written back to back", warm, benchmark)
    assert venue.channel.stats.slow_path == 0


class _Floor(asyncio.Protocol):
    """A bare keep-alive connection whose request is one ``os.write`` on its socket."""

    def __init__(self) -> None:
        self.fd = -1
        self.fut: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.fd = sock.fileno()

    def data_received(self, data: bytes) -> None:
        if self.fut is not None and not self.fut.done() and data.rstrip().endswith(b"}"):
            self.fut.set_result(None)


def test_os_write_floor(benchmark: Any, bot: SimpleNamespace,
                        loop: asyncio.AbstractEventLoop) -> None:
    """The kernel's share: one ``os.write`` of a signed place_order request of the same size
    on a keep-alive connection to the same server, at the same pace (the answer awaited in
    between). On loopback the write also runs the receiving side of TCP and wakes the
    server's process: in a VM that wake-up can cost a VM exit."""
    venue = bot.venue
    spec = venue.contracts["BTCUSDT"]
    host = venue.channel.host_header
    wall, cpu = time.perf_counter_ns, time.thread_time_ns

    async def run() -> tuple[list[int], list[int]]:
        transport, floor = await loop.create_connection(_Floor, "127.0.0.1",
                                                        int(host.rsplit(":", 1)[1]))
        wall_out: list[int] = []
        cpu_out: list[int] = []
        try:
            for i in range(SAMPLES):
                body = msgspec.json.encode(PlaceMarketBody(
                    symbol=spec.symbol, side=Side.BUY if i % 2 == 0 else Side.SELL,
                    orderType=OrderType.MARKET, qty="0.0010", clientId=f"fl{i}-{time.time_ns()}",
                    reduceOnly=False))
                raw = venue._build("POST", "/api/v1/futures/trade/place_order", body)
                floor.fut = loop.create_future()
                t0, c0 = wall(), cpu()
                os.write(floor.fd, raw)
                c1, t1 = cpu(), wall()
                wall_out.append(t1 - t0)
                cpu_out.append(c1 - c0)
                await asyncio.wait_for(floor.fut, 5.0)
                await asyncio.sleep(0.001)  # its pushes and fill reads, as above
        finally:
            transport.close()
        return wall_out, cpu_out

    wall_ns, cpu_ns = benchmark.pedantic(lambda: loop.run_until_complete(run()), rounds=1,
                                         iterations=1)
    _percentiles("floor/os_write", wall_ns, benchmark)
    _percentiles("floor/os_write cpu", cpu_ns, benchmark)


def test_aiohttp_place_order(benchmark: Any, bot: SimpleNamespace,
                             loop: asyncio.AbstractEventLoop) -> None:
    """The baseline: ``BitunixREST.place_order`` of the same order, until aiohttp has sent
    the body, and until the acknowledgement."""
    sent: list[int] = []

    async def on_chunk(*_: Any) -> None:
        sent.append(time.perf_counter_ns())

    trace = aiohttp.TraceConfig()
    trace.on_request_chunk_sent.append(on_chunk)

    async def run() -> tuple[list[int], list[int]]:
        session = aiohttp.ClientSession(trace_configs=[trace])
        rest = BitunixREST(Credentials(KEY, SECRET),
                           RestConfig(base_url=bot.url, rate_limits=False), session=session)
        written: list[int] = []
        acked: list[int] = []
        try:
            for i in range(SAMPLES):
                req = OrderRequest(symbol="BTCUSDT", side=Side.BUY if i % 2 == 0 else Side.SELL,
                                   qty=Decimal("0.0010"), order_type=OrderType.MARKET,
                                   client_id=f"ai{i}-{time.time_ns()}")
                sent.clear()
                t0 = time.perf_counter_ns()
                ack = await rest.place_order(req)
                acked.append(time.perf_counter_ns() - t0)
                assert ack.order_id
                written.append(sent[0] - t0)
        finally:
            await session.close()
        return written, acked

    written, acked = benchmark.pedantic(lambda: loop.run_until_complete(run()), rounds=1,
                                        iterations=1)
    _percentiles("aiohttp/place_order call->written", written, benchmark)
    _percentiles("aiohttp/place_order round trip", acked, benchmark)
