"""Public pushes: every shape of spec 5.4, strings or numbers, unknown fields ignored."""

from __future__ import annotations

import math

import pytest

from bitunix.wire import (
    DepthBook1,
    DepthBook5,
    DepthBook15,
    DepthBooks,
    KlinePush,
    PricePush,
    TickerPush,
    TickersPush,
    TradePush,
    decode,
    decode_public,
)
from bitunix.wire.public import KLINE_INTERVALS, KLINE_PUSH_TYPES, PUBLIC_PUSH_TYPES

TRADE = (b'{"ch":"trade","symbol":"BTCUSDT","ts":1748803492958,"data":[{"p":"104350","s":"buy",'
         b'"t":"2025-06-01T18:44:52Z","v":"1.1536"},{"p":"104349.9","s":"sell",'
         b'"t":"2025-06-01T18:44:52.5Z","v":"0.01"}]}')
TICKERS = (b'{"ch":"tickers","ts":1732178884994,"data":[{"s":"BTCUSDT","la":"68650.9",'
           b'"o":"69141.6",'
           b'"h":"70319.9","l":"68241.9","b":"26295.3977","q":"1823374525.0193",'
           b'"r":"-0.7097029863","bd":"68650.9","ak":"68651","bv":"0.9747","av":"2.3606"}]}')
KLINE = (b'{"ch":"market_kline_1min","symbol":"BTCUSDT","ts":1775541412718,"data":{"o":"68581.4",'
         b'"c":"68583.4","h":"68590","l":"68579.5","b":"5.2395","q":"359348.14078"}}')
PRICE = (b'{"ch":"price","symbol":"BTCUSDT","ts":1790126515695,"data":{"ip":"86720.6",'
         b'"mp":"86688.3",'
         b'"fr":"-0.00077","ft":"2026-09-23T00:00:00Z","nft":"2026-09-23T08:00:00Z"}}')
TICKER = (b'{"ch":"ticker","symbol":"BTCUSDT","ts":1790126515684,"data":{"s":"BTCUSDT","o":"85567",'
          b'"la":"86688.2","h":"86815.6","l":"85080","b":"27478.1701","q":"2362759522.50052",'
          b'"r":"1.3103182302"}}')


def test_trade_push() -> None:
    msg = decode(TRADE)
    assert isinstance(msg, TradePush)
    assert msg.channel == "trade"
    assert msg.symbol == "BTCUSDT"
    assert msg.ts == 1748803492958
    assert [(t.p, t.v, t.is_buy) for t in msg.data] == [(104350.0, 1.1536, True),
                                                        (104349.9, 0.01, False)]
    assert msg.data[1].t == "2025-06-01T18:44:52.5Z"


def test_trade_side_case_insensitive() -> None:
    msg = decode(TRADE.replace(b'"buy"', b'"Buy"'))
    assert msg.data[0].is_buy


@pytest.mark.parametrize(("ch", "cls"), [("depth_book1", DepthBook1), ("depth_book5", DepthBook5),
                                         ("depth_book15", DepthBook15),
                                         ("depth_books", DepthBooks)])
def test_depth_channels(ch: str, cls: type) -> None:
    raw = (f'{{"ch":"{ch}","symbol":"BTCUSDT","ts":1,"data":{{"b":[["86699.6","2.274"],'
           f'["86699.5","2.7407"]],"a":[["86699.7","0.7095"]]}}}}').encode()
    msg = decode(raw)
    assert type(msg) is cls
    assert msg.channel == ch
    assert [(lv.px, lv.qty) for lv in msg.data.b] == [(86699.6, 2.274), (86699.5, 2.7407)]
    assert [(lv.px, lv.qty) for lv in msg.data.a] == [(86699.7, 0.7095)]


def test_depth_numbers_instead_of_strings_decode_identically() -> None:
    as_str = decode(b'{"ch":"depth_book5","symbol":"X","ts":"7","data":{"b":[["1.5","2"]],"a":[]}}')
    as_num = decode(b'{"ch":"depth_book5","symbol":"X","ts":7,"data":{"b":[[1.5,2]],"a":[]}}')
    assert as_str == as_num
    assert as_str.ts == 7


def test_ticker_and_tickers() -> None:
    t = decode(TICKER)
    assert isinstance(t, TickerPush)
    assert (t.data.s, t.data.la, t.data.r) == ("BTCUSDT", 86688.2, 1.3103182302)
    ts = decode(TICKERS)
    assert isinstance(ts, TickersPush)
    row = ts.data[0]
    assert (row.s, row.bd, row.ak, row.bv, row.av) == ("BTCUSDT", 68650.9, 68651.0, 0.9747, 2.3606)
    # Fields the venue left out stay NaN rather than a made-up zero.
    sparse = decode(b'{"ch":"tickers","ts":1,"data":[{"s":"ETHUSDT","la":"1"}]}')
    assert math.isnan(sparse.data[0].bd)


def test_kline_all_intervals_and_both_price_types() -> None:
    assert len(KLINE_PUSH_TYPES) == 2 * len(KLINE_INTERVALS)
    for prefix in ("market", "mark"):
        for iv in KLINE_INTERVALS:
            raw = KLINE.replace(b"market_kline_1min", f"{prefix}_kline_{iv}".encode())
            msg = decode(raw)
            assert isinstance(msg, KlinePush)
            assert msg.interval == iv
            assert msg.price_type == prefix
            assert (msg.data.o, msg.data.h, msg.data.l, msg.data.c) == (68581.4, 68590.0,
                                                                        68579.5, 68583.4)
            assert (msg.data.b, msg.data.q) == (5.2395, 359348.14078)


def test_price_push() -> None:
    msg = decode(PRICE)
    assert isinstance(msg, PricePush)
    assert (msg.data.mp, msg.data.ip, msg.data.fr) == (86688.3, 86720.6, -0.00077)
    assert msg.data.nft == "2026-09-23T08:00:00Z"


def test_unknown_fields_are_ignored() -> None:
    raw = TRADE.replace(b'"ts":', b'"extra":{"x":[1,2]},"ts":').replace(b'"v":"1.1536"',
                                                                        b'"v":"1.1536","id":9')
    assert decode(raw) == decode(TRADE)


def test_decode_public_matches_decode() -> None:
    for raw in (TRADE, TICKERS, KLINE, PRICE, TICKER):
        assert decode_public(raw) == decode(raw)


def test_every_public_type_has_a_distinct_channel() -> None:
    channels = [t.channel for t in PUBLIC_PUSH_TYPES]  # type: ignore[attr-defined]
    assert len(channels) == len(set(channels))
    assert "depth_book15" in channels


def test_structs_are_immutable() -> None:
    msg = decode(TRADE)
    with pytest.raises(AttributeError):
        msg.symbol = "ETHUSDT"
