"""The matching engine of the simulated exchange: pure, exact and clock-driven.

One engine serves the socket server (live/paper against ``bitunix-bot sim``) and the
backtester (in process), so every venue shares one model of the exchange.
:class:`MatchingEngine` is the facade; each concept lives in its own module:

* :mod:`~bitunix.sim.matching`: takers walk a private copy of the replayed book, resting
  orders fill as makers when a trade prints through them or the book moves across them;
* :mod:`~bitunix.sim.positions`: how a fill changes positions and the wallet (ledger
  entries only, so ``wallet change == sum(ledger)`` exactly);
* :mod:`~bitunix.sim.margin`: order margin, maintenance margin and liquidation;
* :mod:`~bitunix.sim.funding`: the settlement grid and what a position pays;
* :mod:`~bitunix.sim.tpsl` and :mod:`~bitunix.sim.triggers`: TP/SL on last or mark price,
  trailing stops (the engine's TP/SL calls go to :class:`~bitunix.sim.tpsl.TpSlDesk`);
* :mod:`~bitunix.sim.pushes`: the private pushes, ``(uid, channel, ws_data)``;
* :mod:`~bitunix.sim.state`: the plain data (orders, positions, accounts, market).

Money is :class:`~decimal.Decimal` throughout. Most market events touch nothing: no order
rests within reach, no trigger is near, no position is open. The engine keeps per symbol
the price window inside which an event changes nothing but the last price, mark and book
(resting limits, trigger levels), so such an event costs a few comparisons; the book's
strings become Decimal levels only when something reads them (see ``docs/simulator.md``).

Time comes from the injected :class:`~bitunix.core.clock.Clock`; nothing here does I/O.
"""

from __future__ import annotations

import itertools
from decimal import ROUND_DOWN, Decimal

from bitunix.core.clock import Clock
from bitunix.sim import margin, matching, positions
from bitunix.sim.contracts import SimContract, default_contracts
from bitunix.sim.errors import (
    ABNORMAL_ORDER_STATUS,
    CLIENT_ID_DUPLICATE,
    FUTURES_NOT_SUPPORTED,
    INSUFFICIENT_BALANCE,
    INVALID_LEVERAGE,
    OPEN_ORDERS_EXIST,
    ORDER_NOT_FOUND,
    PARAMETER_ERROR,
    POSITION_MODE_LOCKED,
    POSITION_NOT_EXIST,
    REDUCE_ONLY_NO_POSITION,
    REDUCE_ONLY_SAME_DIRECTION,
    TRADING_DISABLED,
    SimError,
)
from bitunix.sim.funding import FundingSchedule, funding_amount
from bitunix.sim.matching import RestingOrders
from bitunix.sim.pushes import PushPublisher
from bitunix.sim.state import (
    BUY,
    HOUR_NS,
    LONG,
    OPEN_STATUSES,
    SELL,
    SHORT,
    ZERO,
    DecimalCache,
    FeeSchedule,
    LedgerEntry,
    MarketState,
    PushListener,
    RawLevels,
    SimAccount,
    SimFill,
    SimLevel,
    SimOrder,
    SimOrderRequest,
    SimPosition,
    SimTpSl,
    opposite,
)
from bitunix.sim.tpsl import TpSlDesk, TriggerBook, check_tpsl_legs

__all__ = [
    "HOUR_NS",
    "OPEN_STATUSES",
    "FeeSchedule",
    "LedgerEntry",
    "MarketState",
    "MatchingEngine",
    "PushListener",
    "SimAccount",
    "SimFill",
    "SimLevel",
    "SimOrder",
    "SimOrderRequest",
    "SimPosition",
    "SimTpSl",
]


class MatchingEngine:
    """The simulated exchange without its sockets. See the module docstring.

    ``fees``: maker and taker rates; ``funding_rate_pct`` every ``funding_interval_h``
    hours; ``slippage_ticks``: every taker fill trades that many ticks worse than the level
    it takes (a buy higher, a sell lower), but never beyond a limit order's price nor below
    one tick; a liquidation (a taker at the mark) slips too; ``market_stats``: keep the
    24-hour ticker figures (open, high, low, volumes) that the REST and WebSocket tickers
    serve (a backtest reads none of them and may turn them off); ``fast_path`` False
    checks every event against every resting order, trigger and position, as if each could
    fill or fire (the reference the fast path is tested against).
    """

    def __init__(
        self,
        clock: Clock,
        *,
        contracts: dict[str, SimContract] | None = None,
        fees: FeeSchedule | None = None,
        funding_rate_pct: Decimal = Decimal("0.01"),
        funding_interval_h: int = 8,
        fill_at_touch: bool = True,
        quirks: bool = False,
        slippage_ticks: int = 0,
        market_stats: bool = True,
        fast_path: bool = True,
    ) -> None:
        if slippage_ticks < 0:
            raise ValueError(f"slippage_ticks {slippage_ticks} must be >= 0")
        self.clock = clock
        self.contracts = contracts if contracts is not None else default_contracts()
        self.fees = fees or FeeSchedule()
        self.fill_at_touch = fill_at_touch
        self.slippage_ticks = slippage_ticks
        self.market_stats = market_stats
        self.fast_path = fast_path
        self.pushes = PushPublisher(quirks=quirks)
        self.funding = FundingSchedule(clock.now_ns(), rate_pct=funding_rate_pct,
                                       interval_h=funding_interval_h)
        #: Fault injection: cap each fill at this fraction of what the book offers.
        self.max_fill_fraction: Decimal | None = None
        self.accounts: dict[str, SimAccount] = {}
        #: Decimal of the market data's strings, shared by every symbol.
        self.decimals = DecimalCache()
        self.markets: dict[str, MarketState] = {
            s: MarketState(decimals=self.decimals) for s in self.contracts}
        symbols = list(self.contracts)
        self._order_ids = itertools.count(1_000_000_001)
        self._position_ids = itertools.count(6_000_000_000_000_001)
        self._trade_ids = itertools.count(9_000_000_001)
        #: Per symbol, what market events must be checked against (see _refresh_watch);
        #: None: to be recomputed.
        self._watch: dict[str, _Watch | None] = dict.fromkeys(symbols)
        self._resting = RestingOrders(symbols, on_change=self._stale)
        self._triggers = TriggerBook(symbols, on_change=self._stale)
        self._tpsl = TpSlDesk(self, self._triggers)
        #: Open positions per symbol over all accounts: none, no liquidation check.
        self._open_positions: dict[str, int] = dict.fromkeys(symbols, 0)
        #: Moves whenever a wallet, a position or an order's frozen margin changes: the
        #: liquidation windows computed at another version are stale.
        self._accounts_version = 0
        self._liquidation_windows: dict[str, tuple[int, Decimal, Decimal]] = {}
        self._slippage = {s: c.tick * slippage_ticks for s, c in self.contracts.items()}

    # ------------------------------------------------------------------ facade state
    @property
    def listeners(self) -> list[PushListener]:
        """Receivers of the private pushes ``(uid, channel, ws_data)``."""
        return self.pushes.listeners

    @property
    def quirks(self) -> bool:
        """Format pushes and rows as the live venue sends them (see ``shapes``)."""
        return self.pushes.quirks

    @quirks.setter
    def quirks(self, value: bool) -> None:
        self.pushes.quirks = value

    @property
    def funding_rate_pct(self) -> Decimal:
        """The funding rate of every settlement, in percent."""
        return self.funding.rate_pct

    @funding_rate_pct.setter
    def funding_rate_pct(self, value: Decimal) -> None:
        self.funding.rate_pct = value

    @property
    def funding_interval_ns(self) -> int:
        """Time between funding settlements."""
        return self.funding.interval_ns

    @property
    def next_funding_ns(self) -> int:
        """The next settlement instant."""
        return self.funding.next_ns

    @property
    def last_funding_ns(self) -> int:
        """The last settlement instant passed (0: none yet)."""
        return self.funding.last_ns

    @property
    def funding_history(self) -> list[tuple[int, str, Decimal, Decimal]]:
        """Settlements: ``(ts_ns, symbol, rate in percent, mark price)``."""
        return self.funding.history

    # ------------------------------------------------------------------ accounts
    def add_account(self, uid: str, balance: Decimal, *,
                    position_mode: str = "ONE_WAY") -> SimAccount:
        """Create an account holding ``balance`` USDT (a ``deposit`` ledger entry)."""
        acct = SimAccount(uid=uid, wallet=ZERO, position_mode=position_mode)
        self.accounts[uid] = acct
        self._credit(acct, "deposit", balance, "initial")
        return acct

    def account(self, uid: str) -> SimAccount:
        """The account of ``uid``; unknown -> 10002."""
        try:
            return self.accounts[uid]
        except KeyError:
            raise SimError(PARAMETER_ERROR, f"unknown account {uid!r}") from None

    def contract(self, symbol: str) -> SimContract:
        """The contract of ``symbol`` (case-insensitive); unknown -> 20015."""
        spec = self.contracts.get(symbol.upper())
        if spec is None:
            raise SimError(FUTURES_NOT_SUPPORTED, symbol)
        return spec

    def leverage_of(self, acct: SimAccount, symbol: str) -> int:
        """The account's leverage for ``symbol`` (the contract default until changed)."""
        return acct.leverage.get(symbol, self.contract(symbol).default_leverage)

    def margin_mode_of(self, acct: SimAccount, symbol: str) -> str:
        """The account's margin mode for ``symbol`` (CROSS until changed)."""
        return acct.margin_mode.get(symbol, "CROSS")

    def change_leverage(self, uid: str, symbol: str, leverage: int) -> None:
        """Set the leverage of new positions of ``symbol`` (20005 out of range, 20006 orders)."""
        acct = self.account(uid)
        spec = self.contract(symbol)
        if not spec.min_leverage <= leverage <= spec.max_leverage:
            raise SimError(INVALID_LEVERAGE, f"{leverage} not in [{spec.min_leverage}, "
                           f"{spec.max_leverage}]")
        if any(o.symbol == spec.symbol for o in acct.open_orders.values()):
            raise SimError(OPEN_ORDERS_EXIST, spec.symbol)
        acct.leverage[spec.symbol] = leverage

    def change_margin_mode(self, uid: str, symbol: str, mode: str) -> None:
        """ISOLATION or CROSS for ``symbol``; refused with an open position or order."""
        acct = self.account(uid)
        spec = self.contract(symbol)
        if mode not in ("ISOLATION", "CROSS"):
            raise SimError(PARAMETER_ERROR, f"marginMode {mode!r}")
        busy = any(o.symbol == spec.symbol for o in acct.open_orders.values()) or any(
            k[0] == spec.symbol for k in acct.positions
        )
        if busy:
            raise SimError(OPEN_ORDERS_EXIST, spec.symbol)
        acct.margin_mode[spec.symbol] = mode

    def change_position_mode(self, uid: str, mode: str) -> None:
        """ONE_WAY or HEDGE, account-wide; refused (20009) with any position or order."""
        acct = self.account(uid)
        if mode not in ("ONE_WAY", "HEDGE"):
            raise SimError(PARAMETER_ERROR, f"positionMode {mode!r}")
        if acct.positions or acct.open_orders:
            raise SimError(POSITION_MODE_LOCKED)
        acct.position_mode = mode

    def adjust_margin(self, uid: str, symbol: str, amount: Decimal, *,
                      side: str | None = None, position_id: str | None = None) -> None:
        """Add (positive) or remove (negative) margin of an isolated position."""
        acct = self.account(uid)
        pos = self._find_position(acct, self.contract(symbol).symbol, side, position_id)
        if pos.margin_mode != "ISOLATION":
            raise SimError(PARAMETER_ERROR, "margin can only be adjusted in isolated mode")
        if amount > 0 and amount > acct.available():
            raise SimError(INSUFFICIENT_BALANCE)
        if amount < 0 and pos.margin + amount <= pos.qty * pos.avg_price * self.contract(
                symbol).maintenance_margin_rate:
            raise SimError(INSUFFICIENT_BALANCE, "margin would fall below maintenance")
        pos.margin += amount
        self._accounts_version += 1
        pos.mtime_ns = self.clock.now_ns()
        self._push_position(pos, "UPDATE")
        self._push_balance(acct)

    # ------------------------------------------------------------------ market data
    def market(self, symbol: str) -> MarketState:
        """The replayed market of ``symbol``."""
        return self.markets[self.contract(symbol).symbol]

    def on_book(self, symbol: str, bids: list[SimLevel], asks: list[SimLevel]) -> None:
        """Replace the public book (best first); match resting orders; mark-price triggers."""
        now = self.clock.now_ns()
        if now >= self.funding.next_ns:
            self._maybe_fund()  # a settlement instant before this event pays on the state before it
        mkt = self.markets[symbol]
        mkt.bids = bids
        mkt.asks = asks
        if bids and asks:
            mkt.mark = (bids[0][0] + asks[0][0]) / 2
        mkt.last_ts_ns = now
        watch = self._watch[symbol] or self._refresh_watch(symbol)
        if watch is not _IDLE or self._open_positions[symbol]:
            self._book_reached(symbol, mkt, watch)

    def on_book_text(self, symbol: str, bids: RawLevels, asks: RawLevels) -> None:
        """:meth:`on_book` with the levels as the venue's decimal strings, converted to exact
        levels only when something reads them (the book of an idle event never is)."""
        now = self.clock.now_ns()
        if now >= self.funding.next_ns:
            self._maybe_fund()
        mkt = self.markets[symbol]
        mkt.set_raw_book(bids, asks)  # and the mark, computed when read
        mkt.last_ts_ns = now
        watch = self._watch[symbol] or self._refresh_watch(symbol)
        if watch is not _IDLE or self._open_positions[symbol]:
            self._book_reached(symbol, mkt, watch)
        # else: no resting order, no trigger, no position: nothing to match or check

    def _book_reached(self, symbol: str, mkt: MarketState, watch: _Watch) -> None:
        """A book with something to check: resting orders it may cross, mark triggers and
        liquidations."""
        if self._resting.by_symbol[symbol]:
            # A resting buy at or above the best ask, or sell at or below the best bid.
            ask, bid = mkt.best_ask(), mkt.best_bid()
            if (ask is not None and ask <= watch[4]) or (bid is not None and bid >= watch[5]):
                self._match_resting_on_book(symbol, mkt)
        mark = mkt.mark
        if mark is not None:
            watch = self._watch[symbol] or self._refresh_watch(symbol)
            if not watch[2] < mark < watch[3]:
                self._tpsl.check(symbol, "MARK_PRICE", mark)
            if self._open_positions[symbol] or not self.fast_path:
                if self.fast_path:
                    low, high = self._liquidation_window(symbol)
                    if low < mark < high:
                        return  # every position of the symbol is clear of maintenance
                self._check_liquidations(symbol, mark)

    def _liquidation_window(self, symbol: str) -> tuple[Decimal, Decimal]:
        """Marks strictly inside which no open position of ``symbol`` reaches maintenance
        margin: above every long's and below every short's liquidation price, each moved
        away by a relative 1e-18 (far beyond the context's rounding of the price) so that
        the exact check decides every mark near one. Valid until an account changes."""
        cached = self._liquidation_windows.get(symbol)
        if cached is not None and cached[0] == self._accounts_version:
            return cached[1], cached[2]
        mmr = self.contracts[symbol].maintenance_margin_rate
        low, high = matching.NEG_INF, matching.INF
        for acct in self.accounts.values():
            for side in (LONG, SHORT):
                pos = acct.positions.get((symbol, side))
                if pos is None:
                    continue
                available = acct.available() if pos.margin_mode == "CROSS" else ZERO
                price = margin.liquidation_price(pos, mmr, available)
                if side == LONG:
                    low = max(low, price + price * _LIQUIDATION_GUARD)
                else:
                    high = min(high, price - price * _LIQUIDATION_GUARD)
        self._liquidation_windows[symbol] = (self._accounts_version, low, high)
        return low, high

    def on_trade(self, symbol: str, price: Decimal, qty: Decimal, is_buy: bool) -> None:
        """Record a public trade (aggressor ``is_buy``); fill resting orders it prints through."""
        now = self.clock.now_ns()
        if now >= self.funding.next_ns:
            self._maybe_fund()  # a settlement instant before this event pays on the state before it
        mkt = self.markets[symbol]
        mkt.last = price
        if self.market_stats:
            self._trade_stats(mkt, price, qty)
        if not mkt.has_mark():
            mkt.mark = price
        mkt.last_ts_ns = now
        watch = self._watch[symbol] or self._refresh_watch(symbol)
        if watch is _IDLE or watch[0] < price < watch[1]:
            return  # no resting order within reach, no last-price trigger near
        self._trade_reached(symbol, price, qty, is_buy)

    def on_trade_text(self, symbol: str, price: str, qty: str, is_buy: bool) -> None:
        """:meth:`on_trade` with price and qty as the venue's decimal strings: converted only
        if something needs them (a trade that can fill or fire nothing, with no ticker
        figures kept, converts neither)."""
        # on_trade written out again: this is the replay's hottest line.
        now = self.clock.now_ns()
        if now >= self.funding.next_ns:
            self._maybe_fund()
        mkt = self.markets[symbol]
        mkt.last_text = price
        if self.market_stats:
            self._trade_stats(mkt, self.decimals(price), self.decimals(qty))
        if not mkt.has_mark():
            mkt.mark = mkt.last
        mkt.last_ts_ns = now
        watch = self._watch[symbol] or self._refresh_watch(symbol)
        if watch is _IDLE:
            return
        value = mkt.last
        assert value is not None
        if watch[0] < value < watch[1]:
            return
        self._trade_reached(symbol, value, self.decimals(qty), is_buy)

    @staticmethod
    def _trade_stats(mkt: MarketState, price: Decimal, qty: Decimal) -> None:
        if mkt.open_24h is None:
            mkt.open_24h = mkt.high_24h = mkt.low_24h = price
        else:  # compared, not max()/min(): a call costs four comparisons here
            if price > mkt.high_24h:  # type: ignore[operator]  # noqa: PLR1730
                mkt.high_24h = price
            if price < mkt.low_24h:  # type: ignore[operator]  # noqa: PLR1730
                mkt.low_24h = price
        mkt.base_volume += qty
        mkt.quote_volume += qty * price

    def _trade_reached(self, symbol: str, price: Decimal, qty: Decimal, is_buy: bool) -> None:
        """A trade at or beyond a watched price: resting orders, last-price triggers."""
        if self._resting.by_symbol[symbol]:
            self._match_resting_on_trade(symbol, price, qty, is_buy)
        self._tpsl.check(symbol, "LAST_PRICE", price)

    def _stale(self, symbol: str) -> None:
        """Resting orders or triggers of ``symbol`` changed: recompute its watch window."""
        self._watch[symbol] = None

    def _refresh_watch(self, symbol: str) -> _Watch:
        """``(trade low, trade high, mark low, mark high, highest buy, lowest sell)``: a trade
        strictly inside ``(trade low, trade high)`` fills no resting order and fires no
        last-price trigger; a mark strictly inside the mark window fires no mark trigger;
        a book crosses a resting order only at or through the last two. ``_IDLE`` when
        nothing of ``symbol`` is watched."""
        if not self.fast_path:
            self._watch[symbol] = _EVERYTHING
            return _EVERYTHING
        high_buy, low_sell = self._resting.bounds(symbol)
        last_low, last_high = self._triggers.window(symbol, "LAST_PRICE")
        mark_low, mark_high = self._triggers.window(symbol, "MARK_PRICE")
        watch: _Watch = (max(high_buy, last_low), min(low_sell, last_high), mark_low,
                         mark_high, high_buy, low_sell)
        if watch == _IDLE:
            watch = _IDLE
        self._watch[symbol] = watch
        return watch

    # ------------------------------------------------------------------ orders
    def place_order(self, uid: str, req: SimOrderRequest) -> SimOrder:
        """Validate and execute ``req``; return the order (possibly already terminal)."""
        self._maybe_fund()  # positions open at a past settlement instant pay before changing
        acct = self.account(uid)
        spec = self.contract(req.symbol)
        spec.check_tradable()
        symbol = spec.symbol
        side = req.side.upper()
        order_type = req.order_type.upper()
        effect = (req.effect or "GTC").upper()
        if side not in (BUY, SELL):
            raise SimError(PARAMETER_ERROR, f"side {req.side!r}")
        if order_type not in ("LIMIT", "MARKET"):
            raise SimError(PARAMETER_ERROR, f"orderType {req.order_type!r}")
        if effect not in ("GTC", "IOC", "FOK", "POST_ONLY"):
            raise SimError(PARAMETER_ERROR, f"effect {req.effect!r}")
        spec.check_qty(req.qty, market=order_type == "MARKET", minimum=not req.whole_position)
        mkt = self.markets[symbol]
        if order_type == "LIMIT":
            if req.price is None:
                raise SimError(PARAMETER_ERROR, "price is required for LIMIT orders")
            spec.check_price(req.price)
        if mkt.mark is None:
            # No market data for this symbol yet: nothing to fill a MARKET order against and
            # no band for a LIMIT one. The venue lists only symbols that trade; refuse as it
            # refuses a symbol that does not allow trading.
            raise SimError(TRADING_DISABLED, f"{symbol} has no market data yet")
        if req.client_id and req.client_id in acct.client_ids:
            raise SimError(CLIENT_ID_DUPLICATE, req.client_id)
        if req.tp_price is not None or req.sl_price is not None:
            check_tpsl_legs(spec, tp_price=req.tp_price, tp_stop=req.tp_stop_type,
                            tp_type=req.tp_order_type, tp_order_price=req.tp_order_price,
                            sl_price=req.sl_price, sl_stop=req.sl_stop_type,
                            sl_type=req.sl_order_type, sl_order_price=req.sl_order_price)
        action, pos_side, closing = self._resolve_sides(acct, symbol, side, req)
        if order_type == "LIMIT" and req.price is not None:
            spec.check_band(req.price, is_buy=action == BUY, mark=mkt.mark)
        leverage = self.leverage_of(acct, symbol)
        now = self.clock.now_ns()
        order = SimOrder(
            order_id=str(next(self._order_ids)), uid=uid, symbol=symbol, side=action,
            pos_side=pos_side, order_type=order_type, effect=effect, qty=req.qty,
            price=req.price if order_type == "LIMIT" else None, client_id=req.client_id,
            reduce_only=req.reduce_only or closing, closing=closing, leverage=leverage,
            margin_mode=self.margin_mode_of(acct, symbol), position_mode=acct.position_mode,
            ctime_ns=now, mtime_ns=now, whole_position=req.whole_position,
        )
        if closing:
            order.target_position_id = acct.positions[(symbol, pos_side)].position_id
        if not order.reduce_only:
            margin.reserve(acct, order, mkt, self.fees.taker)
        if req.tp_price is not None or req.sl_price is not None:
            order.attached = req
        self._accounts_version += 1  # margin frozen
        acct.orders[order.order_id] = order
        if order.client_id:
            acct.client_ids[order.client_id] = order.order_id
        acct.open_orders[order.order_id] = order
        order.status = "NEW"
        self._push_order(order, "CREATE")
        self._execute_new(acct, order, mkt)
        if order.status == "NEW" and order.frozen:
            self._push_balance(acct)  # rests untouched with margin frozen (a fill pushes its own)
        return order

    def _resolve_sides(self, acct: SimAccount, symbol: str, side: str,
                       req: SimOrderRequest) -> tuple[str, str, bool]:
        """Map (side, tradeSide, positionId, reduceOnly) to (action, position side, closing)."""
        if acct.position_mode == "HEDGE":
            trade_side = (req.trade_side or "").upper()
            if trade_side not in ("OPEN", "CLOSE"):
                raise SimError(PARAMETER_ERROR, "tradeSide OPEN/CLOSE is required in hedge mode")
            if trade_side == "OPEN":
                if req.reduce_only:
                    raise SimError(PARAMETER_ERROR, "reduceOnly with tradeSide OPEN")
                return side, LONG if side == BUY else SHORT, False
            # Documented hedge close: `side` names the position (BUY closes the long).
            pos_side = LONG if side == BUY else SHORT
            if req.position_id:
                pos = self._position_by_id(acct, req.position_id)
                if pos.symbol != symbol:
                    raise SimError(POSITION_NOT_EXIST, req.position_id)
                if pos.side != pos_side:
                    if not self.quirks:
                        raise SimError(PARAMETER_ERROR, f"side {side} does not close the "
                                       f"{pos.side} position {pos.position_id}")
                    pos_side = pos.side
            elif (symbol, pos_side) not in acct.positions:
                raise SimError(POSITION_NOT_EXIST, f"{symbol} {pos_side}")
            return (SELL if pos_side == LONG else BUY), pos_side, True
        pos_side = LONG if side == BUY else SHORT
        if req.reduce_only:
            if (symbol, pos_side) in acct.positions:
                raise SimError(REDUCE_ONLY_SAME_DIRECTION, f"{symbol} {pos_side}")
            if (symbol, opposite(pos_side)) not in acct.positions:
                raise SimError(REDUCE_ONLY_NO_POSITION, symbol)
            return side, opposite(pos_side), True
        return side, pos_side, False

    def _execute_new(self, acct: SimAccount, order: SimOrder, mkt: MarketState) -> None:
        """Take liquidity now, then rest, cancel or finish according to the effect."""
        crosses = matching.crosses(order, mkt)
        if order.effect == "POST_ONLY" and order.order_type == "LIMIT" and crosses:
            self._finish(acct, order, "SYSTEM_CANCELED")
            return
        if order.effect == "FOK" and matching.available_liquidity(order, mkt) < order.remaining:
            self._finish(acct, order, "SYSTEM_CANCELED")
            return
        if crosses:
            self._take(acct, order, mkt)
        if order.status not in OPEN_STATUSES:
            return
        if order.order_type == "MARKET" or order.effect in ("IOC", "FOK"):
            self._finish(acct, order, "PART_FILLED_CANCELED" if order.filled_qty
                         else "SYSTEM_CANCELED")
        else:
            self._resting.add(order)

    def _cap(self, order: SimOrder, qty: Decimal) -> Decimal:
        """Cap a fill: fault-injected fraction and reduce-only never flipping a position."""
        if self.max_fill_fraction is not None and not order.whole_position:
            step = self.contracts[order.symbol].step
            # At least one lot: a fraction of a one-lot remainder would never fill at all.
            part = (order.remaining * self.max_fill_fraction).quantize(step, ROUND_DOWN)
            qty = min(qty, max(part, step))
        if order.reduce_only:
            acct = self.accounts[order.uid]
            pos = acct.positions.get((order.symbol, order.pos_side))
            if pos is None or (order.target_position_id is not None
                               and pos.position_id != order.target_position_id):
                return ZERO
            qty = min(qty, pos.qty)
        return qty

    def _take(self, acct: SimAccount, order: SimOrder, mkt: MarketState) -> None:
        self._walk(acct, order, mkt.asks if order.side == BUY else mkt.bids, maker=False)
        self._settle_status(acct, order)

    def _walk(self, acct: SimAccount, order: SimOrder, levels: list[SimLevel], *,
              maker: bool) -> None:
        role = "MAKER" if maker else "TAKER"
        for qty, price in matching.walk(order, levels, maker, self._cap,
                                        one_fill=self.max_fill_fraction is not None):
            self._fill(acct, order, qty, price, role)

    def _settle_status(self, acct: SimAccount, order: SimOrder) -> None:
        if order.remaining <= 0:
            self._finish(acct, order, "FILLED")
        elif order.reduce_only and self._cap(order, order.remaining) <= 0:
            # Nothing left to reduce: the remainder is cancelled rather than flipping.
            self._finish(acct, order, "PART_FILLED_CANCELED" if order.filled_qty
                         else "SYSTEM_CANCELED")

    def _match_resting_on_trade(self, symbol: str, price: Decimal, qty: Decimal,
                                is_buy: bool) -> None:
        candidates = self._resting.priority(symbol, BUY if not is_buy else SELL, price)
        for order, take in matching.trade_fills(candidates, price, qty, self.fill_at_touch,
                                                self._cap):
            acct = self.accounts[order.uid]
            if take > 0:
                assert order.price is not None
                self._fill(acct, order, take, order.price, "MAKER")
            self._settle_status(acct, order)

    def _match_resting_on_book(self, symbol: str, mkt: MarketState) -> None:
        for side, levels in ((BUY, mkt.asks), (SELL, mkt.bids)):
            if not levels:
                continue
            for order in self._resting.priority(symbol, side, levels[0][0]):
                if order.status in OPEN_STATUSES:
                    acct = self.accounts[order.uid]
                    self._walk(acct, order, levels, maker=True)
                    self._settle_status(acct, order)

    def cancel_order(self, uid: str, symbol: str | None = None, *, order_id: str | None = None,
                     client_id: str | None = None) -> SimOrder:
        """Cancel an open order by id (wins) or client id; 20007 unknown, 30011 not open."""
        acct = self.account(uid)
        order = self._lookup(acct, order_id, client_id)
        if symbol and order.symbol != symbol.upper():
            raise SimError(ORDER_NOT_FOUND, order.order_id)
        if order.status not in OPEN_STATUSES:
            raise SimError(ABNORMAL_ORDER_STATUS, order.status)
        self._finish(acct, order, "PART_FILLED_CANCELED" if order.filled_qty else "CANCELED")
        return order

    def cancel_all(self, uid: str, symbol: str | None = None) -> list[SimOrder]:
        """Cancel every open order (of ``symbol``); return them."""
        acct = self.account(uid)
        sym = self.contract(symbol).symbol if symbol else None
        done = [o for o in list(acct.open_orders.values()) if sym is None or o.symbol == sym]
        for order in done:
            self._finish(acct, order, "PART_FILLED_CANCELED" if order.filled_qty else "CANCELED")
        return done

    def modify_order(self, uid: str, *, qty: Decimal, price: Decimal,
                     order_id: str | None = None, client_id: str | None = None) -> SimOrder:
        """Change qty and price of an open limit order; it may cross and fill at once."""
        acct = self.account(uid)
        order = self._lookup(acct, order_id, client_id)
        if order.status not in OPEN_STATUSES or order.order_type != "LIMIT":
            raise SimError(ABNORMAL_ORDER_STATUS, order.status)
        spec = self.contracts[order.symbol]
        spec.check_qty(qty, market=False)
        spec.check_price(price)
        if qty <= order.filled_qty:
            raise SimError(ABNORMAL_ORDER_STATUS, f"qty {qty} <= filled {order.filled_qty}")
        mkt = self.markets[order.symbol]
        spec.check_band(price, is_buy=order.side == BUY, mark=mkt.mark)
        old = (order.qty, order.price, order.frozen)
        order.qty, order.price = qty, price
        self._resting.repriced(order.symbol)
        if not order.reduce_only:
            order.frozen = ZERO
            try:
                need = margin.order_margin(order, order.remaining, mkt)
                if need > acct.available():
                    raise SimError(INSUFFICIENT_BALANCE)
            except SimError:
                order.qty, order.price, order.frozen = old
                raise
            order.frozen = need
        self._accounts_version += 1
        order.mtime_ns = self.clock.now_ns()
        self._push_order(order, "UPDATE")
        if order.frozen != old[2]:
            self._push_balance(acct)
        if matching.crosses(order, mkt):
            self._take(acct, order, mkt)
        return order

    def _lookup(self, acct: SimAccount, order_id: str | None, client_id: str | None) -> SimOrder:
        if order_id:
            order = acct.orders.get(str(order_id))
        elif client_id:
            oid = acct.client_ids.get(client_id)
            order = acct.orders.get(oid) if oid else None
        else:
            raise SimError(PARAMETER_ERROR, "orderId or clientId is required")
        if order is None:
            raise SimError(ORDER_NOT_FOUND, str(order_id or client_id))
        return order

    def _finish(self, acct: SimAccount, order: SimOrder, status: str) -> None:
        order.status = status
        order.frozen = ZERO
        self._accounts_version += 1
        order.mtime_ns = self.clock.now_ns()
        acct.open_orders.pop(order.order_id, None)
        self._resting.discard(order)
        self._push_order(order, "CLOSE")
        self._push_balance(acct)

    def flash_close(self, uid: str, position_id: str) -> SimPosition:
        """Close a whole position at market."""
        acct = self.account(uid)
        pos = self._position_by_id(acct, position_id)
        self._close_at_market(acct, pos, pos.qty)
        return pos

    def close_all(self, uid: str, symbol: str | None = None) -> None:
        """Market-close every position (of ``symbol``)."""
        acct = self.account(uid)
        sym = self.contract(symbol).symbol if symbol else None
        for pos in list(acct.positions.values()):
            if sym is None or pos.symbol == sym:
                self._close_at_market(acct, pos, pos.qty)

    def _close_at_market(self, acct: SimAccount, pos: SimPosition, qty: Decimal,
                         *, order_type: str = "MARKET", price: Decimal | None = None) -> SimOrder:
        req = SimOrderRequest(symbol=pos.symbol, side=BUY if pos.side == LONG else SELL,
                              order_type=order_type, qty=qty, price=price,
                              trade_side="CLOSE", position_id=pos.position_id, reduce_only=True,
                              whole_position=qty == pos.qty)
        if acct.position_mode == "ONE_WAY":
            req.side = SELL if pos.side == LONG else BUY
        return self.place_order(acct.uid, req)

    # ------------------------------------------------------------------ fills and money
    def _credit(self, acct: SimAccount, kind: str, amount: Decimal, ref: str) -> None:
        positions.credit(acct, kind, amount, ref, self.clock.now_ns())
        self._accounts_version += 1

    def _slipped(self, order: SimOrder, price: Decimal) -> Decimal:
        """A taker's fill price moved ``slippage_ticks`` against it: never beyond the order's
        limit (a limit order does not trade through it), never below one tick."""
        slip = self._slippage[order.symbol]
        if order.side == BUY:
            moved = price + slip
            return moved if order.price is None else min(moved, max(order.price, price))
        moved = max(price - slip, self.contracts[order.symbol].tick)
        return moved if order.price is None else max(moved, min(order.price, price))

    def _fill(self, acct: SimAccount, order: SimOrder, qty: Decimal, price: Decimal,
              role: str) -> None:
        now = self.clock.now_ns()
        self._accounts_version += 1  # positions, margin and the wallet change below
        if role == "MAKER":
            rate = self.fees.maker
        else:
            rate = self.fees.taker
            if self.slippage_ticks:
                price = self._slipped(order, price)
        fee = qty * price * rate
        pnl = ZERO
        event = "UPDATE"
        opened = ZERO  # the part of this fill that opens or adds to order.pos_side
        emptied: SimPosition | None = None
        if order.closing:
            touched = acct.positions[(order.symbol, order.pos_side)]
            pnl = positions.reduce(touched, qty, price)
            touched.realized_pnl += pnl
        else:
            opened = positions.opening_part(acct, order, qty)
            touched, event, pnl, emptied = positions.increase(
                acct, order, qty, price, now_ns=now, new_position_id=self._new_position_id)
            if emptied is not None:
                self._close_position(acct, emptied)
            if event == "OPEN":
                self._open_positions[order.symbol] += 1
        order.filled_qty += qty
        order.filled_value += qty * price
        order.fee += fee
        order.realized_pnl += pnl
        order.mtime_ns = now
        if order.status == "NEW":
            order.status = "PART_FILLED"
        if order.frozen:  # release margin as the order fills; it never grows
            order.frozen = min(order.frozen, margin.order_margin(
                order, order.remaining, self.markets[order.symbol]))
        touched.fee -= fee
        touched.mtime_ns = now
        self._credit(acct, "fee", -fee, order.order_id)
        if pnl:
            self._credit(acct, "pnl", pnl, order.order_id)
        acct.fills.append(SimFill(
            trade_id=str(next(self._trade_ids)), order_id=order.order_id, uid=acct.uid,
            symbol=order.symbol, side=order.side, qty=qty, price=price, fee=fee,
            realized_pnl=pnl, role=role, ts_ns=now, position_id=touched.position_id,
            reduce_only=order.reduce_only, order_type=order.order_type, effect=order.effect,
            client_id=order.client_id, leverage=order.leverage, margin_mode=order.margin_mode,
            position_mode=order.position_mode,
        ))
        if order.remaining > 0:
            self._push_order(order, "UPDATE")
        if touched.qty == 0:
            self._close_position(acct, touched)
        else:
            self._push_position(touched, event)
        self._push_balance(acct)
        if order.attached is not None and opened > 0:
            # Only on the position this fill opened, never on one it merely netted.
            self._tpsl.attach(acct, order, touched, opened)

    def _new_position_id(self) -> str:
        return str(next(self._position_ids))

    def _close_position(self, acct: SimAccount, pos: SimPosition) -> None:
        self._accounts_version += 1
        if acct.positions.pop((pos.symbol, pos.side), None) is not None:
            self._open_positions[pos.symbol] -= 1
        acct.closed_positions.append(pos)
        pos.mtime_ns = self.clock.now_ns()
        self._push_position(pos, "CLOSE")
        for tp in list(acct.tpsl.values()):
            if tp.position_id == pos.position_id:
                self._tpsl.end(acct, tp, "SYSTEM_CANCELED")

    # ------------------------------------------------------------------ positions
    def _position_by_id(self, acct: SimAccount, position_id: str) -> SimPosition:
        for pos in acct.positions.values():
            if pos.position_id == str(position_id):
                return pos
        raise SimError(POSITION_NOT_EXIST, str(position_id))

    def _find_position(self, acct: SimAccount, symbol: str, side: str | None,
                       position_id: str | None) -> SimPosition:
        if position_id:
            return self._position_by_id(acct, position_id)
        if side:
            pos = acct.positions.get((symbol, side.upper()))
            if pos is not None:
                return pos
        raise SimError(POSITION_NOT_EXIST, f"{symbol} {side}")

    def liquidation_price(self, pos: SimPosition) -> Decimal:
        """Mark price at which equity of ``pos`` meets maintenance margin (0 = none).

        Isolated: the position's own margin backs it. Cross: the account's free balance
        backs it too (every cross position is priced with all of it, a simplification).
        """
        mmr = self.contracts[pos.symbol].maintenance_margin_rate
        available = (self.accounts[pos.uid].available() if pos.margin_mode == "CROSS"
                     else ZERO)
        return margin.liquidation_price(pos, mmr, available)

    def _check_liquidations(self, symbol: str, mark: Decimal) -> None:
        mmr = self.contracts[symbol].maintenance_margin_rate
        for acct in self.accounts.values():
            for key in ((symbol, LONG), (symbol, SHORT)):
                pos = acct.positions.get(key)
                if pos is not None and margin.below_maintenance(pos, mark, mmr, acct):
                    self._liquidate(acct, pos, mark)

    def _liquidate(self, acct: SimAccount, pos: SimPosition, mark: Decimal) -> None:
        """Close ``pos`` at ``mark`` as a taker. The insurance fund takes what the account
        cannot lose: beyond its margin for an isolated position, beyond the wallet for cross."""
        wallet_before, pos_margin = acct.wallet, pos.margin
        for order in [o for o in acct.open_orders.values() if o.symbol == pos.symbol]:
            self._finish(acct, order, "PART_FILLED_CANCELED" if order.filled_qty
                         else "SYSTEM_CANCELED")
        now = self.clock.now_ns()
        order = SimOrder(
            order_id=str(next(self._order_ids)), uid=acct.uid, symbol=pos.symbol,
            side=SELL if pos.side == LONG else BUY, pos_side=pos.side, order_type="MARKET",
            effect="IOC", qty=pos.qty, price=None, client_id="", reduce_only=True, closing=True,
            leverage=pos.leverage, margin_mode=pos.margin_mode, position_mode=pos.position_mode,
            ctime_ns=now, mtime_ns=now, status="NEW",
        )
        acct.orders[order.order_id] = order
        self._fill(acct, order, pos.qty, mark, "TAKER")
        order.status = "FILLED"
        self._push_order(order, "CLOSE")
        shortfall = margin.insurance_shortfall(pos.margin_mode, pos_margin, wallet_before,
                                               acct.wallet)
        if shortfall > 0:
            self._credit(acct, "insurance", shortfall, order.order_id)
            self._push_balance(acct)

    # ------------------------------------------------------------------ funding
    def _maybe_fund(self) -> None:
        now = self.clock.now_ns()
        while (due := self.funding.pop_due(now)) is not None:
            self.settle_funding(due)

    def settle_funding(self, ts_ns: int | None = None) -> None:
        """Charge every open position ``notional at mark x rate``; longs pay a positive rate.

        ``ts_ns`` is the settlement instant recorded in the history (default: now)."""
        rate_pct = self.funding.rate_pct
        now = self.clock.now_ns() if ts_ns is None else ts_ns
        for symbol, mkt in self.markets.items():
            if mkt.mark is not None:
                self.funding.history.append((now, symbol, rate_pct, mkt.mark))
        for acct in self.accounts.values():
            touched = False
            for pos in list(acct.positions.values()):
                mark = self.markets[pos.symbol].mark
                if mark is None:
                    continue
                amount = funding_amount(pos, mark, rate_pct)
                pos.funding += amount
                self._credit(acct, "funding", amount, pos.position_id)
                self._push_position(pos, "UPDATE")
                touched = True
            if touched:
                self._push_balance(acct)

    # ------------------------------------------------------------------ TP/SL
    def place_tpsl(self, uid: str, symbol: str, position_id: str, *,
                   tp_price: Decimal | None = None, tp_stop_type: str = "LAST_PRICE",
                   tp_order_type: str = "MARKET", tp_order_price: Decimal | None = None,
                   tp_qty: Decimal | None = None, sl_price: Decimal | None = None,
                   sl_stop_type: str = "LAST_PRICE", sl_order_type: str = "MARKET",
                   sl_order_price: Decimal | None = None, sl_qty: Decimal | None = None,
                   position_level: bool = False) -> SimTpSl:
        """A TP/SL order (fixed qty) or, with ``position_level``, the position TP/SL."""
        return self._tpsl.place(
            uid, symbol, position_id, tp_price=tp_price, tp_stop_type=tp_stop_type,
            tp_order_type=tp_order_type, tp_order_price=tp_order_price, tp_qty=tp_qty,
            sl_price=sl_price, sl_stop_type=sl_stop_type, sl_order_type=sl_order_type,
            sl_order_price=sl_order_price, sl_qty=sl_qty, position_level=position_level)

    def place_trailing_stop(self, uid: str, position_id: str, callback_rate: Decimal, *,
                            stop_type: str = "LAST_PRICE", qty: Decimal | None = None) -> SimTpSl:
        """A trailing stop: closes ``qty`` (default all) at market once the price retraces
        ``callback_rate`` (a fraction) from its best level since placement. Engine-only:
        the Bitunix API documents no trailing endpoint."""
        return self._tpsl.place_trailing(uid, position_id, callback_rate, stop_type=stop_type,
                                         qty=qty)

    def modify_tpsl(self, uid: str, tpsl_id: str, **changes: object) -> SimTpSl:
        """Change prices, stop types, order types or quantities of a pending TP/SL."""
        return self._tpsl.modify(uid, tpsl_id, changes)

    def position_tpsl(self, uid: str, position_id: str) -> SimTpSl | None:
        """The pending position TP/SL of ``position_id``, if any."""
        return self._tpsl.position_tpsl(uid, position_id)

    def cancel_tpsl(self, uid: str, tpsl_id: str) -> SimTpSl:
        """Cancel a pending TP/SL order."""
        return self._tpsl.cancel(uid, tpsl_id)

    # ------------------------------------------------------------------ pushes
    def _push_order(self, order: SimOrder, event: str) -> None:
        self.pushes.order(order, event)

    def _push_position(self, pos: SimPosition, event: str) -> None:
        self.pushes.position(pos, event, self.markets[pos.symbol].mark)

    def _push_balance(self, acct: SimAccount) -> None:
        self.pushes.balance(acct)



_Watch = tuple[Decimal, Decimal, Decimal, Decimal, Decimal, Decimal]
_IDLE: _Watch = (matching.NEG_INF, matching.INF, matching.NEG_INF, matching.INF,
                 matching.NEG_INF, matching.INF)
#: How far (relative) a liquidation window stays from each liquidation price.
_LIQUIDATION_GUARD = Decimal("1e-18")
#: Empty windows: every price is checked (``fast_path=False``).
_EVERYTHING: _Watch = (matching.INF, matching.NEG_INF, matching.INF, matching.NEG_INF,
                       matching.INF, matching.NEG_INF)
