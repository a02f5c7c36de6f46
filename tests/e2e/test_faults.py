"""The order manager and the live adapter against the simulator's server while each fault
is active in turn: after each, 0 lost fills, 0 duplicate orders, and the local books equal
to the venue's (positions, open orders, and the wallet after a flatten, to the cent)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from .conftest import Session, until

ORDERS = 24


@pytest.fixture
async def session() -> AsyncIterator[Session]:
    s = await Session.open(seed=7)
    yield s
    await s.close()


async def _finish(session: Session) -> None:
    await session.settle()
    session.check()
    await session.flatten_and_check()


async def test_no_fault(session: Session) -> None:
    """The baseline: the same stream of orders with nothing going wrong."""
    await session.trade(ORDERS)
    await _finish(session)
    assert session.engine.counters.resends == 0
    assert session.engine.counters.drift_corrections == 0
    assert all(session.requests)


async def test_dropped_sockets(session: Session) -> None:
    async def drop(i: int) -> None:
        if i in (5, 12, 18):
            await session.sim.drop_sockets()

    await session.trade(ORDERS, between=drop)
    await _finish(session)
    # A drop during a reconnect is not a second outage: at least one was seen, and each
    # was followed by the stream coming back.
    stats = session.venue.stats
    await until(lambda: stats.stream_ups == stats.stream_downs + 1, 5.0,
                lambda: f"{stats.stream_ups} ups, {stats.stream_downs} downs")
    assert stats.stream_downs >= 1
    assert session.engine.counters.reconciles >= 2  # at start and after a reconnect


async def test_silent_stream(session: Session) -> None:
    """Sockets stay open, nothing is pushed: REST answers and confirmations must do."""
    session.sim.faults.silent = True
    await session.trade(ORDERS)
    await session.settle()
    session.check()
    # Confirmed by REST; their trades read by the adapter when a read shows fills.
    assert session.engine.counters.confirmations > 0
    assert session.venue.stats.fill_fetches > 0
    session.sim.faults.silent = False
    await session.flatten_and_check()


async def test_twenty_percent_rate_limits(session: Session) -> None:
    session.sim.faults.reject_fraction = 0.2
    session.sim.faults.reject_code = 10006
    # The draws are shared with every REST read: trade until some orders were refused.
    for _ in range(8):
        await session.trade(ORDERS // 2)
        if session.venue.stats.submit_errors >= 3:
            break
    await session.settle()
    session.check()
    assert session.engine.counters.resends > 0  # refused orders were sent again
    assert not all(session.requests)
    session.sim.faults.clear()
    await session.flatten_and_check()


async def test_answers_delayed_after_execution(session: Session) -> None:
    """Orders execute at once, their answers come after the client gave up (timed out but
    filled). First with the private stream telling what happened, then with it silent too:
    each order is looked up by client id, never sent twice."""
    session.sim.faults.delay_after_s = 1.0  # > request_timeout_s (0.5 s)
    await session.trade(ORDERS // 3)
    await session.settle(timeout=30.0)
    session.check()
    assert session.venue.stats.submit_errors > 0
    session.sim.faults.silent = True
    lookups = session.engine.counters.lookups
    await session.trade(ORDERS // 3)
    await session.settle(timeout=30.0)
    session.check()
    # Nothing tells now but a lookup by client id. (An exit the venue refused looks the
    # same as one never placed: it is sent again, refused again, and given up.)
    assert session.engine.counters.lookups > lookups
    session.sim.faults.clear()
    await session.trade(ORDERS // 3)
    await _finish(session)


async def test_restart_mid_trade(session: Session) -> None:
    async def restart(i: int) -> None:
        if i == 10:
            # Orders in flight while the venue goes down; more sent while it is down.
            session.entry()
            session.entry()
            task = asyncio.create_task(session.sim.restart(down_s=0.5))
            await asyncio.sleep(0.1)
            session.entry()
            await task

    await session.trade(ORDERS, between=restart)
    await _finish(session)
    assert session.venue.stats.stream_downs >= 1
