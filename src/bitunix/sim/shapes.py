"""Wire shapes of the simulated exchange: engine objects as Bitunix REST rows and WS pushes.

Field names, types and casing follow spec sections 4 and 5. With ``quirks`` on, the
observed live deviations of section 8 are reproduced (mixed-case sides and types in WS
pushes, ``NEW_`` statuses, BUY/SELL position sides, string timestamps), so clients are
tested against both shapes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bitunix.sim.state import SimAccount, SimFill, SimOrder, SimPosition, SimTpSl

JSON = dict[str, object]


def dec(value: Decimal | None) -> str:
    """A decimal as the exchange writes it: plain notation, no exponent, no trailing zeros."""
    if value is None:
        return ""
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def iso_ns(ts_ns: int) -> str:
    """ISO-8601 with nanoseconds, ``2025-04-26T17:06:13.155255000Z`` (WS private times)."""
    secs, nanos = divmod(ts_ns, 1_000_000_000)
    return datetime.fromtimestamp(secs, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


def iso_s(ts_ns: int) -> str:
    """ISO-8601 to the second, ``2025-06-01T18:44:52Z`` (WS trade and price times)."""
    return datetime.fromtimestamp(ts_ns // 1_000_000_000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _mixed(value: str) -> str:
    """``BUY`` -> ``Buy``, ``LAST_PRICE`` -> ``Last`` (the live WS casing)."""
    return value.split("_", maxsplit=1)[0].capitalize()


def rest_order(order: SimOrder, quirks: bool = False) -> JSON:
    """An order row of get_pending_orders / get_history_orders / get_order_detail."""
    att = order.attached
    status = order.status
    if quirks and status == "NEW":
        status = "NEW_"
    row: JSON = {
        "orderId": order.order_id,
        "symbol": order.symbol,
        "qty": dec(order.qty),
        "tradeQty": dec(order.filled_qty),
        "positionMode": order.position_mode,
        "marginMode": "ISOLATION" if order.margin_mode == "ISOLATION" else "CROSS",
        "leverage": order.leverage,
        "price": dec(order.price) if order.price is not None else "",
        "side": order.side,
        "orderType": order.order_type,
        "effect": order.effect,
        "clientId": order.client_id,
        "reduceOnly": order.reduce_only,
        "status": status,
        "fee": dec(order.fee),
        "realizedPNL": dec(order.realized_pnl),
        "ctime": order.ctime_ns // 1_000_000,
        "mtime": order.mtime_ns // 1_000_000,
        "source": "api",
    }
    if att is not None:
        row.update({
            "tpPrice": dec(att.tp_price), "tpStopType": att.tp_stop_type if att.tp_price else "",
            "tpOrderType": att.tp_order_type if att.tp_price else "",
            "tpOrderPrice": dec(att.tp_order_price),
            "slPrice": dec(att.sl_price), "slStopType": att.sl_stop_type if att.sl_price else "",
            "slOrderType": att.sl_order_type if att.sl_price else "",
            "slOrderPrice": dec(att.sl_order_price),
        })
    return row


def ws_order(order: SimOrder, event: str, quirks: bool = False) -> JSON:
    """The ``order`` channel push (spec 5.5)."""
    att = order.attached
    data: JSON = {
        "event": event,
        "orderId": order.order_id,
        "clientId": order.client_id,
        "symbol": order.symbol,
        "positionType": order.margin_mode,
        "positionMode": order.position_mode,
        "side": _mixed(order.side) if quirks else order.side,
        "effect": order.effect,
        "type": _mixed(order.order_type) if quirks else order.order_type,
        "qty": dec(order.qty),
        "reductionOnly": order.reduce_only,
        "price": dec(order.price) if order.price is not None else "0",
        "ctime": iso_ns(order.ctime_ns),
        "mtime": iso_ns(order.mtime_ns),
        "leverage": str(order.leverage),
        "orderStatus": order.status,
        "fee": dec(-order.fee),
        "averagePrice": dec(order.average_price),
        "dealAmount": dec(order.filled_qty),
    }
    if att is not None:
        if att.tp_price is not None:
            data.update({"tpStopType": att.tp_stop_type, "tpPrice": dec(att.tp_price),
                         "tpOrderType": att.tp_order_type,
                         "tpOrderPrice": dec(att.tp_order_price)})
        if att.sl_price is not None:
            data.update({"slStopType": att.sl_stop_type, "slPrice": dec(att.sl_price),
                         "slOrderType": att.sl_order_type,
                         "slOrderPrice": dec(att.sl_order_price)})
    return data


def rest_position(pos: SimPosition, mark: Decimal | None, liq_price: Decimal, *,
                  maintenance_rate: Decimal = Decimal("0.004"), quirks: bool = False,
                  tick: Decimal = Decimal("0.01")) -> JSON:
    """A row of get_pending_positions; ``side`` is LONG/SHORT (BUY/SELL with quirks).

    ``liqPrice`` is on the contract's ``tick`` (as live), rounded to the safe side: up for
    a long (liquidated at or below it), down for a short."""
    side = pos.side
    if quirks:
        side = "BUY" if side == "LONG" else "SELL"
    upnl = pos.unrealized(mark)
    equity = pos.margin + upnl
    notional = pos.qty * mark if mark is not None else pos.entry_value
    ctime: object = pos.ctime_ns // 1_000_000
    mtime: object = pos.mtime_ns // 1_000_000
    if quirks:
        ctime, mtime = str(ctime), str(mtime)
    return {
        "positionId": pos.position_id,
        "symbol": pos.symbol,
        "marginCoin": "USDT",
        "qty": dec(pos.qty),
        "entryValue": dec(pos.entry_value),
        "side": side,
        "marginMode": pos.margin_mode,
        "positionMode": pos.position_mode,
        "leverage": pos.leverage,
        "fee": dec(pos.fee),
        "funding": dec(pos.funding),
        "realizedPNL": dec(pos.realized_pnl),
        "margin": dec(pos.margin),
        "unrealizedPNL": dec(upnl),
        "liqPrice": dec(liq_price.quantize(
            tick, ROUND_UP if pos.side == "LONG" else ROUND_DOWN) if liq_price else liq_price),
        "marginRate": dec((notional * maintenance_rate / equity).quantize(Decimal("0.0001"))
                          if equity > 0 else Decimal(0)),
        "avgOpenPrice": dec(pos.avg_price.quantize(Decimal("1e-8")) if pos.qty else pos.avg_price),
        "ctime": ctime,
        "mtime": mtime,
    }


def rest_history_position(pos: SimPosition) -> JSON:
    """A row of get_history_positions (entry/close prices are fill-weighted averages)."""
    entry = pos.opened_value / pos.opened_qty if pos.opened_qty else Decimal(0)
    close = pos.closed_value / pos.closed_qty if pos.closed_qty else Decimal(0)
    return {
        "maxQty": dec(pos.max_qty), "entryPrice": dec(entry.quantize(Decimal("1e-8"))),
        "closePrice": dec(close.quantize(Decimal("1e-8"))), "liqQty": "0", "liqPrice": "0",
        "positionId": pos.position_id, "symbol": pos.symbol, "side": pos.side,
        "marginMode": pos.margin_mode, "positionMode": pos.position_mode,
        "leverage": pos.leverage, "fee": dec(pos.fee), "funding": dec(pos.funding),
        "realizedPNL": dec(pos.realized_pnl), "ctime": pos.ctime_ns // 1_000_000,
        "mtime": pos.mtime_ns // 1_000_000, "qty": dec(pos.qty), "marginCoin": "USDT",
    }


def ws_position(pos: SimPosition, event: str, mark: Decimal | None) -> JSON:
    """The ``position`` channel push."""
    return {
        "event": event,
        "positionId": pos.position_id,
        "symbol": pos.symbol,
        "marginMode": pos.margin_mode,
        "positionMode": pos.position_mode,
        "side": pos.side,
        "leverage": str(pos.leverage),
        "margin": dec(pos.margin),
        "ctime": iso_ns(pos.ctime_ns),
        "mtime": iso_ns(pos.mtime_ns),
        "qty": dec(pos.qty),
        "entryValue": dec(pos.entry_value),
        "realizedPNL": dec(pos.realized_pnl),
        "unrealizedPNL": dec(pos.unrealized(mark)),
        "funding": dec(pos.funding),
        "fee": dec(pos.fee),
    }


def ws_balance(acct: SimAccount) -> JSON:
    """The ``balance`` channel push."""
    iso_frozen = sum((o.frozen for o in acct.open_orders.values()
                      if o.margin_mode == "ISOLATION"), Decimal(0))
    frozen = acct.frozen()
    return {
        "coin": "USDT",
        "available": dec(acct.available()),
        "frozen": dec(frozen),
        "isolationFrozen": dec(iso_frozen),
        "crossFrozen": dec(frozen - iso_frozen),
        "margin": dec(acct.position_margin()),
        "isolationMargin": dec(acct.position_margin("ISOLATION")),
        "crossMargin": dec(acct.position_margin("CROSS")),
        "expMoney": "0",
    }


def _tpsl_fields(tp: SimTpSl) -> JSON:
    out: JSON = {}
    if tp.tp_price is not None:
        out.update({"tpPrice": dec(tp.tp_price), "tpStopType": tp.tp_stop_type,
                    "tpOrderType": tp.tp_order_type, "tpOrderPrice": dec(tp.tp_order_price)})
        if tp.tp_qty is not None:
            out["tpQty"] = dec(tp.tp_qty)
    if tp.sl_price is not None or tp.trail_rate is not None:
        out.update({"slPrice": dec(tp.sl_price), "slStopType": tp.sl_stop_type,
                    "slOrderType": tp.sl_order_type, "slOrderPrice": dec(tp.sl_order_price)})
        if tp.sl_qty is not None:
            out["slQty"] = dec(tp.sl_qty)
    return out


def ws_tpsl(tp: SimTpSl, event: str, acct: SimAccount, leverage: int, quirks: bool = False) -> JSON:
    """The ``tpsl`` channel push (live casing ``Sell``, ``Last``, ``Market`` with quirks)."""
    side = "SELL" if tp.pos_side == "LONG" else "BUY"
    data: JSON = {
        "event": event,
        "positionId": tp.position_id,
        "orderId": tp.tpsl_id,
        "symbol": tp.symbol,
        "leverage": str(leverage),
        # A TP/SL closes the position: the action is the opposite of the position side.
        "side": _mixed(side) if quirks else side,
        "positionMode": acct.position_mode,
        "status": tp.status,
        "ctime": iso_ns(tp.ctime_ns),
        "type": "POSITION_TPSL" if tp.kind == "POSITION_TPSL" else "TPSL",
    }
    data.update(_tpsl_fields(tp))
    if quirks:
        for key in ("tpStopType", "slStopType", "tpOrderType", "slOrderType"):
            if key in data:
                data[key] = _mixed(str(data[key]))
    return data


def rest_tpsl(tp: SimTpSl, base: str, quote: str) -> JSON:
    """A row of tpsl/get_pending_orders (note ``id``, not ``orderId``)."""
    row: JSON = {"id": tp.tpsl_id, "positionId": tp.position_id, "symbol": tp.symbol,
                 "base": base, "quote": quote, "tpPrice": "", "tpStopType": "",
                 "slPrice": "", "slStopType": "", "tpOrderType": "", "tpOrderPrice": "",
                 "slOrderType": "", "slOrderPrice": "", "tpQty": "", "slQty": ""}
    row.update(_tpsl_fields(tp))
    return row


def rest_tpsl_history(tp: SimTpSl, base: str, quote: str) -> JSON:
    """A row of tpsl/get_history_orders."""
    row = rest_tpsl(tp, base, quote)
    row.update({"status": tp.status, "ctime": tp.ctime_ns // 1_000_000,
                "triggerTime": tp.trigger_ns // 1_000_000})
    return row


def rest_fill(fill: SimFill) -> JSON:
    """A row of get_history_trades; ``fee`` positive = paid."""
    return {
        "tradeId": fill.trade_id, "orderId": fill.order_id, "symbol": fill.symbol,
        "qty": dec(fill.qty), "positionMode": fill.position_mode,
        "marginMode": fill.margin_mode, "leverage": fill.leverage, "price": dec(fill.price),
        "side": fill.side, "orderType": fill.order_type, "effect": fill.effect,
        "clientId": fill.client_id, "reduceOnly": fill.reduce_only, "fee": dec(fill.fee),
        "realizedPNL": dec(fill.realized_pnl), "ctime": fill.ts_ns // 1_000_000,
        "roleType": fill.role, "positionId": fill.position_id,
    }
