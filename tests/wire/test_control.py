"""Control frames: server answers decode, client requests encode to the exact bytes."""

from __future__ import annotations

import pytest

from bitunix.wire import (
    ChannelArg,
    ConnectFrame,
    LoginArg,
    LoginFrame,
    PingFrame,
    Result,
    SubscribeFrame,
    UnsubscribeFrame,
    WireError,
    decode,
    decode_control,
    encode_login,
    encode_ping,
    encode_subscribe,
    encode_unsubscribe,
)


def test_connect_and_ping() -> None:
    assert decode(b'{"op":"connect","data":{"result":true}}') == ConnectFrame(Result(True))
    pong = decode(b'{"op":"ping","pong":1790126498,"ping":1790126491}')
    assert pong == PingFrame(ping=1790126491, pong=1790126498)


@pytest.mark.parametrize(
    ("raw", "ok"),
    [
        (b'{"op":"login","data":{"result":true}}', True),
        (b'{"op":"login","data":{"result":false,"msg":"sign error"}}', False),
        (b'{"op":"login","data":"fail"}', False),
        (b'{"op":"login","code":0,"msg":"ok"}', True),
        (b'{"op":"login","code":10007,"msg":"Sign signature error"}', False),
        (b'{"op":"login"}', False),
    ],
)
def test_login_answers(raw: bytes, ok: bool) -> None:
    msg = decode(raw)
    assert isinstance(msg, LoginFrame)
    assert msg.ok is ok


def test_subscribe_refusal_and_unsubscribe() -> None:
    refusal = decode(b'{"op":"subscribe","data":{"msg":"subscribe channel > 300","nonce":"",'
                     b'"result":false}}')
    assert isinstance(refusal, SubscribeFrame)
    assert isinstance(refusal.data, Result)
    assert refusal.data.msg == "subscribe channel > 300"
    assert not refusal.data.result
    uns = decode(b'{"op":"unsubscribe","ts":1790126500916,"data":"success"}')
    assert uns == UnsubscribeFrame(data="success", ts=1790126500916)


def test_decode_control_only_accepts_op_frames() -> None:
    assert isinstance(decode_control(b'{"op":"ping","pong":1}'), PingFrame)
    with pytest.raises(WireError):
        decode_control(b'{"ch":"trade"}')


def test_encoders_produce_the_documented_bytes() -> None:
    assert encode_ping(1790126498) == b'{"op":"ping","ping":1790126498}'
    args = [ChannelArg("trade", "BTCUSDT"), ChannelArg("depth_book15", "BTCUSDT")]
    assert encode_subscribe(args) == (
        b'{"op":"subscribe","args":[{"ch":"trade","symbol":"BTCUSDT"},'
        b'{"ch":"depth_book15","symbol":"BTCUSDT"}]}')
    assert encode_subscribe([ChannelArg("order")]) == b'{"op":"subscribe","args":[{"ch":"order"}]}'
    assert encode_unsubscribe([ChannelArg("trade", "ETHUSDT")]) == (
        b'{"op":"unsubscribe","args":[{"ch":"trade","symbol":"ETHUSDT"}]}')
    login = encode_login(LoginArg(api_key="k", timestamp=1747402389, nonce="n", sign="s"))
    assert login == (b'{"op":"login","args":[{"apiKey":"k","timestamp":1747402389,"nonce":"n",'
                     b'"sign":"s"}]}')
