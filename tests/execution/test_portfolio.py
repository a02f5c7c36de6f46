"""Positions, PnL and round trips from fills: exact, once per trade id, UTC-day resets."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bitunix.core.clock import ManualClock
from bitunix.execution import Portfolio
from bitunix.execution.portfolio import DAY_NS
from bitunix.model import Balance, Fill, Side

from .conftest import BTC, ETH, START_NS

D = Decimal


def _fill(n: int, side: Side, qty: int, price: int, *, fee: str = "0.1", spec: object = BTC,
          ts: int = START_NS) -> Fill:
    return Fill(trade_id=f"t{n}", client_id="c", venue_order_id="v", spec=spec,  # type: ignore[arg-type]
                side=side, qty_steps=qty, price_ticks=price, fee=D(fee), ts_ns=ts)


def test_fills_build_positions_once_per_trade_id() -> None:
    pf = Portfolio(ManualClock(START_NS))
    assert pf.apply_fill(_fill(1, Side.BUY, 10, 600000), strategy="s") is not None
    assert pf.apply_fill(_fill(1, Side.BUY, 10, 600000)) is None
    assert pf.has_fill("t1")
    assert pf.qty_steps("BTCUSDT") == 10
    assert pf.open_symbols() == ["BTCUSDT"]
    assert not pf.is_flat
    pos, trip = pf.apply_fill(_fill(2, Side.SELL, 10, 601000), reason="target")  # type: ignore[misc]
    assert pos.is_flat
    assert trip is not None
    assert (trip.strategy, trip.reason, trip.direction) == ("s", "target", 1)
    assert trip.gross_pnl == D("0.1")  # 0.001 BTC x 100 USDT
    assert trip.fees == D("0.2")
    assert trip.net_pnl == D("-0.1") == pf.net_realized()
    assert (trip.entry_price, trip.exit_price, trip.qty) == (D("60000"), D("60100"), D("0.001"))
    assert pf.fees() == D("0.2")


def test_flip_closes_one_trip_and_opens_the_next_with_the_fee_on_the_closed_one() -> None:
    pf = Portfolio(ManualClock(START_NS))
    pf.apply_fill(_fill(1, Side.BUY, 10, 600000), strategy="a")
    _, trip = pf.apply_fill(_fill(2, Side.SELL, 25, 599000, fee="0.3"), strategy="b",  # type: ignore[misc]
                            reason="enter")
    assert trip is not None
    assert trip.strategy == "a"
    assert trip.fees == D("0.4")
    assert pf.qty_steps("BTCUSDT") == -15
    assert pf.trips.strategy_of("BTCUSDT") == "b"
    pf.apply_funding(BTC, D("0.05"), START_NS + 1)
    _, second = pf.apply_fill(_fill(3, Side.BUY, 15, 598000, fee="0.2"), reason="stop")  # type: ignore[misc]
    assert second is not None
    assert (second.direction, second.strategy, second.funding) == (-1, "b", D("0.05"))
    assert second.fees == D("0.2")
    assert trip.net_pnl + second.net_pnl == pf.net_realized()
    assert pf.trips.strategy_of("BTCUSDT") is None


def test_partial_closes_accumulate_into_one_trip() -> None:
    pf = Portfolio(ManualClock(START_NS))
    pf.apply_fill(_fill(1, Side.SELL, 10, 600000), strategy="s")
    pf.apply_fill(_fill(2, Side.SELL, 10, 602000))
    assert pf.apply_fill(_fill(3, Side.BUY, 5, 590000))[1] is None  # type: ignore[index]
    _, trip = pf.apply_fill(_fill(4, Side.BUY, 15, 595000))  # type: ignore[misc]
    assert trip is not None
    assert trip.qty == D("0.002")
    assert trip.entry_price == D("60100")
    assert trip.exit_price == D("59375")


def test_day_pnl_resets_at_utc_midnight_and_keeps_the_start_equity() -> None:
    clock = ManualClock(START_NS)  # 23:54:15 UTC
    pf = Portfolio(clock)
    pf.set_balance(Balance(ts_event_ns=0, coin="USDT", available=D("990"), margin=D("10")))
    pf.apply_fill(_fill(1, Side.BUY, 10, 600000, fee="0.5"))
    pf.set_mark("BTCUSDT", 599000)
    assert pf.day_pnl() == D("-0.6")  # fee + 0.1 unrealised
    assert pf.equity() == D("999.9")
    midnight = (START_NS // DAY_NS + 1) * DAY_NS
    clock.set_ns(midnight + 1)
    assert pf.day_pnl() == 0
    assert pf.day_start_equity == D("999.9")
    pf.set_mark("BTCUSDT", 601000)
    assert pf.day_pnl() == D("0.2")
    pf.apply_funding(BTC, D("0.01"), midnight + 2)
    assert pf.day_pnl() == D("0.19")
    assert pf.funding() == D("0.01")


def test_restore_keeps_booked_fills_and_the_day_so_far() -> None:
    first = Portfolio(ManualClock(START_NS))
    f1 = _fill(1, Side.BUY, 10, 600000)
    first.apply_fill(f1, strategy="s")
    restored = Portfolio(ManualClock(START_NS + 5))
    restored.set_balance(Balance(ts_event_ns=0, coin="USDT", available=D("100")))
    restored.restore([first.positions["BTCUSDT"]], [f1], {"BTCUSDT": "s"})
    restored.restore_day(START_NS + 5, D("-3"))
    assert restored.apply_fill(f1) is None
    assert restored.day_pnl() == D("-3")
    assert restored.day_start_equity == D("103")
    assert restored.trips.strategy_of("BTCUSDT") == "s"
    _, trip = restored.apply_fill(_fill(2, Side.SELL, 10, 600000))  # type: ignore[misc]
    assert trip is not None
    assert trip.strategy == "s"
    assert trip.qty == D("0.001")


def test_position_without_history_is_taken_up_as_it_stands() -> None:
    donor = Portfolio(ManualClock(START_NS))
    donor.apply_fill(_fill(1, Side.BUY, 10, 600000))
    pf = Portfolio(ManualClock(START_NS))
    pf.positions["BTCUSDT"] = donor.positions["BTCUSDT"]  # no trip known
    _, trip = pf.apply_fill(_fill(2, Side.SELL, 10, 600500), strategy="x", reason="external")  # type: ignore[misc]
    assert trip is not None
    assert trip.gross_pnl == D("0.05")


def test_notional_and_unrealised_use_marks_and_entries() -> None:
    pf = Portfolio(ManualClock(START_NS))
    assert pf.notional("BTCUSDT") == 0
    assert pf.wallet() is None
    assert pf.equity() is None
    pf.apply_fill(_fill(1, Side.SELL, 20, 300000, spec=ETH))
    assert pf.notional("ETHUSDT") == D("60")
    pf.set_mark("ETHUSDT", 290000)
    assert pf.notional("ETHUSDT") == D("58")
    assert pf.unrealized() == D("2")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(1, 40), st.integers(599_000, 601_000),
                          st.integers(0, 500)), min_size=1, max_size=1000))
def test_pnl_over_random_fills_equals_an_independent_recomputation(
        fills: list[tuple[bool, int, int, int]]) -> None:
    pf = Portfolio(ManualClock(START_NS))
    cash = 0  # value units: sells bring cash in, buys take it out
    qty = 0
    fees = D(0)
    trips = []
    for n, (is_buy, q, price, fee_milli) in enumerate(fills):
        fee = D(fee_milli).scaleb(-3)
        side = Side.BUY if is_buy else Side.SELL
        outcome = pf.apply_fill(Fill(trade_id=str(n), client_id="", venue_order_id="",
                                     spec=BTC, side=side, qty_steps=q, price_ticks=price,
                                     fee=fee, ts_ns=START_NS))
        assert outcome is not None
        if outcome[1] is not None:
            trips.append(outcome[1])
        cash += -q * price if is_buy else q * price
        qty += q if is_buy else -q
        fees += fee
    last = fills[-1][2]
    pf.set_mark("BTCUSDT", last)
    # everything marked at the last price: realised + unrealised = cash + holdings value
    expected = D(cash + qty * last).scaleb(-5) - fees
    assert pf.net_realized() + pf.unrealized() == expected
    assert pf.qty_steps("BTCUSDT") == qty
    if trips and pf.qty_steps("BTCUSDT") == 0:
        assert sum((t.net_pnl for t in trips), D(0)) == pf.net_realized()
