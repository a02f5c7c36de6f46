"""The control API's endpoints (``/api/v1/...``) on the run's listener.

:class:`ControlApi` is a route adder for :class:`bitunix.obs.ObsServer` (via
``HttpObserver(routes=[api.add_routes])``); its handlers run on the bot's event loop, read
the run's state directly, and send every change through the operator's path: a
:class:`~bitunix.control.ControlRequest` handled by a
:class:`~bitunix.control.handler.ControlHandler` of the bot, so the risk checks, the
``force`` semantics and the audit trail (``strategy = "api:<token name>"``) are the ones of
``bitunix-bot pause / order place / kill ...``. Model promote and rollback change the
registry the bot follows (it hot-swaps at its next poll), audited the same way.

:data:`ROUTES` is the one table of endpoints: the application is built from it and so is
the OpenAPI document (:mod:`bitunix.api.openapi`).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec
from aiohttp import web
from aiohttp.typedefs import Handler

from bitunix.api import schemas as s
from bitunix.api.allowlist import RefusalCounts
from bitunix.api.errors import ApiError, error_response
from bitunix.api.masking import masked_config
from bitunix.api.tokens import TokenTable
from bitunix.config.api import ApiSection, ApiToken
from bitunix.control import ControlRequest, new_request
from bitunix.control.handler import ControlHandler
from bitunix.core.errors import BitunixError
from bitunix.model.records import AuditEntry

__all__ = ["PREFIX", "ROUTES", "ControlApi", "Route"]

log = logging.getLogger("bitunix.api")

#: Where the API lives; a new major version gets a new prefix.
PREFIX = "/api/v1"
_CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SYMBOL = re.compile(r"[A-Z0-9]{2,30}")
#: The largest body read (a request body is a few fields).
_MAX_BODY = 16 * 1024


class Route(msgspec.Struct, frozen=True, kw_only=True):
    """One endpoint: ``method`` and ``path`` (under :data:`PREFIX`), the ``scope`` it
    needs, the method of :class:`ControlApi` that answers (``handler``), what it reads
    (``body``: a Struct type or None; ``query``: names of optional string parameters) and
    answers (``response``), the refusals it may give besides 401/403/503 (``errors``)."""

    method: str
    path: str
    scope: str
    handler: str
    summary: str
    response: Any
    body: Any = None
    body_required: bool = False
    query: tuple[str, ...] = ()
    errors: tuple[int, ...] = ()


_BODY_ERRORS = (400, 422)
ROUTES: tuple[Route, ...] = (
    Route(method="GET", path="/status", scope="read", handler="status",
          summary="How the bot is doing", response=s.StatusView),
    Route(method="GET", path="/balance", scope="read", handler="balance",
          summary="The venue's last known balance", response=s.BalanceView),
    Route(method="GET", path="/positions", scope="read", handler="positions",
          summary="Open positions", response=s.PositionList),
    Route(method="GET", path="/orders", scope="read", handler="orders",
          summary="Open orders (of one symbol with ?symbol=)", response=s.OrderList,
          query=("symbol",), errors=(422,)),
    Route(method="POST", path="/orders", scope="trade", handler="place",
          summary="Place a manual order through the risk check (force: admin)",
          response=s.ActionResult, body=s.OrderBody, body_required=True,
          errors=(*_BODY_ERRORS, 409)),
    Route(method="POST", path="/orders/cancel-all", scope="trade", handler="cancel_all",
          summary="Cancel every open order (of one symbol)", response=s.ActionResult,
          body=s.CancelAllBody, errors=(*_BODY_ERRORS, 409)),
    Route(method="DELETE", path="/orders/{client_id}", scope="trade", handler="cancel",
          summary="Cancel an open order", response=s.ActionResult, errors=(404, 409, 422)),
    Route(method="POST", path="/flatten", scope="trade", handler="flatten",
          summary="Cancel all orders, close all positions, pause entries",
          response=s.ActionResult, body=s.FlattenBody, errors=(*_BODY_ERRORS, 409)),
    Route(method="POST", path="/pause", scope="trade", handler="pause",
          summary="Pause new entries", response=s.ActionResult, body=s.ReasonBody,
          errors=(*_BODY_ERRORS, 409)),
    Route(method="POST", path="/resume", scope="trade", handler="resume",
          summary="Resume new entries", response=s.ActionResult, body=s.ReasonBody,
          errors=(*_BODY_ERRORS, 409)),
    Route(method="POST", path="/kill", scope="trade", handler="kill",
          summary="Engage the kill switch (and flatten)", response=s.ActionResult,
          body=s.KillBody, errors=(*_BODY_ERRORS, 409)),
    Route(method="POST", path="/kill/release", scope="admin", handler="release",
          summary="Release the kill switch", response=s.ActionResult, body=s.ReasonBody,
          errors=(*_BODY_ERRORS, 409)),
    Route(method="POST", path="/models/promote", scope="admin", handler="promote",
          summary="Make a registered model active", response=s.ModelResult,
          body=s.ModelBody, body_required=True, errors=(*_BODY_ERRORS, 404, 409)),
    Route(method="POST", path="/models/rollback", scope="admin", handler="rollback",
          summary="Re-activate the previously active model", response=s.ModelResult,
          errors=(409,)),
    Route(method="GET", path="/config", scope="admin", handler="config",
          summary="The running configuration, secrets masked", response=s.ConfigView),
)


class ControlApi:
    """The endpoints of :data:`ROUTES` for the tokens of ``config``; ``bot`` (a
    :class:`bitunix.app.bot.BotRun`) is bound once the run exists (until then every
    endpoint answers 503). Refusals are counted in ``counts``."""

    def __init__(self, config: ApiSection, *, counts: RefusalCounts | None = None,
                 bot: Any = None) -> None:
        self.config = config
        self.tokens = TokenTable(config.tokens)
        self.counts = counts if counts is not None else RefusalCounts()
        self.handler: ControlHandler | None = None
        self.bot: Any = None
        if bot is not None:
            self.bind(bot)
        self._encode = msgspec.json.Encoder(decimal_format="string").encode

    def bind(self, bot: Any) -> None:
        """Serve ``bot``: its state, and its changes through its own
        :class:`~bitunix.control.handler.ControlHandler` (the one that serves the operator
        commands)."""
        self.bot = bot
        self.handler = bot.control_handler

    # -- the application ---------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        """Add every endpoint of :data:`ROUTES` and ``/openapi.json`` to ``app``."""
        from bitunix.api.openapi import openapi_document

        document = msgspec.json.encode(openapi_document())

        async def openapi(_request: web.Request) -> web.Response:
            return web.Response(body=document, content_type="application/json")

        app.router.add_get("/openapi.json", openapi)
        for route in ROUTES:
            app.router.add_route(route.method, PREFIX + route.path, self._endpoint(route))
        app.middlewares.append(api_errors)

    def _endpoint(self, route: Route) -> Handler:
        method: Callable[..., Awaitable[Any]] = getattr(self, "_" + route.handler)

        async def endpoint(request: web.Request) -> web.StreamResponse:
            try:
                token = self._authenticate(request, route.scope)
                unknown = sorted(set(request.query) - set(route.query))
                if unknown:
                    raise ApiError(422, "invalid", f"unknown query parameter "
                                                   f"{unknown[0][:40]!r}")
                args: list[Any] = [token]
                if route.body is not None:
                    args.append(await _decode(request, route.body, route.body_required))
                self._ready(route)
                result = await method(request, *args)
            except ApiError as exc:
                headers = {"WWW-Authenticate": 'Bearer realm="bitunix"'} \
                    if exc.status == 401 else None
                return error_response(exc.status, exc.code, exc.message, headers=headers)
            return web.Response(body=self._encode(result), content_type="application/json",
                                headers={"Cache-Control": "no-store"})

        return endpoint

    def _authenticate(self, request: web.Request, scope: str) -> ApiToken:
        header = request.headers.get("Authorization", "")
        kind, _, presented = header.partition(" ")
        token = self.tokens.find(presented.strip()) if kind.lower() == "bearer" else None
        if token is None:
            self.counts.add("unauthorized")
            log.warning("api: refused %s %s from %s (no valid bearer token)",
                        request.method, request.path, request.remote)
            raise ApiError(401, "unauthorized",
                           "an Authorization: Bearer <token> header with a configured "
                           "token is required")
        if not self.tokens.allows(token, scope):
            self.counts.add("scope")
            log.warning("api: refused %s %s for token %s (needs scope %s)",
                        request.method, request.path, token.name, scope)
            raise ApiError(403, "insufficient_scope",
                           f"token {token.name!r} lacks the {scope!r} scope")
        return token

    def _ready(self, route: Route) -> None:
        bot = self.bot
        if bot is None or bot.lease is None:
            raise ApiError(503, "starting", "the bot is starting: try again shortly")
        if route.method == "GET":
            return
        if not bot.lease.held:
            raise ApiError(503, "standby", "this bot is a standby (another instance holds "
                                           "the store's lease): ask the active one")
        if bot.stopping:
            raise ApiError(503, "stopping", "the bot is stopping: nothing done")

    # -- reads -------------------------------------------------------------------------

    async def _status(self, _request: web.Request, _token: ApiToken) -> s.StatusView:
        bot = self.bot
        state = bot.gate.state
        engine = bot.engine
        stack = bot.stack
        model = None
        if stack is not None:
            st = stack.model_status()
            model = s.ModelView(model=st.model, source=st.source, demoted=st.demoted)
        equity = day_pnl = None
        positions = open_orders = 0
        if engine is not None:
            pf = engine.portfolio
            eq = pf.equity()
            equity = None if eq is None else str(eq)
            day_pnl = str(pf.day_pnl())
            positions = len(pf.open_symbols())
            open_orders = len(engine.open_orders())
        return s.StatusView(
            mode=bot.mode.value, venue=bot.config.venue.kind, symbols=list(bot.config.symbols),
            active=bool(bot.lease.held), ready=engine is not None and bool(engine.ready),
            paused=bool(bot.paused), paused_reason=bot.paused_reason,
            kill_switch=state.kill_switch, kill_reason=state.kill_reason,
            daily_loss_stop=state.daily_loss_day is not None,
            breakers=[s.BreakerView(kind=str(k), symbol=sym)
                      for k, sym in bot.gate.breaker.tripped()],
            model=model, equity=equity, day_pnl=day_pnl, positions=positions,
            open_orders=open_orders)

    async def _balance(self, _request: web.Request, _token: ApiToken) -> s.BalanceView:
        bot = self.bot
        engine = bot.engine
        coin = bot.config.venue.margin_coin
        if engine is None:
            return s.BalanceView(coin=coin, available=None, frozen=None, margin=None,
                                 wallet=None, equity=None, unrealized_pnl="0",
                                 updated_ns=None)
        pf = engine.portfolio
        b = pf.balance
        wallet, equity = pf.wallet(), pf.equity()
        return s.BalanceView(
            coin=coin if b is None else b.coin,
            available=None if b is None else str(b.available),
            frozen=None if b is None else str(b.frozen),
            margin=None if b is None else str(b.margin),
            wallet=None if wallet is None else str(wallet),
            equity=None if equity is None else str(equity),
            unrealized_pnl=str(pf.unrealized()),
            updated_ns=None if b is None else b.ts_event_ns)

    async def _positions(self, _request: web.Request, _token: ApiToken) -> s.PositionList:
        engine = self.bot.engine
        rows: list[s.PositionView] = []
        if engine is not None:
            pf = engine.portfolio
            for symbol in pf.open_symbols():
                pos = pf.position(symbol)
                if pos is None or pos.is_flat:
                    continue
                mark = pf.marks.get(symbol)
                entry = pos.avg_entry_price
                rows.append(s.PositionView(
                    symbol=symbol, side="LONG" if pos.qty_steps > 0 else "SHORT",
                    qty=str(abs(pos.qty)), avg_entry=None if entry is None else str(entry),
                    mark=None if mark is None else pos.spec.format_price(mark),
                    unrealized_pnl=None if mark is None else str(pos.unrealized_pnl(mark)),
                    realized_pnl=str(pos.realized_pnl)))
        return s.PositionList(positions=rows)

    async def _orders(self, request: web.Request, _token: ApiToken) -> s.OrderList:
        symbol = request.query.get("symbol")
        if symbol is not None:
            self._traded(symbol, "symbol")
        engine = self.bot.engine
        orders = [] if engine is None else engine.open_orders(symbol)
        return s.OrderList(orders=[_order_view(o) for o in orders])

    async def _config(self, _request: web.Request, _token: ApiToken) -> s.ConfigView:
        return s.ConfigView(config=masked_config(self.bot.config))

    # -- changes through the operator's path --------------------------------------------

    async def _place(self, _request: web.Request, token: ApiToken,
                     body: s.OrderBody) -> s.ActionResult:
        if body.force and not self.tokens.allows(token, "admin"):
            self.counts.add("scope")
            raise ApiError(403, "insufficient_scope",
                           f"token {token.name!r}: force (skipping the risk check) needs "
                           "the 'admin' scope")
        spec = self._traded(body.symbol, "symbol")
        _on_grid(body.qty, "qty", spec.qty_to_steps, spec.qty_step)
        if body.price is not None:
            _on_grid(body.price, "price", spec.price_to_ticks, spec.tick_size)
        args = {"symbol": body.symbol, "side": body.side, "qty": body.qty,
                "reduce_only": _flag(body.reduce_only), "force": _flag(body.force)}
        if body.price is not None:
            args["price"] = body.price
        return await self._control("order_place", args, token)

    async def _cancel(self, request: web.Request, token: ApiToken) -> s.ActionResult:
        client_id = request.match_info["client_id"]
        if not _CLIENT_ID.fullmatch(client_id):
            raise ApiError(422, "invalid", f"client_id {client_id[:70]!r}: 1-64 letters, "
                                           "digits, '_' or '-'")
        engine = self.bot.engine
        if engine is not None and engine.order(client_id) is None:
            raise ApiError(404, "not_found", f"no order {client_id!r}")
        return await self._control("order_cancel", {"client_id": client_id}, token)

    async def _cancel_all(self, _request: web.Request, token: ApiToken,
                          body: s.CancelAllBody) -> s.ActionResult:
        if body.symbol is not None:
            self._traded(body.symbol, "symbol")
        return await self._control("cancel_all", {"symbol": body.symbol or "",
                                                  "timeout_s": repr(body.timeout_s)}, token)

    async def _flatten(self, _request: web.Request, token: ApiToken,
                       body: s.FlattenBody) -> s.ActionResult:
        return await self._control("flatten", {"reason": body.reason,
                                               "timeout_s": repr(body.timeout_s)}, token)

    async def _pause(self, _request: web.Request, token: ApiToken,
                     body: s.ReasonBody) -> s.ActionResult:
        return await self._control("pause", {"reason": body.reason}, token)

    async def _resume(self, _request: web.Request, token: ApiToken,
                      body: s.ReasonBody) -> s.ActionResult:
        return await self._control("resume", {"reason": body.reason}, token)

    async def _kill(self, _request: web.Request, token: ApiToken,
                    body: s.KillBody) -> s.ActionResult:
        return await self._control("kill", {"reason": body.reason,
                                            "flatten": _flag(body.flatten),
                                            "timeout_s": repr(body.timeout_s)}, token)

    async def _release(self, _request: web.Request, token: ApiToken,
                       body: s.ReasonBody) -> s.ActionResult:
        return await self._control("release", {"reason": body.reason}, token)

    async def _control(self, action: str, args: dict[str, str],
                       token: ApiToken) -> s.ActionResult:
        handler = self.handler
        assert handler is not None  # bound with the bot (checked by _ready)
        request: ControlRequest = new_request(action, {k: v for k, v in args.items() if v},
                                              who=f"api:{token.name}")
        answer = await handler.handle(request)
        if not answer.ok:
            raise ApiError(409, "refused", answer.message)
        return s.ActionResult(message=answer.message, detail=answer.detail)

    # -- the model registry ------------------------------------------------------------

    async def _promote(self, _request: web.Request, token: ApiToken,
                       body: s.ModelBody) -> s.ModelResult:
        registry = self._registry()
        from bitunix.ml.errors import RegistryError

        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, registry.get, body.name, body.version)
        except RegistryError as exc:
            raise ApiError(404, "not_found", str(exc)) from None
        return await self._registry_change(
            token, "model_promote", lambda: registry.promote(body.name, body.version))

    async def _rollback(self, _request: web.Request, token: ApiToken) -> s.ModelResult:
        registry = self._registry()
        return await self._registry_change(token, "model_rollback", registry.rollback)

    def _registry(self) -> Any:
        stack = self.bot.stack
        registry = None if stack is None else stack.registry
        if registry is None:
            raise ApiError(409, "no_registry", "the bot runs without a model registry "
                                               "(signal.models_dir)")
        return registry

    async def _registry_change(self, token: ApiToken, what: str,
                               change: Callable[[], Any]) -> s.ModelResult:
        loop = asyncio.get_running_loop()
        try:
            entry = await loop.run_in_executor(None, change)
            ok, message = True, (f"{entry.name}@{entry.version} is now {entry.status}; the "
                                 "bot swaps it in at its next registry poll")
        except BitunixError as exc:
            entry, ok, message = None, False, f"{what} failed: {exc}"
        bot = self.bot
        if bot.journal is not None:
            detail = {"ok": _flag(ok), "result": message}
            if entry is not None:
                detail["model"] = f"{entry.name}@{entry.version}"
            bot.journal.record_audit(AuditEntry(
                ts_ns=bot.clock.now_ns(), action="operator", strategy=f"api:{token.name}",
                reason=what, detail=detail))
        if entry is None:
            raise ApiError(409, "refused", message)
        return s.ModelResult(name=entry.name, version=entry.version, status=entry.status,
                             message=message)

    def _traded(self, symbol: str, key: str) -> Any:
        spec = self.bot.contracts.get(symbol) if _SYMBOL.fullmatch(symbol) else None
        if spec is None:
            raise ApiError(422, "invalid", f"{key} {symbol[:40]!r}: the bot trades "
                           f"{', '.join(sorted(self.bot.contracts)) or 'nothing yet'}")
        return spec


@web.middleware
async def api_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Under :data:`PREFIX`, the router's own refusals (unknown path, method not allowed)
    get the API's JSON error body too."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if not request.path.startswith(PREFIX + "/") or exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status, "bad_request")
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return error_response(exc.status, code, exc.reason, headers=headers)


async def _decode(request: web.Request, body_type: Any, required: bool) -> Any:
    if request.content_length is not None and request.content_length > _MAX_BODY:
        raise ApiError(400, "bad_request",
                       f"body over {_MAX_BODY} bytes")
    # One read returns what has arrived: a body sent in chunks is read to its end.
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(_MAX_BODY + 1 - size):
        chunks.append(chunk)
        size += len(chunk)
        if size > _MAX_BODY:
            raise ApiError(400, "bad_request", f"body over {_MAX_BODY} bytes")
    raw = b"".join(chunks)
    if not raw.strip():
        if required:
            raise ApiError(400, "bad_request", "a JSON body is required")
        raw = b"{}"
    try:
        return msgspec.json.decode(raw, type=body_type)
    except msgspec.ValidationError as exc:
        raise ApiError(422, "invalid", str(exc)) from None
    except msgspec.DecodeError as exc:
        raise ApiError(400, "bad_request", f"not JSON: {exc}") from None


def _on_grid(text: str, key: str, to_units: Callable[[Decimal], int], step: Decimal) -> None:
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the schema's pattern admits decimals only
        raise ApiError(422, "invalid", f"{key} {text!r}: not a decimal number") from None
    if value <= 0:
        raise ApiError(422, "invalid", f"{key} {text}: not > 0")
    try:
        to_units(value)
    except BitunixError:
        raise ApiError(422, "invalid", f"{key} {text}: not a multiple of {step}") from None


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _order_view(order: Any) -> s.OrderView:
    spec = order.spec
    return s.OrderView(
        client_id=order.client_id, symbol=order.symbol, side=order.side.value,
        type=order.order_type.value, status=order.status.value,
        qty=spec.format_qty(order.qty_steps), filled_qty=spec.format_qty(order.filled_steps),
        price=None if order.price_ticks is None else spec.format_price(order.price_ticks),
        avg_price=None if order.avg_price is None else str(order.avg_price),
        reduce_only=order.reduce_only, strategy=order.strategy, created_ns=order.created_ns)
