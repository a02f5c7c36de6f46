"""``bitunix-bot sim``: serve the local Bitunix-compatible exchange simulator."""

from __future__ import annotations

import argparse
from typing import Any


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
    parser.add_argument("--port", type=int, default=0, help="port (0 = any free port)")
    parser.add_argument("--data", help="market data: a capture or recording file, or "
                        "'synthetic[:SEED]' (default: the bundled capture)")
    parser.add_argument("--symbol", help="replay only this symbol of a capture")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="playback rate relative to recorded time (default 1 = real time)")
    parser.add_argument("--api-key", default="sim-api-key", help="API key the sim accepts")
    parser.add_argument("--api-secret", default="sim-secret-key",
                        help="its secret (default sim-secret-key)")
    parser.add_argument("--balance", default="10000", help="starting USDT balance")
    parser.add_argument("--position-mode", choices=("ONE_WAY", "HEDGE"), default="ONE_WAY")
    parser.add_argument("--rate-limits", action="store_true",
                        help="enforce the documented per-second REST limits (10006)")
    parser.add_argument("--quirks", action="store_true",
                        help="reproduce the live API's observed deviations (spec section 8)")
    parser.add_argument("--wait-for-subscriber", action="store_true",
                        help="start the replay on the first public subscription (a late "
                        "client still sees every trade)")
    parser.add_argument("--duration", type=float,
                        help="stop after this many seconds (default: until interrupted)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted (or ``--duration``); return the exit code."""
    import asyncio
    from decimal import Decimal, InvalidOperation

    from bitunix.core.errors import ConfigError

    try:
        balance = Decimal(args.balance)
    except InvalidOperation:
        raise ConfigError(f"--balance {args.balance!r} is not a decimal") from None
    if args.speed <= 0:
        raise ConfigError("--speed must be > 0")
    return asyncio.run(_serve(args, balance))


async def _serve(args: argparse.Namespace, balance: Any) -> int:
    import asyncio
    import contextlib
    import signal

    from bitunix.sim.market import source_for
    from bitunix.sim.server import SimServer

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    server = SimServer(source=source_for(args.data, symbol=args.symbol), speed=args.speed,
                       port=args.port, api_keys={args.api_key: args.api_secret},
                       balance=balance, position_mode=args.position_mode,
                       rate_limits=args.rate_limits, quirks=args.quirks,
                       wait_for_subscriber=args.wait_for_subscriber)
    async with server:
        print(f"rest_url {server.rest_url}", flush=True)
        print(f"public_ws_url {server.public_ws_url}", flush=True)
        print(f"private_ws_url {server.private_ws_url}", flush=True)
        print(f"api_key {args.api_key}", flush=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=args.duration)
    return 0
