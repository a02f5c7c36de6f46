"""[tradingview] and [alerting]: defaults, bad values named by key, the secrets from the
environment or the secrets file, what ``bitunix-bot run`` builds from them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bitunix.config import BotConfig, load_config
from bitunix.config.alerting import (
    AlertingSection,
    PagerDutySection,
    check_alerting,
    load_pagerduty_key,
)
from bitunix.config.tradingview import (
    TradingViewSecrets,
    TradingViewSection,
    check_tradingview,
    load_tradingview_secrets,
)
from bitunix.core.errors import ConfigError
from bitunix.integrations.alerting import AlertingObserver
from bitunix.integrations.tradingview import TradingViewWebhook
from bitunix.integrations.wiring import build_integrations

SECRET = "s" * 16
TOKEN = "t" * 24


def _load(tmp_path: Path, text: str) -> BotConfig:
    path = tmp_path / "bot.toml"
    path.write_text(text)
    return load_config(path, {})


def test_defaults() -> None:
    config = load_config(None, {})
    assert not config.tradingview.enabled
    assert config.tradingview.max_age_s == 30.0
    assert not config.alerting.pagerduty.enabled
    assert config.alerting.slo.enabled
    assert [(r.long_window_s, r.short_window_s, r.factor, r.severity)
            for r in config.alerting.slo.burn] == [(3600, 300, 14.4, "critical"),
                                                   (21_600, 1800, 6.0, "error")]


@pytest.mark.parametrize(("text", "message"), [
    ("[tradingview]\nmax_age_s = 0", "key tradingview.max_age_s: must be a number > 0"),
    ("[tradingview]\nmax_nonces = 0", "key tradingview.max_nonces: must be an integer >= 1"),
    ("[tradingview]\nsl_pct = 0", "key tradingview.sl_pct: must be a number > 0"),
    ("[tradingview]\ntp_pct = -1", "key tradingview.tp_pct: must be a number > 0"),
    ("[tradingview]\nprobability = 1.5", "key tradingview.probability: must be a number"),
    ('[tradingview]\nsymbols = ["btcusdt"]',
     "key tradingview.symbols: 'btcusdt' is not a symbol like BTCUSDT"),
    ('[tradingview]\nstrategy = "a b"', "key tradingview.strategy: 1 to 40 letters"),
    ('[tradingview]\nsecret = "x"', "key tradingview.secret holds a secret"),
    ('[alerting.pagerduty]\nbase_url = "ftp://x"', "key alerting.pagerduty.base_url:"),
    ('[alerting.pagerduty]\ndedup_prefix = "a b"', "key alerting.pagerduty.dedup_prefix:"),
    ("[alerting.pagerduty]\nattempts = 0", "key alerting.pagerduty.attempts: must be an int"),
    ("[alerting.pagerduty]\ntimeout_s = 0", "key alerting.pagerduty.timeout_s: must be a"),
    ('[alerting.pagerduty]\nrouting_key = "k"', "unknown key alerting.pagerduty.routing_key"),
    ("[alerting.slo]\nfeed_uptime = 1.0", "key alerting.slo.feed_uptime: must be a fraction"),
    ("[alerting.slo]\norder_success = 0", "key alerting.slo.order_success: must be a fract"),
    ("[alerting.slo]\nack_target_s = 0", "key alerting.slo.ack_target_s: must be a number"),
    ("[alerting.slo]\nburn = [{long_window_s = 60, short_window_s = 120, factor = 2}]",
     "key alerting.slo.burn.short_window_s: must be a number >= 1 and <= 60"),
    ("[alerting.slo]\nburn = [{long_window_s = 60, short_window_s = 5, factor = 0}]",
     "key alerting.slo.burn.factor: must be a number > 0"),
    ("[alerting.slo]\nbucket_s = 10\n"
     "burn = [{long_window_s = 60, short_window_s = 5, factor = 2}]",
     "key alerting.slo.burn.short_window_s: 5 is shorter than alerting.slo.bucket_s (10)"),
    ('[alerting.slo]\nburn = [{long_window_s = 60, short_window_s = 5, factor = 2, '
     'severity = "page"}]', "severity"),
    ("[alerting]\nsample_s = 0", "key alerting.sample_s: must be a number >= 0.01"),
    ("[alerting]\nfeed_stale_after_s = 0", "key alerting.feed_stale_after_s: must be a"),
])
def test_bad_values_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        _load(tmp_path, text)
    assert message in str(exc.value)
    assert "\n" not in str(exc.value)


def test_tradingview_needs_its_secret_the_listener_and_traded_symbols() -> None:
    on = TradingViewSection(enabled=True)
    good = TradingViewSecrets(secret=SECRET, url_token=TOKEN)
    check_tradingview(TradingViewSection(), TradingViewSecrets(), ["BTCUSDT"], False)
    check_tradingview(on, good, ["BTCUSDT"], True)
    for section, secrets, http, message in [
        (on, good, False, "key tradingview.enabled: .* set http.enabled = true"),
        (on, TradingViewSecrets(), True, "key tradingview.enabled: no signing secret"),
        (on, TradingViewSecrets(secret="short"), True,
         "BITUNIX_TRADINGVIEW_SECRET: shorter than 16"),
        (on, TradingViewSecrets(secret=SECRET, url_token="short"), True,
         "BITUNIX_TRADINGVIEW_TOKEN: shorter than 24"),
        (TradingViewSection(enabled=True, symbols=["ETHUSDT"]), good, True,
         "key tradingview.symbols: ETHUSDT is not one of the traded symbols"),
    ]:
        with pytest.raises(ConfigError, match=message):
            check_tradingview(section, secrets, ["BTCUSDT"], http)


def test_secrets_from_the_environment_first_then_the_file(tmp_path: Path) -> None:
    env = {"BITUNIX_TRADINGVIEW_SECRET": "env-s", "BITUNIX_TRADINGVIEW_TOKEN": "env-t",
           "BITUNIX_PAGERDUTY_ROUTING_KEY": "env-k"}
    assert load_tradingview_secrets(env) == TradingViewSecrets(secret="env-s",
                                                               url_token="env-t")
    assert load_pagerduty_key(env) == "env-k"
    assert load_tradingview_secrets({}) == TradingViewSecrets()
    assert load_pagerduty_key({}) == ""
    path = tmp_path / "secrets.toml"
    path.write_text('tradingview_secret = "file-s"\ntradingview_token = "file-t"\n'
                    'pagerduty_routing_key = "file-k"\n')
    os.chmod(path, 0o600)
    got = load_tradingview_secrets({"BITUNIX_TRADINGVIEW_SECRET": "env-s"}, str(path))
    assert got == TradingViewSecrets(secret="env-s", url_token="file-t")
    assert load_pagerduty_key({"BITUNIX_SECRETS_FILE": str(path)}) == "file-k"


@pytest.mark.parametrize(("content", "mode", "message"), [
    ('tradingview_secret = "x"', 0o644, "readable by others"),
    ("tradingview_secret = [", 0o600, "not valid TOML"),
    ("tradingview_secret = 5", 0o600, "tradingview_secret must be a string"),
])
def test_a_bad_secrets_file(tmp_path: Path, content: str, mode: int, message: str) -> None:
    path = tmp_path / "secrets.toml"
    path.write_text(content)
    os.chmod(path, mode)
    with pytest.raises(ConfigError, match=f"secrets file {path}: {message}") as exc:
        load_tradingview_secrets({}, str(path))
    assert "x" not in str(exc.value).split(": ", 1)[1].replace("exist", "")
    with pytest.raises(ConfigError, match="does not exist"):
        load_pagerduty_key({}, str(tmp_path / "none.toml"))


def test_paging_needs_a_routing_key() -> None:
    on = AlertingSection(pagerduty=PagerDutySection(enabled=True))
    with pytest.raises(ConfigError, match=r"key alerting\.pagerduty\.enabled: no routing key"):
        check_alerting(on, "")
    check_alerting(on, "k")
    check_alerting(AlertingSection(), "")


def test_what_run_builds(tmp_path: Path) -> None:
    default = build_integrations(load_config(None, {}), {})
    assert default.routes == []
    assert [type(o) for o in default.observers] == [AlertingObserver]
    assert default.secrets == []
    [alerting] = default.observers
    assert isinstance(alerting, AlertingObserver)
    assert alerting.sender is None
    off = _load(tmp_path, "[alerting.slo]\nenabled = false\n")
    assert build_integrations(off, {}).observers == []
    full = _load(tmp_path, "[http]\nenabled = true\n[tradingview]\nenabled = true\n"
                           "[alerting.pagerduty]\nenabled = true\n")
    env = {"BITUNIX_TRADINGVIEW_SECRET": SECRET, "BITUNIX_PAGERDUTY_ROUTING_KEY": "rk-1"}
    built = build_integrations(full, env)
    webhook, paging = built.observers
    assert isinstance(webhook, TradingViewWebhook)
    assert isinstance(paging, AlertingObserver)
    assert paging.sender is not None
    assert paging.sender.url == "https://events.pagerduty.com/v2/enqueue"
    assert built.routes == [webhook.add_routes]
    assert built.secrets == [SECRET, "rk-1"]
    with pytest.raises(ConfigError, match="no routing key"):
        build_integrations(full, {"BITUNIX_TRADINGVIEW_SECRET": SECRET})


@pytest.mark.parametrize(("text", "line"), [
    ("[tradingview]\nenabled = true\n",
     "key tradingview.enabled: no signing secret (set BITUNIX_TRADINGVIEW_SECRET, or "
     "tradingview_secret in the secrets file)"),
    ("[http]\nenabled = false\n[tradingview]\nenabled = true\n",
     "key tradingview.enabled: the webhook is served on the run's listener: set "
     "http.enabled = true"),
    ("[alerting.pagerduty]\nenabled = true\n",
     "key alerting.pagerduty.enabled: no routing key (set BITUNIX_PAGERDUTY_ROUTING_KEY, "
     "or pagerduty_routing_key in the secrets file)"),
])
def test_run_refuses_an_integration_without_what_it_needs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        text: str, line: str) -> None:
    from bitunix.cli import main

    for name in ("BITUNIX_PAGERDUTY_ROUTING_KEY", "BITUNIX_SECRETS_FILE",
                 "BITUNIX_TRADINGVIEW_SECRET"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "bot.toml"
    path.write_text(text)
    assert main(["run", "--config", str(path), "--store", str(tmp_path / "s.sqlite")]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"bitunix-bot run: error: {line}\n"
    assert not (tmp_path / "s.sqlite").exists()
