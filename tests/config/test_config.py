"""Configuration: defaults, the TOML file, environment overrides, secrets, the mode rule."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bitunix.config import (
    BotConfig,
    Mode,
    environment,
    load_config,
    load_secrets,
    resolve_mode,
)
from bitunix.core.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "bot.toml"
    p.write_text(text)
    return p


def test_defaults_are_safe() -> None:
    cfg = load_config(None, {})
    assert cfg.dry_run is True
    assert cfg.venue.kind == "sim"
    assert cfg.symbols == ["BTCUSDT"]
    assert [s.kind for s in cfg.signal.strategies] == ["ovirx", "mean_reversion"]
    assert resolve_mode(cfg, {"FORCE_LIVE_TRADING": "true"})[0] is Mode.PAPER


def test_a_balance_may_be_a_number_or_a_string(tmp_path: Path) -> None:
    from decimal import Decimal

    assert load_config(write(tmp_path, "[sim]\nbalance = 5000\n"), {}).sim.balance == 5000
    assert load_config(None, {"BITUNIX_CFG_SIM__BALANCE": "2500.5"}).sim.balance == Decimal(
        "2500.5")


def test_file_and_env_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, 'symbols = ["ETHUSDT"]\n[run]\nduration_s = 5\n'
                           '[risk.limits]\nmax_daily_loss_pct = 2.5\n')
    env = {"BITUNIX_CFG_RUN__IDLE_STOP_S": "0", "BITUNIX_CFG_SYMBOLS": '["BTCUSDT","ETHUSDT"]',
           "BITUNIX_CFG_VENUE__REST_URL": "http://127.0.0.1:9",
           "OTHER": "ignored"}
    cfg = load_config(path, env)
    assert cfg.symbols == ["BTCUSDT", "ETHUSDT"]
    assert cfg.run.duration_s == 5
    assert cfg.run.idle_stop_s == 0
    assert cfg.risk.limits.max_daily_loss_pct == 2.5
    assert cfg.venue.rest_url == "http://127.0.0.1:9"  # a bare string, not TOML


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("dry_run = 3\n", {}, "key dry_run: Expected `bool`, got `int` (was 3)"),
        ("[run]\nduration_s = -1\n", {}, "key run.duration_s: must be a finite number >= 0"),
        ("[venue]\nrest_url = 'ftp://x'\n", {},
         "venue.rest_url: must be a http:// or https:// URL with a host"),
        ("[venu]\nkind = 'sim'\n", {}, "unknown key venu"),
        ("[risk.limits]\nmax_dayly_loss = 1\n", {}, "unknown key risk.limits.max_dayly_loss"),
        ("symbols = ['btcusdt']\n", {}, "'btcusdt' is not a symbol like BTCUSDT (symbols are "
                                        "upper case)"),
        ("symbols = []\n", {}, "key symbols: no symbols"),
        ("[sim]\nbalance = '-100'\n", {}, "key sim.balance: must be > 0 (was '-100')"),
        ("[sim]\nbalance = 'lots'\n", {}, "key sim.balance: Invalid decimal string (was 'lots')"),
        ("[risk.symbols.btcusdt]\nbase_size_pct = 1.0\n", {},
         "key risk.symbols.btcusdt: not one of the traded symbols ['BTCUSDT']"),
        ("[sim]\nspeed = nan\n", {}, "key sim.speed: must be a finite number > 0"),
        ("[sim]\ndata = 'synthetic:abc'\n", {}, "'synthetic:abc' is not synthetic or "
                                                 "synthetic:SEED with an integer SEED"),
        ("[sim]\ndata = 'synthetics'\n", {}, "is not synthetic or synthetic:SEED"),
        ("[sim]\ndata = '/no/such.gz'\n", {}, "key sim.data: no such market-data file"),
        ("[[signal.strategies]]\nkind = 'nope'\n", {}, "key signal.strategies[0]: unknown "
                                                         "strategy kind 'nope'"),
        ("[[signal.strategies]]\nkind = 'ovirx'\nparams = {entry_z = -1.0}\n", {},
         "key signal.strategies[0]: strategy 'ovirx': ovirx: need 0 < entry_z"),
        ("", {"BITUNIX_CFG_RUN__DURATION_S": "abc"}, "BITUNIX_CFG_* overrides"),
        ("", {"BITUNIX_CFG_RUN__BAD-KEY": "1"}, "not a configuration key"),
        ("dry_run = true\n", {"BITUNIX_CFG_DRY_RUN__X": "1"}, "dry_run is not a section"),
        ("", {"BITUNIX_CFG_VENUE__API_SECRET": "s"}, "secrets are read from"),
        ("[venue]\napi_secret = 'hunter2'\n", {}, "key venue.api_secret holds a secret"),
        ("not toml ===\n", {}, "not valid TOML"),
    ],
)
def test_bad_configuration_names_the_key_and_value(
    tmp_path: Path, text: str, env: dict[str, str], message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, env)
    text_out = str(info.value)
    assert message in text_out
    assert "hunter2" not in text_out
    assert "\n" not in text_out


def test_file_problems(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", {})
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path, {})
    bad = tmp_path / "b.toml"
    bad.write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(bad, {})


def test_mode_rule_live_needs_both_switches() -> None:
    real = BotConfig(venue=load_config(None, {"BITUNIX_CFG_VENUE__KIND": "bitunix"}).venue)
    live_cfg = BotConfig(dry_run=False, venue=real.venue)
    assert resolve_mode(real, {"FORCE_LIVE_TRADING": "true"})[0] is Mode.DRY_RUN
    mode, why = resolve_mode(live_cfg, {})
    assert mode is Mode.DRY_RUN
    assert "FORCE_LIVE_TRADING" in why
    assert resolve_mode(live_cfg, {"FORCE_LIVE_TRADING": "false"})[0] is Mode.DRY_RUN
    assert resolve_mode(live_cfg, {"FORCE_LIVE_TRADING": "true"})[0] is Mode.LIVE
    assert resolve_mode(live_cfg, {"FORCE_LIVE_TRADING": "true"},
                        force_dry_run=True)[0] is Mode.DRY_RUN
    assert resolve_mode(BotConfig(), {}, force_dry_run=True)[0] is Mode.DRY_RUN


def test_secrets_from_env_or_owner_only_file(tmp_path: Path) -> None:
    assert load_secrets({}) is None
    s = load_secrets({"BITUNIX_API_KEY": "abcdefgh", "BITUNIX_API_SECRET": "topsecret"})
    assert s is not None
    assert s.api_secret == "topsecret"
    assert "topsecret" not in repr(s)
    assert "abcdefgh" not in str(s)
    with pytest.raises(ConfigError, match="BITUNIX_API_SECRET is not set"):
        load_secrets({"BITUNIX_API_KEY": "k"})
    f = tmp_path / "secrets.toml"
    f.write_text('api_key = "kkkkkk"\napi_secret = "ssssss"\n')
    os.chmod(f, 0o644)
    with pytest.raises(ConfigError, match="readable by others") as info:
        load_secrets({}, str(f))
    assert "ssssss" not in str(info.value)
    os.chmod(f, 0o600)
    s = load_secrets({"BITUNIX_SECRETS_FILE": str(f)})
    assert s is not None
    assert s.api_key == "kkkkkk"
    with pytest.raises(ConfigError, match="does not exist"):
        load_secrets({}, str(tmp_path / "none"))
    f.write_text("api_key = 3\n")
    with pytest.raises(ConfigError, match="needs api_key and api_secret"):
        load_secrets({}, str(f))
    f.write_text("=\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_secrets({}, str(f))


def test_environment_is_a_copy() -> None:
    env = environment()
    env["BITUNIX_TEST_X"] = "1"
    assert "BITUNIX_TEST_X" not in os.environ


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bitunix-bot.toml"


def _keys(data: object, prefix: str = "") -> set[str]:
    if not isinstance(data, dict):
        return {prefix}
    out: set[str] = set()
    for k, v in data.items():
        path = f"{prefix}.{k}" if prefix else k
        out |= _keys(v, path) if v or not isinstance(v, dict) else {path}
    return out


def test_the_shipped_example_lists_every_key_with_its_default() -> None:
    import tomllib

    import msgspec

    example = tomllib.loads(EXAMPLE.read_text())
    defaults = msgspec.to_builtins(BotConfig())
    assert load_config(EXAMPLE, {}) == BotConfig()
    # strategies compare by what a user writes (kind), the rest key by key
    assert _keys(example) - {"signal.strategies"} == _keys(defaults) - {"signal.strategies"}
