"""The operator commands against a Bitunix-compatible server given by its URL (the
simulator on 127.0.0.1), with the keys from the environment, while no bot runs: the reads
show the venue, and ``cancel-all`` / ``flatten`` act on it directly, audited in the store."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from bitunix import cli
from bitunix.data.capture import iter_capture
from bitunix.exchange import BitunixREST, Credentials, RestConfig
from bitunix.exchange.requests import OrderRequest
from bitunix.model import OrderType, Side
from bitunix.sim.server import SimServer
from bitunix.store import SqliteStore

KEY, SECRET = "op-key-1234", "op-secret-5678"


@pytest.fixture
async def sim(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[SimServer]:
    monkeypatch.setenv("BITUNIX_API_KEY", KEY)
    monkeypatch.setenv("BITUNIX_API_SECRET", SECRET)
    server = SimServer(source=iter_capture, speed=0, push_interval_s=None, loop_data=False,
                       api_keys={KEY: SECRET}, ws_msg_per_s=None)
    await server.start()
    server.advance(300)
    try:
        yield server
    finally:
        await server.stop()


async def _order(sim: SimServer, side: Side, qty: str, price: str | None = None) -> None:
    async with BitunixREST(Credentials(KEY, SECRET), RestConfig(base_url=sim.rest_url)) as rest:
        await rest.place_order(OrderRequest(
            symbol="BTCUSDT", side=side, qty=Decimal(qty),
            order_type=OrderType.MARKET if price is None else OrderType.LIMIT,
            price=None if price is None else Decimal(price)))


async def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = await asyncio.to_thread(cli.main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def test_reads_and_direct_actions_on_a_venue_by_url(
        sim: SimServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "s.sqlite"
    SqliteStore(store).close()
    flags = ["--store", str(store), "--rest-url", sim.rest_url]
    await _order(sim, Side.BUY, "0.003")
    await _order(sim, Side.BUY, "0.001", price="30000")
    await _order(sim, Side.BUY, "0.001", price="31000")
    code, out, err = await _cli(capsys, "positions", *flags, "--json")
    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert [(p["symbol"], p["side"], Decimal(p["qty"])) for p in doc["venue"]["positions"]] \
        == [("BTCUSDT", "LONG", Decimal("0.003"))]
    assert doc["bot"]["positions"] == []
    code, out, err = await _cli(capsys, "orders", *flags, "--json")
    assert (code, err) == (0, "")
    prices = sorted(Decimal(o["price"]) for o in json.loads(out)["venue"]["orders"])
    assert prices == [Decimal(30000), Decimal(31000)]
    code, out, err = await _cli(capsys, "balance", *flags, "--json")
    assert (code, err) == (0, "")
    venue = json.loads(out)["venue"]
    assert venue["margin_coin"] == "USDT"
    async with BitunixREST(Credentials(KEY, SECRET), RestConfig(base_url=sim.rest_url)) as rest:
        truth = await rest.account()
    assert Decimal(venue["available"]) == truth.available
    assert Decimal(venue["margin"]) == truth.margin
    account = sim.engine.accounts[KEY]
    code, out, err = await _cli(capsys, "status", *flags)
    assert code == 0
    assert "venue " + sim.rest_url + ": 1 positions, 2 open orders" in out
    assert SECRET not in out + err
    for command in ("positions", "orders", "balance"):
        code, out, err = await _cli(capsys, command, *flags)
        assert (code, err) == (0, "")
        assert out.startswith(f"venue {sim.rest_url}: ")

    code, out, err = await _cli(capsys, "cancel-all", "BTCUSDT", *flags)
    assert (code, err) == (0, "")
    assert out.strip().endswith(f"cancelled 2 open orders of BTCUSDT at the venue "
                                f"{sim.rest_url}")
    assert not account.open_orders
    code, out, err = await _cli(capsys, "flatten", *flags, "--timeout", "5")
    assert (code, err) == (0, "")
    assert "no position left" in out
    assert account.positions == {}
    with SqliteStore(store) as s:
        audit = [(a.strategy, a.reason, a.detail["direct"], a.detail["ok"])
                 for a in s.audit("operator")]
    assert audit == [("operator", "cancel_all", "true", "true"),
                     ("operator", "flatten", "true", "true")]


async def test_a_venue_that_does_not_answer_is_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BITUNIX_API_KEY", KEY)
    monkeypatch.setenv("BITUNIX_API_SECRET", SECRET)
    store = tmp_path / "s.sqlite"
    SqliteStore(store).close()
    code, out, err = await _cli(capsys, "flatten", "--store", str(store), "--rest-url",
                                "http://127.0.0.1:9")
    assert code == 1
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("bitunix-bot flatten: error: venue http://127.0.0.1:9")
    with SqliteStore(store) as s:
        assert s.audit() == []
