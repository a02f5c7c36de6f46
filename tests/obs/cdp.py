"""Headless Chromium driven over the DevTools protocol (a WebSocket, aiohttp's client):
enough to load a page, evaluate JavaScript in it and take a screenshot.

Every wait is bounded; :meth:`Browser.close` kills the process (call it in a finally).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import re
import shutil
import signal
from pathlib import Path
from typing import Any

import aiohttp

__all__ = ["Browser", "find_chromium"]

_LISTENING = re.compile(r"DevTools listening on (ws://\S+)")


def find_chromium() -> str:
    """Debian's ``chromium`` (``make test`` installs it when missing)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise AssertionError("no chromium on PATH: `make test` installs it "
                         "(apt-get install -y chromium)")


class Browser:
    """One headless Chromium with one page; ``async with Browser(profile_dir) as b``."""

    def __init__(self, profile_dir: Path, *, width: int = 1400, height: int = 1000) -> None:
        self.profile_dir = profile_dir
        self.size = (width, height)
        self.proc: asyncio.subprocess.Process | None = None
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count(1)
        self._drain: asyncio.Task[None] | None = None
        self.stderr: list[str] = []

    async def __aenter__(self) -> Browser:
        try:
            await self.start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self, timeout_s: float = 30.0) -> None:
        args = [find_chromium(), "--headless", "--remote-debugging-port=0",
                f"--user-data-dir={self.profile_dir}", "--disable-gpu",
                "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                "--mute-audio", f"--window-size={self.size[0]},{self.size[1]}"]
        if os.geteuid() == 0:  # Chromium refuses its sandbox as root (CI containers)
            args.append("--no-sandbox")
        args.append("about:blank")
        self.proc = await asyncio.create_subprocess_exec(
            *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE, start_new_session=True)
        browser_url = await asyncio.wait_for(self._listening(), timeout_s)
        self._drain = asyncio.ensure_future(self._read_rest())
        host = browser_url.split("/")[2]
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s))
        page_url = ""
        for _ in range(100):
            async with self._session.get(f"http://{host}/json/list") as r:
                pages = [t for t in await r.json() if t.get("type") == "page"]
            if pages:
                page_url = pages[0]["webSocketDebuggerUrl"]
                break
            await asyncio.sleep(0.1)
        if not page_url:
            raise AssertionError("chromium opened no page")
        self._ws = await self._session.ws_connect(page_url, max_msg_size=64 * 1024 * 1024)
        await self.send("Page.enable")
        await self.send("Runtime.enable")

    async def _listening(self) -> str:
        assert self.proc is not None
        assert self.proc.stderr is not None
        while True:
            line = await self.proc.stderr.readline()
            if not line:
                raise AssertionError("chromium exited before listening: "
                                     + " | ".join(self.stderr[-5:]))
            text = line.decode(errors="replace").strip()
            self.stderr.append(text)
            match = _LISTENING.search(text)
            if match:
                return match.group(1)

    async def _read_rest(self) -> None:
        # Keep reading: a full stderr pipe would block the browser.
        assert self.proc is not None
        assert self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            self.stderr.append(line.decode(errors="replace").rstrip())
            del self.stderr[:-200]

    async def send(self, method: str, timeout_s: float = 20.0, **params: Any) -> Any:
        """Call ``method``; its result (events in between are dropped)."""
        ws = self._ws
        assert ws is not None
        ident = next(self._ids)
        await ws.send_str(json.dumps({"id": ident, "method": method, "params": params}))

        async def answer() -> Any:
            while True:
                msg = await ws.receive()
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    raise AssertionError(f"DevTools socket closed during {method}: {msg}")
                data = json.loads(msg.data)
                if data.get("id") == ident:
                    if "error" in data:
                        raise AssertionError(f"{method}: {data['error']}")
                    return data.get("result", {})

        return await asyncio.wait_for(answer(), timeout_s)

    async def goto(self, url: str) -> None:
        """Load ``url``; return once its document is complete."""
        await self.send("Page.navigate", url=url)
        for _ in range(200):
            if await self.evaluate("document.readyState") == "complete" and \
                    await self.evaluate("location.href") == url:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{url} did not load")

    async def evaluate(self, expression: str) -> Any:
        """The JSON value of ``expression`` in the page."""
        result = await self.send("Runtime.evaluate", expression=expression,
                                 returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def screenshot(self) -> bytes:
        """A PNG of the page as shown."""
        result = await self.send("Page.captureScreenshot", format="png")
        return base64.b64decode(result["data"])

    async def close(self) -> None:
        """Close the socket and kill the browser (idempotent)."""
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
            self._ws = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        proc = self.proc
        if proc is not None and proc.returncode is None:
            # Its own process group: the renderer and helper processes go with it.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 10)
        if self._drain is not None:
            self._drain.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._drain
            self._drain = None
