"""The matching engine: order types, precision errors, positions, TP/SL, funding, liquidation."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from bitunix.core.clock import ManualClock
from bitunix.sim.engine import HOUR_NS, FeeSchedule, MatchingEngine, SimOrderRequest
from bitunix.sim.errors import SimError
from bitunix.sim.shapes import dec

from .conftest import D, set_book


def req(side: str = "BUY", qty: str = "0.5", price: str | None = None, **kw: object
        ) -> SimOrderRequest:
    return SimOrderRequest(symbol="BTCUSDT", side=side, order_type="LIMIT" if price else "MARKET",
                           qty=D(qty), price=D(price) if price else None, **kw)  # type: ignore[arg-type]


def code_of(engine: MatchingEngine, r: SimOrderRequest, uid: str = "u1") -> int:
    with pytest.raises(SimError) as info:
        engine.place_order(uid, r)
    return info.value.code


def pushes(engine: MatchingEngine) -> list[tuple[str, str, dict[str, object]]]:
    out: list[tuple[str, str, dict[str, object]]] = []
    engine.listeners.append(lambda uid, ch, data: out.append((uid, ch, data)))
    return out


def test_market_buy_walks_the_asks_and_pays_taker_fee(engine: MatchingEngine) -> None:
    order = engine.place_order("u1", req(qty="1.5"))
    assert order.status == "FILLED"
    acct = engine.accounts["u1"]
    assert [(f.price, f.qty, f.role) for f in acct.fills] == [
        (D("60000.0"), D("1"), "TAKER"), (D("60000.1"), D("0.5"), "TAKER")]
    fee = (D("60000.0") + D("60000.1") * D("0.5")) * D("0.0006")
    assert acct.wallet == D("100000") - fee
    pos = acct.positions[("BTCUSDT", "LONG")]
    assert pos.qty == D("1.5")
    assert pos.entry_value == D("60000.0") + D("30000.05")
    # the consumed level is gone from the private copy until the next snapshot
    assert engine.market("BTCUSDT").asks[0] == [D("60000.1"), D("0.5")]


def test_resting_limit_fills_as_maker_at_its_price_when_a_trade_prints_through(
        engine: MatchingEngine) -> None:
    order = engine.place_order("u1", req(qty="0.3", price="59990"))
    assert order.status == "NEW"
    engine.on_trade("BTCUSDT", D("59995"), D("1"), False)  # above our bid: no fill
    assert order.filled_qty == 0
    engine.on_trade("BTCUSDT", D("59989"), D("0.1"), False)
    assert (order.status, order.filled_qty) == ("PART_FILLED", D("0.1"))
    engine.on_trade("BTCUSDT", D("59990"), D("1"), False)  # at touch fills the rest
    assert order.status == "FILLED"
    fills = engine.accounts["u1"].fills
    assert {f.price for f in fills} == {D("59990")}
    assert {f.role for f in fills} == {"MAKER"}
    assert sum(f.fee for f in fills) == D("0.3") * D("59990") * D("0.0002")


def test_resting_order_fills_when_the_book_moves_across_it(engine: MatchingEngine) -> None:
    order = engine.place_order("u1", req(side="SELL", qty="2", price="60010"))
    set_book(engine, mid="60020", qty="1.5")  # bids 60019.9 ... cross our ask at 60010
    assert order.filled_qty == D("2")
    assert engine.accounts["u1"].fills[0].price == D("60010")


def test_ioc_fok_and_post_only(engine: MatchingEngine) -> None:
    ioc = engine.place_order("u1", req(qty="1.5", price="60000", effect="IOC"))
    assert (ioc.status, ioc.filled_qty) == ("PART_FILLED_CANCELED", D("1"))
    set_book(engine)
    fok = engine.place_order("u1", req(qty="2.5", price="60000.1", effect="FOK"))
    assert (fok.status, fok.filled_qty) == ("SYSTEM_CANCELED", D(0))
    fok2 = engine.place_order("u1", req(qty="0.2", price="60000.1", effect="FOK"))
    assert fok2.status == "FILLED"
    post = engine.place_order("u1", req(qty="0.1", price="60000.5", effect="POST_ONLY"))
    assert post.status == "SYSTEM_CANCELED"
    post2 = engine.place_order("u1", req(qty="0.1", price="59999", effect="POST_ONLY"))
    assert post2.status == "NEW"
    ioc_none = engine.place_order("u1", req(qty="0.1", price="59000", effect="IOC"))
    assert ioc_none.status == "SYSTEM_CANCELED"


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"qty": "0.00015"}, 10002),            # not a multiple of the step
    ({"qty": "0"}, 30016),
    ({"qty": "0.00001"}, 10002),
    ({"qty": "501"}, 30013),                 # above maxMarketOrderVolume
    ({"qty": "0.1", "price": "60000.05"}, 10002),  # not a multiple of the tick
    ({"qty": "0.1", "price": "70000"}, 30014),     # above mark * (1 + 0.05)
    ({"side": "SELL", "qty": "0.1", "price": "50000"}, 30015),
    ({"qty": "1", "price": "60000", "effect": "GTD"}, 10002),
    ({"side": "HOLD"}, 10002),
    ({"qty": "100"}, 20003),                 # needs 300k margin at 20x with 10k balance
])
def test_validation_errors(engine: MatchingEngine, kwargs: dict[str, str], code: int) -> None:
    assert code_of(engine, req(**kwargs)) == code  # type: ignore[arg-type]
    assert engine.accounts["u1"].orders == {}


def test_min_qty_unknown_symbol_duplicate_client_id_and_status(engine: MatchingEngine) -> None:
    eth = SimOrderRequest(symbol="ETHUSDT", side="BUY", order_type="MARKET", qty=D("0.001"))
    assert code_of(engine, eth) == 30017
    bad = SimOrderRequest(symbol="NOPEUSDT", side="BUY", order_type="MARKET", qty=D("1"))
    assert code_of(engine, bad) == 20015
    engine.place_order("u1", req(qty="0.1", price="59000", client_id="c1"))
    assert code_of(engine, req(qty="0.1", price="59000", client_id="c1")) == 30042
    missing = SimOrderRequest(symbol="BTCUSDT", side="BUY", order_type="LIMIT", qty=D("1"))
    assert code_of(engine, missing) == 10002
    engine.contracts["BTCUSDT"] = engine.contracts["BTCUSDT"].__class__(
        **{**{f: getattr(engine.contracts["BTCUSDT"], f)
              for f in engine.contracts["BTCUSDT"].__slots__}, "status": "CANCEL_ONLY"})
    assert code_of(engine, req()) == 20012


def test_reduce_only_errors_and_never_flips(engine: MatchingEngine) -> None:
    assert code_of(engine, req(side="SELL", reduce_only=True)) == 30018
    engine.place_order("u1", req(qty="0.5"))
    assert code_of(engine, req(side="BUY", reduce_only=True)) == 30019
    set_book(engine)
    order = engine.place_order("u1", req(side="SELL", qty="2", reduce_only=True))
    acct = engine.accounts["u1"]
    assert acct.positions == {}
    assert (order.status, order.filled_qty) == ("PART_FILLED_CANCELED", D("0.5"))


def test_one_way_netting_flips_with_a_new_position_id(engine: MatchingEngine) -> None:
    engine.place_order("u1", req(qty="1"))
    acct = engine.accounts["u1"]
    first = acct.positions[("BTCUSDT", "LONG")].position_id
    set_book(engine, mid="60100", qty="5")
    engine.place_order("u1", req(side="SELL", qty="3"))
    short = acct.positions[("BTCUSDT", "SHORT")]
    assert ("BTCUSDT", "LONG") not in acct.positions
    assert short.qty == D("2")
    assert short.position_id != first
    # closing the long at the best bid 60099.9 realized 99.9 on one coin
    assert acct.closed_positions[0].realized_pnl == D("99.9")


def test_hedge_mode_open_both_sides_and_documented_close(clock: ManualClock) -> None:
    engine = MatchingEngine(clock)
    engine.add_account("h", D("100000"), position_mode="HEDGE")
    set_book(engine, qty="10")
    assert code_of(engine, req(qty="1"), "h") == 10002  # tradeSide required in hedge mode
    engine.place_order("h", req(qty="1", trade_side="OPEN"))
    engine.place_order("h", req(side="SELL", qty="2", trade_side="OPEN"))
    acct = engine.accounts["h"]
    long_, short = acct.positions[("BTCUSDT", "LONG")], acct.positions[("BTCUSDT", "SHORT")]
    assert (long_.qty, short.qty) == (D("1"), D("2"))
    # documented form: BUY + CLOSE + the long's id closes the long (real action SELL)
    wrong = req(side="SELL", qty="1", trade_side="CLOSE", position_id=long_.position_id)
    assert code_of(engine, wrong, "h") == 10002
    assert code_of(engine, req(qty="1", trade_side="OPEN", reduce_only=True), "h") == 10002
    assert code_of(engine, req(qty="1", trade_side="CLOSE", position_id="42"), "h") == 30004
    close = engine.place_order("h", req(qty="1", trade_side="CLOSE",
                                        position_id=long_.position_id))
    assert close.side == "SELL"
    assert close.status == "FILLED"
    assert ("BTCUSDT", "LONG") not in acct.positions
    assert acct.positions[("BTCUSDT", "SHORT")].qty == D("2")
    assert code_of(engine, req(qty="1", trade_side="CLOSE"), "h") == 30004
    engine.quirks = True  # quirks: the opposite side is accepted when positionId is valid
    quirky = engine.place_order("h", req(side="BUY", qty="1", trade_side="CLOSE",
                                         position_id=short.position_id))
    assert quirky.side == "BUY"
    assert short.qty == D("1")


def test_account_settings(engine: MatchingEngine) -> None:
    with pytest.raises(SimError) as bad_lev:
        engine.change_leverage("u1", "BTCUSDT", 200)
    assert bad_lev.value.code == 20005
    engine.change_leverage("u1", "BTCUSDT", 10)
    engine.place_order("u1", req(qty="0.1", price="59000"))
    for call, code in [
        (lambda: engine.change_leverage("u1", "BTCUSDT", 5), 20006),
        (lambda: engine.change_margin_mode("u1", "BTCUSDT", "ISOLATION"), 20006),
        (lambda: engine.change_position_mode("u1", "HEDGE"), 20009),
        (lambda: engine.change_margin_mode("u1", "BTCUSDT", "BOTH"), 10002),
        (lambda: engine.change_position_mode("u1", "BOTH"), 10002),
        (lambda: engine.account("nobody"), 10002),
    ]:
        with pytest.raises(SimError) as info:
            call()
        assert info.value.code == code
    engine.cancel_all("u1")
    engine.change_margin_mode("u1", "BTCUSDT", "ISOLATION")
    engine.change_position_mode("u1", "HEDGE")
    assert engine.accounts["u1"].position_mode == "HEDGE"


def test_margin_frozen_and_available(engine: MatchingEngine) -> None:
    acct = engine.accounts["u1"]
    engine.change_leverage("u1", "BTCUSDT", 10)
    engine.place_order("u1", req(qty="0.1", price="59000"))
    assert acct.frozen() == D("590")
    engine.place_order("u1", req(qty="0.1"))
    assert acct.position_margin() == D("600")
    assert acct.available() == acct.wallet - D("590") - D("600")


def test_cancel_and_modify(engine: MatchingEngine) -> None:
    order = engine.place_order("u1", req(qty="0.2", price="59000", client_id="abc"))
    engine.modify_order("u1", client_id="abc", qty=D("0.3"), price=D("59500"))
    assert (order.qty, order.price) == (D("0.3"), D("59500"))
    moved = engine.modify_order("u1", order_id=order.order_id, qty=D("0.3"), price=D("60000"))
    assert moved.status == "FILLED"  # now crosses the ask
    with pytest.raises(SimError) as info:
        engine.cancel_order("u1", order_id=order.order_id)
    assert info.value.code == 30011
    other = engine.place_order("u1", req(qty="0.2", price="59000"))
    done = engine.cancel_order("u1", "BTCUSDT", client_id=None, order_id=other.order_id)
    assert done.status == "CANCELED"
    for kwargs, code in [({"order_id": "1"}, 20007), ({}, 10002), ({"client_id": "zz"}, 20007)]:
        with pytest.raises(SimError) as err:
            engine.cancel_order("u1", **kwargs)  # type: ignore[arg-type]
        assert err.value.code == code


def test_modify_refused_keeps_the_order(engine: MatchingEngine) -> None:
    order = engine.place_order("u1", req(qty="0.2", price="59000"))
    with pytest.raises(SimError) as info:
        engine.modify_order("u1", order_id=order.order_id, qty=D("50"), price=D("59000"))
    assert info.value.code == 20003
    assert (order.qty, order.price) == (D("0.2"), D("59000"))


def test_order_pushes_follow_the_documented_event_sequence(engine: MatchingEngine) -> None:
    seen = pushes(engine)
    engine.place_order("u1", req(qty="1.5", price="60000.1"))
    orders = [(d["event"], d["orderStatus"]) for _, ch, d in seen if ch == "order"]
    assert orders == [("CREATE", "NEW"), ("UPDATE", "PART_FILLED"), ("CLOSE", "FILLED")]
    positions = [d["event"] for _, ch, d in seen if ch == "position"]
    assert positions == ["OPEN", "UPDATE"]
    assert any(ch == "balance" for _, ch, _ in seen)
    seen.clear()
    engine.close_all("u1")
    assert [d["event"] for _, ch, d in seen if ch == "position"][-1] == "CLOSE"


def test_funding_is_charged_at_the_settlement_instant(engine: MatchingEngine,
                                                      clock: ManualClock) -> None:
    engine.place_order("u1", req(qty="1"))
    acct = engine.accounts["u1"]
    before = acct.wallet
    clock.set_ns(engine.next_funding_ns - 1)
    set_book(engine)
    assert acct.wallet == before
    clock.set_ns(engine.next_funding_ns)
    set_book(engine)
    mark = engine.market("BTCUSDT").mark
    assert mark is not None
    assert acct.wallet - before == -(mark * D("0.0001"))
    assert acct.ledger[-1].kind == "funding"
    clock.advance_ns(8 * HOUR_NS * 2)  # two more settlements, charged once each
    set_book(engine)
    assert [e.kind for e in acct.ledger].count("funding") == 3


def test_position_tpsl_fires_once_on_last_price(engine: MatchingEngine) -> None:
    engine.place_order("u1", req(qty="1"))
    acct = engine.accounts["u1"]
    pos = acct.positions[("BTCUSDT", "LONG")]
    seen = pushes(engine)
    tp = engine.place_tpsl("u1", "BTCUSDT", pos.position_id, tp_price=D("60100"),
                           sl_price=D("59000"), position_level=True)
    assert engine.position_tpsl("u1", pos.position_id) is tp
    engine.on_trade("BTCUSDT", D("60050"), D("1"), True)
    assert tp.status == "NEW"
    set_book(engine, mid="60150")
    engine.on_trade("BTCUSDT", D("60150"), D("1"), True)
    engine.on_trade("BTCUSDT", D("60200"), D("1"), True)
    assert tp.status == "FILLED"
    assert tp.fired == "tp"
    assert acct.positions == {}
    fired = [d for _, ch, d in seen if ch == "tpsl" and d["status"] == "FILLED"]
    assert len(fired) == 1
    assert engine.position_tpsl("u1", pos.position_id) is None


def test_tpsl_order_on_mark_price_closes_its_qty(engine: MatchingEngine) -> None:
    engine.place_order("u1", req(qty="1"))
    pos = engine.accounts["u1"].positions[("BTCUSDT", "LONG")]
    with pytest.raises(SimError) as no_leg:
        engine.place_tpsl("u1", "BTCUSDT", pos.position_id)
    assert no_leg.value.code == 30006
    with pytest.raises(SimError) as too_big:
        engine.place_tpsl("u1", "BTCUSDT", pos.position_id, sl_price=D("59000"),
                          sl_qty=D("2"))
    assert too_big.value.code == 30038
    sl = engine.place_tpsl("u1", "BTCUSDT", pos.position_id, sl_price=D("59900"),
                           sl_stop_type="MARK_PRICE", sl_qty=D("0.4"))
    engine.on_trade("BTCUSDT", D("59000"), D("0.01"), False)  # last price: not our stop type
    assert sl.status == "NEW"
    set_book(engine, mid="59850")
    assert sl.status == "FILLED"
    assert pos.qty == D("0.6")


def test_attached_tpsl_becomes_a_tpsl_order_on_fill(engine: MatchingEngine) -> None:
    order = engine.place_order("u1", req(qty="1.5", price="60000.1", tp_price=D("61000"),
                                         sl_price=D("59000"), sl_stop_type="MARK"))
    acct = engine.accounts["u1"]
    (tp,) = acct.tpsl.values()
    assert order.attached_tpsl_id == tp.tpsl_id
    assert (tp.tp_qty, tp.sl_qty, tp.sl_stop_type) == (D("1.5"), D("1.5"), "MARK_PRICE")
    engine.modify_tpsl("u1", tp.tpsl_id, sl_price=D("59500"), sl_stop_type="LAST")
    assert (tp.sl_price, tp.sl_stop_type) == (D("59500"), "LAST_PRICE")
    with pytest.raises(SimError):
        engine.modify_tpsl("u1", tp.tpsl_id, symbol="ETHUSDT")
    engine.cancel_tpsl("u1", tp.tpsl_id)
    assert tp.status == "CANCELED"
    assert acct.tpsl == {}


def test_trailing_stop_follows_the_high_then_fires(engine: MatchingEngine) -> None:
    engine.place_order("u1", req(qty="1"))
    pos = engine.accounts["u1"].positions[("BTCUSDT", "LONG")]
    trail = engine.place_trailing_stop("u1", pos.position_id, D("0.01"))
    for px in ("60000", "60500", "61000", "60500"):
        engine.on_trade("BTCUSDT", D(px), D("0.01"), True)
    assert trail.status == "NEW"
    assert trail.trail_extreme == D("61000")
    set_book(engine, mid="60380", qty="5")
    engine.on_trade("BTCUSDT", D("60390"), D("0.01"), False)  # 61000 * 0.99 = 60390
    assert trail.status == "FILLED"
    assert engine.accounts["u1"].positions == {}


def test_isolated_liquidation_costs_at_most_the_margin(clock: ManualClock) -> None:
    engine = MatchingEngine(clock)
    engine.add_account("x", D("700"))
    engine.change_leverage("x", "BTCUSDT", 100)
    engine.change_margin_mode("x", "BTCUSDT", "ISOLATION")
    set_book(engine, qty="5")
    engine.place_order("x", req(qty="1"))
    acct = engine.accounts["x"]
    pos = acct.positions[("BTCUSDT", "LONG")]
    liq = engine.liquidation_price(pos)
    assert D("59000") < liq < D("60000")
    set_book(engine, mid=str((liq + 1).quantize(D("0.1"))))
    assert acct.positions
    margin, wallet = pos.margin, acct.wallet
    set_book(engine, mid="58000")  # gapped through: the loss exceeds the margin
    assert acct.positions == {}
    assert acct.wallet == wallet - margin  # isolated: never more than its margin
    assert acct.ledger[-1].kind == "insurance"


def test_fault_partial_fill_fraction(engine: MatchingEngine) -> None:
    engine.max_fill_fraction = D("0.5")
    order = engine.place_order("u1", req(qty="1", price="60000.1"))
    assert order.filled_qty == D("0.5")
    assert order.status == "PART_FILLED"
    # a one-lot order still fills: a fill is at least one lot
    step = engine.contracts["BTCUSDT"].step
    one = engine.place_order("u1", req(qty=str(step), price="60000.1"))
    assert one.filled_qty == step
    assert one.status == "FILLED"



def test_the_venues_close_of_a_whole_position_has_no_minimum_and_is_not_cut(
        engine: MatchingEngine) -> None:
    spec = engine.contracts["BTCUSDT"]
    engine.place_order("u1", req(qty="0.5"))
    engine.max_fill_fraction = D("0.5")
    (pos,) = engine.accounts["u1"].positions.values()
    # a reduce-only close fills half (the fault); then the rest is below the minimum...
    engine.place_order("u1", req(side="SELL", qty="0.5", reduce_only=True))
    assert pos.qty == D("0.25")
    # (a contract whose minimum is above it)
    engine.contracts["BTCUSDT"] = dataclasses.replace(spec, min_qty=D("0.3"))
    assert code_of(engine, req(side="SELL", qty="0.25", reduce_only=True)) == 30017
    # ...which the flash close takes whole, in one fill
    engine.flash_close("u1", pos.position_id)
    assert engine.accounts["u1"].positions == {}


def test_adjust_margin_and_fee_schedule(clock: ManualClock) -> None:
    engine = MatchingEngine(clock, fees=FeeSchedule(maker=D(0), taker=D("0.001")))
    engine.add_account("a", D("5000"))
    set_book(engine)
    engine.place_order("a", req(qty="0.1"))
    with pytest.raises(SimError):
        engine.adjust_margin("a", "BTCUSDT", D("10"), side="LONG")  # cross
    engine.close_all("a", "BTCUSDT")
    engine.change_margin_mode("a", "BTCUSDT", "ISOLATION")
    set_book(engine)
    engine.place_order("a", req(qty="0.1"))
    pos = engine.accounts["a"].positions[("BTCUSDT", "LONG")]
    before = pos.margin
    engine.adjust_margin("a", "BTCUSDT", D("100"), position_id=pos.position_id)
    assert pos.margin == before + 100
    for amount in (D("100000"), -pos.margin):
        with pytest.raises(SimError) as info:
            engine.adjust_margin("a", "BTCUSDT", amount, side="LONG")
        assert info.value.code == 20003
    with pytest.raises(SimError):
        engine.adjust_margin("a", "BTCUSDT", D("1"), side="SHORT")
    assert engine.accounts["a"].fills[0].fee == D("60000.0") * D("0.1") * D("0.001")


def test_flash_close(engine: MatchingEngine) -> None:
    engine.place_order("u1", req(qty="0.5"))
    pos = engine.accounts["u1"].positions[("BTCUSDT", "LONG")]
    engine.flash_close("u1", pos.position_id)
    assert engine.accounts["u1"].positions == {}
    with pytest.raises(SimError) as info:
        engine.flash_close("u1", pos.position_id)
    assert info.value.code == 30004


def test_decimal_is_exact_on_many_small_fills(engine: MatchingEngine) -> None:
    for _ in range(7):
        engine.place_order("u1", req(qty="0.0003"))
    for _ in range(3):
        engine.place_order("u1", req(side="SELL", qty="0.0007"))
    acct = engine.accounts["u1"]
    assert acct.positions == {}
    assert sum((e.amount for e in acct.ledger), Decimal(0)) == acct.wallet


def test_one_way_close_with_a_plain_order_needs_no_new_margin(clock: ManualClock) -> None:
    engine = MatchingEngine(clock)
    engine.add_account("t", D("400"))
    set_book(engine, qty="5")
    engine.place_order("t", req(qty="0.1"))  # 300 margin at 20x, 3.6 fee
    acct = engine.accounts["t"]
    assert acct.available() < D("100")
    assert code_of(engine, req(side="SELL", qty="0.3"), "t") == 20003  # would open 0.2 short
    engine.place_order("t", req(side="SELL", qty="0.1"))  # nets the long: allowed
    assert acct.positions == {}


def test_cross_liquidation_takes_the_wallet_but_never_below_zero(clock: ManualClock) -> None:
    engine = MatchingEngine(clock)
    engine.add_account("c", D("700"))
    engine.change_leverage("c", "BTCUSDT", 100)
    set_book(engine, qty="5")
    engine.place_order("c", req(qty="1"))
    acct = engine.accounts["c"]
    set_book(engine, mid="59800")
    assert acct.positions  # cross: the free balance still backs it
    set_book(engine, mid="58000")
    assert acct.positions == {}
    assert acct.wallet == 0
    assert acct.ledger[-1].kind == "insurance"


def test_a_resting_close_order_does_not_reduce_a_later_position(engine: MatchingEngine) -> None:
    engine.place_order("u1", req(qty="0.5"))
    acct = engine.accounts["u1"]
    first = acct.positions[("BTCUSDT", "LONG")].position_id
    tp = engine.place_order("u1", req(side="SELL", qty="0.5", price="60100", reduce_only=True))
    assert tp.status == "NEW"
    assert tp.target_position_id == first
    set_book(engine)
    engine.close_all("u1")
    set_book(engine)
    engine.place_order("u1", req(qty="0.5"))  # a new long, a new id
    second = acct.positions[("BTCUSDT", "LONG")]
    assert second.position_id != first
    engine.on_trade("BTCUSDT", D("60200"), D("1"), True)
    assert tp.status == "SYSTEM_CANCELED"
    assert tp.filled_qty == 0
    assert second.qty == D("0.5")


def test_funding_settles_positions_open_at_the_instant_not_those_opened_by_a_later_event(
        engine: MatchingEngine, clock: ManualClock) -> None:
    """Spec 6.4: only positions open at the settlement instant pay. An event stamped after
    the instant must not open a position that then pays, nor close one that escapes."""
    acct = engine.accounts["u1"]
    settle = engine.next_funding_ns
    # A resting buy is filled by the first trade after the settlement instant: the new
    # position did not exist at the instant and owes nothing.
    engine.place_order("u1", req(qty="0.5", price="59990"))
    clock.set_ns(settle + 1)
    engine.on_trade("BTCUSDT", D("59989"), D("1"), False)
    assert acct.positions[("BTCUSDT", "LONG")].qty == D("0.5")
    assert [e for e in acct.ledger if e.kind == "funding"] == []
    # The position is open at the next instant; the event after it closes the position
    # (a resting sell), and the settlement is still charged, at the settlement time.
    engine.place_order("u1", req(side="SELL", qty="0.5", price="60010", reduce_only=True))
    settle2 = engine.next_funding_ns
    clock.set_ns(settle2 + 1)
    engine.on_trade("BTCUSDT", D("60011"), D("1"), True)
    assert acct.positions == {}
    funding = [e for e in acct.ledger if e.kind == "funding"]
    assert len(funding) == 1
    assert funding[0].amount < 0  # a long pays a positive rate
    assert engine.funding_history[-1][0] == settle2


def test_one_way_attached_tpsl_never_lands_on_the_position_the_order_nets(
        engine: MatchingEngine) -> None:
    """One-way: a BUY with TP/SL for a long that only reduces a short must not put the long's
    TP/SL on the short (its TP at 61000 would fire at once and close the short); a BUY
    that flips gets a TP/SL for the part it opened."""
    acct = engine.accounts["u1"]
    engine.place_order("u1", req(side="SELL", qty="2"))
    short = acct.positions[("BTCUSDT", "SHORT")]
    set_book(engine)
    engine.place_order("u1", req(qty="1", tp_price=D("61000"), sl_price=D("59000")))
    assert short.qty == D("1")
    assert acct.tpsl == {}
    engine.on_trade("BTCUSDT", D("60000"), D("0.01"), True)
    assert acct.positions[("BTCUSDT", "SHORT")] is short
    assert short.qty == D("1")
    set_book(engine)
    engine.place_order("u1", req(qty="1.5", tp_price=D("61000"), sl_price=D("59000")))
    long = acct.positions[("BTCUSDT", "LONG")]
    assert long.qty == D("0.5")
    (tp,) = acct.tpsl.values()
    assert (tp.position_id, tp.pos_side) == (long.position_id, "LONG")
    assert (tp.tp_qty, tp.sl_qty) == (D("0.5"), D("0.5"))


def test_tpsl_prices_and_child_orders_are_validated_when_placed(engine: MatchingEngine) -> None:
    """Off-grid or non-positive trigger prices, an off-grid or missing limit child price and
    a bad stop type are refused up front (attached to an order: before it trades), not
    accepted and left to fail (or raise mid-fill) when the trigger fires."""
    acct = engine.accounts["u1"]
    for bad in ({"tp_price": D("61000.05")}, {"sl_price": D("-1")},
                {"tp_price": D("61000"), "tp_order_type": "LIMIT"},
                {"tp_price": D("61000"), "tp_order_type": "LIMIT",
                 "tp_order_price": D("61000.05")},
                {"sl_price": D("59000"), "sl_stop_type": "INDEX"}):
        with pytest.raises(SimError):
            engine.place_order("u1", req(qty="1", **bad))
        assert acct.positions == {}
        assert acct.open_orders == {}
    engine.place_order("u1", req(qty="1"))
    pos = acct.positions[("BTCUSDT", "LONG")]
    with pytest.raises(SimError) as off_grid:
        engine.place_tpsl("u1", "BTCUSDT", pos.position_id, tp_price=D("61000"),
                          tp_order_type="LIMIT", tp_order_price=D("61000.05"), tp_qty=D("1"))
    assert off_grid.value.code == 10002
    with pytest.raises(SimError):
        engine.place_tpsl("u1", "BTCUSDT", pos.position_id, sl_price=D("59000"),
                          sl_order_type="LIMIT", sl_qty=D("1"))
    with pytest.raises(SimError) as other_symbol:
        engine.place_tpsl("u1", "ETHUSDT", pos.position_id, sl_price=D("59000"),
                          sl_qty=D("1"))
    assert other_symbol.value.code == 30004
    assert acct.tpsl == {}
    tp = engine.place_tpsl("u1", "BTCUSDT", pos.position_id, tp_price=D("61000"),
                           tp_order_type="LIMIT", tp_order_price=D("61000.1"), tp_qty=D("1"))
    with pytest.raises(SimError):
        engine.modify_tpsl("u1", tp.tpsl_id, tp_order_price=D("61000.15"))
    assert tp.tp_order_price == D("61000.1")


def test_a_resting_order_and_its_modification_push_the_balance_they_freeze(
        engine: MatchingEngine) -> None:
    """Spec 5.5: balance is pushed when the balance changes; a resting limit order freezes
    margin (available drops, frozen rises) and a modification changes it again."""
    seen = pushes(engine)
    acct = engine.accounts["u1"]
    order = engine.place_order("u1", req(qty="1", price="59000"))
    assert order.status == "NEW"
    assert order.frozen > 0
    balances = [d for _, ch, d in seen if ch == "balance"]
    assert balances
    assert balances[-1]["frozen"] == dec(acct.frozen())
    assert balances[-1]["available"] == dec(acct.available())
    seen.clear()
    engine.modify_order("u1", order_id=order.order_id, qty=D("2"), price=D("59000"))
    balances = [d for _, ch, d in seen if ch == "balance"]
    assert balances
    assert balances[-1]["frozen"] == dec(acct.frozen())


def test_a_tpsl_whose_child_order_is_refused_pushes_failed_not_filled(
        engine: MatchingEngine) -> None:
    """The tpsl push must agree with the final state: a trigger whose child order is
    refused (here a limit sell below the price band) ends FAILED, and that is what the
    CLOSE push says, not FILLED (= child placed, spec 5.5)."""
    engine.place_order("u1", req(qty="1"))
    acct = engine.accounts["u1"]
    pos = acct.positions[("BTCUSDT", "LONG")]
    seen = pushes(engine)
    sl = engine.place_tpsl("u1", "BTCUSDT", pos.position_id, sl_price=D("59900"),
                           sl_order_type="LIMIT", sl_order_price=D("1000"), sl_qty=D("1"))
    engine.on_trade("BTCUSDT", D("59850"), D("0.01"), False)
    assert sl.status == "FAILED"
    assert pos.qty == D("1")
    closes = [d for _, ch, d in seen if ch == "tpsl" and d["event"] == "CLOSE"]
    assert [d["status"] for d in closes] == ["FAILED"]
    assert acct.tpsl_history[-1] is sl


def test_a_refused_tpsl_modification_changes_nothing(engine: MatchingEngine) -> None:
    engine.place_order("u1", req(qty="1"))
    pos = engine.accounts["u1"].positions[("BTCUSDT", "LONG")]
    tp = engine.place_tpsl("u1", "BTCUSDT", pos.position_id, tp_price=D("61000"),
                           tp_qty=D("1"))
    seen = pushes(engine)
    with pytest.raises(SimError):
        engine.modify_tpsl("u1", tp.tpsl_id, tp_price=D("62000"), symbol="ETHUSDT")
    assert tp.tp_price == D("61000")
    ptp = engine.place_tpsl("u1", "BTCUSDT", pos.position_id, sl_price=D("59000"),
                            position_level=True)
    seen.clear()
    with pytest.raises(SimError):
        engine.modify_tpsl("u1", ptp.tpsl_id, sl_price=D("58000"), sl_stop_type="INDEX")
    assert (ptp.sl_price, ptp.sl_stop_type) == (D("59000"), "LAST_PRICE")
    assert seen == []
