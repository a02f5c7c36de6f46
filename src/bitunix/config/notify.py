"""The ``[notify]`` section: Telegram and a generic webhook, told about fills, breaker
trips, the kill switch, errors and a daily summary. Off by default.

The Telegram bot token and the webhook's signing secret are not configuration: they come
from the environment (``BITUNIX_TELEGRAM_TOKEN``, ``BITUNIX_WEBHOOK_SECRET``) or from the
owner-only secrets file (``venue.secrets_file`` / ``BITUNIX_SECRETS_FILE``, keys
``telegram_token`` and ``webhook_secret``), the way the API keys are
(:func:`load_notify_secrets`, :func:`check_notify`). See ``docs/notifications.md``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

import msgspec

from bitunix.config.secrets import plain_secrets
from bitunix.core.checks import check_number, check_url
from bitunix.core.errors import ConfigError

__all__ = ["EVENTS", "NotifySecrets", "NotifySection", "TelegramSection", "WebhookSection",
           "check_notify", "load_notify_secrets", "notify_secrets_for"]

#: What can be notified: a fill, a breaker or limit tripping (or recovering), the kill
#: switch engaged or released, an error of the run, the daily summary.
Event = Literal["fill", "breaker", "kill", "error", "daily"]
EVENTS: tuple[Event, ...] = ("fill", "breaker", "kill", "error", "daily")
_HEADER = re.compile(r"[A-Za-z0-9-]{1,64}")
_DAILY_AT = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


class TelegramSection(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Telegram (Bot API ``sendMessage``). ``chat_id``: the chat, group or channel
    (``-100...`` or ``@name``); ``base_url``: the Bot API server (another one for a local
    Bot API server or a test). The token comes from ``BITUNIX_TELEGRAM_TOKEN``."""

    #: Send notices to Telegram (needs ``chat_id`` and the token in the environment).
    enabled: bool = False
    #: The chat, group or channel the bot posts to (``-100...`` or ``@name``).
    chat_id: str = ""
    #: The Bot API server (another one: a local Bot API server, or a test's).
    base_url: str = "https://api.telegram.org"

    def __post_init__(self) -> None:
        check_url("key notify.telegram.base_url:", self.base_url, ("http", "https"))
        if self.enabled and not self.chat_id.strip():
            raise ConfigError("key notify.telegram.chat_id: needed when "
                              "notify.telegram.enabled = true")


class WebhookSection(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A generic webhook: every notice as a JSON POST to ``url``. With a secret
    (``BITUNIX_WEBHOOK_SECRET``) the body is signed: ``signature_header`` carries
    ``sha256=<hex HMAC-SHA256 of the body>``."""

    #: POST every notice as JSON to ``url``.
    enabled: bool = False
    #: The receiver, ``http://`` or ``https://``.
    url: str = ""
    #: The header carrying ``sha256=<hex HMAC-SHA256 of the body>`` when
    #: ``BITUNIX_WEBHOOK_SECRET`` is set (no secret: no signature).
    signature_header: str = "X-Bitunix-Signature"

    def __post_init__(self) -> None:
        if self.enabled or self.url:
            check_url("key notify.webhook.url:", self.url, ("http", "https"))
        if not _HEADER.fullmatch(self.signature_header):
            raise ConfigError("key notify.webhook.signature_header: not an HTTP header name "
                              f"(was {self.signature_header!r})")


class NotifySection(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Notifications (off unless a channel is enabled). ``events``: which kinds are sent
    (of fill, breaker, kill, error, daily); ``daily_at``: when the daily summary goes
    (HH:MM, UTC); ``queue_size``: notices waiting at most (more are dropped and counted:
    the trading path never waits); ``max_per_minute``: per channel; ``attempts``: tries
    per notice and channel, ``retry_backoff_s`` apart (doubling); ``timeout_s``: per
    attempt."""

    telegram: TelegramSection = msgspec.field(default_factory=TelegramSection)
    webhook: WebhookSection = msgspec.field(default_factory=WebhookSection)
    #: The kinds of notice sent: ``fill``, ``breaker`` (a breaker or limit tripping or
    #: recovering), ``kill`` (the kill switch), ``error``, ``daily`` (the summary).
    events: list[Event] = msgspec.field(
        default_factory=lambda: list(EVENTS))
    #: When the daily summary goes out, ``HH:MM`` UTC; it covers the time since the
    #: previous one (or since the start).
    daily_at: str = "00:00"
    #: Notices waiting per channel at most; more are dropped and counted (the trading path
    #: never waits).
    queue_size: int = 256
    #: Sends per channel per minute at most; the rest wait their turn in the queue.
    max_per_minute: int = 20
    #: Tries per notice and channel before it is logged as not sent.
    attempts: int = 3
    #: The wait after a failed try, doubling with each one.
    retry_backoff_s: float = 1.0
    #: How long one try may take, seconds.
    timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if not _DAILY_AT.fullmatch(self.daily_at):
            raise ConfigError(f"key notify.daily_at: must be HH:MM (UTC), was {self.daily_at!r}")
        check_number("key notify.queue_size:", self.queue_size, 1, 100_000, integer=True)
        check_number("key notify.max_per_minute:", self.max_per_minute, 1, 600, integer=True)
        check_number("key notify.attempts:", self.attempts, 1, 10, integer=True)
        check_number("key notify.retry_backoff_s:", self.retry_backoff_s, 0, 60)
        check_number("key notify.timeout_s:", self.timeout_s, 0, 120, lo_open=True)

    @property
    def enabled(self) -> bool:
        """Whether any channel is on."""
        return self.telegram.enabled or self.webhook.enabled

    @property
    def daily_minute(self) -> int:
        """``daily_at`` as minutes after UTC midnight."""
        hours, minutes = self.daily_at.split(":")
        return int(hours) * 60 + int(minutes)


class NotifySecrets(msgspec.Struct, frozen=True, kw_only=True):
    """The Telegram bot token and the webhook secret (empty: not given); ``repr`` hides
    them."""

    telegram_token: str = ""
    webhook_secret: str = ""

    def __repr__(self) -> str:
        shown = {k: "***" if v else "" for k, v in (("telegram_token", self.telegram_token),
                                                   ("webhook_secret", self.webhook_secret))}
        return f"NotifySecrets({shown})"

    __str__ = __repr__

    def values(self) -> list[str]:
        """The secrets that are set (for the log redaction)."""
        return [v for v in (self.telegram_token, self.webhook_secret) if v]


def load_notify_secrets(environ: Mapping[str, str], secrets_file: str = "") -> NotifySecrets:
    """The notification secrets from the environment, else from the owner-only secrets
    file (``secrets_file`` or ``BITUNIX_SECRETS_FILE``; refused when others can read it)."""
    token = environ.get("BITUNIX_TELEGRAM_TOKEN", "")
    secret = environ.get("BITUNIX_WEBHOOK_SECRET", "")
    if token and secret:
        return NotifySecrets(telegram_token=token, webhook_secret=secret)
    data = plain_secrets(environ, secrets_file, ("telegram_token", "webhook_secret"),
                         not_toml_hint="an encrypted secrets file cannot hold the "
                         "notification secrets: set BITUNIX_TELEGRAM_TOKEN and "
                         "BITUNIX_WEBHOOK_SECRET instead")
    return NotifySecrets(telegram_token=token or data.get("telegram_token", ""),
                         webhook_secret=secret or data.get("webhook_secret", ""))


def notify_secrets_for(section: NotifySection, environ: Mapping[str, str],
                       secrets_file: str = "") -> NotifySecrets:
    """:func:`load_notify_secrets` when a channel is on; none otherwise (the secrets file
    is not read for notifications that are off, so nothing here can stop such a run)."""
    if not section.enabled:
        return NotifySecrets()
    return load_notify_secrets(environ, secrets_file)


def check_notify(section: NotifySection, secrets: NotifySecrets) -> None:
    """Refuse an enabled channel that lacks its secret."""
    if section.telegram.enabled and not secrets.telegram_token:
        raise ConfigError("key notify.telegram.enabled: Telegram is enabled but no bot token "
                          "was given (set BITUNIX_TELEGRAM_TOKEN, or telegram_token in the "
                          "secrets file)")
