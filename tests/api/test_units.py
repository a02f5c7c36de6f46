"""The API's parts without a running bot: refusals before the bot is there or while it is
a standby, request limits, the masking of the configuration, and the wiring of the
listener from the configuration."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bitunix.api import ControlApi, hash_token
from bitunix.api.masking import MASK, masked_config
from bitunix.api.observer import ApiObserver, build_http_observers
from bitunix.app.http_observer import HttpObserver
from bitunix.config import load_config
from bitunix.config.api import ApiSection, ApiToken
from bitunix.config.http import HttpSection
from bitunix.core.errors import ConfigError

TOKEN = "bxa_unit-test-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


def _api(bot: Any = None) -> ControlApi:
    config = ApiSection(enabled=True, tokens=[
        ApiToken(name="ops", sha256=hash_token(TOKEN), scopes=["admin"])])
    return ControlApi(config, bot=bot)


async def _client(api: ControlApi) -> TestClient[web.Request, web.Application]:
    app = web.Application()
    api.add_routes(app)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


async def test_before_the_bot_is_bound_every_endpoint_is_503() -> None:
    client = await _client(_api())
    try:
        for method, path in (("GET", "/api/v1/status"), ("POST", "/api/v1/pause")):
            r = await client.request(method, path, headers=HEADERS)
            assert r.status == 503
            assert (await r.json())["error"]["code"] == "starting"
        r = await client.get("/api/v1/status")  # the token is checked first
        assert r.status == 401
    finally:
        await client.close()


async def test_a_standby_answers_reads_and_refuses_changes() -> None:
    bot = SimpleNamespace(lease=SimpleNamespace(held=False), engine=None, stopping=False,
                          contracts={}, config=load_config(None, {}), control_handler=None)
    client = await _client(_api(bot))
    try:
        r = await client.post("/api/v1/pause", headers=HEADERS, json={})
        assert r.status == 503
        assert (await r.json())["error"]["code"] == "standby"
        r = await client.get("/api/v1/positions", headers=HEADERS)
        assert r.status == 200
        assert await r.json() == {"positions": []}
        r = await client.get("/api/v1/balance", headers=HEADERS)
        assert (await r.json())["available"] is None  # dry-run: no venue balance
    finally:
        await client.close()


async def _chunks(parts: list[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part
        await asyncio.sleep(0.01)


async def test_request_limits() -> None:
    bot = SimpleNamespace(lease=SimpleNamespace(held=True), engine=None, contracts={},
                          stopping=False, control_handler=None)
    client = await _client(_api(bot))
    try:
        r = await client.post("/api/v1/pause", headers=HEADERS,
                              data=b'{"reason": "' + b"x" * 20_000 + b'"}')
        assert r.status == 400
        assert "over 16384 bytes" in (await r.json())["error"]["message"]
        r = await client.post("/api/v1/pause", headers=HEADERS,
                              json={"reason": "x" * 201})
        assert r.status == 422
        r = await client.get("/api/v1/positions?extra=1", headers=HEADERS)
        assert r.status == 422
        assert "'extra'" in (await r.json())["error"]["message"]
        r = await client.delete("/api/v1/orders/" + "x" * 65, headers=HEADERS)
        assert r.status == 422
        # A body sent in chunks is read whole (and refused whole when it grows too big).
        r = await client.post("/api/v1/pause", headers=HEADERS,
                              data=_chunks([b'{"reason": ', b'"lunch", "x": 1', b"}"]))
        assert r.status == 422
        assert "unknown field `x`" in (await r.json())["error"]["message"]
        r = await client.post("/api/v1/pause", headers=HEADERS,
                              data=_chunks([b'{"reason": "'] + [b"y" * 4096] * 5 + [b'"}']))
        assert r.status == 400
        # A valid request to a bot that is stopping: nothing is done.
        bot.stopping = True
        r = await client.post("/api/v1/pause", headers=HEADERS, json={})
        assert r.status == 503
        assert (await r.json())["error"]["code"] == "stopping"
    finally:
        await client.close()


def test_the_configuration_is_masked() -> None:
    config = load_config(None, {}, overrides={
        "api.enabled": True,
        "api.tokens": [{"name": "ops", "sha256": "a" * 64, "scopes": ["read"]}],
        "notify.webhook.url": "https://hooks.example.com/services/T000/B000/SECRETPATH",
        "venue.rest_url": "https://user:pw@fapi.example.com/api?key=q#f",
    })
    masked = masked_config(config)
    assert masked["api"]["tokens"] == [{"name": "ops", "sha256": MASK, "scopes": ["read"]}]
    assert masked["notify"]["webhook"]["url"] == "https://hooks.example.com/" + MASK
    assert masked["venue"]["rest_url"] == "https://fapi.example.com/api"
    assert masked["venue"]["ws_public_url"] == "wss://fapi.bitunix.com/public/"
    text = repr(masked)
    for secret in ("a" * 64, "SECRETPATH", "pw", "key=q"):
        assert secret not in text
    assert masked["symbols"] == ["BTCUSDT"]


def test_the_listener_from_the_configuration() -> None:
    off = HttpSection(enabled=False)
    assert build_http_observers(off, ApiSection()) == []
    api = ApiSection(enabled=True, tokens=[ApiToken(name="a", sha256="a" * 64,
                                                    scopes=["read"])])
    with pytest.raises(ConfigError) as err:
        build_http_observers(off, api)
    assert "key api.enabled" in str(err.value)
    server, observer = build_http_observers(HttpSection(), api)
    assert isinstance(server, HttpObserver)
    assert isinstance(observer, ApiObserver)
    assert observer.api is not None
    assert len(server.routes) == 1
    assert len(server.middlewares) == 1
    _, plain = build_http_observers(HttpSection(), ApiSection())
    assert isinstance(plain, ApiObserver)
    assert plain.api is None
