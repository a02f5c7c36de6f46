"""The engine's idle-event fast path changes nothing (hypothesis).

The same random script (trades and books around a drifting mid, fed as the venue's decimal
strings; orders, TP/SLs, trailing stops, modifications, cancels and funding time placed
between them) runs on two engines: one with the fast path (per-symbol watch windows, books
converted only when read) and a reference with ``fast_path=False`` fed exact Decimal levels,
which checks every event against every resting order, trigger and position. Every push,
fill, position, order, ledger entry and market figure must be equal, representation
included.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bitunix.core.clock import ManualClock
from bitunix.sim.engine import HOUR_NS, MatchingEngine, SimOrderRequest
from bitunix.sim.errors import SimError

from .conftest import START_NS

D = Decimal
TICK = D("0.1")

qtys = st.integers(1, 40).map(lambda n: D(n) * D("0.0005"))
offsets = st.integers(-30, 30)
market = st.tuples(st.just("market"), st.sampled_from(["BUY", "SELL"]), qtys, st.booleans())
limit = st.tuples(st.just("limit"), st.sampled_from(["BUY", "SELL"]), qtys, offsets,
                  st.sampled_from(["GTC", "GTC", "IOC", "FOK", "POST_ONLY"]), st.booleans(),
                  st.booleans())
book = st.tuples(st.just("book"), st.integers(-40, 40), st.integers(0, 30), st.booleans())
trade = st.tuples(st.just("trade"), offsets, qtys, st.booleans(), st.booleans())
trades = st.tuples(st.just("trades"), st.lists(st.tuples(offsets, st.booleans()), max_size=12))
tpsl = st.tuples(st.just("tpsl"), st.integers(1, 25),
                 st.sampled_from(["LAST_PRICE", "MARK_PRICE"]), st.booleans())
# Market events and the orders that arm the fast path's windows weigh more than the rest.
ops = st.one_of(
    market, market, limit, limit, limit, book, book, book, trade, trade, trades, trades,
    tpsl, tpsl,
    st.tuples(st.just("cancel"), st.integers(0, 20)),
    st.tuples(st.just("modify"), st.integers(0, 20), offsets),
    st.tuples(st.just("trail"), st.integers(1, 30), st.sampled_from(["LAST_PRICE", "MARK_PRICE"])),
    st.tuples(st.just("time"), st.integers(1, 9)),
    st.tuples(st.just("jump"), st.sampled_from([-1, 1]).flatmap(
        lambda sign: st.integers(500, 4000).map(lambda n: sign * n))),
)


def _text(levels: list[list[Decimal]]) -> list[tuple[str, str]]:
    # Trailing zeros kept: the fast path must keep the strings' own representation.
    return [(f"{p:.2f}", f"{q:.4f}") for p, q in levels]


class Twin:
    """Two engines driven alike: ``fast`` (fed strings) and ``ref`` (fast path off, fed
    Decimal levels)."""

    def __init__(self, hedge: bool, slippage_ticks: int = 0, account: str = "rich") -> None:
        self.clock = ManualClock(START_NS)
        self.fast = MatchingEngine(self.clock, slippage_ticks=slippage_ticks)
        self.ref = MatchingEngine(self.clock, fast_path=False, slippage_ticks=slippage_ticks)
        self.pushes: dict[str, list[tuple[str, str, dict[str, object]]]] = {"fast": [],
                                                                               "ref": []}
        for name, eng in (("fast", self.fast), ("ref", self.ref)):
            # "rich" is never liquidated; the others trade at 125x and are, by "jump" moves.
            eng.add_account("p", D("1000000") if account == "rich" else D("300"),
                            position_mode="HEDGE" if hedge else "ONE_WAY")
            if account != "rich":
                eng.change_leverage("p", "BTCUSDT", 125)
                eng.change_margin_mode("p", "BTCUSDT", account)
            eng.listeners.append(lambda u, c, d, k=name: self.pushes[k].append((u, c, d)))
        self.hedge = hedge
        self.mid = D("60000")
        self.book(0, 10, both=True)

    def both(self, call: str, *args: object, **kw: object) -> None:
        outcomes = []
        for eng in (self.fast, self.ref):
            try:
                getattr(eng, call)(*args, **kw)
                outcomes.append("ok")
            except SimError as exc:
                outcomes.append(f"{exc.code}")
        assert outcomes[0] == outcomes[1], (call, outcomes)

    def book(self, move: int, depth: int, *, both: bool) -> None:
        self.mid += TICK * move
        size = D(depth) * D("0.01")
        bids = [[self.mid - TICK * (i + 1), size] for i in range(5)] if depth else []
        asks = [[self.mid + TICK * i, size] for i in range(5 if both else 0)] if depth else []
        self.fast.on_book_text("BTCUSDT", _text(bids), _text(asks))
        self.ref.on_book("BTCUSDT", [[D(p), D(q)] for p, q in _text(bids)],
                         [[D(p), D(q)] for p, q in _text(asks)])

    def trade(self, off: int, qty: Decimal, is_buy: bool) -> None:
        price = f"{self.mid + TICK * off:.2f}"
        self.fast.on_trade_text("BTCUSDT", price, f"{qty:.4f}", is_buy)
        self.ref.on_trade("BTCUSDT", D(price), D(f"{qty:.4f}"), is_buy)

    def request(self, side: str, qty: Decimal, price: Decimal | None, effect: str, *,
                reduce: bool, tpsl: bool = False) -> SimOrderRequest:
        acct = self.fast.accounts["p"]
        trade_side = position_id = None
        if self.hedge:
            trade_side = "CLOSE" if reduce else "OPEN"
            if reduce:
                pos = acct.positions.get(("BTCUSDT", "LONG" if side == "BUY" else "SHORT"))
                position_id = pos.position_id if pos else None
        r = SimOrderRequest(symbol="BTCUSDT", side=side, order_type="LIMIT" if price else "MARKET",
                            qty=qty, price=price, effect=effect, reduce_only=reduce,
                            trade_side=trade_side, position_id=position_id)
        if tpsl and not reduce:
            up, down = self.mid + TICK * 15, self.mid - TICK * 15
            r.tp_price, r.sl_price = (up, down) if side == "BUY" else (down, up)
        return r

    def run(self, op: tuple[object, ...]) -> None:
        kind = op[0]
        acct = self.fast.accounts["p"]
        if kind == "market":
            _, side, qty, reduce = op
            self.both("place_order", "p", self.request(str(side), D(str(qty)), None, "GTC",
                                                       reduce=bool(reduce)))
        elif kind == "limit":
            _, side, qty, off, effect, reduce, tpsl = op
            price = self.mid + TICK * int(str(off))
            self.both("place_order", "p", self.request(str(side), D(str(qty)), price,
                                                       str(effect), reduce=bool(reduce),
                                                       tpsl=bool(tpsl)))
        elif kind == "book":
            _, move, depth, two_sided = op
            self.book(int(str(move)), int(str(depth)), both=bool(two_sided))
        elif kind == "trade":
            _, off, qty, is_buy, _unused = op
            self.trade(int(str(off)), D(str(qty)), bool(is_buy))
        elif kind == "trades":
            for off, is_buy in op[1]:  # type: ignore[attr-defined]
                self.trade(int(off), D("0.001"), bool(is_buy))
        elif kind == "cancel":
            open_ids = sorted(acct.open_orders)
            if open_ids:
                self.both("cancel_order", "p", order_id=open_ids[int(str(op[1])) % len(open_ids)])
        elif kind == "modify":
            open_ids = sorted(acct.open_orders)
            if open_ids:
                oid = open_ids[int(str(op[1])) % len(open_ids)]
                order = acct.open_orders[oid]
                self.both("modify_order", "p", order_id=oid, qty=order.qty,
                          price=self.mid + TICK * int(str(op[2])))
        elif kind == "tpsl":
            _, dist, stop, position_level = op
            for pos in list(acct.positions.values()):
                up, down = self.mid + TICK * int(str(dist)), self.mid - TICK * int(str(dist))
                tp, sl = (up, down) if pos.side == "LONG" else (down, up)
                qty = None if position_level else pos.qty
                self.both("place_tpsl", "p", "BTCUSDT", pos.position_id, tp_price=tp,
                          sl_price=sl, tp_stop_type=str(stop), sl_stop_type=str(stop),
                          tp_qty=qty, sl_qty=qty, position_level=bool(position_level))
        elif kind == "trail":
            _, rate, stop = op
            for pos in list(acct.positions.values()):
                self.both("place_trailing_stop", "p", pos.position_id,
                          D(int(str(rate))) / 10_000, stop_type=str(stop))
        elif kind == "jump":
            self.book(int(str(op[1])), 20, both=True)
        elif kind == "time":
            self.clock.advance_ns(int(str(op[1])) * HOUR_NS)

    def assert_same(self) -> None:
        assert self.pushes["fast"] == self.pushes["ref"]
        a, b = self.fast.accounts["p"], self.ref.accounts["p"]
        assert a == b  # every order, fill, position, TP/SL and ledger entry, field by field
        assert str(a.wallet) == str(b.wallet)
        ma, mb = self.fast.markets["BTCUSDT"], self.ref.markets["BTCUSDT"]
        for name in ("last", "mark", "open_24h", "high_24h", "low_24h", "base_volume",
                     "quote_volume", "last_ts_ns"):
            assert str(getattr(ma, name)) == str(getattr(mb, name)), name
        assert ma.bids == mb.bids
        assert ma.asks == mb.asks
        assert self.fast.funding_history == self.ref.funding_history


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hedge=st.booleans(), slippage=st.sampled_from([0, 0, 2]),
       account=st.sampled_from(["rich", "CROSS", "ISOLATION"]),
       script=st.lists(ops, min_size=10, max_size=70))
def test_fast_path_equals_the_reference(hedge: bool, slippage: int, account: str,
                                        script: list[tuple[object, ...]]) -> None:
    twin = Twin(hedge, slippage, account)
    for op in script:
        twin.run(op)
        twin.assert_same()


def test_margin_frozen_by_a_new_order_moves_the_liquidation_window() -> None:
    """A cross position safe at a mark becomes liquidatable at the same mark once an order
    freezes part of the free balance backing it: the window must follow."""
    twin = Twin(hedge=False, account="CROSS")
    twin.run(("market", "BUY", D("0.02"), False))
    pos = twin.fast.accounts["p"].positions[("BTCUSDT", "LONG")]
    liq = twin.fast.liquidation_price(pos)
    ticks_to_liq = int((twin.mid - liq) / TICK)
    twin.run(("jump", -(ticks_to_liq - 60)))  # 6 USDT above the liquidation price
    twin.assert_same()
    assert twin.fast.accounts["p"].positions  # still open
    twin.run(("limit", "SELL", D("0.0005"), 30, "GTC", False, False))
    twin.run(("limit", "BUY", D("0.02"), -30, "GTC", False, False))  # freezes ~10 USDT
    twin.run(("jump", 0))  # the same mark again
    twin.assert_same()
    assert not twin.fast.accounts["p"].positions  # liquidated by both engines
