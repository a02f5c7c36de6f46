"""The ``[alerting]`` section: paging (PagerDuty Events API v2) on breaker trips, the kill
switch, a feed that is down and store errors, and the service-level objectives the run
tracks (feed uptime, decision-to-ack latency, order success) with their error-budget burn
alerts. See ``docs/alerting.md``.

The PagerDuty routing key is not configuration: it comes from the environment
(``BITUNIX_PAGERDUTY_ROUTING_KEY``) or the owner-only secrets file (key
``pagerduty_routing_key``), as the API keys do (:func:`load_pagerduty_key`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

import msgspec

from bitunix.config.secrets import plain_secrets
from bitunix.core.checks import check_number, check_url
from bitunix.core.errors import ConfigError

__all__ = ["AlertingSection", "BurnRule", "PagerDutySection", "SloSection",
           "check_alerting", "load_pagerduty_key"]

Severity = Literal["critical", "error", "warning", "info"]
_PREFIX = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


class PagerDutySection(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """PagerDuty Events API v2: ``POST {base_url}/v2/enqueue``. ``dedup_prefix`` starts
    every dedup key (one per condition: ``<prefix>:kill_switch``...): give each bot on
    one routing key its own. ``source``: the event's ``payload.source`` (empty: the host
    name). ``queue_size``: events waiting at most (more are dropped and counted: trading
    never waits); ``attempts`` per event, ``retry_backoff_s`` apart (doubling);
    ``timeout_s`` per attempt."""

    #: Page (needs the routing key in the environment or the secrets file).
    enabled: bool = False
    #: The Events API server (another one: a proxy, or a test's).
    base_url: str = "https://events.pagerduty.com"
    #: Starts every dedup key; one per bot on a routing key.
    dedup_prefix: str = "bitunix"
    #: ``payload.source`` of every event (empty: the host name).
    source: str = ""
    #: Events waiting at most; more are dropped and counted.
    queue_size: int = 256
    #: Tries per event before it is logged as not sent.
    attempts: int = 5
    #: The wait after a failed try, doubling with each one.
    retry_backoff_s: float = 1.0
    #: How long one try may take, seconds.
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        check_url("key alerting.pagerduty.base_url:", self.base_url, ("http", "https"))
        if not _PREFIX.fullmatch(self.dedup_prefix):
            raise ConfigError("key alerting.pagerduty.dedup_prefix: 1 to 64 letters, digits "
                              f"or _.:- (was {self.dedup_prefix!r})")
        check_number("key alerting.pagerduty.queue_size:", self.queue_size, 1, 100_000,
                     integer=True)
        check_number("key alerting.pagerduty.attempts:", self.attempts, 1, 20, integer=True)
        check_number("key alerting.pagerduty.retry_backoff_s:", self.retry_backoff_s, 0, 300)
        check_number("key alerting.pagerduty.timeout_s:", self.timeout_s, 0, 120,
                     lo_open=True)


class BurnRule(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Page when an SLO's error budget burns at ``factor`` times the sustainable rate or
    faster over both ``long_window_s`` and ``short_window_s`` (the short one makes the
    page resolve soon after the problem stops)."""

    long_window_s: float
    short_window_s: float
    factor: float
    severity: Severity = "critical"

    def __post_init__(self) -> None:
        check_number("key alerting.slo.burn.long_window_s:", self.long_window_s, 1, 30 * 86_400)
        check_number("key alerting.slo.burn.short_window_s:", self.short_window_s, 1,
                     self.long_window_s)
        check_number("key alerting.slo.burn.factor:", self.factor, 0, 10_000, lo_open=True)


def _default_burn() -> list[BurnRule]:
    # The multi-window, multi-burn-rate pair of the Google SRE workbook (ch. 5): 2 % of a
    # 30-day budget in an hour, 5 % in six hours.
    return [BurnRule(long_window_s=3600, short_window_s=300, factor=14.4),
            BurnRule(long_window_s=21_600, short_window_s=1800, factor=6.0,
                     severity="error")]


class SloSection(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The objectives (fractions of good events): ``feed_uptime`` (samples, every
    ``alerting.sample_s``, in which the public feed was fresh), ``ack_latency`` (orders
    whose venue acknowledgement came within ``ack_target_s`` of the decision that sent
    them), ``order_success`` (orders sent that the venue accepted); ``burn``: the alert
    rules; ``bucket_s``: the resolution of the windows."""

    #: Track the objectives (exported on ``/metrics``; paged with ``[alerting.pagerduty]``).
    enabled: bool = True
    #: Fraction of samples in which the public feed is fresh.
    feed_uptime: float = 0.999
    #: Fraction of orders acknowledged within ``ack_target_s``.
    ack_latency: float = 0.99
    #: The acknowledgement target, seconds from the decision.
    ack_target_s: float = 0.5
    #: Fraction of orders sent that the venue accepts.
    order_success: float = 0.99
    #: The burn-rate alert rules.
    burn: list[BurnRule] = msgspec.field(default_factory=_default_burn)
    #: Window resolution, seconds (events are counted per bucket).
    bucket_s: float = 10.0

    def __post_init__(self) -> None:
        for name in ("feed_uptime", "ack_latency", "order_success"):
            value = getattr(self, name)
            if not (isinstance(value, float | int) and 0.0 < value < 1.0):
                raise ConfigError(f"key alerting.slo.{name}: must be a fraction in (0, 1) "
                                  f"(was {value!r})")
        check_number("key alerting.slo.ack_target_s:", self.ack_target_s, 0, 60, lo_open=True)
        check_number("key alerting.slo.bucket_s:", self.bucket_s, 0.01, 3600)
        for rule in self.burn:
            if rule.short_window_s < self.bucket_s:
                raise ConfigError(f"key alerting.slo.burn.short_window_s: "
                                  f"{rule.short_window_s:g} is shorter than "
                                  f"alerting.slo.bucket_s ({self.bucket_s:g})")


class AlertingSection(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Paging and SLOs. The feed is fresh while a public push came within
    ``feed_stale_after_s``; it is paged as down once stale for ``feed_down_after_s``;
    the run is sampled every ``sample_s``."""

    pagerduty: PagerDutySection = msgspec.field(default_factory=PagerDutySection)
    slo: SloSection = msgspec.field(default_factory=SloSection)
    #: The feed is fresh while its last push is at most this old, seconds.
    feed_stale_after_s: float = 5.0
    #: Page "feed down" once the feed has been stale this long, seconds.
    feed_down_after_s: float = 10.0
    #: How often the feed and the store are looked at, seconds (the burn rates: once a
    #: ``slo.bucket_s``).
    sample_s: float = 1.0

    def __post_init__(self) -> None:
        check_number("key alerting.feed_stale_after_s:", self.feed_stale_after_s, 0, 3600,
                     lo_open=True)
        check_number("key alerting.feed_down_after_s:", self.feed_down_after_s, 0, 86_400)
        check_number("key alerting.sample_s:", self.sample_s, 0.01, 60)


def load_pagerduty_key(environ: Mapping[str, str], secrets_file: str = "") -> str:
    """The routing key from the environment, else the secrets file ("" when neither)."""
    key = environ.get("BITUNIX_PAGERDUTY_ROUTING_KEY", "")
    if key:
        return key
    return plain_secrets(environ, secrets_file, ("pagerduty_routing_key",)).get(
        "pagerduty_routing_key", "")


def check_alerting(section: AlertingSection, routing_key: str) -> None:
    """Refuse paging switched on without a routing key."""
    if section.pagerduty.enabled and not routing_key:
        raise ConfigError("key alerting.pagerduty.enabled: no routing key (set "
                          "BITUNIX_PAGERDUTY_ROUTING_KEY, or pagerduty_routing_key in the "
                          "secrets file)")
