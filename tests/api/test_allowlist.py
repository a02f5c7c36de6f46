"""The IP allowlist: who the client is (peer, trusted proxies), and every endpoint of a
paper run's listener refused from outside the list, counted and logged without secrets."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path

import pytest
import requests

from bitunix.api.allowlist import IpAllowlist, RefusalCounts
from bitunix.config import load_config
from bitunix.core.errors import ConfigError
from tests.api.conftest import TOKENS, ThreadedBot, api_overrides, auth
from tests.app.conftest import busy_config


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


def test_the_client_is_the_peer_unless_the_peer_is_a_trusted_proxy() -> None:
    plain = IpAllowlist(["10.0.0.0/8"])
    assert plain.client("10.1.2.3", "192.0.2.9") == _ip("10.1.2.3")  # header ignored
    assert plain.client("::ffff:10.1.2.3", None) == _ip("10.1.2.3")  # mapped IPv4
    assert plain.client(None, None) is None
    assert plain.client("not-an-address", None) is None
    behind = IpAllowlist(["10.0.0.0/8"], ["192.168.1.1", "192.168.2.0/24"])
    # The right-most entry that is not a trusted proxy: what the client wrote on the left
    # proves nothing.
    assert behind.client("192.168.1.1", "1.2.3.4, 10.9.9.9") == _ip("10.9.9.9")
    assert behind.client("192.168.1.1", "10.9.9.9, 192.168.2.7") == _ip("10.9.9.9")
    assert behind.client("192.168.1.1", "192.168.2.7") == _ip("192.168.2.7")
    assert behind.client("192.168.1.1", "10.0.0.1, bogus") is None
    assert behind.client("192.168.1.1", None) == _ip("192.168.1.1")
    assert behind.client("10.0.0.5", "192.0.2.1") == _ip("10.0.0.5")  # not a proxy


def test_addresses_and_ranges() -> None:
    allow = IpAllowlist(["127.0.0.1", "10.0.0.0/8", "::1", "2001:db8::/32"])
    for inside in ("127.0.0.1", "10.255.0.1", "::1", "2001:db8::5"):
        assert allow.allowed(_ip(inside)), inside
    for outside in ("127.0.0.2", "11.0.0.1", "::2", "2001:db9::1"):
        assert not allow.allowed(_ip(outside)), outside


def test_bad_allowlist_entries_name_the_key(tmp_path: Path) -> None:
    for key, value, words in (("http.allow", ["10.0.0.1/8"], "has host bits set"),
                              ("http.allow", ["localhost"], "'localhost'"),
                              ("http.trust_proxy", ["300.1.1.1"], "'300.1.1.1'")):
        with pytest.raises(ConfigError) as err:
            load_config(None, {}, overrides={key: value})
        assert f"key {key}: " in str(err.value)
        assert words in str(err.value)
    assert load_config(None, {}).http.allow == ["127.0.0.0/8", "::1"]


def test_the_refusal_metric_counts_by_reason() -> None:
    counts = RefusalCounts()
    counts.add("address")
    counts.add("address")
    counts.add("scope")
    [family] = list(counts.collect())
    assert family.name == "bitunix_http_refused"
    assert {s.labels["reason"]: s.value for s in family.samples
            if s.name.endswith("_total")} == {"address": 2, "scope": 1}


def _paper(tmp_path: Path, data: Path, allow: list[str]) -> ThreadedBot:
    cfg = busy_config(tmp_path, data, **api_overrides(tmp_path, **{
        "http.allow": allow, "run.duration_s": 60.0}))
    bot = ThreadedBot(cfg)
    bot.start(ready=False)
    return bot


PATHS = ("/metrics", "/healthz", "/readyz", "/", "/api/snapshot", "/api/v1/status",
         "/openapi.json")
#: And the dashboard's event stream (refused before it starts streaming).
REFUSED = (*PATHS, "/events")


def test_an_allowlist_without_the_client_refuses_every_endpoint(
    tmp_path: Path, capture_slice: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    bot = _paper(tmp_path, capture_slice, ["10.0.0.0/8", "::2"])
    try:
        for path in REFUSED:
            r = requests.get(bot.url + path, headers=auth("admin"), timeout=10)
            assert r.status_code == 403, path
            assert r.json()["error"]["code"] == "forbidden_address"
        secret_body = b'{"symbol": "BTCUSDT", "note": "body-secret-xyz"}'
        r = requests.post(bot.url + "/api/v1/orders?key=query-secret-abc", data=secret_body,
                          headers=auth("trade"), timeout=10)
        assert r.status_code == 403
        # a path can carry a secret (a webhook's token): the route is logged, not the path
        r = requests.post(bot.url + "/webhook/tradingview/path-secret-def", data=b"{}",
                          timeout=10)
        assert r.status_code == 403
        assert bot.http.server is not None
        metrics = bot.call(bot.http.server.metrics.render).decode()
        assert f'bitunix_http_refused_total{{reason="address"}} {len(REFUSED) + 2}.0' in metrics
        assert bot.bot.paused is False  # nothing reached the bot
    finally:
        bot.stop()
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == len(REFUSED) + 2
    assert "refused POST /api/v1/orders from 127.0.0.1 (address)" in refusals[-2]
    assert "refused POST (no such route) from 127.0.0.1 (address)" in refusals[-1]
    for secret in (*TOKENS.values(), "body-secret-xyz", "query-secret-abc", "path-secret-def"):
        assert secret not in caplog.text


def test_an_allowlist_with_the_client_lets_every_endpoint_through(
    tmp_path: Path, capture_slice: Path
) -> None:
    bot = _paper(tmp_path, capture_slice, ["10.0.0.0/8", "127.0.0.1"])
    try:
        for path in PATHS:
            r = requests.get(bot.url + path, headers=auth("read"), timeout=10)
            assert r.status_code in (200, 503), (path, r.status_code)  # /readyz: 503 early
            assert r.status_code != 403
    finally:
        bot.stop()


async def _status_behind(allowlist: IpAllowlist, forwarded: str | None) -> int:
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    async def hello(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application(middlewares=[allowlist.middleware])
    app.router.add_get("/metrics", hello)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        headers = {} if forwarded is None else {"X-Forwarded-For": forwarded}
        response = await client.get("/metrics", headers=headers)
        return response.status


async def test_behind_a_trusted_proxy_the_forwarded_client_is_checked() -> None:
    behind = IpAllowlist(["10.0.0.0/8"], ["127.0.0.1"])
    assert await _status_behind(behind, "10.1.2.3") == 200
    assert await _status_behind(behind, "10.1.2.3, 192.0.2.1") == 403  # the proxy's view
    assert await _status_behind(behind, "192.0.2.1, 10.1.2.3") == 200  # left: the client's
    assert await _status_behind(behind, "garbage") == 403
    assert await _status_behind(behind, None) == 403  # the proxy itself is not allowed
    assert behind.counts.by_reason == {"address": 2, "forwarded": 1}
    untrusted = IpAllowlist(["10.0.0.0/8"])  # the header alone opens nothing
    assert await _status_behind(untrusted, "10.1.2.3") == 403
