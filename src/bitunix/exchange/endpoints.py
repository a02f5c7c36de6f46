"""The REST endpoints the client uses (spec 4): method, path, signing and retry safety.

``retry_safe`` marks what may be re-sent after a timeout without doubling an effect:
reads, idempotent settings and cancels, and orders (which always carry a clientId, so a
second copy is refused with 30042). Never retried: margin adjustment, flash close,
close-all and TP/SL placement (no idempotency key). ``max_limit`` is the page size each
endpoint documents (spec 4); a larger ``limit`` is refused before sending.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["DEPTH_LIMITS", "KLINE_DEFAULT_LIMIT", "KLINE_INTERVALS", "KLINE_INTERVAL_MS",
           "MAX_BATCH", "Endpoint"]

_P = "/api/v1/futures"
MAX_BATCH = 5  # newer doc: at most 5 orders per batch_order (spec 4.4)
DEPTH_LIMITS = frozenset({"1", "5", "15", "50", "max"})  # anything else is 10008 (spec 4.1)
_MIN = 60_000
# Candle length by REST interval; a month counts 31 days (an upper bound, for page windows).
KLINE_INTERVAL_MS: dict[str, int] = {
    "1m": _MIN, "3m": 3 * _MIN, "5m": 5 * _MIN, "15m": 15 * _MIN, "30m": 30 * _MIN,
    "1h": 60 * _MIN, "2h": 120 * _MIN, "4h": 240 * _MIN, "6h": 360 * _MIN,
    "8h": 480 * _MIN, "12h": 720 * _MIN, "1d": 1440 * _MIN, "3d": 3 * 1440 * _MIN,
    "1w": 7 * 1440 * _MIN, "1M": 31 * 1440 * _MIN,
}
KLINE_INTERVALS = frozenset(KLINE_INTERVAL_MS)
KLINE_DEFAULT_LIMIT = 100  # rows per page when no limit is sent (spec 4.1)


class Endpoint(NamedTuple):
    """One REST endpoint: method, path, whether it is signed and safe to retry as is, and
    the largest ``limit`` (page size) it takes (None: none documented)."""

    method: str
    path: str
    signed: bool
    retry_safe: bool
    max_limit: int | None = None


def _get(path: str, signed: bool = True, max_limit: int | None = None) -> Endpoint:
    return Endpoint("GET", f"{_P}{path}", signed, True, max_limit)


def _post(path: str, retry_safe: bool) -> Endpoint:
    return Endpoint("POST", f"{_P}{path}", True, retry_safe)


TRADING_PAIRS = _get("/market/trading_pairs", signed=False)
TICKERS = _get("/market/tickers", signed=False)
DEPTH = _get("/market/depth", signed=False)
KLINE = _get("/market/kline", signed=False, max_limit=200)
FUNDING_RATE = _get("/market/funding_rate", signed=False)
FUNDING_RATE_BATCH = _get("/market/funding_rate/batch", signed=False)
FUNDING_HISTORY = _get("/market/get_funding_rate_history", signed=False, max_limit=200)
POSITION_TIERS = _get("/position/get_position_tiers", signed=False)
ACCOUNT = _get("/account")
LEVERAGE_MARGIN_MODE = _get("/account/get_leverage_margin_mode")
CHANGE_LEVERAGE = _post("/account/change_leverage", retry_safe=True)
CHANGE_MARGIN_MODE = _post("/account/change_margin_mode", retry_safe=True)
CHANGE_POSITION_MODE = _post("/account/change_position_mode", retry_safe=True)
# Adding margin twice doubles it: never retried.
ADJUST_MARGIN = _post("/account/adjust_position_margin", retry_safe=False)
PENDING_POSITIONS = _get("/position/get_pending_positions")
HISTORY_POSITIONS = _get("/position/get_history_positions", max_limit=100)
PLACE_ORDER = _post("/trade/place_order", retry_safe=True)
BATCH_ORDER = _post("/trade/batch_order", retry_safe=True)
CANCEL_ORDERS = _post("/trade/cancel_orders", retry_safe=True)
CANCEL_ALL = _post("/trade/cancel_all_orders", retry_safe=True)
MODIFY_ORDER = _post("/trade/modify_order", retry_safe=True)
# A retried flash close could close a position reopened in between: never retried.
FLASH_CLOSE = _post("/trade/flash_close_position", retry_safe=False)
CLOSE_ALL = _post("/trade/close_all_position", retry_safe=False)
PENDING_ORDERS = _get("/trade/get_pending_orders", max_limit=100)
ORDER_DETAIL = _get("/trade/get_order_detail")
HISTORY_ORDERS = _get("/trade/get_history_orders", max_limit=100)
HISTORY_TRADES = _get("/trade/get_history_trades", max_limit=100)
TPSL_PLACE = _post("/tpsl/place_order", retry_safe=False)
TPSL_POSITION_PLACE = _post("/tpsl/position/place_order", retry_safe=True)
TPSL_MODIFY = _post("/tpsl/modify_order", retry_safe=True)
TPSL_POSITION_MODIFY = _post("/tpsl/position/modify_order", retry_safe=True)
TPSL_CANCEL = _post("/tpsl/cancel_order", retry_safe=True)
TPSL_PENDING = _get("/tpsl/get_pending_orders", max_limit=100)
TPSL_HISTORY = _get("/tpsl/get_history_orders")
