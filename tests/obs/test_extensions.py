"""More endpoints and middlewares on the run's listener (the control API, webhooks and the
IP allowlist use them)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler

from bitunix.app.bot import BotRun
from bitunix.app.http_observer import HttpObserver
from bitunix.config import Mode
from tests.app.conftest import busy_config
from tests.obs.conftest import wait_for


async def test_added_routes_are_served_and_middlewares_see_every_request(
    tmp_path: Path, capture_slice: Path
) -> None:
    seen: list[str] = []

    async def hello(request: web.Request) -> web.Response:
        return web.json_response({"hello": request.match_info["name"]})

    def add(app: web.Application) -> None:
        app.router.add_get("/api/v1/hello/{name}", hello)

    @web.middleware
    async def note(request: web.Request, handler: Handler) -> web.StreamResponse:
        seen.append(request.path)
        if request.headers.get("X-Refuse"):
            raise web.HTTPForbidden(text="refused")
        return await handler(request)

    cfg = busy_config(tmp_path, capture_slice, **{"http.port": 0, "run.duration_s": 30.0})
    observer = HttpObserver(cfg.http, routes=[add], middlewares=[note])
    bot = BotRun(cfg, Mode.PAPER, store_path=cfg.store.resolved_path(), secrets=None,
                 emit=lambda _: None, observers=[observer])
    task = asyncio.ensure_future(bot.run())
    try:
        await wait_for(lambda: observer.server is not None and observer.server.port > 0,
                       30, "the HTTP server")
        assert observer.server is not None
        url = observer.server.url
        async with aiohttp.ClientSession() as http:
            async with http.get(url + "api/v1/hello/bot") as r:
                assert r.status == 200
                assert await r.json() == {"hello": "bot"}
            async with http.get(url + "healthz") as r:
                assert r.status == 200
            async with http.get(url + "metrics", headers={"X-Refuse": "1"}) as r:
                assert r.status == 403
        assert seen == ["/api/v1/hello/bot", "/healthz", "/metrics"]
    finally:
        bot.interrupt()
        await asyncio.wait_for(task, 60)
