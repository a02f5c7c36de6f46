"""Bitunix wire messages as the Venue's model events, and the order bodies of the fast path.

Pure functions (no I/O) used by :mod:`bitunix.adapters.bitunix`:

* the request bodies of ``place_order`` and ``cancel_orders`` as msgspec Structs, encoded
  once per request with quantities and prices formatted exactly from the order's steps and
  ticks (:func:`steps_str`);
* private pushes and REST rows (``bitunix.wire``) converted, through the converters of
  :mod:`bitunix.exchange.convert`, into :class:`~bitunix.model.OrderReport`,
  :class:`~bitunix.model.Fill`, :class:`~bitunix.execution.venue.VenuePosition` and
  :class:`~bitunix.execution.venue.VenueOrder`, on the contract's integer grids.

Fee signs (spec 4.3, 4.4, 5.5): a fill's ``fee`` from ``get_history_trades`` is positive
when paid, which is the model's convention (:class:`~bitunix.model.Fill`); the ``order``
push carries the order's cumulative fee negative when paid (as the position's ``fee``, and
as the simulator sends it), so it is negated; a REST order row's ``fee`` is positive when
paid. A position's cumulative ``funding`` is what the wallet received (negative when paid).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from bitunix.exchange.convert import (
    order_update,
    order_update_from_rest,
    position_side_of,
    position_update,
)
from bitunix.exchange.fasthttp import FastHttpError, HttpResponse, HttpResult
from bitunix.execution.venue import SubmitError, VenueOrder, VenuePosition
from bitunix.model import (
    ContractSpec,
    Fill,
    OrderReport,
    OrderType,
    PositionSide,
    Side,
    TimeInForce,
)
from bitunix.wire.decoding import ResponseDecoder, WireError
from bitunix.wire.private import OrderData, PositionData
from bitunix.wire.rest import Order as RestOrder
from bitunix.wire.rest import PendingPosition, TradeFill

__all__ = [
    "Answer",
    "CancelBody",
    "CancelEntry",
    "PlaceLimitBody",
    "PlaceMarketBody",
    "fill_from_trade",
    "position_from_push",
    "position_from_rest",
    "read_answer",
    "report_from_push",
    "report_from_rest",
    "steps_str",
    "venue_order_from_rest",
]

_ZERO = Decimal(0)
_RATE_LIMITED = frozenset({10005, 10006})
_NETWORK_ERROR = 10001


class PlaceMarketBody(msgspec.Struct, kw_only=True, gc=False):
    """``place_order`` of a MARKET order in one-way mode (spec 4.4, 6.1): no price, no
    ``effect`` (not sent for MARKET), no ``tradeSide`` (hedge mode only)."""

    symbol: str
    side: Side
    orderType: OrderType  # noqa: N815 - the venue's key
    qty: str
    clientId: str  # noqa: N815
    reduceOnly: bool  # noqa: N815


class PlaceLimitBody(msgspec.Struct, kw_only=True, gc=False):
    """``place_order`` of a LIMIT order in one-way mode, with its time in force."""

    symbol: str
    side: Side
    orderType: OrderType  # noqa: N815
    qty: str
    price: str
    effect: TimeInForce
    clientId: str  # noqa: N815
    reduceOnly: bool  # noqa: N815


class CancelEntry(msgspec.Struct, kw_only=True, gc=False):
    """One row of ``cancel_orders`` (by client id)."""

    clientId: str  # noqa: N815


class CancelBody(msgspec.Struct, kw_only=True, gc=False):
    """``cancel_orders`` (spec 4.4)."""

    symbol: str
    orderList: list[CancelEntry]  # noqa: N815


def steps_str(steps: int, decimals: int) -> str:
    """A positive count of steps (or ticks) of ``10**-decimals`` as the plain decimal
    string the venue wants: ``steps_str(15, 3) == "0.015"``. The hot-path twin of
    :func:`bitunix.model.format_ticks` (same output for positive counts, no checks)."""
    text = str(steps)
    if not decimals:
        return text
    if len(text) <= decimals:
        text = "0" * (decimals + 1 - len(text)) + text
    return f"{text[:-decimals]}.{text[-decimals:]}"


def report_from_push(d: OrderData, ts_ms: int, spec: ContractSpec) -> OrderReport:
    """The cumulative state carried by one ``order`` push item (raises ``ValueError`` on
    an unknown status or side, a quantity off the contract's grid)."""
    u = order_update(d, ts_ms)
    return OrderReport(status=u.status, filled_steps=spec.qty_to_steps(u.filled_qty),
                       ts_ns=u.ts_event_ns, venue_id=u.order_id, avg_price=u.avg_price,
                       fee=-u.fee)


def report_from_rest(o: RestOrder, spec: ContractSpec) -> OrderReport:
    """The state of a REST order row (``get_order_detail``, pending orders). REST rows
    carry no average price (spec 4.4)."""
    u = order_update_from_rest(o)
    return OrderReport(status=u.status, filled_steps=spec.qty_to_steps(u.filled_qty),
                       ts_ns=u.ts_event_ns, venue_id=u.order_id, fee=u.fee)


def venue_order_from_rest(o: RestOrder, spec: ContractSpec) -> VenueOrder:
    """An open order as the venue lists it."""
    u = order_update_from_rest(o)
    price = u.price if u.order_type is OrderType.LIMIT else None
    return VenueOrder(
        client_id=u.client_id, spec=spec, side=u.side, qty_steps=spec.qty_to_steps(u.qty),
        price_ticks=None if price is None else spec.price_to_ticks(price),
        reduce_only=u.reduce_only, report=report_from_rest(o, spec))


def fill_from_trade(t: TradeFill, spec: ContractSpec) -> Fill:
    """One ``get_history_trades`` row as a fill (its fee is positive when paid already)."""
    return Fill(
        trade_id=t.trade_id, client_id=t.client_id or "", venue_order_id=t.order_id,
        spec=spec, side=Side(t.side), qty_steps=spec.qty_to_steps(t.qty),
        price_ticks=spec.price_to_ticks(t.price), fee=t.fee if t.fee is not None else _ZERO,
        ts_ns=(t.ctime or 0) * 1_000_000, maker=(t.role_type or "").upper() == "MAKER",
        reduce_only=bool(t.reduce_only))


def _signed(side: PositionSide, steps: int) -> int:
    return steps if side is PositionSide.LONG else -steps


def position_from_push(d: PositionData, ts_ms: int,
                       spec: ContractSpec) -> tuple[VenuePosition, Decimal | None, int]:
    """The position of one ``position`` push item, its cumulative funding (what the wallet
    received) and the event time in ns. A ``CLOSE`` event is a flat position."""
    u = position_update(d, ts_ms)
    steps = 0 if u.is_closed else _signed(u.side, spec.qty_to_steps(u.qty))
    position = VenuePosition(spec=spec, qty_steps=steps, position_id=u.position_id,
                             entry_price=u.avg_price if steps else None,
                             unrealized_pnl=u.unrealized_pnl)
    return position, u.funding, u.ts_event_ns


def position_from_rest(p: PendingPosition, spec: ContractSpec) -> VenuePosition:
    """A ``get_pending_positions`` row (side LONG/SHORT, or BUY/SELL live, spec 4.3)."""
    steps = _signed(position_side_of(p.side), spec.qty_to_steps(p.qty))
    entry = p.avg_open_price
    if entry is None and p.entry_value is not None and p.qty:
        entry = p.entry_value / p.qty
    return VenuePosition(spec=spec, qty_steps=steps, position_id=p.position_id,
                         entry_price=entry if steps else None, unrealized_pnl=p.unrealized_pnl)


class Answer(msgspec.Struct, frozen=True, gc=False):
    """The venue's verdict on a request: its ``code`` (0: done), ``msg`` and ``data``."""

    code: int
    msg: str
    data: Any


def read_answer(result: HttpResult, decoder: ResponseDecoder[Any],
                what: str) -> tuple[Answer | SubmitError, bool]:
    """The verdict in one fast-channel result, or the :class:`SubmitError` of no verdict;
    and whether the request went well for the error-rate count (False: no answer, HTTP
    5xx or 429, a rate limit, the venue's network error, an unreadable body).

    * rate limited (10005/10006, HTTP 429) and never written: ``executed=False``;
    * timeout, connection lost after the write, HTTP 5xx, 10001, a body that is not the
      envelope, a non-200 status with code 0: ``executed=None``;
    * any other code is the venue's verdict (a refusal proves nothing was done, spec 6.3).
    """
    if isinstance(result, FastHttpError):
        return SubmitError(reason=f"{what}: {result}", executed=result.executed), False
    status = result.status
    if status == 429:
        return SubmitError(reason=f"{what}: HTTP 429", executed=False,
                           retry_after_s=_retry_after(result)), False
    if status >= 500:
        return SubmitError(reason=f"{what}: HTTP {status}", executed=None), False
    try:
        env = decoder.decode(result.body)
    except WireError as exc:
        return SubmitError(reason=f"{what}: HTTP {status}, unreadable answer: {exc}",
                           executed=None), False
    code = env.code
    if code in _RATE_LIMITED:
        return SubmitError(reason=f"{what}: [{code}] {env.msg or 'rate limited'}",
                           executed=False, retry_after_s=_retry_after(result)), False
    if code == _NETWORK_ERROR or (status != 200 and code == 0):
        return SubmitError(reason=f"{what}: HTTP {status} [{code}] {env.msg or ''}",
                           executed=None), False
    return Answer(code, env.msg or "", env.data), True


def _retry_after(response: HttpResponse) -> float:
    """The ``Retry-After`` header in seconds (0 when absent or not a number)."""
    try:
        value = float(response.headers.get("retry-after", "0"))
    except ValueError:
        return 0.0
    return value if 0 < value < float("inf") else 0.0
