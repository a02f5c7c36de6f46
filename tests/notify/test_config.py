"""[notify]: defaults, bad values named by key, the secrets from the environment or file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bitunix.config import load_config
from bitunix.config.notify import (
    NotifySecrets,
    NotifySection,
    TelegramSection,
    WebhookSection,
    check_notify,
    load_notify_secrets,
    notify_secrets_for,
)
from bitunix.core.errors import ConfigError


def _load(tmp_path: Path, text: str) -> NotifySection:
    path = tmp_path / "bot.toml"
    path.write_text(text)
    return load_config(path, {}).notify


def test_off_by_default() -> None:
    section = load_config(None, {}).notify
    assert not section.enabled
    assert section.events == ["fill", "breaker", "kill", "error", "daily"]
    assert section.daily_minute == 0


def test_a_full_section(tmp_path: Path) -> None:
    section = _load(tmp_path, """
[notify]
events = ["fill", "daily"]
daily_at = "21:30"
[notify.telegram]
enabled = true
chat_id = "-100123"
[notify.webhook]
enabled = true
url = "https://hooks.example.com/bitunix"
""")
    assert section.enabled
    assert section.daily_minute == 21 * 60 + 30
    assert section.telegram.chat_id == "-100123"


@pytest.mark.parametrize(("text", "message"), [
    ('[notify.webhook]\nenabled = true\nurl = "ftp://x.example.com"',
     "key notify.webhook.url: must be a http:// or https:// URL with a host, was "
     "'ftp://x.example.com'"),
    ("[notify.webhook]\nenabled = true", "key notify.webhook.url: must be a http:// or "
     "https:// URL with a host, was ''"),
    ('[notify.telegram]\nbase_url = "telegram"', "key notify.telegram.base_url: must be a"),
    ("[notify.telegram]\nenabled = true", "key notify.telegram.chat_id: needed when"),
    ('[notify.webhook]\nsignature_header = "X Sig"',
     "key notify.webhook.signature_header: not an HTTP header name (was 'X Sig')"),
    ('[notify]\ndaily_at = "24:00"', "key notify.daily_at: must be HH:MM (UTC), was '24:00'"),
    ('[notify]\nevents = ["fills"]', "key notify.events[0]: Invalid enum value 'fills'"),
    ("[notify]\nqueue_size = 0", "key notify.queue_size: must be an integer >= 1"),
    ("[notify]\nmax_per_minute = 0", "key notify.max_per_minute: must be an integer >= 1"),
    ("[notify]\nattempts = 11", "key notify.attempts: must be an integer >= 1 and <= 10"),
    ("[notify]\ntimeout_s = 0", "key notify.timeout_s: must be a number > 0"),
    ("[notify]\nretry_backoff_s = -1", "key notify.retry_backoff_s: must be a number >= 0"),
    ('[notify.telegram]\ntoken = "123:abc"', "unknown key notify.telegram.token"),
])
def test_bad_values_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        _load(tmp_path, text)
    assert message in str(exc.value)
    assert "\n" not in str(exc.value)


def test_telegram_enabled_without_a_token_is_refused() -> None:
    section = NotifySection(telegram=TelegramSection(enabled=True, chat_id="1"))
    with pytest.raises(ConfigError, match=r"key notify\.telegram\.enabled: .*"
                                          "BITUNIX_TELEGRAM_TOKEN"):
        check_notify(section, NotifySecrets())
    check_notify(section, NotifySecrets(telegram_token="1:a"))
    check_notify(NotifySection(), NotifySecrets())


def test_secrets_from_the_environment_first_then_the_file(tmp_path: Path) -> None:
    env = {"BITUNIX_TELEGRAM_TOKEN": "1:env", "BITUNIX_WEBHOOK_SECRET": "env-secret"}
    assert load_notify_secrets(env) == NotifySecrets(telegram_token="1:env",
                                                     webhook_secret="env-secret")
    assert load_notify_secrets({}) == NotifySecrets()
    path = tmp_path / "secrets.toml"
    path.write_text('api_key = "k"\napi_secret = "s"\ntelegram_token = "1:file"\n'
                    'webhook_secret = "file-secret"\n')
    os.chmod(path, 0o600)
    got = load_notify_secrets({"BITUNIX_TELEGRAM_TOKEN": "1:env"}, str(path))
    assert got == NotifySecrets(telegram_token="1:env", webhook_secret="file-secret")
    assert load_notify_secrets({"BITUNIX_SECRETS_FILE": str(path)}).telegram_token == "1:file"
    assert "1:file" not in repr(got)
    assert "file-secret" not in str(got)
    assert got.values() == ["1:env", "file-secret"]


@pytest.mark.parametrize(("content", "mode", "message"), [
    ('telegram_token = "1:x"', 0o644, "readable by others (mode -rw-r--r--)"),
    ("telegram_token = [", 0o600, "not valid TOML (an encrypted secrets file cannot hold "
                                  "the notification secrets: set BITUNIX_TELEGRAM_TOKEN and "
                                  "BITUNIX_WEBHOOK_SECRET instead)"),
    ("telegram_token = 5", 0o600, "telegram_token must be a string"),
])
def test_a_bad_secrets_file(tmp_path: Path, content: str, mode: int, message: str) -> None:
    path = tmp_path / "secrets.toml"
    path.write_text(content)
    os.chmod(path, mode)
    with pytest.raises(ConfigError, match=f"secrets file {path}: {message}".replace(
            "(", r"\(").replace(")", r"\)")):
        load_notify_secrets({}, str(path))
    with pytest.raises(ConfigError, match="does not exist"):
        load_notify_secrets({}, str(tmp_path / "none.toml"))


def test_run_refuses_telegram_without_a_token(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from bitunix.cli import main

    monkeypatch.delenv("BITUNIX_TELEGRAM_TOKEN", raising=False)
    monkeypatch.delenv("BITUNIX_SECRETS_FILE", raising=False)
    path = tmp_path / "bot.toml"
    path.write_text('[notify.telegram]\nenabled = true\nchat_id = "5"\n')
    assert main(["run", "--config", str(path), "--store", str(tmp_path / "s.sqlite")]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""  # refused before anything started
    assert captured.err == (
        "bitunix-bot run: error: key notify.telegram.enabled: Telegram is enabled but no bot "
        "token was given (set BITUNIX_TELEGRAM_TOKEN, or telegram_token in the secrets "
        "file)\n")
    assert not (tmp_path / "s.sqlite").exists()



def test_with_notify_off_the_secrets_file_is_not_read_for_it(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.bin"
    secrets.write_bytes(b"\x00\x01 not TOML: what an encrypted file looks like to tomllib")
    os.chmod(secrets, 0o600)
    assert notify_secrets_for(NotifySection(), {}, str(secrets)) == NotifySecrets()
    on = NotifySection(webhook=WebhookSection(enabled=True, url="https://h.example.com/x"))
    with pytest.raises(ConfigError, match="an encrypted secrets file cannot hold"):
        notify_secrets_for(on, {}, str(secrets))
    env = {"BITUNIX_TELEGRAM_TOKEN": "1:t", "BITUNIX_WEBHOOK_SECRET": "w-secret"}
    assert notify_secrets_for(on, env, str(secrets)).webhook_secret == "w-secret"
