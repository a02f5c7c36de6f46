"""``bitunix-bot train``: recorded market data -> labelled samples -> model -> registry."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Generic, TypeVar

from bitunix.cli._args import (
    non_negative_float,
    open_fraction,
    positive_float,
    positive_int,
    seed,
)
from bitunix.cli._data import no_events_error
from bitunix.core.errors import ConfigError

DEFAULT_TICKS = {"BTCUSDT": 0.1, "ETHUSDT": 0.01}
#: Market time between the books derived for data without any (trade CSV, trades tables).
DERIVED_BOOK_NS = 250_000_000


def register(subparsers: Any) -> None:
    """Add the ``train`` command."""
    parser = subparsers.add_parser(
        "train",
        help="train an OVIR-X model on recorded data and register it",
        description=(
            "Replay market data (captures, recordings, trade CSV, Parquet) through the "
            "FeatureEngine, label every deviation sample (does "
            "price revert to the target before the stop within the horizon, after fees), "
            "split by time with purging, fit a seeded gradient-boosted model, calibrate, "
            "export to ONNX (parity-checked) and register it with its manifest. Defaults "
            "rebuild the shipped default model from the bundled BTCUSDT and ETHUSDT captures."
        ),
    )
    parser.add_argument(
        "--data",
        action="append",
        metavar="SYMBOL[=PATH]",
        help="market data per symbol: a capture, a recording or the recorder's directory, a "
        "trade CSV or Parquet; a file, directory or glob pattern (repeatable; default: the "
        "bundled BTCUSDT and ETHUSDT captures)",
    )
    parser.add_argument(
        "--tick", action="append", metavar="SYMBOL=TICK", help="tick size per symbol"
    )
    parser.add_argument("--registry", default="models", help="registry directory (models)")
    parser.add_argument("--name", default="ovirx-gbm", help="model name (ovirx-gbm)")
    parser.add_argument("--version", help="model version (default: sha256 prefix)")
    parser.add_argument(
        "--estimator",
        choices=("gbm", "logistic"),
        default="gbm",
        help="gbm: gradient boosting served by ONNX (default); logistic: served in Python",
    )
    parser.add_argument("--trees", type=positive_int, default=100,
                        help="boosting rounds (100)")
    parser.add_argument("--depth", type=positive_int, default=3, help="tree depth (3)")
    parser.add_argument("--seed", type=seed, default=42, help="random seed (42)")
    parser.add_argument(
        "--horizon-s",
        type=positive_float,
        default=30.0,
        help="label horizon in seconds (30: the bundled captures last 344 s and each "
        "part of the time split loses one horizon to purging)",
    )
    parser.add_argument("--fee-bps", type=non_negative_float, default=2.0,
                        help="fee per side, bp (2)")
    parser.add_argument("--min-abs-z", type=non_negative_float, default=1.0,
                        help="sample when |z| >= (1)")
    parser.add_argument("--threshold", type=open_fraction, default=0.65,
                        help="decision threshold, in (0, 1) (0.65)")
    parser.add_argument("--promote", action="store_true", help="make the new model active")
    parser.add_argument(
        "--bundle",
        metavar="DIR",
        help="also write model.onnx + manifest.json to DIR (the package's default model)",
    )
    parser.set_defaults(func=run)


def _pairs(items: list[str] | None, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not key:
            raise ConfigError(f"--{what} {item!r}: expected SYMBOL=VALUE")
        out[key.upper()] = value if sep else ""
    return out


def _tick_sizes(items: list[str] | None) -> dict[str, float]:
    ticks = {**DEFAULT_TICKS}
    for symbol, text in _pairs(items, "tick").items():
        try:
            ticks[symbol] = positive_float(text)
        except argparse.ArgumentTypeError as exc:
            raise ConfigError(f"--tick {symbol}={text}: {exc}") from None
    return ticks


def _sources(items: list[str] | None, ticks: dict[str, float]) -> dict[str, Path]:
    """Every ``--data`` checked (tick known, file there) before anything is read."""
    from bitunix.data import DataFileError, bundled_capture
    from bitunix.data.files import market_paths

    sources: dict[str, Path] = {}
    for symbol, path_text in (_pairs(items, "data") or dict.fromkeys(DEFAULT_TICKS, "")).items():
        if symbol not in ticks:
            raise ConfigError(f"no tick size for {symbol}; pass --tick {symbol}=TICK")
        path = Path(path_text) if path_text else bundled_capture(symbol)
        try:
            market_paths(path)  # a file, a directory of parts or a glob pattern
        except DataFileError as exc:
            raise ConfigError(f"--data {symbol}={path_text}: {exc}") from None
        sources[symbol] = path
    return sources


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse now what would fail after minutes of training."""
    from bitunix.ml.registry import check_name

    check_name(args.name)
    if args.version is not None:
        check_name(args.version, "version")
    for flag, value in (("--registry", args.registry), ("--bundle", args.bundle)):
        if value is None:
            continue
        existing = Path(value).absolute()
        while not existing.exists():  # the directory is made when the model is written
            existing = existing.parent
        if not existing.is_dir():
            raise ConfigError(f"{flag} {value}: {existing} is not a directory")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise ConfigError(f"{flag} {value}: cannot write in {existing}")


def run(args: argparse.Namespace) -> int:
    """Train, export, register; print a summary."""
    import shutil
    import tempfile
    from decimal import Decimal

    from bitunix.data.books import DerivedBooks
    from bitunix.data.files import iter_market_file
    from bitunix.features import FEATURE_NAMES
    from bitunix.ml.dataset import FeatureParams, build_samples
    from bitunix.ml.labels import LabelConfig
    from bitunix.ml.registry import ModelRegistry
    from bitunix.ml.train import Dataset, TrainConfig, export, fit

    ticks = _tick_sizes(args.tick)
    sources = _sources(args.data, ticks)
    _check_outputs(args)
    registry = ModelRegistry(args.registry)
    registry.entries()  # a broken index is refused before training, not after
    datasets = []
    for symbol, path in sources.items():
        params = FeatureParams(tick_size=ticks[symbol])
        counted = _Counted(iter_market_file(path, symbol=symbol))
        # Trade-only data (CSV, trades tables): samples are taken on book updates, so books
        # are derived from the trades, as the backtester does, and that is said.
        books = DerivedBooks(counted, {symbol: Decimal(str(ticks[symbol]))},
                             interval_ns=DERIVED_BOOK_NS)
        samples = build_samples(books, params, min_abs_z=args.min_abs_z)
        if not counted.n:
            raise no_events_error(path, symbol, flag="--data")
        derived = " (no book in the data: books derived from its trades every " \
            f"{DERIVED_BOOK_NS // 10**6} ms)" if symbol in books.derived else ""
        print(f"{symbol}: {len(samples)} samples from {path.name}{derived}")
        datasets.append(Dataset(source=path.name, symbol=symbol, samples=samples, params=params))
    cfg = TrainConfig(
        estimator=args.estimator,
        trees=args.trees,
        max_depth=args.depth,
        seed=args.seed,
        threshold=args.threshold,
    )
    labels = LabelConfig(horizon_s=args.horizon_s, fee_bps=args.fee_bps)
    trained = fit(datasets, FEATURE_NAMES, cfg, labels)
    with tempfile.TemporaryDirectory() as tmp:
        manifest = export(trained, FEATURE_NAMES, tmp, name=args.name, version=args.version)
        try:
            entry = registry.register(tmp)
        except OSError as exc:
            raise ConfigError(f"--registry {args.registry}: cannot write the model: "
                              f"{exc.strerror or exc}") from None
        if args.bundle:
            dest = Path(args.bundle)
            try:
                dest.mkdir(parents=True, exist_ok=True)
                for name in ("model.onnx", "manifest.json"):
                    if (Path(tmp) / name).exists():
                        shutil.copyfile(Path(tmp) / name, dest / name)
            except OSError as exc:
                raise ConfigError(f"--bundle {args.bundle}: cannot write the model: "
                                  f"{exc.strerror or exc}") from None
    if args.promote:
        registry.promote(entry.name, entry.version)
    m = manifest.metrics
    info = manifest.training
    auc = "n/a" if m.auc is None else f"{m.auc:.3f}"
    hit = "n/a" if m.hit_rate is None else f"{m.hit_rate:.3f}"
    print(
        f"{entry.name}@{entry.version}: {info.n_samples} samples ({info.positives} positive), "
        f"train/calibration/validation {info.n_train}/{info.n_calibration}/{info.n_validation}"
    )
    print(
        f"validation: AUC {auc}, Brier {m.brier:.4f}, ECE {m.ece:.3f}, base rate "
        f"{m.base_rate:.3f}, approvals at {m.threshold} {m.approvals}, hit rate {hit}"
    )
    t_auc = "n/a" if m.tradable_auc is None else f"{m.tradable_auc:.3f}"
    t_base = "n/a" if m.tradable_base_rate is None else f"{m.tradable_base_rate:.3f}"
    print(
        f"validation, samples whose target pays the fees: {m.tradable_n}, base rate "
        f"{t_base}, AUC {t_auc}"
    )
    print(f"registered in {registry.root}" + (" and promoted" if args.promote else ""))
    sys.stdout.flush()
    return 0


_T = TypeVar("_T")


class _Counted(Generic[_T]):
    """An iterable that counts what went through it."""

    def __init__(self, items: Iterable[_T]) -> None:
        self._items = items
        self.n = 0

    def __iter__(self) -> Iterator[_T]:
        for item in self._items:
            self.n += 1
            yield item
