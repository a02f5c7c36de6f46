"""FeatureEngine: the feature vector against the oracle, and the real bundled trades."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings

from bitunix.data import BookEvent, TradeEvent, iter_capture
from bitunix.features import FEATURE_NAMES, FeatureEngine
from tests.features import oracle
from tests.features.strategies import trades

S = 1_000_000_000
F = {name: i for i, name in enumerate(FEATURE_NAMES)}


def _book(fe: FeatureEngine, bids: list[tuple[float, float]], asks: list[tuple[float, float]],
          ts: int) -> bool:
    b = np.array(bids, dtype=np.float64).reshape(-1, 2)
    a = np.array(asks, dtype=np.float64).reshape(-1, 2)
    return fe.on_book(np.ascontiguousarray(b[:, 0]), np.ascontiguousarray(b[:, 1]),
                      np.ascontiguousarray(a[:, 0]), np.ascontiguousarray(a[:, 1]), ts)


def test_feature_names_are_the_contract() -> None:
    assert FEATURE_NAMES == ("vwap_z", "tick_ratio", "flow_imbalance", "depth_imbalance",
                             "microprice_offset_bps", "spread_ticks", "realized_vol_bps",
                             "vwap_dev_bps")


def test_vector_is_preallocated_and_warms_up() -> None:
    fe = FeatureEngine(tick_size=0.1, min_samples=3, depth_levels=2)
    vec = fe.vector
    assert vec.dtype == np.float32
    assert vec.shape == (len(FEATURE_NAMES),)
    assert not fe.write()
    assert not vec.any()
    for i, (px, qty, buy) in enumerate([(100.0, 1.0, True), (100.2, 2.0, True),
                                        (99.9, 1.0, False)]):
        fe.on_trade(px, qty, i * S, buy)
    assert not fe.write()  # no book yet
    assert _book(fe, [(99.9, 4.0), (99.8, 1.0), (99.7, 50.0)], [(100.1, 1.0), (100.2, 2.0)], 3 * S)
    assert fe.write()
    assert fe.vector is vec
    vwap = (100.0 + 200.4 + 99.9) / 4
    std = math.sqrt((1 * (100 - vwap) ** 2 + 2 * (100.2 - vwap) ** 2 + (99.9 - vwap) ** 2) / 4)
    assert (fe.vwap, fe.std) == (pytest.approx(vwap), pytest.approx(std))
    assert vec[F["vwap_z"]] == pytest.approx((99.9 - vwap) / std, rel=1e-6)
    assert fe.zscore == pytest.approx((99.9 - vwap) / std)
    assert vec[F["tick_ratio"]] == pytest.approx(0.0)  # one up, one down
    assert vec[F["flow_imbalance"]] == pytest.approx((3 - 1) / 4)
    assert vec[F["depth_imbalance"]] == pytest.approx((5 - 3) / 8)  # top 2 levels only
    mid = 100.0
    micro = (99.9 * 1.0 + 100.1 * 4.0) / 5.0
    assert vec[F["microprice_offset_bps"]] == pytest.approx((micro - mid) / mid * 1e4, rel=1e-5)
    assert vec[F["spread_ticks"]] == pytest.approx(2.0, rel=1e-5)
    rv = math.sqrt(math.log(100.2 / 100) ** 2 + math.log(99.9 / 100.2) ** 2)
    assert vec[F["realized_vol_bps"]] == pytest.approx(rv * 1e4, rel=1e-5)
    assert vec[F["vwap_dev_bps"]] == pytest.approx((99.9 - vwap) / vwap * 1e4, rel=1e-5)
    assert (fe.last_price, fe.mid, fe.trade_count) == (99.9, pytest.approx(100.0), 3)


@pytest.mark.parametrize(
    ("bids", "asks"),
    [
        ([(100.0, 1.0)], [(100.0, 1.0)]),           # crossed/locked
        ([(100.0, math.nan)], [(100.1, 1.0)]),
        ([(100.0, 1.0)], [(math.inf, 1.0)]),
        ([(100.0, -1.0)], [(100.1, 1.0)]),
        ([(0.0, 1.0)], [(100.1, 1.0)]),
        ([], [(100.1, 1.0)]),
    ],
)
def test_bad_book_is_rejected_and_previous_book_kept(
    bids: list[tuple[float, float]], asks: list[tuple[float, float]]
) -> None:
    fe = FeatureEngine(tick_size=0.1)
    assert _book(fe, [(99.0, 1.0)], [(101.0, 3.0)], 1)
    assert not _book(fe, bids, asks, 2)
    assert fe.books_rejected == 1
    assert fe.mid == 100.0
    fe.write()
    assert fe.vector[F["depth_imbalance"]] == pytest.approx(-0.5)


def test_bad_trades_are_rejected_by_every_kernel_at_once() -> None:
    fe = FeatureEngine(tick_size=0.1, min_samples=1)
    fe.on_trade(100.0, 1.0, 10, True)
    for price, qty, ts in [(math.nan, 1.0, 11), (100.0, 0.0, 11), (-1.0, 1.0, 11),
                           (100.0, 1.0, 9)]:
        assert not fe.on_trade(price, qty, ts, False)
    assert (fe.trades_rejected, fe.trade_count, fe.last_price) == (4, 1, 100.0)
    fe.reset()
    assert (fe.trades_rejected, fe.trade_count, fe.last_price, fe.mid) == (0, 0, 0.0, 0.0)


def test_constructor_validation() -> None:
    with pytest.raises(ValueError, match="tick_size"):
        FeatureEngine(tick_size=0.0)
    with pytest.raises(ValueError, match="vwap_window_ns"):
        FeatureEngine(tick_size=0.1, vwap_window_ns=0)
    with pytest.raises(ValueError, match="min_samples"):
        FeatureEngine(tick_size=0.1, min_samples=0)
    with pytest.raises(ValueError, match="level_weights has 2 entries"):
        FeatureEngine(tick_size=0.1, depth_levels=3, level_weights=np.ones(2))
    weighted = FeatureEngine(tick_size=0.1, depth_levels=2, level_weights=np.array([1.0, 0.0]))
    _book(weighted, [(99.0, 1.0), (98.0, 100.0)], [(101.0, 1.0), (102.0, 1.0)], 1)
    weighted.write()
    assert weighted.vector[F["depth_imbalance"]] == 0.0


@settings(max_examples=60, deadline=None)
@given(trades)
def test_batch_replay_equals_incremental_rows(
    sequence: list[tuple[int, float, float, bool]],
) -> None:
    ts = np.cumsum([g for g, *_ in sequence], dtype=np.int64)
    px = np.array([p for _, p, _, _ in sequence], dtype=np.float64)
    qty = np.array([q for _, _, q, _ in sequence], dtype=np.float64)
    side = np.array([b for *_, b in sequence], dtype=bool)
    batch_fe = FeatureEngine(tick_size=0.5, min_samples=2)
    live_fe = FeatureEngine(tick_size=0.5, min_samples=2)
    for fe in (batch_fe, live_fe):
        _book(fe, [(1.0, 2.0)], [(2.0, 1.0)], 0)
    rows, valid = batch_fe.on_trades(ts, px, qty, side)
    assert rows.shape == (len(sequence), len(FEATURE_NAMES))
    for i in range(len(sequence)):
        live_fe.on_trade(px[i], qty[i], int(ts[i]), bool(side[i]))
        assert live_fe.write() == valid[i]
        np.testing.assert_array_equal(rows[i], live_fe.vector)
        assert np.isfinite(rows[i]).all()


def test_real_bundled_trades_against_numpy_recompute() -> None:
    """The whole bundled BTCUSDT capture through the engine, checked against numpy."""
    window_ns, cap = 30 * S, 600
    fe = FeatureEngine(tick_size=0.1, vwap_window_ns=window_ns, vwap_max_samples=cap,
                       flow_window_ns=window_ns, flow_max_samples=100_000)
    tick = oracle.TickOracle(50)
    ts_list: list[int] = []
    px_list: list[float] = []
    qty_list: list[float] = []
    buy_list: list[bool] = []
    checked = 0
    for event in iter_capture():
        if isinstance(event, TradeEvent):
            price, qty = float(event.price), float(event.qty)
            assert fe.on_trade(price, qty, event.ts_ns, event.is_buy)
            tick.add(price)
            ts_list.append(event.ts_ns)
            px_list.append(price)
            qty_list.append(qty)
            buy_list.append(event.is_buy)
        else:
            assert isinstance(event, BookEvent)
            bids = np.array(event.bids, dtype=np.float64)
            asks = np.array(event.asks, dtype=np.float64)
            assert fe.on_book(bids[:, 0].copy(), bids[:, 1].copy(), asks[:, 0].copy(),
                              asks[:, 1].copy(), event.ts_ns)
        if len(ts_list) % 997 == 0 and ts_list:
            ts, px, q = (np.array(ts_list), np.array(px_list), np.array(qty_list))
            inside = ts > ts[-1] - window_ns
            p_w, q_w = px[inside][-cap:], q[inside][-cap:]
            vwap = np.sum(p_w * q_w) / np.sum(q_w)
            std = np.sqrt(np.sum(q_w * (p_w - vwap) ** 2) / np.sum(q_w))
            assert fe.vwap == pytest.approx(vwap, rel=1e-12)
            assert fe.std == pytest.approx(std, rel=1e-7)
            buys = np.array(buy_list)[inside]
            flow = (q[inside][buys].sum() - q[inside][~buys].sum()) / q[inside].sum()
            assert fe.write()
            assert fe.vector[F["flow_imbalance"]] == pytest.approx(flow, abs=1e-6)
            assert fe.vector[F["tick_ratio"]] == pytest.approx(tick.ratio, abs=1e-6)
            assert np.isfinite(fe.vector).all()
            checked += 1
    assert checked >= 20
    assert fe.trades_rejected == fe.books_rejected == 0
