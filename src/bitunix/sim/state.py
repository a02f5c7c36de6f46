"""State of the simulated exchange: requests, orders, positions, fills, TP/SL, accounts.

Plain data with exact :class:`~decimal.Decimal` money; the behaviour lives in
:mod:`bitunix.sim.engine` (matching, margin, funding, liquidation) and
:mod:`bitunix.sim.triggers` (when a TP/SL or trailing stop fires).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal(0)
#: Quantum of derived amounts (entry value removed on a partial close, margin); far below
#: any tick, and keeps every Decimal short enough for exact arithmetic in 28 digits.
QUANTUM = Decimal("1e-12")
HOUR_NS = 3_600_000_000_000

SimLevel = list[Decimal]  # [price, qty]
PushListener = Callable[[str, str, dict[str, object]], None]

MODIFIABLE_TPSL = frozenset({
    "tp_price", "tp_stop_type", "tp_order_type", "tp_order_price", "tp_qty",
    "sl_price", "sl_stop_type", "sl_order_type", "sl_order_price", "sl_qty",
})
OPEN_STATUSES = frozenset({"NEW", "PART_FILLED"})
LONG, SHORT = "LONG", "SHORT"
BUY, SELL = "BUY", "SELL"


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """Maker and taker fee rates as fractions of notional (VIP 0: 0.02 % / 0.06 %)."""

    maker: Decimal = Decimal("0.0002")
    taker: Decimal = Decimal("0.0006")


@dataclass(slots=True)
class SimOrderRequest:
    """A ``place_order`` request, already parsed (prices and quantities exact)."""

    symbol: str
    side: str
    order_type: str
    qty: Decimal
    price: Decimal | None = None
    trade_side: str | None = None
    position_id: str | None = None
    effect: str = "GTC"
    client_id: str = ""
    reduce_only: bool = False
    #: The venue's own close of a whole position (flash close, close-all): any size.
    whole_position: bool = False
    tp_price: Decimal | None = None
    tp_stop_type: str = "LAST_PRICE"
    tp_order_type: str = "MARKET"
    tp_order_price: Decimal | None = None
    sl_price: Decimal | None = None
    sl_stop_type: str = "LAST_PRICE"
    sl_order_type: str = "MARKET"
    sl_order_price: Decimal | None = None


@dataclass(slots=True)
class SimOrder:
    """An order of the simulated exchange; ``side`` is the real action (BUY/SELL)."""

    order_id: str
    uid: str
    symbol: str
    side: str
    pos_side: str
    order_type: str
    effect: str
    qty: Decimal
    price: Decimal | None
    client_id: str
    reduce_only: bool
    closing: bool
    leverage: int
    margin_mode: str
    position_mode: str
    ctime_ns: int
    mtime_ns: int
    status: str = "INIT"
    filled_qty: Decimal = ZERO
    filled_value: Decimal = ZERO
    fee: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    frozen: Decimal = ZERO
    attached: SimOrderRequest | None = None
    attached_tpsl_id: str | None = None
    #: The position a closing order reduces; it reduces nothing once that one is gone.
    target_position_id: str | None = None
    #: The venue's own close of a whole position (flash close, close-all).
    whole_position: bool = False

    @property
    def remaining(self) -> Decimal:
        """Quantity still to fill."""
        return self.qty - self.filled_qty

    @property
    def average_price(self) -> Decimal:
        """Volume-weighted fill price (0 before the first fill)."""
        return self.filled_value / self.filled_qty if self.filled_qty else ZERO


@dataclass(slots=True)
class SimPosition:
    """An open position; ``fee`` is cumulative and negative when paid (live convention)."""

    position_id: str
    uid: str
    symbol: str
    side: str
    leverage: int
    margin_mode: str
    position_mode: str
    ctime_ns: int
    mtime_ns: int
    qty: Decimal = ZERO
    entry_value: Decimal = ZERO
    margin: Decimal = ZERO
    fee: Decimal = ZERO
    funding: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    max_qty: Decimal = ZERO
    opened_qty: Decimal = ZERO
    opened_value: Decimal = ZERO
    closed_qty: Decimal = ZERO
    closed_value: Decimal = ZERO

    @property
    def avg_price(self) -> Decimal:
        """Average entry price, ``entryValue / qty``."""
        return self.entry_value / self.qty if self.qty else ZERO

    def unrealized(self, mark: Decimal | None) -> Decimal:
        """Unrealized PnL at ``mark`` (0 without a mark)."""
        if mark is None or not self.qty:
            return ZERO
        diff = self.qty * mark - self.entry_value
        return diff if self.side == LONG else -diff


@dataclass(slots=True)
class SimFill:
    """One execution of an order (a row of ``get_history_trades``)."""

    trade_id: str
    order_id: str
    uid: str
    symbol: str
    side: str
    qty: Decimal
    price: Decimal
    fee: Decimal
    realized_pnl: Decimal
    role: str
    ts_ns: int
    position_id: str
    reduce_only: bool
    order_type: str
    effect: str
    client_id: str
    leverage: int
    margin_mode: str
    position_mode: str


@dataclass(slots=True)
class SimTpSl:
    """A TP/SL order (``TPSL``), a position TP/SL (``POSITION_TPSL``) or a trailing stop."""

    tpsl_id: str
    uid: str
    symbol: str
    position_id: str
    pos_side: str
    kind: str
    ctime_ns: int
    tp_price: Decimal | None = None
    tp_stop_type: str = "LAST_PRICE"
    tp_order_type: str = "MARKET"
    tp_order_price: Decimal | None = None
    tp_qty: Decimal | None = None
    sl_price: Decimal | None = None
    sl_stop_type: str = "LAST_PRICE"
    sl_order_type: str = "MARKET"
    sl_order_price: Decimal | None = None
    sl_qty: Decimal | None = None
    trail_rate: Decimal | None = None
    trail_extreme: Decimal | None = None
    status: str = "NEW"
    trigger_ns: int = 0
    fired: str = ""


@dataclass(slots=True)
class LedgerEntry:
    """One movement of a wallet: ``kind`` is pnl, fee, funding, insurance or deposit."""

    ts_ns: int
    kind: str
    amount: Decimal
    ref: str


@dataclass(slots=True)
class SimAccount:
    """A user of the simulated exchange: wallet, settings, orders and positions."""

    uid: str
    wallet: Decimal
    position_mode: str = "ONE_WAY"
    leverage: dict[str, int] = field(default_factory=dict)
    margin_mode: dict[str, str] = field(default_factory=dict)
    open_orders: dict[str, SimOrder] = field(default_factory=dict)
    orders: dict[str, SimOrder] = field(default_factory=dict)
    client_ids: dict[str, str] = field(default_factory=dict)
    positions: dict[tuple[str, str], SimPosition] = field(default_factory=dict)
    closed_positions: list[SimPosition] = field(default_factory=list)
    fills: list[SimFill] = field(default_factory=list)
    tpsl: dict[str, SimTpSl] = field(default_factory=dict)
    tpsl_history: list[SimTpSl] = field(default_factory=list)
    ledger: list[LedgerEntry] = field(default_factory=list)

    def frozen(self) -> Decimal:
        """Margin reserved by open orders."""
        return sum((o.frozen for o in self.open_orders.values()), ZERO)

    def position_margin(self, mode: str | None = None) -> Decimal:
        """Margin locked by positions (of one margin mode, or all)."""
        return sum(
            (p.margin for p in self.positions.values() if mode is None or p.margin_mode == mode),
            ZERO,
        )

    def available(self) -> Decimal:
        """Wallet minus position margin and order margin (uPnL excluded, see docs)."""
        return self.wallet - self.position_margin() - self.frozen()


class DecimalCache:
    """Exact ``Decimal`` of a decimal string, remembered: market data repeats a few hundred
    prices and sizes per minute, and a lookup costs a sixth of a conversion here. Bounded:
    the memory is dropped once ``limit`` strings are held."""

    __slots__ = ("_known", "_mids", "limit")

    def __init__(self, limit: int = 16_384) -> None:
        self._known: dict[str, Decimal] = {}
        self._mids: dict[tuple[str, str], Decimal] = {}
        self.limit = limit

    def __call__(self, text: str) -> Decimal:
        value = self._known.get(text)
        if value is None:
            if len(self._known) >= self.limit:
                self._known.clear()
            value = self._known[text] = Decimal(text)
        return value

    def mid(self, bid: str, ask: str) -> Decimal:
        """``(bid + ask) / 2``, exactly as computed from the two Decimals."""
        key = (bid, ask)
        value = self._mids.get(key)
        if value is None:
            if len(self._mids) >= self.limit:
                self._mids.clear()
            value = self._mids[key] = (self(bid) + self(ask)) / 2
        return value

    def level(self, pair: tuple[str, str]) -> SimLevel:
        """A fresh mutable ``[price, qty]`` level from its decimal strings."""
        return [self(pair[0]), self(pair[1])]


RawLevels = list[tuple[str, str]]


class MarketState:
    """The replayed public market of one symbol.

    A book given as the venue's decimal strings (:meth:`set_raw_book`) becomes exact
    ``[price, qty]`` levels only when something reads :attr:`bids` or :attr:`asks` (a
    taker walking it, a resting order it crosses, the REST depth endpoint), and its mid
    becomes the :attr:`mark` only when something reads that; a taker's walk consumes the
    levels until the next snapshot. A trade price given as a string (:attr:`last_text`)
    becomes :attr:`last` when read. Most snapshots and prices are never read.
    """

    __slots__ = ("_ask_text", "_asks", "_bid_text", "_bids", "_decimals", "_last", "_mark",
                 "_raw_asks", "_raw_bids", "base_volume", "high_24h", "last_text", "last_ts_ns",
                 "low_24h", "open_24h", "quote_volume")

    def __init__(self, bids: list[SimLevel] | None = None, asks: list[SimLevel] | None = None,
                 *, decimals: DecimalCache | None = None) -> None:
        self._bids: list[SimLevel] | None = bids if bids is not None else []
        self._asks: list[SimLevel] | None = asks if asks is not None else []
        self._raw_bids: RawLevels = []
        self._raw_asks: RawLevels = []
        self._decimals = decimals if decimals is not None else DecimalCache()
        self._last: Decimal | None = None
        #: The last trade price as the venue's string, until :attr:`last` converts it.
        self.last_text: str | None = None
        self._mark: Decimal | None = None
        #: Best bid and ask of a raw book whose mid is the mark, not yet computed.
        self._bid_text: str | None = None
        self._ask_text = ""
        self.open_24h: Decimal | None = None
        self.high_24h: Decimal | None = None
        self.low_24h: Decimal | None = None
        self.base_volume: Decimal = ZERO
        self.quote_volume: Decimal = ZERO
        self.last_ts_ns = 0

    @property
    def bids(self) -> list[SimLevel]:
        """Bid levels, best first (exact; consumed by takers until the next snapshot)."""
        levels = self._bids
        if levels is None:
            levels = self._bids = list(map(self._decimals.level, self._raw_bids))
        return levels

    @bids.setter
    def bids(self, levels: list[SimLevel]) -> None:
        self._bids = levels

    @property
    def asks(self) -> list[SimLevel]:
        """Ask levels, best first (exact; consumed by takers until the next snapshot)."""
        levels = self._asks
        if levels is None:
            levels = self._asks = list(map(self._decimals.level, self._raw_asks))
        return levels

    @asks.setter
    def asks(self, levels: list[SimLevel]) -> None:
        self._asks = levels

    @property
    def last(self) -> Decimal | None:
        """The last trade price; None before any trade."""
        if self.last_text is not None:
            self._last = self._decimals(self.last_text)
            self.last_text = None
        return self._last

    @last.setter
    def last(self, value: Decimal | None) -> None:
        self._last = value
        self.last_text = None

    @property
    def mark(self) -> Decimal | None:
        """The mark price: the mid of the last two-sided book (the last trade before the
        first one); None before any."""
        if self._bid_text is not None:
            self._mark = self._decimals.mid(self._bid_text, self._ask_text)
            self._bid_text = None
        return self._mark

    @mark.setter
    def mark(self, value: Decimal | None) -> None:
        self._mark = value
        self._bid_text = None

    def has_mark(self) -> bool:
        """Whether there is a mark, without computing a pending one."""
        return self._bid_text is not None or self._mark is not None

    def set_raw_book(self, bids: RawLevels, asks: RawLevels) -> None:
        """Replace the book by levels given as decimal strings (converted when read); a
        two-sided one sets the mark to its mid (computed when read)."""
        self._bids = self._asks = None
        self._raw_bids = bids
        self._raw_asks = asks
        if bids and asks:
            self._bid_text = bids[0][0]
            self._ask_text = asks[0][0]

    def best_bid(self) -> Decimal | None:
        """The best bid price left in the book, without converting the rest of it."""
        levels = self._bids
        if levels is not None:
            return levels[0][0] if levels else None
        raw = self._raw_bids
        return self._decimals(raw[0][0]) if raw else None

    def best_ask(self) -> Decimal | None:
        """The best ask price left in the book, without converting the rest of it."""
        levels = self._asks
        if levels is not None:
            return levels[0][0] if levels else None
        raw = self._raw_asks
        return self._decimals(raw[0][0]) if raw else None


def opposite(pos_side: str) -> str:
    """LONG <-> SHORT."""
    return SHORT if pos_side == LONG else LONG
