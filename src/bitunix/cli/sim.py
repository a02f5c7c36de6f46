"""``bitunix-bot sim``: serve the local Bitunix-compatible exchange simulator."""

from __future__ import annotations

import argparse
import re
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bitunix.cli._args import amount, port, positive_float
from bitunix.cli._data import no_events_error, peek_first
from bitunix.core.errors import BitunixError, ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from bitunix.data import MarketEvent
    from bitunix.sim.market import EventSource


def register(subparsers: Any) -> None:
    """Add the ``sim`` command."""
    parser = subparsers.add_parser(
        "sim",
        help="serve the local Bitunix futures simulator (REST + WebSocket on 127.0.0.1)",
        description=(
            "Serve a simulated Bitunix USDT-M futures exchange on 127.0.0.1: the documented "
            "REST paths and public/private WebSockets, over an exact matching engine fed by "
            "replayed market data (default: the bundled real BTCUSDT capture, looped). "
            "Prints 'rest_url', 'public_ws_url', 'private_ws_url' and 'api_key' lines, then "
            "serves until interrupted. The API secret is the one given (default "
            "'sim-secret-key'); it is never printed."
        ),
    )
    parser.add_argument("--port", type=port, default=0, help="port (0 = any free port)")
    parser.add_argument("--data", help="market data: a capture, recording, Parquet or trade "
                        "CSV file, or 'synthetic[:SEED]' (default: the bundled capture)")
    parser.add_argument("--symbol", type=str.upper, help="replay only this symbol of a capture")
    parser.add_argument("--speed", type=positive_float, default=1.0,
                        help="playback rate relative to recorded time (default 1 = real time)")
    parser.add_argument("--api-key", default="sim-api-key", help="API key the sim accepts")
    parser.add_argument("--api-secret", default="sim-secret-key",
                        help="its secret (default sim-secret-key)")
    parser.add_argument("--balance", type=amount, default=Decimal("10000"),
                        help="starting USDT balance (default 10000)")
    parser.add_argument("--position-mode", choices=("ONE_WAY", "HEDGE"), default="ONE_WAY")
    parser.add_argument("--rate-limits", action="store_true",
                        help="enforce the documented per-second REST limits (10006)")
    parser.add_argument("--quirks", action="store_true",
                        help="reproduce the live API's observed deviations (spec section 8)")
    parser.add_argument("--wait-for-subscriber", action="store_true",
                        help="start the replay on the first public subscription (a late "
                        "client still sees every trade)")
    parser.add_argument("--duration", type=positive_float,
                        help="stop after this many seconds (default: until interrupted)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted (or ``--duration``); return the exit code.

    The market data are checked (the file exists and its first event decodes; a synthetic
    seed is an integer) before anything is served or printed. Ctrl-C stops the server
    cleanly, then exits 130 like any interrupted command; SIGTERM and ``--duration`` exit 0.
    """
    import asyncio

    source = _checked_source(args.data, args.symbol)
    if asyncio.run(_serve(args, source)):
        raise KeyboardInterrupt  # after a clean stop: main says "interrupted", exit 130
    return 0


_SYNTHETIC = re.compile(r"synthetic(?::(?P<seed>.*))?")


def _checked_source(data: str | None, symbol: str | None) -> EventSource:
    """The sim's event source for ``--data``, refused unless its first event decodes."""
    from bitunix.data import bundled_capture
    from bitunix.sim.contracts import bundled_contracts
    from bitunix.sim.market import source_for

    contracts = bundled_contracts()
    if symbol is not None and symbol not in contracts:
        raise ConfigError(f"--symbol {symbol}: not a contract of the simulator (it lists "
                          f"{len(contracts)} live USDT-M contracts, e.g. BTCUSDT, ETHUSDT)")
    if data is not None and data.startswith("synthetic"):
        match = _SYNTHETIC.fullmatch(data)
        if match is None:  # the sim reads every "synthetic..." as the generator
            raise ConfigError(f"--data {data!r}: expected 'synthetic' or 'synthetic:SEED' "
                              f"(a file of that name: pass ./{data})")
        seed = match["seed"] or "0"
        try:
            int(seed)
        except ValueError:
            raise ConfigError(f"--data {data!r}: the seed {seed!r} is not an integer") from None
        return source_for(data, symbol=symbol)
    if data is not None and not Path(data).is_file():
        raise ConfigError(f"--data {data}: no such market-data file")
    source = source_for(data, symbol=symbol)
    if peek_first(iter(source())) is None:
        raise no_events_error(data or bundled_capture(), symbol)
    return source


async def _serve(args: argparse.Namespace, source: EventSource) -> bool:
    """Serve until stopped; True if stopped by SIGINT (Ctrl-C)."""
    import asyncio
    import contextlib
    import signal

    from bitunix.sim.server import SimServer

    stop = asyncio.Event()
    interrupted = False

    def on_signal(sig: signal.Signals) -> None:
        nonlocal interrupted
        interrupted = interrupted or sig == signal.SIGINT
        stop.set()

    failures: list[BitunixError] = []

    def watched() -> Iterator[MarketEvent]:
        # Only the first event was read before serving: a defect further on (a truncated
        # file, a bad line) stops the sim now, not when it is next stopped by hand.
        try:
            yield from source()
        except BitunixError as exc:
            failures.append(exc)
            stop.set()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, on_signal, sig)
    server = SimServer(source=watched, speed=args.speed, port=args.port,
                       api_keys={args.api_key: args.api_secret}, balance=args.balance,
                       position_mode=args.position_mode, rate_limits=args.rate_limits,
                       quirks=args.quirks, wait_for_subscriber=args.wait_for_subscriber)
    try:
        await server.start()
    except OSError as exc:
        await server.stop()
        raise ConfigError(f"--port {args.port}: cannot serve on 127.0.0.1:{args.port}: "
                          f"{exc.strerror or exc}") from None
    try:
        print(f"rest_url {server.rest_url}", flush=True)
        print(f"public_ws_url {server.public_ws_url}", flush=True)
        print(f"private_ws_url {server.private_ws_url}", flush=True)
        print(f"api_key {args.api_key}", flush=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=args.duration)
    finally:
        await server.stop()
    if failures:
        raise failures[0]
    return interrupted
