"""Units of the engine's modules: market state, positions, margin, funding, TP/SL windows and
pushes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bitunix.sim.contracts import default_contracts
from bitunix.sim.errors import SimError
from bitunix.sim.funding import FundingSchedule, funding_amount
from bitunix.sim.margin import (
    below_maintenance,
    insurance_shortfall,
    liquidation_price,
    order_margin,
    reference_price,
    reserve,
)
from bitunix.sim.matching import INF, NEG_INF
from bitunix.sim.positions import credit, increase, opening_part, reduce
from bitunix.sim.pushes import PushPublisher
from bitunix.sim.state import HOUR_NS, DecimalCache, MarketState, SimAccount, SimPosition, SimTpSl
from bitunix.sim.tpsl import (
    TriggerBook,
    apply_tpsl_changes,
    check_tpsl_legs,
    child_order,
    trigger_window,
    validate_tpsl,
)

from .test_matching import order

D = Decimal


# ---------------------------------------------------------------------- market state
def test_decimal_cache_is_exact_bounded_and_keeps_the_representation() -> None:
    cache = DecimalCache(limit=2)
    assert str(cache("2681.60")) == "2681.60"
    assert cache("2681.60") is cache("2681.60")
    cache("1")
    cache("2")  # over the limit: forgotten, still exact
    assert cache("2681.60") == D("2681.60")
    assert cache.mid("100.0", "100.1") == (D("100.0") + D("100.1")) / 2
    assert cache.level(("1.5", "2")) == [D("1.5"), D("2")]


def test_a_raw_book_becomes_levels_only_when_read() -> None:
    mkt = MarketState()
    bids, asks = [("99.0", "1")], [("100.0", "2"), ("100.5", "1")]
    mkt.set_raw_book(bids, asks)
    assert mkt.best_bid() == D("99")
    assert mkt.best_ask() == D("100")
    levels = mkt.asks
    assert levels == [[D("100.0"), D("2")], [D("100.5"), D("1")]]
    levels.pop(0)  # a taker consumed it: the state keeps the consumed copy
    assert mkt.best_ask() == D("100.5")
    assert mkt.asks is levels
    assert asks == [("100.0", "2"), ("100.5", "1")]  # the event is untouched
    mkt.set_raw_book([], [])
    assert mkt.best_bid() is None
    assert mkt.best_ask() is None
    assert mkt.bids == []


# ---------------------------------------------------------------------- positions
def account() -> SimAccount:
    acct = SimAccount(uid="u", wallet=D(0))
    credit(acct, "deposit", D("1000"), "initial", 1)
    return acct


def test_credit_moves_the_wallet_through_the_ledger() -> None:
    acct = account()
    credit(acct, "fee", D("-1.5"), "o1", 2)
    assert acct.wallet == D("998.5")
    assert sum(e.amount for e in acct.ledger) == acct.wallet


def test_increase_nets_the_opposite_side_first_in_one_way_mode() -> None:
    acct = account()
    ids = iter(["p1", "p2"])
    buy = order("BUY", "100", qty="2")
    pos, event, pnl, emptied = increase(acct, buy, D("2"), D("100"), now_ns=1,
                                        new_position_id=lambda: next(ids))
    assert (pos.position_id, event, pnl, emptied, pos.qty) == ("p1", "OPEN", 0, None, D("2"))
    sell = order("SELL", "110", qty="3")
    sell.pos_side = "SHORT"
    assert opening_part(acct, sell, D("3")) == D("1")
    short, event, pnl, emptied = increase(acct, sell, D("3"), D("110"), now_ns=2,
                                          new_position_id=lambda: next(ids))
    assert pnl == D("20")
    assert emptied is pos
    assert pos.qty == 0
    assert (short.position_id, short.qty, event) == ("p2", D("1"), "OPEN")


def test_reduce_realizes_pro_rata() -> None:
    pos = SimPosition(position_id="p", uid="u", symbol="BTCUSDT", side="SHORT", leverage=10,
                      margin_mode="CROSS", position_mode="ONE_WAY", ctime_ns=0, mtime_ns=0,
                      qty=D("3"), entry_value=D("300"), margin=D("30"))
    assert reduce(pos, D("1"), D("90")) == D("10")
    assert (pos.qty, pos.entry_value, pos.margin) == (D("2"), D("200"), D("20"))
    assert reduce(pos, D("2"), D("110")) == D("-20")
    assert pos.qty == 0
    assert pos.margin == 0


# ---------------------------------------------------------------------- margin
def test_order_margin_and_reservation() -> None:
    mkt = MarketState()
    mkt.set_raw_book([("99", "1")], [("100", "1")])
    market_buy = order("BUY", None, qty="2")
    assert reference_price(market_buy, mkt) == D("100")
    assert order_margin(market_buy, D("2"), mkt) == D("20")
    acct = account()
    reserve(acct, market_buy, mkt, D("0.0006"))
    assert market_buy.frozen == D("20")
    with pytest.raises(SimError):
        reserve(acct, order("BUY", None, qty="200"), mkt, D("0.0006"))
    assert order_margin(order("SELL", None), D("1"), MarketState()) == 0


def test_liquidation_price_and_maintenance() -> None:
    acct = account()
    pos = SimPosition(position_id="p", uid="u", symbol="BTCUSDT", side="LONG", leverage=10,
                      margin_mode="ISOLATION", position_mode="ONE_WAY", ctime_ns=0, mtime_ns=0,
                      qty=D("1"), entry_value=D("100"), margin=D("10"))
    mmr = D("0.004")
    liq = liquidation_price(pos, mmr, D(0))
    assert liq == D("90") / D("0.996")
    assert below_maintenance(pos, D("90"), mmr, acct)
    assert not below_maintenance(pos, D("91"), mmr, acct)
    assert insurance_shortfall("ISOLATION", D("10"), D("100"), D("85")) == D("5")
    assert insurance_shortfall("CROSS", D("10"), D("100"), D("-3")) == D("3")


# ---------------------------------------------------------------------- funding
def test_funding_schedule_pops_each_instant_once() -> None:
    f = FundingSchedule(HOUR_NS, rate_pct=D("0.02"), interval_h=4)
    assert f.next_ns == 4 * HOUR_NS
    assert f.pop_due(4 * HOUR_NS - 1) is None
    assert f.pop_due(9 * HOUR_NS) == 4 * HOUR_NS
    assert f.pop_due(9 * HOUR_NS) == 8 * HOUR_NS
    assert f.pop_due(9 * HOUR_NS) is None
    assert (f.last_ns, f.next_ns) == (8 * HOUR_NS, 12 * HOUR_NS)
    with pytest.raises(ValueError, match="interval"):
        FundingSchedule(0, interval_h=0)


def test_longs_pay_a_positive_rate() -> None:
    pos = SimPosition(position_id="p", uid="u", symbol="BTCUSDT", side="LONG", leverage=10,
                      margin_mode="CROSS", position_mode="ONE_WAY", ctime_ns=0, mtime_ns=0,
                      qty=D("2"))
    assert funding_amount(pos, D("100"), D("0.01")) == D("-0.02")
    pos.side = "SHORT"
    assert funding_amount(pos, D("100"), D("0.01")) == D("0.02")


# ---------------------------------------------------------------------- TP/SL
def trigger(**kw: object) -> SimTpSl:
    base: dict[str, object] = {"tpsl_id": "t", "uid": "u", "symbol": "BTCUSDT",
                               "position_id": "p", "pos_side": "LONG", "kind": "TPSL",
                               "ctime_ns": 0}
    base.update(kw)
    return SimTpSl(**base)  # type: ignore[arg-type]


def test_trigger_windows() -> None:
    long = trigger(tp_price=D("110"), sl_price=D("90"))
    assert trigger_window(long, "LAST_PRICE") == (D("90"), D("110"))
    assert trigger_window(long, "MARK_PRICE") == (NEG_INF, INF)
    short = trigger(pos_side="SHORT", tp_price=D("90"), sl_price=D("110"),
                    sl_stop_type="MARK_PRICE")
    assert trigger_window(short, "LAST_PRICE") == (D("90"), INF)
    assert trigger_window(short, "MARK_PRICE") == (NEG_INF, D("110"))
    trail = trigger(kind="TRAILING", trail_rate=D("0.01"))
    assert trigger_window(trail, "LAST_PRICE") == (INF, NEG_INF)  # before its first price
    trail.trail_extreme = D("100")
    assert trigger_window(trail, "LAST_PRICE") == (D("99.00"), D("100"))
    assert trigger_window(trail, "MARK_PRICE") == (NEG_INF, INF)
    trail.pos_side = "SHORT"
    assert trigger_window(trail, "LAST_PRICE") == (D("100"), D("101.00"))
    trail.trail_extreme = D("1.000000000000000000000000001")  # inexact level: check all
    assert trigger_window(trail, "LAST_PRICE") == (INF, NEG_INF)


def test_trigger_book_windows_and_changes() -> None:
    told: list[str] = []
    book = TriggerBook(["BTCUSDT"], on_change=told.append)
    assert book.window("BTCUSDT", "LAST_PRICE") == (NEG_INF, INF)
    a = trigger(tpsl_id="a", tp_price=D("110"), sl_price=D("90"))
    b = trigger(tpsl_id="b", tp_price=D("105"))
    book.add(a)
    book.add(b)
    assert book.window("BTCUSDT", "LAST_PRICE") == (D("90"), D("105"))
    book.discard(b)
    assert book.window("BTCUSDT", "LAST_PRICE") == (D("90"), D("110"))
    a.sl_price = D("95")
    book.changed("BTCUSDT")
    assert book.window("BTCUSDT", "LAST_PRICE") == (D("95"), D("110"))
    book.discard(b)
    assert told == ["BTCUSDT"] * 4


def test_tpsl_validation() -> None:
    spec = default_contracts()["BTCUSDT"]
    pos = SimPosition(position_id="p", uid="u", symbol="BTCUSDT", side="LONG", leverage=10,
                      margin_mode="CROSS", position_mode="ONE_WAY", ctime_ns=0, mtime_ns=0,
                      qty=D("1"))
    validate_tpsl(spec, pos, tp_price=D("1"), tp_qty=None, sl_price=None, sl_qty=None,
                  position_level=True)
    bad = [
        {"tp_price": None, "tp_qty": None, "sl_price": None, "sl_qty": None},
        {"tp_price": D("-1"), "tp_qty": D("1"), "sl_price": None, "sl_qty": None},
        {"tp_price": D("100"), "tp_qty": None, "sl_price": None, "sl_qty": None},
        {"tp_price": D("100"), "tp_qty": D("2"), "sl_price": None, "sl_qty": None},
    ]
    for kw in bad:
        with pytest.raises(SimError):
            validate_tpsl(spec, pos, position_level=False, **kw)  # type: ignore[arg-type]
    with pytest.raises(SimError):
        check_tpsl_legs(spec, tp_price=D("100"), tp_stop="LAST", tp_type="LIMIT",
                        tp_order_price=None, sl_price=None, sl_stop="LAST", sl_type="MARKET",
                        sl_order_price=None)
    with pytest.raises(SimError):
        check_tpsl_legs(spec, tp_price=D("100"), tp_stop="LAST", tp_type="STOP",
                        tp_order_price=None, sl_price=None, sl_stop="LAST", sl_type="MARKET",
                        sl_order_price=None)


# ---------------------------------------------------------------------- pushes
def test_pushes_are_formatted_only_for_listeners() -> None:
    pub = PushPublisher()
    acct = account()
    pub.balance(acct)  # no listener: nothing formatted, nothing sent
    seen: list[tuple[str, str]] = []
    pub.listeners.append(lambda uid, ch, data: seen.append((uid, ch)))
    o = order("BUY", "100")
    pub.order(o, "CREATE")
    pos = SimPosition(position_id="p", uid="u", symbol="BTCUSDT", side="LONG", leverage=10,
                      margin_mode="CROSS", position_mode="ONE_WAY", ctime_ns=0, mtime_ns=0,
                      qty=D("1"), entry_value=D("100"))
    pub.position(pos, "OPEN", D("101"))
    pub.balance(acct)
    pub.tpsl(trigger(tp_price=D("110")), "CREATE", acct, 10)
    assert seen == [("u", "order"), ("u", "position"), ("u", "balance"), ("u", "tpsl")]


def test_tpsl_changes_are_all_or_nothing() -> None:
    spec = default_contracts()["BTCUSDT"]
    pos = SimPosition(position_id="p", uid="u", symbol="BTCUSDT", side="LONG", leverage=10,
                      margin_mode="CROSS", position_mode="ONE_WAY", ctime_ns=0, mtime_ns=0,
                      qty=D("1"))
    tp = trigger(tp_price=D("110"), tp_qty=D("1"))
    apply_tpsl_changes(spec, pos, tp, {"tp_price": D("120"), "sl_price": None,
                                       "tp_stop_type": "MARK"})
    assert (tp.tp_price, tp.tp_stop_type) == (D("120"), "MARK_PRICE")
    for bad in ({"tp_qty": D("2")}, {"kind": "X"}, {"tp_stop_type": "INDEX"}):
        with pytest.raises(SimError):
            apply_tpsl_changes(spec, pos, tp, bad)
    assert (tp.tp_price, tp.tp_qty) == (D("120"), D("1"))
    assert child_order(tp, "tp", pos) == (D("1"), "MARKET", None)
    tp.kind = "POSITION_TPSL"
    assert child_order(tp, "sl", pos) == (D("1"), "MARKET", None)


def test_the_mark_of_a_raw_book_is_its_mid_when_read() -> None:
    mkt = MarketState()
    assert not mkt.has_mark()
    assert mkt.mark is None
    mkt.set_raw_book([("99.0", "1")], [("100.5", "1")])
    assert mkt.has_mark()
    assert str(mkt.mark) == "99.75"
    mkt.set_raw_book([("99.0", "1")], [])  # one-sided: the mark stays
    assert mkt.mark == D("99.75")
    mkt.set_raw_book([("98", "1")], [("99", "1")])
    mkt.mark = D("1")  # set directly: the pending mid is dropped
    assert mkt.mark == D("1")
