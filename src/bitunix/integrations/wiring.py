"""The integrations a configuration asks for, built once by ``bitunix-bot run``."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from bitunix.app.observers import Observer
from bitunix.config import BotConfig
from bitunix.config.alerting import check_alerting, load_pagerduty_key
from bitunix.config.tradingview import check_tradingview, load_tradingview_secrets
from bitunix.obs.server import RouteAdder

__all__ = ["Integrations", "build_integrations"]


class Integrations(msgspec.Struct, kw_only=True):
    """What the run adds: ``observers`` (after the HTTP listener's), ``routes`` for the
    listener, and ``secrets`` to mask in every log line."""

    observers: list[Observer] = msgspec.field(default_factory=list)
    routes: list[RouteAdder] = msgspec.field(default_factory=list)
    secrets: list[str] = msgspec.field(default_factory=list)


def build_integrations(config: BotConfig, environ: Mapping[str, str]) -> Integrations:
    """The TradingView webhook and the alerting of ``config``; a configuration that
    cannot work (an enabled part without its secret) raises ``ConfigError``."""
    from bitunix.integrations.alerting import AlertingObserver
    from bitunix.integrations.pagerduty import PagerDutySender
    from bitunix.integrations.tradingview import TradingViewWebhook

    out = Integrations()
    section = config.tradingview
    tv_secrets = load_tradingview_secrets(environ, config.venue.secrets_file)
    check_tradingview(section, tv_secrets, list(config.symbols), config.http.enabled)
    if section.enabled:
        webhook = TradingViewWebhook(section, tv_secrets)
        out.observers.append(webhook)
        out.routes.append(webhook.add_routes)
        out.secrets += tv_secrets.values()
    alerting = config.alerting
    routing_key = load_pagerduty_key(environ, config.venue.secrets_file)
    check_alerting(alerting, routing_key)
    sender = None
    if alerting.pagerduty.enabled:
        sender = PagerDutySender(alerting.pagerduty, routing_key)
        out.secrets.append(routing_key)
    if sender is not None or alerting.slo.enabled:
        out.observers.append(AlertingObserver(alerting, sender))
    return out

