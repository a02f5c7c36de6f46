"""Public WebSocket pushes (spec 5.4), decoded straight from the frame bytes.

Prices and sizes are market data: they decode into ``float`` (the venue sends them as
strings; the decoders run with ``strict=False``, which accepts a string or a number).
Each push class is tagged by its ``ch`` value, so one decoder call picks the type.
"""

from __future__ import annotations

from typing import ClassVar, Literal, cast

import msgspec

__all__ = [
    "KLINE_INTERVALS",
    "KLINE_PUSH_TYPES",
    "PUBLIC_PUSH_TYPES",
    "Book",
    "DepthBook1",
    "DepthBook5",
    "DepthBook15",
    "DepthBooks",
    "DepthPush",
    "KlineData",
    "KlinePush",
    "Level",
    "PriceData",
    "PricePush",
    "TickerData",
    "TickerPush",
    "TickersItem",
    "TickersPush",
    "TradeItem",
    "TradePush",
]

NAN = float("nan")

KLINE_INTERVALS: tuple[str, ...] = (
    "1min", "3min", "5min", "15min", "30min", "60min", "2h", "4h", "6h", "8h", "12h",
    "1day", "3day", "1week", "1month",
)  # fmt: skip


class Level(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """One book level, on the wire ``["86699.6","2.274"]``."""

    px: float
    qty: float


class Book(msgspec.Struct, frozen=True, gc=False):
    """Top-N book window: bids descending, asks ascending, best first."""

    b: list[Level] = []
    a: list[Level] = []


class TradeItem(msgspec.Struct, frozen=True, gc=False):
    """One public trade. ``s`` is the lowercase taker side, ``t`` an ISO-8601 time."""

    p: float
    v: float
    s: str
    t: str = ""

    @property
    def is_buy(self) -> bool:
        """True when the aggressor bought (spec 5.4: ``s`` is ``buy``/``sell``)."""
        return self.s == "buy" or self.s.lower() == "buy"


class _Push(msgspec.Struct, frozen=True, gc=False, tag_field="ch"):
    """Base of the pushes; ``channel`` is the ``ch`` value (set by :func:`_set_channels`)."""

    channel: ClassVar[str] = ""


class TradePush(_Push, frozen=True, tag="trade"):
    """``trade``: an array of trades of one symbol."""

    symbol: str
    ts: int
    data: list[TradeItem]


class DepthPush(_Push, frozen=True):
    """Depth snapshot of the top-N window; every push replaces the book (spec 5.4)."""

    symbol: str
    ts: int
    data: Book


class DepthBook1(DepthPush, frozen=True, tag="depth_book1"):
    """Best bid and ask."""


class DepthBook5(DepthPush, frozen=True, tag="depth_book5"):
    """Top 5 levels."""


class DepthBook15(DepthPush, frozen=True, tag="depth_book15"):
    """Top 15 levels (the channel the bot uses)."""


class DepthBooks(DepthPush, frozen=True, tag="depth_books"):
    """Whole book (live: the full book on every push; avoid)."""


class TickerData(msgspec.Struct, frozen=True, gc=False):
    """24 h rolling ticker. ``r`` is the change in percent; ``b``/``q`` base/quote volume."""

    o: float = NAN
    h: float = NAN
    l: float = NAN  # noqa: E741
    la: float = NAN
    b: float = NAN
    q: float = NAN
    r: float = NAN
    s: str = ""


class TickerPush(_Push, frozen=True, tag="ticker"):
    """``ticker`` of one symbol; trust ``data.s`` over the envelope ``symbol`` (spec 5.4)."""

    ts: int
    data: TickerData
    symbol: str = ""


class TickersItem(TickerData, frozen=True, gc=False):
    """Mini ticker with best bid/ask (``bd``/``ak``) and their sizes (``bv``/``av``)."""

    bd: float = NAN
    ak: float = NAN
    bv: float = NAN
    av: float = NAN


class TickersPush(_Push, frozen=True, tag="tickers"):
    """``tickers``: an array of mini tickers; no top-level symbol."""

    ts: int
    data: list[TickersItem]


class KlineData(msgspec.Struct, frozen=True, gc=False):
    """Current (open) candle: open, high, low, close, base volume, quote volume."""

    o: float
    h: float
    l: float  # noqa: E741
    c: float
    b: float = NAN
    q: float = NAN


class KlinePush(_Push, frozen=True):
    """``market_kline_<iv>`` / ``mark_kline_<iv>``: no candle start time, derive it from ``ts``."""

    symbol: str
    ts: int
    data: KlineData

    @property
    def interval(self) -> str:
        """The interval part of the channel, e.g. ``1min``."""
        return self.channel.split("_", 2)[2]

    @property
    def price_type(self) -> Literal["market", "mark"]:
        """``market`` (last price) or ``mark``."""
        return "mark" if self.channel.startswith("mark_") else "market"


def _kline_types() -> tuple[type[KlinePush], ...]:
    types: list[type[KlinePush]] = []
    for prefix in ("market", "mark"):
        for iv in KLINE_INTERVALS:
            ch = f"{prefix}_kline_{iv}"
            name = f"{prefix.capitalize()}Kline{iv.capitalize()}"
            cls = msgspec.defstruct(name, [], bases=(KlinePush,), tag=ch, module=__name__)
            types.append(cast("type[KlinePush]", cls))
    return tuple(types)


KLINE_PUSH_TYPES: tuple[type[KlinePush], ...] = _kline_types()


class PriceData(msgspec.Struct, frozen=True, gc=False):
    """Mark ``mp``, index ``ip``, last settled funding rate ``fr`` in percent, ISO times."""

    mp: float = NAN
    ip: float = NAN
    fr: float = NAN
    ft: str = ""
    nft: str = ""


class PricePush(_Push, frozen=True, tag="price"):
    """``price``: mark/index price and funding."""

    symbol: str
    ts: int
    data: PriceData


PUBLIC_PUSH_TYPES: tuple[type[_Push], ...] = (
    TradePush,
    DepthBook1,
    DepthBook5,
    DepthBook15,
    DepthBooks,
    TickerPush,
    TickersPush,
    PricePush,
    *KLINE_PUSH_TYPES,
)


def _set_channels(types: tuple[type[_Push], ...]) -> None:
    for cls in types:
        tag = cls.__struct_config__.tag
        assert isinstance(tag, str)
        cls.channel = tag


_set_channels(PUBLIC_PUSH_TYPES)
