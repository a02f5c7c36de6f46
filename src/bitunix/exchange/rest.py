"""Async REST client of Bitunix futures: signed, rate limited, retried only where safe.

One pooled keep-alive ``aiohttp`` session serves every call. Each call goes through
:meth:`BitunixREST._call`, which rate-limits per endpoint, signs the exact bytes it sends,
decodes the ``{code, msg, data}`` envelope with a reused typed decoder and raises the typed
error of a non-zero code (``bitunix.exchange.errors``) with the request context.

Retries: reads are retried on transient failures (timeouts, connection errors, HTTP 5xx,
rate limits, the venue's ``Network Error``). Writes are retried only when they are
idempotent at the venue. Cancels and settings changes are naturally idempotent; an order
is made idempotent by its ``clientId``, which belongs to the :class:`OrderRequest` from
the moment it is built, so a retry (ours or the caller's) either places it once or gets
``30042`` (duplicate), which resolves to the existing order.

Every error says whether the request took effect (``ExchangeError.executed``); order
placement never leaves that open without saying so (see :meth:`BitunixREST.place_order`).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar
from urllib.parse import quote

import aiohttp
import msgspec
from yarl import URL

from bitunix.core.clock import Clock, LiveClock
from bitunix.exchange import endpoints as api
from bitunix.exchange.config import RestConfig
from bitunix.exchange.convert import contract_from_pair, decimal_str
from bitunix.exchange.endpoints import (
    DEPTH_LIMITS,
    KLINE_DEFAULT_LIMIT,
    KLINE_INTERVAL_MS,
    KLINE_INTERVALS,
    MAX_BATCH,
    Endpoint,
)
from bitunix.exchange.errors import (
    ConnectError,
    DuplicateClientIdError,
    ExchangeError,
    ExchangeTimeoutError,
    HttpStatusError,
    MalformedResponseError,
    OrderNotFoundError,
    OrderNotPlacedError,
    OrderOutcomeUnknownError,
    SignatureError,
    TransportError,
    error_for_code,
)
from bitunix.exchange.ratelimit import RateLimiter
from bitunix.exchange.requests import (
    InvalidRequestError,
    OrderRequest,
    TpslRequest,
    encode_body,
)
from bitunix.exchange.requests import new_client_id as make_client_id
from bitunix.exchange.signing import Credentials, auth_headers, new_nonce, query_value
from bitunix.model.contract import ContractSpec
from bitunix.model.enums import KlineType, MarginMode, PositionMode, PositionSide, TradeSide
from bitunix.wire import rest as w
from bitunix.wire.decoding import ResponseDecoder, WireError

__all__ = ["BitunixREST", "Endpoint"]

log = logging.getLogger("bitunix.exchange.rest")

T = TypeVar("T")
def _one(data: T | list[T] | None, what: str) -> T:
    """Accept an object or an array of one (spec 8: the docs and the live API disagree)."""
    if isinstance(data, list):
        if not data:
            raise MalformedResponseError(f"empty {what} answer")
        return data[0]
    if data is None:
        raise MalformedResponseError(f"no data in {what} answer")
    return data


def _params(**kwargs: Any) -> dict[str, Any]:
    """The parameters that have a value: None and "" are never sent (``endTime=``)."""
    return {k: v for k, v in kwargs.items() if v is not None and v != ""}


def _check_page(ep: Endpoint, limit: int | None, skip: int = 0) -> None:
    """Refuse a ``limit`` beyond what the endpoint documents (spec 4) before sending."""
    if limit is not None and (limit < 1 or (ep.max_limit is not None and limit > ep.max_limit)):
        top = f"1..{ep.max_limit}" if ep.max_limit is not None else ">= 1"
        raise InvalidRequestError(f"{ep.path}: limit must be {top}, was {limit}")
    if skip < 0:
        raise InvalidRequestError(f"{ep.path}: skip must be >= 0, was {skip}")


def _mismatch(req: OrderRequest, placed: w.Order) -> str | None:
    """Why ``placed`` (found under ``req``'s clientId) is not the order ``req`` describes.

    Only what a modify cannot change is compared. ``side`` is skipped for a hedge-mode
    close: the venue reports the real action there (close long = SELL, spec 6.1).
    """
    if placed.symbol != req.symbol:
        return f"symbol {placed.symbol}, this request {req.symbol}"
    kind = placed.kind
    if kind and kind.upper() != req.order_type.value:
        return f"type {kind}, this request {req.order_type.value}"
    if req.trade_side is not TradeSide.CLOSE and placed.side.upper() != req.side.value:
        return f"side {placed.side}, this request {req.side.value}"
    return None


class _Ctx(NamedTuple):
    symbol: str | None
    client_id: str | None


class _BatchOutcome:
    """What a batch learned so far: rows placed, rows not placed, rows still unknown."""

    def __init__(self) -> None:
        self.success: list[w.OrderAck] = []
        self.failure: list[w.OrderFailure] = []
        self.unresolved: list[str] = []
        self.unresolved_cause: ExchangeError | None = None

    def result(self) -> w.BatchResult:
        return w.BatchResult(success_list=self.success, failure_list=self.failure)


def _row_failure(order: OrderRequest, exc: ExchangeError | None,
                 note: str | None = None) -> w.OrderFailure:
    """A failure row for ``order`` (not placed), with the code of ``exc``."""
    text = str(exc) if exc is not None else ""
    return w.OrderFailure(client_id=order.client_id, error_code=exc.code if exc else None,
                          error_msg=f"{note} ({text})" if note else text)


class _Decoders:
    """One reused typed decoder per response shape."""

    def __init__(self) -> None:
        self.pairs = ResponseDecoder[list[w.TradingPair]](list[w.TradingPair], "trading_pairs")
        self.tickers = ResponseDecoder[list[w.RestTicker]](list[w.RestTicker], "tickers")
        self.depth = ResponseDecoder[w.RestDepth](w.RestDepth, "depth")
        self.klines = ResponseDecoder[list[w.Kline]](list[w.Kline], "kline")
        self.funding = ResponseDecoder[w.FundingRate | list[w.FundingRate]](
            w.FundingRate | list[w.FundingRate], "funding_rate")
        self.funding_batch = ResponseDecoder[list[w.FundingRate]](list[w.FundingRate],
                                                                  "funding_rate_batch")
        self.funding_history = ResponseDecoder[list[w.FundingRateHistoryRow]](
            list[w.FundingRateHistoryRow], "funding_history")
        self.tiers = ResponseDecoder[list[w.PositionTier]](list[w.PositionTier], "tiers")
        self.account = ResponseDecoder[w.Account | list[w.Account]](
            w.Account | list[w.Account], "account")
        self.leverage = ResponseDecoder[w.LeverageMarginMode | list[w.LeverageMarginMode]](
            w.LeverageMarginMode | list[w.LeverageMarginMode], "leverage")
        self.any = ResponseDecoder[object](object, "ack")
        self.positions = ResponseDecoder[list[w.PendingPosition]](list[w.PendingPosition],
                                                                  "pending_positions")
        self.history_positions = ResponseDecoder[w.HistoryPositionList](
            w.HistoryPositionList, "history_positions")
        self.ack = ResponseDecoder[w.OrderAck | list[w.OrderAck]](
            w.OrderAck | list[w.OrderAck], "order_ack")
        self.batch = ResponseDecoder[w.BatchResult](w.BatchResult, "batch")
        self.orders = ResponseDecoder[w.OrderList](w.OrderList, "orders")
        self.order = ResponseDecoder[w.Order | list[w.Order]](w.Order | list[w.Order], "order")
        self.trades = ResponseDecoder[w.TradeList](w.TradeList, "trades")
        self.tpsl_ack = ResponseDecoder[w.TpslAck | list[w.TpslAck]](
            w.TpslAck | list[w.TpslAck], "tpsl_ack")
        self.tpsl_pending = ResponseDecoder[list[w.TpslOrder]](list[w.TpslOrder], "tpsl_pending")
        self.tpsl_history = ResponseDecoder[w.TpslOrderList](w.TpslOrderList, "tpsl_history")


class BitunixREST:
    """Async client of the Bitunix futures REST API.

    Use as ``async with BitunixREST(creds, RestConfig(base_url=...)) as rest: ...``.
    ``credentials`` may be ``None`` for market data only. ``clock`` gives the request
    timestamps; ``sleep`` and ``monotonic`` are injectable for tests.
    """

    def __init__(
        self,
        credentials: Credentials | None = None,
        config: RestConfig | None = None,
        *,
        clock: Clock | None = None,
        session: aiohttp.ClientSession | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config or RestConfig()
        self._creds = credentials
        self._clock: Clock = clock or LiveClock()
        self._session = session
        self._own_session = session is None
        self._sleep = sleep
        self._monotonic = monotonic
        self._rng = rng or random.Random()  # nosec B311  # retry backoff jitter, not a secret
        self._limiter = RateLimiter(headroom=self.config.rate_limit_headroom, now=monotonic,
                                    sleep=sleep)
        self._dec = _Decoders()
        self._base = self.config.base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=self.config.timeout_s,
                                              connect=self.config.connect_timeout_s)
        self.clock_offset_ms = 0
        self._skew_changed = False
        self.requests = 0
        self.retries = 0
        self.errors: dict[int, int] = {}

    def set_credentials(self, credentials: Credentials) -> None:
        """Sign with ``credentials`` from the next request on (key rotation without a
        restart). A request already sent completes as signed; a retry is signed afresh,
        with the new key and the same body, so an order keeps its client id."""
        self._creds = credentials

    # -- lifecycle ---------------------------------------------------------------------

    async def __aenter__(self) -> BitunixREST:
        self._ensure_session()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self.config.connection_limit,
                keepalive_timeout=self.config.keepalive_s,
                ttl_dns_cache=300,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self._timeout,
                headers={"User-Agent": "bitunix-bot", "Accept": "application/json"},
            )
            self._own_session = True
        return self._session

    async def close(self) -> None:
        """Close the HTTP session (if this client created it)."""
        if self._session is not None and self._own_session and not self._session.closed:
            await self._session.close()

    @property
    def limiter(self) -> RateLimiter:
        """The per-endpoint rate limiter (its counters show throttling)."""
        return self._limiter

    # -- the one request path -----------------------------------------------------------

    def new_client_id(self) -> str:
        """A fresh clientId: ``RestConfig.client_id_prefix`` + ``-`` + 24 random hex
        characters (fits ``[A-Za-z0-9-]{1,36}``)."""
        return make_client_id(self.config.client_id_prefix)

    def _local_ms(self) -> int:
        return self._clock.now_ns() // 1_000_000

    def _timestamp_ms(self) -> int:
        return self._local_ms() + self.clock_offset_ms

    def _note_server_date(self, date_header: str | None, sent_local_ms: int,
                          recv_local_ms: int) -> bool:
        """Track the server clock from ``Date`` (the only clock the venue offers, spec 1.1).

        Returns True when the offset changed. ``Date`` has one-second resolution and was
        stamped somewhere between our send and our receipt (local clock, no offset), so
        the server clock minus ours lies in ``[lo, hi]``; a slow answer widens that range
        and is not mistaken for skew. The offset changes only when the one in use is
        certainly more than ``max_clock_skew_ms`` off; it becomes 0 if our own clock fits
        the answer, else the middle of the range.
        """
        if not date_header:
            return False
        try:
            server_ms = int(email.utils.parsedate_to_datetime(date_header).timestamp() * 1000)
        except (TypeError, ValueError, OverflowError):
            return False
        lo = server_ms - recv_local_ms
        hi = server_ms + 1000 - sent_local_ms
        off, limit = self.clock_offset_ms, self.config.max_clock_skew_ms
        if lo - off <= limit and off - hi <= limit:
            return False
        new_offset = 0 if lo <= 0 <= hi else (lo + hi) // 2
        log.warning("server clock differs from ours by %d..%d ms; request timestamps now "
                    "use an offset of %d ms", lo, hi, new_offset)
        self.clock_offset_ms = new_offset
        return True

    def _backoff_s(self, attempt: int) -> float:
        base = min(self.config.backoff_max_s, self.config.backoff_base_s * (2**attempt))
        return float(base * (0.5 + self._rng.random() / 2))

    async def _send(
        self,
        ep: Endpoint,
        decoder: ResponseDecoder[T],
        params: Mapping[str, Any] | None,
        body: str | None,
        ctx: _Ctx,
    ) -> T | None:
        session = self._ensure_session()
        query = "&".join(
            f"{k}={quote(query_value(v), safe='')}" for k, v in (params or {}).items()
        )
        url = URL(f"{self._base}{ep.path}{'?' + query if query else ''}", encoded=True)
        body_str = body or ""
        headers: dict[str, str] = {"Content-Type": "application/json"}
        if ep.signed and self._creds is None:
            raise InvalidRequestError(f"{ep.path} needs credentials")
        if self.config.rate_limits:
            await self._limiter.acquire(ep.path)
        # Sign after any rate-limit wait, so the timestamp is fresh.
        sent_local_ms = self._local_ms()
        ts_ms = sent_local_ms + self.clock_offset_ms
        if ep.signed and self._creds is not None:
            headers = auth_headers(self._creds, ts_ms, new_nonce(), params, body_str)
        debug = log.isEnabledFor(logging.DEBUG)
        if debug:
            log.debug("-> %s %s%s%s", ep.method, ep.path, f"?{query}" if query else "",
                      f" {body_str}" if body_str else "")
        t0 = self._monotonic()
        self.requests += 1
        try:
            async with session.request(ep.method, url, data=body_str.encode() if body else None,
                                       headers=headers, timeout=self._timeout) as resp:
                raw = await resp.read()
                status = resp.status
                date = resp.headers.get("Date")
        except TimeoutError:
            raise ExchangeTimeoutError(
                f"timed out after {self.config.timeout_s} s", endpoint=ep.path,
                symbol=ctx.symbol, client_id=ctx.client_id,
            ) from None
        except aiohttp.ClientConnectorError as exc:
            # No connection was opened: nothing was sent.
            raise ConnectError(f"{type(exc).__name__}: {exc}", endpoint=ep.path,
                               symbol=ctx.symbol, client_id=ctx.client_id) from None
        except aiohttp.ClientError as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}", endpoint=ep.path,
                                 symbol=ctx.symbol, client_id=ctx.client_id) from None
        self._skew_changed = self._note_server_date(date, sent_local_ms, self._local_ms())
        if debug:
            log.debug("<- %s %s HTTP %d %.1f ms %s", ep.method, ep.path, status,
                      (self._monotonic() - t0) * 1000, raw[:512].decode("utf-8", "replace"))
        try:
            env = decoder.decode(raw)
        except WireError as exc:
            if status != 200:
                raise HttpStatusError(status, raw[:200].decode("utf-8", "replace"),
                                      endpoint=ep.path, symbol=ctx.symbol,
                                      client_id=ctx.client_id) from None
            raise MalformedResponseError(str(exc), endpoint=ep.path, symbol=ctx.symbol,
                                         client_id=ctx.client_id) from None
        if env.code != 0:
            self.errors[env.code] = self.errors.get(env.code, 0) + 1
            raise error_for_code(env.code, env.msg, endpoint=ep.path, symbol=ctx.symbol,
                                 client_id=ctx.client_id)
        if status != 200:
            raise HttpStatusError(status, "non-200 status with code 0", endpoint=ep.path,
                                  symbol=ctx.symbol, client_id=ctx.client_id)
        return env.data

    async def _call(
        self,
        ep: Endpoint,
        decoder: ResponseDecoder[T],
        *,
        params: Mapping[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        symbol: str | None = None,
        client_id: str | None = None,
        retry_safe: bool | None = None,
        on_duplicate: Callable[[], Awaitable[T]] | None = None,
    ) -> T | None:
        """Send with the retry policy; the error raised tells whether the call executed.

        ``on_duplicate`` answers a 30042 (the clientId exists already) instead of raising.
        """
        ctx = _Ctx(symbol, client_id)
        body_str = encode_body(body) if body is not None else None
        if params:
            params = _params(**params)
        safe = ep.retry_safe if retry_safe is None else retry_safe
        skew_retried = False
        attempt = 0
        # True once an attempt failed without saying it was not executed (timeout,
        # connection, HTTP or venue "Network Error"): it may have gone through.
        uncertain = False
        while True:
            try:
                return await self._send(ep, decoder, params, body_str, ctx)
            except DuplicateClientIdError as exc:
                # An order with this clientId exists: placed by an earlier attempt, or by
                # an earlier call with the same request; on_duplicate reads it back.
                if on_duplicate is not None:
                    log.warning("%s: clientId %s exists already; reading it back",
                                ep.path, client_id)
                    return await on_duplicate()
                if uncertain:
                    exc.may_have_executed()
                raise
            except SignatureError as exc:
                # The Date header just showed our clock is off: retry once, corrected.
                if self._skew_changed and not skew_retried:
                    log.warning("%s: %s; retrying with the corrected clock", ep.path, exc)
                    skew_retried = True
                    continue
                if uncertain:
                    exc.may_have_executed()
                raise
            except ExchangeError as exc:
                if not (safe and exc.retryable) or attempt >= self.config.max_retries:
                    if uncertain:
                        exc.may_have_executed()
                    raise
                if exc.executed is not False:
                    uncertain = True
                delay = self._backoff_s(attempt)
                log.warning("%s failed (%s); retry %d/%d in %.3f s", ep.path, exc,
                            attempt + 1, self.config.max_retries, delay)
                attempt += 1
                self.retries += 1
                await self._sleep(delay)

    async def _req(self, ep: Endpoint, decoder: ResponseDecoder[T], what: str,
                   **kw: Any) -> T:
        data = await self._call(ep, decoder, **kw)
        if data is None:
            raise MalformedResponseError(f"no data in {what} answer", endpoint=ep.path)
        return data

    # -- market -------------------------------------------------------------------------

    async def trading_pairs(self, symbols: Sequence[str] | None = None) -> list[w.TradingPair]:
        """Contract rows (``symbols`` None = all)."""
        p = _params(symbols=",".join(symbols) if symbols else None)
        return await self._call(api.TRADING_PAIRS, self._dec.pairs, params=p) or []

    async def contracts(self, symbols: Sequence[str] | None = None) -> dict[str, ContractSpec]:
        """Contract specs (tick, step, min qty, leverage range) by symbol."""
        return {p.symbol: contract_from_pair(p) for p in await self.trading_pairs(symbols)}

    async def tickers(self, symbols: Sequence[str] | None = None) -> list[w.RestTicker]:
        """24 h tickers."""
        p = _params(symbols=",".join(symbols) if symbols else None)
        return await self._call(api.TICKERS, self._dec.tickers, params=p) or []

    async def depth(self, symbol: str, limit: str | int = 15) -> w.RestDepth:
        """Order book; ``limit`` one of 1, 5, 15, 50, ``max``."""
        if str(limit) not in DEPTH_LIMITS:
            raise InvalidRequestError(f"depth limit must be one of 1, 5, 15, 50, max; "
                                      f"was {limit!r}")
        return await self._req(api.DEPTH, self._dec.depth, "depth",
                               params={"symbol": symbol, "limit": str(limit)}, symbol=symbol)

    async def klines(self, symbol: str, interval: str, *, start_ms: int | None = None,
                     end_ms: int | None = None, limit: int | None = None,
                     kind: KlineType = KlineType.LAST_PRICE) -> list[w.Kline]:
        """Candles, returned oldest first (the live API sends newest first).

        ``limit`` is 1..200 (100 when omitted). The venue anchors a page on ``endTime``
        and ignores ``startTime`` (spec 4.1), so with ``start_ms`` alone the client sends
        ``endTime = start_ms + limit * interval`` (at most now) and drops candles that
        open before ``start_ms``.
        """
        if interval not in KLINE_INTERVALS:
            raise InvalidRequestError(f"unknown kline interval {interval!r}; expected one of "
                                      f"{', '.join(sorted(KLINE_INTERVALS))}")
        _check_page(api.KLINE, limit)
        if start_ms is not None:
            if end_ms is None:
                span_ms = (limit or KLINE_DEFAULT_LIMIT) * KLINE_INTERVAL_MS[interval]
                end_ms = min(start_ms + span_ms, self._timestamp_ms())
            elif end_ms < start_ms:
                raise InvalidRequestError(f"klines: end_ms {end_ms} is before "
                                          f"start_ms {start_ms}")
        p = _params(symbol=symbol, interval=interval, startTime=start_ms, endTime=end_ms,
                    limit=limit, type=kind.value)
        rows = await self._call(api.KLINE, self._dec.klines, params=p, symbol=symbol) or []
        if start_ms is not None:
            rows = [k for k in rows if k.time >= start_ms]
        return sorted(rows, key=lambda k: k.time)

    async def funding_rate(self, symbol: str) -> w.FundingRate:
        """Current funding: ``funding_rate`` in percent, ``funding_rate_fraction`` as a
        fraction (exact ``Decimal``)."""
        data = await self._call(api.FUNDING_RATE, self._dec.funding, params={"symbol": symbol},
                                symbol=symbol)
        return _one(data, "funding_rate")

    async def funding_rates(self) -> list[w.FundingRate]:
        """Funding of every symbol."""
        return await self._call(api.FUNDING_RATE_BATCH, self._dec.funding_batch) or []

    async def funding_rate_history(self, symbol: str, *, start_ms: int | None = None,
                                   end_ms: int | None = None,
                                   limit: int | None = None) -> list[w.FundingRateHistoryRow]:
        """Settled funding rates (fractions), newest first; ``limit`` 1..200."""
        _check_page(api.FUNDING_HISTORY, limit)
        # The parameter is spelled "starTime" by the venue (spec 4.1).
        p = _params(symbol=symbol, starTime=start_ms, endTime=end_ms, limit=limit)
        return await self._call(api.FUNDING_HISTORY, self._dec.funding_history, params=p,
                                symbol=symbol) or []

    async def position_tiers(self, symbol: str) -> list[w.PositionTier]:
        """Maintenance-margin tiers."""
        return await self._call(api.POSITION_TIERS, self._dec.tiers, params={"symbol": symbol},
                                symbol=symbol) or []

    # -- account ------------------------------------------------------------------------

    async def account(self, margin_coin: str = "USDT") -> w.Account:
        """Balances of ``margin_coin``."""
        data = await self._call(api.ACCOUNT, self._dec.account, params={"marginCoin": margin_coin})
        return _one(data, "account")

    async def leverage_margin_mode(self, symbol: str,
                                   margin_coin: str = "USDT") -> w.LeverageMarginMode:
        """Leverage and margin mode of ``symbol``."""
        data = await self._call(api.LEVERAGE_MARGIN_MODE, self._dec.leverage,
                                params={"symbol": symbol, "marginCoin": margin_coin},
                                symbol=symbol)
        return _one(data, "get_leverage_margin_mode")

    async def change_leverage(self, symbol: str, leverage: int,
                              margin_coin: str = "USDT") -> None:
        """Set the leverage of ``symbol`` (a JSON int)."""
        await self._call(api.CHANGE_LEVERAGE, self._dec.any, symbol=symbol,
                         body={"symbol": symbol, "marginCoin": margin_coin,
                               "leverage": int(leverage)})

    async def change_margin_mode(self, symbol: str, mode: MarginMode,
                                 margin_coin: str = "USDT") -> None:
        """Set the margin mode of ``symbol`` (may reset leverage: re-apply it after)."""
        await self._call(api.CHANGE_MARGIN_MODE, self._dec.any, symbol=symbol,
                         body={"symbol": symbol, "marginCoin": margin_coin,
                               "marginMode": mode.value})

    async def change_position_mode(self, mode: PositionMode) -> None:
        """Set the account-wide position mode (only when flat)."""
        await self._call(api.CHANGE_POSITION_MODE, self._dec.any, body={"positionMode": mode.value})

    async def adjust_position_margin(self, symbol: str, amount: Decimal, *,
                                     side: PositionSide | None = None,
                                     position_id: str | None = None,
                                     margin_coin: str = "USDT") -> None:
        """Add (positive) or remove (negative) isolated margin. Never retried."""
        if (side is None) == (position_id is None):
            raise InvalidRequestError("give exactly one of side or position_id")
        body: dict[str, Any] = {"symbol": symbol, "marginCoin": margin_coin,
                                "amount": decimal_str(amount)}
        if side is not None:
            body["side"] = side.value
        else:
            body["positionId"] = position_id
        await self._call(api.ADJUST_MARGIN, self._dec.any, body=body, symbol=symbol)

    # -- positions ----------------------------------------------------------------------

    async def pending_positions(self, symbol: str | None = None,
                                position_id: str | None = None) -> list[w.PendingPosition]:
        """Open positions (``null`` data means none)."""
        p = _params(symbol=symbol, positionId=position_id)
        return await self._call(api.PENDING_POSITIONS, self._dec.positions, params=p,
                                symbol=symbol) or []

    async def history_positions(self, symbol: str | None = None, *, skip: int = 0,
                                limit: int = 100, start_ms: int | None = None,
                                end_ms: int | None = None) -> w.HistoryPositionList:
        """One page of closed positions; ``limit`` 1..100."""
        _check_page(api.HISTORY_POSITIONS, limit, skip)
        p = _params(symbol=symbol, startTime=start_ms, endTime=end_ms, skip=skip, limit=limit)
        return await self._req(api.HISTORY_POSITIONS, self._dec.history_positions,
                               "get_history_positions", params=p, symbol=symbol)

    # -- trading ------------------------------------------------------------------------

    def prepare_order(self, order: OrderRequest) -> OrderRequest:
        """The request to store and send: validated now (raises
        :class:`InvalidRequestError` before anything is stored or sent) and with its
        clientId. A request built without ``client_id`` has one already and is returned
        as is; ``client_id=None`` gets one with ``RestConfig.client_id_prefix``."""
        if not order.client_id:
            order = msgspec.structs.replace(order, client_id=self.new_client_id())
        order.body()
        return order

    @staticmethod
    def _client_id_of(order: OrderRequest) -> str:
        if not order.client_id:
            raise InvalidRequestError(
                f"{order.symbol}: an order without a client_id could be placed twice by a "
                f"retry; build it without client_id=None, or pass it through "
                f"BitunixREST.prepare_order and keep what it returns")
        return order.client_id

    async def place_order(self, order: OrderRequest) -> w.OrderAck:
        """Place one order and return its ack (``code 0`` = accepted; fills come on the
        ``order`` channel).

        The contract (the clientId, ``order.client_id``, is the order's identity):

        * **Placed**: the ack is returned. Also when no answer arrived but a lookup by
          clientId found the order, and when the venue answers 30042 (the clientId
          exists) for an order that matches this request: sending the same request again
          resolves to the order it placed, it never places a second one.
        * **Not placed**, the error's ``executed`` is False: a venue refusal (its typed
          :class:`ExchangeError`: a rejection, a rate limit that outlived the retries,
          ...) or :class:`OrderNotPlacedError` (no answer, and the order was not found by
          clientId after ``RestConfig.order_lookups`` lookups, spec 6.5). Sending the same
          request again is safe. :class:`DuplicateClientIdError` (30042) means the
          clientId belongs to a different order (symbol, type or side differ): a caller
          bug, this request was not placed.
        * **Unknown**: :class:`OrderOutcomeUnknownError` (carries ``client_id``): no answer
          and the lookup itself failed. Reconcile by clientId (``order_detail``, the
          ``order`` channel) before placing anything new; the same request may be sent
          again (same clientId).

        :class:`InvalidRequestError` (nothing sent) for an invalid request or one with
        ``client_id=None``. A cancelled call leaves the outcome unknown, as above.
        """
        cid = self._client_id_of(order)
        body = order.body()

        async def existing() -> w.OrderAck | list[w.OrderAck]:
            return await self._existing_order_ack(order, api.PLACE_ORDER)

        try:
            data = await self._call(api.PLACE_ORDER, self._dec.ack, body=body,
                                    symbol=order.symbol, client_id=cid, on_duplicate=existing)
        except (OrderNotPlacedError, OrderOutcomeUnknownError):
            raise
        except ExchangeError as exc:
            if exc.executed is not None:
                raise
            return await self._confirm_by_lookup(order, exc)
        ack = _one(data, "place_order")
        if not ack.client_id:
            ack = w.OrderAck(order_id=ack.order_id, id=ack.id, client_id=cid)
        return ack

    async def _find_order(self, client_id: str) -> w.Order:
        """The order with ``client_id``. 20007 can be transient just after placement
        (spec 6.5): it is asked ``order_lookups`` times, a backoff apart, before the
        :class:`OrderNotFoundError` is raised. Other errors are raised at once."""
        attempt = 0
        while True:
            try:
                return await self.order_detail(client_id=client_id)
            except OrderNotFoundError:
                attempt += 1
                if attempt >= self.config.order_lookups:
                    raise
                await self._sleep(self._backoff_s(attempt - 1))

    def _ack_of(self, order: OrderRequest, placed: w.Order, ep: Endpoint) -> w.OrderAck:
        """The ack of ``placed``, found under ``order``'s clientId, if it is that order."""
        cid = order.client_id
        why = _mismatch(order, placed)
        if why is not None:
            raise error_for_code(30042, f"clientId {cid} belongs to another order "
                                 f"({placed.order_id}: {why})", endpoint=ep.path,
                                 symbol=order.symbol, client_id=cid)
        return w.OrderAck(order_id=placed.order_id, client_id=cid)

    async def _existing_order_ack(self, order: OrderRequest, ep: Endpoint) -> w.OrderAck:
        """30042: an order with this clientId exists; it is this request's if it matches."""
        cid = self._client_id_of(order)
        try:
            placed = await self._find_order(cid)
        except ExchangeError as exc:
            raise OrderOutcomeUnknownError(
                f"order outcome UNKNOWN: the venue says clientId {cid} exists (30042) but "
                f"it could not be read back ({exc}); reconcile by clientId",
                client_ids=(cid,), endpoint=ep.path, symbol=order.symbol,
                client_id=cid) from exc
        return self._ack_of(order, placed, ep)

    async def _confirm_by_lookup(self, order: OrderRequest, cause: ExchangeError) -> w.OrderAck:
        """No answer said whether ``order`` was placed: look it up by clientId."""
        cid = self._client_id_of(order)
        ep = api.PLACE_ORDER
        log.warning("%s: no answer confirmed clientId %s (%s); looking it up", ep.path, cid,
                    cause)
        try:
            placed = await self._find_order(cid)
        except OrderNotFoundError:
            raise OrderNotPlacedError(
                f"order NOT placed: no answer ({cause.message}) and no order with this "
                f"clientId after {self.config.order_lookups} lookups; sending the same "
                f"request again is safe", endpoint=ep.path, symbol=order.symbol,
                client_id=cid) from cause
        except ExchangeError as exc:
            raise OrderOutcomeUnknownError(
                f"order outcome UNKNOWN: no answer ({cause.message}) and the lookup by "
                f"clientId failed ({exc}); reconcile by clientId before placing anything "
                f"new", client_ids=(cid,), endpoint=ep.path, symbol=order.symbol,
                client_id=cid) from exc
        return self._ack_of(order, placed, ep)

    async def batch_orders(self, symbol: str, orders: Sequence[OrderRequest]) -> w.BatchResult:
        """Place orders of one symbol, in calls of at most 5 (spec 4.4); check
        ``success_list`` per clientId.

        Every order ends in ``success_list`` or ``failure_list``, each in the order of
        ``orders``. The contract of :meth:`place_order` holds per row: a row refused as a
        duplicate (30042) whose order matches is a success; a call with no answer is
        resolved row by row by clientId (not found: a failure with code 20007, "NOT
        placed"). A call refused as a whole fails its rows with the venue's code, and the
        calls not made yet fail their rows ("not sent"). When a lookup cannot answer,
        :class:`OrderOutcomeUnknownError` carries the clientIds to reconcile and, in
        ``partial``, everything known (unsent rows as failures).
        """
        if not orders:
            raise InvalidRequestError("batch_orders needs at least one order")
        if any(o.symbol != symbol for o in orders):
            raise InvalidRequestError(f"every order of a batch must be for {symbol}")
        seen: set[str] = set()
        for o in orders:
            cid = self._client_id_of(o)
            if cid in seen:
                raise InvalidRequestError(f"clientId {cid} appears twice in one batch")
            seen.add(cid)
        bodies = [o.body(with_symbol=False) for o in orders]  # all valid before sending any
        out = _BatchOutcome()
        for start in range(0, len(orders), MAX_BATCH):
            chunk = orders[start:start + MAX_BATCH]
            stop = await self._batch_chunk(symbol, chunk, bodies[start:start + MAX_BATCH], out)
            if stop is not None or out.unresolved:
                rest = orders[start + MAX_BATCH:]
                reason = stop if stop is not None else out.unresolved_cause
                out.failure += [_row_failure(o, reason, "not sent: an earlier call of this "
                                             "batch failed") for o in rest]
                break
        if out.unresolved:
            cause = out.unresolved_cause
            raise OrderOutcomeUnknownError(
                f"batch outcome UNKNOWN for clientIds {', '.join(out.unresolved)}: "
                f"the lookup by clientId failed ({cause}); reconcile them",
                client_ids=tuple(out.unresolved), partial=out.result(),
                endpoint=api.BATCH_ORDER.path, symbol=symbol) from cause
        return out.result()

    async def _batch_chunk(self, symbol: str, chunk: Sequence[OrderRequest],
                           bodies: list[dict[str, Any]],
                           out: _BatchOutcome) -> ExchangeError | None:
        """One batch_order call; returns the error that refused it as a whole, if any."""
        body = {"symbol": symbol, "orderList": bodies}
        try:
            res = await self._req(api.BATCH_ORDER, self._dec.batch, "batch_order", body=body,
                                  symbol=symbol)
        except ExchangeError as exc:
            if exc.executed is False:
                out.failure += [_row_failure(o, exc) for o in chunk]
                return exc
            await self._resolve_rows(chunk, exc, out)
            return None
        by_cid = {o.client_id: o for o in chunk}
        duplicates = [by_cid[str(f.client_id)] for f in res.failure_list
                      if str(f.error_code) == "30042" and f.client_id in by_cid]
        dup_ids = {o.client_id for o in duplicates}
        order_of = {o.client_id: i for i, o in enumerate(chunk)}
        success = list(res.success_list)
        failure = [f for f in res.failure_list if f.client_id not in dup_ids]
        resolved = _BatchOutcome()
        await self._resolve_rows(duplicates, None, resolved)
        out.unresolved += resolved.unresolved
        out.unresolved_cause = resolved.unresolved_cause or out.unresolved_cause

        def pos(row: w.OrderAck | w.OrderFailure) -> int:
            return order_of.get(row.client_id, len(chunk))

        out.success += sorted(success + resolved.success, key=pos)
        out.failure += sorted(failure + resolved.failure, key=pos)
        return None

    async def _resolve_rows(self, rows: Sequence[OrderRequest], cause: ExchangeError | None,
                            out: _BatchOutcome) -> None:
        """Look ``rows`` up by clientId, in order: the rows of an unanswered call
        (``cause``), or rows refused as duplicates (``cause`` None)."""
        for o in rows:
            cid = self._client_id_of(o)
            try:
                placed = await self._find_order(cid)
            except OrderNotFoundError as exc:
                if cause is None:  # 30042 said it exists: not finding it proves nothing
                    out.unresolved.append(cid)
                    out.unresolved_cause = exc
                else:
                    out.failure.append(_row_failure(o, exc, (
                        f"NOT placed: no answer ({cause.message}) and not found after "
                        f"{self.config.order_lookups} lookups")))
                continue
            except ExchangeError as exc:
                out.unresolved.append(cid)
                out.unresolved_cause = exc
                continue
            why = _mismatch(o, placed)
            if why is None:
                out.success.append(w.OrderAck(order_id=placed.order_id, client_id=cid))
            else:
                out.failure.append(w.OrderFailure(
                    client_id=cid, error_code=30042,
                    error_msg=f"clientId belongs to another order ({placed.order_id}: {why})"))

    async def cancel_orders(self, symbol: str, *, order_ids: Sequence[str] = (),
                            client_ids: Sequence[str] = ()) -> w.BatchResult:
        """Cancel orders by venue id and/or clientId; only ``success_list`` rows are cancelled."""
        entries: list[dict[str, str]] = [{"orderId": i} for i in order_ids]
        entries += [{"clientId": c} for c in client_ids]
        if not entries:
            raise InvalidRequestError("cancel_orders needs at least one orderId or clientId")
        return await self._req(api.CANCEL_ORDERS, self._dec.batch, "cancel_orders", symbol=symbol,
                               body={"symbol": symbol, "orderList": entries})

    async def cancel_all_orders(self, symbol: str | None = None) -> w.BatchResult:
        """Cancel every open order (of ``symbol``)."""
        data = await self._call(api.CANCEL_ALL, self._dec.batch, body=_params(symbol=symbol),
                                symbol=symbol)
        return data or w.BatchResult()

    async def modify_order(self, *, qty: Decimal, price: Decimal, order_id: str | None = None,
                           client_id: str | None = None,
                           symbol: str | None = None) -> w.OrderAck:
        """Change qty and price of an open order (by ``order_id`` or ``client_id``)."""
        if not (order_id or client_id):
            raise InvalidRequestError("modify_order needs order_id or client_id")
        body = _params(orderId=order_id, clientId=client_id, symbol=symbol,
                       qty=decimal_str(qty), price=decimal_str(price))
        data = await self._call(api.MODIFY_ORDER, self._dec.ack, body=body, symbol=symbol,
                                client_id=client_id)
        return _one(data, "modify_order")

    async def flash_close_position(self, position_id: str) -> None:
        """Market-close a whole position. Never retried."""
        await self._call(api.FLASH_CLOSE, self._dec.any, body={"positionId": position_id})

    async def close_all_positions(self, symbol: str | None = None) -> None:
        """Market-close all positions (of ``symbol``). Never retried."""
        await self._call(api.CLOSE_ALL, self._dec.any, body=_params(symbol=symbol), symbol=symbol)

    async def pending_orders(self, symbol: str | None = None, *, skip: int = 0,
                             limit: int = 100, end_ms: int | None = None) -> w.OrderList:
        """One page of open orders, newest first; ``limit`` 1..100."""
        _check_page(api.PENDING_ORDERS, limit, skip)
        p = _params(symbol=symbol, endTime=end_ms, skip=skip, limit=limit)
        return await self._call(api.PENDING_ORDERS, self._dec.orders, params=p,
                                symbol=symbol) or w.OrderList()

    async def all_pending_orders(self, symbol: str | None = None,
                                 page: int = 100) -> list[w.Order]:
        """Every open order: pages until ``total``, with ``endTime`` frozen (spec 6.5)."""
        _check_page(api.PENDING_ORDERS, page)
        end_ms = self._timestamp_ms()
        out: list[w.Order] = []
        while True:
            chunk = await self.pending_orders(symbol, skip=len(out), limit=page, end_ms=end_ms)
            out.extend(chunk.order_list)
            if not chunk.order_list or len(out) >= chunk.total:
                return out

    async def order_detail(self, *, order_id: str | None = None,
                           client_id: str | None = None) -> w.Order:
        """One order by venue id or clientId (20007 may be transient just after placing)."""
        if not (order_id or client_id):
            raise InvalidRequestError("order_detail needs order_id or client_id")
        data = await self._call(api.ORDER_DETAIL, self._dec.order,
                                params=_params(orderId=order_id, clientId=client_id),
                                client_id=client_id)
        return _one(data, "get_order_detail")

    async def history_orders(self, symbol: str | None = None, *, skip: int = 0,
                             limit: int = 100, start_ms: int | None = None,
                             end_ms: int | None = None,
                             canceled: bool | None = None) -> w.OrderList:
        """One page of finished orders (``canceled=True``: cancelled ones, last 3 days);
        ``limit`` 1..100."""
        _check_page(api.HISTORY_ORDERS, limit, skip)
        p = _params(symbol=symbol, startTime=start_ms, endTime=end_ms, skip=skip, limit=limit,
                    queryCanceled=canceled)
        return await self._call(api.HISTORY_ORDERS, self._dec.orders, params=p,
                                symbol=symbol) or w.OrderList()

    async def history_trades(self, symbol: str | None = None, *, order_id: str | None = None,
                             skip: int = 0, limit: int = 100, start_ms: int | None = None,
                             end_ms: int | None = None) -> w.TradeList:
        """One page of fills; ``limit`` 1..100."""
        _check_page(api.HISTORY_TRADES, limit, skip)
        p = _params(symbol=symbol, orderId=order_id, startTime=start_ms, endTime=end_ms,
                    skip=skip, limit=limit)
        return await self._call(api.HISTORY_TRADES, self._dec.trades, params=p,
                                symbol=symbol) or w.TradeList()

    # -- TP/SL --------------------------------------------------------------------------

    async def place_tpsl(self, req: TpslRequest) -> w.TpslAck:
        """Place a TP/SL order on a position. Not retried (it carries no clientId)."""
        data = await self._call(api.TPSL_PLACE, self._dec.tpsl_ack, body=req.body(),
                                symbol=req.symbol)
        return _one(data, "tpsl/place_order")

    async def place_position_tpsl(self, symbol: str, position_id: str, *,
                                  tp_price: Decimal | None = None,
                                  sl_price: Decimal | None = None,
                                  stop_type: str = "MARK_PRICE") -> w.TpslAck:
        """Set the (single) position TP/SL; placing it again replaces it, so retries are safe."""
        if tp_price is None and sl_price is None:
            raise InvalidRequestError("position TP/SL needs tp_price or sl_price")
        body: dict[str, Any] = {"symbol": symbol, "positionId": position_id}
        if tp_price is not None:
            body |= {"tpPrice": decimal_str(tp_price), "tpStopType": stop_type}
        if sl_price is not None:
            body |= {"slPrice": decimal_str(sl_price), "slStopType": stop_type}
        data = await self._call(api.TPSL_POSITION_PLACE, self._dec.tpsl_ack, body=body,
                                symbol=symbol)
        return _one(data, "tpsl/position/place_order")

    async def modify_tpsl(self, order_id: str, req: TpslRequest) -> w.TpslAck:
        """Modify a TP/SL order."""
        body = {"orderId": order_id, **req.body()}
        data = await self._call(api.TPSL_MODIFY, self._dec.tpsl_ack, body=body, symbol=req.symbol)
        return _one(data, "tpsl/modify_order")

    async def modify_position_tpsl(self, symbol: str, position_id: str, *,
                                   tp_price: Decimal | None = None,
                                   sl_price: Decimal | None = None,
                                   stop_type: str = "MARK_PRICE") -> w.TpslAck:
        """Change the position TP/SL."""
        body: dict[str, Any] = {"symbol": symbol, "positionId": position_id}
        if tp_price is not None:
            body |= {"tpPrice": decimal_str(tp_price), "tpStopType": stop_type}
        if sl_price is not None:
            body |= {"slPrice": decimal_str(sl_price), "slStopType": stop_type}
        data = await self._call(api.TPSL_POSITION_MODIFY, self._dec.tpsl_ack, body=body,
                                symbol=symbol)
        return _one(data, "tpsl/position/modify_order")

    async def cancel_tpsl(self, symbol: str, order_id: str) -> w.TpslAck:
        """Cancel a TP/SL order."""
        data = await self._call(api.TPSL_CANCEL, self._dec.tpsl_ack, symbol=symbol,
                                body={"symbol": symbol, "orderId": order_id})
        return _one(data, "tpsl/cancel_order")

    async def pending_tpsl(self, symbol: str | None = None,
                           position_id: str | None = None) -> list[w.TpslOrder]:
        """Open TP/SL orders."""
        p = _params(symbol=symbol, positionId=position_id)
        return await self._call(api.TPSL_PENDING, self._dec.tpsl_pending, params=p,
                                symbol=symbol) or []

    async def history_tpsl(self, symbol: str | None = None, *, skip: int = 0,
                           limit: int = 100) -> w.TpslOrderList:
        """One page of finished TP/SL orders."""
        _check_page(api.TPSL_HISTORY, limit, skip)
        p = _params(symbol=symbol, skip=skip, limit=limit)
        return await self._call(api.TPSL_HISTORY, self._dec.tpsl_history, params=p,
                                symbol=symbol) or w.TpslOrderList()
