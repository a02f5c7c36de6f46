"""TradingView alerts: signatures, the nonce book, alert -> signal, and the webhook on a
paper run (forged, stale, replayed refused and audited with nothing sent; a valid one an
order at the simulator through risk; one the kill switch refuses denied)."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bitunix.app.bot import SIM_API_KEY
from bitunix.config.tradingview import TradingViewSecrets, TradingViewSection
from bitunix.integrations.tradingview import (
    NONCES_KEY,
    Alert,
    AlertRefusedError,
    NonceBook,
    TradingViewWebhook,
    alert_signal,
    parse_alert,
    parse_ts_ms,
    sign,
    verify_signature,
)
from bitunix.risk.kill import KillRequest
from bitunix.strategy import Direction, SignalKind
from tests.integrations.conftest import quiet_config, running
from tests.obs.conftest import wait_for

SECRET = "tv-secret-0123456789abcdef"
TOKEN = "tv-url-token-0123456789abcdef"


def body(**fields: object) -> bytes:
    alert: dict[str, object] = {"symbol": "BTCUSDT", "action": "buy",
                                "ts": time.time_ns() // 1_000_000, "nonce": "n1"}
    alert.update(fields)
    return json.dumps(alert).encode()


# -- pure parts ---------------------------------------------------------------------------

def test_signature_is_hex_hmac_sha256_of_the_raw_body() -> None:
    raw = b'{"symbol":"BTCUSDT"}'
    # hex HMAC-SHA256("key", raw), computed independently with openssl
    sig = sign("key", raw)
    assert len(sig) == 64
    assert verify_signature("key", raw, sig)
    assert verify_signature("key", raw, "sha256=" + sig.upper())
    assert not verify_signature("key", raw + b" ", sig)
    assert not verify_signature("other", raw, sig)
    assert not verify_signature("", raw, sign("", raw))


def test_ts_in_milliseconds_digits_or_iso_with_a_zone() -> None:
    assert parse_ts_ms(1_764_698_400_000) == 1_764_698_400_000
    assert parse_ts_ms(" 1764698400000 ") == 1_764_698_400_000
    assert parse_ts_ms("2025-12-02T18:00:00Z") == 1_764_698_400_000
    assert parse_ts_ms("2025-12-02T19:00:00+01:00") == 1_764_698_400_000
    with pytest.raises(ValueError):
        parse_ts_ms("2025-12-02T18:00:00")
    with pytest.raises(ValueError):
        parse_ts_ms("yesterday")


@pytest.mark.parametrize(("raw", "why"), [
    (b"not json", "malformed"),
    (b'{"symbol":"BTCUSDT","action":"hold","ts":1,"nonce":"a"}', "action"),
    (b'{"symbol":"BTCUSDT","action":"buy","ts":1}', "nonce"),
    (b'{"symbol":"BTCUSDT","action":"buy","ts":1,"nonce":""}', "nonce"),
    (b'{"symbol":"BTCUSDT","action":"buy","ts":1,"nonce":"a","x":1}', "unknown field"),
    (b'{"symbol":"BTCUSDT","action":"buy","ts":1,"nonce":"a","sl_pct":0}', "sl_pct"),
    (b'{"symbol":"BTCUSDT","action":"buy","ts":1,"nonce":"a","probability":2}',
     "probability"),
    (b'{"symbol":"BTCUSDT","action":"buy","ts":1,"nonce":"a","strategy":"' + b"s" * 65
     + b'"}', "strategy"),
])
def test_malformed_alerts_are_refused_with_400(raw: bytes, why: str) -> None:
    with pytest.raises(AlertRefusedError) as info:
        parse_alert(raw)
    assert info.value.status == 400
    assert why in f"{info.value.reason} {info.value.detail}"


def test_nonce_book_refuses_a_replay_until_the_alert_is_stale() -> None:
    book = NonceBook(max_age_ms=1000, max_nonces=2)
    assert book.admit("a", ts_ms=10_000, now_ms=10_000) == ""
    assert book.admit("a", ts_ms=10_000, now_ms=10_500) == "replayed"
    assert book.admit("b", ts_ms=10_100, now_ms=10_600) == ""
    # full: nothing forgotten early
    assert book.admit("c", ts_ms=10_700, now_ms=10_700) == "too_many"
    # once "a" is older than the window it goes, and its replay is stale anyway
    assert book.admit("c", ts_ms=11_050, now_ms=11_050) == ""
    assert set(book.seen) == {"b", "c"}
    again = NonceBook(max_age_ms=1000, max_nonces=2)
    again.load(book.dump(), now_ms=11_200)
    assert again.seen == {"c": 11_050}
    again.load("{not json", now_ms=11_200)
    assert again.seen == {"c": 11_050}


def test_an_alert_is_a_signal_like_a_strategys() -> None:
    section = TradingViewSection(sl_pct=0.5, tp_pct=1.0, probability=0.6)
    buy = alert_signal(Alert(symbol="BTCUSDT", action="buy", ts=1, nonce="a"),
                       price=100.0, direction=None, section=section, ts_ns=7)
    assert (buy.kind, buy.direction, buy.strategy, buy.ts_ns) == (
        SignalKind.ENTER, Direction.LONG, "tradingview", 7)
    assert (buy.price, buy.probability) == (100.0, 0.6)
    assert math.isclose(buy.stop, 99.5)
    assert math.isclose(buy.target, 101.0)
    sell = alert_signal(Alert(symbol="BTCUSDT", action="sell", ts=1, nonce="a", sl_pct=2.0,
                              tp_pct=4.0, probability=0.7),
                        price=100.0, direction=None, section=section, ts_ns=7)
    assert sell.direction is Direction.SHORT
    assert sell.probability == 0.7
    assert math.isclose(sell.stop, 102.0)
    assert math.isclose(sell.target, 96.0)
    close = alert_signal(Alert(symbol="BTCUSDT", action="close", ts=1, nonce="a"),
                         price=100.0, direction=Direction.SHORT, section=section, ts_ns=7)
    assert (close.kind, close.direction) == (SignalKind.EXIT, Direction.SHORT)


def test_secrets_do_not_show_in_repr() -> None:
    secrets = TradingViewSecrets(secret=SECRET, url_token=TOKEN)
    assert SECRET not in repr(secrets)
    assert TOKEN not in str(secrets)
    assert secrets.values() == [SECRET, TOKEN]


# -- the webhook on a paper run -----------------------------------------------------------

async def test_webhook_on_a_paper_run(tmp_path: Path, capture_slice: Path) -> None:
    config = quiet_config(tmp_path, capture_slice, **{"tradingview.enabled": True})
    webhook = TradingViewWebhook(config.tradingview,
                                 TradingViewSecrets(secret=SECRET, url_token=TOKEN))
    async with running(config, routes=[webhook.add_routes], observers=[webhook]) as run, \
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        bot, sim = run.bot, run.sim
        assert sim is not None
        assert bot.store is not None
        url = run.url + "webhook/tradingview"

        async def post(raw: bytes, sig: str | None, path: str = url) -> tuple[int, dict[str, str]]:
            headers = {"Content-Type": "application/json"}
            if sig is not None:
                headers["X-Signature"] = sig
            async with http.post(path, data=raw, headers=headers) as r:
                return r.status, await r.json()

        def at_sim() -> set[str]:
            account = sim.engine.accounts.get(SIM_API_KEY)
            return set(account.client_ids) if account is not None else set()

        def tv_orders() -> list[str]:
            return sorted(at_sim() & {x.client_id for x in bot.store.orders()
                                      if x.strategy == "tradingview"})

        before = at_sim()
        raw = body(nonce="forged")
        assert await post(raw, None) == (401, {"ok": False, "reason": "unsigned",
                                                "detail": ""})
        assert (await post(raw, sign("not-the-secret-at-all", raw)))[0] == 401
        stale = body(nonce="stale", ts=time.time_ns() // 1_000_000 - 120_000)
        status, answer = await post(stale, sign(SECRET, stale))
        assert (status, answer["reason"]) == (400, "stale")
        garbage = b'{"symbol": "BTCUSDT"'
        assert (await post(garbage, sign(SECRET, garbage)))[1]["reason"] == "malformed"
        other = body(nonce="eth", symbol="ETHUSDT")
        assert (await post(other, sign(SECRET, other)))[0] == 422
        assert (await post(raw, None, url + "/wrong-token"))[1]["reason"] == "bad_token"
        assert at_sim() == before  # nothing reached the venue
        assert [d for d in bot.store.decisions() if d.strategy == "tradingview"] == []

        valid = body(nonce="valid-1", strategy="my-breakout")
        status, answer = await post(valid, sign(SECRET, valid))
        assert (status, answer) == (202, {"ok": True, "outcome": "order"})
        await wait_for(lambda: len(tv_orders()) == 1, 10, "the order at the simulator")
        [cid] = tv_orders()
        [order] = [o for o in bot.store.orders() if o.client_id == cid]
        assert order.side.value == "BUY"
        assert order.strategy == "tradingview"

        # the same alert again, even with a good signature, is a replay
        status, answer = await post(valid, sign(SECRET, valid))
        assert (status, answer["reason"]) == (409, "replayed")

        # TradingView itself: the token in the path, no header
        exit_alert = body(nonce="valid-2", action="close")
        status, answer = await post(exit_alert, None, f"{url}/{TOKEN}")
        assert (status, answer) == (202, {"ok": True, "outcome": "exit"})

        bot.apply_kill(KillRequest(engage=True, reason="test", ts_ns=time.time_ns()),
                       time.time_ns())
        killed = body(nonce="valid-3", action="sell")
        status, answer = await post(killed, sign(SECRET, killed))
        assert (status, answer) == (422, {"ok": False, "outcome": "denied:kill_switch"})
        bot.store.flush()
        entries = [o.client_id for o in bot.store.orders()
                   if o.strategy == "tradingview" and not o.reduce_only]
        assert entries == [cid]  # the denied sell sent nothing
        bot.store.flush()
        reasons = [a.reason for a in bot.store.audit("tradingview")]
        assert reasons == ["refused:unsigned", "refused:bad_signature", "refused:stale",
                           "refused:malformed", "refused:symbol", "refused:bad_token",
                           "accepted", "refused:replayed", "accepted",
                           "refused:denied:kill_switch"]
        outcomes = [d.outcome for d in bot.store.decisions() if d.strategy == "tradingview"]
        assert outcomes == ["order", "exit", "denied:kill_switch"]
        text = json.dumps([a.detail for a in bot.store.audit()])
        assert SECRET not in text
        assert TOKEN not in text
        assert sign(SECRET, valid) not in text
        # a body in chunks is read whole; one over 16 KiB is refused, declared or not
        chunked = body(nonce="valid-4", action="sell", strategy="x" * 40)

        async def parts() -> AsyncIterator[bytes]:
            yield chunked[:20]
            await asyncio.sleep(0.05)
            yield chunked[20:]

        async with http.post(url, data=parts(),
                             headers={"X-Signature": sign(SECRET, chunked)}) as r:
            assert (r.status, await r.json()) == (422, {"ok": False,
                                                        "outcome": "denied:kill_switch"})
        big = body(nonce="big", strategy="y" * 20_000)
        assert (await post(big, sign(SECRET, big)))[0] == 413

        async def big_parts() -> AsyncIterator[bytes]:
            for i in range(0, len(big), 4096):
                yield big[i:i + 4096]

        async with http.post(url, data=big_parts(),
                             headers={"X-Signature": sign(SECRET, big)}) as r:
            assert (r.status, (await r.json())["reason"]) == (413, "too_large")
        saved = bot.store.state(NONCES_KEY)
        assert saved is not None
        assert {"valid-1", "valid-2", "valid-3"} <= set(json.loads(saved))

    # a restart does not reopen the window: the saved nonce is refused
    webhook2 = TradingViewWebhook(config.tradingview, TradingViewSecrets(secret=SECRET))
    async with running(config, routes=[webhook2.add_routes], observers=[webhook2]) as run, \
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        async with http.post(run.url + "webhook/tradingview", data=valid,
                             headers={"X-Signature": sign(SECRET, valid)}) as r:
            assert (r.status, (await r.json())["reason"]) == (409, "replayed")
        async with http.post(run.url + f"webhook/tradingview/{TOKEN}", data=valid) as r:
            assert r.status == 401  # no token configured: path mode is off
