"""Fixtures: a fake Bitunix REST server on 127.0.0.1 and a client pointed at it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bitunix.exchange.config import RestConfig
from bitunix.exchange.rest import BitunixREST
from bitunix.exchange.signing import Credentials
from tests.exchange.fake_rest import API_KEY, SECRET, FakeBitunixRest, start_fake


@pytest.fixture
async def fake() -> AsyncIterator[FakeBitunixRest]:
    f = FakeBitunixRest()
    runner = await start_fake(f)
    try:
        yield f
    finally:
        f.release.set()
        await runner.cleanup()


@pytest.fixture
def creds() -> Credentials:
    return Credentials(API_KEY, SECRET)


@pytest.fixture
async def rest(fake: FakeBitunixRest, creds: Credentials) -> AsyncIterator[BitunixREST]:
    cfg = RestConfig(base_url=fake.url, timeout_s=1.5, backoff_base_s=0.001,
                     backoff_max_s=0.01, rate_limits=False)
    async with BitunixREST(creds, cfg) as client:
        yield client


@pytest.fixture(autouse=True)
async def loop_is_clean() -> AsyncIterator[None]:
    """Fail the test if an exception reached the loop's handler or a task was left running."""
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, ctx: errors.append(ctx))
    yield
    await asyncio.sleep(0)
    current = asyncio.current_task()
    leftover = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    loop.set_exception_handler(previous)
    assert errors == []
    assert leftover == []
