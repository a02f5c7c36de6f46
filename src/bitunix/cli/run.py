"""``bitunix-bot run``: the bot against the built-in simulator (paper; no orders yet)."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``run`` command."""
    parser = subparsers.add_parser(
        "run",
        help="run the bot against the built-in simulator with bundled data (paper)",
        description=(
            "Start the local Bitunix-compatible simulator on 127.0.0.1 replaying market data "
            "(default: the bundled real BTCUSDT capture), connect the bot's own REST and "
            "WebSocket clients to it, and run every push through the native features and "
            "the configured strategies. Signals are printed; no order is sent (risk and "
            "execution are not built yet). Nothing reaches the real exchange."
        ),
    )
    parser.add_argument("--data", help="capture to replay (default: the bundled BTCUSDT capture)")
    parser.add_argument("--symbols", default="BTCUSDT",
                        help="comma-separated symbols (default BTCUSDT)")
    parser.add_argument("--speed", type=float, default=20.0,
                        help="replay speed relative to real time (default 20)")
    parser.add_argument("--duration", type=float, default=120.0,
                        help="stop after this many seconds at most (default 120)")
    parser.add_argument("--models-dir",
                        help="model registry directory (default: ./models when it exists, "
                             "else the model shipped with the package)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the paper bot and print its summary; return the exit code."""
    import asyncio
    import tempfile
    from pathlib import Path

    import msgspec

    from bitunix.app.paper import PaperConfig, run_paper
    from bitunix.features import simd_impl
    from bitunix.ml.bundled import install_bundled_model
    from bitunix.ml.registry import ModelRegistry

    print(f"bitunix-bot run: paper mode against the built-in simulator "
          f"(native core: {simd_impl()}); no orders are sent")
    with tempfile.TemporaryDirectory(prefix="bitunix-models-") as scratch:
        models_dir = args.models_dir
        if models_dir is None and Path("models").is_dir():
            models_dir = "models"
        elif models_dir is None:
            # Installed from a wheel, away from a checkout: serve the shipped model from a
            # registry that lives only as long as this run.
            entry = install_bundled_model(ModelRegistry(Path(scratch)))
            print(f"no ./models registry: serving {entry.name}@{entry.version}, "
                  "the model shipped with the package")
            models_dir = scratch
        defaults = PaperConfig()
        config = PaperConfig(
            symbols=[s.strip().upper() for s in args.symbols.split(",") if s.strip()],
            data=args.data,
            speed=args.speed,
            duration_s=args.duration,
            signal=msgspec.structs.replace(defaults.signal, models_dir=models_dir),
        )
        try:
            import uvloop
        except ImportError:  # pragma: no cover - uvloop is a dependency except on Windows
            summary = asyncio.run(run_paper(config))
        else:
            summary = uvloop.run(run_paper(config))
    stats = summary.pipeline
    print(f"ran {summary.wall_s:.1f} s: {summary.ws_frames} WebSocket frames, "
          f"{stats.trades} trades in {stats.trade_pushes} pushes, {stats.book_pushes} books, "
          f"{stats.evaluations} evaluations ({stats.valid_evaluations} with warm features), "
          f"{stats.signals} signals, {summary.ws_reconnects} reconnects")
    rejected = stats.trades_rejected + stats.books_rejected
    if rejected or stats.errors:
        print(f"rejected {stats.trades_rejected} trades and {stats.books_rejected} books; "
              f"errors: {stats.errors or 'none'}")
    return 0
