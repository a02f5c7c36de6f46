"""The backtest's trading path: exact PnL of a hand-computed scenario, determinism, no
look-ahead, market-time timers and latency."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from decimal import Decimal

import msgspec
import pytest

from bitunix.app.backtest import BacktestRun, market_events, run_backtest
from bitunix.config import BotConfig, load_config
from bitunix.data import bundled_capture
from bitunix.model import OrderIntent, OrderType, Side
from bitunix.model.market import BookEvent, MarketEvent, TradeEvent

D = Decimal
S = 1_000_000_000
#: 2024-08-08T01:00:00Z: seven hours before a funding instant (every 8 h from 00:00 UTC).
T0 = 1_723_078_800 * S
FUNDING = 1_723_104_000 * S  # 08:00:00Z


def _config(**backtest: object) -> BotConfig:
    overrides = {f"backtest.{k}": v for k, v in backtest.items()}
    return load_config(None, {}, overrides=overrides)


def _book(ts: int, bid: str, ask: str, qty: str = "5") -> BookEvent:
    return BookEvent(ts_ns=ts, symbol="BTCUSDT", bids=[(bid, qty)], asks=[(ask, qty)])


def _trade(ts: int, price: str, qty: str = "0.01", is_buy: bool = True) -> TradeEvent:
    return TradeEvent(ts_ns=ts, symbol="BTCUSDT", price=price, qty=qty, is_buy=is_buy)


SCENARIO: list[MarketEvent] = [
    _book(T0, "60000.0", "60000.1"),
    _trade(T0 + 1_000_000, "60000.1"),           # buy 0.1 at the ask: 60000.1
    _book(FUNDING - S, "60050.0", "60050.2"),    # mark 60050.1 at the funding instant
    _trade(FUNDING + S // 2, "60050.1"),         # funding settles: the long pays
    _book(FUNDING + S, "60100.0", "60100.2"),    # sell 0.1 at the bid: 60100.0
    _trade(FUNDING + 2 * S, "60100.0", is_buy=False),
]


def _scripted(orders: dict[int, Side]) -> Callable[[BacktestRun, MarketEvent], None]:
    """An ``on_event`` hook that sends a 0.1 BTC market order after the given events."""
    seen = {"n": 0}

    def hook(run: BacktestRun, event: MarketEvent) -> None:
        side = orders.get(seen["n"])
        seen["n"] += 1
        if side is None:
            return
        spec = run.specs["BTCUSDT"]
        run.engine.submit(OrderIntent(
            spec=spec, side=side, qty_steps=1000, order_type=OrderType.MARKET,
            reduce_only=side is Side.SELL, strategy="script",
            reason="enter" if side is Side.BUY else "exit:script", ts_ns=event.ts_ns))

    return hook


def test_hand_computed_scenario_gives_the_exact_pnl() -> None:
    config = _config(latency_ms=0.0, maker_fee="0.0002", taker_fee="0.0006",
                     funding_rate_pct="0.01", sampling_interval_s=3600.0)
    result = run_backtest(SCENARIO, config, on_event=_scripted({1: Side.BUY, 4: Side.SELL}))
    entry_fee = D("0.1") * D("60000.1") * D("0.0006")    # 3.600006
    exit_fee = D("0.1") * D("60100.0") * D("0.0006")     # 3.606
    funding = D("0.1") * D("60050.1") * D("0.0001")      # 0.600501
    gross = D("0.1") * (D("60100.0") - D("60000.1"))     # 9.99
    assert [(f.side, f.price, f.qty) for f in result.fills] == [
        (Side.BUY, D("60000.1"), D("0.1")), (Side.SELL, D("60100.0"), D("0.1"))]
    assert result.fees == entry_fee + exit_fee
    assert result.funding == funding
    assert len(result.trips) == 1
    trip = result.trips[0]
    assert (trip.gross_pnl, trip.fees, trip.funding) == (gross, entry_fee + exit_fee, funding)
    assert trip.net_pnl == D("2.183493")
    assert result.final_equity == D("10000") + D("2.183493")
    assert result.open_positions == {}
    # One row per hour from the first event, the last at or after the end.
    stamps = [ts for ts, _ in result.equity]
    assert stamps[0] == T0
    assert all(b - a == 3600 * S for a, b in itertools.pairwise(stamps))
    assert stamps[-1] >= FUNDING + 2 * S > stamps[-2]
    assert result.equity[0][1] == D("10000")
    assert result.equity[-1][1] == result.final_equity


def test_slippage_moves_every_taker_fill_against_the_taker() -> None:
    config = _config(latency_ms=0.0, slippage_ticks=2, funding_rate_pct="0",
                     sampling_interval_s=3600.0)
    result = run_backtest(SCENARIO, config, on_event=_scripted({1: Side.BUY, 4: Side.SELL}))
    assert [f.price for f in result.fills] == [D("60000.3"), D("59999.8") + 100]
    trip = result.trips[0]
    assert trip.gross_pnl == D("0.1") * (D("60099.8") - D("60000.3"))
    assert trip.fees == D("0.1") * (D("60000.3") + D("60099.8")) * D("0.0006")
    assert result.final_equity == D("10000") + trip.net_pnl


def test_funding_every_4_hours_charges_twice_over_8_hours() -> None:
    events = [*SCENARIO[:2], _book(FUNDING - 4 * 3600 * S - S, "60050.0", "60050.2"),
              _trade(FUNDING - 4 * 3600 * S + S, "60050.1"), *SCENARIO[2:]]
    config = _config(latency_ms=0.0, funding_interval_h=4, sampling_interval_s=3600.0)
    result = run_backtest(events, config, on_event=_scripted({1: Side.BUY, 6: Side.SELL}))
    assert result.funding == 2 * D("0.1") * D("60050.1") * D("0.0001")


def test_latency_delays_the_order_to_the_book_of_its_arrival() -> None:
    """With 1.5 s of latency, the buy sent at T0+1ms reaches the venue after the book of
    T0+1s has replaced the first one: it fills at that book's ask."""
    events = [
        _book(T0, "60000.0", "60000.1"),
        _trade(T0 + 1_000_000, "60000.1"),
        _book(T0 + S, "60010.0", "60010.1"),
        _trade(T0 + 2 * S, "60010.1"),
        _trade(T0 + 3 * S, "60010.1"),
    ]
    config = _config(latency_ms=1500.0, sampling_interval_s=1.0)
    result = run_backtest(events, config, on_event=_scripted({1: Side.BUY}))
    buy = result.fills[0]
    assert buy.price == D("60010.1")
    assert buy.ts_ns == T0 + 1_000_000 + 1_500_000_000
    # Flattened at the end, also through the latency.
    assert result.open_positions == {}
    assert len(result.fills) == 2


def _bundled(limit: int) -> list[MarketEvent]:
    events = []
    for event in market_events([bundled_capture()]):
        events.append(event)
        if len(events) >= limit:
            break
    return events


@pytest.fixture(scope="module")
def capture() -> list[MarketEvent]:
    return _bundled(28_000)


def _fingerprint(result: object) -> bytes:
    r = result
    return msgspec.json.encode([r.orders, r.fills, r.trips, r.equity, r.outcomes])  # type: ignore[attr-defined]


def test_same_data_config_and_seed_give_the_same_run(capture: list[MarketEvent]) -> None:
    config = _config(sampling_interval_s=5.0, latency_jitter_ms=30.0)
    first = run_backtest(capture, config, seed=7)
    second = run_backtest(capture, config, seed=7)
    assert first.orders, "the bundled capture trades (else this test checks nothing)"
    assert _fingerprint(first) == _fingerprint(second)
    other = run_backtest(capture, config, seed=8)
    # The seed draws the latency jitter: another seed, other fill times.
    assert [f.ts_ns for f in other.fills] != [f.ts_ns for f in first.fills]


def test_no_look_ahead(capture: list[MarketEvent]) -> None:
    """Changing every event after time t changes nothing the run did before t."""
    config = _config(sampling_interval_s=5.0)
    base = run_backtest(capture, config)
    assert len(base.orders) >= 2
    cut = base.orders[1].created_ns + 1  # after the second order was sent
    mutated: list[MarketEvent] = []
    for original in capture:
        event = original
        if event.ts_ns >= cut and isinstance(event, TradeEvent):
            event = msgspec.structs.replace(event, price=str(D(event.price) + 500),
                                            is_buy=not event.is_buy)
        elif event.ts_ns >= cut:
            assert isinstance(event, BookEvent)
            event = msgspec.structs.replace(
                event, bids=[(str(D(p) + 500), q) for p, q in event.bids],
                asks=[(str(D(p) + 500), q) for p, q in event.asks])
        mutated.append(event)
    changed = run_backtest(mutated, config)

    def before(xs: list[object], key: str) -> list[object]:
        return [x for x in xs if getattr(x, key) < cut]

    assert before(changed.fills, "ts_ns") == before(base.fills, "ts_ns")
    assert [o.client_id for o in changed.orders if o.created_ns < cut] == \
        [o.client_id for o in base.orders if o.created_ns < cut]
    assert [e for e in changed.equity if e[0] < cut] == [e for e in base.equity if e[0] < cut]
    # ... and the mutation did reach the run after t.
    assert changed.equity != base.equity


def test_symbols_not_traded_are_skipped_and_counted(capture: list[MarketEvent]) -> None:
    eth = [TradeEvent(ts_ns=e.ts_ns, symbol="ETHUSDT", price="2600.00", qty="1", is_buy=True)
           for e in capture[:50]]
    events = sorted([*capture[:2000], *eth], key=lambda e: e.ts_ns)
    result = run_backtest(events, _config(), symbols=["BTCUSDT"])
    assert result.ignored_symbols == {"ETHUSDT": 50}
    assert result.symbols == ["BTCUSDT"]


def test_an_unknown_symbol_or_no_data_is_a_clear_error() -> None:
    from bitunix.core.errors import ConfigError

    with pytest.raises(ConfigError, match="no event"):
        run_backtest([], _config())
    with pytest.raises(ConfigError, match="no contract is known for NOPEUSDT"):
        run_backtest([_trade(T0, "1.0")], _config(), symbols=["NOPEUSDT"])


def test_a_venue_change_the_engine_did_not_make_fails_the_run() -> None:
    """An order placed on the venue behind the engine's back: the books drift, the engine
    corrects them from the venue, and the run says it failed."""
    from bitunix.sim import SimOrderRequest

    def behind_the_back(run: BacktestRun, event: MarketEvent) -> None:
        if event is SCENARIO[1]:
            run.sim.place_order(SimOrderRequest(symbol="BTCUSDT", side="BUY",
                                                order_type="MARKET", qty=D("0.1")))

    result = run_backtest(SCENARIO, _config(latency_ms=0.0), on_event=behind_the_back)
    assert any("corrections from the venue" in e for e in result.errors)
