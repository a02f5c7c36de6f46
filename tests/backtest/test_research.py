"""The research screen: its fill model by hand, its rule against a per-event reference, no
look-ahead, loading, parameters."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from msgspec.structs import replace

from bitunix.backtest.research import (
    EXIT_REASONS,
    ResearchDataError,
    ScreenParams,
    TradeArrays,
    compute_features,
    load_trades,
    screen,
)
from bitunix.config.bot import BotConfig
from bitunix.core.errors import ConfigError
from bitunix.data import DataFileError
from bitunix.features import (
    FeatureEngine,
    RollingVWAP,
    TickImbalance,
    TradeFlowImbalance,
    screen_run,
)
from bitunix.strategy import SignalConfig, StrategySpec

S = 1_000_000_000
ETH = (Path(__file__).resolve().parents[2]
       / "src/bitunix/data/binance-usdm-ethusdt-2024-08-08.txt.gz")
REASON = {name: code for code, name in EXIT_REASONS.items()}

# A hand-built day: 20 trades alternating 100.0 / 100.2 (VWAP 100.1, std 0.1), then a jump
# to 100.5 that is about 2.9 sigmas above the VWAP: a short fade.
BASE = [100.0, 100.2] * 10
HAND = ScreenParams(vwap_window_s=1000.0, flow_window_s=1000.0, min_samples=20, entry_z=2.0,
                    max_entry_z=50.0, min_std_bps=0.0, min_edge_bps=0.0, max_tick_ratio=1.0,
                    stop_std=1.5, max_hold_s=30.0, cooldown_s=0.0, fee_bps=0.0, qty=2.0)


def arrays(prices: list[float], *, step_s: float = 1.0) -> TradeArrays:
    n = len(prices)
    return TradeArrays(np.arange(n, dtype=np.int64) * round(step_s * S), prices, [1.0] * n,
                       [i % 2 == 0 for i in range(n)])


def signal_plan() -> tuple[float, float]:
    """The target (the VWAP) and stop of the short at the jump, from first principles."""
    window = np.array([*BASE, 100.5])
    vwap = float(window.mean())
    std = float(np.sqrt(((window - vwap) ** 2).mean()))
    assert (100.5 - vwap) / std > 2.0
    return vwap, 100.5 + 1.5 * std


def test_hand_built_target_exit_entry_and_pnl() -> None:
    target, stop = signal_plan()
    # signal at 20, enter at 21 (100.45), 22 moves nowhere, 23 trades through the target
    result = screen(arrays([*BASE, 100.5, 100.45, 100.4, 100.1, 100.1]),
                    replace(HAND, fee_bps=5.0, slippage_ticks=2.0, tick_size=0.01))
    t = result.trades
    assert result.n_trades == 1
    assert (t["signal_i"][0], t["entry_i"][0], t["exit_i"][0]) == (20, 21, 23)
    assert (t["signal_ts_ns"][0], t["entry_ts_ns"][0], t["exit_ts_ns"][0]) == (20 * S, 21 * S,
                                                                               23 * S)
    assert t["direction"][0] == -1
    assert t["reason"][0] == REASON["target"]
    assert t["target"][0] == pytest.approx(target, abs=1e-9)
    assert t["stop"][0] == pytest.approx(stop, abs=1e-9)
    # a short sells 2 ticks below the trade and buys back 2 ticks above it
    assert t["entry_price"][0] == pytest.approx(100.43)
    assert t["exit_price"][0] == pytest.approx(100.12)
    gross = (100.43 - 100.12) * 2.0
    fees = (100.43 + 100.12) * 2.0 * 5e-4
    assert t["gross_pnl"][0] == pytest.approx(gross)
    assert t["fees"][0] == pytest.approx(fees)
    assert result.net_pnl == pytest.approx(gross - fees)
    assert t["net_bps"][0] == pytest.approx((gross - fees) / (100.43 * 2.0) * 1e4)
    assert result.hit_rate == 1.0
    assert result.reasons() == {"stop": 0, "target": 1, "time": 0, "end": 0}
    assert result.summary()["trades"] == 1
    assert result.events == 25


def test_hand_built_stop_time_and_end_exits() -> None:
    _, stop = signal_plan()
    stopped = screen(arrays([*BASE, 100.5, 100.5, 100.55, stop + 0.01, 100.1]), HAND)
    assert stopped.trades["exit_i"].tolist() == [23]
    assert stopped.trades["reason"].tolist() == [REASON["stop"]]
    assert stopped.net_pnl == pytest.approx((100.5 - (stop + 0.01)) * 2.0)
    assert stopped.hit_rate == 0.0
    # the price sits between stop and target: out 30 s after the entry (row 21 + 30)
    timed = screen(arrays([*BASE, 100.5, *[100.5] * 40]), HAND)
    assert timed.trades["entry_i"].tolist() == [21]
    assert timed.trades["exit_i"].tolist() == [51]
    assert timed.trades["reason"].tolist() == [REASON["time"]]
    ended = screen(arrays([*BASE, 100.5, 100.5, 100.5]), HAND)
    assert ended.trades["exit_i"].tolist() == [22]
    assert ended.trades["reason"].tolist() == [REASON["end"]]


def test_one_position_at_a_time_and_the_cooldown() -> None:
    # four runs up, each signalling on most rows (a 21-trade window); one trade at a time,
    # and with a 10 s cooldown after each exit, one trade per run
    prices = [*BASE, 100.5, 100.6, 100.7, 100.8, 100.9, 101.0] * 4
    params = replace(HAND, vwap_max_samples=21, max_entry_z=1e9)
    free = screen(arrays(prices), params, columns=True)
    cooled = screen(arrays(prices), replace(params, cooldown_s=10.0))
    assert free.columns["signal"].tolist().count(-1) >= 16
    entries, exits = free.trades["signal_i"].tolist(), free.trades["exit_i"].tolist()
    assert all(e > x for e, x in zip(entries[1:], exits, strict=False))
    assert free.n_trades > cooled.n_trades == 4
    gaps = cooled.trades["signal_ts_ns"][1:] - cooled.trades["exit_ts_ns"][:-1]
    assert (gaps >= 10 * S).all()


def test_a_signal_on_the_last_trade_does_not_enter() -> None:
    result = screen(arrays([*BASE, 100.5]), HAND, columns=True)
    assert result.columns["signal"][-1] == -1
    assert result.n_trades == 0
    assert math.isnan(result.hit_rate)
    assert result.net_pnl == 0.0


# -- the rule against a straightforward per-event reference -----------------------------

RANDOM = ScreenParams(vwap_window_s=5.0, vwap_max_samples=12, tick_n=7, flow_window_s=3.0,
                      flow_max_samples=9, min_samples=4, entry_z=1.0, max_entry_z=2.5,
                      min_std_bps=0.2, min_edge_bps=0.5, max_tick_ratio=0.3,
                      max_flow_imbalance=0.4, target_fraction=0.8, stop_std=1.2,
                      max_hold_s=4.0, cooldown_s=1.0)


def random_trades(seed: int, n: int = 4000) -> TradeArrays:
    rng = np.random.default_rng(seed)
    gaps = rng.choice([0, 1, 50_000_000, 300_000_000, 2_000_000_000], size=n,
                      p=[0.2, 0.1, 0.3, 0.35, 0.05])
    ts = 1_700_000_000 * S + np.cumsum(gaps).astype(np.int64)
    steps = rng.choice([-2, -1, 0, 0, 1, 2], size=n) * 0.1
    price = np.round(2500.0 + np.cumsum(steps), 1)
    qty = np.round(rng.lognormal(0.0, 1.0, n), 3) + 0.001
    return TradeArrays(ts, price, qty, rng.random(n) < 0.5)


def reference_rule(a: TradeArrays, p: ScreenParams) -> tuple[list[int], list[float], bool]:
    """Signal per row by the incremental live kernels and the rule written out in Python;
    also whether any row sat within float noise of a threshold."""
    vwap = RollingVWAP(round(p.vwap_window_s * S), p.vwap_max_samples)
    ticks = TickImbalance(p.tick_n)
    flow = TradeFlowImbalance(round(p.flow_window_s * S), p.flow_max_samples)
    signals: list[int] = []
    zs: list[float] = []
    borderline = False
    for ts, price, qty, buy in zip(a.ts_ns.tolist(), a.price.tolist(), a.qty.tolist(),
                                   a.is_buy.tolist(), strict=True):
        vwap.add(price, qty, ts)
        ticks.add(price)
        flow.add(qty, buy, ts)
        signal, z = 0, 0.0
        if vwap.count >= max(p.min_samples, 2) and vwap.std > 0.0:
            z = (price - vwap.vwap) / vwap.std
            d = 1 if z > 0 else -1
            edge = d * (price - vwap.vwap) * p.target_fraction / price * 1e4
            checks = [
                (abs(z), p.entry_z, 1), (abs(z), p.max_entry_z, -1),
                (vwap.std / price * 1e4, p.min_std_bps, 1), (edge, p.min_edge_bps, 1),
                (d * ticks.ratio, p.max_tick_ratio, -1),
                (d * flow.imbalance, p.max_flow_imbalance, -1),
            ]
            if all((v - limit) * sense >= 0 for v, limit, sense in checks) and edge > 0:
                signal = -d
            borderline |= any(abs(v - limit) < 1e-9 for v, limit, _ in checks)
        signals.append(signal)
        zs.append(z)
    return signals, zs, borderline


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rule_agrees_with_the_per_event_reference(seed: int) -> None:
    a = random_trades(seed)
    result = screen(a, RANDOM, columns=True)
    signals, zs, borderline = reference_rule(a, RANDOM)
    assert not borderline  # else the comparison below could differ in the last bit
    assert result.columns["signal"].tolist() == signals
    assert 50 < np.count_nonzero(signals) < len(a) // 2  # the rule is exercised both ways
    assert set(signals) == {-1, 0, 1}
    np.testing.assert_allclose(result.columns["z"], zs, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(result.columns["tick_ratio"],
                                  compute_features(a, RANDOM)["tick_ratio"])
    np.testing.assert_allclose(result.columns["flow_imbalance"],
                               compute_features(a, RANDOM)["flow_imbalance"], atol=1e-12)


def reference_fills(a: TradeArrays, p: ScreenParams, signals: list[int]
                    ) -> list[tuple[int, int, int, int]]:
    """(signal, entry, exit, reason) by a plain loop over the rows."""
    out = []
    price, ts = a.price.tolist(), a.ts_ns.tolist()
    vwap, std = compute_features(a, p)["vwap"], compute_features(a, p)["std"]
    i, n, ready_ns = 0, len(a), -(2**63)
    while i < n - 1:
        if signals[i] == 0 or ts[i] < ready_ns:
            i += 1
            continue
        d = signals[i]
        target = price[i] + p.target_fraction * (vwap[i] - price[i])
        stop = price[i] - d * p.stop_std * std[i]
        entry = i + 1
        for k in range(entry + 1, n):
            hit_stop = price[k] <= stop if d > 0 else price[k] >= stop
            hit_target = price[k] >= target if d > 0 else price[k] <= target
            timed = ts[k] - ts[entry] >= round(p.max_hold_s * S)
            if hit_stop or hit_target or timed:
                reason = "stop" if hit_stop else "target" if hit_target else "time"
                out.append((i, entry, k, REASON[reason]))
                ready_ns = ts[k] + round(p.cooldown_s * S)
                i = k + 1
                break
        else:
            out.append((i, entry, n - 1, REASON["end"]))
            break
    return out


@pytest.mark.parametrize("seed", [4, 5])
def test_fills_agree_with_a_per_event_loop(seed: int) -> None:
    a = random_trades(seed)
    result = screen(a, RANDOM, columns=True)
    expected = reference_fills(a, RANDOM, result.columns["signal"].tolist())
    t = result.trades
    got = list(zip(t["signal_i"].tolist(), t["entry_i"].tolist(), t["exit_i"].tolist(),
                   t["reason"].tolist(), strict=True))
    assert got == expected
    assert len(got) > 30
    assert {r for *_, r in got} >= {REASON["stop"], REASON["target"], REASON["time"]}
    # the columns change nothing about the trades
    plain = screen(a, RANDOM)
    for name, column in plain.trades.items():
        np.testing.assert_array_equal(column, t[name])


WIDE = ScreenParams(vwap_window_s=30.0, vwap_max_samples=200, tick_n=50, flow_window_s=20.0,
                    flow_max_samples=150, min_samples=20, entry_z=1.5, max_entry_z=4.0,
                    min_std_bps=0.1, min_edge_bps=0.5, max_tick_ratio=0.1,
                    max_flow_imbalance=0.2, stop_std=1.0, max_hold_s=10.0, cooldown_s=2.0)


@pytest.mark.parametrize(("seed", "params"), [(8, RANDOM), (9, WIDE), (10, WIDE)])
def test_the_fast_path_trades_as_the_references(seed: int, params: ScreenParams) -> None:
    # Without columns the tick rule and the flow window are caught up only on rows that
    # pass the price checks (in batches, skipping what no window holds any more): its
    # trades are those of the per-event rule and fills.
    a = random_trades(seed, n=6000)
    signals, _, borderline = reference_rule(a, params)
    assert not borderline
    expected = reference_fills(a, params, signals)
    t = screen(a, params).trades
    got = list(zip(t["signal_i"].tolist(), t["entry_i"].tolist(), t["exit_i"].tolist(),
                   t["reason"].tolist(), strict=True))
    assert got == expected
    assert len(got) > 20


def test_no_look_ahead() -> None:
    a = random_trades(6)
    cut = len(a) // 2
    before = screen(a, RANDOM, columns=True)
    rng = np.random.default_rng(7)
    price, qty, side = a.price.copy(), a.qty.copy(), a.is_buy.copy()
    price[cut:] = np.round(price[cut:] + rng.normal(0, 3.0, len(a) - cut), 1).clip(1.0)
    qty[cut:] = qty[cut:][::-1]
    side[cut:] = ~side[cut:]
    after = screen(TradeArrays(a.ts_ns, price, qty, side), RANDOM, columns=True)
    for name in ("signal", "z", "tick_ratio", "flow_imbalance"):
        np.testing.assert_array_equal(after.columns[name][:cut], before.columns[name][:cut])
    assert not np.array_equal(after.columns["signal"], before.columns["signal"])
    closed = before.trades["exit_i"] < cut
    assert closed.sum() > 10
    for name in ("signal_i", "entry_i", "exit_i", "reason", "target", "stop", "net_pnl"):
        np.testing.assert_array_equal(after.trades[name][: closed.sum()],
                                      before.trades[name][closed])


# -- features, loading, parameters -------------------------------------------------------

def test_compute_features_are_the_live_engine_values() -> None:
    a = load_trades(ETH).head(3000)
    f = compute_features(a)
    rows, _ = FeatureEngine(tick_size=0.01).on_trades(a.ts_ns, a.price, a.qty, a.is_buy)
    # the engine writes 0 until min_samples (20) trades are in the window
    f = {name: column[100:] for name, column in f.items()}
    rows = rows[100:]
    np.testing.assert_allclose(f["vwap_z"], rows[:, 0], rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(f["tick_ratio"], rows[:, 1], atol=1e-7)
    np.testing.assert_allclose(f["flow_imbalance"], rows[:, 2], atol=1e-7)
    np.testing.assert_allclose(f["realized_vol_bps"], rows[:, 6], rtol=1e-6, atol=1e-4)
    np.testing.assert_allclose(f["vwap_dev_bps"], rows[:, 7], rtol=1e-6, atol=1e-4)
    assert (f["std"] >= 0).all()
    assert np.isfinite(f["vwap"]).all()


def test_screen_on_the_bundled_eth_trades() -> None:
    a = load_trades(ETH)
    assert len(a) == 14_076
    assert a.source.endswith(".txt.gz")
    assert bool(a.is_buy.any())
    assert not bool(a.is_buy.all())
    result = screen(a)
    assert result.events == len(a)
    assert result.events_per_s > 0
    assert result.n_trades >= 1
    # taker fees (6 bp a side) against a 4 bp minimum edge: the fees decide
    assert result.fees > 0
    assert result.net_pnl == pytest.approx(result.gross_pnl - result.fees)


def test_load_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ResearchDataError, match=r"ethusdt.*no XRPUSDT trades"):
        load_trades(ETH, symbol="XRPUSDT")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(DataFileError, match=r"empty\.txt"):
        load_trades(empty)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("price", math.nan, r"t\.csv: trade 2: price nan is not a finite number > 0"),
        ("price", -1.0, "trade 2: price -1.0"),
        ("qty", 0.0, "trade 2: qty 0.0"),
        ("ts_ns", 0, r"trade 2: timestamp 0 is before the previous one \(1\)"),
    ],
)
def test_bad_arrays_name_the_row(column: str, value: float, message: str) -> None:
    cols = {"ts_ns": [0, 1, 2, 3], "price": [1.0] * 4, "qty": [1.0] * 4,
            "is_buy": [True] * 4}
    cols[column][2] = value  # type: ignore[index]
    with pytest.raises(ResearchDataError, match=message):
        TradeArrays(cols["ts_ns"], cols["price"], cols["qty"], cols["is_buy"], source="t.csv")


def test_shape_errors() -> None:
    with pytest.raises(ResearchDataError, match="column qty has shape"):
        TradeArrays([1, 2], [1.0, 1.0], [1.0], [True, True])
    with pytest.raises(ResearchDataError, match="no trades"):
        TradeArrays([], [], [], [])


def test_params_mirror_the_signal_config() -> None:
    default = ScreenParams.from_signal(BotConfig().signal)
    assert default == ScreenParams()
    signal = SignalConfig(strategies=[
        StrategySpec(kind="mean_reversion", name="mr", params={"entry_z": 3.0,
                                                               "exits": {"max_hold_s": 20}}),
        StrategySpec(kind="ovirx", params={"max_tick_ratio": -0.2, "cooldown_s": 1}),
    ])
    ovirx = ScreenParams.from_signal(signal, fee_bps=2.0)
    assert (ovirx.max_tick_ratio, ovirx.cooldown_s, ovirx.fee_bps) == (-0.2, 1.0, 2.0)
    mr = ScreenParams.from_signal(signal, strategy="mr")
    assert (mr.entry_z, mr.max_hold_s, mr.max_tick_ratio) == (3.0, 20.0, 1.0)
    only_mr = SignalConfig(strategies=[StrategySpec(kind="mean_reversion")])
    assert ScreenParams.from_signal(only_mr).max_tick_ratio == 1.0
    with pytest.raises(ConfigError, match="no strategy named 'x'"):
        ScreenParams.from_signal(signal, strategy="x")
    with pytest.raises(ConfigError, match="nothing to screen"):
        ScreenParams.from_signal(SignalConfig(strategies=[]))
    with pytest.raises(ConfigError, match="research"):
        ScreenParams.from_signal(signal, fee_bps="high")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("entry_z", 0.0, "key research.entry_z: must be a finite number > 0"),
        ("fee_bps", -1.0, "key research.fee_bps: must be a finite number >= 0"),
        ("max_flow_imbalance", math.inf, "key research.max_flow_imbalance: must be finite"),
        ("max_entry_z", 1.0, "key research.max_entry_z: must be >= entry_z"),
        ("tick_n", 0, r"key research.tick_n: must be in 1..2\*\*32-1"),
        ("min_samples", -1, "key research.min_samples: must be >= 0"),
    ],
)
def test_bad_params_name_the_key(key: str, value: float, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ScreenParams(**{key: value})


def test_native_screen_checks_its_arguments() -> None:
    a = arrays([100.0, 101.0])
    kwargs = ScreenParams().native_kwargs()
    with pytest.raises(ValueError, match="windows must be > 0"):
        screen_run(a.ts_ns, a.price, a.qty, a.is_buy, **{**kwargs, "vwap_window_ns": 0})
    with pytest.raises(ValueError, match="tick_n must be in"):
        screen_run(a.ts_ns, a.price, a.qty, a.is_buy, **{**kwargs, "tick_n": 0})
    with pytest.raises(ValueError, match="min_samples must be >= 0"):
        screen_run(a.ts_ns, a.price, a.qty, a.is_buy, **{**kwargs, "min_samples": -1})
    with pytest.raises(ValueError, match="max_hold_ns and cooldown_ns"):
        screen_run(a.ts_ns, a.price, a.qty, a.is_buy, **{**kwargs, "cooldown_ns": -1})
    with pytest.raises(ValueError, match="differ in length"):
        screen_run(a.ts_ns, a.price[:1], a.qty, a.is_buy, **kwargs)
    empty = np.zeros(0)
    trades, cols = screen_run(np.zeros(0, dtype=np.int64), empty, empty, empty, columns=True,
                              **kwargs)
    assert [len(t) for t in trades] == [0] * 7
    assert cols is not None
    assert len(cols[0]) == 0
