"""``bitunix-bot sweep``: many backtests on a Dask cluster, one table of their results."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from bitunix.backtest.sweep import RANK_METRICS
from bitunix.cli._args import positive_int, seed

_EPILOG = """\
tasks: a grid search (--grid KEY=V1,V2,... for each key; every combination) or a random
search (--random N with --range KEY=LO:HI for each key; integers when both ends are).
Keys are dotted configuration keys (backtest.latency_ms, trader.entry_order, ...); values
are TOML scalars (a bare word is a string). Each configuration runs once per --data file;
with --walk-forward K the files are merged and their time span cut into K+1 windows: fold
k chooses the best configuration on window k and tests it on window k+1.
Outputs in --out: results.parquet (one row per task, sorted by the parameters; the same
inputs and seed give the same table), summary.csv (ranked by --rank-by), timings.csv, and
walk_forward.csv. Exit status: 0 done, 1 a task failed (its row says why; the others ran),
2 bad arguments."""


def register(subparsers: Any) -> None:
    """Add the ``sweep`` command."""
    parser = subparsers.add_parser(
        "sweep",
        help="backtest a grid or a random search of configurations on a Dask cluster",
        description=(
            "Run one backtest per configuration and data file (or walk-forward window) on "
            "a Dask cluster: a local one started for the run by default, or the one at "
            "--scheduler. Collects every run's metrics in one table and ranks them."
        ),
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", nargs="+", action="extend", metavar="FILE",
                        help="market-data files (default: the bundled BTCUSDT capture)")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="output directory (created; existing result files replaced)")
    parser.add_argument("--config", help="TOML configuration file the parameters override")
    parser.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2,...",
                        help="a key and its values (repeat for more keys)")
    parser.add_argument("--random", type=positive_int, metavar="N",
                        help="random search: N configurations drawn from the --range flags")
    parser.add_argument("--range", action="append", default=[], metavar="KEY=LO:HI",
                        help="a key's range for --random (repeat for more keys)")
    parser.add_argument("--seed", type=seed, default=0,
                        help="seed of the random search and of every backtest; default 0")
    parser.add_argument("--rank-by", default="sharpe", choices=RANK_METRICS, metavar="METRIC",
                        help=f"metric of the ranking ({', '.join(RANK_METRICS)}); "
                        "default sharpe")
    parser.add_argument("--walk-forward", type=positive_int, metavar="K",
                        help="K walk-forward folds over K+1 time windows")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="a running Dask scheduler (tcp://host:port); default: a local "
                        "cluster started for the run")
    parser.add_argument("--workers", type=positive_int, default=2,
                        help="worker processes of the local cluster (default 2)")
    parser.add_argument("--max-events", type=positive_int, metavar="N",
                        help="replay only the first N events of the data (a quick screen)")
    parser.add_argument("--models-dir", help="model registry (default: ./models, else the "
                        "model shipped with the package)")
    parser.set_defaults(func=run)


def configurations(args: argparse.Namespace) -> tuple[list[str], list[dict[str, Any]]]:
    """The parameter keys and the configurations the flags ask for; a bad flag is a
    ConfigError naming it and its value, raised before anything runs."""
    from bitunix.app.sweep import check_key
    from bitunix.backtest.sweep import draw_random, expand_grid, parse_grid, parse_range
    from bitunix.core.errors import ConfigError

    if args.grid and (args.random is not None or args.range):
        raise ConfigError("--grid: a grid search takes no --random or --range")
    if args.grid:
        grid = [parse_grid(text) for text in args.grid]
        for text, (key, _) in zip(args.grid, grid, strict=True):
            check_key(key, f"--grid {text!r}")
        return [k for k, _ in grid], expand_grid(grid)
    if args.random is None:
        raise ConfigError("no search: give --grid KEY=V1,V2,... or --random N with "
                          "--range KEY=LO:HI")
    if not args.range:
        raise ConfigError(f"--random {args.random}: needs at least one --range KEY=LO:HI")
    ranges = [parse_range(text) for text in args.range]
    for text, r in zip(args.range, ranges, strict=True):
        check_key(r.key, f"--range {text!r}")
    return [r.key for r in ranges], draw_random(ranges, args.random, args.seed)


def run(args: argparse.Namespace) -> int:
    """Run the sweep, write its tables, print the top 10; return the exit code."""
    from bitunix.app.sweep import SweepTask, run_tasks, sweep_client, walk_forward, write_results
    from bitunix.config import environment, load_config
    from bitunix.core.errors import ConfigError
    from bitunix.data import bundled_capture

    try:
        keys, configs = configurations(args)
        if args.scheduler is not None and not args.scheduler.startswith(("tcp://", "tls://")):
            raise ConfigError(f"--scheduler {args.scheduler!r}: not an address like "
                              "tcp://host:port")
    except ConfigError as exc:
        print(f"bitunix-bot sweep: error: {exc}", file=sys.stderr)
        return 2
    files = [Path(p) for p in (args.data or [str(bundled_capture())])]
    for path in files:
        if not path.is_file():
            raise ConfigError(f"--data {str(path)!r}: no such file")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {args.out!r}: exists and is not a directory")
    if not out.parent.is_dir():
        raise ConfigError(f"--out {args.out!r}: directory {out.parent} does not exist")
    environ = {k: v for k, v in environment().items() if k.startswith("BITUNIX_CFG_")}
    config_path = str(Path(args.config).resolve()) if args.config else None
    config = load_config(Path(config_path) if config_path else None, environ)  # checked once
    models_dir = _models_dir(args.models_dir, config.signal.models_dir)
    base = SweepTask(params={}, files=tuple(str(p.resolve()) for p in files),
                     data=",".join(p.name for p in files), seed=args.seed,
                     config_path=config_path, environ=environ, models_dir=models_dir,
                     max_events=args.max_events)
    where = args.scheduler or f"a local cluster of {args.workers} workers"
    if logging.getLogger().getEffectiveLevel() > logging.INFO:
        # distributed logs its start and stop at INFO; its own handler (set to WARNING by
        # the local cluster) still says what goes wrong.
        logging.getLogger("distributed").propagate = False
    wf = None
    with sweep_client(args.scheduler, args.workers) as client:
        if args.walk_forward is not None:
            print(f"bitunix-bot sweep: {len(configs)} configurations, walk-forward in "
                  f"{args.walk_forward} folds over {base.data}, on {where}", flush=True)
            wf = walk_forward(client, configs, base, args.walk_forward, args.rank_by)
            results = wf.results
        else:
            tasks = [SweepTask(params=dict(c), files=(str(p.resolve()),), data=p.name,
                               seed=args.seed, config_path=config_path, environ=environ,
                               models_dir=models_dir, max_events=args.max_events)
                     for c in configs for p in files]
            print(f"bitunix-bot sweep: {len(tasks)} tasks ({len(configs)} configurations x "
                  f"{len(files)} files) on {where}", flush=True)
            results = run_tasks(client, tasks)
    ranked = write_results(out, results, keys, args.rank_by, wf)
    _print_top(ranked, keys, args.rank_by)
    if wf is not None:
        for i, (best, test) in enumerate(zip(wf.chosen, wf.tested, strict=True)):
            print(f"fold {i}: chose {_params(best, keys)}: in sample {args.rank_by} "
                  f"{_fmt(best.get(args.rank_by))}, out of sample "
                  f"{_fmt(test.get(args.rank_by))}")
    failed = [r for r in ranked if r.get("error")]
    for row in failed:
        print(f"error: {_params(row, keys)} on {row['data']}: {row['error']}",
              file=sys.stderr)
    names = ["results.parquet", "summary.csv", "timings.csv"]
    if wf is not None:
        names.append("walk_forward.csv")
    print(f"wrote {', '.join(names)} to {out}")
    return 1 if failed else 0


def _models_dir(flag: str | None, configured: str | None) -> str | None:
    """The registry the workers serve (an absolute path), or None: the shipped model."""
    from bitunix.core.errors import ConfigError

    if flag is not None:
        if not Path(flag).is_dir():
            raise ConfigError(f"--models-dir {flag!r}: not a directory")
        return str(Path(flag).resolve())
    if configured and Path(configured).is_dir():
        return str(Path(configured).resolve())
    return None


def _params(row: dict[str, Any], keys: list[str]) -> str:
    return " ".join(f"{k}={row.get(k)}" for k in keys)


def _fmt(value: object) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _print_top(ranked: list[dict[str, Any]], keys: list[str], metric: str) -> None:
    where = ["phase", "window", "data"] if any(r.get("window") is not None
                                               for r in ranked) else ["data"]
    shown = [metric, *(m for m in ("trades", "pnl") if m != metric)]
    header = ["#", *keys, *where, *shown]
    lines = [[str(i), *(_fmt(r.get(k)) for k in (*keys, *where, *shown))]
             for i, r in enumerate(ranked[:10], 1)]
    widths = [max(len(c) for c in col) for col in zip(header, *lines, strict=True)]
    for line in [header, *lines]:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
