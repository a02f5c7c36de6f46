"""The ``[tradingview]`` section: TradingView webhook alerts into the bot's own risk and
execution path (``bitunix.integrations.tradingview``). Off by default.

The signing secret and the URL token are not configuration: they come from the
environment (``BITUNIX_TRADINGVIEW_SECRET``, ``BITUNIX_TRADINGVIEW_TOKEN``) or from the
owner-only secrets file (``venue.secrets_file`` / ``BITUNIX_SECRETS_FILE``, keys
``tradingview_secret`` and ``tradingview_token``), as the API keys are
(:func:`load_tradingview_secrets`, :func:`check_tradingview`). See ``docs/tradingview.md``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import msgspec

from bitunix.config.secrets import plain_secrets
from bitunix.core.checks import check_number
from bitunix.core.errors import ConfigError

__all__ = ["TradingViewSecrets", "TradingViewSection", "check_tradingview",
           "load_tradingview_secrets"]

_SYMBOL = re.compile(r"[A-Z0-9]{2,30}")
_STRATEGY = re.compile(r"[A-Za-z0-9_.:-]{1,40}")


class TradingViewSection(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """TradingView alerts (``POST /webhook/tradingview`` on the run's listener, ``[http]``).
    ``max_age_s``: how far an alert's ``ts`` may be from now (either way); its nonce is
    remembered that long; ``max_nonces``: nonces remembered at most (more alerts in one
    window are refused, never forgotten early); ``symbols``: the symbols an alert may
    name (empty: every traded symbol); ``sl_pct`` / ``tp_pct``: the stop and target, in
    percent of the entry price, when an alert gives none; ``probability``: the win
    probability risk sizes an alert's entry with (Kelly), unless the alert gives one;
    ``strategy``: the name its decisions and orders carry."""

    #: Serve the webhook (needs ``http.enabled`` and the secret in the environment).
    enabled: bool = False
    #: An alert's ``ts`` may be this many seconds old (or ahead) at most.
    max_age_s: float = 30.0
    #: Nonces remembered at most within ``max_age_s``; more alerts are refused (429).
    max_nonces: int = 10_000
    #: Symbols an alert may name (each must be traded); empty: every traded symbol.
    symbols: list[str] = msgspec.field(default_factory=list)
    #: The stop-loss, percent of the entry price, when the alert has no ``sl_pct``.
    sl_pct: float = 0.5
    #: The take-profit, percent of the entry price, when the alert has no ``tp_pct``.
    tp_pct: float = 1.0
    #: The win probability risk sizes with, when the alert has no ``probability``.
    probability: float = 0.55
    #: The strategy name of the alerts' decisions and orders.
    strategy: str = "tradingview"

    def __post_init__(self) -> None:
        check_number("key tradingview.max_age_s:", self.max_age_s, 0, 3600, lo_open=True)
        check_number("key tradingview.max_nonces:", self.max_nonces, 1, 1_000_000,
                     integer=True)
        check_number("key tradingview.sl_pct:", self.sl_pct, 0, 50, lo_open=True)
        check_number("key tradingview.tp_pct:", self.tp_pct, 0, 500, lo_open=True)
        check_number("key tradingview.probability:", self.probability, 0, 1)
        for s in self.symbols:
            if not _SYMBOL.fullmatch(s):
                raise ConfigError(f"key tradingview.symbols: {s!r} is not a symbol like "
                                  "BTCUSDT")
        if not _STRATEGY.fullmatch(self.strategy):
            raise ConfigError("key tradingview.strategy: 1 to 40 letters, digits or _.:- "
                              f"(was {self.strategy!r})")


class TradingViewSecrets(msgspec.Struct, frozen=True, kw_only=True):
    """The HMAC secret and the URL token (empty: not given); ``repr`` hides them."""

    secret: str = ""
    url_token: str = ""

    def __repr__(self) -> str:
        shown = {k: "***" if v else "" for k, v in (("secret", self.secret),
                                                   ("url_token", self.url_token))}
        return f"TradingViewSecrets({shown})"

    __str__ = __repr__

    def values(self) -> list[str]:
        """The secrets that are set (for the log redaction)."""
        return [v for v in (self.secret, self.url_token) if v]


def load_tradingview_secrets(environ: Mapping[str, str],
                             secrets_file: str = "") -> TradingViewSecrets:
    """The webhook's secret and URL token from the environment, else the secrets file."""
    secret = environ.get("BITUNIX_TRADINGVIEW_SECRET", "")
    token = environ.get("BITUNIX_TRADINGVIEW_TOKEN", "")
    if not (secret and token):
        data = plain_secrets(environ, secrets_file,
                             ("tradingview_secret", "tradingview_token"))
        secret = secret or data.get("tradingview_secret", "")
        token = token or data.get("tradingview_token", "")
    return TradingViewSecrets(secret=secret, url_token=token)


def check_tradingview(section: TradingViewSection, secrets: TradingViewSecrets,
                      traded: list[str], http_enabled: bool) -> None:
    """Refuse an enabled webhook that cannot work: no secret, a token or secret too short
    to resist guessing, no listener, or a symbol that is not traded."""
    if not section.enabled:
        return
    if not http_enabled:
        raise ConfigError("key tradingview.enabled: the webhook is served on the run's "
                          "listener: set http.enabled = true")
    if not secrets.secret:
        raise ConfigError("key tradingview.enabled: no signing secret (set "
                          "BITUNIX_TRADINGVIEW_SECRET, or tradingview_secret in the "
                          "secrets file)")
    if len(secrets.secret) < 16:
        raise ConfigError("BITUNIX_TRADINGVIEW_SECRET: shorter than 16 characters")
    if secrets.url_token and len(secrets.url_token) < 24:
        raise ConfigError("BITUNIX_TRADINGVIEW_TOKEN: shorter than 24 characters")
    for s in section.symbols:
        if s not in traded:
            raise ConfigError(f"key tradingview.symbols: {s} is not one of the traded "
                              f"symbols {traded}")
