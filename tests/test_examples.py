"""examples/: the embedding example runs as a reader would run it and does what it says."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

from bitunix.features import FEATURE_NAMES

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "embed_features.py"


def test_embed_features_trades_on_the_local_simulator(tmp_path: Path) -> None:
    # A fresh process in an empty directory: nothing from the checkout but the file itself.
    # The example's only servers are the simulator it starts on 127.0.0.1 (SimServer
    # refuses any other host), so no network is used.
    result = subprocess.run([sys.executable, str(EXAMPLE), "--json", "--timeout", "30"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    report = json.loads(lines[-1])
    assert report["trades"] >= 20  # FeatureEngine(min_samples=20) was warm
    assert report["books"] >= 1
    assert list(report["features"]) == list(FEATURE_NAMES)
    assert all(math.isfinite(v) for v in report["features"].values())
    entry = report["entry"]
    # The toy rule fades the deviation from VWAP.
    assert entry["side"] == ("SELL" if report["features"]["vwap_z"] > 0 else "BUY")
    assert entry["status"] == "FILLED"
    assert entry["client_id"].startswith("bx-")
    assert report["position_qty_after_entry"] == entry["qty"]
    assert report["close_status"] == "FILLED"
    assert report["positions_after_close"] == 0
    assert f"{report['trades']} trades and {report['books']} books" in lines[0]
    assert "0 positions left" in result.stdout


def test_embed_features_fails_cleanly_when_the_features_never_warm(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(EXAMPLE), "--timeout", "0"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1
    assert "features not warm within 0.0 s" in result.stderr
    assert "Traceback" not in result.stderr
