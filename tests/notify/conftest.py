"""Fake Telegram and webhook servers on 127.0.0.1 (aiohttp.web, port 0), inside the tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web

from tests.app.conftest import capture_slice  # noqa: F401 (a fixture)


class FakeServer:
    """Records every POST; answers as ``behaviour`` says: ``ok`` (Telegram's
    ``{"ok": true}`` or an empty 204), ``notok`` (200 with ``{"ok": false}``), ``500``,
    or ``hang`` (no answer until the server stops)."""

    def __init__(self, behaviour: str = "ok") -> None:
        self.behaviour = behaviour
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._release = asyncio.Event()

    async def start(self) -> FakeServer:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        self._release.set()  # hanging handlers answer now, so the server stops at once
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append((request.path, dict(request.headers), body))
        if self.behaviour == "500":
            return web.Response(status=500, text="internal")
        if self.behaviour == "notok":  # a 200 that is not a success to Telegram
            return web.json_response({"ok": False, "description": "chat not found"})
        if self.behaviour == "hang":
            await asyncio.wait_for(self._release.wait(), 60)
        if "/sendMessage" in request.path:
            return web.json_response({"ok": True, "result": {"message_id": len(self.requests)}})
        return web.Response(status=204)

    def bodies(self) -> list[dict[str, Any]]:
        """The JSON bodies received, in order."""
        return [json.loads(body) for _, _, body in self.requests]


@pytest.fixture
async def servers() -> AsyncIterator[Callable[[str], Any]]:
    """``await servers(behaviour)`` starts a fake server; all stop after the test."""
    started: list[FakeServer] = []

    async def start(behaviour: str = "ok") -> FakeServer:
        server = await FakeServer(behaviour).start()
        started.append(server)
        return server

    yield start
    for server in started:
        await server.stop()
