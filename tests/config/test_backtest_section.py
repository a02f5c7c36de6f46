"""The ``[backtest]`` section: its defaults, and every key's bad value refused in one line
that names the key and the value."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from bitunix.cli import main
from bitunix.config import load_config
from bitunix.config.backtest import BacktestSection
from bitunix.core.errors import ConfigError

D = Decimal


def _load(tmp_path: Path, body: str, environ: dict[str, str] | None = None) -> BacktestSection:
    path = tmp_path / "bot.toml"
    path.write_text(f"[backtest]\n{body}\n")
    return load_config(path, environ or {}).backtest


def test_defaults_err_on_the_side_of_cost() -> None:
    section = load_config(None, {}).backtest
    assert section == BacktestSection()
    assert (section.balance, section.latency_ms, section.latency_jitter_ms) == (
        D("10000"), 20.0, 0.0)
    assert (section.maker_fee, section.taker_fee) == (D("0.0002"), D("0.0006"))
    assert (section.funding_rate_pct, section.funding_interval_h) == (D("0.01"), 8)
    assert (section.slippage_ticks, section.sampling_interval_s) == (0, 60.0)
    assert (section.derived_book_ms, section.leverage) == (300.0, 5)


def test_every_key_can_be_set(tmp_path: Path) -> None:
    section = _load(tmp_path, "\n".join([
        "balance = '2500.5'", "latency_ms = 0", "latency_jitter_ms = 60000",
        "maker_fee = -0.0001", "taker_fee = 0.01", "funding_rate_pct = '-5'",
        "funding_interval_h = 24", "slippage_ticks = 3", "sampling_interval_s = 0.001",
        "derived_book_ms = 1", "leverage = 125"]))
    assert section == BacktestSection(
        balance=D("2500.5"), latency_ms=0.0, latency_jitter_ms=60_000.0,
        maker_fee=D("-0.0001"), taker_fee=D("0.01"), funding_rate_pct=D(-5),
        funding_interval_h=24, slippage_ticks=3, sampling_interval_s=0.001,
        derived_book_ms=1.0, leverage=125)
    # A TOML float for a fee is read as the decimal written, not its binary neighbour.
    assert _load(tmp_path, "taker_fee = 0.0007").taker_fee == D("0.0007")


BAD = [
    ("balance = '-1'", "key backtest.balance: must be > 0 (was '-1')"),
    ("balance = 0", "key backtest.balance: must be > 0 (was '0')"),
    ("balance = 'lots'", "key backtest.balance: Invalid decimal string (was 'lots')"),
    ("balance = 'NaN'", "key backtest.balance: must be > 0 (was 'NaN')"),
    ("balance = 'Infinity'", "key backtest.balance: must be > 0 (was 'Infinity')"),
    ("latency_ms = -1", "key backtest.latency_ms: must be a number >= 0 and <= 60000, "
                        "was -1.0"),
    ("latency_ms = nan", "key backtest.latency_ms: must be a number >= 0 and <= 60000, "
                         "was nan"),
    ("latency_ms = 60001", "key backtest.latency_ms: must be a number >= 0 and <= 60000, "
                           "was 60001.0"),
    ("latency_ms = 'fast'", "key backtest.latency_ms: Expected `float`, got `str` "
                            "(was 'fast')"),
    ("latency_jitter_ms = -0.5", "key backtest.latency_jitter_ms: must be a number >= 0 and "
                                 "<= 60000, was -0.5"),
    ("maker_fee = 0.5", "key backtest.maker_fee: must be between -0.01 and 0.01 (was '0.5')"),
    ("maker_fee = -0.02", "key backtest.maker_fee: must be between -0.01 and 0.01 "
                          "(was '-0.02')"),
    ("maker_fee = 'NaN'", "key backtest.maker_fee: must be between -0.01 and 0.01 "
                          "(was 'NaN')"),
    ("taker_fee = -0.0001", "key backtest.taker_fee: must be between 0 and 0.01 "
                            "(was '-0.0001')"),
    ("taker_fee = 0.1", "key backtest.taker_fee: must be between 0 and 0.01 (was '0.1')"),
    ("taker_fee = 'free'", "key backtest.taker_fee: Invalid decimal string (was 'free')"),
    ("funding_rate_pct = 6", "key backtest.funding_rate_pct: must be between -5 and 5 "
                             "(was '6')"),
    ("funding_rate_pct = '-Infinity'", "key backtest.funding_rate_pct: must be between -5 "
                                       "and 5 (was '-Infinity')"),
    ("funding_interval_h = 0", "key backtest.funding_interval_h: must be an integer >= 1 "
                               "and <= 24, was 0"),
    ("funding_interval_h = 25", "key backtest.funding_interval_h: must be an integer >= 1 "
                                "and <= 24, was 25"),
    ("funding_interval_h = 1.5", "key backtest.funding_interval_h: Expected `int`, got "
                                 "`float` (was 1.5)"),
    ("slippage_ticks = -1", "key backtest.slippage_ticks: must be an integer >= 0 and "
                            "<= 10000, was -1"),
    ("slippage_ticks = true", "key backtest.slippage_ticks: Expected `int`, got `bool` "
                              "(was True)"),
    ("sampling_interval_s = 0", "key backtest.sampling_interval_s: must be a number >= "
                                "0.001 and <= 31536000, was 0.0"),
    ("sampling_interval_s = inf", "key backtest.sampling_interval_s: must be a number >= "
                                  "0.001 and <= 31536000, was inf"),
    ("derived_book_ms = 0.5", "key backtest.derived_book_ms: must be a number >= 1 and "
                              "<= 3600000, was 0.5"),
    ("leverage = 0", "key backtest.leverage: must be an integer >= 1 and <= 125, was 0"),
    ("leverage = 126", "key backtest.leverage: must be an integer >= 1 and <= 125, was 126"),
    ("leverage = 2.0", "key backtest.leverage: Expected `int`, got `float` (was 2.0)"),
    ("latency = 5", "unknown key backtest.latency"),
]


@pytest.mark.parametrize(("body", "message"), BAD, ids=[b for b, _ in BAD])
def test_a_bad_value_is_one_line_naming_the_key_and_the_value(
        tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, body)
    text = str(info.value)
    assert text == f"config file {tmp_path / 'bot.toml'}: {message}"
    assert "\n" not in text


def test_every_key_has_a_bad_value_above() -> None:
    tried = {body.split(" = ")[0] for body, _ in BAD}
    assert set(BacktestSection.__struct_fields__) <= tried


def test_an_environment_override_is_checked_the_same_way() -> None:
    with pytest.raises(ConfigError, match=r"key backtest.leverage: must be an integer >= 1 "
                                          r"and <= 125, was 500"):
        load_config(None, {"BITUNIX_CFG_BACKTEST__LEVERAGE": "500"})
    assert load_config(None, {"BITUNIX_CFG_BACKTEST__LATENCY_MS": "5"}).backtest.latency_ms \
        == 5.0


def test_a_command_line_override_is_checked_the_same_way() -> None:
    with pytest.raises(ConfigError, match=r"key backtest.sampling_interval_s: must be a "
                                          r"number >= 0.001"):
        load_config(None, {}, overrides={"backtest.sampling_interval_s": 0.0})


def test_the_backtest_command_prints_it_as_one_line_and_exits_1(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "bot.toml"
    config.write_text("[backtest]\nmaker_fee = '0.5'\n")
    out = tmp_path / "out"
    assert main(["backtest", "--config", str(config), "--out", str(out),
                 "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "key backtest.maker_fee: must be between -0.01 and 0.01 (was '0.5')" in err
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert not out.exists()
