"""Properties of the matching engine over random order flow and market moves (hypothesis).

* no fill outside the book: a taker fill happens at a price level of the book in force,
  for no more than that level offered; a maker fill happens at the order's own price,
  only when the market traded or quoted at or through it;
* value is conserved exactly: after flattening, the wallet change equals the sum of the
  fills' cash flows minus fees plus funding (computed here from the fills, not from the
  engine's ledger), and also the sum of realized PnL minus fees plus funding;
* a reduce-only order never opens or flips a position;
* a TP/SL fires exactly once.
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
reduce_flags = st.sampled_from([False, False, False, True])
ops = st.one_of(
    st.tuples(st.just("market"), st.sampled_from(["BUY", "SELL"]), qtys, reduce_flags),
    st.tuples(st.just("limit"), st.sampled_from(["BUY", "SELL"]), qtys, offsets,
              st.sampled_from(["GTC", "GTC", "IOC", "FOK", "POST_ONLY"]), reduce_flags),
    st.tuples(st.just("book"), st.integers(-40, 40), st.integers(1, 30)),
    st.tuples(st.just("trade"), offsets, qtys, st.booleans()),
    st.tuples(st.just("cancel"), st.integers(0, 20)),
    st.tuples(st.just("tpsl"), st.integers(1, 25), st.sampled_from(["LAST_PRICE", "MARK_PRICE"])),
    st.tuples(st.just("time"), st.integers(1, 9)),
)


class Harness:
    """Drives an engine and records what the properties need."""

    def __init__(self, hedge: bool) -> None:
        self.clock = ManualClock(START_NS)
        self.engine = MatchingEngine(self.clock)
        self.engine.add_account("p", D("1000000"), position_mode="HEDGE" if hedge else "ONE_WAY")
        self.hedge = hedge
        self.mid = D("60000")
        self.tpsl_fired: dict[str, int] = {}
        self.engine.listeners.append(self._on_push)
        self.set_book(D("60000"), 10)

    def _on_push(self, uid: str, ch: str, data: dict[str, object]) -> None:
        if ch == "tpsl" and data["status"] == "FILLED":
            key = str(data["orderId"])
            self.tpsl_fired[key] = self.tpsl_fired.get(key, 0) + 1

    def set_book(self, mid: Decimal, depth_units: int) -> None:
        self.mid = mid
        size = D(depth_units) * D("0.01")
        self.bids = [[mid - TICK * (i + 1), size] for i in range(5)]
        self.asks = [[mid + TICK * i, size] for i in range(5)]
        self.offered = {(p, "ask"): q for p, q in self.asks} | {(p, "bid"): q for p, q in self.bids}
        self.taken: dict[tuple[Decimal, str], Decimal] = {}
        self.engine.on_book("BTCUSDT", [list(lv) for lv in self.bids],
                            [list(lv) for lv in self.asks])

    @property
    def acct(self):  # type: ignore[no-untyped-def]
        return self.engine.accounts["p"]

    def place(self, r: SimOrderRequest) -> None:
        before = len(self.acct.fills)
        positions_before = {k: p.qty for k, p in self.acct.positions.items()}
        try:
            order = self.engine.place_order("p", r)
        except SimError:
            return
        for fill in self.acct.fills[before:]:
            if fill.order_id != order.order_id:
                continue
            if fill.role == "TAKER":
                side = "ask" if fill.side == "BUY" else "bid"
                key = (fill.price, side)
                assert key in self.offered, f"taker fill at {fill.price} not in the book"
                self.taken[key] = self.taken.get(key, D(0)) + fill.qty
                assert self.taken[key] <= self.offered[key]
                if order.price is not None:
                    assert (fill.price <= order.price if fill.side == "BUY"
                            else fill.price >= order.price)
            else:
                assert fill.price == order.price
        if order.reduce_only:
            positions_after = {k: p.qty for k, p in self.acct.positions.items()}
            for key, qty in positions_after.items():
                assert key in positions_before, "reduce-only opened a position"
                assert qty <= positions_before[key]

    def run(self, op: tuple[object, ...]) -> None:
        kind = op[0]
        if kind == "market":
            _, side, qty, reduce = op
            self.place(self._request(str(side), D(str(qty)), None, "GTC", bool(reduce)))
        elif kind == "limit":
            _, side, qty, off, effect, reduce = op
            price = self.mid + TICK * int(str(off))
            self.place(self._request(str(side), D(str(qty)), price, str(effect), bool(reduce)))
        elif kind == "book":
            _, move, depth = op
            self.set_book(self.mid + TICK * int(str(move)), int(str(depth)))
        elif kind == "trade":
            _, off, qty, is_buy = op
            price = self.mid + TICK * int(str(off))
            before = len(self.acct.fills)
            self.engine.on_trade("BTCUSDT", price, D(str(qty)), bool(is_buy))
            for fill in self.acct.fills[before:]:
                if fill.role == "MAKER":  # resting orders fill only when printed through
                    assert (price <= fill.price if fill.side == "BUY" else price >= fill.price)
        elif kind == "cancel":
            open_ids = sorted(self.acct.open_orders)
            if open_ids:
                self.engine.cancel_order("p", order_id=open_ids[int(str(op[1])) % len(open_ids)])
        elif kind == "tpsl":
            _, dist, stop = op
            for pos in list(self.acct.positions.values()):
                up = self.mid + TICK * int(str(dist))
                down = self.mid - TICK * int(str(dist))
                tp, sl = (up, down) if pos.side == "LONG" else (down, up)
                self.engine.place_tpsl("p", "BTCUSDT", pos.position_id, tp_price=tp,
                                       sl_price=sl, tp_stop_type=str(stop),
                                       sl_stop_type=str(stop), position_level=True)
        elif kind == "time":
            self.clock.advance_ns(int(str(op[1])) * HOUR_NS)

    def _request(self, side: str, qty: Decimal, price: Decimal | None, effect: str,
                 reduce: bool) -> SimOrderRequest:
        trade_side = None
        position_id = None
        if self.hedge:
            trade_side = "CLOSE" if reduce else "OPEN"
            if reduce:
                pos = self.acct.positions.get(("BTCUSDT", "LONG" if side == "BUY" else "SHORT"))
                position_id = pos.position_id if pos else None
        return SimOrderRequest(symbol="BTCUSDT", side=side,
                               order_type="LIMIT" if price else "MARKET",
                               qty=qty, price=price, effect=effect, reduce_only=reduce,
                               trade_side=trade_side, position_id=position_id)

    def flatten(self) -> None:
        self.engine.cancel_all("p")
        self.engine.on_book("BTCUSDT", [[self.mid - TICK, D("1000")]], [[self.mid, D("1000")]])
        self.engine.close_all("p")
        assert self.acct.positions == {}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hedge=st.booleans(), script=st.lists(ops, min_size=20, max_size=80))
def test_engine_properties(hedge: bool, script: list[tuple[object, ...]]) -> None:
    h = Harness(hedge)
    start = h.acct.wallet
    for op in script:
        h.run(op)
        if not hedge:
            sides = {k[1] for k in h.acct.positions}
            assert len(sides) <= 1, "one-way mode holds one side per symbol"
        assert h.acct.available() + h.acct.frozen() + h.acct.position_margin() == h.acct.wallet
    h.flatten()
    fills = h.acct.fills
    cash = sum(((f.qty * f.price) * (1 if f.side == "SELL" else -1) for f in fills), D(0))
    fees = sum((f.qty * f.price * (D("0.0002") if f.role == "MAKER" else D("0.0006"))
                for f in fills), D(0))
    assert fees == sum((f.fee for f in fills), D(0))
    funding = sum((e.amount for e in h.acct.ledger if e.kind == "funding"), D(0))
    insurance = sum((e.amount for e in h.acct.ledger if e.kind == "insurance"), D(0))
    change = h.acct.wallet - start
    assert change == cash - fees + funding + insurance
    assert change == sum((f.realized_pnl for f in fills), D(0)) - fees + funding + insurance
    assert all(n == 1 for n in h.tpsl_fired.values())
    for tp in h.acct.tpsl_history:
        assert tp.status in ("FILLED", "CANCELED", "SYSTEM_CANCELED", "FAILED")


@settings(max_examples=200, deadline=None)
@given(long=st.booleans(), stop=st.sampled_from(["LAST_PRICE", "MARK_PRICE"]),
       tp_ticks=st.integers(1, 200), sl_ticks=st.integers(1, 200),
       path=st.lists(st.integers(-60, 60), min_size=1, max_size=30))
def test_position_tpsl_fires_exactly_once_iff_crossed(long: bool, stop: str, tp_ticks: int,
                                                      sl_ticks: int, path: list[int]) -> None:
    h = Harness(hedge=False)
    h.place(SimOrderRequest(symbol="BTCUSDT", side="BUY" if long else "SELL",
                            order_type="MARKET", qty=D("0.1")))
    (pos,) = h.acct.positions.values()
    entry = pos.avg_price
    tp = entry + TICK * tp_ticks if long else entry - TICK * tp_ticks
    sl = entry - TICK * sl_ticks if long else entry + TICK * sl_ticks
    h.engine.place_tpsl("p", "BTCUSDT", pos.position_id, tp_price=tp, sl_price=sl,
                        tp_stop_type=stop, sl_stop_type=stop, position_level=True)
    crossed = False
    mid = h.mid
    for move in path:
        mid += TICK * move
        h.set_book(mid, 20)
        h.engine.on_trade("BTCUSDT", mid, D("0.001"), move > 0)
        mark = mid - TICK / 2
        for price in ([mark] if stop == "MARK_PRICE" else [mid]):
            if long:
                crossed = crossed or price >= tp or price <= sl
            else:
                crossed = crossed or price <= tp or price >= sl
    fired = sum(h.tpsl_fired.values())
    assert fired == (1 if crossed else 0)
    assert (h.acct.positions == {}) == crossed


@settings(max_examples=150, deadline=None)
@given(long=st.booleans(), isolated=st.booleans(), leverage=st.integers(20, 125),
       path=st.lists(st.integers(-2000, 6000), min_size=10, max_size=25))
def test_liquidation_keeps_the_wallet_whole_and_no_position_under_maintenance(
        long: bool, isolated: bool, leverage: int, path: list[int]) -> None:
    clock = ManualClock(START_NS)
    engine = MatchingEngine(clock)
    engine.add_account("x", D("200"))
    engine.change_leverage("x", "BTCUSDT", leverage)
    engine.change_margin_mode("x", "BTCUSDT", "ISOLATION" if isolated else "CROSS")
    mid = D("60000")
    bids = [[mid - TICK * (i + 1), D("5")] for i in range(5)]
    asks = [[mid + TICK * i, D("5")] for i in range(5)]
    engine.on_book("BTCUSDT", bids, asks)
    acct = engine.accounts["x"]
    try:
        engine.place_order("x", SimOrderRequest(symbol="BTCUSDT", side="BUY" if long else "SELL",
                                                order_type="MARKET", qty=D("0.05")))
    except SimError:
        return  # not enough balance at this leverage
    mmr = engine.contracts["BTCUSDT"].maintenance_margin_rate
    for move in path:
        wallet_before = acct.wallet
        isolated_margin = sum((p.margin for p in acct.positions.values()
                               if p.margin_mode == "ISOLATION"), D(0))
        liq_before = {p.position_id: engine.liquidation_price(p)
                      for p in acct.positions.values() if p.margin_mode == "ISOLATION"}
        mid += TICK * (-move if long else move)  # drifting against the position
        engine.on_book("BTCUSDT", [[mid - TICK * (i + 1), D("5")] for i in range(5)],
                       [[mid + TICK * i, D("5")] for i in range(5)])
        assert acct.wallet >= 0
        gone = set(liq_before) - {p.position_id for p in acct.positions.values()}
        for pid in gone:  # liquidated: the mark reached the price shown for it
            new_mark = engine.markets["BTCUSDT"].mark
            assert new_mark is not None
            liq = liq_before[pid]
            assert new_mark <= liq + D("1e-6") if long else new_mark >= liq - D("1e-6")
        if isolated:  # an isolated position never costs more than its margin
            assert wallet_before - acct.wallet <= isolated_margin
        mark = engine.markets["BTCUSDT"].mark
        assert mark is not None
        for pos in acct.positions.values():
            equity = pos.margin + pos.unrealized(mark)
            if pos.margin_mode == "CROSS":
                equity += max(acct.available(), D(0))
            assert equity > pos.qty * mark * mmr
            liq = engine.liquidation_price(pos)  # what get_pending_positions shows
            tolerance = D("1e-6")
            assert mark > liq - tolerance if pos.side == "LONG" else mark < liq + tolerance
    engine.close_all("x")
    fills = acct.fills
    cash = sum(((f.qty * f.price) * (1 if f.side == "SELL" else -1) for f in fills), D(0))
    fees = sum((f.fee for f in fills), D(0))
    insurance = sum((e.amount for e in acct.ledger if e.kind == "insurance"), D(0))
    assert acct.wallet - D("200") == cash - fees + insurance
