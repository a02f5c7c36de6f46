"""The IP allowlist in front of every endpoint of the run's listener (metrics, health,
the dashboard, the control API), and the count of refused requests.

The client is the peer's address, unless the peer is one of ``http.trust_proxy``: then it
is the right-most ``X-Forwarded-For`` entry that is not a trusted proxy itself (entries
further left are written by the client and prove nothing). A request from outside
``http.allow`` gets 403 with a JSON error body, is counted by reason
(``bitunix_http_refused_total``) and logged with its method, path (without the query
string) and client address only: never a header or a body, which may carry a token.
"""

from __future__ import annotations

import ipaddress
import logging
from collections import Counter
from collections.abc import Iterator, Sequence

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from bitunix.api.errors import error_response
from bitunix.config.http import IPNetwork, check_networks

__all__ = ["IpAllowlist", "RefusalCounts"]

log = logging.getLogger("bitunix.api.allowlist")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusalCounts(Collector):
    """Refused requests by reason (``address``, ``forwarded``, ``unauthorized``,
    ``scope``), exported as ``bitunix_http_refused_total``."""

    def __init__(self) -> None:
        self.by_reason: Counter[str] = Counter()

    def add(self, reason: str) -> None:
        """Count one refusal."""
        self.by_reason[reason] += 1

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily("bitunix_http_refused",
                                     "Requests refused by the listener, by reason.",
                                     labels=["reason"])
        for reason, count in sorted(self.by_reason.items()):
            family.add_metric([reason], count)
        yield family


class IpAllowlist:
    """The allowlist of ``allow`` (addresses and ranges) behind the proxies
    ``trust_proxy``; :meth:`middleware` is given to the listener."""

    def __init__(self, allow: Sequence[str], trust_proxy: Sequence[str] = (), *,
                 counts: RefusalCounts | None = None) -> None:
        self.allow = check_networks("key http.allow", list(allow))
        self.proxies = check_networks("key http.trust_proxy", list(trust_proxy))
        self.counts = counts if counts is not None else RefusalCounts()

    def client(self, peer: str | None, forwarded: str | None) -> IPAddress | None:
        """The client's address (None: none can be told, or the forwarding is invalid)."""
        address = _address(peer)
        if address is None or not forwarded or not _inside(address, self.proxies):
            return address
        for entry in reversed(forwarded.split(",")):
            hop = _address(entry.strip())
            if hop is None:
                return None
            if not _inside(hop, self.proxies):
                return hop
        return hop

    def allowed(self, address: IPAddress) -> bool:
        """Whether ``address`` is in the allowlist."""
        return _inside(address, self.allow)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Refuse a request from outside the allowlist before any endpoint sees it."""
        client = self.client(request.remote, request.headers.get("X-Forwarded-For"))
        if client is None:
            return self._refuse(request, "forwarded", str(request.remote),
                                "the client address cannot be told")
        if not self.allowed(client):
            return self._refuse(request, "address", str(client),
                                f"address {client} is not in http.allow")
        return await handler(request)

    def _refuse(self, request: web.Request, reason: str, client: str,
                message: str) -> web.Response:
        self.counts.add(reason)
        log.warning("http: refused %s %s from %s (%s)", request.method, route_of(request),
                    client, reason)
        return error_response(403, "forbidden_address", message)


def route_of(request: web.Request) -> str:
    """The request's route as declared (``/webhook/tradingview/{token}``), not its path: a
    path may carry a secret (a webhook's token); an unrouted path is said as such."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "(no such route)"


def _address(text: str | None) -> IPAddress | None:
    if not text:
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _inside(address: IPAddress, networks: Sequence[IPNetwork]) -> bool:
    return any(address.version == n.version and address in n for n in networks)
