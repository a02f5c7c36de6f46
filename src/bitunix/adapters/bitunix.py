"""The live Bitunix clients as a :class:`~bitunix.execution.venue.Venue`.

:class:`BitunixVenue` puts together, for one API key and one Bitunix-compatible server (the
real venue, or the local simulator in paper mode):

* **the fast order path** (:meth:`BitunixVenue.submit`, :meth:`BitunixVenue.cancel`):
  the JSON body is encoded with msgspec from the order's steps and ticks, signed
  (:class:`~bitunix.exchange.request_bytes.SignedRequestBuilder`) and written to an open
  keep-alive connection (:class:`~bitunix.exchange.fasthttp.FastHttpChannel`) before the
  call returns: no task, queue or await. The answer is parsed when it arrives:

  ======================================  ============================================
  answer                                  outcome for the listener
  ======================================  ============================================
  ``code 0``                              ``OrderAccepted(venue_id)``
  ``30042`` (the client id exists)        the existing order, read back by client id:
                                          ``OrderAccepted`` + its report (never a
                                          rejection); unreadable: ``SubmitError(None)``
  ``10005``/``10006``, HTTP 429           ``SubmitError(executed=False)`` (rate limited)
  request never written                   ``SubmitError(executed=False)``
  ``10001``, timeout, connection lost     ``SubmitError(executed=None)``
  after the write, HTTP 5xx, unreadable
  any other code                          ``OrderRejected("[code] msg")``
  ======================================  ============================================

  A cancel (``cancel_orders`` by client id) succeeded only when the venue lists the order
  in ``successList``; the order's final state then comes as a push. A cancel refused for
  the order (it ended meanwhile) is answered with the order's state read back; a cancel
  without a verdict is ``SubmitError(executed=None)`` (``False`` when proven not sent).
* **the private stream** (:class:`~bitunix.exchange.ws.BitunixWS`, logged in, subscribed to
  ``order``, ``position``, ``balance`` and ``tpsl``): order pushes become
  :class:`~bitunix.model.OrderReport`, position pushes
  :class:`~bitunix.execution.venue.VenuePosition` (signed steps) and funding deltas, balance
  pushes :class:`~bitunix.model.Balance`. ``on_stream(True)`` after every (re)subscription,
  ``on_stream(False)`` when it drops, so the order manager reconciles on every reconnect.
  Bitunix pushes no fills: when an order push shows more filled than was fetched, the
  order's trades are read (``get_history_trades``) off the hot path and reported as
  :class:`~bitunix.model.Fill` (of our orders and of any other: an exchange TP/SL that
  fired, a liquidation);
* **the async reads** through :class:`~bitunix.exchange.rest.BitunixREST` (aiohttp):
  order lookups by client id, open orders (every page), positions, balance, fills,
  position TP/SL, cancel-all.

Orders are sent in one-way position mode (no ``tradeSide``); :meth:`BitunixVenue.connect`
switches an account that is in hedge mode to one-way when it is flat, and refuses to trade
otherwise. Leverage per symbol (``BitunixVenueSettings.leverage``) is set at connect for
symbols with no position and no open order, never otherwise.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from decimal import Decimal
from functools import partial
from typing import Any, ClassVar, TypeVar

import msgspec

from bitunix.adapters.bitunix_convert import (
    Answer,
    CancelBody,
    CancelEntry,
    PlaceLimitBody,
    PlaceMarketBody,
    fill_from_trade,
    position_from_push,
    position_from_rest,
    read_answer,
    report_from_push,
    report_from_rest,
    steps_str,
    venue_order_from_rest,
)
from bitunix.core.clock import Clock, LiveClock
from bitunix.core.errors import BitunixError, ConfigError
from bitunix.core.latency import LatencyProbe
from bitunix.exchange import endpoints as api
from bitunix.exchange.config import RestConfig, WsConfig
from bitunix.exchange.convert import balance_update
from bitunix.exchange.dedup import RecentKeys
from bitunix.exchange.errors import (
    ExchangeError,
    NetworkError,
    OrderNotFoundError,
    PositionNotFoundError,
    RateLimitError,
    TransportError,
    error_for_code,
)
from bitunix.exchange.fasthttp import FastHttpChannel, HttpResult
from bitunix.exchange.request_bytes import SignedRequestBuilder, server_timestamp_ms
from bitunix.exchange.requests import InvalidRequestError
from bitunix.exchange.rest import BitunixREST
from bitunix.exchange.signing import Credentials
from bitunix.exchange.ws import BitunixWS, ConnState, WsHandler
from bitunix.execution.venue import SubmitError, VenueListener, VenueOrder, VenuePosition
from bitunix.model import (
    Balance,
    ContractSpec,
    Fill,
    Order,
    OrderAccepted,
    OrderRejected,
    OrderReport,
    OrderType,
    PositionMode,
    Side,
    StopType,
    TimeInForce,
    ticks_to_decimal,
)
from bitunix.wire.decoding import ResponseDecoder
from bitunix.wire.private import BalancePush, OrderData, OrderPush, PositionData, PositionPush
from bitunix.wire.rest import BatchResult, OrderAck, TradeFill
from bitunix.wire.rest import Order as RestOrder

__all__ = ["BitunixVenue", "BitunixVenueSettings", "BitunixVenueStats", "VenueNotConnectedError"]

log = logging.getLogger("bitunix.adapters.bitunix")

T = TypeVar("T")

PLACE_PATH = api.PLACE_ORDER.path
CANCEL_PATH = api.CANCEL_ORDERS.path
_DUPLICATE = 30042
_TRADES_PAGE = 100
_ZERO = Decimal(0)


class VenueNotConnectedError(BitunixError):
    """An order before :meth:`BitunixVenue.connect` (or after :meth:`BitunixVenue.close`):
    nothing was sent."""


class BitunixVenueSettings(msgspec.Struct, frozen=True, kw_only=True,
                           forbid_unknown_fields=True):
    """How the live adapter connects, waits and retries.

    * ``pool_size``: keep-alive connections kept open for orders; ``max_connections``:
      the most the fast channel opens in a burst (beyond, an order fails at once with
      ``SubmitError(executed=False)``);
    * ``request_timeout_s``: an order or cancel unanswered this long is
      ``SubmitError(executed=None)`` (the order manager looks it up by client id);
    * ``stream_timeout_s``: :meth:`BitunixVenue.connect` waits this long for the private
      stream to be live;
    * ``lookups`` / ``lookup_backoff_s``: a lookup by client id answered "not found"
      (20007, possibly transient right after placement, spec 6.5) is asked again, this many
      times in all, the wait doubling from ``lookup_backoff_s``, before the order is
      declared unknown to the venue;
    * ``fill_fetch_attempts`` / ``fill_retry_s``: reads of an order's trades when a push
      shows more filled than was fetched (a failed read or trades not listed yet);
    * ``stop_type``: the trigger price of position TP/SL (``LAST_PRICE``/``MARK_PRICE``);
    * ``leverage``: leverage per symbol, set at connect where flat with no open order;
      ``one_way``: switch a flat account in hedge mode to one-way at connect (the adapter
      sends one-way orders; False: refuse to connect instead).
    """

    section: ClassVar[str] = "venue.bitunix"

    pool_size: int = 4
    max_connections: int = 16
    request_timeout_s: float = 5.0
    connect_timeout_s: float = 5.0
    stream_timeout_s: float = 15.0
    lookups: int = 3
    lookup_backoff_s: float = 0.2
    fill_fetch_attempts: int = 6
    fill_retry_s: float = 0.2
    stop_type: StopType = StopType.LAST_PRICE
    margin_coin: str = "USDT"
    leverage: dict[str, int] = msgspec.field(default_factory=dict)
    one_way: bool = True

    def __post_init__(self) -> None:
        s = self.section
        for name in ("pool_size", "max_connections", "lookups", "fill_fetch_attempts"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{s}.{name} must be an integer >= 1, was {value!r}")
        if self.max_connections < self.pool_size:
            raise ConfigError(f"{s}.max_connections must be >= pool_size "
                              f"({self.pool_size}), was {self.max_connections!r}")
        for name in ("request_timeout_s", "connect_timeout_s", "stream_timeout_s",
                     "lookup_backoff_s", "fill_retry_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not (
                    0 < value < float("inf")):
                raise ConfigError(f"{s}.{name} must be a finite number > 0, was {value!r}")
        for symbol, lev in self.leverage.items():
            if isinstance(lev, bool) or not isinstance(lev, int) or lev < 1:
                raise ConfigError(f"{s}.leverage.{symbol} must be an integer >= 1, was {lev!r}")


class BitunixVenueStats:
    """Counters of one adapter (plain ints)."""

    __slots__ = ("cancels", "convert_errors", "duplicates", "fill_fetch_failures",
                 "fill_fetches", "fills_reported", "funding_events", "rejected",
                 "requests_failed", "rotations", "stream_downs", "stream_ups", "submit_errors",
                 "submits", "unknown_symbols")

    def __init__(self) -> None:
        self.submits = 0
        self.cancels = 0
        #: Business refusals (``OrderRejected``).
        self.rejected = 0
        #: Submits and cancels without a verdict (``SubmitError``).
        self.submit_errors = 0
        #: 30042 answers resolved to the existing order.
        self.duplicates = 0
        self.fill_fetches = 0
        self.fill_fetch_failures = 0
        self.fills_reported = 0
        self.funding_events = 0
        #: Venue requests that failed (transport, rate limit, 5xx): what ``on_request`` saw.
        self.requests_failed = 0
        self.stream_ups = 0
        self.stream_downs = 0
        #: Pushes or rows of a symbol without a contract here (ignored).
        self.unknown_symbols = 0
        #: Pushes or rows that could not be converted (logged, skipped).
        self.convert_errors = 0
        #: Key pairs swapped in by :meth:`BitunixVenue.rotate_credentials`.
        self.rotations = 0

    def as_dict(self) -> dict[str, int]:
        """The counters by name."""
        return {name: getattr(self, name) for name in self.__slots__}


class _FillWatch:
    """One venue order whose pushes showed fills: how much filled, how much was fetched."""

    __slots__ = ("again", "busy", "got", "spec", "terminal", "want")

    def __init__(self, spec: ContractSpec) -> None:
        self.spec = spec
        self.want = 0
        self.got = 0
        self.terminal = False
        self.busy = False
        self.again = False


class _PrivateStream(WsHandler):
    """The private WebSocket's handler: hands every push to the adapter."""

    def __init__(self, venue: BitunixVenue) -> None:
        self._venue = venue

    def on_order(self, msg: OrderPush) -> None:
        for item in msg.items:
            self._venue._order_push(item, msg.ts)

    def on_position(self, msg: PositionPush) -> None:
        for item in msg.items:
            self._venue._position_push(item, msg.ts)

    def on_balance(self, msg: BalancePush) -> None:
        self._venue._balance_push(msg)

    def on_state(self, state: ConnState) -> None:
        self._venue._stream_state(state)

    def on_error(self, error: str) -> None:
        log.warning("private stream: %s", error)


class BitunixVenue:
    """A Bitunix-compatible server as a Venue (see the module docs).

    ``credentials`` sign everything; ``rest_config`` and ``ws_config`` give the URLs (and
    the REST client's retry policy); ``symbols`` are the traded symbols (their contracts
    are read at connect unless ``contracts`` is given). ``probe`` (optional) is told when
    each order's bytes were written; ``on_request(ok)`` (optional) hears the outcome of
    every venue request (False: transport failure, timeout, rate limit, HTTP 5xx), for the
    error-rate breaker; ``on_refusal(symbol, code)`` (optional) hears every order the
    venue refused, e.g. for a spec cache (:mod:`bitunix.exchange.spec_cache`). Bind the
    listener (the order manager does) before :meth:`connect` to receive the first pushes.
    """

    def __init__(
        self,
        credentials: Credentials,
        *,
        rest_config: RestConfig,
        ws_config: WsConfig,
        symbols: Sequence[str],
        contracts: Mapping[str, ContractSpec] | None = None,
        settings: BitunixVenueSettings | None = None,
        probe: LatencyProbe | None = None,
        on_request: Callable[[bool], None] | None = None,
        clock: Clock | None = None,
        name: str = "bitunix",
        on_refusal: Callable[[str, int], None] | None = None,
    ) -> None:
        self.settings = s = settings or BitunixVenueSettings()
        self.symbols = list(symbols)
        self.contracts: dict[str, ContractSpec] = dict(contracts or {})
        self.clock: Clock = clock or LiveClock()
        self.stats = BitunixVenueStats()
        self.rest = BitunixREST(credentials, rest_config, clock=self.clock)
        self.channel = FastHttpChannel(
            rest_config.base_url, request_timeout_s=s.request_timeout_s,
            connect_timeout_s=s.connect_timeout_s, max_connections=s.max_connections)
        self._build = SignedRequestBuilder(credentials, self.channel.host_header,
                                           server_timestamp_ms(self.rest, self.clock)).request
        self.ws = BitunixWS(_PrivateStream(self), ws_config, credentials=credentials,
                            clock=self.clock)
        self.setup_log: list[str] = []
        self._name = name
        self._probe = probe
        self._on_request = on_request
        self._on_refusal = on_refusal
        self._listener: VenueListener | None = None
        self._connected = False
        self._live = False
        self._encode = msgspec.json.Encoder().encode
        self._ack = ResponseDecoder[OrderAck | list[OrderAck]](OrderAck | list[OrderAck],
                                                               "place_order")
        self._batch = ResponseDecoder[BatchResult](BatchResult, "cancel_orders")
        self._tasks: set[asyncio.Task[None]] = set()
        self._watch: dict[str, _FillWatch] = {}
        self._reported = RecentKeys(16384)
        self._position_ids: dict[str, str] = {}
        self._funding: dict[str, Decimal] = {}

    @property
    def name(self) -> str:
        """Short name for banners and the audit trail."""
        return self._name

    def bind(self, listener: VenueListener) -> None:
        """Send every later event to ``listener``."""
        self._listener = listener

    def rotate_credentials(self, credentials: Credentials) -> None:
        """Swap in a new key pair without a restart. REST and the order path sign with it
        from their next request; requests already written complete under the old key
        (keep it valid until this returned); an order re-sent keeps its client id, so the
        venue's duplicate check (30042) holds. The private stream reconnects and logs in
        with the new key. The old key is not kept anywhere."""
        build = SignedRequestBuilder(credentials, self.channel.host_header,
                                     server_timestamp_ms(self.rest, self.clock)).request
        self.rest.set_credentials(credentials)
        self._build = build
        self.ws.set_credentials(credentials)
        self.stats.rotations += 1

    # ------------------------------------------------------------------ lifecycle
    async def connect(self) -> None:
        """Read the contracts (if not given), check the account's position mode and set
        leverage where allowed, open the keep-alive connections and the private stream, and
        wait (``stream_timeout_s``) until it is live. Raises on failure (nothing is left
        open then)."""
        try:
            if not self.contracts:
                self.contracts.update(await self._rest(self.rest.contracts(self.symbols)))
            missing = [s for s in self.symbols if s not in self.contracts]
            if missing:
                raise ConfigError(f"the venue lists no contract for {', '.join(missing)}")
            await self._setup_account()
            await self.channel.open(self.settings.pool_size)
            self._connected = True
            self.ws.start()
            try:
                await self.ws.wait_live(self.settings.stream_timeout_s)
            except TimeoutError:
                raise TransportError(
                    f"the private stream {self.ws.url} was not live within "
                    f"{self.settings.stream_timeout_s} s (login or subscription failed: "
                    f"check the key and the URL)") from None
            await self.positions(self.symbols)  # position ids and funding baselines
        except BaseException:
            await self.close()
            raise

    async def __aenter__(self) -> BitunixVenue:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop the stream, the background reads and every connection."""
        self._connected = False
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.ws.close()
        await self.channel.close()
        await self.rest.close()

    async def _setup_account(self) -> None:
        """One-way position mode and leverage, each only where nothing is open."""
        s = self.settings
        account = await self._rest(self.rest.account(s.margin_coin))
        positions = await self._rest(self.rest.pending_positions())
        orders = await self._rest(self.rest.all_pending_orders())
        busy = {p.symbol for p in positions} | {o.symbol for o in orders}
        mode = account.position_mode
        if mode and PositionMode(mode) is PositionMode.HEDGE:
            if busy or not s.one_way:
                why = (f"positions or orders are open on {', '.join(sorted(busy))}" if busy
                       else f"{s.section}.one_way is false")
                raise ConfigError(f"the account is in HEDGE position mode and this adapter "
                                  f"sends one-way orders ({why}): switch the account to "
                                  f"ONE_WAY when flat")
            await self._rest(self.rest.change_position_mode(PositionMode.ONE_WAY))
            self.setup_log.append("position mode HEDGE -> ONE_WAY")
        for symbol, leverage in sorted(s.leverage.items()):
            if symbol in busy:
                note = f"leverage of {symbol} left as is: a position or an order is open"
                log.warning(note)
                self.setup_log.append(note)
                continue
            current = await self._rest(self.rest.leverage_margin_mode(symbol, s.margin_coin))
            if current.leverage != leverage:
                await self._rest(self.rest.change_leverage(symbol, leverage, s.margin_coin))
                self.setup_log.append(f"leverage of {symbol} {current.leverage} -> {leverage}")

    # ------------------------------------------------------------------ hot path
    def submit(self, order: Order) -> None:
        """Write ``order``'s ``place_order`` request now; the outcome comes later."""
        if not self._connected:
            raise VenueNotConnectedError(f"{order.client_id}: the venue is not connected")
        spec = order.spec
        if order.order_type is OrderType.MARKET:
            body: PlaceMarketBody | PlaceLimitBody = PlaceMarketBody(
                symbol=spec.symbol, side=order.side, orderType=OrderType.MARKET,
                qty=steps_str(order.qty_steps, spec.qty_decimals), clientId=order.client_id,
                reduceOnly=order.reduce_only)
        else:
            price = order.price_ticks
            if price is None or price <= 0:
                raise InvalidRequestError(f"{order.client_id}: a LIMIT order needs a price > 0")
            body = PlaceLimitBody(
                symbol=spec.symbol, side=order.side, orderType=OrderType.LIMIT,
                qty=steps_str(order.qty_steps, spec.qty_decimals),
                price=steps_str(price, spec.price_decimals),
                effect=order.time_in_force or TimeInForce.GTC, clientId=order.client_id,
                reduceOnly=order.reduce_only)
        raw = self._build("POST", PLACE_PATH, self._encode(body))
        written = self.channel.send(raw, partial(self._placed, order), endpoint=PLACE_PATH)
        if written and self._probe is not None:
            self._probe.written()
        self.stats.submits += 1

    def cancel(self, order: Order) -> None:
        """Write the ``cancel_orders`` request of ``order`` (by client id) now."""
        if not self._connected:
            raise VenueNotConnectedError(f"{order.client_id}: the venue is not connected")
        body = CancelBody(symbol=order.spec.symbol,
                          orderList=[CancelEntry(clientId=order.client_id)])
        raw = self._build("POST", CANCEL_PATH, self._encode(body))
        self.channel.send(raw, partial(self._cancelled, order), endpoint=CANCEL_PATH)
        self.stats.cancels += 1

    # ------------------------------------------------------------------ answers
    def _answer(self, result: HttpResult, decoder: ResponseDecoder[Any],
                what: str) -> Answer | SubmitError:
        verdict, ok = read_answer(result, decoder, what)
        self._request_done(ok)
        return verdict

    def _placed(self, order: Order, result: HttpResult) -> None:
        listener = self._listener
        if listener is None:
            return
        cid = order.client_id
        answer = self._answer(result, self._ack, "place_order")
        if isinstance(answer, SubmitError):
            self._submit_error(cid, answer)
            return
        if answer.code == 0:
            data = answer.data
            ack = data[0] if isinstance(data, list) and data else data
            venue_id = (ack.order_id or ack.id) if isinstance(ack, OrderAck) else None
            if not venue_id:
                self._no_verdict(cid, "place_order: code 0 without an order id")
                return
            listener.on_order_event(cid, OrderAccepted(venue_id=venue_id))
        elif answer.code == _DUPLICATE:
            self.stats.duplicates += 1
            self._spawn(self._existing(order))
        else:
            self.stats.rejected += 1
            if self._on_refusal is not None:
                self._on_refusal(order.spec.symbol, answer.code)
            listener.on_order_event(cid, OrderRejected(
                reason=f"[{answer.code}] {answer.msg}", ts_ns=self.clock.now_ns()))

    async def _existing(self, order: Order) -> None:
        """30042: the client id exists at the venue; answer with that order's state."""
        cid = order.client_id
        try:
            row = await self._order_row(cid)
        except (BitunixError, OSError, TimeoutError) as exc:
            self._no_verdict(cid, f"30042 and the existing order could not be read: {exc}")
            return
        listener = self._listener
        if listener is None:
            return
        if row is None:
            self._no_verdict(cid, "30042 but no order with this client id is found")
            return
        why = _mismatch(order, row)
        if why is not None:
            self.stats.rejected += 1
            listener.on_order_event(cid, OrderRejected(
                reason=f"[30042] the client id belongs to another order ({row.order_id}: "
                       f"{why})", ts_ns=self.clock.now_ns()))
            return
        report = report_from_rest(row, order.spec)
        listener.on_order_event(cid, OrderAccepted(venue_id=row.order_id, ts_ns=report.ts_ns))
        listener.on_order_event(cid, report)
        self._note_filled(row.order_id, order.spec, report)

    def _no_verdict(self, cid: str, reason: str, executed: bool | None = None) -> None:
        self._submit_error(cid, SubmitError(reason=reason, executed=executed))

    def _submit_error(self, cid: str, error: SubmitError) -> None:
        self.stats.submit_errors += 1
        if self._listener is not None:
            self._listener.on_submit_error(cid, error)

    def _cancelled(self, order: Order, result: HttpResult) -> None:
        listener = self._listener
        if listener is None:
            return
        cid = order.client_id
        answer = self._answer(result, self._batch, "cancel_orders")
        if isinstance(answer, SubmitError):
            self._submit_error(cid, answer)
            return
        reason = f"[{answer.code}] {answer.msg}"
        if answer.code == 0 and isinstance(answer.data, BatchResult):
            if any(row.client_id == cid or (row.order_id and row.order_id == order.venue_id)
                   for row in answer.data.success_list):
                return  # cancelled: the final state comes as a push
            for row in answer.data.failure_list:
                if row.client_id == cid:
                    reason = f"[{row.error_code}] {row.error_msg or ''}"
        # Refused for this order: it may have ended meanwhile; say how it stands.
        self._spawn(self._after_refused_cancel(order, reason))

    async def _after_refused_cancel(self, order: Order, reason: str) -> None:
        cid = order.client_id
        try:
            row = await self._order_row(cid)
        except (BitunixError, OSError, TimeoutError) as exc:
            self._no_verdict(cid, f"cancel refused ({reason}), the order unreadable: {exc}")
            return
        if row is None:
            self._no_verdict(cid, f"cancel refused ({reason}): the venue does not know it")
            return
        report = report_from_rest(row, order.spec)
        if self._listener is not None:
            self._listener.on_order_event(cid, report)
        self._note_filled(row.order_id, order.spec, report)
        if report.status.is_open:  # still open: the cancel may be sent again
            self._no_verdict(cid, f"cancel refused: {reason}", executed=False)

    # ------------------------------------------------------------------ private stream
    def _stream_state(self, state: ConnState) -> None:
        listener = self._listener
        if state is ConnState.LIVE:
            self._live = True
            self.stats.stream_ups += 1
            if listener is not None:
                listener.on_stream(True)
        elif self._live:
            self._live = False
            self.stats.stream_downs += 1
            if listener is not None:
                listener.on_stream(False)

    def _spec(self, symbol: str) -> ContractSpec | None:
        spec = self.contracts.get(symbol)
        if spec is None:
            self.stats.unknown_symbols += 1
        return spec

    def _order_push(self, d: OrderData, ts_ms: int) -> None:
        spec = self._spec(d.symbol)
        if spec is None:
            return
        try:
            report = report_from_push(d, ts_ms, spec)
        except (ValueError, ArithmeticError) as exc:
            self._convert_error("order push", d.order_id, exc)
            return
        if d.client_id and self._listener is not None:
            self._listener.on_order_event(d.client_id, report)
        self._note_filled(d.order_id, spec, report)

    def _position_push(self, d: PositionData, ts_ms: int) -> None:
        spec = self._spec(d.symbol)
        if spec is None:
            return
        try:
            position, funding, ts_ns = position_from_push(d, ts_ms, spec)
        except (ValueError, ArithmeticError) as exc:
            self._convert_error("position push", d.position_id, exc)
            return
        self._position_seen(position, funding, ts_ns, opened=d.event.upper() == "OPEN")
        if self._listener is not None:
            self._listener.on_position(position)

    def _balance_push(self, msg: BalancePush) -> None:
        for item in msg.items:
            if item.coin == self.settings.margin_coin and self._listener is not None:
                self._listener.on_balance(balance_update(item, msg.ts))

    def _position_seen(self, position: VenuePosition, funding: Decimal | None, ts_ns: int,
                       *, opened: bool) -> None:
        """Remember the position's id; report the funding it received since last seen.

        Funding is counted from the first sight of a position: a position first seen open
        (an ``OPEN`` push) starts from zero, one first seen later (at connect, after a
        restart) from what it shows then (what it paid before is not this run's)."""
        symbol = position.spec.symbol
        pid = position.position_id
        if position.qty_steps:
            self._position_ids[symbol] = pid
        elif self._position_ids.get(symbol) == pid:
            del self._position_ids[symbol]
        if funding is None or not pid:
            return
        before = self._funding.get(pid)
        if before is None:
            before = _ZERO if opened else funding
        if position.qty_steps:
            self._funding[pid] = funding
        else:
            self._funding.pop(pid, None)
        received = funding - before
        if received and self._listener is not None:
            self.stats.funding_events += 1
            self._listener.on_funding(position.spec, -received, ts_ns)

    def _convert_error(self, what: str, ref: str, exc: Exception) -> None:
        self.stats.convert_errors += 1
        log.error("%s %s could not be read: %s", what, ref, exc)

    # ------------------------------------------------------------------ fills
    def _note_filled(self, venue_id: str, spec: ContractSpec, report: OrderReport) -> None:
        """A report of ``venue_id``: fetch its trades if it filled more than was fetched."""
        watch = self._watch.get(venue_id)
        if watch is None:
            if not report.filled_steps:
                return
            watch = self._watch[venue_id] = _FillWatch(spec)
        watch.want = max(watch.want, report.filled_steps)
        watch.terminal = watch.terminal or report.status.is_terminal
        if watch.want > watch.got:
            if watch.busy:
                watch.again = True
            else:
                watch.busy = True
                self._spawn(self._fetch_watched(venue_id, watch))
        elif watch.terminal and not watch.busy:
            del self._watch[venue_id]

    async def _fetch_watched(self, venue_id: str, watch: _FillWatch) -> None:
        """Read ``venue_id``'s trades until they add up to what its pushes reported."""
        s = self.settings
        failures = 0
        try:
            while True:
                watch.again = False
                try:
                    fills = await self._order_fills(venue_id, watch.spec)
                except (BitunixError, OSError, TimeoutError) as exc:
                    self.stats.fill_fetch_failures += 1
                    fills = None
                    error = str(exc)
                if fills is not None:
                    self._report_fills(fills)
                    watch.got = max(watch.got, sum(f.qty_steps for f in fills))
                    if watch.got >= watch.want and not watch.again:
                        return
                    error = f"{watch.got} of {watch.want} steps listed"
                failures += 1
                if failures >= s.fill_fetch_attempts:
                    log.warning("trades of order %s: giving up after %d reads (%s); the order "
                                "manager's gap check or reconciliation takes over", venue_id,
                                failures, error)
                    return
                await asyncio.sleep(s.fill_retry_s * 2 ** (failures - 1))
        finally:
            watch.busy = False
            if watch.terminal and watch.got >= watch.want:
                self._watch.pop(venue_id, None)

    def _report_fills(self, fills: list[Fill]) -> None:
        listener = self._listener
        if listener is None:
            return  # not marked as reported: a later read reports them
        for fill in fills:
            if not self._reported.seen(fill.trade_id):
                self.stats.fills_reported += 1
                listener.on_fill(fill)

    async def _order_fills(self, venue_id: str, spec: ContractSpec) -> list[Fill]:
        """Every trade of ``venue_id`` (all pages)."""
        self.stats.fill_fetches += 1
        rows: list[TradeFill] = []
        while True:
            page = await self._rest(self.rest.history_trades(order_id=venue_id, skip=len(rows),
                                                             limit=_TRADES_PAGE))
            rows.extend(page.trade_list)
            if not page.trade_list or len(rows) >= page.total:
                break
        out = []
        for row in rows:
            row_spec = self.contracts.get(row.symbol, spec)
            try:
                out.append(fill_from_trade(row, row_spec))
            except (ValueError, ArithmeticError) as exc:
                self._convert_error("trade", row.trade_id, exc)
        return out

    # ------------------------------------------------------------------ reads
    async def _order_row(self, client_id: str) -> RestOrder | None:
        """The venue's order with ``client_id``; None after ``lookups`` "not found"."""
        s = self.settings
        for attempt in range(s.lookups):
            try:
                return await self._rest(self.rest.order_detail(client_id=client_id))
            except OrderNotFoundError:
                if attempt + 1 < s.lookups:
                    await asyncio.sleep(s.lookup_backoff_s * 2 ** attempt)
        return None

    async def query_order(self, order: Order) -> OrderReport | None:
        """The venue's state of ``order`` by client id; None when it is not found after
        ``lookups`` reads (20007 can be transient right after placement). Raises the
        REST client's error when the venue cannot be read."""
        row = await self._order_row(order.client_id)
        if row is None:
            return None
        report = report_from_rest(row, order.spec)
        self._note_filled(row.order_id, order.spec, report)
        return report

    async def open_orders(self, symbols: Sequence[str]) -> list[VenueOrder]:
        """Every open order of ``symbols`` (every symbol when empty), all pages."""
        rows: list[RestOrder] = []
        wanted: Sequence[str | None] = symbols or [None]
        for symbol in wanted:
            rows.extend(await self._rest(self.rest.all_pending_orders(symbol)))
        out = []
        for row in rows:
            spec = self._spec(row.symbol)
            if spec is None:
                continue
            try:
                out.append(venue_order_from_rest(row, spec))
            except (ValueError, ArithmeticError) as exc:
                self._convert_error("open order", row.order_id, exc)
        return out

    async def positions(self, symbols: Sequence[str]) -> list[VenuePosition]:
        """Every open position of ``symbols`` (every symbol when empty)."""
        wanted = set(symbols)
        rows = await self._rest(self.rest.pending_positions())
        out = []
        for row in rows:
            if wanted and row.symbol not in wanted:
                continue
            spec = self._spec(row.symbol)
            if spec is None:
                continue
            try:
                position = position_from_rest(row, spec)
            except (ValueError, ArithmeticError) as exc:
                self._convert_error("position", row.position_id, exc)
                continue
            self._position_seen(position, row.funding, self.clock.now_ns(), opened=False)
            out.append(position)
        return out

    async def balance(self) -> Balance:
        """The margin coin's balance."""
        account = await self._rest(self.rest.account(self.settings.margin_coin))
        return Balance(ts_event_ns=self.clock.now_ns(), coin=account.margin_coin,
                       available=account.available, frozen=account.frozen,
                       margin=account.margin, bonus=account.bonus or _ZERO)

    async def fills(self, order: Order) -> list[Fill]:
        """Every fill of ``order`` (its venue id, or the one found by its client id)."""
        venue_id = order.venue_id
        if venue_id is None:
            row = await self._order_row(order.client_id)
            if row is None:
                return []
            venue_id = row.order_id
        fills = await self._order_fills(venue_id, order.spec)
        watch = self._watch.get(venue_id)
        if watch is not None:
            watch.got = max(watch.got, sum(f.qty_steps for f in fills))
        for fill in fills:
            self._reported.seen(fill.trade_id)
        return fills

    async def set_protection(self, spec: ContractSpec, *, tp_ticks: int | None,
                             sl_ticks: int | None) -> None:
        """Place the position TP/SL of ``spec``'s position (it replaces the previous one);
        the position id comes from the pushes, else from a REST read."""
        symbol = spec.symbol
        tp = None if tp_ticks is None else ticks_to_decimal(tp_ticks, spec.price_decimals)
        sl = None if sl_ticks is None else ticks_to_decimal(sl_ticks, spec.price_decimals)
        for attempt in (1, 2):
            pid = self._position_ids.get(symbol) if attempt == 1 else None
            if pid is None:
                await self.positions([symbol])
                pid = self._position_ids.get(symbol)
            if pid is None:
                raise error_for_code(30004, f"no {symbol} position to protect",
                                     endpoint=api.TPSL_POSITION_PLACE.path, symbol=symbol)
            try:
                await self._rest(self.rest.place_position_tpsl(
                    symbol, pid, tp_price=tp, sl_price=sl,
                    stop_type=self.settings.stop_type.value))
                return
            except PositionNotFoundError:
                if attempt == 2:
                    raise
                self._position_ids.pop(symbol, None)  # a stale id: read it again

    async def cancel_all(self, symbols: Sequence[str]) -> None:
        """Cancel every open order of ``symbols`` (position TP/SL are left in place, as
        the in-process venue does)."""
        for symbol in symbols:
            await self._rest(self.rest.cancel_all_orders(symbol))

    async def close_position(self, spec: ContractSpec) -> bool:
        """Flash-close the position of ``spec`` (its id read afresh: a stale one would
        close nothing); False when there is none."""
        symbol = spec.symbol
        await self.positions([symbol])
        pid = self._position_ids.get(symbol)
        if pid is None:
            return False
        try:
            await self._rest(self.rest.flash_close_position(pid))
        except PositionNotFoundError:
            return False  # closed between the read and the close
        return True

    # ------------------------------------------------------------------ internals
    async def _rest(self, call: Awaitable[T]) -> T:
        """Await one REST call and report its outcome to ``on_request``."""
        try:
            result = await call
        except (TransportError, RateLimitError, NetworkError):
            self._request_done(False)
            raise
        except ExchangeError:
            self._request_done(True)  # the venue answered (a refusal, not found...)
            raise
        self._request_done(True)
        return result

    def _request_done(self, ok: bool) -> None:
        if not ok:
            self.stats.requests_failed += 1
        if self._on_request is not None:
            self._on_request(ok)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background read failed", exc_info=task.exception())


def _mismatch(order: Order, row: RestOrder) -> str | None:
    """Why ``row`` (found under ``order``'s client id) is not ``order``."""
    if row.symbol != order.spec.symbol:
        return f"symbol {row.symbol}"
    kind = row.kind
    if kind and kind.upper() != order.order_type.value:
        return f"type {kind}"
    try:
        side = Side(row.side)
    except ValueError:
        return f"side {row.side}"
    return None if side is order.side else f"side {row.side}"
