"""Shared fixtures of the app tests: a slice of the real capture, and a configuration whose
strategy trades often (so that a few seconds of market data give round trips)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from bitunix.config import BotConfig, load_config
from bitunix.data import bundled_capture

MODELS = Path(__file__).resolve().parents[2] / "models"

#: Mean reversion with loose guards and a 3 s time exit; the volatility breaker off (the
#: short slice has too little history for its reading to be meaningful).
BUSY = """
[[signal.strategies]]
kind = "mean_reversion"
[signal.strategies.params]
entry_z = 1.0
min_edge_bps = 0.0
cooldown_s = 0.5
min_std_bps = 0.0
exits = {max_hold_s = 3.0}
[risk.breaker.volatility]
enabled = false
"""


@pytest.fixture(scope="session")
def capture_slice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 60 s or so of the real bundled capture."""
    path = tmp_path_factory.mktemp("cap") / "slice.txt.gz"
    with gzip.open(bundled_capture(), "rb") as src, gzip.open(path, "wb") as dst:
        for i, line in enumerate(src):
            if i == 15_000:
                break
            dst.write(line)
    return path


def busy_config(tmp_path: Path, data: Path, **overrides: object) -> BotConfig:
    """A paper configuration on ``data`` that trades often; ``overrides`` by dotted key."""
    path = tmp_path / "busy.toml"
    path.write_text(BUSY)
    base: dict[str, object] = {"sim.data": str(data), "sim.speed": 30.0,
                               "run.duration_s": 30.0, "run.idle_stop_s": 2.0,
                               "signal.models_dir": str(MODELS),
                               "store.path": str(tmp_path / "state.sqlite")}
    base.update(overrides)
    return load_config(path, {}, overrides=base)
