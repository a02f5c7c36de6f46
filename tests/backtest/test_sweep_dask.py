"""Sweeps on a Dask LocalCluster (worker processes) started here: the table, its
determinism, the walk-forward, bad values; and no worker process outlives the cluster."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import psutil
import pyarrow.parquet as pq
import pytest
from distributed import LocalCluster

from bitunix.app.backtest import run_backtest
from bitunix.app.sweep import (
    LOCAL_SCHEDULER,
    SweepTask,
    TaskResult,
    check_key,
    data_span,
    run_task,
    run_tasks,
    sweep_client,
    task_events,
    walk_forward,
    write_results,
)
from bitunix.backtest.report import build_report
from bitunix.backtest.sweep import expand_grid, rank_rows, walk_forward_windows
from bitunix.cli.backtest import report_inputs
from bitunix.config import load_config
from bitunix.core.errors import ConfigError
from bitunix.data import bundled_capture
from bitunix.ml.bundled import install_bundled_model
from bitunix.ml.registry import ModelRegistry

#: A model-free strategy with a low entry threshold and no edge guard, so that the first
#: thousand events of the bundled capture already trade (the default stack waits for
#: about 25,000).
CONFIG = """\
[backtest]
sampling_interval_s = 2.0

[[signal.strategies]]
kind = "mean_reversion"
params = { entry_z = 1.0, min_edge_bps = 0.0, min_std_bps = 0.0, cooldown_s = 1.0 }
"""
#: The bundled capture cut to its first events (the whole takes about 3 s a task here).
EVENTS = 1500
GRID = [("backtest.taker_fee", [0.0004, 0.0006]), ("backtest.latency_ms", [0, 50]),
        ("trader.entry_order", ["market", "limit_ioc"])]
KEYS = [k for k, _ in GRID]


def _python_children() -> set[int]:
    """Our child processes, but multiprocessing's resource tracker (it lives as long as
    this process, by design)."""
    out = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if "resource_tracker" not in " ".join(child.cmdline()):
                out.add(child.pid)
        except psutil.NoSuchProcess:
            pass
    return out


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    """Two single-threaded worker processes on 127.0.0.1, closed at the end, then checked
    gone."""
    before = _python_children()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, scheduler_kwargs=LOCAL_SCHEDULER) as local:
        assert len(_python_children() - before) >= 2
        yield local
    deadline = time.monotonic() + 10
    while _python_children() - before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _python_children() - before, "a worker process outlived the cluster"


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("sweep") / "sweep.toml"
    path.write_text(CONFIG)
    return str(path)


def _tasks(configs: Sequence[dict[str, Any]], config_file: str, *, seed: int = 3,
           events: int = EVENTS) -> list[SweepTask]:
    capture = bundled_capture()
    return [SweepTask(params=dict(c), files=(str(capture),), data=capture.name, seed=seed,
                      config_path=config_file, max_events=events) for c in configs]


def test_eight_configurations_give_one_table_the_same_twice(
        cluster: LocalCluster, config_file: str, tmp_path: Path) -> None:
    configs = expand_grid(GRID)
    assert len(configs) == 8
    tasks = _tasks(configs, config_file)
    with sweep_client(cluster.scheduler_address) as client:
        started = time.perf_counter()
        first = run_tasks(client, tasks)
        wall_s = time.perf_counter() - started
        second = run_tasks(client, list(reversed(tasks)))  # another finishing order
    print(f"8 configurations x {EVENTS} events on 2 workers: {wall_s:.1f} s")
    assert len({r.worker_pid for r in first + second}) == 2  # both workers took tasks

    write_results(tmp_path / "a", first, KEYS, "sharpe")
    write_results(tmp_path / "b", second, KEYS, "sharpe")
    table = pq.read_table(tmp_path / "a" / "results.parquet")
    assert table.equals(pq.read_table(tmp_path / "b" / "results.parquet"))
    assert (tmp_path / "a" / "summary.csv").read_bytes() == \
        (tmp_path / "b" / "summary.csv").read_bytes()
    rows = table.to_pylist()
    assert len(rows) == 8
    got = [tuple(r[k] for k in KEYS) for r in rows]
    assert got == sorted(tuple(c[k] for k in KEYS) for c in configs)
    assert all(r["error"] is None and r["events"] == EVENTS and r["trades"] >= 1
               for r in rows)
    # The parameters reach the backtest: the dearer taker fee pays more.
    for cheap, dear in zip(rows[:4], rows[4:], strict=True):
        assert cheap["backtest.taker_fee"] < dear["backtest.taker_fee"]
        assert 0 < float(cheap["fees"]) < float(dear["fees"])
    summary = (tmp_path / "a" / "summary.csv").read_text().splitlines()
    assert summary[0].startswith("rank,backtest.taker_fee,backtest.latency_ms,"
                                 "trader.entry_order,phase,window,data,sharpe,")
    assert len(summary) == 9
    timings = (tmp_path / "a" / "timings.csv").read_text().splitlines()
    assert len(timings) == 9
    assert timings[0].endswith("events,wall_s,events_per_s,worker_pid")
    assert "wall" not in ",".join(table.column_names)


def test_a_row_is_the_report_of_the_same_backtest_run_directly(
        cluster: LocalCluster, config_file: str, tmp_path: Path) -> None:
    task = _tasks([{"backtest.taker_fee": 0.0005}], config_file)[0]
    with sweep_client(cluster.scheduler_address) as client:
        (remote,) = run_tasks(client, [task])
    install_bundled_model(ModelRegistry(tmp_path))  # what a task serves without a registry
    config = load_config(Path(config_file), {}, overrides={
        "backtest.taker_fee": 0.0005, "signal.models_dir": str(tmp_path)})
    result = run_backtest(task_events(task), config, seed=task.seed)
    report = build_report(report_inputs(result, [bundled_capture()], task.seed, config))
    for name in ("sharpe", "sortino", "total_return", "max_drawdown", "pnl", "fees",
                 "trades", "orders", "fills", "win_rate", "final_equity"):
        assert remote.row[name] == report[name], name
    assert remote.row["trades"] >= 1


def test_a_bad_value_is_its_rows_error_and_the_others_run(
        cluster: LocalCluster, config_file: str) -> None:
    tasks = _tasks([{"backtest.latency_ms": -5}, {"backtest.latency_ms": 0},
                    {"trader.entry_order": "limit_fok"}], config_file, events=500)
    with sweep_client(cluster.scheduler_address) as client:
        bad, good, word = (r.row for r in run_tasks(client, tasks))
    assert bad["error"].startswith(f"config file {config_file}: key backtest.latency_ms:")
    assert "-5" in bad["error"]
    assert "\n" not in bad["error"]
    assert bad["sharpe"] is None
    assert bad["events"] is None
    assert good["error"] is None
    assert good["events"] == 500
    assert "trader.entry_order" in word["error"]
    assert "limit_fok" in word["error"]
    # The same tasks run here (not on a worker) give the same rows.
    assert [run_task(t).row for t in tasks] == [bad, good, word]


def test_walk_forward_on_the_cluster_tests_the_chosen_config_on_the_next_window(
        cluster: LocalCluster, config_file: str, tmp_path: Path) -> None:
    configs = expand_grid([("backtest.taker_fee", [0.0004, 0.0008])])
    base = _tasks([{}], config_file, events=3000)[0]
    with sweep_client(cluster.scheduler_address) as client:
        wf = walk_forward(client, configs, base, 2, "pnl")
    first, last = data_span(base.files, 3000)
    assert wf.windows[0].start_ns == first
    assert wf.windows[-1].end_ns == last + 1
    assert len(wf.results) == 2 * 2 + 2
    for i, (best, test) in enumerate(zip(wf.chosen, wf.tested, strict=True)):
        inside = [r.row for r in wf.results
                  if r.row["phase"] == "in_sample" and r.row["window"] == i]
        assert len(inside) == 2
        assert best == rank_rows(inside, "pnl")[0]
        assert test["phase"] == "out_of_sample"
        assert test["window"] == i + 1
        assert test["backtest.taker_fee"] == best["backtest.taker_fee"]
    in_window = [r.row["events"] for r in wf.results if r.row["phase"] == "in_sample"]
    assert sum(in_window[::2]) + wf.tested[-1]["events"] == 3000  # windows split the data
    write_results(tmp_path, wf.results, ["backtest.taker_fee"], "pnl", wf)
    lines = (tmp_path / "walk_forward.csv").read_text().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(
        "fold,in_start_ns,in_end_ns,out_start_ns,out_end_ns,backtest.taker_fee,in_pnl,")


class _InlineClient:
    """A client that runs ``fn`` here, for the choosing logic without a cluster."""

    def __init__(self, fn: Callable[[SweepTask], TaskResult]) -> None:
        self._fn = fn

    def map(self, fn: object, tasks: list[SweepTask], pure: bool) -> list[TaskResult]:
        assert fn is run_task
        assert pure is False
        return [self._fn(t) for t in tasks]

    def gather(self, futures: list[TaskResult]) -> list[TaskResult]:
        return futures


def test_walk_forward_chooses_the_in_sample_best_per_fold(config_file: str) -> None:
    # The best `a` changes with the window: 1 in window 0, 3 in window 1, 2 in window 2.
    best_a = {0: 1, 1: 3, 2: 2, 3: 1}

    def fake(task: SweepTask) -> TaskResult:
        assert task.window is not None
        a = task.params["a"]
        score = 1.0 if a == best_a[task.window.index] else -float(a)  # type: ignore[arg-type]
        row = {**task.params, "phase": task.phase, "window": task.window.index,
               "data": task.data, "error": None, "sharpe": score}
        return TaskResult(row, 0.0, 0)

    configs = expand_grid([("a", [1, 2, 3])])
    base = _tasks([{}], config_file, events=2000)[0]
    wf = walk_forward(_InlineClient(fake), configs, base, 3, "sharpe")  # type: ignore[arg-type]
    assert [row["a"] for row in wf.chosen] == [1, 3, 2]
    assert [(row["window"], row["a"]) for row in wf.tested] == [(1, 1), (2, 3), (3, 2)]
    assert [w.index for w in wf.windows] == [0, 1, 2, 3]


def test_a_window_filters_the_stream_by_time(config_file: str) -> None:
    base = _tasks([{}], config_file, events=3000)[0]
    first, last = data_span(base.files, 3000)
    windows = walk_forward_windows(first, last, 2)
    counts = []
    for w in windows:
        stamps = [e.ts_ns for e in task_events(dataclasses.replace(base, window=w))]
        assert stamps
        assert all(w.start_ns <= ts < w.end_ns for ts in stamps)
        counts.append(len(stamps))
    assert sum(counts) == 3000


def test_unknown_keys_are_refused_before_anything_runs() -> None:
    check_key("backtest.latency_ms")
    check_key("risk.symbols.BTCUSDT.max_leverage")  # a table keyed by symbol
    check_key("signal.models_dir")
    with pytest.raises(ConfigError, match=r"^--grid 'x': unknown key backtest.nope \("
                                          r"backtest has balance, "):
        check_key("backtest.nope", "--grid 'x'")
    with pytest.raises(ConfigError, match=r"unknown key nope.x \(the configuration has "):
        check_key("nope.x")
    with pytest.raises(ConfigError, match=r"key dry_run\.x: dry_run is not a section"):
        check_key("dry_run.x")


def test_an_empty_data_span_and_an_unreachable_scheduler_are_errors(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from bitunix.app import sweep

    with pytest.raises(ConfigError, match="holds no event"):
        data_span([], None)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setattr(sweep, "_CONNECT_TIMEOUT_S", 1)
    with pytest.raises(ConfigError, match=rf"^--scheduler 'tcp://127.0.0.1:{port}': cannot "
                                          "connect"), \
            sweep_client(f"tcp://127.0.0.1:{port}"):
        pass
