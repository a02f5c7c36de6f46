"""A parameter sweep on Dask: one backtest per task, one row per backtest, one table.

The client (the ``sweep`` command) decides the tasks with :mod:`bitunix.backtest.sweep`;
each task runs on a Dask worker as :func:`run_task`: it loads the configuration with the
task's parameters as overrides, replays its data (a file, or a time window of all files
merged) through :func:`~bitunix.app.backtest.run_backtest` with the sweep's seed, builds
the report and returns one row of parameters and metrics, and, apart, its timing. A bad
parameter value is that row's ``error`` (one line); the sweep goes on.

Local by default (:func:`sweep_client` starts a ``LocalCluster`` of worker processes on
127.0.0.1 for the run and closes it after); given a scheduler address, the tasks run on
that cluster, whose workers must see the data files and model registry at the same paths.
Why Dask: docs/adr/0001-sweeps-on-dask.md.

Deterministic: rows are sorted by their parameters (then phase, window, data), not by
completion, and hold nothing of the wall clock (that goes to ``timings.csv``), so the same
inputs, configuration and seed give the same table.
"""

from __future__ import annotations

import csv
import dataclasses
import itertools
import os
import tempfile
import time
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from bitunix.backtest.sweep import (
    Param,
    Window,
    rank_rows,
    row_key,
    sort_rows,
    walk_forward_windows,
)
from bitunix.core.errors import BitunixError, ConfigError

if TYPE_CHECKING:
    from distributed import Client

    from bitunix.model.market import MarketEvent

__all__ = [
    "FLOAT_METRICS",
    "INT_METRICS",
    "LOCAL_SCHEDULER",
    "TEXT_METRICS",
    "SweepTask",
    "TaskResult",
    "check_key",
    "data_span",
    "run_task",
    "run_tasks",
    "sweep_client",
    "walk_forward",
    "write_results",
]

#: The report's metrics kept in a row: floats, counts, exact amounts (Decimal strings).
FLOAT_METRICS = ("total_return", "sharpe", "sortino", "max_drawdown", "calmar",
                 "annual_return", "volatility", "win_rate", "profit_factor", "exposure",
                 "turnover")
INT_METRICS = ("trades", "orders", "fills", "events", "signals")
TEXT_METRICS = ("pnl", "fees", "funding", "avg_trade", "final_equity")
#: The columns after the parameters that identify a row.
_ID_COLUMNS = ("phase", "window", "data")
#: Metrics shown in summary.csv and walk_forward.csv beside the ranking metric.
_SHOWN = ("sharpe", "sortino", "total_return", "max_drawdown", "calmar", "win_rate",
          "profit_factor", "trades", "pnl", "fees")
_CONNECT_TIMEOUT_S = 10
#: Without a dashboard the scheduler still serves its health routes over HTTP, on port
#: 8787 unless told otherwise; a second cluster (or another program) there gets a warning
#: and another port. Any free port on the loopback instead.
LOCAL_SCHEDULER = {"dashboard_address": "127.0.0.1:0"}


def check_key(dotted: str, flag: str = "--grid") -> None:
    """Refuse a dotted key that is no key of :class:`~bitunix.config.BotConfig` (one
    line naming the flag and the key); the key's values are checked by each task."""
    from bitunix.config import BotConfig

    node: Any = BotConfig
    walked: list[str] = []
    for part in dotted.split("."):
        node = _section(node)
        if node is None:
            raise ConfigError(f"{flag}: key {dotted}: {'.'.join(walked)} is not a section")
        if isinstance(node, dict):
            node = node["*"]
        else:
            fields = {f.name: f.type for f in msgspec.structs.fields(node)}
            if part not in fields:
                where = ".".join(walked) or "the configuration"
                raise ConfigError(f"{flag}: unknown key {dotted} ({where} has "
                                  f"{', '.join(sorted(fields))})")
            node = fields[part]
        walked.append(part)


def _section(tp: Any) -> Any:
    """A struct type, ``{"*": value type}`` for a table keyed by name, or None."""
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        return tp
    origin = typing.get_origin(tp)
    if origin is dict:
        return {"*": typing.get_args(tp)[1]}
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            found = _section(arg)
            if found is not None:
                return found
    return None


@dataclass(frozen=True)
class SweepTask:
    """One backtest of a sweep: what a worker needs, and nothing it cannot pickle."""

    params: dict[str, Param]
    #: The market-data files (replayed merged in time order).
    files: tuple[str, ...]
    #: What the row's ``data`` column says: a file's name, or the names joined.
    data: str
    seed: int
    phase: str = "sweep"
    window: Window | None = None
    config_path: str | None = None
    #: The client's ``BITUNIX_CFG_*`` variables (a remote worker has its own environment).
    environ: dict[str, str] = field(default_factory=dict)
    #: A model registry directory; None: the model shipped with the package.
    models_dir: str | None = None
    #: Only the first events of the merged data (a quick screen); None: all.
    max_events: int | None = None


@dataclass(frozen=True)
class TaskResult:
    """A task's row (deterministic) and its timing (not)."""

    row: dict[str, Any]
    wall_s: float
    worker_pid: int


def task_events(task: SweepTask) -> Iterator[MarketEvent]:
    """The task's events: its files merged, cut to ``max_events``, then to its window
    (a filter on the stream, no files written)."""
    from bitunix.app.backtest import market_events

    stream: Iterator[MarketEvent] = market_events([Path(p) for p in task.files])
    if task.max_events is not None:
        stream = itertools.islice(stream, task.max_events)
    window = task.window
    if window is not None:
        stream = itertools.takewhile(
            lambda e: e.ts_ns < window.end_ns,
            itertools.dropwhile(lambda e: e.ts_ns < window.start_ns, stream))
    return stream


def run_task(task: SweepTask) -> TaskResult:
    """Run one backtest (on a worker); a configuration or data error is the row's
    ``error``, any other exception is a bug and propagates to the client."""
    from bitunix.app.backtest import run_backtest
    from bitunix.backtest.report import build_report
    from bitunix.cli.backtest import report_inputs
    from bitunix.config import load_config

    row: dict[str, Any] = {**task.params, "phase": task.phase,
                           "window": None if task.window is None else task.window.index,
                           "data": task.data, "error": None}
    row.update(dict.fromkeys((*FLOAT_METRICS, *INT_METRICS, *TEXT_METRICS)))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bitunix-sweep-") as scratch:
        try:
            overrides: dict[str, object] = {
                "signal.models_dir": task.models_dir or _bundled_registry(scratch),
                **task.params}
            config = load_config(Path(task.config_path) if task.config_path else None,
                                 task.environ, overrides=overrides)
            result = run_backtest(task_events(task), config, seed=task.seed)
        except BitunixError as exc:
            row["error"] = " ".join(str(exc).split())
            return TaskResult(row, time.perf_counter() - started, os.getpid())
    report = build_report(report_inputs(result, [Path(p) for p in task.files], task.seed,
                                        config))
    for name in (*FLOAT_METRICS, *INT_METRICS, *TEXT_METRICS):
        row[name] = report.get(name)
    row["events"] = result.events
    if result.errors:
        row["error"] = " ".join("; ".join(result.errors).split())
    return TaskResult(row, time.perf_counter() - started, os.getpid())


def _bundled_registry(scratch: str) -> str:
    from bitunix.ml.bundled import install_bundled_model
    from bitunix.ml.registry import ModelRegistry

    install_bundled_model(ModelRegistry(Path(scratch)))
    return scratch


@contextmanager
def sweep_client(scheduler: str | None = None, workers: int = 2) -> Iterator[Client]:
    """A Dask client: of the cluster at ``scheduler``, or of a ``LocalCluster`` of
    ``workers`` single-threaded worker processes on 127.0.0.1, started here and closed
    on exit (no dashboard)."""
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=_CONNECT_TIMEOUT_S)  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError) as exc:
            raise ConfigError(f"--scheduler {scheduler!r}: cannot connect "
                              f"({' '.join(str(exc).split()) or type(exc).__name__})"
                              ) from None
        with client:
            yield client
        return
    cluster = LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, scheduler_kwargs=LOCAL_SCHEDULER)
    with cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
        yield client


def run_tasks(client: Client, tasks: Sequence[SweepTask]) -> list[TaskResult]:
    """Run ``tasks`` on the cluster; their results in the tasks' order."""
    if not tasks:
        return []
    futures = client.map(run_task, list(tasks), pure=False)
    results: list[TaskResult] = client.gather(futures)  # type: ignore[no-untyped-call]
    return results


def data_span(files: Sequence[str], max_events: int | None = None) -> tuple[int, int]:
    """The first and last timestamps of the files merged (read once, on the client)."""
    probe = SweepTask(params={}, files=tuple(files), data="", seed=0, max_events=max_events)
    first = last = None
    for event in task_events(probe):
        if first is None:
            first = event.ts_ns
        last = event.ts_ns
    if first is None or last is None:
        raise ConfigError("--data: the market data holds no event")
    return first, last


@dataclass
class WalkForward:
    """A walk-forward's folds: per fold the windows, the chosen row (in sample) and its
    out-of-sample row."""

    windows: list[Window]
    chosen: list[dict[str, Any]]
    tested: list[dict[str, Any]]
    results: list[TaskResult]


def walk_forward(client: Client, configs: Sequence[dict[str, Param]], base: SweepTask,
                 k: int, metric: str) -> WalkForward:
    """Split the data's span into ``k + 1`` windows; for each fold ``i`` run every
    configuration on window ``i``, choose the best by ``metric``, run it on window
    ``i + 1`` (out of sample)."""
    first, last = data_span(base.files, base.max_events)
    windows = walk_forward_windows(first, last, k)
    inner = [_replace(base, params=dict(c), phase="in_sample", window=w)
             for w in windows[:-1] for c in configs]
    inner_results = run_tasks(client, inner)
    keys = list(configs[0]) if configs else []
    chosen = []
    for w in windows[:-1]:
        rows = sort_rows([r.row for r in inner_results if r.row["window"] == w.index], keys)
        chosen.append(rank_rows(rows, metric)[0])
    outer = [_replace(base, params={key: row[key] for key in keys},
                             phase="out_of_sample", window=windows[i + 1])
             for i, row in enumerate(chosen)]
    outer_results = run_tasks(client, outer)
    return WalkForward(windows, chosen, [r.row for r in outer_results],
                       inner_results + outer_results)


def _replace(task: SweepTask, **changes: Any) -> SweepTask:
    return dataclasses.replace(task, **changes)


def _column_type(values: Sequence[Any]) -> Any:
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return pa.bool_()
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pa.int64()
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                       for v in present):
        return pa.float64()
    return pa.string()


def _cell(value: Any, tp: Any) -> Any:
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    if value is None:
        return None
    if tp == pa.float64():
        return float(value)
    if tp == pa.string():
        return str(value)
    return value


def results_table(rows: Sequence[Mapping[str, Any]], param_keys: Sequence[str]) -> Any:
    """The rows as a pyarrow table: the parameters (typed by their values: bool, int64,
    float64, else string), the row's identity, the error, then the metrics."""
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    columns: list[tuple[str, Any]] = [(k, _column_type([r.get(k) for r in rows]))
                                      for k in param_keys]
    columns += [("phase", pa.string()), ("window", pa.int64()), ("data", pa.string()),
                ("error", pa.string())]
    columns += [(m, pa.float64()) for m in FLOAT_METRICS]
    columns += [(m, pa.int64()) for m in INT_METRICS]
    columns += [(m, pa.string()) for m in TEXT_METRICS]
    schema = pa.schema(columns)
    arrays = [pa.array([_cell(r.get(name), tp) for r in rows], type=tp)
              for name, tp in columns]
    return pa.Table.from_arrays(arrays, schema=schema)


def _csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([["" if v is None else v for v in row] for row in rows])


def write_results(out: Path, results: Sequence[TaskResult], param_keys: Sequence[str],
                  metric: str, wf: WalkForward | None = None) -> list[dict[str, Any]]:
    """Write ``results.parquet`` (every row, in the deterministic order), ``summary.csv``
    (ranked by ``metric``), ``timings.csv`` and, for a walk-forward, ``walk_forward.csv``
    into ``out``; return the ranked rows."""
    import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]

    out.mkdir(parents=True, exist_ok=True)
    order = [*param_keys, *_ID_COLUMNS]
    rows = sort_rows([r.row for r in results], order)
    pq.write_table(results_table(rows, param_keys), out / "results.parquet")
    ranked = rank_rows(rows, metric)
    shown = [metric, *(m for m in _SHOWN if m != metric)]
    _csv(out / "summary.csv", ["rank", *order, *shown, "error"],
         [[i, *(r.get(c) for c in order), *(r.get(m) for m in shown), r.get("error")]
          for i, r in enumerate(ranked, 1)])
    timed = sorted(results, key=lambda t: row_key(t.row, order))
    _csv(out / "timings.csv", [*order, "events", "wall_s", "events_per_s", "worker_pid"],
         [[*(t.row.get(c) for c in order), t.row.get("events"), f"{t.wall_s:.3f}",
           f"{(t.row.get('events') or 0) / t.wall_s:.0f}" if t.wall_s > 0 else "",
           t.worker_pid] for t in timed])
    if wf is not None:
        fold_metrics = [metric, *(m for m in ("total_return", "sharpe", "max_drawdown",
                                              "trades", "pnl") if m != metric)]
        header = ["fold", "in_start_ns", "in_end_ns", "out_start_ns", "out_end_ns",
                  *param_keys, *(f"in_{m}" for m in fold_metrics),
                  *(f"out_{m}" for m in fold_metrics), "in_error", "out_error"]
        lines = []
        for i, (best, test) in enumerate(zip(wf.chosen, wf.tested, strict=True)):
            w_in, w_out = wf.windows[i], wf.windows[i + 1]
            lines.append([i, w_in.start_ns, w_in.end_ns, w_out.start_ns, w_out.end_ns,
                          *(best.get(k) for k in param_keys),
                          *(best.get(m) for m in fold_metrics),
                          *(test.get(m) for m in fold_metrics),
                          best.get("error"), test.get("error")])
        _csv(out / "walk_forward.csv", header, lines)
    return ranked
