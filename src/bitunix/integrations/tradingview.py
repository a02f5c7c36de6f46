"""TradingView webhook alerts: ``POST /webhook/tradingview`` on the run's listener.

An alert is a small JSON body::

    {"symbol": "BTCUSDT", "action": "buy", "ts": 1764698400000, "nonce": "a1",
     "strategy": "breakout", "sl_pct": 0.5, "tp_pct": 1.0}

``action`` is ``buy`` (enter long), ``sell`` (enter short) or ``close`` (close the
symbol's position); ``ts`` is the alert's time, unix milliseconds or ISO 8601
(TradingView's ``{{timenow}}``); ``nonce`` is unique per alert; ``strategy`` (optional)
names the alert's origin in the audit trail; ``sl_pct`` / ``tp_pct`` / ``probability``
(optional) override ``[tradingview]``'s. Any other field is refused.

It is authenticated one of two ways (``docs/tradingview.md``):

* ``X-Signature: <hex HMAC-SHA256(secret, raw body)>`` on ``/webhook/tradingview``, for a
  relay or any sender that can sign;
* ``/webhook/tradingview/<token>``, for TradingView itself, whose alerts can set neither
  a header nor compute a signature: the token is a second secret, compared in constant
  time (HTTPS in front of the bot keeps it off the wire).

Then replay protection: ``|now - ts| <= max_age_s`` and a nonce never seen within that
window (:class:`NonceBook`, saved in the store so a restart does not reopen the window).
An accepted alert becomes a :class:`~bitunix.strategy.Signal` built as a strategy builds
one (price: the market's last trade; stop and target from the percentages) and goes to
:meth:`bitunix.app.trader.Trader.on_signal`: the risk gate, Kelly sizing, exposure limits
and the exit plan apply as to the bot's own signals, and the decision is recorded. Every
refusal is a 4xx with a one-word reason, audited (``action = "tradingview"``) without
the secret, the token or the signature.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Literal

import msgspec
from aiohttp import web

from bitunix.app.observers import Observer
from bitunix.config.tradingview import TradingViewSecrets, TradingViewSection
from bitunix.model.records import AuditEntry, Decision
from bitunix.strategy import Direction, Signal, SignalKind

if TYPE_CHECKING:
    from bitunix.app.bot import BotRun

__all__ = [
    "PATH",
    "Alert",
    "AlertRefusedError",
    "NonceBook",
    "TradingViewWebhook",
    "alert_signal",
    "parse_alert",
    "parse_ts_ms",
    "sign",
    "verify_signature",
]

log = logging.getLogger("bitunix.integrations.tradingview")

#: Where alerts are posted (and ``PATH + "/<token>"`` for TradingView itself).
PATH = "/webhook/tradingview"
#: The store's state key holding the nonces of the current window.
NONCES_KEY = "tradingview.nonces"
#: Larger bodies are refused unread (an alert is a few hundred bytes).
MAX_BODY = 16 * 1024
_NS_PER_MS = 1_000_000


class Alert(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One TradingView alert (see the module docs for the fields)."""

    symbol: str
    action: Literal["buy", "sell", "close"]
    ts: int | str
    nonce: str
    strategy: str = ""
    sl_pct: float | None = None
    tp_pct: float | None = None
    probability: float | None = None


class AlertRefusedError(Exception):
    """An alert refused: ``status`` (4xx/5xx) and a short ``reason`` (audited)."""

    def __init__(self, status: int, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.detail = detail


def sign(secret: str, body: bytes) -> str:
    """The ``X-Signature`` of ``body``: hex HMAC-SHA256 with ``secret``."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, signature: str) -> bool:
    """Whether ``signature`` (hex, any case, an optional ``sha256=`` prefix) signs
    ``body``; compared in constant time."""
    given = signature.strip().lower().removeprefix("sha256=")
    return bool(secret) and hmac.compare_digest(sign(secret, body), given)


def parse_ts_ms(ts: int | str) -> int:
    """An alert's ``ts`` in unix milliseconds: an integer, a string of digits, or ISO 8601
    with a zone (``2026-12-02T18:00:00Z``); ValueError otherwise."""
    if isinstance(ts, int):
        return ts
    text = ts.strip()
    if text.isdigit():
        return int(text)
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise ValueError("no time zone")
    return int(when.timestamp() * 1000)


_decode_alert = msgspec.json.Decoder(Alert).decode


def parse_alert(body: bytes) -> Alert:
    """``body`` as an :class:`Alert`, or a 400 :class:`AlertRefusedError` saying what is wrong."""
    try:
        alert = _decode_alert(body)
    except msgspec.DecodeError as exc:
        raise AlertRefusedError(400, "malformed", str(exc)[:200]) from None
    if not 1 <= len(alert.nonce) <= 128:
        raise AlertRefusedError(400, "malformed", "nonce: 1 to 128 characters")
    if len(alert.strategy) > 64:
        raise AlertRefusedError(400, "malformed", "strategy: at most 64 characters")
    for name in ("sl_pct", "tp_pct"):
        value = getattr(alert, name)
        if value is not None and not 0.0 < value <= 500.0:
            raise AlertRefusedError(400, "malformed", f"{name}: must be in (0, 500]")
    if alert.probability is not None and not 0.0 <= alert.probability <= 1.0:
        raise AlertRefusedError(400, "malformed", "probability: must be in [0, 1]")
    return alert


class NonceBook:
    """The nonces seen within the replay window, each until its alert's ``ts`` is older
    than ``max_age_ms`` (then the stale check refuses it anyway). At most ``max_nonces``:
    a full book refuses new alerts rather than forget one early (which would let it be
    replayed)."""

    def __init__(self, max_age_ms: int, max_nonces: int) -> None:
        self.max_age_ms = max_age_ms
        self.max_nonces = max_nonces
        self.seen: dict[str, int] = {}

    def prune(self, now_ms: int) -> None:
        """Forget the nonces whose alerts are now stale."""
        horizon = now_ms - self.max_age_ms
        self.seen = {n: ts for n, ts in self.seen.items() if ts >= horizon}

    def admit(self, nonce: str, ts_ms: int, now_ms: int) -> str:
        """Remember ``nonce`` and return "" (new), or why not: ``replayed`` (seen in the
        window) or ``too_many`` (the book is full)."""
        if nonce in self.seen:
            return "replayed"
        if len(self.seen) >= self.max_nonces:
            self.prune(now_ms)
            if len(self.seen) >= self.max_nonces:
                return "too_many"
        self.seen[nonce] = ts_ms
        return ""

    def dump(self) -> str:
        """The book as JSON (for the store)."""
        return msgspec.json.encode(self.seen).decode()

    def load(self, text: str, now_ms: int) -> None:
        """Take up a saved book (an unreadable one is logged and ignored)."""
        try:
            saved = msgspec.json.decode(text, type=dict[str, int])
        except msgspec.DecodeError:
            log.warning("tradingview: the saved nonces are unreadable; starting empty")
            return
        self.seen.update(saved)
        self.prune(now_ms)


def alert_signal(alert: Alert, *, price: float, direction: Direction | None,
                 section: TradingViewSection, ts_ns: int) -> Signal:
    """The :class:`Signal` an alert stands for, built as a strategy builds one: an entry
    at ``price`` (the market's last trade) with the stop ``sl_pct`` and the target
    ``tp_pct`` percent away; ``close``: an exit (``direction``: the open position's side,
    LONG when flat)."""
    p = alert.probability if alert.probability is not None else section.probability
    if alert.action == "close":
        # A finite probability: the store cannot read back a decision holding NaN.
        return Signal(strategy=section.strategy, symbol=alert.symbol, ts_ns=ts_ns,
                      kind=SignalKind.EXIT, direction=direction or Direction.LONG,
                      price=price, probability=p, score_source="tradingview")
    side = Direction.LONG if alert.action == "buy" else Direction.SHORT
    sl = (alert.sl_pct if alert.sl_pct is not None else section.sl_pct) / 100.0
    tp = (alert.tp_pct if alert.tp_pct is not None else section.tp_pct) / 100.0
    stop = price * (1.0 - sl * side)
    target = price * (1.0 + tp * side)
    return Signal(strategy=section.strategy, symbol=alert.symbol, ts_ns=ts_ns,
                  kind=SignalKind.ENTER, direction=side, price=price, stop=stop,
                  target=target, probability=p, score_source="tradingview")


class TradingViewWebhook(Observer):
    """The webhook (see the module docs): :meth:`add_routes` is the listener's route
    adder; as an observer it finds the run's trader and store and hears the decisions
    its signals get."""

    name = "tradingview"

    def __init__(self, section: TradingViewSection, secrets: TradingViewSecrets, *,
                 now_ms: Callable[[], int] = lambda: time.time_ns() // _NS_PER_MS) -> None:
        self.section = section
        self.secrets = secrets
        self.now_ms = now_ms
        self.nonces = NonceBook(round(section.max_age_s * 1000), section.max_nonces)
        self.accepted = 0
        self.refused: dict[str, int] = {}
        self._bot: BotRun | None = None
        self._outcome = ""

    # -- observer ------------------------------------------------------------------------

    async def start(self, bot: BotRun) -> None:
        self._bot = bot
        store = bot.store
        if store is not None:
            saved = store.state(NONCES_KEY)
            if saved:
                self.nonces.load(saved, self.now_ms())

    def on_decision(self, decision: Decision) -> None:
        if decision.strategy == self.section.strategy:
            self._outcome = decision.outcome

    # -- http ----------------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        """Route adder for :class:`~bitunix.app.http_observer.HttpObserver`."""
        app.router.add_post(PATH, self._signed)
        app.router.add_post(PATH + "/{token}", self._tokened)

    async def _signed(self, request: web.Request) -> web.Response:
        try:
            body = await self._body(request)
            signature = request.headers.get("X-Signature", "")
            if not signature:
                raise AlertRefusedError(401, "unsigned")
            if not verify_signature(self.secrets.secret, body, signature):
                raise AlertRefusedError(401, "bad_signature")
            return self._accept(body, "signature")
        except AlertRefusedError as error:
            return self._refuse(error, request)

    async def _tokened(self, request: web.Request) -> web.Response:
        try:
            body = await self._body(request)
            token = self.secrets.url_token
            given = request.match_info["token"]
            if not token or not hmac.compare_digest(token.encode(), given.encode()):
                raise AlertRefusedError(401, "bad_token")
            return self._accept(body, "token")
        except AlertRefusedError as error:
            return self._refuse(error, request)

    async def _body(self, request: web.Request) -> bytes:
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise AlertRefusedError(413, "too_large")
        # One read may return only the first chunk of a body: read up to one byte past
        # the limit, chunk by chunk.
        body = b""
        while len(body) <= MAX_BODY:
            chunk = await request.content.read(MAX_BODY + 1 - len(body))
            if not chunk:
                return body
            body += chunk
        raise AlertRefusedError(413, "too_large")

    def _accept(self, body: bytes, auth: str) -> web.Response:
        bot = self._bot
        if bot is None or bot.trader is None or bot.pipeline is None:
            raise AlertRefusedError(503, "not_running")
        alert = parse_alert(body)
        try:
            ts_ms = parse_ts_ms(alert.ts)
        except (ValueError, OverflowError):
            raise AlertRefusedError(400, "malformed", "ts: unix milliseconds or ISO 8601 with a "
                                            "zone") from None
        now_ms = self.now_ms()
        age_ms = now_ms - ts_ms
        if abs(age_ms) > self.nonces.max_age_ms:
            raise AlertRefusedError(400, "stale", f"ts {age_ms / 1000:.1f} s from now (limit "
                                        f"{self.section.max_age_s:g} s)", )
        allowed = self.section.symbols or bot.config.symbols
        if alert.symbol not in allowed or alert.symbol not in bot.trader.contracts:
            raise AlertRefusedError(422, "symbol", f"{alert.symbol!r} is not allowed")
        engine = bot.pipeline.engines.get(alert.symbol)
        price = engine.last_price if engine is not None else math.nan
        if not (0.0 < price < math.inf):
            raise AlertRefusedError(503, "no_price", "no trade seen on the symbol yet")
        why = self.nonces.admit(alert.nonce, ts_ms, now_ms)
        if why == "replayed":
            raise AlertRefusedError(409, "replayed", f"nonce {alert.nonce!r} already seen")
        if why:
            raise AlertRefusedError(429, why, f"{self.section.max_nonces} nonces in the window")
        if bot.store is not None:
            bot.store.set_state(NONCES_KEY, self.nonces.dump())
        direction = None
        if bot.engine is not None:
            pos = bot.engine.position(alert.symbol)
            if pos is not None and pos.qty_steps < 0:
                direction = Direction.SHORT
        sig = alert_signal(alert, price=price, direction=direction, section=self.section,
                           ts_ns=now_ms * _NS_PER_MS)
        self._outcome = ""
        bot.trader.on_signal(sig)
        outcome = self._outcome or "unknown"
        ok = outcome in ("order", "exit")
        self._audit(alert.symbol, "accepted" if ok else f"refused:{outcome}",
                    {"action": alert.action, "nonce": alert.nonce, "auth": auth,
                     "origin": alert.strategy, "outcome": outcome})
        if ok:
            self.accepted += 1
        else:
            self.refused[outcome] = self.refused.get(outcome, 0) + 1
        return web.json_response({"ok": ok, "outcome": outcome}, status=202 if ok else 422)

    def _refuse(self, error: AlertRefusedError, request: web.Request) -> web.Response:
        self.refused[error.reason] = self.refused.get(error.reason, 0) + 1
        detail = {"remote": request.remote or "", "path": PATH}
        if error.detail:
            detail["why"] = error.detail
        self._audit("", f"refused:{error.reason}", detail)
        log.warning("tradingview: alert refused (%s)%s", error.reason,
                    f": {error.detail}" if error.detail else "")
        return web.json_response({"ok": False, "reason": error.reason,
                                  "detail": error.detail}, status=error.status)

    def _audit(self, symbol: str, reason: str, detail: dict[str, str]) -> None:
        bot = self._bot
        journal = bot.journal if bot is not None else None
        if journal is not None:
            journal.record_audit(AuditEntry(
                ts_ns=time.time_ns(), action="tradingview", symbol=symbol,
                strategy=self.section.strategy, reason=reason, detail=detail))
