"""``Faults.delay_after_s``: the request is executed at once, only its answer is late, so a
client with a shorter timeout meets the "timed out but executed" case."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from bitunix.sim.faults import Faults
from bitunix.sim.server import SimServer

from .conftest import Client

PLACE = "/api/v1/futures/trade/place_order"
DETAIL = "/api/v1/futures/trade/get_order_detail"


def _order(client_id: str) -> dict[str, object]:
    return {"symbol": "BTCUSDT", "side": "BUY", "orderType": "MARKET", "qty": "0.001",
            "clientId": client_id, "reduceOnly": False}


async def test_the_order_executes_before_the_late_answer(sim: SimServer,
                                                         client: Client) -> None:
    sim.faults.delay_after_s = 0.5
    account = next(iter(sim.engine.accounts.values()))
    task = asyncio.create_task(client.post(PLACE, _order("late-1")))
    # Executed while the answer is still held back.
    deadline = time.monotonic() + 2.0
    while "late-1" not in account.client_ids and time.monotonic() < deadline:
        await asyncio.sleep(0.005)
    assert "late-1" in account.client_ids
    assert not task.done()
    order = account.orders[account.client_ids["late-1"]]
    assert order.status == "FILLED"
    answer = await asyncio.wait_for(task, 3.0)
    assert answer["code"] == 0
    assert answer["data"]["clientId"] == "late-1"


async def test_a_client_timeout_leaves_the_order_executed(sim: SimServer,
                                                          client: Client) -> None:
    sim.faults.delay_after_s = 0.4
    account = next(iter(sim.engine.accounts.values()))
    started = time.monotonic()
    timed_out = False
    try:
        await asyncio.wait_for(client.post(PLACE, _order("late-2")), 0.1)
    except TimeoutError:
        timed_out = True
    assert timed_out
    assert time.monotonic() - started < 0.35
    assert account.orders[account.client_ids["late-2"]].status == "FILLED"
    # Reads are late too, and answer what was done.
    detail = await asyncio.wait_for(client.get(DETAIL, {"clientId": "late-2"}), 3.0)
    assert detail["data"]["status"] == "FILLED"


async def test_without_the_fault_answers_are_prompt(sim: SimServer, client: Client) -> None:
    started = time.monotonic()
    answer = await client.post(PLACE, _order("prompt-1"))
    assert answer["code"] == 0
    assert time.monotonic() - started < 0.3


async def test_the_pushes_leave_before_the_answer(sim: SimServer) -> None:
    """A subscriber of the private stream hears of the fill while the REST answer waits."""
    from .conftest import KEY, SECRET, _sha

    sim.faults.delay_after_s = 0.5
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(sim.private_ws_url)
        await ws.receive_json(timeout=2.0)  # connect greeting
        ts = int(time.time())
        nonce = "n" * 32
        sign = _sha(_sha(f"{nonce}{ts}{KEY}") + SECRET)
        await ws.send_json({"op": "login", "args": [{"apiKey": KEY, "timestamp": ts,
                                                     "nonce": nonce, "sign": sign}]})
        assert (await ws.receive_json(timeout=2.0))["data"]["result"] is True
        await ws.send_json({"op": "subscribe", "args": [{"ch": "order"}]})
        rest = Client(session, sim.rest_url)
        task = asyncio.create_task(rest.post(PLACE, _order("late-3")))
        statuses = []
        while "FILLED" not in statuses:
            frame = await ws.receive_json(timeout=2.0)
            if frame.get("ch") == "order":
                statuses.append(frame["data"]["orderStatus"])
        assert not task.done()
        assert (await asyncio.wait_for(task, 3.0))["code"] == 0
        await ws.close()


def test_clear_turns_the_delay_off() -> None:
    faults = Faults(delay_after_s=2.0)
    faults.clear()
    assert faults.delay_after_s == 0.0
