"""Async REST client of Bitunix futures: signed, rate limited, retried only where safe.

One pooled keep-alive ``aiohttp`` session serves every call. Each call goes through
:meth:`BitunixREST._call`, which rate-limits per endpoint, signs the exact bytes it sends,
decodes the ``{code, msg, data}`` envelope with a reused typed decoder and raises the typed
error of a non-zero code (``bitunix.exchange.errors``) with the request context.

Retries: reads are retried on transient failures (timeouts, connection errors, HTTP 5xx,
rate limits, the venue's ``Network Error``). Writes are retried only when they are
idempotent at the venue: an order always carries a ``clientId`` (one is generated when the
caller gives none), so a retry after a timeout either places it once or gets ``30042``
(duplicate), which the client resolves by reading the order back. Cancels and settings
changes are naturally idempotent.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar
from urllib.parse import quote

import aiohttp
from yarl import URL

from bitunix.core.clock import Clock, LiveClock
from bitunix.exchange import endpoints as api
from bitunix.exchange.config import RestConfig
from bitunix.exchange.convert import contract_from_pair, decimal_str
from bitunix.exchange.endpoints import DEPTH_LIMITS, KLINE_INTERVALS, MAX_BATCH, Endpoint
from bitunix.exchange.errors import (
    DuplicateClientIdError,
    ExchangeError,
    ExchangeTimeoutError,
    HttpStatusError,
    MalformedResponseError,
    OrderNotFoundError,
    RateLimitError,
    SignatureError,
    TransportError,
    error_for_code,
)
from bitunix.exchange.ratelimit import RateLimiter
from bitunix.exchange.requests import InvalidRequestError, OrderRequest, TpslRequest, encode_body
from bitunix.exchange.signing import Credentials, auth_headers, new_nonce, query_value
from bitunix.model.contract import ContractSpec
from bitunix.model.enums import KlineType, MarginMode, PositionMode, PositionSide
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
    return {k: v for k, v in kwargs.items() if v is not None}


def _not_executed(exc: ExchangeError) -> bool:
    """True when the error proves the request was refused before it took effect."""
    if isinstance(exc, RateLimitError):
        return True
    return isinstance(exc, HttpStatusError) and exc.status == 429


class _Ctx(NamedTuple):
    symbol: str | None
    client_id: str | None


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
        self._rng = rng or random.Random()
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
        """A fresh clientId: prefix + 24 random hex characters (fits ``[A-Za-z0-9-]{1,36}``)."""
        return f"{self.config.client_id_prefix}-{secrets.token_hex(12)}"

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
        on_retried: Callable[[T | None], Awaitable[T | None]] | None = None,
    ) -> T | None:
        ctx = _Ctx(symbol, client_id)
        body_str = encode_body(body) if body is not None else None
        safe = ep.retry_safe if retry_safe is None else retry_safe
        skew_retried = False
        attempt = 0
        # True once an attempt failed without saying it was not executed (timeout,
        # connection, HTTP or venue "Network Error"): it may have gone through.
        uncertain = False
        while True:
            try:
                data = await self._send(ep, decoder, params, body_str, ctx)
                if uncertain and on_retried is not None:
                    return await on_retried(data)
                return data
            except DuplicateClientIdError:
                # 30042 after an attempt that may have gone through: that attempt placed
                # it, read it back. After only definite refusals (rate limits) the
                # clientId belongs to an older order: an error, as on a first attempt.
                if uncertain and on_duplicate is not None:
                    log.warning("%s: clientId %s already placed by an earlier attempt",
                                ep.path, client_id)
                    return await on_duplicate()
                raise
            except SignatureError as exc:
                # The Date header just showed our clock is off: retry once, corrected.
                if self._skew_changed and not skew_retried:
                    log.warning("%s: %s; retrying with the corrected clock", ep.path, exc)
                    skew_retried = True
                    continue
                raise
            except ExchangeError as exc:
                if not (safe and exc.retryable) or attempt >= self.config.max_retries:
                    raise
                if not _not_executed(exc):
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
        """Candles, returned oldest first (the live API sends newest first)."""
        if interval not in KLINE_INTERVALS:
            raise InvalidRequestError(f"unknown kline interval {interval!r}; expected one of "
                                      f"{', '.join(sorted(KLINE_INTERVALS))}")
        p = _params(symbol=symbol, interval=interval, startTime=start_ms, endTime=end_ms,
                    limit=limit, type=kind.value)
        rows = await self._call(api.KLINE, self._dec.klines, params=p, symbol=symbol) or []
        return sorted(rows, key=lambda k: k.time)

    async def funding_rate(self, symbol: str) -> w.FundingRate:
        """Current funding (``funding_rate`` in percent)."""
        data = await self._call(api.FUNDING_RATE, self._dec.funding, params={"symbol": symbol},
                                symbol=symbol)
        return _one(data, "funding_rate")

    async def funding_rates(self) -> list[w.FundingRate]:
        """Funding of every symbol."""
        return await self._call(api.FUNDING_RATE_BATCH, self._dec.funding_batch) or []

    async def funding_rate_history(self, symbol: str, *, start_ms: int | None = None,
                                   end_ms: int | None = None,
                                   limit: int | None = None) -> list[w.FundingRateHistoryRow]:
        """Settled funding rates (fractions), newest first."""
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
        """One page of closed positions."""
        p = _params(symbol=symbol, startTime=start_ms, endTime=end_ms, skip=skip, limit=limit)
        return await self._req(api.HISTORY_POSITIONS, self._dec.history_positions,
                               "get_history_positions", params=p, symbol=symbol)

    # -- trading ------------------------------------------------------------------------

    def _with_client_id(self, order: OrderRequest) -> OrderRequest:
        if order.client_id:
            return order
        import msgspec

        return msgspec.structs.replace(order, client_id=self.new_client_id())

    async def place_order(self, order: OrderRequest) -> w.OrderAck:
        """Place one order; ``code 0`` means accepted, confirm through the ``order`` channel.

        A missing ``client_id`` is generated, so a retry after a timeout cannot double the
        order: the venue answers 30042 and the client reads the first one back.
        """
        order = self._with_client_id(order)
        body = order.body()
        cid = order.client_id

        async def read_back() -> w.OrderAck | list[w.OrderAck]:
            placed = await self._read_back(cid)
            return w.OrderAck(order_id=placed.order_id, client_id=placed.client_id or cid)

        data = await self._call(api.PLACE_ORDER, self._dec.ack, body=body, symbol=order.symbol,
                                client_id=cid, on_duplicate=read_back)
        ack = _one(data, "place_order")
        if not ack.client_id:
            ack = w.OrderAck(order_id=ack.order_id, id=ack.id, client_id=cid)
        return ack

    async def batch_orders(self, symbol: str, orders: Sequence[OrderRequest]) -> w.BatchResult:
        """Place up to 5 orders of one symbol; check ``success_list`` per clientId."""
        if not 1 <= len(orders) <= MAX_BATCH:
            raise InvalidRequestError(f"batch_order takes 1..{MAX_BATCH} orders, "
                                      f"was {len(orders)}")
        if any(o.symbol != symbol for o in orders):
            raise InvalidRequestError(f"every order of a batch must be for {symbol}")
        full = [self._with_client_id(o) for o in orders]
        body = {"symbol": symbol, "orderList": [o.body(with_symbol=False) for o in full]}
        return await self._req(api.BATCH_ORDER, self._dec.batch, "batch_order", body=body,
                               symbol=symbol, on_retried=self._resolve_batch_duplicates)

    async def _read_back(self, client_id: str | None) -> w.Order:
        """The order an earlier attempt placed. 20007 can be transient just after
        placement (spec 6.5), so "not found" is retried like a transient error."""
        attempt = 0
        while True:
            try:
                return await self.order_detail(client_id=client_id)
            except OrderNotFoundError:
                if attempt >= self.config.max_retries:
                    raise
                await self._sleep(self._backoff_s(attempt))
                attempt += 1

    async def _resolve_batch_duplicates(self, res: w.BatchResult | None) -> w.BatchResult | None:
        """After a retried batch, rows refused as duplicates (30042) were placed by the
        earlier attempt: read them back and report them as successes."""
        if res is None:
            return None
        success = list(res.success_list)
        failure: list[w.OrderFailure] = []
        for row in res.failure_list:
            if str(row.error_code) == "30042" and row.client_id:
                placed = await self._read_back(row.client_id)
                success.append(w.OrderAck(order_id=placed.order_id, client_id=row.client_id))
            else:
                failure.append(row)
        return w.BatchResult(success_list=success, failure_list=failure)

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
        """One page of open orders, newest first."""
        p = _params(symbol=symbol, endTime=end_ms, skip=skip, limit=limit)
        return await self._call(api.PENDING_ORDERS, self._dec.orders, params=p,
                                symbol=symbol) or w.OrderList()

    async def all_pending_orders(self, symbol: str | None = None,
                                 page: int = 100) -> list[w.Order]:
        """Every open order: pages until ``total``, with ``endTime`` frozen (spec 6.5)."""
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
        """One page of finished orders (``canceled=True``: cancelled ones, last 3 days)."""
        p = _params(symbol=symbol, startTime=start_ms, endTime=end_ms, skip=skip, limit=limit,
                    queryCanceled=canceled)
        return await self._call(api.HISTORY_ORDERS, self._dec.orders, params=p,
                                symbol=symbol) or w.OrderList()

    async def history_trades(self, symbol: str | None = None, *, order_id: str | None = None,
                             skip: int = 0, limit: int = 100, start_ms: int | None = None,
                             end_ms: int | None = None) -> w.TradeList:
        """One page of fills."""
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
        p = _params(symbol=symbol, skip=skip, limit=limit)
        return await self._call(api.TPSL_HISTORY, self._dec.tpsl_history, params=p,
                                symbol=symbol) or w.TpslOrderList()
