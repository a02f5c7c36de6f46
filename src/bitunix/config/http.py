"""The ``[http]`` section: the bot's own HTTP server (``/metrics``, ``/healthz``,
``/readyz``, the risk dashboard on ``/``).

On by default on ``127.0.0.1:8787``. The dashboard shows positions, PnL and the kill switch
and the server has no authentication, so it listens on a loopback address unless
``allow_remote = true`` says otherwise; put a reverse proxy with authentication in front of
it before opening it to a network. ``port = 0``: any free port (the run prints the URL).
"""

from __future__ import annotations

import ipaddress

import msgspec

from bitunix.core.checks import check_flag, check_number
from bitunix.core.errors import ConfigError

__all__ = ["DEFAULT_HTTP_PORT", "HttpSection", "IPNetwork", "check_networks", "is_loopback"]

#: An allowed address range.
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: The port of ``/metrics`` and the dashboard unless ``http.port`` says otherwise.
DEFAULT_HTTP_PORT = 8787


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and the loopback addresses (``127.0.0.0/8``, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class HttpSection(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``enabled``: serve metrics, health and the dashboard during ``run``; ``host`` /
    ``port``: where (a port in use: the run takes any free port and prints its URL; 0:
    any free port); ``allow_remote``: allow a host that is not a loopback address (the
    server has no authentication); ``stale_after_s``: ``/readyz`` calls the market feed
    stale after this long without a push; ``refresh_s``: how often the dashboard gets a
    snapshot (also at once on every fill, position and risk change). ``allow``: the
    addresses and CIDR ranges that may call any endpoint (default: loopback only; others get
    403, counted in ``bitunix_http_refused_total``); ``trust_proxy``: the reverse proxies
    (addresses or ranges) whose ``X-Forwarded-For`` names the client (empty: the header is
    ignored, the peer address is the client)."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = DEFAULT_HTTP_PORT
    allow_remote: bool = False
    stale_after_s: float = 5.0
    refresh_s: float = 0.5
    #: Addresses and CIDR ranges that may call any endpoint; others get 403 (docs/api.md).
    allow: list[str] = msgspec.field(default_factory=lambda: ["127.0.0.0/8", "::1"])
    #: Proxies whose ``X-Forwarded-For`` names the client (empty: the header is ignored).
    trust_proxy: list[str] = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        check_networks("key http.allow", self.allow)
        check_networks("key http.trust_proxy", self.trust_proxy)
        check_flag("key http.enabled", self.enabled)
        check_flag("key http.allow_remote", self.allow_remote)
        check_number("key http.port", self.port, 0, 65535, integer=True)
        check_number("key http.stale_after_s", self.stale_after_s, 0, lo_open=True)
        check_number("key http.refresh_s", self.refresh_s, 0.05, 60)
        host = self.host
        if not host or any(c in host for c in "/ \t") or (":" in host and not _is_ip(host)):
            raise ConfigError(f"key http.host: not a host name or address (was {host!r})")
        if not self.allow_remote and not is_loopback(host):
            raise ConfigError(
                f"key http.host: {host!r} is not a loopback address; the dashboard and "
                "metrics have no authentication: set http.allow_remote = true to serve "
                "them beyond this machine (behind a proxy that authenticates)")


def check_networks(key: str, values: list[str]) -> list[IPNetwork]:
    """``values`` as networks (an address is a one-address network); a bad one is a
    :class:`ConfigError` naming ``key`` and the value."""
    out: list[IPNetwork] = []
    for value in values:
        try:
            out.append(ipaddress.ip_network(value, strict=True))
        except ValueError as exc:
            raise ConfigError(f"{key}: {value!r} is not an address or CIDR range like "
                              f"10.0.0.0/8 ({exc})") from None
    return out


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
