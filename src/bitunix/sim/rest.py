"""REST endpoints of the simulated exchange (spec section 4), over the matching engine.

Every answer is HTTP 200 with ``{"code", "msg", "data"}``; business errors carry the
documented code and ``data: null``; unknown paths answer code 404. Private endpoints are
authenticated (:mod:`bitunix.sim.auth`) over the raw query and the exact body received.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bitunix.sim import shapes
from bitunix.sim.engine import OPEN_STATUSES, SimOrder, SimOrderRequest
from bitunix.sim.errors import (
    BATCH_TOO_LARGE,
    LIVE_NETWORK_ERROR,
    ORDER_NOT_FOUND,
    PARAMETER_ERROR,
    VALUE_RULE,
    SimError,
)
from bitunix.sim.http import envelope_error, envelope_json, read_body
from bitunix.sim.market import REST_INTERVALS
from bitunix.sim.shapes import dec

if TYPE_CHECKING:
    from bitunix.sim.server import SimServer

PREFIX = "/api/v1/futures"
DEPTH_LIMITS = ("1", "5", "15", "50", "max")
MAX_BATCH = 5

Handler = Callable[["Params", str], Any]


def envelope(data: Any, *, quirks: bool = False) -> web.Response:
    """A success answer."""
    return envelope_json({"code": 0, "msg": "result.success" if quirks else "Success",
                          "data": data})


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_body(body: bytes) -> dict[str, Any]:
    """The JSON object of a POST body; 10002 if it is not UTF-8 JSON holding an object.

    Numbers are kept as written (``Decimal``: a float would round 0.50000000000000001
    on-grid); ``NaN`` and ``Infinity`` are not JSON and are refused; nesting deeper than the
    parser's recursion limit is refused like any other malformed body.
    """
    if not body:
        return {}
    try:
        parsed = json.loads(body.decode("utf-8"), parse_float=Decimal,
                            parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise SimError(PARAMETER_ERROR, "body is not UTF-8") from None
    except (ValueError, RecursionError):
        raise SimError(PARAMETER_ERROR, "body is not JSON") from None
    if not isinstance(parsed, dict):
        raise SimError(PARAMETER_ERROR, "body must be a JSON object")
    return parsed


class Params:
    """Typed, lenient access to query or body parameters (numbers as strings or JSON)."""

    def __init__(self, src: Mapping[str, Any], *, missing_code: int = PARAMETER_ERROR) -> None:
        self.src = src
        self.missing_code = missing_code

    def raw(self, name: str) -> Any:
        value = self.src.get(name)
        return None if value in ("", None) else value

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.raw(name)
        if value is None:
            if required:
                raise SimError(self.missing_code, f"{name} is required")
            return None
        return str(value)

    def req_str(self, name: str) -> str:
        value = self.text(name, required=True)
        assert value is not None
        return value

    def dec(self, name: str, *, required: bool = False) -> Decimal | None:
        text = self.text(name, required=required)
        if text is None:
            return None
        if isinstance(self.raw(name), bool):
            raise SimError(PARAMETER_ERROR, f"{name} must be a decimal")
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise SimError(PARAMETER_ERROR, f"{name}={text!r} is not a decimal") from None
        if not value.is_finite():
            raise SimError(PARAMETER_ERROR, f"{name}={text!r} is not finite")
        return value

    def integer(self, name: str, default: int | None = None, *, required: bool = False) -> int:
        text = self.text(name, required=required)
        if text is None:
            if default is None:
                raise SimError(self.missing_code, f"{name} is required")
            return default
        try:
            return int(text)
        except ValueError:
            raise SimError(PARAMETER_ERROR, f"{name}={text!r} is not an integer") from None

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
        raise SimError(PARAMETER_ERROR, f"{name}={value!r} is not a boolean")


def order_request(p: Params, symbol: str) -> SimOrderRequest:
    """Parse a ``place_order`` body (or a batch entry) into an :class:`SimOrderRequest`."""
    return SimOrderRequest(
        symbol=symbol,
        side=p.req_str("side"),
        order_type=p.req_str("orderType"),
        qty=p.dec("qty", required=True) or Decimal(0),
        price=p.dec("price"),
        trade_side=p.text("tradeSide"),
        position_id=p.text("positionId"),
        effect=p.text("effect") or "GTC",
        client_id=p.text("clientId") or "",
        reduce_only=p.flag("reduceOnly"),
        tp_price=p.dec("tpPrice"),
        tp_stop_type=p.text("tpStopType") or "LAST_PRICE",
        tp_order_type=p.text("tpOrderType") or "MARKET",
        tp_order_price=p.dec("tpOrderPrice"),
        sl_price=p.dec("slPrice"),
        sl_stop_type=p.text("slStopType") or "LAST_PRICE",
        sl_order_type=p.text("slOrderType") or "MARKET",
        sl_order_price=p.dec("slOrderPrice"),
    )


def _page(rows: list[Any], p: Params, *, default_limit: int = 10) -> tuple[list[Any], int]:
    skip = max(0, p.integer("skip", 0))
    limit = min(100, max(1, p.integer("limit", default_limit)))
    return rows[skip:skip + limit], len(rows)


class RestApi:
    """Routes ``/api/v1/futures/...`` to handlers; see the module docstring."""

    def __init__(self, server: SimServer) -> None:
        self.server = server
        self.engine = server.engine
        m = "/market"
        self.public: dict[str, Handler] = {
            f"{PREFIX}{m}/trading_pairs": self.trading_pairs,
            f"{PREFIX}{m}/tickers": self.tickers,
            f"{PREFIX}{m}/depth": self.depth,
            f"{PREFIX}{m}/kline": self.kline,
            f"{PREFIX}{m}/funding_rate": self.funding_rate,
            f"{PREFIX}{m}/funding_rate/batch": self.funding_rate_batch,
            f"{PREFIX}{m}/get_funding_rate_history": self.funding_history,
            f"{PREFIX}/position/get_position_tiers": self.position_tiers,
        }
        self.private: dict[str, tuple[str, Handler]] = {
            f"{PREFIX}/account": ("GET", self.account),
            f"{PREFIX}/account/change_leverage": ("POST", self.change_leverage),
            f"{PREFIX}/account/change_margin_mode": ("POST", self.change_margin_mode),
            f"{PREFIX}/account/change_position_mode": ("POST", self.change_position_mode),
            f"{PREFIX}/account/get_leverage_margin_mode": ("GET", self.leverage_margin_mode),
            f"{PREFIX}/account/adjust_position_margin": ("POST", self.adjust_margin),
            f"{PREFIX}/position/get_pending_positions": ("GET", self.pending_positions),
            f"{PREFIX}/position/get_history_positions": ("GET", self.history_positions),
            f"{PREFIX}/trade/place_order": ("POST", self.place_order),
            f"{PREFIX}/trade/batch_order": ("POST", self.batch_order),
            f"{PREFIX}/trade/cancel_orders": ("POST", self.cancel_orders),
            f"{PREFIX}/trade/cancel_all_orders": ("POST", self.cancel_all_orders),
            f"{PREFIX}/trade/modify_order": ("POST", self.modify_order),
            f"{PREFIX}/trade/flash_close_position": ("POST", self.flash_close),
            f"{PREFIX}/trade/close_all_position": ("POST", self.close_all),
            f"{PREFIX}/trade/get_pending_orders": ("GET", self.pending_orders),
            f"{PREFIX}/trade/get_order_detail": ("GET", self.order_detail),
            f"{PREFIX}/trade/get_history_orders": ("GET", self.history_orders),
            f"{PREFIX}/trade/get_history_trades": ("GET", self.history_trades),
            f"{PREFIX}/tpsl/place_order": ("POST", self.tpsl_place),
            f"{PREFIX}/tpsl/position/place_order": ("POST", self.tpsl_position_place),
            f"{PREFIX}/tpsl/modify_order": ("POST", self.tpsl_modify),
            f"{PREFIX}/tpsl/position/modify_order": ("POST", self.tpsl_position_modify),
            f"{PREFIX}/tpsl/cancel_order": ("POST", self.tpsl_cancel),
            f"{PREFIX}/tpsl/get_pending_orders": ("GET", self.tpsl_pending),
            f"{PREFIX}/tpsl/get_history_orders": ("GET", self.tpsl_history),
        }

    @property
    def quirks(self) -> bool:
        return self.server.quirks

    async def handle(self, request: web.BaseRequest) -> web.Response:
        """Dispatch one request; every outcome is an envelope.

        A private call is authenticated over the raw query pairs and the exact body bytes
        before the body is decoded: an unsigned request learns nothing about its body.
        """
        path = request.path
        try:
            if path in self.public and request.method == "GET":
                if self.server.limiter is not None:
                    self.server.limiter.check(request.remote or "ip", path,
                                              self.engine.clock.now_ns())
                params = Params(dict(request.query), missing_code=LIVE_NETWORK_ERROR)
                return envelope(self.public[path](params, ""), quirks=self.quirks)
            route = self.private.get(path)
            if route is None or request.method != route[0]:
                return envelope_json({"code": 404, "msg": "Not Found", "data": None})
            body = await read_body(request)
            headers = {k.lower(): v for k, v in request.headers.items()}
            uid = self.server.auth.verify_rest(headers, list(request.query.items()), body,
                                               self.server._wall_ms())
            if self.server.limiter is not None:
                self.server.limiter.check(uid, path, self.engine.clock.now_ns())
            params = Params(parse_body(body) if route[0] == "POST" else dict(request.query))
            return envelope(route[1](params, uid), quirks=self.quirks)
        except SimError as exc:
            return envelope_error(exc)

    # ------------------------------------------------------------------ market
    def _symbols(self, p: Params) -> list[str]:
        text = p.text("symbols")
        if text is None:
            return list(self.engine.contracts)
        out = [s.strip().upper() for s in text.split(",") if s.strip()]
        for s in out:
            self.engine.contract(s)
        return out

    def trading_pairs(self, p: Params, _uid: str) -> Any:
        return [self.engine.contracts[s].to_rest() for s in self._symbols(p)]

    def tickers(self, p: Params, _uid: str) -> Any:
        rows = []
        for s in self._symbols(p):
            mkt = self.engine.markets[s]
            if mkt.mark is None:
                continue  # no market data: the venue lists no ticker for what does not trade
            last = mkt.last or mkt.mark
            rows.append({"symbol": s, "markPrice": dec(mkt.mark), "lastPrice": dec(last),
                         "open": dec(mkt.open_24h or last), "last": dec(last),
                         "quoteVol": dec(mkt.quote_volume), "baseVol": dec(mkt.base_volume),
                         "high": dec(mkt.high_24h or last), "low": dec(mkt.low_24h or last)})
        return rows

    def depth(self, p: Params, _uid: str) -> Any:
        symbol = self.engine.contract(p.req_str("symbol")).symbol
        limit = p.text("limit") or "max"
        if limit not in DEPTH_LIMITS:
            raise SimError(VALUE_RULE, f"Parameter {limit} does not match, alternative value "
                           f"{json.dumps(list(DEPTH_LIMITS))}.")
        n = None if limit == "max" else int(limit)
        mkt = self.engine.markets[symbol]
        return {"asks": [[dec(px), dec(q)] for px, q in mkt.asks[:n]],
                "bids": [[dec(px), dec(q)] for px, q in mkt.bids[:n]]}

    def kline(self, p: Params, _uid: str) -> Any:
        symbol = self.engine.contract(p.req_str("symbol")).symbol
        interval = p.req_str("interval")
        if interval not in REST_INTERVALS:
            raise SimError(VALUE_RULE, f"interval {interval}")
        kind = (p.text("type") or "LAST_PRICE").upper()
        candles = (self.server.playback.marks if kind == "MARK_PRICE"
                   else self.server.playback.trades)[symbol].series(REST_INTERVALS[interval])
        end = p.integer("endTime", 2**62)
        limit = min(200, max(1, p.integer("limit", 100)))
        rows = [c for c in candles if c.open_ms <= end][-limit:]
        out = []
        for c in reversed(rows):  # newest first, as live
            base, quote = dec(c.base_volume), dec(c.quote_volume)
            if self.quirks:  # live: the names of the two volumes are inverted
                base, quote = quote, base
            out.append({"open": dec(c.open), "high": dec(c.high), "low": dec(c.low),
                        "close": dec(c.close), "quoteVol": quote, "baseVol": base,
                        "time": str(c.open_ms), "type": kind})
        return out

    def _funding_row(self, symbol: str) -> dict[str, Any]:
        mkt = self.engine.markets[symbol]
        spec = self.engine.contracts[symbol]
        return {"symbol": symbol, "markPrice": dec(mkt.mark), "lastPrice": dec(mkt.last),
                "indexPrice": dec(mkt.mark), "fundingRate": dec(self.engine.funding_rate_pct),
                "fundingInterval": self.engine.funding_interval_ns // 3_600_000_000_000,
                "nextFundingTime": str(self.engine.next_funding_ns // 1_000_000),
                "maxFundingRate": dec(spec.max_funding_rate_pct),
                "minFundingRate": dec(spec.min_funding_rate_pct)}

    def funding_rate(self, p: Params, _uid: str) -> Any:
        row = self._funding_row(self.engine.contract(p.req_str("symbol")).symbol)
        return row if self.quirks else [row]

    def funding_rate_batch(self, _p: Params, _uid: str) -> Any:
        return [self._funding_row(s) for s in self.engine.contracts]

    def funding_history(self, p: Params, _uid: str) -> Any:
        symbol = self.engine.contract(p.req_str("symbol")).symbol
        limit = min(200, max(1, p.integer("limit", 100)))
        rows = [r for r in self.engine.funding_history if r[1] == symbol][-limit:]
        return [{"fundingRate": dec(rate / 100), "fundingTime": str(ts // 1_000_000),
                 "markPrice": dec(mark)} for ts, _, rate, mark in reversed(rows)]

    def position_tiers(self, p: Params, _uid: str) -> Any:
        spec = self.engine.contract(p.req_str("symbol"))
        return [{"symbol": spec.symbol, "level": 1, "startValue": "0",
                 "endValue": "1000000000", "leverage": spec.max_leverage,
                 "maintenanceMarginRate": dec(spec.maintenance_margin_rate)}]

    # ------------------------------------------------------------------ account
    def account(self, p: Params, uid: str) -> Any:
        coin = p.req_str("marginCoin").upper()
        if coin != "USDT":
            raise SimError(PARAMETER_ERROR, f"marginCoin {coin}")
        acct = self.engine.account(uid)
        cross = iso = Decimal(0)
        for pos in acct.positions.values():
            upnl = pos.unrealized(self.engine.markets[pos.symbol].mark)
            if pos.margin_mode == "ISOLATION":
                iso += upnl
            else:
                cross += upnl
        return {"marginCoin": "USDT", "available": dec(acct.available()),
                "frozen": dec(acct.frozen()), "margin": dec(acct.position_margin()),
                "transfer": dec(max(acct.available() + min(cross, Decimal(0)), Decimal(0))),
                "positionMode": acct.position_mode, "crossUnrealizedPNL": dec(cross),
                "isolationUnrealizedPNL": dec(iso), "bonus": "0"}

    def change_leverage(self, p: Params, uid: str) -> Any:
        symbol = self.engine.contract(p.req_str("symbol")).symbol
        leverage = p.integer("leverage", required=True)
        self.engine.change_leverage(uid, symbol, leverage)
        return [{"symbol": symbol, "marginCoin": "USDT", "leverage": leverage}]

    def change_margin_mode(self, p: Params, uid: str) -> Any:
        symbol = self.engine.contract(p.req_str("symbol")).symbol
        mode = p.req_str("marginMode").upper()
        self.engine.change_margin_mode(uid, symbol, mode)
        return [{"symbol": symbol, "marginCoin": "USDT", "marginMode": mode}]

    def change_position_mode(self, p: Params, uid: str) -> Any:
        mode = p.req_str("positionMode").upper()
        self.engine.change_position_mode(uid, mode)
        return [{"positionMode": mode}]

    def leverage_margin_mode(self, p: Params, uid: str) -> Any:
        symbol = self.engine.contract(p.req_str("symbol")).symbol
        acct = self.engine.account(uid)
        return {"symbol": symbol, "marginCoin": p.text("marginCoin") or "USDT",
                "leverage": self.engine.leverage_of(acct, symbol),
                "marginMode": self.engine.margin_mode_of(acct, symbol)}

    def adjust_margin(self, p: Params, uid: str) -> Any:
        amount = p.dec("amount", required=True) or Decimal(0)
        self.engine.adjust_margin(uid, p.req_str("symbol"), amount, side=p.text("side"),
                                  position_id=p.text("positionId"))
        return ""

    # ------------------------------------------------------------------ positions
    def pending_positions(self, p: Params, uid: str) -> Any:
        acct = self.engine.account(uid)
        symbol = (p.text("symbol") or "").upper()
        pid = p.text("positionId")
        rows = []
        for pos in acct.positions.values():
            if (symbol and pos.symbol != symbol) or (pid and pos.position_id != pid):
                continue
            spec = self.engine.contracts[pos.symbol]
            rows.append(shapes.rest_position(
                pos, self.engine.markets[pos.symbol].mark, self.engine.liquidation_price(pos),
                maintenance_rate=spec.maintenance_margin_rate, quirks=self.quirks,
                tick=spec.tick))
        return rows

    def history_positions(self, p: Params, uid: str) -> Any:
        acct = self.engine.account(uid)
        symbol = (p.text("symbol") or "").upper()
        pid = p.text("positionId")
        rows = [shapes.rest_history_position(pos) for pos in reversed(acct.closed_positions)
                if (not symbol or pos.symbol == symbol) and (not pid or pos.position_id == pid)]
        page, total = _page(rows, p)
        return {"positionList": page, "total": total}

    # ------------------------------------------------------------------ trade
    def place_order(self, p: Params, uid: str) -> Any:
        symbol = p.req_str("symbol")
        order = self.engine.place_order(uid, order_request(p, symbol))
        return {"orderId": order.order_id, "clientId": order.client_id}

    def batch_order(self, p: Params, uid: str) -> Any:
        symbol = p.req_str("symbol")
        entries = p.raw("orderList")
        if not isinstance(entries, list) or not entries:
            raise SimError(PARAMETER_ERROR, "orderList must be a non-empty list")
        if len(entries) > MAX_BATCH:
            raise SimError(BATCH_TOO_LARGE, f"{len(entries)} > {MAX_BATCH}")
        success, failure = [], []
        for entry in entries:
            client_id = str(entry.get("clientId", "")) if isinstance(entry, dict) else ""
            try:
                if not isinstance(entry, dict):
                    raise SimError(PARAMETER_ERROR, "orderList entries must be objects")
                order = self.engine.place_order(uid, order_request(Params(entry), symbol))
                success.append({"orderId": order.order_id, "clientId": order.client_id})
            except SimError as exc:
                failure.append({"clientId": client_id, "errorMsg": exc.msg,
                                "errorCode": exc.code})
        return {"successList": success, "failureList": failure}

    def cancel_orders(self, p: Params, uid: str) -> Any:
        symbol = self.engine.contract(p.req_str("symbol")).symbol
        entries = p.raw("orderList")
        if not isinstance(entries, list) or not entries:
            raise SimError(PARAMETER_ERROR, "orderList must be a non-empty list")
        success, failure = [], []
        for item in entries:
            entry = item if isinstance(item, dict) else {}
            oid, cid = entry.get("orderId"), entry.get("clientId")
            try:
                order = self.engine.cancel_order(uid, symbol, order_id=oid and str(oid),
                                                 client_id=cid and str(cid))
                success.append({"orderId": order.order_id, "clientId": order.client_id})
            except SimError as exc:
                failure.append({"orderId": str(oid or ""), "clientId": str(cid or ""),
                                "errorMsg": exc.msg, "errorCode": exc.code})
        return {"successList": success, "failureList": failure}

    def cancel_all_orders(self, p: Params, uid: str) -> Any:
        done = self.engine.cancel_all(uid, p.text("symbol"))
        return {"successList": [{"orderId": o.order_id, "clientId": o.client_id} for o in done],
                "failureList": []}

    def modify_order(self, p: Params, uid: str) -> Any:
        order = self.engine.modify_order(
            uid, order_id=p.text("orderId"), client_id=p.text("clientId"),
            qty=p.dec("qty", required=True) or Decimal(0),
            price=p.dec("price", required=True) or Decimal(0))
        return {"orderId": order.order_id, "clientId": order.client_id}

    def flash_close(self, p: Params, uid: str) -> Any:
        pos = self.engine.flash_close(uid, p.req_str("positionId"))
        return {"positionId": pos.position_id}

    def close_all(self, p: Params, uid: str) -> Any:
        self.engine.close_all(uid, p.text("symbol"))
        return ""

    def _orders(self, p: Params, uid: str, *, pending: bool) -> list[SimOrder]:
        acct = self.engine.account(uid)
        symbol = (p.text("symbol") or "").upper()
        oid, cid, status = p.text("orderId"), p.text("clientId"), p.text("status")
        start, end = p.integer("startTime", 0), p.integer("endTime", 2**62)
        rows = [o for o in acct.orders.values()
                if (o.status in OPEN_STATUSES) == pending
                and (not symbol or o.symbol == symbol) and (not oid or o.order_id == oid)
                and (not cid or o.client_id == cid) and (not status or o.status == status)
                and start <= o.ctime_ns // 1_000_000 <= end]
        rows.sort(key=lambda o: (o.ctime_ns, int(o.order_id)), reverse=True)
        return rows

    def pending_orders(self, p: Params, uid: str) -> Any:
        page, total = _page(self._orders(p, uid, pending=True), p)
        return {"orderList": [shapes.rest_order(o, self.quirks) for o in page], "total": total}

    def history_orders(self, p: Params, uid: str) -> Any:
        rows = self._orders(p, uid, pending=False)
        kind = p.text("type")
        if kind:
            rows = [o for o in rows if o.order_type == kind.upper()]
        if p.flag("queryCanceled"):
            rows = [o for o in rows if "CANCELED" in o.status]
        page, total = _page(rows, p)
        return {"orderList": [shapes.rest_order(o, self.quirks) for o in page], "total": total}

    def order_detail(self, p: Params, uid: str) -> Any:
        acct = self.engine.account(uid)
        oid, cid = p.text("orderId"), p.text("clientId")
        if not oid and not cid:
            raise SimError(PARAMETER_ERROR, "orderId or clientId is required")
        order = acct.orders.get(oid or "") if oid else acct.orders.get(
            acct.client_ids.get(cid or "", ""))
        if order is None:
            raise SimError(ORDER_NOT_FOUND, str(oid or cid))
        return shapes.rest_order(order, self.quirks)

    def history_trades(self, p: Params, uid: str) -> Any:
        acct = self.engine.account(uid)
        symbol = (p.text("symbol") or "").upper()
        oid = p.text("orderId")
        start, end = p.integer("startTime", 0), p.integer("endTime", 2**62)
        rows = [shapes.rest_fill(f) for f in reversed(acct.fills)
                if (not symbol or f.symbol == symbol) and (not oid or f.order_id == oid)
                and start <= f.ts_ns // 1_000_000 <= end]
        page, total = _page(rows, p)
        return {"tradeList": page, "total": total}

    # ------------------------------------------------------------------ TP/SL
    def _tpsl_kwargs(self, p: Params) -> dict[str, Any]:
        return {
            "tp_price": p.dec("tpPrice"), "tp_stop_type": p.text("tpStopType") or "LAST_PRICE",
            "tp_order_type": p.text("tpOrderType") or "MARKET",
            "tp_order_price": p.dec("tpOrderPrice"), "tp_qty": p.dec("tpQty"),
            "sl_price": p.dec("slPrice"), "sl_stop_type": p.text("slStopType") or "LAST_PRICE",
            "sl_order_type": p.text("slOrderType") or "MARKET",
            "sl_order_price": p.dec("slOrderPrice"), "sl_qty": p.dec("slQty"),
        }

    def tpsl_place(self, p: Params, uid: str) -> Any:
        tp = self.engine.place_tpsl(uid, p.req_str("symbol"), p.req_str("positionId"),
                                    **self._tpsl_kwargs(p))
        row = {"orderId": tp.tpsl_id, "clientId": None}
        return [row] if self.quirks else row

    def tpsl_position_place(self, p: Params, uid: str) -> Any:
        kw = self._tpsl_kwargs(p)
        tp = self.engine.place_tpsl(uid, p.req_str("symbol"), p.req_str("positionId"),
                                    tp_price=kw["tp_price"], tp_stop_type=kw["tp_stop_type"],
                                    sl_price=kw["sl_price"], sl_stop_type=kw["sl_stop_type"],
                                    position_level=True)
        return {"orderId": tp.tpsl_id}

    def tpsl_modify(self, p: Params, uid: str) -> Any:
        kw = self._tpsl_kwargs(p)
        for key in ("tp_stop_type", "sl_stop_type", "tp_order_type", "sl_order_type"):
            field = {"tp_stop_type": "tpStopType", "sl_stop_type": "slStopType",
                     "tp_order_type": "tpOrderType", "sl_order_type": "slOrderType"}[key]
            if p.text(field) is None:
                kw[key] = None
        tp = self.engine.modify_tpsl(uid, p.req_str("orderId"), **kw)
        return {"orderId": tp.tpsl_id}

    def tpsl_position_modify(self, p: Params, uid: str) -> Any:
        self.engine.contract(p.req_str("symbol"))
        tp = self.engine.position_tpsl(uid, p.req_str("positionId"))
        if tp is None:
            raise SimError(ORDER_NOT_FOUND, "no position TP/SL")
        self.engine.modify_tpsl(uid, tp.tpsl_id, tp_price=p.dec("tpPrice"),
                                tp_stop_type=p.text("tpStopType"), sl_price=p.dec("slPrice"),
                                sl_stop_type=p.text("slStopType"))
        return {"orderId": tp.tpsl_id}

    def tpsl_cancel(self, p: Params, uid: str) -> Any:
        tp = self.engine.cancel_tpsl(uid, p.req_str("orderId"))
        return {"orderId": tp.tpsl_id}

    def tpsl_pending(self, p: Params, uid: str) -> Any:
        acct = self.engine.account(uid)
        symbol = (p.text("symbol") or "").upper()
        pid = p.text("positionId")
        rows = [shapes.rest_tpsl(tp, *self._base_quote(tp.symbol)) for tp in acct.tpsl.values()
                if (not symbol or tp.symbol == symbol) and (not pid or tp.position_id == pid)]
        return _page(rows, p)[0]

    def tpsl_history(self, p: Params, uid: str) -> Any:
        acct = self.engine.account(uid)
        symbol = (p.text("symbol") or "").upper()
        rows = [shapes.rest_tpsl_history(tp, *self._base_quote(tp.symbol))
                for tp in reversed(acct.tpsl_history) if not symbol or tp.symbol == symbol]
        page, total = _page(rows, p)
        return {"orderList": page, "total": total}

    def _base_quote(self, symbol: str) -> tuple[str, str]:
        spec = self.engine.contracts[symbol]
        return spec.base, spec.quote


__all__ = ["Params", "RestApi", "envelope", "envelope_error", "order_request", "parse_body"]
