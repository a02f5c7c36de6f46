"""``bitunix-bot train --data`` takes every market-data format: a trade CSV, Parquet, the
recorder's directory of parts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bitunix.cli import main
from bitunix.data import TradeEvent, bundled_capture, iter_capture
from bitunix.data.parquet import write_parquet
from bitunix.data.rotating import RotatingRecordingWriter
from bitunix.ml.manifest import load_manifest


@pytest.fixture(scope="module")
def eth_trades() -> list[TradeEvent]:
    return [e for e in iter_capture(bundled_capture("ETHUSDT")) if isinstance(e, TradeEvent)]


def _train(tmp_path: Path, data: str, version: str) -> tuple[int, Path]:
    # No fee: six minutes of trades alone give too few positives after fees to split.
    code = main(["train", "--registry", str(tmp_path / "reg"), "--data", data, "--tick",
                 "ETHUSDT=0.01", "--trees", "5", "--name", "eth", "--version", version,
                 "--fee-bps", "0"])
    return code, tmp_path / "reg" / "eth" / version / "manifest.json"


def test_train_on_a_binance_trades_csv(tmp_path: Path, eth_trades: list[TradeEvent],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "ETHUSDT-trades-2024-08-08.csv"
    csv.write_text("id,price,qty,quote_qty,time,is_buyer_maker\n" + "".join(
        f"{i},{e.price},{e.qty},0,{e.ts_ns // 10**6},{str(not e.is_buy).lower()}\n"
        for i, e in enumerate(eth_trades)))
    code, manifest = _train(tmp_path, f"ETHUSDT={csv}", "csv")
    out = capsys.readouterr().out
    assert code == 0
    samples = int(out.split("ETHUSDT: ")[1].split(" samples")[0])
    assert samples > 100
    assert "no book in the data: books derived from its trades every 250 ms" in out
    m = load_manifest(manifest)
    assert m.training.symbols == ["ETHUSDT"]
    assert 0 < m.training.n_samples <= samples  # the last horizon cannot be labelled


def test_train_on_parquet_and_on_a_recorder_directory_alike(
        tmp_path: Path, eth_trades: list[TradeEvent], capsys: pytest.CaptureFixture[str]) -> None:
    write_parquet(eth_trades, tmp_path / "eth.parquet")
    with RotatingRecordingWriter(tmp_path / "rec", rotate_s=60) as w:
        for e in eth_trades:
            w.write(e.ts_ns, json.dumps({"ch": "trade", "symbol": "ETHUSDT", "ts": 1, "data": [
                {"p": e.price, "v": e.qty, "s": "buy" if e.is_buy else "sell", "t": "x"}]},
                separators=(",", ":")).encode())
    assert len(w.parts) > 3
    assert _train(tmp_path, f"ETHUSDT={tmp_path / 'eth.parquet'}", "pq")[0] == 0
    assert _train(tmp_path, f"ETHUSDT={tmp_path / 'rec'}", "rec")[0] == 0
    assert _train(tmp_path, f"ETHUSDT={tmp_path / 'rec' / 'part-*.txt.gz'}", "glob")[0] == 0
    out = capsys.readouterr().out
    counts = {line.split(" samples")[0] for line in out.splitlines() if " samples from " in line}
    assert len(counts) == 1  # the same samples from all three
    training = [load_manifest(tmp_path / "reg" / "eth" / v / "manifest.json").training
                for v in ("pq", "rec", "glob")]
    assert len({(t.n_samples, t.positives) for t in training}) == 1


def test_a_missing_directory_or_pattern_is_refused_first(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _train(tmp_path, f"ETHUSDT={tmp_path / 'nope-*.csv'}", "x")[0] == 1
    assert "no file matches the pattern" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert _train(tmp_path, f"ETHUSDT={tmp_path / 'empty'}", "x")[0] == 1
    assert "no market-data files in the directory" in capsys.readouterr().err
