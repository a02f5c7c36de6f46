"""A paper run end to end: simulator, REST and WebSocket clients, features, strategies."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from bitunix.app.paper import PaperConfig, _watch_model, describe, run_paper
from bitunix.core.errors import BitunixError, ConfigError
from bitunix.data import TradeEvent, bundled_capture, iter_capture
from bitunix.exchange import ExchangeError
from bitunix.ml.monitor import Alert
from bitunix.strategy import Direction, ExitReason, Signal, SignalKind

MODELS = Path(__file__).resolve().parents[2] / "models"


@pytest.fixture(scope="module")
def capture_slice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 60 s or so of the real bundled capture."""
    path = tmp_path_factory.mktemp("cap") / "slice.txt.gz"
    with gzip.open(bundled_capture(), "rb") as src, gzip.open(path, "wb") as dst:
        for i, line in enumerate(src):
            if i == 15_000:
                break
            dst.write(line)
    return path


async def test_every_trade_reaches_the_bot(capture_slice: Path) -> None:
    from bitunix.strategy import SignalConfig

    trades = sum(1 for e in iter_capture(capture_slice) if isinstance(e, TradeEvent))
    lines: list[str] = []
    # 20x keeps the bot well ahead of the feed even on a loaded 2-core machine: the
    # simulator cuts off a consumer that falls behind, as the venue does.
    config = PaperConfig(data=str(capture_slice), speed=20.0, duration_s=60.0,
                         idle_stop_s=3.0,
                         signal=SignalConfig(models_dir=str(MODELS)))
    summary = await run_paper(config, emit=lines.append)
    stats = summary.pipeline
    assert stats.trades == trades > 1_000        # nothing lost between simulator and bot
    assert stats.trades_rejected == stats.books_rejected == stats.unknown_symbol == 0
    assert stats.book_pushes > 100
    assert stats.valid_evaluations > 0.9 * stats.evaluations
    assert summary.model.startswith("ovirx-gbm@")
    assert summary.model_error == ""
    assert summary.tick_sizes == {"BTCUSDT": "0.1"}
    assert summary.ws_reconnects == 0
    assert lines[0].startswith("simulator on http://127.0.0.1:")
    assert lines[1] == f"model: {summary.model}"
    assert sum(line.startswith("signal ") for line in lines) == len(summary.signals)


async def test_unknown_symbol_is_the_venues_clear_error(capture_slice: Path) -> None:
    config = PaperConfig(symbols=["NOPEUSDT"], data=str(capture_slice), duration_s=5.0)
    with pytest.raises(ExchangeError, match=r"\[20015\].*NOPEUSDT"):
        await run_paper(config, emit=lambda _: None)


def test_describe_entries_and_exits() -> None:
    enter = Signal(strategy="ovirx", symbol="BTCUSDT", ts_ns=1, kind=SignalKind.ENTER,
                   direction=Direction.LONG, price=100.0, target=101.0, stop=99.0,
                   probability=0.7, score_source="model")
    leave = Signal(strategy="ovirx", symbol="BTCUSDT", ts_ns=2, kind=SignalKind.EXIT,
                   direction=Direction.LONG, price=100.5, exit_reason=ExitReason.TRAILING)
    assert describe(enter) == ("ovirx BTCUSDT enter LONG at 100.00 (target 101.00, stop 99.00, "
                               "p=0.700 via model)")
    assert describe(leave) == "ovirx BTCUSDT exit LONG at 100.50 (trailing)"


async def test_a_contract_missing_from_the_answer_is_a_clear_error(
    capture_slice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bitunix.exchange import BitunixREST

    async def no_contracts(self: BitunixREST, symbols: object = None) -> dict[str, object]:
        return {}

    monkeypatch.setattr(BitunixREST, "contracts", no_contracts)
    config = PaperConfig(data=str(capture_slice), duration_s=5.0)
    with pytest.raises(ValueError, match=r"no contract for \['BTCUSDT'\]"):
        await run_paper(config, emit=lambda _: None)


async def test_unreadable_market_data_fails_instead_of_waiting(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    config = PaperConfig(data=str(empty), duration_s=30.0, first_trade_timeout_s=1.0)
    with pytest.raises(BitunixError, match="no trade arrived within 1 s"):
        await run_paper(config, emit=lambda _: None)


@pytest.mark.parametrize("field", ["speed", "duration_s", "idle_stop_s", "push_interval_s",
                                   "model_poll_s", "first_trade_timeout_s"])
def test_config_rejects_non_positive_values(field: str) -> None:
    with pytest.raises(ConfigError, match=f"{field} must be > 0, was 0"):
        PaperConfig(**{field: 0})
    with pytest.raises(ConfigError, match="no symbols"):
        PaperConfig(symbols=[])


class _Stack:
    """Stands in for SignalStack: a model swap on the second poll, a repeating alert."""

    def __init__(self) -> None:
        self.polls = 0
        self.predictor = type("P", (), {"name": "m@2"})()
        self.load_error = ""

    def poll(self) -> bool:
        self.polls += 1
        return self.polls == 2

    def alerts(self) -> list[Alert]:
        return [Alert(kind="drift", model="m@2", value=0.4, limit=0.25,
                      message="PSI 0.40 on vwap_z > 0.25")]


def test_model_watch_reports_swaps_and_each_alert_once() -> None:
    stack, lines, reported = _Stack(), [], set()  # type: ignore[var-annotated]
    for _ in range(3):
        _watch_model(stack, reported, lines.append)  # type: ignore[arg-type]
    assert lines == ["alert drift on m@2: PSI 0.40 on vwap_z > 0.25", "model: now m@2"]
