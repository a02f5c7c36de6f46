"""``bitunix-bot sweep``: flags, its own local cluster, a given scheduler, the outputs."""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pyarrow.parquet as pq
import pytest
from distributed import LocalCluster

from bitunix.app.sweep import LOCAL_SCHEDULER
from bitunix.backtest.sweep import draw_random, parse_range
from bitunix.cli import main
from bitunix.data import bundled_capture

CONFIG = """\
[backtest]
sampling_interval_s = 2.0

[[signal.strategies]]
kind = "mean_reversion"
params = { entry_z = 1.0, min_edge_bps = 0.0, min_std_bps = 0.0, cooldown_s = 1.0 }
"""


def _children() -> set[int]:
    out = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if "resource_tracker" not in " ".join(child.cmdline()):
                out.add(child.pid)
        except psutil.NoSuchProcess:
            pass
    return out


def _wait_gone(before: set[int]) -> set[int]:
    deadline = time.monotonic() + 10
    while _children() - before and time.monotonic() < deadline:
        time.sleep(0.1)
    return _children() - before


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    before = _children()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, scheduler_kwargs=LOCAL_SCHEDULER) as cluster:
        yield cluster.scheduler_address
    assert not _wait_gone(before), "a worker process outlived the cluster"


@pytest.fixture
def config(tmp_path: Path) -> str:
    path = tmp_path / "sweep.toml"
    path.write_text(CONFIG)
    return str(path)


@pytest.mark.parametrize(("argv", "says"), [
    (["--grid", "backtest.latency_ms"], "--grid 'backtest.latency_ms': not KEY=V1,V2"),
    (["--grid", "backtest.latency=1,2"], "--grid 'backtest.latency=1,2': unknown key "
                                         "backtest.latency (backtest has "),
    (["--grid", "a.b=1", "--random", "2"], "--grid: a grid search takes no --random"),
    ([], "no search: give --grid KEY=V1,V2,... or --random N"),
    (["--random", "2"], "--random 2: needs at least one --range KEY=LO:HI"),
    (["--random", "2", "--range", "backtest.latency_ms=5:1"],
     "--range 'backtest.latency_ms=5:1': LO 5 is above HI 1"),
    (["--random", "2", "--range", "backtest.latencyms=1:5"],
     "--range 'backtest.latencyms=1:5': unknown key backtest.latencyms"),
    (["--grid", "backtest.latency_ms=1", "--scheduler", "127.0.0.1:8786"],
     "--scheduler '127.0.0.1:8786': not an address like tcp://host:port"),
])
def test_bad_flags_are_one_line_and_exit_2_before_anything_runs(
        argv: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
        ) -> None:
    out = tmp_path / "out"
    assert main(["sweep", "--out", str(out), *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"bitunix-bot sweep: error: {says}")
    assert captured.err.count("\n") == 1
    assert not out.exists()


def test_bad_paths_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    grid = ["--grid", "backtest.latency_ms=0"]
    assert main(["sweep", "--out", str(tmp_path / "o"), "--data", str(tmp_path / "no.csv"),
                 *grid]) == 1
    assert "--data" in capsys.readouterr().err
    (tmp_path / "file").write_text("")
    assert main(["sweep", "--out", str(tmp_path / "file"), *grid]) == 1
    assert "exists and is not a directory" in capsys.readouterr().err
    assert main(["sweep", "--out", str(tmp_path / "x" / "y"), *grid]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["sweep", "--out", str(tmp_path / "o"), "--models-dir",
                 str(tmp_path / "none"), *grid]) == 1
    assert "--models-dir" in capsys.readouterr().err


def test_a_random_search_on_its_own_cluster_then_on_a_given_one_gives_the_same_table(
        scheduler: str, config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
        ) -> None:
    argv = ["sweep", "--data", str(bundled_capture()), "--config", config,
            "--max-events", "1000", "--random", "3", "--range", "backtest.latency_ms=0:100",
            "--range", "backtest.taker_fee=0.0002:0.0008", "--seed", "5",
            "--rank-by", "total_return"]
    before = _children()
    assert main([*argv, "--out", str(tmp_path / "a"), "--workers", "2"]) == 0
    assert not _wait_gone(before), "the command's cluster left a process behind"
    own = capsys.readouterr().out
    assert "3 tasks (3 configurations x 1 files) on a local cluster of 2 workers" in own
    assert main([*argv, "--out", str(tmp_path / "b"), "--scheduler", scheduler]) == 0
    assert f"on {scheduler}" in capsys.readouterr().out

    table = pq.read_table(tmp_path / "a" / "results.parquet")
    assert table.equals(pq.read_table(tmp_path / "b" / "results.parquet"))
    assert (tmp_path / "a" / "summary.csv").read_bytes() == \
        (tmp_path / "b" / "summary.csv").read_bytes()
    draws = draw_random([parse_range("backtest.latency_ms=0:100"),
                         parse_range("backtest.taker_fee=0.0002:0.0008")], 3, seed=5)
    got = [(r["backtest.latency_ms"], r["backtest.taker_fee"]) for r in table.to_pylist()]
    assert got == sorted((d["backtest.latency_ms"], d["backtest.taker_fee"]) for d in draws)
    assert table.schema.field("backtest.latency_ms").type == "int64"
    assert all(r["error"] is None and r["trades"] >= 1 for r in table.to_pylist())
    with (tmp_path / "a" / "summary.csv").open() as fh:
        ranked = list(csv.DictReader(fh))
    returns = [float(r["total_return"]) for r in ranked]
    assert returns == sorted(returns, reverse=True)
    assert [r["rank"] for r in ranked] == ["1", "2", "3"]
    assert "#  backtest.latency_ms  backtest.taker_fee  data" in own
    assert own.rstrip().endswith(f"wrote results.parquet, summary.csv, timings.csv to "
                                 f"{tmp_path / 'a'}")


def test_walk_forward_and_a_bad_value(scheduler: str, config: str, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "wf"
    code = main(["sweep", "--config", config, "--max-events", "2000", "--out", str(out),
                 "--grid", "backtest.latency_ms=0,-1", "--walk-forward", "1",
                 "--scheduler", scheduler])
    assert code == 1  # a task failed; the others ran and the tables are written
    captured = capsys.readouterr()
    assert "2 configurations, walk-forward in 1 folds over " in captured.out
    assert "fold 0: chose backtest.latency_ms=0: in sample sharpe " in captured.out
    errors = captured.err.splitlines()
    assert len(errors) == 1
    assert errors[0].startswith("error: backtest.latency_ms=-1 on binance-usdm-btcusdt")
    assert "key backtest.latency_ms: must be a number >= 0" in errors[0]
    with (out / "walk_forward.csv").open() as fh:
        (fold,) = list(csv.DictReader(fh))
    assert fold["fold"] == "0"
    assert fold["backtest.latency_ms"] == "0"
    assert int(fold["in_end_ns"]) == int(fold["out_start_ns"])
    assert fold["out_error"] == ""
    rows = pq.read_table(out / "results.parquet").to_pylist()
    assert [(r["backtest.latency_ms"], r["phase"], r["window"]) for r in rows] == [
        (-1, "in_sample", 0), (0, "in_sample", 0), (0, "out_of_sample", 1)]
