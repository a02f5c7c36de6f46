"""A paper run: the bot's real connectivity and decision path against the local simulator.

``run_paper`` starts the built-in exchange simulator on 127.0.0.1 replaying market data
(the bundled real capture by default, faster than real time), reads the contracts through
the bot's REST client, connects the bot's WebSocket client to the simulator's public
socket, and runs every push through :class:`MarketPipeline` and the :class:`SignalStack`.
Signals are reported, not traded: risk and execution are not built yet, so no order is
ever sent. Nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from bitunix.app.pipeline import MarketPipeline, PipelineStats
from bitunix.core.errors import BitunixError, ConfigError
from bitunix.exchange import BitunixREST, BitunixWS, RestConfig, WsConfig
from bitunix.features import FEATURE_NAMES, FeatureEngine
from bitunix.sim.server import SimServer
from bitunix.strategy import Signal, SignalConfig, SignalStack, StrategySpec


class PaperConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What a paper run replays and for how long.

    ``speed`` is the replay rate (20: the bundled 344 s capture in about 17 s); the
    simulator's snapshot cadence (``push_interval_s`` of market time, the live venue's
    ~0.3 s) is scaled by it, so the bot sees as many books per market second as live. The
    run ends after ``duration_s`` or once no trade has arrived for ``idle_stop_s`` (the
    market data ran out; depth snapshots of the last book keep coming).
    The default strategies are the earlier bot's pair: OVIR-X (model-gated) and the
    model-free mean reversion.
    """

    symbols: list[str] = msgspec.field(default_factory=lambda: ["BTCUSDT"])
    data: str | None = None
    speed: float = 20.0
    duration_s: float = 120.0
    idle_stop_s: float = 3.0
    first_trade_timeout_s: float = 15.0
    depth_channel: str = "depth_book15"
    push_interval_s: float = 0.3
    model_poll_s: float = 1.0
    signal: SignalConfig = msgspec.field(default_factory=lambda: SignalConfig(
        strategies=[StrategySpec(kind="ovirx"), StrategySpec(kind="mean_reversion")]))

    def __post_init__(self) -> None:
        for name in ("speed", "duration_s", "idle_stop_s", "first_trade_timeout_s",
                     "push_interval_s", "model_poll_s"):
            value = getattr(self, name)
            if not value > 0:
                raise ConfigError(f"paper run: {name} must be > 0, was {value}")
        if not self.symbols:
            raise ConfigError("paper run: no symbols")


@dataclass
class PaperSummary:
    """What a paper run saw."""

    pipeline: PipelineStats
    signals: list[Signal] = field(default_factory=list)
    model: str = ""
    model_error: str = ""
    ws_frames: int = 0
    ws_reconnects: int = 0
    wall_s: float = 0.0
    tick_sizes: dict[str, str] = field(default_factory=dict)


async def run_paper(config: PaperConfig, emit: Callable[[str], None] = print) -> PaperSummary:
    """Run the bot against an in-process simulator; return what it saw."""
    data = config.data
    if data is not None and not data.startswith("synthetic") and not Path(data).is_file():
        raise ConfigError(f"no such market-data file: {data}")
    started = time.monotonic()
    signals: list[Signal] = []

    def on_signal(sig: Signal) -> None:
        signals.append(sig)
        emit(f"signal {describe(sig)} [paper: no order]")

    # The replay waits for the bot's subscription, so the run sees the data from its start.
    async with SimServer(data=config.data, speed=config.speed, loop_data=False,
                         push_interval_s=config.push_interval_s / config.speed,
                         wait_for_subscriber=True) as sim:
        emit(f"simulator on {sim.rest_url} / {sim.public_ws_url}")
        async with BitunixREST(config=RestConfig(base_url=sim.rest_url)) as rest:
            contracts = await rest.contracts(config.symbols)
        missing = sorted(set(config.symbols) - set(contracts))
        if missing:
            raise ConfigError(f"the venue lists no contract for {missing}")
        engines = {s: FeatureEngine(tick_size=float(contracts[s].tick_size))
                   for s in config.symbols}
        stack = SignalStack.build(config.symbols, FEATURE_NAMES, config.signal)
        emit(f"model: {stack.predictor.name or 'none'}"
             + (f" (rule fallback: {stack.load_error})" if stack.load_error else ""))
        pipeline = MarketPipeline(engines, stack.on_tick, on_signal)
        ws = BitunixWS(pipeline, WsConfig(public_url=sim.public_ws_url))
        ws.subscribe([(ch, s) for s in config.symbols for ch in ("trade", config.depth_channel)])
        ws.start()
        try:
            await ws.wait_live(10.0)
            await _until_done(pipeline, stack, config, emit)
        finally:
            await ws.close()
    return PaperSummary(
        pipeline=pipeline.stats,
        signals=signals,
        model=stack.predictor.name,
        model_error=stack.load_error,
        ws_frames=ws.stats.frames,
        ws_reconnects=ws.stats.reconnects,
        wall_s=time.monotonic() - started,
        tick_sizes={s: str(c.tick_size) for s, c in contracts.items()},
    )


def _watch_model(stack: SignalStack, reported: set[tuple[str, str]],
                 emit: Callable[[str], None]) -> None:
    """Follow the registry's active model (hot swap) and report new drift/degradation alerts."""
    if stack.poll():
        emit(f"model: now {stack.predictor.name or 'none'}"
             + (f" (rule fallback: {stack.load_error})" if stack.load_error else ""))
    for alert in stack.alerts():
        key = (alert.model, alert.kind)
        if key not in reported:
            reported.add(key)
            emit(f"alert {alert.kind} on {alert.model}: {alert.message}")


def describe(sig: Signal) -> str:
    """One line for a signal: what, where, and why."""
    head = f"{sig.strategy} {sig.symbol} {sig.kind.value} {sig.direction.name} at {sig.price:.2f}"
    if sig.exit_reason is not None:
        return f"{head} ({sig.exit_reason.value})"
    return f"{head} (target {sig.target:.2f}, stop {sig.stop:.2f}, p={sig.probability:.3f} " \
           f"via {sig.score_source or '-'})"


async def _until_done(pipeline: MarketPipeline, stack: SignalStack, config: PaperConfig,
                      emit: Callable[[str], None]) -> None:
    start = time.monotonic()
    deadline = start + config.duration_s
    next_poll = start + config.model_poll_s
    reported: set[tuple[str, str]] = set()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        if time.monotonic() >= next_poll:
            next_poll += config.model_poll_s
            _watch_model(stack, reported, emit)
        last = pipeline.stats.last_trade_monotonic
        if last and time.monotonic() - last > config.idle_stop_s:
            return
        if not last and time.monotonic() - start > config.first_trade_timeout_s:
            raise BitunixError(
                f"no trade arrived within {config.first_trade_timeout_s:.0f} s of subscribing: "
                "the market data is empty or could not be read (see the simulator's log)")
