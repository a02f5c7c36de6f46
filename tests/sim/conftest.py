"""Shared fixtures of the simulator tests: an engine on a manual clock with a known book."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import AsyncIterator, Iterable
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from bitunix.core.clock import ManualClock
from bitunix.data import BookEvent, MarketEvent, TradeEvent
from bitunix.sim.engine import MatchingEngine
from bitunix.sim.server import SimServer

D = Decimal
START_NS = 1_723_161_255_000_000_000  # 2024-08-08T23:54:15Z, inside a funding interval


def book(mid: str = "60000", levels: int = 5, qty: str = "1", tick: str = "0.1"
         ) -> tuple[list[list[Decimal]], list[list[Decimal]]]:
    """A symmetric book around ``mid`` (best bid mid - tick/2 rounded down to the tick)."""
    m, t = D(mid), D(tick)
    bids = [[m - t * (i + 1), D(qty)] for i in range(levels)]
    asks = [[m + t * i, D(qty)] for i in range(levels)]
    return bids, asks


def set_book(engine: MatchingEngine, symbol: str = "BTCUSDT", **kw: str | int) -> None:
    """Feed a fresh book (see :func:`book`) into ``engine``."""
    bids, asks = book(**kw)  # type: ignore[arg-type]
    engine.on_book(symbol, bids, asks)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START_NS)


@pytest.fixture
def engine(clock: ManualClock) -> MatchingEngine:
    eng = MatchingEngine(clock)
    eng.add_account("u1", D("100000"))
    set_book(eng)
    return eng


# ---------------------------------------------------------------------- server fixtures
KEY, SECRET = "test-key", "test-secret"


def flat_market(mid: str = "60000", n_books: int = 3) -> list[MarketEvent]:
    """A few book snapshots around ``mid`` and one trade, for stepped servers."""
    events: list[MarketEvent] = []
    for i in range(n_books):
        bids, asks = book(mid=mid, qty="2")
        events.append(BookEvent(ts_ns=START_NS + i, symbol="BTCUSDT",
                                bids=[(str(p), str(q)) for p, q in bids],
                                asks=[(str(p), str(q)) for p, q in asks]))
    events.append(TradeEvent(ts_ns=START_NS + 10, symbol="BTCUSDT", price=mid, qty="0.01",
                             is_buy=True))
    return events


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Client:
    """A minimal signing client written from the spec, independent of the simulator."""

    def __init__(self, session: aiohttp.ClientSession, base: str, key: str = KEY,
                 secret: str = SECRET) -> None:
        self.session, self.base, self.key, self.secret = session, base, key, secret

    def headers(self, query: dict[str, str], body: str, *, ts_ms: int | None = None,
                nonce: str | None = None) -> dict[str, str]:
        nonce = nonce or secrets.token_hex(16)
        ts = str(ts_ms if ts_ms is not None else int(time.time() * 1000))
        q = "".join(f"{k}{query[k]}" for k in sorted(query))
        sign = _sha(_sha(nonce + ts + self.key + q + body) + self.secret)
        return {"api-key": self.key, "nonce": nonce, "timestamp": ts, "sign": sign,
                "Content-Type": "application/json", "language": "en-US"}

    async def get(self, path: str, query: dict[str, str] | None = None, *, signed: bool = True,
                  **kw: Any) -> Any:
        query = query or {}
        headers = self.headers(query, "", **kw) if signed else {}
        async with self.session.get(self.base + path, params=query, headers=headers) as r:
            assert r.status == 200
            return await r.json()

    async def post(self, path: str, body: dict[str, Any], **kw: Any) -> Any:
        text = json.dumps(body, separators=(",", ":"))
        headers = self.headers({}, text, **kw)
        async with self.session.post(self.base + path, data=text.encode(), headers=headers) as r:
            assert r.status == 200
            return await r.json()

    async def ok(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        """Call and assert ``code == 0``; return ``data``."""
        if method == "GET":
            answer = await self.get(path, payload)
        else:
            answer = await self.post(path, payload or {})
        assert answer["code"] == 0, answer
        return answer["data"]


def stepped_server(events: Iterable[MarketEvent] | None = None, **kw: Any) -> SimServer:
    """A server that replays only when told (``advance``) and pushes only on ``publish``."""
    evs = list(events) if events is not None else flat_market()
    kw.setdefault("api_keys", {KEY: SECRET})
    kw.setdefault("balance", Decimal("100000"))
    return SimServer(source=lambda: iter(evs), speed=0, push_interval_s=None, loop_data=False,
                     **kw)


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    async with stepped_server() as server:
        server.advance(10)
        yield server


@pytest.fixture
async def client(sim: SimServer) -> AsyncIterator[Client]:
    async with aiohttp.ClientSession() as session:
        yield Client(session, sim.rest_url)
