"""Exchange error codes the simulator answers with (spec section 3.1).

Every business failure of the simulated exchange is a :class:`SimError` carrying the code
and message the real Bitunix API uses, so the REST layer turns it into the same
``{"code", "msg", "data": null}`` envelope and the in-process backtester sees the same codes.
"""

from __future__ import annotations

from bitunix.core.errors import BitunixError

LIVE_NETWORK_ERROR = 1
NETWORK_ERROR = 10001
PARAMETER_ERROR = 10002
API_KEY_EMPTY = 10003
RATE_LIMIT_IP = 10005
RATE_LIMIT = 10006
SIGN_ERROR = 10007
VALUE_RULE = 10008
MARKET_NOT_EXISTS = 20001
INSUFFICIENT_BALANCE = 20003
INVALID_LEVERAGE = 20005
OPEN_ORDERS_EXIST = 20006
ORDER_NOT_FOUND = 20007
POSITION_MODE_LOCKED = 20009
TRADING_DISABLED = 20012
FUTURES_NOT_SUPPORTED = 20015
BATCH_TOO_LARGE = 20016
POSITION_NOT_EXIST = 30004
SELECT_TP_OR_SL = 30006
ABNORMAL_ORDER_STATUS = 30011
MAX_ORDER_QTY = 30013
MAX_BUY_PRICE = 30014
MIN_SELL_PRICE = 30015
QTY_TOO_SMALL = 30016
QTY_BELOW_MIN = 30017
REDUCE_ONLY_NO_POSITION = 30018
REDUCE_ONLY_SAME_DIRECTION = 30019
TPSL_QTY_TOO_LARGE = 30038
TRIGGER_PRICE_NOT_POSITIVE = 30041
CLIENT_ID_DUPLICATE = 30042

MESSAGES: dict[int, str] = {
    LIVE_NETWORK_ERROR: "Network Error",
    403: "this API key does not support this operation",
    404: "Not Found",
    NETWORK_ERROR: "Network Error",
    PARAMETER_ERROR: "Parameter Error",
    API_KEY_EMPTY: "api-key can't be empty",
    RATE_LIMIT_IP: "Too many requests, please try again later",
    RATE_LIMIT: "Request too frequently",
    SIGN_ERROR: "Sign signature error",
    VALUE_RULE: "value does not comply with the rule",
    MARKET_NOT_EXISTS: "Market not exists",
    INSUFFICIENT_BALANCE: "Insufficient balance",
    INVALID_LEVERAGE: "Invalid leverage",
    OPEN_ORDERS_EXIST: "can't change leverage or margin mode with open orders",
    ORDER_NOT_FOUND: "Order not found, please try it later",
    POSITION_MODE_LOCKED: "position exists, position mode cannot be changed",
    TRADING_DISABLED: "This futures does not allow trading",
    FUTURES_NOT_SUPPORTED: "this Futures is not allowed to trade.",
    BATCH_TOO_LARGE: "Batch order exceeded the max size",
    POSITION_NOT_EXIST: "Position not exist",
    SELECT_TP_OR_SL: "select TP or SL",
    ABNORMAL_ORDER_STATUS: "Abnormal order status",
    MAX_ORDER_QTY: "Exceeded the maximum order quantity",
    MAX_BUY_PRICE: "The order price exceeds the max buy price",
    MIN_SELL_PRICE: "The order price is below the min sell price",
    QTY_TOO_SMALL: "qty too small",
    QTY_BELOW_MIN: "qty is below the minimum qty",
    REDUCE_ONLY_NO_POSITION: "reduce-only order with no open position",
    REDUCE_ONLY_SAME_DIRECTION: "reduce-only order in the same direction as the position",
    TPSL_QTY_TOO_LARGE: "TP/SL amount must be less than position size",
    TRIGGER_PRICE_NOT_POSITIVE: "trigger price must be > 0",
    CLIENT_ID_DUPLICATE: "Client ID duplicate",
}


class SimError(BitunixError):
    """A business error of the simulated exchange: a Bitunix error code and its message."""

    def __init__(self, code: int, detail: str = "") -> None:
        self.code = code
        base = MESSAGES.get(code, "error")
        self.msg = f"{base}: {detail}" if detail else base
        super().__init__(f"[{code}] {self.msg}")
