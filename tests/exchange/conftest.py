"""Fixtures: a fake Bitunix REST server on 127.0.0.1 and a client pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

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
        await runner.cleanup()


@pytest.fixture
def creds() -> Credentials:
    return Credentials(API_KEY, SECRET)


@pytest.fixture
async def rest(fake: FakeBitunixRest, creds: Credentials) -> AsyncIterator[BitunixREST]:
    cfg = RestConfig(base_url=fake.url, timeout_s=0.5, backoff_base_s=0.001,
                     backoff_max_s=0.01, rate_limits=False)
    async with BitunixREST(creds, cfg) as client:
        yield client
