"""The bot's side of the channel, in process: each operator command against a running
paper bot, what the bot did, what the venue shows and what the audit trail says."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import msgspec

from bitunix.control import ControlAnswer, StoreChannel, new_request
from bitunix.control.channel import REQUEST_PREFIX
from bitunix.model.enums import OrderStatus
from bitunix.store import SqliteStore
from tests.control.conftest import Running


def _operator_audit(run: Running) -> list[dict[str, str]]:
    assert run.bot.store is not None
    run.bot.store.flush()
    with SqliteStore(run.store) as store:
        return [{**a.detail, "action": a.reason, "who": a.strategy}
                for a in store.audit("operator")]


def _manual(run: Running) -> int:
    """Orders of the operator the engine knows (exits of the bot's own positions go out
    while paused; they are not counted)."""
    engine = run.bot.engine
    assert engine is not None
    return sum(o.strategy == "operator" for o in engine.orders.values())


def _venue_qty(run: Running) -> Decimal:
    assert run.bot.sim is not None
    account = next(iter(run.bot.sim.engine.accounts.values()))
    return sum((p.qty if p.side == "LONG" else -p.qty for p in account.positions.values()),
               Decimal(0))


async def test_pause_stops_entries_until_resume(running: Running) -> None:
    bot = running.bot
    assert bot.trader is not None
    code, out, err = await running.command("pause", "--reason", "lunch")
    assert (code, err) == (0, "")
    assert out.startswith("paused: no new entries")
    assert bot.paused
    assert not bot.trader.enabled
    code, out, _ = await running.command("pause")
    assert code == 0
    assert "already paused" in out
    code, out, _ = await running.command("status", "--json")
    doc = json.loads(out)
    assert doc["running"]
    assert doc["paused"]
    assert doc["paused_reason"] == "lunch"
    code, out, _ = await running.command("status")
    assert code == 0
    assert out.startswith(f"bot: running, lease held by {running.bot.owner} (pid ")
    assert "paused (lunch); kill switch off; breakers: none" in out
    assert f"venue {doc['venue']['rest_url']}: " in out
    code, out, _ = await running.command("resume")
    assert code == 0
    assert out.startswith("resumed")
    assert not bot.paused
    assert bot.trader.enabled
    code, out, _ = await running.command("resume")
    assert code == 0
    assert "nothing to resume" in out
    audit = _operator_audit(running)
    assert [(a["action"], a["ok"]) for a in audit] == [
        ("pause", "true"), ("pause", "true"), ("resume", "true"), ("resume", "true")]
    assert audit[0]["who"] == "operator"
    assert audit[0]["reason"] == "lunch"
    assert any("entries paused (lunch)" in line for line in running.lines)


async def test_a_manual_order_goes_through_risk_unless_forced(running: Running) -> None:
    bot = running.bot
    engine = bot.engine
    assert engine is not None
    await running.command("pause")  # the strategy's own entries out of the way
    sent = _manual(running)
    code, out, err = await running.command("order", "place", "BTCUSDT", "BUY", "0.1")
    assert code == 1
    assert out == ""
    assert "refused by risk: exposure_symbol" in err
    assert "nothing sent" in err
    assert _manual(running) == sent
    code, out, err = await running.command("order", "place", "BTCUSDT", "buy", "0.1",
                                           "--force", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["ok"]
    assert doc["detail"]["status"] == "FILLED"
    assert _manual(running) == sent + 1
    await running.until(lambda: _venue_qty(running) >= Decimal("0.1"), "the venue's long")
    forced = engine.order(doc["detail"]["client_id"])
    assert forced is not None
    assert forced.strategy == "operator"
    assert forced.reason == "manual:forced"
    # a reduce-only close is never refused by risk
    code, out, err = await running.command("order", "place", "BTCUSDT", "SELL", "0.1",
                                           "--reduce-only")
    assert code == 0, err
    audit = _operator_audit(running)
    placed = [a for a in audit if a["action"] == "order_place"]
    assert [a["ok"] for a in placed] == ["false", "true", "true"]
    assert placed[0]["qty"] == "0.1"
    assert "exposure_symbol" in placed[0]["result"]
    assert placed[1]["force"] == "true"
    assert placed[1]["client_id"] == forced.client_id


async def test_bad_order_arguments_are_refused_by_the_bot(running: Running) -> None:
    engine = running.bot.engine
    assert engine is not None
    sent = _manual(running)
    for argv, fragment in [
        (["ETHUSDT", "BUY", "0.01"], "symbol 'ETHUSDT': the bot trades BTCUSDT"),
        (["BTCUSDT", "BUY", "0.00001"], "qty 0.00001: not a multiple of BTCUSDT's quantity"),
        (["BTCUSDT", "BUY", "0.001", "--price", "60000.123"], "price 60000.123: not a mult"),
    ]:
        code, out, err = await running.command("order", "place", *argv)
        assert code == 1
        assert out == ""
        assert fragment in err, err
        assert len(err.strip().splitlines()) == 1
    assert _manual(running) == sent


async def test_a_resting_order_is_cancelled_by_its_client_id(running: Running) -> None:
    engine = running.bot.engine
    assert engine is not None
    await running.command("pause")
    mark = engine.portfolio.marks["BTCUSDT"]
    spec = running.bot.contracts["BTCUSDT"]
    bid = spec.format_price(int(mark * 0.97))
    code, out, err = await running.command("order", "place", "BTCUSDT", "BUY", "0.001",
                                           "--price", bid, "--json")
    assert code == 0, err
    cid = json.loads(out)["detail"]["client_id"]
    assert json.loads(out)["detail"]["status"] == "NEW"
    code, out, _ = await running.command("orders", "--json")
    doc = json.loads(out)
    assert [o["client_id"] for o in doc["venue"]["orders"]] == [cid]
    assert [o["client_id"] for o in doc["bot"]["orders"]] == [cid]
    assert Decimal(doc["venue"]["orders"][0]["price"]) == Decimal(bid)
    assert Decimal(doc["bot"]["orders"][0]["price"]) == Decimal(bid)
    code, out, err = await running.command("order", "cancel", cid)
    assert code == 0, err
    assert out.strip() == f"order {cid} CANCELED"
    order = engine.order(cid)
    assert order is not None
    assert order.status is OrderStatus.CANCELED
    code, out, err = await running.command("order", "cancel", cid)
    assert code == 1
    assert f"no open order '{cid}'" in err


async def test_cancel_all_of_a_symbol_and_of_everything(running: Running) -> None:
    engine = running.bot.engine
    assert engine is not None
    await running.command("pause")
    mark = engine.portfolio.marks["BTCUSDT"]
    spec = running.bot.contracts["BTCUSDT"]
    for pct in (0.96, 0.95):
        code, _, err = await running.command("order", "place", "BTCUSDT", "BUY", "0.001",
                                             "--price", spec.format_price(int(mark * pct)))
        assert code == 0, err
    assert len(engine.open_orders()) == 2
    code, out, err = await running.command("cancel-all", "BTCUSDT")
    assert code == 0, err
    assert out.strip() == "2 open orders cancelled on BTCUSDT"
    assert engine.open_orders() == []
    code, out, err = await running.command("cancel-all")
    assert code == 0
    assert out.strip() == "0 open orders cancelled"
    code, _, err = await running.command("cancel-all", "ETHUSDT")
    assert code == 1
    assert "symbol 'ETHUSDT'" in err


async def test_flatten_closes_everything_and_pauses(running: Running) -> None:
    bot = running.bot
    code, _, err = await running.command("order", "place", "BTCUSDT", "SELL", "0.002",
                                         "--force")
    assert code == 0, err
    await running.until(lambda: _venue_qty(running) != 0, "a position at the venue")
    code, out, err = await running.command("flatten")
    assert code == 0, err
    assert out.startswith("flat (")
    assert "entries paused" in out
    assert _venue_qty(running) == 0
    assert bot.paused
    code, out, _ = await running.command("positions", "--json")
    doc = json.loads(out)
    assert doc["venue"]["positions"] == []
    assert doc["bot"]["positions"] == []


async def test_kill_applies_before_the_command_returns(running: Running) -> None:
    bot = running.bot
    code, out, err = await running.command("kill", "--reason", "drill")
    assert code == 0, err
    assert out.strip() == "kill switch engaged: no new entries"
    assert bot.gate.kill_switch_engaged  # applied when the command returned
    assert bot.gate.state.kill_reason == "drill"
    code, out, err = await running.command("order", "place", "BTCUSDT", "BUY", "0.001")
    assert code == 1
    assert "refused by risk: kill_switch" in err
    code, out, err = await running.command("resume")
    assert code == 0
    assert "kill switch is still engaged" in out
    code, out, err = await running.command("kill", "--release")
    assert code == 0
    assert out.strip() == "kill switch released"
    assert not bot.gate.kill_switch_engaged
    code, out, err = await running.command("kill", "--flatten")
    assert code == 0
    assert out.startswith("kill switch engaged and flat")
    assert _venue_qty(running) == 0


async def test_stale_and_unreadable_requests_are_answered_not_carried_out(
        running: Running) -> None:
    old = new_request("pause")
    old = msgspec.structs.replace(old, ts_ns=old.ts_ns - 120 * 1_000_000_000)

    def operator() -> tuple[ControlAnswer | None, ControlAnswer | None]:
        with StoreChannel(running.store) as channel:
            channel.send(old)
            channel._conn.execute("INSERT INTO state (key, value) VALUES (?, ?)",
                                  (REQUEST_PREFIX + "junk", "{not json"))
            return channel.wait_answer(old.id, 5.0), channel.wait_answer("junk", 5.0)

    stale, junk = await asyncio.to_thread(operator)
    assert stale is not None
    assert not stale.ok
    assert stale.message.startswith("expired")
    assert junk is not None
    assert not junk.ok
    assert "unreadable control request" in junk.message
    assert not running.bot.paused
