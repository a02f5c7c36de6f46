"""bench/tick_frames.py: the pushes decode as the venue's, and the pure-Python baseline
computes what the native features compute (so the throughput baseline does the same work)."""

from __future__ import annotations

import math
import random

import pytest

from bench.tick_frames import PyFeatures, depth15_payload, trade_payload, ws_frame
from bitunix.features import RollingVWAP
from bitunix.wire.decoding import decode_public
from bitunix.wire.public import DepthBook15, TradePush


def test_payloads_decode_as_pushes() -> None:
    trade = decode_public(trade_payload("BTCUSDT", 1_700_000_000_000, 60_000.1, 0.5, True))
    assert isinstance(trade, TradePush)
    assert trade.data[0].p == pytest.approx(60_000.1)
    assert trade.data[0].is_buy
    depth = decode_public(depth15_payload("BTCUSDT", 1_700_000_000_000, 60_000.0, lean=0.5))
    assert isinstance(depth, DepthBook15)
    assert len(depth.data.b) == len(depth.data.a) == 15
    assert depth.data.b[0].px < 60_000.0 < depth.data.a[0].px
    assert depth.data.b[0].qty > depth.data.a[0].qty  # the lean is on the bids


@pytest.mark.parametrize("size", [5, 200, 70_000])
def test_ws_frame_lengths(size: int) -> None:
    frame = ws_frame(b"x" * size)
    assert frame[0] == 0x81
    n = frame[1]
    if size < 126:
        assert (n, frame[2:]) == (size, b"x" * size)
    elif size < 65536:
        assert n == 126
        assert int.from_bytes(frame[2:4], "big") == size
    else:
        assert n == 127
        assert int.from_bytes(frame[2:10], "big") == size


def test_python_vwap_matches_native() -> None:
    rng = random.Random(3)
    py = PyFeatures()
    native = RollingVWAP(30_000_000_000, 1 << 16)
    price = 100.0
    for i in range(2000):
        price += rng.choice((-0.1, 0.1))
        qty = rng.uniform(0.01, 2.0)
        ts = i * 50_000_000  # 100 s of trades: the 30 s window evicts
        py.on_trade(price, qty, ts)
        native.add(price, qty, ts)
    assert native.count < 2000
    vwap = py._pv / py._v
    assert vwap == pytest.approx(native.vwap, rel=1e-9)
    z = (price - native.vwap) / native.std
    assert py.vwap_z() == pytest.approx(z, rel=1e-4)


def test_python_decision() -> None:
    py = PyFeatures()
    assert math.isnan(py.vwap_z())
    for i in range(40):
        py.on_trade(100.0 + (0.5 if i % 2 else -0.5), 1.0, i)
    py.on_trade(101.5, 1.0, 41)
    assert py.vwap_z() > 2.0
    bid_heavy = [["99.9", "5"]], [["100.1", "1"]]
    py.on_book(*bid_heavy)
    assert py.imbalance > 0.1
    assert py.decide() == 0  # the book does not lean against the rise
    py.on_book([["99.9", "1"]], [["100.1", "5"]])
    assert py.decide() == -1  # fade it: sell
