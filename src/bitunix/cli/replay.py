"""``bitunix-bot replay``: market data straight through the feature engines, no sockets."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bitunix.cli._args import positive_float, positive_int
from bitunix.cli._data import no_events_error
from bitunix.core.errors import ConfigError


def register(subparsers: Any) -> None:
    """Add the ``replay`` command."""
    parser = subparsers.add_parser(
        "replay",
        help="replay a capture through the feature engines in process and summarise them",
        description=(
            "Replay a market-data capture (default: the bundled real BTCUSDT capture) through "
            "the native feature engines in process, as fast as it goes, and print a summary "
            "of every feature. No sockets, no orders."
        ),
    )
    parser.add_argument("--data", help="capture or recording file (default: the bundled "
                        "BTCUSDT capture)")
    parser.add_argument("--symbol", type=str.upper, help="replay only this symbol")
    parser.add_argument("--limit", type=positive_int, help="stop after this many events")
    parser.add_argument("--tick-size", type=positive_float, default=0.1,
                        help="price tick (default 0.1)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Replay and print the summary; return the exit code."""
    from bitunix.app.replay import replay_features
    from bitunix.data import bundled_capture
    from bitunix.data.files import iter_market_file
    from bitunix.features import FeatureEngine, simd_impl

    path = args.data or bundled_capture()
    if not Path(path).is_file():
        raise ConfigError(f"no such market-data file: {path}")
    print(f"bitunix-bot replay: {path} (native core: {simd_impl()})")
    summary = replay_features(
        iter_market_file(path, symbol=args.symbol),
        lambda _symbol: FeatureEngine(tick_size=args.tick_size),
        limit=args.limit,
    )
    if not summary.events:
        raise no_events_error(path, args.symbol)
    per_event_us = summary.wall_s / summary.events * 1e6 if summary.events else 0.0
    print(f"events: {summary.events} ({summary.trades} trades, {summary.books} books) "
          f"covering {summary.market_seconds:.1f} s of market time, {summary.rejected} rejected")
    print(f"replayed in {summary.wall_s:.2f} s: {per_event_us:.2f} us per event end to end "
          f"(decode + features)")
    for symbol, vwap in summary.last_vwap.items():
        print(f"{symbol}: last 30 s VWAP {vwap:.2f}")
    print(f"valid feature vectors: {summary.valid_vectors}")
    if summary.valid_vectors:
        print(f"{'feature':<24}{'min':>12}{'mean':>12}{'max':>12}")
        for name, r in summary.ranges.items():
            mean = r.total / summary.valid_vectors
            print(f"{name:<24}{r.low:>12.3f}{mean:>12.3f}{r.high:>12.3f}")
    return 0

