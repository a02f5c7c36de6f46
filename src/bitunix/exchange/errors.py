"""Typed exchange errors, from the error-code table of spec section 3.1.

Every business error arrives with HTTP 200 and a non-zero ``code``; the class comes from
that code, never from the HTTP status. Each error carries the request context
(``endpoint``, ``symbol``, ``client_id``), never a key or secret, and says whether a retry
can help (``retryable``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from bitunix.core.errors import BitunixError

if TYPE_CHECKING:
    from bitunix.wire.rest import BatchResult

__all__ = [
    "CODES",
    "CODE_CLASSES",
    "AccountRestrictedError",
    "AuthError",
    "BadRequestError",
    "ConnectError",
    "DuplicateClientIdError",
    "ExchangeError",
    "ExchangeTimeoutError",
    "HttpStatusError",
    "InsufficientBalanceError",
    "MalformedResponseError",
    "NetworkError",
    "OrderNotFoundError",
    "OrderNotPlacedError",
    "OrderOutcomeUnknownError",
    "OrderRejectedError",
    "PositionNotFoundError",
    "RateLimitError",
    "SignatureError",
    "SymbolUnavailableError",
    "TransportError",
    "error_class",
    "error_for_code",
]


class ExchangeError(BitunixError):
    """An error answered by (or on the way to) the exchange.

    Attributes: ``code`` (the venue's code, 0 for transport errors), ``message`` (the
    venue's ``msg``), ``retryable``, ``endpoint``, ``symbol``, ``client_id``, and
    ``executed``: ``False`` when the request certainly had no effect (the venue answered
    with an error code: a refused order produces nothing, spec 6.3), ``None`` when it may
    have taken effect (no answer, an HTTP error, the venue's ambiguous 10001). A call that
    was retried reports ``None`` if any attempt may have gone through, whatever the last
    attempt answered.
    """

    retryable = False
    # Whether a non-zero code proves the request was refused.
    _code_is_refusal = True

    def __init__(
        self,
        message: str,
        *,
        code: int = 0,
        endpoint: str = "",
        symbol: str | None = None,
        client_id: str | None = None,
    ) -> None:
        self.code = code
        self.message = message
        self.endpoint = endpoint
        self.symbol = symbol
        self.client_id = client_id
        self.executed: bool | None = False if code and self._code_is_refusal else None
        super().__init__(self._render())

    def may_have_executed(self) -> None:
        """Mark the request as possibly executed (an earlier attempt went unanswered)."""
        self.executed = None
        self.args = (self._render(),)

    def _render(self) -> str:
        ctx = [f"endpoint={self.endpoint}"] if self.endpoint else []
        if self.symbol:
            ctx.append(f"symbol={self.symbol}")
        if self.client_id:
            ctx.append(f"clientId={self.client_id}")
        if self.retryable and self.executed is False:
            # A transient refusal: the caller needs to know nothing happened.
            ctx.append("not executed")
        elif self.code and self.executed is None and not isinstance(self, NetworkError):
            ctx.append("an earlier attempt may have been executed")
        head = f"[{self.code}] {self.message}" if self.code else self.message
        return f"{head} ({', '.join(ctx)})" if ctx else head


class BadRequestError(ExchangeError):
    """The request is wrong (parameter, path, unknown symbol): fix it, do not retry."""


class SymbolUnavailableError(BadRequestError):
    """Unknown, delisted or halted symbol (20001, 20012, 20015)."""


class AuthError(ExchangeError):
    """Missing key, IP not whitelisted, permission denied."""


class SignatureError(AuthError):
    """10007: the signature did not verify (signing bug, or the clock is off)."""


class RateLimitError(ExchangeError):
    """10005/10006: too many requests; back off and retry."""

    retryable = True


class NetworkError(ExchangeError):
    """10001: the venue's transient "Network Error" (it may have executed the request)."""

    retryable = True
    _code_is_refusal = False


class OrderRejectedError(ExchangeError):
    """The order was refused by a trading rule (price band, qty, leverage, reduce-only...)."""


class InsufficientBalanceError(OrderRejectedError):
    """20003/20008: not enough balance or amount."""


class DuplicateClientIdError(OrderRejectedError):
    """30042: an order with this clientId exists already (an idempotency hit)."""


class OrderNotFoundError(ExchangeError):
    """20007: order not found (may be transient right after placement)."""


class PositionNotFoundError(OrderRejectedError):
    """30004: the position does not exist (closed already, or a stale positionId)."""


class AccountRestrictedError(ExchangeError):
    """The account may not trade (20011, 20013, 20014, 30040): stop."""


class TransportError(ExchangeError):
    """No valid answer: connection failure, timeout, HTTP error or an unreadable body."""

    retryable = True


class ExchangeTimeoutError(TransportError):
    """The request timed out; a write may or may not have been executed."""


class HttpStatusError(TransportError):
    """A non-200 HTTP status without a readable business code; 5xx and 429 are retryable.

    429 (too many requests) proves the request was not executed; any other status does not.
    """

    def __init__(self, status: int, message: str, **ctx: str | None) -> None:
        self.status = status
        # Set before the message is rendered (it says whether the request executed).
        self.retryable = status >= 500 or status == 429
        super().__init__(f"HTTP {status}: {message}", **ctx)  # type: ignore[arg-type]
        if status == 429:
            self.executed = False
            self.args = (self._render(),)


class MalformedResponseError(TransportError):
    """A 200 answer whose body is not the documented shape."""

    retryable = False


class ConnectError(TransportError):
    """No connection could be opened: the request was never sent (``executed`` is False)."""

    def __init__(self, message: str, **ctx: str | None) -> None:
        super().__init__(message, **ctx)  # type: ignore[arg-type]
        self.executed = False
        self.args = (self._render(),)


class OrderNotPlacedError(ExchangeError):
    """No answer confirmed the order, and looking it up by its clientId found nothing
    (``order_lookups`` times, spec 6.5): it was NOT placed. Sending the same request again
    is safe (it carries the same clientId)."""

    retryable = True

    def __init__(self, message: str, **ctx: str | None) -> None:
        super().__init__(message, **ctx)  # type: ignore[arg-type]
        self.executed = False
        self.args = (self._render(),)


class OrderOutcomeUnknownError(ExchangeError):
    """Neither the answers nor a lookup by clientId could tell whether the order(s) were
    placed. Reconcile by ``client_ids`` (``order_detail``, the ``order`` channel) before
    placing anything new; sending the same request again is safe (same clientId: placed
    once, or resolved to the existing order). ``partial`` holds what a batch did learn."""

    def __init__(self, message: str, *, client_ids: tuple[str, ...] = (),
                 partial: BatchResult | None = None, **ctx: str | None) -> None:
        self.client_ids = client_ids
        self.partial = partial
        super().__init__(message, **ctx)  # type: ignore[arg-type]


class CodeInfo(NamedTuple):
    """One row of the spec's error table."""

    cls: type[ExchangeError]
    meaning: str


_RANGE_REJECT = "order rejected by a TP/SL or price rule"

# Spec section 3.1, one row per code.
CODES: dict[int, CodeInfo] = {
    1: CodeInfo(BadRequestError, "Network Error (seen for a missing required parameter)"),
    403: CodeInfo(AuthError, "this API key does not support this operation"),
    404: CodeInfo(BadRequestError, "path not found"),
    10001: CodeInfo(NetworkError, "Network Error"),
    10002: CodeInfo(BadRequestError, "Parameter Error"),
    10003: CodeInfo(AuthError, "api-key can't be empty"),
    10004: CodeInfo(AuthError, "current IP not in the API key whitelist"),
    10005: CodeInfo(RateLimitError, "Too many requests"),
    10006: CodeInfo(RateLimitError, "Request too frequently"),
    10007: CodeInfo(SignatureError, "Sign signature error"),
    10008: CodeInfo(BadRequestError, "parameter does not comply with the rule"),
    20001: CodeInfo(SymbolUnavailableError, "Market not exists"),
    20002: CodeInfo(OrderRejectedError, "position amount exceeds max open limit"),
    20003: CodeInfo(InsufficientBalanceError, "Insufficient balance"),
    20004: CodeInfo(OrderRejectedError, "Insufficient Trader"),
    20005: CodeInfo(OrderRejectedError, "Invalid leverage"),
    20006: CodeInfo(OrderRejectedError, "can't change leverage or margin mode with open orders"),
    20007: CodeInfo(OrderNotFoundError, "Order not found"),
    20008: CodeInfo(InsufficientBalanceError, "Insufficient amount"),
    20009: CodeInfo(OrderRejectedError, "position exists, position mode cannot be changed"),
    20010: CodeInfo(ExchangeError, "coupon activation failed"),
    20011: CodeInfo(AccountRestrictedError, "Account not allowed to trade"),
    20012: CodeInfo(SymbolUnavailableError, "This futures does not allow trading"),
    20013: CodeInfo(AccountRestrictedError, "function disabled: pending account deletion"),
    20014: CodeInfo(AccountRestrictedError, "Account deleted"),
    20015: CodeInfo(SymbolUnavailableError, "This futures is not supported"),
    20016: CodeInfo(BadRequestError, "Batch order exceeded the max size"),
    30001: CodeInfo(OrderRejectedError, "order price may immediately liquidate"),
    30002: CodeInfo(OrderRejectedError, "price below liquidation price"),
    30003: CodeInfo(OrderRejectedError, "price above liquidation price"),
    30004: CodeInfo(PositionNotFoundError, "Position not exist"),
    30005: CodeInfo(OrderRejectedError, "trigger price too close to current price"),
    30006: CodeInfo(OrderRejectedError, "select TP or SL"),
    30011: CodeInfo(OrderRejectedError, "Abnormal order status"),
    30012: CodeInfo(ExchangeError, "Already added to favorite"),
    30013: CodeInfo(OrderRejectedError, "Exceeded the maximum order quantity"),
    30014: CodeInfo(OrderRejectedError, "above the max buy price (price band)"),
    30015: CodeInfo(OrderRejectedError, "below the min sell price (price band)"),
    30016: CodeInfo(OrderRejectedError, "qty too small"),
    30017: CodeInfo(OrderRejectedError, "qty below minimum"),
    30018: CodeInfo(OrderRejectedError, "reduce-only with no open position"),
    30019: CodeInfo(OrderRejectedError, "reduce-only order in the same direction as the position"),
    30038: CodeInfo(OrderRejectedError, "TP/SL amount must be less than position size"),
    30039: CodeInfo(OrderRejectedError, "order qty greater than max order qty"),
    30040: CodeInfo(AccountRestrictedError, "futures trading prohibited"),
    30041: CodeInfo(OrderRejectedError, "trigger price must be > 0"),
    30042: CodeInfo(DuplicateClientIdError, "Client ID duplicate"),
}
for _code in range(30007, 30011):
    CODES[_code] = CodeInfo(OrderRejectedError, "TP/SL trigger vs average entry price")
for _code in range(30020, 30038):
    CODES[_code] = CodeInfo(OrderRejectedError, _RANGE_REJECT)


def _code_classes() -> dict[int, type[ExchangeError]]:
    """One class per documented code, a subclass of its family (``Code30042Error`` is a
    ``DuplicateClientIdError``), so callers can catch a family or one exact code."""
    out: dict[int, type[ExchangeError]] = {}
    for code, info in CODES.items():
        name = f"Code{code}Error"
        out[code] = type(name, (info.cls,), {"__doc__": f"{code}: {info.meaning}.",
                                              "__module__": __name__})
    return out


CODE_CLASSES: dict[int, type[ExchangeError]] = _code_classes()


def error_class(code: int) -> type[ExchangeError]:
    """The class raised for ``code`` (plain :class:`ExchangeError` for unknown codes)."""
    return CODE_CLASSES.get(code, ExchangeError)


def error_for_code(
    code: int,
    msg: str | None,
    *,
    endpoint: str = "",
    symbol: str | None = None,
    client_id: str | None = None,
) -> ExchangeError:
    """Build the typed error of a non-zero ``code``; unknown codes give a plain
    :class:`ExchangeError` (not retryable, spec 3.1)."""
    info = CODES.get(code)
    message = msg or (info.meaning if info else "unknown error")
    return error_class(code)(message, code=code, endpoint=endpoint, symbol=symbol,
                             client_id=client_id)
