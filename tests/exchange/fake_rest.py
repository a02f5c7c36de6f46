"""A fake Bitunix REST server on 127.0.0.1 for the client tests.

It verifies signatures with its own copy of the spec's reference algorithm (section 2.4),
keeps orders with clientId de-duplication (30042) and lets a test script faults per path:
a delay, an HTTP status, a code, a body.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

API_KEY = "test-key-0123456789"
SECRET = "test-secret-9876543210"


def _sha(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()


@dataclass
class Seen:
    method: str
    path: str
    query: list[tuple[str, str]]
    raw_query: str
    body: bytes
    headers: dict[str, str]
    peer: Any = None


@dataclass
class Fault:
    delay_s: float = 0.0
    status: int = 200
    body: bytes | None = None
    code: int | None = None
    then_execute: bool = True  # with a delay: still perform the action (a slow success)
    date_after_delay: bool = False  # stamp Date when answering, not when the request came


@dataclass
class FakeBitunixRest:
    """Routes and state of the fake venue."""

    clock_offset_ms: int = 0
    window_ms: int = 60_000
    seen: list[Seen] = field(default_factory=list)
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    next_order_id: int = 1000
    handlers: dict[str, Callable[[Seen], Any]] = field(default_factory=dict)
    url: str = ""
    # Set at teardown so that delayed answers end at once instead of holding the server.
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def fail(self, path: str, *faults: Fault) -> None:
        """Apply ``faults`` to the next calls of ``path`` (suffix after /api/v1/futures)."""
        self.faults.setdefault(path, []).extend(faults)

    def calls(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path.endswith(path)]

    def now_ms(self) -> int:
        import time

        return time.time_ns() // 1_000_000 + self.clock_offset_ms

    def check_sign(self, s: Seen) -> int:
        h = {k.lower(): v for k, v in s.headers.items()}
        if "api-key" not in h:
            return 10003
        if h["api-key"] != API_KEY:
            return 10003
        if abs(int(h["timestamp"]) - self.now_ms()) > self.window_ms:
            return 10007
        query = "".join(k + v for k, v in sorted(s.query))
        digest = _sha(h["nonce"] + h["timestamp"] + h["api-key"] + query + s.body.decode())
        return 0 if _sha(digest + SECRET) == h["sign"] else 10007

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        peer = request.transport.get_extra_info("peername") if request.transport else None
        s = Seen(request.method, request.path, list(request.query.items()),
                 request.rel_url.raw_query_string, body, dict(request.headers), peer)
        self.seen.append(s)
        short = request.path.removeprefix("/api/v1/futures")
        date = email.utils.formatdate(self.now_ms() / 1000, usegmt=True)
        fault = self.faults.get(short, [None]).pop(0) if self.faults.get(short) else None
        if fault is not None:
            if fault.delay_s:
                if fault.then_execute:
                    # Perform the action now, answer late: the client sees a timeout.
                    self._route(short, s)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.release.wait(), fault.delay_s)
                if fault.date_after_delay:
                    date = email.utils.formatdate(self.now_ms() / 1000, usegmt=True)
                if fault.then_execute:
                    return web.Response(status=200, body=b'{"code":0,"data":null}',
                                        headers={"Date": date})
            if fault.body is not None or fault.status != 200:
                return web.Response(status=fault.status, body=fault.body or b"",
                                    headers={"Date": date})
            if fault.code is not None:
                return self._json({"code": fault.code, "msg": f"fault {fault.code}",
                                   "data": None}, date)
        public = short.startswith("/market") or short == "/position/get_position_tiers"
        if not public:
            code = self.check_sign(s)
            if code:
                return self._json({"code": code, "msg": "Sign signature error", "data": None},
                                  date)
        code, data = self._route(short, s)
        return self._json({"code": code, "msg": "Success" if code == 0 else "error",
                           "data": data}, date)

    def _json(self, obj: Any, date: str) -> web.Response:
        return web.Response(body=json.dumps(obj).encode(), content_type="application/json",
                            headers={"Date": date})

    def _route(self, short: str, s: Seen) -> tuple[int, Any]:
        if short in self.handlers:
            out = self.handlers[short](s)
            return out if isinstance(out, tuple) else (0, out)
        if short == "/trade/place_order":
            return self._place(json.loads(s.body))
        if short == "/trade/batch_order":
            req = json.loads(s.body)
            ok, bad = [], []
            for o in req["orderList"]:
                code, data = self._place({"symbol": req["symbol"], **o})
                if code == 0:
                    ok.append(data)
                else:
                    bad.append({"clientId": o.get("clientId"), "errorCode": code,
                                "errorMsg": "Client ID duplicate"})
            return 0, {"successList": ok, "failureList": bad}
        if short == "/trade/get_order_detail":
            q = dict(s.query)
            for o in self.orders.values():
                if o["orderId"] == q.get("orderId") or o["clientId"] == q.get("clientId"):
                    return 0, o
            return 20007, None
        return 404, None

    def _place(self, req: dict[str, Any]) -> tuple[int, Any]:
        cid = req.get("clientId")
        if cid in self.orders:
            return 30042, None
        self.next_order_id += 1
        oid = str(self.next_order_id)
        self.orders[cid or oid] = {"orderId": oid, "clientId": cid, "symbol": req["symbol"],
                                   "qty": req["qty"], "side": req["side"], "status": "NEW_",
                                   "price": req.get("price"), "orderType": req["orderType"]}
        return 0, {"orderId": oid, "clientId": cid}


async def start_fake(fake: FakeBitunixRest) -> web.AppRunner:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fake.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    fake.url = f"http://127.0.0.1:{port}"
    return runner
