"""``bitunix-bot backtest`` as a user runs it: the output files, byte-for-byte determinism,
the report's metrics against an independent library, every input format, bad input."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import empyrical
import numpy as np
import pandas as pd
import pytest

from bitunix.cli import main
from bitunix.data import bundled_capture
from bitunix.data.files import iter_market_file
from bitunix.data.parquet import write_parquet

OUTPUTS = ("report.json", "equity.csv", "trades.csv", "orders.csv", "equity.png", "trades.png",
           "report.html")
REQUIRED = ("total_return", "sharpe", "sortino", "max_drawdown", "calmar", "win_rate",
            "profit_factor", "avg_trade", "exposure", "fees", "funding", "turnover", "trades",
            "sampling_interval_s", "annualization_factor")


@pytest.fixture(scope="module")
def bundled_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The bundled capture backtested twice with the same seed."""
    base = tmp_path_factory.mktemp("bt")
    outs = (base / "one", base / "two")
    for out in outs:
        assert main(["backtest", "--out", str(out), "--interval", "5", "--seed", "3",
                     "--no-progress"]) == 0
    return outs


def test_writes_every_output_and_the_same_bytes_twice(bundled_run: tuple[Path, Path]) -> None:
    one, two = bundled_run
    for name in OUTPUTS:
        assert (one / name).read_bytes() == (two / name).read_bytes(), name
    report = json.loads((one / "report.json").read_text())
    for key in REQUIRED:
        assert key in report, key
    assert report["trades"] >= 1
    assert report["orders"] >= report["trades"]
    assert report["max_drawdown"] >= 0
    assert report["derived_books"] == {}  # the capture has its own book
    html = (one / "report.html").read_text()
    assert "data:image/png;base64," in html
    assert "<script" not in html
    assert (one / "equity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with (one / "trades.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == report["trades"]
    with (one / "orders.csv").open() as fh:
        orders = list(csv.DictReader(fh))
    assert len(orders) == report["orders"]
    assert {o["status"] for o in orders} <= {"FILLED", "CANCELED", "REJECTED", "EXPIRED"}


def test_metrics_agree_with_empyrical_on_the_written_curve(
        bundled_run: tuple[Path, Path]) -> None:
    out = bundled_run[0]
    report = json.loads((out / "report.json").read_text())
    with (out / "equity.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    equity = np.array([float(r["equity"]) for r in rows])
    stamps = pd.to_datetime([r["timestamp"] for r in rows])
    steps = np.diff(stamps.as_unit("ns").asi8)
    assert (steps == 5_000_000_000).all()  # one row per interval
    returns = pd.Series(equity[1:] / equity[:-1] - 1.0, index=stamps[1:])
    factor = report["annualization_factor"]
    assert factor == pytest.approx(365 * 24 * 3600 / 5)
    expected = {
        "sharpe": empyrical.sharpe_ratio(returns, annualization=factor),
        "sortino": empyrical.sortino_ratio(returns, annualization=factor),
        "max_drawdown": -empyrical.max_drawdown(returns),
        "calmar": empyrical.calmar_ratio(returns, annualization=factor),
        "total_return": empyrical.cum_returns_final(returns),
    }
    for key, value in expected.items():
        assert report[key] == pytest.approx(value, rel=1e-6, abs=1e-12), key


def _trades_csv(path: Path, rows: int = 6000, *, start_ms: int = 1_723_161_255_000) -> Path:
    """A trade CSV in the ``timestamp,price,qty,side`` shape: a noisy mean-reverting walk."""
    rng = np.random.default_rng(5)
    price = 60000.0
    lines = ["timestamp,price,qty,side"]
    for i in range(rows):
        price += rng.normal(0, 4) - (price - 60000.0) * 0.01
        side = "buy" if rng.random() < 0.5 else "sell"
        lines.append(f"{start_ms + i * 50},{price:.1f},{rng.uniform(0.001, 0.5):.3f},{side}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_trade_csv_runs_on_books_derived_from_its_trades(tmp_path: Path) -> None:
    data = _trades_csv(tmp_path / "BTCUSDT-trades.csv")
    out = tmp_path / "out"
    assert main(["backtest", "--data", str(data), "--out", str(out), "--interval", "1",
                 "--no-plots", "--no-progress"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["symbols"] == ["BTCUSDT"]
    assert report["derived_books"]["BTCUSDT"] > 900  # one per 300 ms of 300 s
    assert any("derived from trades" in note for note in report["notes"])
    assert not (out / "equity.png").exists()


def test_parquet_and_several_files_merge_in_time(tmp_path: Path) -> None:
    first = _trades_csv(tmp_path / "BTCUSDT-a.csv", 2000)
    second = _trades_csv(tmp_path / "BTCUSDT-b.csv", 2000, start_ms=1_723_161_255_025)
    parquet = tmp_path / "both.parquet"
    write_parquet(iter_market_file(first), parquet)
    out = tmp_path / "out"
    assert main(["backtest", "--data", str(parquet), str(second), "--out", str(out),
                 "--no-plots", "--no-progress"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["market_trades"] == 4000
    assert report["data"] == ["both.parquet", "BTCUSDT-b.csv"]


BAD_CONFIG = "[backtest]\nlatency_ms = -5\n"


@pytest.mark.parametrize(("args", "message"), [
    (["--data", "{tmp}/missing.csv"], "--data '{tmp}/missing.csv': no such file"),
    (["--data", "{tmp}/empty.csv"], "empty.csv"),
    (["--data", "{tmp}/garbage.gz"], "garbage.gz"),
    (["--data", "BTCUSDT={tmp}/nan.csv"], "nan.csv:3"),
    (["--data", "{tmp}/BTCUSDT-backwards.csv"], "BTCUSDT-backwards.csv:4"),
    (["--data", "{tmp}/nan.csv"], "nan.csv: no symbol"),
    (["--config", "{tmp}/bad.toml"], "key backtest.latency_ms: must be a number >= 0"),
    (["--symbols", "btc"], "--symbols 'btc'"),
    (["--symbols", "NOPEUSDT"], "no contract is known for NOPEUSDT"),
    (["--interval", "0"], "--interval"),
    (["--seed", "x"], "--seed"),
])
def test_bad_input_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     args: list[str], message: str) -> None:
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "garbage.gz").write_bytes(gzip.compress(b"\x00\x01garbage\xff" * 50)[:-9])
    (tmp_path / "nan.csv").write_text("timestamp,price,qty,side\n1723161255000,60000.1,1,buy\n"
                                      "1723161255001,NaN,1,buy\n")
    (tmp_path / "BTCUSDT-backwards.csv").write_text(
        "timestamp,price,qty,side\n1723161255005,60000.1,1,buy\n1723161255006,60000.1,1,buy\n"
        "1723161255001,60000.1,1,sell\n")
    (tmp_path / "bad.toml").write_text(BAD_CONFIG)
    out = tmp_path / "out"
    argv = ["backtest", "--out", str(out), "--no-progress",
            *[a.replace("{tmp}", str(tmp_path)) for a in args]]
    if args[0] in ("--interval", "--seed"):  # argparse's own: exit 2
        with pytest.raises(SystemExit, match="2"):
            main(argv)
    else:
        assert main(argv) == 1
    err = capsys.readouterr().err
    assert message.replace("{tmp}", str(tmp_path)) in err
    assert "Traceback" not in err
    assert not (out / "report.json").exists()


def test_out_must_be_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["backtest", "--out", str(target), "--no-progress"]) == 1
    assert f"--out {str(target)!r}: exists and is not a directory" in capsys.readouterr().err


def test_the_bundled_capture_is_the_default(bundled_run: tuple[Path, Path]) -> None:
    report = json.loads((bundled_run[0] / "report.json").read_text())
    assert report["data"] == [bundled_capture().name]


def test_features_mode_summarises_every_feature(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    data = _trades_csv(tmp_path / "BTCUSDT-trades.csv")
    out = tmp_path / "features"
    assert main(["backtest", "--mode", "features", "--data", str(data), "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["mode"] == "features"
    assert report["market_trades"] == 6000
    assert report["derived_books"]["BTCUSDT"] == report["books"] > 900
    assert report["valid_vectors"] > 5000
    z = report["features"]["vwap_z"]
    assert z["min"] < 0 < z["max"]
    assert "events/s" in capsys.readouterr().out
    assert not (out / "orders.csv").exists()


def test_screen_mode_screens_the_configured_rule(tmp_path: Path) -> None:
    from bitunix.backtest.research import ScreenParams, load_trades, screen
    from bitunix.config import load_config

    data = _trades_csv(tmp_path / "BTCUSDT-trades.csv", 20_000)
    out = tmp_path / "screen"
    assert main(["backtest", "--mode", "screen", "--data", str(data), "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["exact"] is False
    (row,) = report["files"]
    assert row["symbol"] == "BTCUSDT"
    # The command screens what the API screens with the config's rule, fee and tick.
    config = load_config(None, {})
    expected = screen(load_trades(data), ScreenParams.from_signal(
        config.signal, fee_bps=6.0, slippage_ticks=0.0, tick_size=0.1))
    assert row["trades"] == expected.n_trades
    assert row["net_pnl"] == pytest.approx(expected.net_pnl, rel=1e-9, abs=1e-9)
    with (out / "screen_trades.csv").open() as fh:
        assert len(list(csv.DictReader(fh))) == expected.n_trades


def test_an_out_of_range_flag_names_the_flag(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backtest", "--out", str(tmp_path / "o"), "--interval", "1e300",
                 "--no-progress"]) == 1
    assert "--interval 1e+300: must be a number >= 0.001" in capsys.readouterr().err
    assert main(["backtest", "--out", str(tmp_path / "o"), "--latency-ms", "1e9",
                 "--no-progress"]) == 1
    assert "--latency-ms 1000000000.0: must be a number >= 0" in capsys.readouterr().err


def test_an_unwritable_out_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    from bitunix.backtest import report

    def refuse(*_args: object, **_kw: object) -> list[Path]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(report, "write_outputs", refuse)
    data = _trades_csv(tmp_path / "BTCUSDT-t.csv", 300)
    out = tmp_path / "o"
    assert main(["backtest", "--data", str(data), "--out", str(out), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert f"--out {str(out)!r}: cannot write the report: Permission denied" in err
    assert "Traceback" not in err


def test_data_finer_than_the_contracts_grid_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """BTCUSDT trades to 0.001 cannot trade on a 0.1 tick: every fill would be off the
    books' grid. Refused at the first such trade, nothing written."""
    data = tmp_path / "BTCUSDT-fine.csv"
    data.write_text("timestamp,price,qty,side\n1723161255000,60000.1,0.01,buy\n"
                    "1723161255050,60000.153,0.01,sell\n")
    out = tmp_path / "o"
    assert main(["backtest", "--data", str(data), "--out", str(out), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert ("BTCUSDT trade 60000.153 x 0.01 at 2024-08-08T23:54:15.050000+00:00 is finer "
            "than the contract's tick 0.1 / step 0.0001") in err
    assert not (out / "report.json").exists()
