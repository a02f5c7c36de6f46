"""decode() on the captured real frames, and its handling of malformed input."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitunix.wire import (
    ConnectFrame,
    DepthBook15,
    DepthBooks,
    OrderPush,
    PingFrame,
    PricePush,
    SubscribeFrame,
    TickerPush,
    TradePush,
    UnsubscribeFrame,
    WireError,
    decode,
    decode_control,
    decode_public,
)

DATA = Path(__file__).parent / "data"


def _frames(stem: str) -> list[bytes]:
    return [ln.encode() for ln in (DATA / f"{stem}.jsonl").read_text().splitlines() if ln]


def test_captured_arbitrage_observatory_frames() -> None:
    frames = _frames("ws_public_frames_arbitrage-observatory_2026-09-23")
    directions = [ln.split("\t")[1] for ln in
                  (DATA / "ws_public_frames_arbitrage-observatory_2026-09-23.direction.txt")
                  .read_text().splitlines() if not ln.startswith("#")]
    assert len(frames) == len(directions) == 12
    decoded = [decode(f) for f in frames]
    expected = [ConnectFrame, SubscribeFrame, DepthBook15, DepthBook15, DepthBook15, DepthBook15,
                PricePush, TickerPush, PingFrame, PingFrame, UnsubscribeFrame, SubscribeFrame]
    assert [type(m) for m in decoded] == expected
    btc = decoded[2]
    assert btc.symbol == "BTCUSDT"
    assert btc.data.b[0].px == 86699.6
    assert btc.data.a[-1].qty == 1.457
    # An unknown symbol gets one frame of empty levels (spec 5.2): an empty book, not an error.
    nope = decoded[5]
    assert nope.symbol == "NOPEUSDT"
    assert nope.data.b == []
    assert nope.data.a == []
    assert decoded[9].pong == 1790126498
    # Every server frame also decodes through the public-only fast path.
    for frame, direction in zip(frames, directions, strict=True):
        if direction == "server":
            assert decode_public(frame) == decode(frame)


def test_captured_inkedup_frames() -> None:
    trade, books = (decode(f) for f in _frames("ws_public_frames_inkedup1114_2025-06-01"))
    assert isinstance(trade, TradePush)
    assert (trade.data[0].p, trade.data[0].v, trade.data[0].is_buy) == (104350.0, 1.1536, True)
    assert isinstance(books, DepthBooks)
    assert books.data.a[0].px == 104350.0


def test_blank_levels_mixed_with_real_ones_keep_the_real_ones() -> None:
    raw = (b'{"ch":"depth_book5","symbol":"X","ts":1,"data":{"b":[["1.5","2"],["",""]],'
           b'"a":[["",""]]}}')
    msg = decode(raw)
    assert [(lv.px, lv.qty) for lv in msg.data.b] == [(1.5, 2.0)]
    assert msg.data.a == []


@pytest.mark.parametrize(
    ("raw", "kind", "symbol"),
    [
        (b'{"ch":"depth_books_v2","symbol":"BTCUSDT","ts":1,"data":{}}', "depth_books_v2",
         "BTCUSDT"),
        (b'{"ch":"trade","symbol":"BTCUSDT","ts":1,"data":[{"p":"abc","v":"1","s":"buy"}]}',
         "trade", "BTCUSDT"),
        (b'{"ch":"depth_book15","symbol":"ETHUSDT","ts":1}', "depth_book15", "ETHUSDT"),
        (b'{"ch":"order","ts":1,"data":{"event":"CREATE"}}', "order", None),
        (b'{"op":"ping","ping":"soon"}', "ping", None),
        (b'{"hello":1}', "?", None),
        (b'[1,2,3]', "?", None),
        (b'{"ch":"trade",', "?", None),
        (b"", "?", None),
        (b"\xff\xfe", "?", None),
    ],
)
def test_malformed_frames_raise_wire_error_with_kind(raw: bytes, kind: str,
                                                     symbol: str | None) -> None:
    with pytest.raises(WireError) as info:
        decode(raw)
    assert info.value.kind == kind
    assert info.value.symbol == symbol
    assert "malformed" in str(info.value)
    with pytest.raises(WireError):
        decode_public(raw)
    assert isinstance(info.value, ValueError)


def test_decode_accepts_str_and_memoryview() -> None:
    raw = _frames("ws_public_frames_inkedup1114_2025-06-01")[0]
    assert decode(raw.decode()) == decode(memoryview(raw)) == decode(bytearray(raw))


def test_spec_example_round_trip_via_json() -> None:
    raw = _frames("ws_public_frames_arbitrage-observatory_2026-09-23")[2]
    obj = json.loads(raw)
    msg = decode(raw)
    assert [[str(lv.px), str(lv.qty)] for lv in msg.data.b] == obj["data"]["b"]


_price = st.decimals(min_value=Decimal("0.00001"), max_value=Decimal("1e7"), places=5,
                     allow_nan=False, allow_infinity=False)


@given(st.lists(st.tuples(_price, _price, st.sampled_from(["buy", "sell", "Buy"]),
                          st.booleans()), min_size=1, max_size=5),
       st.integers(min_value=0, max_value=2**53))
def test_trade_frames_decode_like_json(rows: list[tuple[Decimal, Decimal, str, bool]],
                                       ts: int) -> None:
    data = [{"p": str(p) if as_str else float(p), "v": str(v) if as_str else float(v), "s": s,
             "t": "2025-06-01T18:44:52Z"} for p, v, s, as_str in rows]
    raw = json.dumps({"ch": "trade", "symbol": "BTCUSDT", "ts": ts, "data": data}).encode()
    msg = decode(raw)
    assert msg.ts == ts
    assert [(t.p, t.v, t.is_buy) for t in msg.data] == [
        (float(d["p"]), float(d["v"]), d["s"].lower() == "buy") for d in data]


@settings(max_examples=300)
@given(st.one_of(st.binary(max_size=200),
                 st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                              lambda c: st.lists(c, max_size=4)
                              | st.dictionaries(st.sampled_from(["ch", "op", "data", "ts",
                                                                 "symbol", "b", "a", "p"]),
                                                c, max_size=5),
                              max_leaves=20).map(lambda o: json.dumps(o).encode())))
def test_hostile_input_only_ever_raises_wire_error(raw: bytes) -> None:
    kinds: list[str] = []
    try:
        decode(raw)
    except WireError as exc:
        kinds.append(exc.kind)
    assert all(kinds)


def test_wire_errors_belong_to_the_project_hierarchy() -> None:
    from bitunix.core.errors import BitunixError
    from bitunix.wire import decode

    with pytest.raises(BitunixError) as exc:
        decode(b"{not json")
    assert isinstance(exc.value, ValueError)


@pytest.mark.parametrize("depth", [700, 5000])
def test_deeply_nested_frames_raise_wire_error_not_recursion_error(depth: int) -> None:
    # msgspec and the slow path raise RecursionError on deep nesting; it must reach the
    # caller as a WireError (counted and dropped), not escape into the frame callback.
    nested = b'{"a":' * depth + b"1" + b"}" * depth
    for raw in (b'{"ch":"trade","symbol":"X","ts":1,"data":' + nested + b"}",
                b'{"op":"ping","ping":' + nested + b"}", b"[" * depth + b"]" * depth):
        with pytest.raises(WireError):
            decode(raw)
        with pytest.raises(WireError):
            decode_public(raw)
    with pytest.raises(WireError):
        decode_control(b'{"op":"ping","ping":' + nested + b"}")


def test_slow_path_keeps_json_number_money_exact() -> None:
    # A blank field ("") sends the frame through the slow path; a money value sent as a
    # JSON number must still decode exactly, not through float.
    frame = (b'{"ch":"order","ts":1745687173160,"data":{"event":"CREATE","orderId":"1",'
             b'"symbol":"BTCUSDT","side":"BUY","type":"LIMIT","qty":12345678.123456789,'
             b'"price":60000.123456789012,"orderStatus":"NEW","fee":"","leverage":20.0}}')
    msg = decode(frame)
    assert isinstance(msg, OrderPush)
    item = msg.items[0]
    assert item.qty == Decimal("12345678.123456789")
    assert item.price == Decimal("60000.123456789012")
    assert item.fee is None
    assert item.leverage == 20
    # float fields of public pushes still decode through the slow path
    book = decode(b'{"ch":"depth_book15","symbol":"X","ts":1,'
                  b'"data":{"b":[[86699.6,2.5],["",""]],"a":[]}}')
    assert isinstance(book, DepthBook15)
    assert (book.data.b[0].px, book.data.b[0].qty) == (86699.6, 2.5)
