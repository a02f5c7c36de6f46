"""``bitunix-bot retrain``: the scheduled model refresh (``bitunix.ml.refresh``).

One run judges the shadow an earlier refresh left under live comparison (promote,
discard or wait, by the stated rule) and, unless it waits, trains a model on the newest
recordings with ``bitunix-bot train`` and makes it the shadow. ``--schedule`` repeats it
every ``--every`` (``--max-runs`` bounds the loop); ``deploy/bitunix-bot-retrain.timer``
is the systemd alternative. See docs/models.md, "Scheduled refresh".
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import Any

from bitunix.cli._args import non_negative_float, positive_float, positive_int
from bitunix.core.errors import BitunixError, ConfigError

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd]?)")
_NS = 1_000_000_000


def duration_s(text: str) -> float:
    """``90``, ``90s``, ``30m``, ``24h``, ``7d`` -> seconds (> 0)."""
    m = _DURATION.fullmatch(text.strip())
    if m is None or float(m.group(1)) <= 0.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration > 0 (e.g. 90s, 30m, "
                                         "24h, 7d)")
    return float(m.group(1)) * _UNITS[m.group(2) or "s"]


def register(subparsers: Any) -> None:
    """Add the ``retrain`` command."""
    from bitunix.cli._operator import add_store

    parser = subparsers.add_parser(
        "retrain",
        help="scheduled model refresh: judge the last shadow, train a new one on the "
        "latest recordings",
        description=(
            "Judge the shadow model an earlier retrain put under live comparison, on the "
            "figures the running bot saved in its store: promote it when it matches or beats "
            "the active model (hit rate, Brier) on enough live trades after --compare-for, "
            "discard it when not, wait when too few trades. Unless it waits, train a model "
            "on the newest recordings (--data) and make it the shadow. Audited in the store "
            "and the registry. --schedule repeats it every --every."
        ),
    )
    parser.add_argument(
        "--data", action="append", metavar="SYMBOL=DIR",
        help="the recorder's directory (rotated parts) or files per symbol (repeatable, "
        "required)",
    )
    parser.add_argument("--last-files", type=positive_int, metavar="N",
                        help="train on the newest N files of each --data")
    parser.add_argument("--last-hours", type=positive_float, metavar="H",
                        help="train on the files started within the last H hours")
    parser.add_argument("--tick", action="append", metavar="SYMBOL=TICK",
                        help="tick size per symbol (as for train)")
    parser.add_argument("--registry", default="models", help="registry directory (models)")
    parser.add_argument("--name", help="model name (default: the active model's, else "
                        "ovirx-gbm)")
    parser.add_argument("--trees", type=positive_int, default=100,
                        help="boosting rounds (100)")
    parser.add_argument("--horizon-s", type=positive_float, default=30.0,
                        help="label horizon in seconds (30)")
    add_store(parser)
    parser.add_argument("--min-decisions", type=positive_int, default=50, metavar="N",
                        help="live trades needed before a verdict (50)")
    parser.add_argument("--compare-for", type=duration_s, default=86400.0,
                        metavar="DURATION", help="live comparison before a verdict (24h)")
    parser.add_argument("--hit-rate-margin", type=non_negative_float, default=0.0,
                        help="the shadow's hit rate may be this much below the active "
                        "model's (0)")
    parser.add_argument("--max-brier-worse", type=non_negative_float, default=0.01,
                        help="the shadow's Brier score may be this much above the active "
                        "model's (0.01)")
    parser.add_argument("--by", help="who, for the audit trail (default: the user name)")
    parser.add_argument("--schedule", action="store_true",
                        help="repeat the refresh every --every until stopped")
    parser.add_argument("--every", type=duration_s, metavar="DURATION",
                        help="interval of --schedule (24h)")
    parser.add_argument("--max-runs", type=positive_int, metavar="N",
                        help="stop --schedule after N refreshes")
    parser.set_defaults(func=run)


def _select(paths: list[Path], last_files: int | None, last_hours: float | None,
            now_ns: int) -> list[Path]:
    """The newest files: by the start time in a rotated part's name, else by mtime."""
    from datetime import UTC, datetime

    from bitunix.data.rotating import PART_NAME

    def start_ns(p: Path) -> int:
        if PART_NAME.fullmatch(p.name):
            stamp = p.name.split("-")[2].removesuffix(".txt.gz")
            when = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            return int(when.timestamp()) * _NS
        return p.stat().st_mtime_ns

    chosen = list(paths)
    if last_hours is not None:
        cut = now_ns - int(last_hours * 3600 * _NS)
        chosen = [p for p in chosen if start_ns(p) >= cut]
    if last_files is not None:
        chosen = chosen[-last_files:]
    return chosen


def _recordings(args: argparse.Namespace, now_ns: int) -> dict[str, list[Path]]:
    """The files to train on per symbol; ConfigError when there are none."""
    from bitunix.data import DataFileError
    from bitunix.data.files import market_paths

    if not args.data:
        raise ConfigError("--data SYMBOL=DIR is required: the recorder's directory to "
                          "train on")
    out: dict[str, list[Path]] = {}
    for item in args.data:
        symbol, sep, path_text = item.partition("=")
        if not symbol or not sep or not path_text:
            raise ConfigError(f"--data {item!r}: expected SYMBOL=DIR")
        try:
            paths = market_paths(path_text)
        except DataFileError as exc:
            raise ConfigError(f"--data {item}: no recordings: {exc}") from None
        chosen = _select(paths, args.last_files, args.last_hours, now_ns)
        if not chosen:
            raise ConfigError(f"--data {item}: no recordings within the last "
                              f"{args.last_hours:g} hours ({len(paths)} older files)")
        out[symbol.upper()] = chosen
    return out


def _trainer(args: argparse.Namespace, name: str, now_ns: int) -> Any:
    """A function that trains on the newest recordings and registers the model."""
    import os
    import tempfile
    from datetime import UTC, datetime

    from bitunix.cli import train as train_cmd
    from bitunix.ml.registry import ModelRegistry, model_id

    def train() -> tuple[Any, str]:
        recordings = _recordings(args, now_ns)
        stamp = datetime.fromtimestamp(now_ns / _NS, UTC).strftime("%Y%m%dT%H%M%SZ")
        taken = {e.version for e in ModelRegistry(args.registry).entries() if e.name == name}
        version = f"r{stamp}"
        n = 1
        while version in taken:
            n += 1
            version = f"r{stamp}-{n}"
        with tempfile.TemporaryDirectory(prefix="retrain-") as tmp:
            argv = ["train", "--registry", args.registry, "--name", name, "--version",
                    version, "--trees", str(args.trees), "--horizon-s", str(args.horizon_s)]
            for item in args.tick or []:
                argv += ["--tick", item]
            for symbol, files in recordings.items():
                # The chosen parts, linked into a directory of their own: train reads a
                # directory's files in name order as one recording.
                sub = Path(tmp) / symbol
                sub.mkdir()
                for f in files:
                    os.symlink(f.absolute(), sub / f.name)
                argv += ["--data", f"{symbol}={sub}"]
            parser = argparse.ArgumentParser(prog="bitunix-bot")
            train_cmd.register(parser.add_subparsers())
            train_args = parser.parse_args(argv)
            train_cmd.run(train_args)
        entry = ModelRegistry(args.registry).get(name, version)
        data = ", ".join(f"{s}: {fs[0].name}" if len(fs) == 1 else
                         f"{s}: {len(fs)} files {fs[0].name} .. {fs[-1].name}"
                         for s, fs in recordings.items())
        print(f"trained {model_id(entry.name, entry.version)} on {data}")
        return entry, data

    return train


def _who(args: argparse.Namespace) -> str:
    import getpass
    import socket

    if args.by:
        return str(args.by)
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def _once(args: argparse.Namespace, rule: Any, store_file: Path) -> None:
    from bitunix.ml.refresh import Refresher
    from bitunix.ml.registry import ModelRegistry
    from bitunix.store import SqliteStore

    registry = ModelRegistry(args.registry)
    active = registry.with_status("active")
    name = args.name or (active.name if active is not None else "ovirx-gbm")
    now = time.time_ns()
    with SqliteStore(store_file) as store:
        refresher = Refresher(registry, store, rule, who=_who(args), now_ns=time.time_ns)
        result = refresher.once(_trainer(args, name, now))
    if result.judged is not None and result.verdict is not None:
        print(f"{result.judged}: {result.verdict.action}: {result.verdict.reason}")
    if result.shadow is not None:
        print(f"{result.shadow} is the shadow; a running bot scores it beside the active "
              f"model from its next model poll; verdict after {rule.compare_s:g} s and "
              f"{rule.min_decisions} live trades")


def run(args: argparse.Namespace) -> int:
    """One refresh, or ``--schedule``: one every ``--every``; return the exit code."""
    from bitunix.cli._operator import store_path
    from bitunix.cli.train import _check_outputs
    from bitunix.ml.refresh import RefreshRule

    if (args.max_runs is not None or args.every is not None) and not args.schedule:
        raise ConfigError("--every and --max-runs go with --schedule")
    rule = RefreshRule(min_decisions=args.min_decisions, compare_s=args.compare_for,
                       hit_rate_margin=args.hit_rate_margin,
                       max_brier_worse=args.max_brier_worse)
    store_file = store_path(args)
    _recordings(args, time.time_ns())  # bad --data refused before anything runs
    _check_outputs(argparse.Namespace(name=args.name or "ovirx-gbm", version=None,
                                      registry=args.registry, bundle=None))
    if not args.schedule:
        _once(args, rule, store_file)
        return 0
    failed = 0
    runs = 0
    while True:
        runs += 1
        started = time.monotonic()
        print(f"refresh {runs}" + (f" of {args.max_runs}" if args.max_runs else ""))
        try:
            _once(args, rule, store_file)
        except BitunixError as exc:
            # A scheduled refresh that cannot run (no new recordings yet, a locked
            # registry) is reported and retried at the next interval, not fatal.
            failed += 1
            print(f"refresh {runs} failed: {exc}", file=sys.stderr)
        sys.stdout.flush()
        if args.max_runs is not None and runs >= args.max_runs:
            break
        every = 86400.0 if args.every is None else args.every
        time.sleep(max(0.0, every - (time.monotonic() - started)))
    return 1 if failed else 0
