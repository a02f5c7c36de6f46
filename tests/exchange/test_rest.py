"""BitunixREST against a fake venue on 127.0.0.1: signing on the wire, error mapping,
retry safety, rate limiting, clock skew and redaction."""

from __future__ import annotations

import inspect
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from bitunix.core.clock import ManualClock
from bitunix.exchange import errors as e
from bitunix.exchange.config import RestConfig
from bitunix.exchange.requests import InvalidRequestError, OrderRequest, TpslRequest
from bitunix.exchange.rest import BitunixREST
from bitunix.exchange.signing import Credentials
from bitunix.model.enums import (
    MarginMode,
    OrderType,
    PositionMode,
    PositionSide,
    Side,
    TradeSide,
)
from tests.exchange.fake_rest import API_KEY, SECRET, FakeBitunixRest, Fault

P = "/api/v1/futures"


def limit_buy(cid: str | None = "bot-0001", **kw: object) -> OrderRequest:
    """A limit buy; ``cid=None`` leaves the clientId to the request (generated when built)."""
    fields: dict[str, object] = {"symbol": "BTCUSDT", "side": Side.BUY,
                                 "trade_side": TradeSide.OPEN, "qty": Decimal("0.001"),
                                 "price": Decimal("60000"), **kw}
    if cid is not None:
        fields["client_id"] = cid
    return OrderRequest(**fields)  # type: ignore[arg-type]


@pytest.fixture
async def quick(fake: FakeBitunixRest, creds: Credentials) -> AsyncIterator[BitunixREST]:
    """A client whose requests time out after 0.2 s (the fake answers late after 0.5 s)."""
    cfg = RestConfig(base_url=fake.url, timeout_s=0.2, backoff_base_s=0.001,
                     backoff_max_s=0.01, rate_limits=False)
    async with BitunixREST(creds, cfg) as client:
        yield client


LATE = Fault(delay_s=0.5)  # executed, answered after the client gave up
LOST = Fault(delay_s=0.5, then_execute=False, status=504)  # never executed, no answer in time


async def test_signed_get_carries_valid_headers(fake: FakeBitunixRest, rest: BitunixREST) -> None:
    fake.handlers["/position/get_pending_positions"] = lambda s: []
    assert await rest.pending_positions("BTCUSDT") == []
    (seen,) = fake.calls("/position/get_pending_positions")
    assert seen.raw_query == "symbol=BTCUSDT"
    assert fake.check_sign(seen) == 0
    assert seen.headers["api-key"] == API_KEY
    assert len(seen.headers["nonce"]) == 32
    assert seen.body == b""


async def test_post_body_is_compact_and_signed_as_sent(fake: FakeBitunixRest,
                                                       rest: BitunixREST) -> None:
    ack = await rest.place_order(limit_buy())
    assert (ack.order_id, ack.client_id) == ("1001", "bot-0001")
    (seen,) = fake.calls("/trade/place_order")
    assert seen.body == (b'{"symbol":"BTCUSDT","side":"BUY","tradeSide":"OPEN","orderType":"LIMIT",'
                         b'"qty":"0.001","price":"60000","effect":"GTC","clientId":"bot-0001",'
                         b'"reduceOnly":false}')
    assert fake.check_sign(seen) == 0


async def test_requests_share_one_keep_alive_connection(fake: FakeBitunixRest,
                                                        rest: BitunixREST) -> None:
    fake.handlers["/market/tickers"] = lambda s: []
    for _ in range(5):
        await rest.tickers()
    peers = {c.peer for c in fake.calls("/market/tickers")}
    assert len(peers) == 1


async def test_public_endpoints_are_not_signed(fake: FakeBitunixRest, rest: BitunixREST) -> None:
    fake.handlers["/market/depth"] = lambda s: {"asks": [["86699.7", "0.7095"]],
                                                "bids": [["86699.6", "2.274"]]}
    depth = await rest.depth("BTCUSDT", 15)
    assert depth.bids[0].px == 86699.6
    (seen,) = fake.calls("/market/depth")
    assert "api-key" not in seen.headers
    assert sorted(seen.query) == [("limit", "15"), ("symbol", "BTCUSDT")]


async def test_invalid_market_parameters_fail_before_sending(fake: FakeBitunixRest,
                                                              rest: BitunixREST) -> None:
    with pytest.raises(InvalidRequestError, match="depth limit"):
        await rest.depth("BTCUSDT", 20)
    with pytest.raises(InvalidRequestError, match="unknown kline interval '60min'"):
        await rest.klines("BTCUSDT", "60min")
    assert fake.seen == []


async def test_market_data_without_credentials(fake: FakeBitunixRest) -> None:
    fake.handlers["/market/tickers"] = lambda s: [{"symbol": "BTCUSDT", "lastPrice": "1.5"}]
    async with BitunixREST(None, RestConfig(base_url=fake.url, rate_limits=False)) as rest:
        (t,) = await rest.tickers(["BTCUSDT", "ETHUSDT"])
        assert t.last_price == 1.5
        assert fake.calls("/market/tickers")[0].raw_query == "symbols=BTCUSDT%2CETHUSDT"
        with pytest.raises(InvalidRequestError, match="needs credentials"):
            await rest.account()


@pytest.mark.parametrize(
    ("code", "cls", "retryable"),
    [
        (10007, e.SignatureError, False),
        (10003, e.AuthError, False),
        (10008, e.BadRequestError, False),
        (20003, e.InsufficientBalanceError, False),
        (20015, e.SymbolUnavailableError, False),
        (30004, e.PositionNotFoundError, False),
        (30014, e.OrderRejectedError, False),
        (30042, e.DuplicateClientIdError, False),
        (20011, e.AccountRestrictedError, False),
        (99999, e.ExchangeError, False),
        (10006, e.RateLimitError, True),
        (10001, e.NetworkError, True),
    ],
)
async def test_error_codes_map_to_typed_errors(fake: FakeBitunixRest, rest: BitunixREST,
                                               code: int, cls: type, retryable: bool) -> None:
    fake.fail("/trade/modify_order", *[Fault(code=code)] * 10)
    with pytest.raises(cls) as info:
        await rest.modify_order(client_id="cid-7", symbol="BTCUSDT", qty=Decimal(1),
                                price=Decimal(2))
    err = info.value
    assert isinstance(err, cls)
    assert type(err) is e.error_class(code)
    assert err.code == code
    assert err.retryable is retryable
    # A venue code means the venue refused the request, except its "Network Error".
    assert err.executed is (None if code == 10001 else False)
    assert err.endpoint == f"{P}/trade/modify_order"
    assert (err.symbol, err.client_id) == ("BTCUSDT", "cid-7")
    text = str(err)
    assert f"[{code}]" in text
    assert "clientId=cid-7" in text
    assert SECRET not in text
    assert API_KEY not in text
    # Retryable codes were retried (max_retries=3), the others sent once.
    assert len(fake.calls("/trade/modify_order")) == (4 if retryable else 1)


async def test_read_retries_transient_failures_then_succeeds(fake: FakeBitunixRest,
                                                             rest: BitunixREST) -> None:
    fake.handlers["/account"] = lambda s: {"marginCoin": "USDT", "available": "1000.5"}
    fake.fail("/account", Fault(status=502, body=b"<html>bad gateway</html>"),
              Fault(delay_s=3.0, then_execute=False), Fault(code=10006))
    acc = await rest.account()
    assert acc.available == Decimal("1000.5")
    assert len(fake.calls("/account")) == 4
    assert rest.retries == 3


async def test_read_gives_up_after_max_retries(fake: FakeBitunixRest, rest: BitunixREST) -> None:
    fake.fail("/account", *[Fault(status=503)] * 5)
    with pytest.raises(e.HttpStatusError) as info:
        await rest.account()
    assert info.value.status == 503
    assert len(fake.calls("/account")) == 4


async def test_http_4xx_is_not_retried(fake: FakeBitunixRest, rest: BitunixREST) -> None:
    fake.fail("/account", Fault(status=403, body=b"forbidden by cloudflare"))
    with pytest.raises(e.HttpStatusError, match="HTTP 403") as info:
        await rest.account()
    assert not info.value.retryable
    assert len(fake.calls("/account")) == 1


async def test_http_error_with_a_business_code_maps_the_code(fake: FakeBitunixRest,
                                                             rest: BitunixREST) -> None:
    fake.fail("/account", Fault(status=400, body=b'{"code":10002,"msg":"Parameter Error"}'))
    with pytest.raises(e.BadRequestError, match="Parameter Error"):
        await rest.account()


async def test_timed_out_order_is_retried_without_duplicating(fake: FakeBitunixRest,
                                                              rest: BitunixREST) -> None:
    # The venue places the order but answers after the client's timeout.
    fake.fail("/trade/place_order", Fault(delay_s=3.0))
    ack = await rest.place_order(limit_buy(None))
    assert len(fake.orders) == 1
    (placed,) = fake.orders.values()
    assert ack.order_id == placed["orderId"]
    assert ack.client_id == placed["clientId"]
    assert ack.client_id is not None
    assert ack.client_id.startswith("bx-")
    calls = fake.calls("/trade/place_order")
    assert len(calls) == 2
    assert calls[0].body == calls[1].body  # the same clientId both times
    assert len(fake.calls("/trade/get_order_detail")) == 1


async def test_read_back_tolerates_a_transient_not_found(fake: FakeBitunixRest,
                                                        rest: BitunixREST) -> None:
    fake.fail("/trade/place_order", Fault(delay_s=3.0))
    fake.fail("/trade/get_order_detail", Fault(code=20007))
    ack = await rest.place_order(limit_buy("slow-1"))
    assert ack.order_id == fake.orders["slow-1"]["orderId"]
    assert len(fake.calls("/trade/get_order_detail")) == 2
    assert len(fake.orders) == 1


async def test_timed_out_batch_is_retried_without_duplicating(fake: FakeBitunixRest,
                                                              rest: BitunixREST) -> None:
    fake.fail("/trade/batch_order", Fault(delay_s=3.0))
    res = await rest.batch_orders("BTCUSDT", [limit_buy(None), limit_buy(None)])
    assert len(fake.orders) == 2
    assert res.failure_list == []
    assert sorted(a.order_id or "" for a in res.success_list) == sorted(
        o["orderId"] for o in fake.orders.values())
    assert len(fake.calls("/trade/batch_order")) == 2
    # Sent again, a row whose order exists resolves to that order: still two orders.
    first = next(iter(fake.orders))
    res2 = await rest.batch_orders("BTCUSDT", [limit_buy(first)])
    assert [a.order_id for a in res2.success_list] == [fake.orders[first]["orderId"]]
    assert len(fake.orders) == 2


# -- the clientId belongs to the request: placing it again never places a second order ----


def test_a_request_has_its_client_id_from_the_moment_it_is_built() -> None:
    a, b = limit_buy(None), limit_buy(None)
    assert a.client_id is not None
    assert b.client_id is not None
    assert re.fullmatch(r"bx-[0-9a-f]{24}", a.client_id)
    assert a.client_id != b.client_id
    assert a.body()["clientId"] == a.client_id


async def test_prepare_order_gives_the_configured_id_and_validates(
        fake: FakeBitunixRest, creds: Credentials) -> None:
    cfg = RestConfig(base_url=fake.url, rate_limits=False, client_id_prefix="ovir")
    async with BitunixREST(creds, cfg) as rest:
        req = rest.prepare_order(limit_buy(None, client_id=None))
        assert req.client_id is not None
        assert re.fullmatch(r"ovir-[0-9a-f]{24}", req.client_id)
        kept = limit_buy("mine-1")
        assert rest.prepare_order(kept) is kept
        with pytest.raises(InvalidRequestError, match="qty must be > 0"):
            rest.prepare_order(limit_buy("bad", qty=Decimal(0)))
        # Without an id, a retry could not be recognised: refused before sending.
        with pytest.raises(InvalidRequestError, match="prepare_order"):
            await rest.place_order(limit_buy(None, client_id=None))
        with pytest.raises(InvalidRequestError, match="prepare_order"):
            await rest.batch_orders("BTCUSDT", [limit_buy(None, client_id=None)])
    assert fake.seen == []


async def test_placing_the_same_request_again_places_one_order(fake: FakeBitunixRest,
                                                              rest: BitunixREST) -> None:
    # The id used to be generated per call, so a naive retry doubled the position.
    req = limit_buy(None)
    first = await rest.place_order(req)
    again = await rest.place_order(req)
    assert len(fake.orders) == 1
    assert again == first
    assert (first.order_id, first.client_id) == ("1001", req.client_id)
    assert len(fake.calls("/trade/get_order_detail")) == 1


async def test_every_answer_timed_out_but_the_order_was_placed(fake: FakeBitunixRest,
                                                               quick: BitunixREST) -> None:
    # Placed and filled, but no answer arrived in time: it used to raise a retryable
    # ExchangeTimeoutError, and the caller's retry placed a second order.
    req = limit_buy(None)
    fake.fail("/trade/place_order", *[LATE] * 4)
    ack = await quick.place_order(req)
    (placed,) = fake.orders.values()
    assert (ack.order_id, ack.client_id) == (placed["orderId"], req.client_id)
    assert len(fake.calls("/trade/place_order")) == 4  # max_retries = 3
    assert len(fake.calls("/trade/get_order_detail")) == 1
    assert await quick.place_order(req) == ack  # and a caller's retry changes nothing
    assert len(fake.orders) == 1


async def test_not_found_after_the_lookups_means_not_placed(fake: FakeBitunixRest,
                                                            quick: BitunixREST) -> None:
    req = limit_buy("lost-1")
    fake.fail("/trade/place_order", *[LOST] * 4)
    with pytest.raises(e.OrderNotPlacedError) as info:
        await quick.place_order(req)
    err = info.value
    assert (err.client_id, err.symbol, err.executed, err.retryable) == (
        "lost-1", "BTCUSDT", False, True)
    assert "NOT placed" in str(err)
    assert isinstance(err.__cause__, e.ExchangeTimeoutError)
    # 20007 can be transient just after placement: looked up order_lookups times, apart.
    assert len(fake.calls("/trade/get_order_detail")) == quick.config.order_lookups
    assert fake.orders == {}
    ack = await quick.place_order(req)  # safe to send again
    assert ack.order_id == fake.orders["lost-1"]["orderId"]


async def test_a_lookup_that_cannot_answer_makes_the_outcome_unknown(
        fake: FakeBitunixRest, quick: BitunixREST) -> None:
    req = limit_buy("dark-1")
    fake.fail("/trade/place_order", *[LATE] * 4)
    fake.fail("/trade/get_order_detail", *[Fault(status=503)] * 4)
    with pytest.raises(e.OrderOutcomeUnknownError) as info:
        await quick.place_order(req)
    err = info.value
    assert (err.client_id, err.executed, err.retryable) == ("dark-1", None, False)
    assert "UNKNOWN" in str(err)
    assert "clientId=dark-1" in str(err)
    assert err.client_ids == ("dark-1",)
    assert isinstance(err.__cause__, e.HttpStatusError)
    assert len(fake.orders) == 1  # it was placed; the caller reconciles by clientId


async def test_a_refusal_after_an_unanswered_attempt_is_looked_up(fake: FakeBitunixRest,
                                                                  quick: BitunixREST) -> None:
    # The first attempt went through (a reduce-only order that filled); the retry is
    # refused because nothing is left to reduce. The refusal proves nothing about the
    # first attempt: the order is looked up and found.
    fake.fail("/trade/place_order", LATE, Fault(code=30018))
    ack = await quick.place_order(limit_buy("ro-1"))
    assert ack.order_id == fake.orders["ro-1"]["orderId"]
    fake.fail("/trade/place_order", Fault(code=30018))  # refused on the only attempt
    with pytest.raises(e.OrderRejectedError) as info:
        await quick.place_order(limit_buy("ro-2"))
    assert info.value.executed is False


async def test_a_network_error_on_every_attempt_is_looked_up(fake: FakeBitunixRest,
                                                             rest: BitunixREST) -> None:
    fake.fail("/trade/place_order", *[Fault(code=10001)] * 4)
    with pytest.raises(e.OrderNotPlacedError, match="NOT placed") as info:
        await rest.place_order(limit_buy("net-1"))
    assert isinstance(info.value.__cause__, e.NetworkError)


async def test_the_same_client_id_on_a_different_order_is_refused(
        fake: FakeBitunixRest, rest: BitunixREST) -> None:
    old = await rest.place_order(limit_buy("dup-1"))
    with pytest.raises(e.DuplicateClientIdError, match="another order") as info:
        await rest.place_order(limit_buy("dup-1", side=Side.SELL))
    assert info.value.code == 30042
    assert len(fake.orders) == 1
    # The same after a rate-limited attempt: the older order is never returned as the ack
    # of a different request.
    fake.fail("/trade/place_order", Fault(code=10006))
    with pytest.raises(e.DuplicateClientIdError):
        await rest.place_order(limit_buy("dup-1", symbol="ETHUSDT"))
    res = await rest.batch_orders("BTCUSDT", [limit_buy("dup-1", side=Side.SELL)])
    assert res.success_list == []
    assert [f.error_code for f in res.failure_list] == [30042]
    assert len(fake.orders) == 1
    assert fake.orders["dup-1"]["orderId"] == old.order_id
    with pytest.raises(e.DuplicateClientIdError, match="type LIMIT"):
        await rest.place_order(limit_buy("dup-1", order_type=OrderType.MARKET, price=None))
    # The same request, on the other hand, resolves to its order.
    assert (await rest.place_order(limit_buy("dup-1"))).order_id == old.order_id


async def test_an_existing_order_that_cannot_be_read_back_is_unknown(
        fake: FakeBitunixRest, rest: BitunixREST) -> None:
    req = limit_buy("seen-1")
    await rest.place_order(req)
    fake.fail("/trade/get_order_detail", *[Fault(status=503)] * 4)
    with pytest.raises(e.OrderOutcomeUnknownError, match="exists") as info:
        await rest.place_order(req)
    assert info.value.client_ids == ("seen-1",)
    # In a batch, a duplicate row that cannot be found is unknown too, never "not placed".
    fake.fail("/trade/get_order_detail", *[Fault(code=20007)] * 5)
    with pytest.raises(e.OrderOutcomeUnknownError) as batch:
        await rest.batch_orders("BTCUSDT", [req, limit_buy("new-1")])
    assert batch.value.client_ids == ("seen-1",)
    assert batch.value.partial is not None
    assert [a.client_id for a in batch.value.partial.success_list] == ["new-1"]
    assert len(fake.orders) == 2


async def test_a_rate_limited_write_says_it_was_not_executed(fake: FakeBitunixRest,
                                                             quick: BitunixREST) -> None:
    fake.fail("/trade/flash_close_position", Fault(code=10006))
    with pytest.raises(e.RateLimitError) as info:
        await quick.flash_close_position("1")
    assert info.value.executed is False
    assert "not executed" in str(info.value)
    assert len(fake.calls("/trade/flash_close_position")) == 1
    fake.fail("/trade/flash_close_position", Fault(status=429, body=b"slow down"))
    with pytest.raises(e.HttpStatusError, match="not executed") as http:
        await quick.flash_close_position("1")
    assert http.value.executed is False
    # After an attempt that may have gone through, a final 10006 proves nothing about the
    # call: its outcome is unknown, and the error does not claim otherwise.
    fake.fail("/trade/cancel_orders", LOST, *[Fault(code=10006)] * 3)
    with pytest.raises(e.RateLimitError) as retried:
        await quick.cancel_orders("BTCUSDT", order_ids=["1"])
    assert retried.value.executed is None
    assert "not executed" not in str(retried.value)
    assert "may have been executed" in str(retried.value)


async def test_unsafe_write_is_not_retried(fake: FakeBitunixRest, rest: BitunixREST) -> None:
    fake.handlers["/trade/flash_close_position"] = lambda s: {"positionId": "1"}
    fake.fail("/trade/flash_close_position", Fault(delay_s=3.0))
    with pytest.raises(e.ExchangeTimeoutError, match="timed out"):
        await rest.flash_close_position("1")
    assert len(fake.calls("/trade/flash_close_position")) == 1
    fake.fail("/account/adjust_position_margin", Fault(code=10001))
    with pytest.raises(e.NetworkError):
        await rest.adjust_position_margin("BTCUSDT", Decimal("5"), side=PositionSide.LONG)
    assert len(fake.calls("/account/adjust_position_margin")) == 1


async def test_clock_skew_is_corrected_from_the_date_header(fake: FakeBitunixRest,
                                                            creds: Credentials) -> None:
    fake.clock_offset_ms = 3_600_000  # the venue is an hour ahead of us
    fake.handlers["/account"] = lambda s: [{"marginCoin": "USDT", "available": "1"}]
    cfg = RestConfig(base_url=fake.url, rate_limits=False, max_retries=0)
    async with BitunixREST(creds, cfg) as rest:
        acc = await rest.account()
        assert acc.available == Decimal(1)
        assert abs(rest.clock_offset_ms - 3_600_000) < 2_000
        calls = fake.calls("/account")
        assert [fake.check_sign(c) for c in calls] == [10007, 0]
        await rest.account()  # no more rejections once corrected
        assert len(fake.calls("/account")) == 3


async def test_a_slow_answer_is_not_taken_for_clock_skew(fake: FakeBitunixRest,
                                                       creds: Credentials) -> None:
    # Our clock is right, but one answer takes 3.5 s and the venue stamps its Date when
    # it answers. That delay is latency, not skew: it used to set a +3 s offset, so the
    # following requests were stamped seconds in the future (10007 on a venue with a
    # tight window, then a reset and a retry, on every slow answer).
    fake.handlers["/account"] = lambda s: [{"marginCoin": "USDT", "available": "1"}]
    fake.fail("/account", Fault(delay_s=3.5, then_execute=False, date_after_delay=True))
    cfg = RestConfig(base_url=fake.url, rate_limits=False, max_retries=0, timeout_s=8.0)
    async with BitunixREST(creds, cfg) as rest:
        await rest.account()
        assert rest.clock_offset_ms == 0
        fake.window_ms = 1_500
        await rest.account()
    calls = fake.calls("/account")
    assert len(calls) == 2
    assert fake.check_sign(calls[1]) == 0


async def test_clock_offset_is_kept_steady_once_corrected(fake: FakeBitunixRest,
                                                          creds: Credentials) -> None:
    fake.clock_offset_ms = -7_200_000  # the venue is two hours behind us
    fake.handlers["/account"] = lambda s: [{"marginCoin": "USDT", "available": "1"}]
    cfg = RestConfig(base_url=fake.url, rate_limits=False, max_retries=0)
    async with BitunixREST(creds, cfg) as rest:
        await rest.account()
        first = rest.clock_offset_ms
        assert abs(first + 7_200_000) < 2_000
        for _ in range(5):
            await rest.account()
        assert rest.clock_offset_ms == first
    fake.clock_offset_ms = 0
    async with BitunixREST(creds, cfg) as rest:
        rest.clock_offset_ms = 5_000  # a stale correction (our clock was stepped since)
        await rest.account()
        assert rest.clock_offset_ms == 0


async def test_signature_error_without_skew_is_raised(fake: FakeBitunixRest) -> None:
    wrong = Credentials(API_KEY, "not-the-secret")
    async with BitunixREST(wrong, RestConfig(base_url=fake.url, rate_limits=False)) as rest:
        with pytest.raises(e.SignatureError):
            await rest.account()
    assert len(fake.calls("/account")) == 1


async def test_logs_never_contain_credentials(fake: FakeBitunixRest, rest: BitunixREST,
                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="bitunix.exchange")
    fake.fail("/trade/place_order", Fault(code=10006))
    await rest.place_order(limit_buy())
    fake.fail("/account", Fault(code=10007))
    with pytest.raises(e.SignatureError):
        await rest.account()
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "-> POST /api/v1/futures/trade/place_order" in text
    assert "<- POST" in text
    assert "retry 1/3" in text
    assert SECRET not in text
    assert API_KEY not in text
    sent = fake.calls("/trade/place_order")[0].headers["sign"]
    assert sent not in text


async def test_object_or_list_answers_and_quirks(fake: FakeBitunixRest, rest: BitunixREST) -> None:
    fake.handlers["/market/funding_rate"] = lambda s: [{"symbol": "BTCUSDT",
                                                        "fundingRate": "0.0005",
                                                        "nextFundingTime": "1770710400000"}]
    fr = await rest.funding_rate("BTCUSDT")
    assert fr.funding_rate == Decimal("0.0005")
    fake.handlers["/account/get_leverage_margin_mode"] = lambda s: {
        "symbol": "BTCUSDT", "marginCoin": "USDT", "leverage": 10, "marginMode": "ISOLATION"}
    assert (await rest.leverage_margin_mode("BTCUSDT")).leverage == 10
    await rest.place_order(limit_buy("q-1"))
    detail = await rest.order_detail(client_id="q-1")
    assert detail.status == "NEW_"
    fake.handlers["/tpsl/place_order"] = lambda s: [{"orderId": "77", "clientId": None}]
    tp = await rest.place_tpsl(TpslRequest(symbol="BTCUSDT", position_id="9",
                                           tp_price=Decimal("70000"), tp_qty=Decimal("0.01")))
    assert tp.order_id == "77"
    assert json.loads(fake.calls("/tpsl/place_order")[0].body) == {
        "symbol": "BTCUSDT", "positionId": "9", "tpPrice": "70000", "tpQty": "0.01"}


async def test_klines_are_returned_oldest_first(fake: FakeBitunixRest, rest: BitunixREST) -> None:
    rows = [{"open": "2", "high": "2", "low": "2", "close": "2", "quoteVol": "1",
             "baseVol": "2", "time": "1789482120000"},
            {"open": "1", "high": "1", "low": "1", "close": "1", "quoteVol": "1",
             "baseVol": "1", "time": "1789482060000"}]
    fake.handlers["/market/kline"] = lambda s: rows
    ks = await rest.klines("BTCUSDT", "1m", end_ms=1789482180000, limit=2)
    assert [k.time for k in ks] == [1789482060000, 1789482120000]
    q = dict(fake.calls("/market/kline")[0].query)
    assert q == {"symbol": "BTCUSDT", "interval": "1m", "endTime": "1789482180000",
                 "limit": "2", "type": "LAST_PRICE"}


async def test_contracts_convert_to_specs(fake: FakeBitunixRest, rest: BitunixREST) -> None:
    fake.handlers["/market/trading_pairs"] = lambda s: [
        {"symbol": "BTCUSDT", "base": "BTC", "quote": "USDT", "minTradeVolume": "0.0001",
         "maxLimitOrderVolume": "100000", "maxMarketOrderVolume": "50000", "basePrecision": 4,
         "quotePrecision": 1, "minLeverage": 1, "maxLeverage": 125, "defaultLeverage": 20,
         "priceProtectScope": "0.02", "symbolStatus": "OPEN", "isApiSupported": True}]
    specs = await rest.contracts(["BTCUSDT"])
    spec = specs["BTCUSDT"]
    assert spec.tick_size == Decimal("0.1")
    assert spec.qty_step == Decimal("0.0001")
    assert spec.max_market_qty == Decimal("50000")
    assert spec.is_tradable


async def test_pending_orders_paginate_to_total(fake: FakeBitunixRest, rest: BitunixREST) -> None:
    orders = [{"orderId": str(i), "symbol": "BTCUSDT", "qty": "1", "side": "BUY",
               "status": "NEW"} for i in range(7)]

    def page(s: object) -> dict[str, object]:
        q = dict(s.query)  # type: ignore[attr-defined]
        skip, limit = int(q["skip"]), int(q["limit"])
        return {"orderList": orders[skip:skip + limit], "total": len(orders)}

    fake.handlers["/trade/get_pending_orders"] = page
    got = await rest.all_pending_orders("BTCUSDT", page=3)
    assert [o.order_id for o in got] == [str(i) for i in range(7)]
    calls = fake.calls("/trade/get_pending_orders")
    assert len(calls) == 3
    assert len({dict(c.query)["endTime"] for c in calls}) == 1


async def test_batch_cancel_modify_and_settings(fake: FakeBitunixRest, rest: BitunixREST) -> None:
    fake.handlers["/trade/batch_order"] = lambda s: {"successList": [{"id": "1",
                                                                      "clientId": "a"}],
                                                     "failureList": []}
    res = await rest.batch_orders("BTCUSDT", [limit_buy("a")])
    assert res.success_list[0].venue_order_id == "1"
    body = json.loads(fake.calls("/trade/batch_order")[0].body)
    assert "symbol" not in body["orderList"][0]
    with pytest.raises(InvalidRequestError, match="every order"):
        await rest.batch_orders("ETHUSDT", [limit_buy("x")])
    fake.handlers["/trade/cancel_orders"] = lambda s: {"successList": [{"orderId": "11"}],
                                                       "failureList": [{"clientId": "c",
                                                                        "errorCode": 10013}]}
    res = await rest.cancel_orders("BTCUSDT", order_ids=["11"], client_ids=["c"])
    assert res.failure_list[0].error_code == 10013
    assert json.loads(fake.calls("/trade/cancel_orders")[0].body) == {
        "symbol": "BTCUSDT", "orderList": [{"orderId": "11"}, {"clientId": "c"}]}
    with pytest.raises(InvalidRequestError):
        await rest.cancel_orders("BTCUSDT")
    fake.handlers["/trade/cancel_all_orders"] = lambda s: None
    assert (await rest.cancel_all_orders()).success_list == []
    fake.handlers["/trade/modify_order"] = lambda s: {"orderId": "11"}
    ack = await rest.modify_order(order_id="11", qty=Decimal("0.002"), price=Decimal("1E+5"))
    assert ack.order_id == "11"
    assert json.loads(fake.calls("/trade/modify_order")[0].body) == {
        "orderId": "11", "qty": "0.002", "price": "100000"}
    for path in ("/account/change_leverage", "/account/change_margin_mode",
                 "/account/change_position_mode"):
        fake.handlers[path] = lambda s: ""
    await rest.change_leverage("BTCUSDT", 12)
    await rest.change_margin_mode("BTCUSDT", MarginMode.CROSS)
    await rest.change_position_mode(PositionMode.HEDGE)
    assert json.loads(fake.calls("/account/change_leverage")[0].body) == {
        "symbol": "BTCUSDT", "marginCoin": "USDT", "leverage": 12}


async def test_history_and_tpsl_reads(fake: FakeBitunixRest, rest: BitunixREST) -> None:
    fake.handlers["/trade/get_history_trades"] = lambda s: {"tradeList": [
        {"tradeId": "1", "orderId": "2", "symbol": "BTCUSDT", "qty": "0.1", "price": "5",
         "side": "SELL"}], "total": 1}
    assert (await rest.history_trades("BTCUSDT")).trade_list[0].price == Decimal(5)
    fake.handlers["/trade/get_history_orders"] = lambda s: {"orderList": [], "total": 0}
    assert (await rest.history_orders(canceled=True)).total == 0
    assert dict(fake.calls("/trade/get_history_orders")[0].query)["queryCanceled"] == "true"
    fake.handlers["/position/get_history_positions"] = lambda s: {"positionList": [],
                                                                  "total": "0"}
    assert (await rest.history_positions()).total == 0
    fake.handlers["/tpsl/get_pending_orders"] = lambda s: None
    assert await rest.pending_tpsl("BTCUSDT") == []
    fake.handlers["/tpsl/get_history_orders"] = lambda s: {"orderList": [{"id": "5",
                                                                           "symbol": "X"}]}
    assert (await rest.history_tpsl()).order_list[0].id == "5"
    fake.handlers["/tpsl/cancel_order"] = lambda s: {"orderId": "5"}
    assert (await rest.cancel_tpsl("X", "5")).order_id == "5"
    fake.handlers["/tpsl/position/place_order"] = lambda s: {"orderId": "6"}
    assert (await rest.place_position_tpsl("X", "9", sl_price=Decimal("1.5"))).order_id == "6"
    fake.handlers["/tpsl/position/modify_order"] = lambda s: {"orderId": "6"}
    ack = await rest.modify_position_tpsl("X", "9", tp_price=Decimal("2"), sl_price=Decimal(1))
    assert ack.order_id == "6"
    assert json.loads(fake.calls("/tpsl/position/modify_order")[0].body) == {
        "symbol": "X", "positionId": "9", "tpPrice": "2", "tpStopType": "MARK_PRICE",
        "slPrice": "1", "slStopType": "MARK_PRICE"}
    fake.handlers["/tpsl/modify_order"] = lambda s: {"orderId": "5"}
    req = TpslRequest(symbol="X", position_id="9", sl_price=Decimal(1), sl_qty=Decimal(1))
    assert (await rest.modify_tpsl("5", req)).order_id == "5"
    fake.handlers["/market/funding_rate/batch"] = lambda s: [{"symbol": "X",
                                                              "fundingRate": "0"}]
    assert len(await rest.funding_rates()) == 1
    fake.handlers["/market/get_funding_rate_history"] = lambda s: []
    assert await rest.funding_rate_history("X", start_ms=1) == []
    assert dict(fake.calls("/market/get_funding_rate_history")[0].query)["starTime"] == "1"
    fake.handlers["/position/get_position_tiers"] = lambda s: []
    assert await rest.position_tiers("X") == []
    fake.handlers["/trade/close_all_position"] = lambda s: ""
    await rest.close_all_positions("X")


async def test_malformed_success_body(fake: FakeBitunixRest, rest: BitunixREST) -> None:
    fake.handlers["/account"] = lambda s: {"nothing": "useful"}
    with pytest.raises(e.MalformedResponseError, match="account"):
        await rest.account()
    fake.handlers["/account"] = lambda s: []
    with pytest.raises(e.MalformedResponseError, match="empty account"):
        await rest.account()


async def test_connection_refused_is_a_transport_error(creds: Credentials) -> None:
    cfg = RestConfig(base_url="http://127.0.0.1:9", rate_limits=False, max_retries=1,
                     backoff_base_s=0.001)
    async with BitunixREST(creds, cfg) as rest:
        with pytest.raises(e.TransportError):
            await rest.account()
        assert rest.retries == 1


async def test_rate_limiter_spaces_requests(fake: FakeBitunixRest, creds: Credentials) -> None:
    slept: list[float] = []
    now = [0.0]

    async def fake_sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    cfg = RestConfig(base_url=fake.url, rate_limits=True)
    async with BitunixREST(creds, cfg, sleep=fake_sleep, monotonic=lambda: now[0],
                           clock=ManualClock(0)) as rest:
        fake.window_ms = 10**15
        fake.handlers["/trade/batch_order"] = lambda s: {"successList": []}
        for i in range(4):
            await rest.batch_orders("BTCUSDT", [limit_buy(f"b{i}")])
        # batch_order: 1/s documented, so three of four calls waited, ~2.2 s each.
        assert len(slept) == 3
        assert now[0] >= 3 * (1 / 0.45) - 1e-9
        assert rest.limiter.throttled == 3


async def test_caller_session_is_used_and_left_open(fake: FakeBitunixRest,
                                                    creds: Credentials) -> None:
    import aiohttp

    fake.handlers["/account"] = lambda s: {"marginCoin": "USDT", "available": "3"}
    async with aiohttp.ClientSession() as session:
        cfg = RestConfig(base_url=fake.url, rate_limits=False, timeout_s=1.0, max_retries=0)
        rest = BitunixREST(creds, cfg, session=session)
        assert (await rest.account()).available == Decimal(3)
        fake.fail("/account", Fault(delay_s=3.0, then_execute=False))
        with pytest.raises(e.ExchangeTimeoutError):
            await rest.account()  # the per-request timeout applies to a caller's session too
        await rest.close()
        assert not session.closed


# -- request details from a third-party client's request cases ---------------------------


KROW = {"open": "1", "high": "1", "low": "1", "close": "1", "quoteVol": "1", "baseVol": "1"}


async def test_klines_from_a_start_time_send_an_end_time(fake: FakeBitunixRest,
                                                         rest: BitunixREST) -> None:
    # The venue anchors a page on endTime and ignores startTime (spec 4.1): a request with
    # only startTime used to get the latest candles instead of those from startTime.
    start = 1_789_482_000_000
    fake.handlers["/market/kline"] = lambda s: [{**KROW, "time": str(start - 60_000)},
                                                {**KROW, "time": str(start)},
                                                {**KROW, "time": str(start + 60_000)}]
    ks = await rest.klines("BTCUSDT", "1m", start_ms=start, limit=2)
    q = dict(fake.calls("/market/kline")[0].query)
    assert (q["startTime"], q["endTime"], q["limit"]) == (str(start), str(start + 120_000), "2")
    assert [k.time for k in ks] == [start, start + 60_000]  # nothing before startTime
    # Without a limit, the venue's default page (100); never past now.
    now_ms = time.time_ns() // 1_000_000
    await rest.klines("BTCUSDT", "1h", start_ms=start)
    assert dict(fake.calls("/market/kline")[1].query)["endTime"] == str(start + 100 * 3_600_000)
    await rest.klines("BTCUSDT", "1m", start_ms=now_ms - 60_000)
    sent_end = int(dict(fake.calls("/market/kline")[2].query)["endTime"])
    assert now_ms <= sent_end < now_ms + 60_000
    with pytest.raises(InvalidRequestError, match="start_ms"):
        await rest.klines("BTCUSDT", "1m", start_ms=start, end_ms=start - 1)


async def test_more_than_five_orders_are_sent_in_batches_of_five(fake: FakeBitunixRest,
                                                                 rest: BitunixREST) -> None:
    orders = [limit_buy(f"b-{i}") for i in range(12)]
    fake.orders["b-3"] = {"orderId": "1", "clientId": "b-3", "symbol": "BTCUSDT",
                          "qty": "9", "side": "SELL", "orderType": "LIMIT"}  # not ours
    res = await rest.batch_orders("BTCUSDT", orders)
    calls = fake.calls("/trade/batch_order")
    assert [len(json.loads(c.body)["orderList"]) for c in calls] == [5, 5, 2]
    assert [a.client_id for a in res.success_list] == [o.client_id for o in orders
                                                       if o.client_id != "b-3"]
    assert [f.client_id for f in res.failure_list] == ["b-3"]
    assert len(fake.orders) == 12
    with pytest.raises(InvalidRequestError, match="at least one"):
        await rest.batch_orders("BTCUSDT", [])
    with pytest.raises(InvalidRequestError, match="twice"):
        await rest.batch_orders("BTCUSDT", [limit_buy("same"), limit_buy("same")])


async def test_a_batch_chunk_refused_as_a_whole_fails_its_rows_and_stops(
        fake: FakeBitunixRest, rest: BitunixREST) -> None:
    orders = [limit_buy(f"r-{i}") for i in range(12)]
    fake.fail("/trade/batch_order", Fault(), *[Fault(code=10006)] * 4)
    res = await rest.batch_orders("BTCUSDT", orders)
    assert [a.client_id for a in res.success_list] == [f"r-{i}" for i in range(5)]
    assert [f.client_id for f in res.failure_list] == [f"r-{i}" for i in range(5, 12)]
    assert {f.error_code for f in res.failure_list} == {10006}
    assert all("not executed" in (f.error_msg or "") for f in res.failure_list[:5])
    assert all("not sent" in (f.error_msg or "") for f in res.failure_list[5:])
    assert len(fake.calls("/trade/batch_order")) == 5  # 1 + 4 attempts, third chunk unsent
    assert len(fake.orders) == 5


async def test_an_unanswered_batch_chunk_is_resolved_row_by_row(fake: FakeBitunixRest,
                                                                quick: BitunixREST) -> None:
    orders = [limit_buy(f"u-{i}") for i in range(3)]
    fake.orders["u-1"] = {"orderId": "7", "clientId": "u-1", "symbol": "BTCUSDT",
                          "qty": "0.001", "side": "BUY", "orderType": "LIMIT"}
    fake.fail("/trade/batch_order", *[LOST] * 4)
    res = await quick.batch_orders("BTCUSDT", orders)
    assert [(a.client_id, a.order_id) for a in res.success_list] == [("u-1", "7")]
    assert [(f.client_id, f.error_code) for f in res.failure_list] == [("u-0", 20007),
                                                                       ("u-2", 20007)]
    assert "NOT placed" in (res.failure_list[0].error_msg or "")
    # When the lookups cannot answer, the outcome is unknown: the error carries what is
    # known (a partial result) and the clientIds still to reconcile.
    fake.fail("/trade/batch_order", *[LOST] * 4)
    fake.fail("/trade/get_order_detail", *[Fault(status=503)] * 40)
    with pytest.raises(e.OrderOutcomeUnknownError) as info:
        await quick.batch_orders("BTCUSDT", [limit_buy("v-0"), limit_buy("v-1")])
    assert info.value.client_ids == ("v-0", "v-1")
    assert info.value.partial is not None


@pytest.mark.parametrize(
    ("method", "kwargs", "maximum"),
    [
        ("klines", {"symbol": "BTCUSDT", "interval": "1m"}, 200),
        ("funding_rate_history", {"symbol": "BTCUSDT"}, 200),
        ("pending_orders", {}, 100),
        ("history_orders", {}, 100),
        ("history_trades", {}, 100),
        ("history_positions", {}, 100),
    ],
)
async def test_limit_above_the_documented_maximum_is_refused(
        fake: FakeBitunixRest, rest: BitunixREST, method: str, kwargs: dict[str, object],
        maximum: int) -> None:
    call = getattr(rest, method)
    with pytest.raises(InvalidRequestError, match=f"limit must be 1..{maximum}, was "
                                                  f"{maximum + 1}"):
        await call(**kwargs, limit=maximum + 1)
    with pytest.raises(InvalidRequestError, match="was 0"):
        await call(**kwargs, limit=0)
    if "skip" in inspect.signature(call).parameters:
        with pytest.raises(InvalidRequestError, match="skip must be >= 0, was -1"):
            await call(**kwargs, skip=-1)
    assert fake.seen == []


async def test_empty_parameters_are_never_sent(fake: FakeBitunixRest, rest: BitunixREST) -> None:
    fake.handlers["/trade/get_pending_orders"] = lambda s: {"orderList": [], "total": 0}
    fake.handlers["/trade/get_history_orders"] = lambda s: {"orderList": [], "total": 0}
    fake.handlers["/trade/cancel_all_orders"] = lambda s: None
    await rest.pending_orders(symbol="")
    await rest.history_orders("BTCUSDT", end_ms="")  # type: ignore[arg-type]
    await rest.cancel_all_orders("")
    assert fake.calls("/trade/get_pending_orders")[0].raw_query == "skip=0&limit=100"
    assert "endTime" not in fake.calls("/trade/get_history_orders")[0].raw_query
    assert fake.calls("/trade/cancel_all_orders")[0].body == b"{}"
