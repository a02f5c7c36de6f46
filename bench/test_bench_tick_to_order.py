"""Tick to order over loopback: a depth frame on the market socket -> the order's request
bytes written to the REST socket (-> the request parsed by the venue), through the bot's
real clients, for the rule path and the ONNX path in the same run.

The venue is a forked process (on its own CPU when there are two, ``bench/forked.py``): a
:class:`~bitunix.sim.server.SimServer` (REST and private socket; one deep BTCUSDT book at
60,000) and, beside it, a picows market server that writes a ``depth_book15`` push when
told (and a few trades now and then, so that the 30 s VWAP stays filled). The SimServer's
request dispatch is stamped (``time.perf_counter_ns``, CLOCK_MONOTONIC: one clock for both
processes) for every ``place_order``: "parsed by the server" is the first stamp after the
client's write.

The client is wired as :class:`bitunix.app.bot.BotRun` wires it (paper mode): picows
:class:`~bitunix.exchange.BitunixWS` -> :class:`~bitunix.app.pipeline.MarketPipeline`
(one native ``FeatureEngine``) with ``TradingHooks`` -> ``SignalStack.on_tick`` (OVIR-X)
-> ``Trader.on_signal`` (plan, risk, sizing) -> ``ExecutionEngine.submit`` ->
``BitunixVenue.submit`` (msgspec body, signature, ``transport.write``), on uvloop. OVIR-X
runs with its guards opened (``prob_threshold = 0``, no cooldown) so every depth push is
an entry: the rule path with no model (``models_dir`` None: the rule fallback scores), the
ONNX path with the shipped registry (``models/``: the GBM in onnxruntime, the logistic
shadow scored beside it). Each entry is filled, then closed (outside the span) before the
next push. The market server stamps nothing: the span starts when picows hands the frame
to ``on_ws_frame`` (the listener is subclassed to stamp it), the earliest hook there is.

Spans: ``tick2order/<path> frame->written`` (the issue's figure), ``... frame->parsed``
(to the venue's dispatch), ``... push->written`` (the bot's own ``LatencyProbe``
``event_to_order``, from the depth push handed to the pipeline). p50/p99/p99.9 go to the
summary; histograms to ``results/tick_to_order.txt``.

    PYTHONPATH=src python -m pytest bench/test_bench_tick_to_order.py --benchmark-only -s
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import uvloop

import bitunix.exchange.ws as ws_module
from bench.conftest import MEDIANS_NS, RATIOS, record_percentiles
from bench.forked import forked_server, pin_server
from bench.market_peer import MarketPeer
from bench.test_bench_order_path import ENGINE, NullJournal
from bench.tick_frames import depth15_payload, trade_payload, ws_frame
from bitunix.adapters.bitunix import BitunixVenue, BitunixVenueSettings
from bitunix.app.hooks import TradingHooks
from bitunix.app.pipeline import MarketPipeline
from bitunix.app.trader import StrategyFeedback, Trader
from bitunix.config import Mode, TraderSection
from bitunix.core.clock import LiveClock
from bitunix.core.latency import LatencyProbe
from bitunix.exchange import BitunixWS, Credentials, RestConfig, WsConfig
from bitunix.execution import ClientIdFactory, ExecutionEngine
from bitunix.features import FEATURE_NAMES, FeatureEngine
from bitunix.risk.config import (
    BreakerConfig,
    RiskConfig,
    SymbolRiskConfig,
    VolatilityBreakerConfig,
)
from bitunix.risk.gate import RiskGate
from bitunix.strategy import SignalConfig, SignalStack
from bitunix.strategy.registry import StrategySpec

KEY, SECRET = "bench-key-0123456789", "bench-secret-0123456789"
MID = 60_000
SAMPLES = int(os.environ.get("TICK_SAMPLES", "1000"))
ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"

#: OVIR-X with its guards open: every valid depth push with a VWAP deviation is an entry.
EVERY_PUSH = {"entry_z": 1e-9, "max_entry_z": 1e9, "max_tick_ratio": 1e9,
              "min_depth_lean": -1e9, "max_spread_ticks": 1e9, "min_std_bps": 0.0,
              "min_edge_bps": 0.0, "cooldown_s": 0.0, "prob_threshold": 0.0,
              # A tight stop: a payoff of about 100 keeps Kelly positive for the model's low
              # probabilities on this synthetic book (the sizing is still computed).
              "exits": {"stop_std": 0.02}}

RATIOS.extend([
    ("tick2order: onnx / rule frame->written (p50)",
     "tick2order/onnx frame->written p50", "tick2order/rule frame->written p50"),
    ("tick2order: aiohttp send / fast send, frame->written (p50)",
     "tick2order/aiohttp frame->written p50", "tick2order/rule frame->written p50"),
    ("tick2order: rule frame->written p50 / the stages' warm sum",
     "tick2order/rule frame->written p50", "tick2order/stages sum (rule path)"),
    ("tick2order: rule frame->parsed / frame->written (p50)",
     "tick2order/rule frame->parsed p50", "tick2order/rule frame->written p50"),
])


# ------------------------------------------------------------------------ the venue

def _warm_trades(ts_ms: int) -> bytes:
    """Trades alternating around MID then one above: VWAP ~ MID, z ~ +2 (a sell fade)."""
    frames = [ws_frame(trade_payload("BTCUSDT", ts_ms, MID + (5.0 if i % 2 else -5.0), 0.01,
                                     i % 2 == 0)) for i in range(40)]
    frames.append(ws_frame(trade_payload("BTCUSDT", ts_ms, MID + 10.0, 0.01, True)))
    return b"".join(frames)


def _serve(ticks: Connection, stamps_out: Connection, port_out: Connection,
           cmds: Connection) -> None:  # pragma: no cover - child
    from picows import WSTransport, ws_create_server

    from bitunix.model.market import BookEvent
    from bitunix.sim.server import SimServer

    stamps: list[int] = []
    dispatch = SimServer._dispatch

    async def stamped(self: SimServer, request: Any) -> Any:
        if request.path.endswith("/place_order"):
            stamps.append(time.perf_counter_ns())
        return await dispatch(self, request)

    SimServer._dispatch = stamped  # type: ignore[method-assign]
    bids = [(f"{MID - 0.1 * (i + 1):.1f}", "1000") for i in range(20)]
    asks = [(f"{MID + 0.1 * i:.1f}", "1000") for i in range(20)]
    events = [BookEvent(ts_ns=time.time_ns(), symbol="BTCUSDT", bids=bids, asks=asks)]
    live: list[WSTransport] = []

    async def main() -> None:
        sim = SimServer(source=lambda: iter(events), speed=0, push_interval_s=None,
                        loop_data=False, api_keys={KEY: SECRET}, balance=Decimal("1000000"),
                        ws_msg_per_s=None)
        await sim.start()
        sim.advance(1)
        market = await ws_create_server(lambda _r: MarketPeer(live), "127.0.0.1", 0)
        port_out.send((sim.port, market.sockets[0].getsockname()[1]))
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def on_tick() -> None:
            cmd = ticks.recv()
            ts_ms = time.time_ns() // 1_000_000
            if cmd == "tick":
                data = ws_frame(depth15_payload("BTCUSDT", ts_ms, MID))
            elif cmd == "warm":
                data = _warm_trades(ts_ms)
            else:  # "stamps"
                stamps_out.send(list(stamps))
                stamps.clear()
                return
            for t in live:
                t.underlying_transport.write(data)

        loop.add_reader(ticks.fileno(), on_tick)
        loop.add_reader(cmds.fileno(), lambda: done.done() or done.set_result(None))
        await done
        market.close()
        await sim.stop()

    pin_server()
    uvloop.run(main())


class StampedProbe(LatencyProbe):
    """The bot's probe, also keeping when the last request was written."""

    __slots__ = ("written_at",)

    def __init__(self, capacity: int) -> None:
        super().__init__(capacity=capacity)
        self.written_at = 0

    def written(self) -> None:
        self.written_at = self._clock()
        super().written()


class Arrivals:
    """When picows last handed a data frame to ``on_ws_frame``."""

    last_ns = 0


class _StampedListener(ws_module._Listener):  # type: ignore[name-defined]
    """Stamps the market socket's frames (not the private socket's pushes)."""

    def on_ws_frame(self, transport: Any, frame: Any) -> None:
        if not self._client.private:
            Arrivals.last_ns = time.perf_counter_ns()
        super().on_ws_frame(transport, frame)


@pytest.fixture(scope="module")
def venue_proc() -> Iterator[SimpleNamespace]:
    ctx = multiprocessing.get_context("fork")
    tick_rx, tick_tx = ctx.Pipe(duplex=False)
    stamps_rx, stamps_tx = ctx.Pipe(duplex=False)
    with forked_server(partial(_serve, tick_rx, stamps_tx), start_timeout_s=30) as ports:
        yield SimpleNamespace(rest_port=ports[0], ws_port=ports[1], ticks=tick_tx,
                              stamps=stamps_rx)


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    lp = uvloop.new_event_loop()
    asyncio.set_event_loop(lp)
    yield lp
    asyncio.set_event_loop(None)
    lp.close()


def _stack(models_dir: str | None) -> SignalStack:
    cfg = SignalConfig(strategies=[StrategySpec(kind="ovirx", params=dict(EVERY_PUSH))],
                       models_dir=models_dir)
    return SignalStack.build(["BTCUSDT"], FEATURE_NAMES, cfg)


@pytest.fixture(scope="module")
def bot(venue_proc: SimpleNamespace, loop: asyncio.AbstractEventLoop
        ) -> Iterator[SimpleNamespace]:
    """BotRun's paper wiring, against the forked venue; ``use(path)`` swaps the stack."""
    ws_module._Listener = _StampedListener  # the earliest hook on the frame
    url = f"http://127.0.0.1:{venue_proc.rest_port}"
    probe = StampedProbe(capacity=4 * SAMPLES)
    clock = LiveClock()
    venue = BitunixVenue(
        Credentials(KEY, SECRET), rest_config=RestConfig(base_url=url, rate_limits=False),
        ws_config=WsConfig(public_url=f"ws://127.0.0.1:{venue_proc.rest_port}/public/",
                           private_url=f"ws://127.0.0.1:{venue_proc.rest_port}/private/"),
        symbols=["BTCUSDT"], settings=BitunixVenueSettings(pool_size=4), probe=probe,
        clock=clock)
    groups: dict[str, Any] = {}
    feedback = StrategyFeedback(groups)
    journal = NullJournal()
    engine = ExecutionEngine(venue, journal, clock=clock,
                             ids=ClientIdFactory("t2o", time.time_ns() // 1_000_000),
                             settings=ENGINE, feedback=feedback, symbols=["BTCUSDT"],
                             loop=loop)
    loop.run_until_complete(venue.connect())
    loop.run_until_complete(engine.reconcile())
    risk = RiskConfig(symbols={"BTCUSDT": SymbolRiskConfig(max_order_qty=Decimal("0.002"))},
                      breaker=BreakerConfig(volatility=VolatilityBreakerConfig(enabled=False)))
    denials: list[str] = []
    gate = RiskGate(risk, on_denial=lambda *a: denials.append(repr(a[2])))
    trader = Trader(mode=Mode.PAPER, contracts=venue.contracts, gate=gate, engine=engine,
                    journal=journal, feedback=feedback, config=TraderSection(), clock=clock,
                    probe=probe, model_name=lambda: "bench", paper_equity=Decimal("10000"))
    trader.enabled = True
    spec = venue.contracts["BTCUSDT"]
    stacks = {"rule": _stack(None), "onnx": _stack(str(ROOT / "models"))}
    assert stacks["rule"].model_status().source == "fallback"
    assert stacks["onnx"].model_status().source == "model", stacks["onnx"].load_error
    pipeline = MarketPipeline({"BTCUSDT": FeatureEngine(tick_size=float(spec.tick_size))},
                              stacks["rule"].on_tick, trader.on_signal,
                              hooks=TradingHooks(gate, engine, probe, venue.contracts))
    ws = BitunixWS(pipeline, WsConfig(public_url=f"ws://127.0.0.1:{venue_proc.ws_port}/",
                                      stale_after_s=0, ping_interval_s=3600,
                                      max_messages_per_s=1000))
    ws.subscribe([("trade", "BTCUSDT"), ("depth_book15", "BTCUSDT")])

    def use(path: str) -> None:
        groups.clear()
        groups.update(stacks[path].by_symbol)
        pipeline.decide = stacks[path].on_tick

    async def start() -> None:
        ws.start()
        await ws.wait_live(10)

    loop.run_until_complete(start())
    try:
        yield SimpleNamespace(venue=venue, engine=engine, trader=trader, probe=probe, ws=ws,
                              pipeline=pipeline, use=use, stacks=stacks, proc=venue_proc,
                              denials=denials)
    finally:
        ws_module._Listener = _StampedListener.__mro__[1]
        loop.run_until_complete(ws.close())
        loop.run_until_complete(engine.flatten(timeout_s=10.0))
        loop.run_until_complete(engine.close())
        loop.run_until_complete(venue.close())


async def _until(cond: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the bot or the venue")
        await asyncio.sleep(0.0002)


def _histogram(name: str, samples_ns: list[int]) -> str:
    """A text histogram in microseconds, log-spaced bins."""
    us = np.asarray(samples_ns, dtype=np.float64) / 1000.0
    edges = np.geomspace(max(us.min(), 1.0), us.max() * 1.0001, 16)
    counts, _ = np.histogram(us, bins=edges)
    top = max(int(counts.max()), 1)
    lines = [f"{name} ({len(us)} samples, us)"]
    for lo, hi, c in zip(edges[:-1], edges[1:], counts, strict=True):
        lines.append(f"  {lo:9.1f} - {hi:9.1f} | {'#' * round(50 * c / top):<50} {c}")
    return "\n".join(lines)


def _p999(name: str, samples_ns: list[int]) -> None:
    p = float(np.percentile(np.asarray(samples_ns, dtype=np.float64), 99.9))
    MEDIANS_NS[f"{name} p99.9"] = p
    print(f"{name}: p99.9 {p / 1000:.2f} us")


HISTOGRAMS: list[str] = []


@pytest.mark.parametrize("path", ["rule", "onnx"])
def test_tick_to_order(benchmark: Any, bot: SimpleNamespace,
                       loop: asyncio.AbstractEventLoop, path: str) -> None:
    """SAMPLES depth pushes, each one an entry written, filled and closed before the next."""
    bot.use(path)
    engine, probe, proc = bot.engine, bot.probe, bot.proc
    ring = probe.event_to_order

    sig_ring = probe.signal_to_order

    async def run() -> tuple[list[int], list[int], list[int], list[int]]:
        proc.ticks.send("warm")
        await asyncio.sleep(0.05)
        written: list[int] = []
        pushed: list[int] = []
        arrived: list[int] = []
        signalled: list[int] = []
        missed = 0
        for i in range(SAMPLES):
            if i and i % 200 == 0:
                proc.ticks.send("warm")  # the VWAP window stays filled
                await asyncio.sleep(0.01)
            before = ring.count
            proc.ticks.send("tick")
            try:
                await _until(lambda b=before: ring.count != b, 1.0)
            except AssertionError:
                missed += 1
                if missed > SAMPLES // 100:
                    break
                continue
            samples = ring.samples()
            pushed.append(int(samples[(ring.count - 1) % len(samples)]))
            samples = sig_ring.samples()
            signalled.append(int(samples[(sig_ring.count - 1) % len(samples)]))
            written.append(probe.written_at - Arrivals.last_ns)
            arrived.append(probe.written_at)
            await _until(lambda: engine.portfolio.qty_steps("BTCUSDT") != 0)
            engine.exits.close_position("BTCUSDT", "bench", time.time_ns())
            await _until(lambda: engine.portfolio.is_flat and not engine.open_orders())
        assert missed <= SAMPLES // 100, (
            f"{missed} pushes made no order: {bot.pipeline.stats}, signals "
            f"{bot.trader.signals}, refused {bot.trader.refused_plans}, "
            f"denials {bot.denials[-3:]}")
        return written, pushed, arrived, signalled

    written, pushed, written_at, signalled = benchmark.pedantic(
        lambda: loop.run_until_complete(run()), rounds=1, iterations=1)
    proc.ticks.send("stamps")
    assert proc.stamps.poll(10)
    stamps = np.asarray(sorted(proc.stamps.recv()), dtype=np.int64)
    parsed: list[int] = []
    for w, span in zip(written_at, written, strict=True):
        k = int(np.searchsorted(stamps, w))
        if k < len(stamps):
            parsed.append(int(stamps[k]) - (w - span))
    name = f"tick2order/{path}"
    for label, samples in (("frame->written", written), ("frame->parsed", parsed),
                           ("push->written", pushed), ("signal->written", signalled)):
        record_percentiles(f"{name} {label}", samples, benchmark, "orders")
        _p999(f"{name} {label}", samples)
        HISTOGRAMS.append(_histogram(f"{name} {label}", samples))
    assert len(parsed) >= len(written) * 0.99
    assert bot.venue.channel.stats.slow_path == 0
    status = bot.stacks[path].model_status()
    if path == "onnx":
        assert status.model_calls > 0
        assert status.fallback_calls == 0
    else:
        assert status.fallback_calls > 0
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "tick_to_order.txt").write_text("\n\n".join(HISTOGRAMS) + "\n")


def test_tick_to_order_aiohttp(benchmark: Any, bot: SimpleNamespace,
                               loop: asyncio.AbstractEventLoop) -> None:
    """The baseline of the send: the same market path (rule), each signal sent as
    ``BitunixREST.place_order`` on aiohttp (a task per order, the REST client the bot
    has besides its fast path), until aiohttp has written the body (its
    ``on_request_chunk_sent`` trace). Risk and sizing are left out (the order is a fixed
    0.001 BTC, sides alternating so no position builds up): they cost about 10 us of
    the fast path's span, which makes this baseline slightly favourable."""
    import aiohttp

    from bitunix.exchange import BitunixREST, OrderRequest
    from bitunix.model import OrderType, Side

    bot.use("rule")
    pipeline, proc = bot.pipeline, bot.proc
    group = bot.stacks["rule"].by_symbol["BTCUSDT"]
    sent: list[int] = []
    acks: list[asyncio.Task[Any]] = []

    async def on_chunk(*_: Any) -> None:
        sent.append(time.perf_counter_ns())

    trace = aiohttp.TraceConfig()
    trace.on_request_chunk_sent.append(on_chunk)

    async def run() -> list[int]:
        session = aiohttp.ClientSession(trace_configs=[trace])
        rest = BitunixREST(Credentials(KEY, SECRET),
                           RestConfig(base_url=f"http://127.0.0.1:{proc.rest_port}",
                                      rate_limits=False), session=session)
        count = [0]

        def on_signal(sig: Any) -> None:
            count[0] += 1
            req = OrderRequest(symbol="BTCUSDT", side=Side.BUY if count[0] % 2 else Side.SELL,
                               qty=Decimal("0.0010"), order_type=OrderType.MARKET,
                               client_id=f"t2a{count[0]}-{time.time_ns()}")
            acks.append(asyncio.ensure_future(rest.place_order(req)))
            group.on_entry_rejected(sig.strategy, sig.ts_ns, "bench")  # ready for the next

        fast = pipeline.on_signal
        pipeline.on_signal = on_signal
        spans: list[int] = []
        try:
            proc.ticks.send("warm")
            await asyncio.sleep(0.05)
            for i in range(SAMPLES):
                if i and i % 200 == 0:
                    proc.ticks.send("warm")
                    await asyncio.sleep(0.01)
                before = len(sent)
                proc.ticks.send("tick")
                await _until(lambda b=before: len(sent) > b, 2.0)
                spans.append(sent[before] - Arrivals.last_ns)
                ack = await acks[-1]
                assert ack.order_id
        finally:
            pipeline.on_signal = fast
            await session.close()
        return spans

    spans = benchmark.pedantic(lambda: loop.run_until_complete(run()), rounds=1,
                               iterations=1)
    name = "tick2order/aiohttp frame->written"
    record_percentiles(name, spans, benchmark, "orders")
    _p999(name, spans)
    HISTOGRAMS.append(_histogram(name, spans))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "tick_to_order.txt").write_text("\n\n".join(HISTOGRAMS) + "\n")


# ------------------------------------------------------------- the decomposition

def _median_ns(call: Callable[[], object], n: int = 2000,
               after: Callable[[], object] | None = None) -> float:
    """Median wall time of ``n`` single calls (``after`` runs untimed between them)."""
    clock = time.perf_counter_ns
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        t0 = clock()
        call()
        out[i] = clock() - t0
        if after is not None:
            after()
    return float(np.median(out))


STAGES = ("decode", "features", "strategy rule", "model onnx", "plan", "snapshot",
          "risk+sizing", "sizing", "intent+body", "signing", "write")


def test_decomposition(benchmark: Any, bot: SimpleNamespace) -> None:
    """Each stage of the path on the same inputs, in process, one at a time (warm: the
    same input again and again, so these are floors). ``strategy rule`` is
    ``SignalStack.on_tick`` with the rule fallback (the model's stage apart:
    ``Predictor.predict`` of the shipped ONNX GBM); ``risk+sizing`` is
    ``RiskGate.check_entry``, ``sizing`` its ``size_entry`` alone; ``write`` is one
    ``os.write`` of the signed request on a TCP loopback socket (drained untimed)."""
    import socket

    from bitunix.adapters.bitunix import PLACE_PATH
    from bitunix.adapters.bitunix_convert import PlaceMarketBody, steps_str
    from bitunix.app.trader import entry_plan
    from bitunix.model import OrderIntent, OrderType
    from bitunix.model.ticks import FloatGrid
    from bitunix.risk.params import SymbolRisk
    from bitunix.risk.sizing import size_entry
    from bitunix.wire.decoding import decode_public

    venue, engine, gate = bot.venue, bot.engine, bot.trader.gate
    spec = venue.contracts["BTCUSDT"]
    now_ms = time.time_ns() // 1_000_000
    payload = depth15_payload("BTCUSDT", now_ms, MID)
    fe = FeatureEngine(tick_size=float(spec.tick_size))
    for i in range(41):
        fe.on_trade(MID + (10.0 if i == 40 else 5.0 if i % 2 else -5.0), 0.01,
                    now_ms * 1_000_000, i % 2 == 0)
    msg = decode_public(payload)
    book = bot.pipeline._book
    ts_ns = msg.ts * 1_000_000
    assert book.feed(fe, msg.data, ts_ns)
    assert fe.write()
    rule = bot.stacks["rule"]
    group = rule.by_symbol["BTCUSDT"]
    sigs = rule.on_tick("BTCUSDT", ts_ns, fe, True)
    assert sigs, "the rule path must fire on this book"
    sig = sigs[0]
    group.on_entry_rejected(sig.strategy, ts_ns, "bench")
    vec32 = np.asarray(fe.vector, dtype=np.float32)
    predictor = bot.stacks["onnx"].predictor
    grid = FloatGrid(spec.price_decimals)
    plan = entry_plan(grid, sig)
    assert not isinstance(plan, str)
    exposure = engine.snapshot()
    risk = SymbolRisk(spec, gate.config)

    def check() -> object:
        return gate.check_entry(spec, plan.side, price_ticks=plan.price_ticks,
                                stop_ticks=plan.stop_ticks, target_ticks=plan.target_ticks,
                                probability=sig.probability, exposure=exposure,
                                now_ns=time.time_ns())

    assert not isinstance(check(), str)

    def body() -> bytes:
        intent = OrderIntent(spec=spec, side=plan.side, qty_steps=10, strategy=sig.strategy,
                             reason="enter", tp_ticks=plan.target_ticks,
                             sl_ticks=plan.stop_ticks, ts_ns=ts_ns)
        return venue._encode(PlaceMarketBody(
            symbol=spec.symbol, side=intent.side, orderType=OrderType.MARKET,
            qty=steps_str(intent.qty_steps, spec.qty_decimals), clientId="t2o-1-000001",
            reduceOnly=False))

    raw = venue._build("POST", PLACE_PATH, body())
    srv = socket.create_server(("127.0.0.1", 0))
    cli = socket.create_connection(srv.getsockname())
    peer, _ = srv.accept()
    cli.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    peer.setblocking(False)

    def drain() -> None:
        with contextlib.suppress(BlockingIOError):
            peer.recv(65536)

    fd = cli.fileno()
    calls: dict[str, tuple[Callable[[], object], Callable[[], object] | None]] = {
        "decode": (lambda: decode_public(payload), None),
        "features": (lambda: book.feed(fe, msg.data, ts_ns) and fe.write(), None),
        "strategy rule": (lambda: rule.on_tick("BTCUSDT", ts_ns, fe, True),
                          lambda: group.on_entry_rejected(sig.strategy, ts_ns, "bench")),
        "model onnx": (lambda: predictor.predict(vec32), None),
        "plan": (lambda: entry_plan(grid, sig), None),
        "snapshot": (engine.snapshot, None),
        "risk+sizing": (check, None),
        "sizing": (lambda: size_entry(risk, plan.side, price_ticks=plan.price_ticks,
                                      stop_ticks=plan.stop_ticks,
                                      target_ticks=plan.target_ticks,
                                      probability=sig.probability, equity=1e6), None),
        "intent+body": (body, None),
        "signing": (lambda: venue._build("POST", PLACE_PATH, body()), None),
        "write": (lambda: os.write(fd, raw), drain),
    }
    try:
        medians = benchmark.pedantic(
            lambda: {k: _median_ns(c, after=a) for k, (c, a) in calls.items()},
            rounds=1, iterations=1)
    finally:
        for s in (cli, peer, srv):
            s.close()
    medians["signing"] -= medians["intent+body"]  # it built the body too
    total = 0.0
    for stage in STAGES:
        ns = medians[stage]
        MEDIANS_NS[f"tick2order/stage {stage}"] = ns
        benchmark.extra_info[f"{stage} ns"] = round(ns)
        if stage != "sizing":  # inside risk+sizing
            total += ns
        print(f"stage {stage:<14} {ns / 1000:8.2f} us")
    MEDIANS_NS["tick2order/stages sum (rule path)"] = total
    print(f"sum (rule path, sizing inside risk) {total / 1000:.2f} us")
    assert all(v > 0 for v in medians.values())
