"""What the operator commands share: the store's bot, the request round trip, the venue.

``status``, ``balance``, ``positions``, ``orders`` read the store (what the bot believes)
and the venue over REST (the truth); ``pause``, ``resume``, ``order``, ``cancel-all``,
``flatten`` and ``kill`` write a request into the store for the running bot and wait for its
answer (``bitunix.control``). See ``docs/operations-commands.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from bitunix.cli._args import positive_float
from bitunix.cli.backup import DEFAULT_STORES, default_store
from bitunix.control.channel import StoreChannel
from bitunix.control.messages import (
    BotInfo,
    BotStatus,
    ControlAnswer,
    decode_info,
    decode_status,
    new_request,
)
from bitunix.core.errors import BitunixError, ConfigError
from bitunix.store import LeaseHolder, SqliteStore, check_store

__all__ = ["BotView", "add_store", "add_venue", "ask", "emit_json", "open_view", "venue_call"]

_T = TypeVar("_T")
_NS = 1_000_000_000
#: How long a read waits for the venue (per request).
VENUE_TIMEOUT_S = 5.0


def add_store(parser: argparse.ArgumentParser) -> None:
    """``--store``."""
    parser.add_argument("--store", metavar="PATH", help="the bot's store (default: "
                        f"{' or '.join(DEFAULT_STORES)}, whichever is here)")


def add_json(parser: argparse.ArgumentParser) -> None:
    """``--json``."""
    parser.add_argument("--json", action="store_true",
                        help="one JSON document on stdout (exact decimals as strings)")


def add_timeout(parser: argparse.ArgumentParser, default: float = 10.0) -> None:
    """``--timeout``."""
    parser.add_argument("--timeout", type=positive_float, default=default, metavar="SECONDS",
                        help=f"how long to wait for the bot's answer (default {default:g})")


def add_venue(parser: argparse.ArgumentParser) -> None:
    """The venue flags: by default the endpoints the bot recorded in the store."""
    parser.add_argument("--rest-url", help="REST base URL of the venue (default: the one "
                        "the bot on the store recorded, else the config's)")
    parser.add_argument("--config", help="TOML configuration whose [venue] section names "
                        "the venue and its secrets file")


@dataclass(frozen=True)
class BotView:
    """The store's bot as the commands see it: the lease row, the bot's record and its
    last heartbeat; ``running`` when a live lease is held."""

    path: Path
    holder: LeaseHolder | None
    info: BotInfo | None
    status: BotStatus | None
    kill_switch: bool
    kill_reason: str
    now_ns: int

    @property
    def running(self) -> bool:
        """A bot holds a lease that has not lapsed."""
        return self.holder is not None and self.holder.expires_ns > self.now_ns

    def stopped_line(self) -> str:
        """Why there is no bot, in words (for the one-line refusals)."""
        if self.holder is not None:
            since = _when(self.holder.expires_ns)
            return f"no bot is running on store {self.path} (lease lapsed since {since})"
        if self.info is not None and self.info.stopped_ns:
            return (f"no bot is running on store {self.path} (lease free since "
                    f"{_when(self.info.stopped_ns)})")
        return f"no bot is running on store {self.path} (lease free)"


def _when(ns: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ns / _NS))


def store_path(args: argparse.Namespace) -> Path:
    """The store the command works on; it must exist and be a bitunix store."""
    path = Path(default_store(args.store))
    check_store(path)
    return path


def open_view(args: argparse.Namespace) -> BotView:
    """Read the store's bot (never changes the store)."""
    import msgspec

    from bitunix.risk.gate import RiskState
    from bitunix.store import Lease

    path = store_path(args)
    lease = Lease(path, "bitunix-bot-operator", ttl_s=1.0, now_ns=time.time_ns)
    try:
        holder = lease.holder()
    finally:
        lease.close()
    with SqliteStore(path) as store:
        info_text, status_text = store.state("bot.info"), store.state("bot.status")
        risk_text = store.state("risk_state")
    risk = RiskState()
    if risk_text:
        try:
            risk = msgspec.json.decode(risk_text, type=RiskState)
        except (msgspec.DecodeError, msgspec.ValidationError):
            raise BitunixError(f"store {path}: the saved risk state is unreadable") from None
    return BotView(path=path, holder=holder,
                   info=decode_info(info_text) if info_text else None,
                   status=decode_status(status_text) if status_text else None,
                   kill_switch=risk.kill_switch, kill_reason=risk.kill_reason,
                   now_ns=time.time_ns())


class NotTakenError(BitunixError):
    """The bot did not take the request in time; it was withdrawn (nothing changed)."""


def ask(view: BotView, action: str, args: dict[str, str], timeout_s: float) -> ControlAnswer:
    """Send a request to the running bot and wait for its answer; raise with one line
    when no bot runs or none answers in time (the request is then withdrawn)."""
    if not view.running:
        raise BitunixError(f"{view.stopped_line()}: nothing changed")
    request = new_request(action, {**args, "timeout_s": f"{max(0.5, timeout_s - 0.5):g}"})
    with StoreChannel(view.path) as channel:
        channel.send(request)
        answer = channel.wait_answer(request.id, timeout_s)
        if answer is not None:
            return answer
        if channel.withdraw(request.id):
            raise NotTakenError(f"the bot on store {view.path} did not take the request within "
                               f"{timeout_s:g} s: withdrawn, nothing changed")
        # Taken but not answered yet: give it a last moment, then say what is known.
        answer = channel.wait_answer(request.id, 1.0)
        if answer is not None:
            return answer
    raise BitunixError(f"the bot on store {view.path} took the request but did not answer "
                       f"within {timeout_s:g} s; check with bitunix-bot status / orders")


def finish(answer: ControlAnswer, as_json: bool = False) -> int:
    """Print the bot's answer; 0 when it succeeded, 1 when not."""
    if as_json:
        emit_json({"ok": answer.ok, "message": answer.message, "detail": answer.detail})
    elif answer.ok:
        print(answer.message)
    else:
        print(f"refused: {answer.message}" if not answer.message.startswith("refused")
              else answer.message, file=sys.stderr)
    return 0 if answer.ok else 1


def emit_json(document: dict[str, Any]) -> None:
    """One JSON document on stdout, keys in a stable order."""
    print(json.dumps(document, indent=2, sort_keys=True))


# -- the venue ------------------------------------------------------------------------------

@dataclass(frozen=True)
class VenueTarget:
    """Where to read the venue and with which keys."""

    rest_url: str
    credentials: Any  # bitunix.exchange.Credentials | None


def venue_target(args: argparse.Namespace, view: BotView) -> VenueTarget | None:
    """The flags, else the config's venue, else what the bot recorded; the keys from the
    environment or the config's secrets file (a paper bot's simulator: its own pair).
    None when no venue is known."""
    from bitunix.app.bot import SIM_API_KEY, SIM_API_SECRET
    from bitunix.config import environment, load_config, load_secrets
    from bitunix.exchange.signing import Credentials

    environ = environment()
    rest_url = args.rest_url or ""
    secrets_file = ""
    if args.config:
        config = load_config(Path(args.config), environ)
        secrets_file = config.venue.secrets_file
        if not rest_url and config.venue.kind != "sim":
            rest_url = config.venue.rest_url
    info = view.info
    paper = False
    if not rest_url and info is not None:
        if info.venue == "sim" and not view.running:
            raise BitunixError("the paper bot's built-in simulator stopped with the bot: no "
                               "venue to read (give --rest-url for another)")
        rest_url = info.rest_url
        paper = info.venue == "sim"
    if not rest_url:
        return None
    secrets = load_secrets(environ, secrets_file)
    if secrets is not None:
        creds = Credentials(secrets.api_key, secrets.api_secret)
    elif paper:
        creds = Credentials(SIM_API_KEY, SIM_API_SECRET)
    else:
        raise ConfigError("the venue needs BITUNIX_API_KEY and BITUNIX_API_SECRET (or "
                          "venue.secrets_file in --config)")
    return VenueTarget(rest_url=rest_url, credentials=creds)


def venue_call(target: VenueTarget, call: Callable[[Any], Awaitable[_T]]) -> _T:
    """Run ``call(rest)`` against the venue; raise one line when it cannot be read."""
    import asyncio

    from bitunix.exchange import BitunixREST, RestConfig

    async def main() -> _T:
        config = RestConfig(base_url=target.rest_url, timeout_s=VENUE_TIMEOUT_S,
                            connect_timeout_s=2.0, max_retries=0)
        async with BitunixREST(target.credentials, config) as rest:
            return await call(rest)

    try:
        return asyncio.run(main())
    except BitunixError as exc:
        raise BitunixError(f"venue {target.rest_url}: {exc}") from None
    except OSError as exc:  # aiohttp's connection errors derive from it
        raise BitunixError(f"venue {target.rest_url} unreachable: {exc}") from None


def require_target(args: argparse.Namespace, view: BotView) -> VenueTarget:
    """:func:`venue_target`, or one line saying no venue is known."""
    target = venue_target(args, view)
    if target is None:
        raise BitunixError(f"no venue known: store {view.path} has no bot record; give "
                           "--rest-url (or --config)")
    return target


def report_venue_error(venue: dict[str, Any]) -> int:
    """After the output: the venue's error on stderr (one line) and the exit code."""
    if venue.get("error"):
        print(f"venue: {venue['error']}", file=sys.stderr)
        return 1
    return 0


def audit_direct(path: Path, action: str, ok: bool, result: str,
                 detail: dict[str, str]) -> None:
    """Audit an action taken on the venue directly (no bot running) in the store."""
    from bitunix.model.records import AuditEntry

    with SqliteStore(path) as store:
        store.record_audit(AuditEntry(
            ts_ns=time.time_ns(), action="operator", strategy="operator", reason=action,
            detail={**detail, "direct": "true", "ok": "true" if ok else "false",
                    "result": result}))


def direct_cancel_all(args: argparse.Namespace, view: BotView, symbol: str | None) -> int:
    """No bot runs: cancel the venue's open orders (of ``symbol``) over REST, audited."""
    target = require_target(args, view)

    async def cancel(rest: Any) -> tuple[int, int]:
        result = await rest.cancel_all_orders(symbol)
        left = await rest.all_pending_orders(symbol)
        return len(result.success_list), len(left)

    cancelled, left = venue_call(target, cancel)
    ok = left == 0
    result = (f"{view.stopped_line()}: cancelled {cancelled} open orders"
              + (f" of {symbol}" if symbol else "") + f" at the venue {target.rest_url}"
              + ("" if ok else f"; {left} still open"))
    audit_direct(view.path, "cancel_all", ok, result,
                 {"symbol": symbol or "", "cancelled": str(cancelled), "open": str(left)})
    print(result, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


def direct_flatten(args: argparse.Namespace, view: BotView, timeout_s: float) -> int:
    """No bot runs: cancel every open order and close every position at the venue over
    REST, then wait until the venue shows none (at most ``timeout_s``), audited."""
    import asyncio

    target = require_target(args, view)

    async def flatten(rest: Any) -> tuple[int, list[str]]:
        cancelled = await rest.cancel_all_orders()
        if await rest.pending_positions():
            await rest.close_all_positions()
        deadline = time.monotonic() + timeout_s
        while True:
            held = await rest.pending_positions()
            if not held or time.monotonic() > deadline:
                return len(cancelled.success_list), [f"{p.symbol} {p.side} {p.qty}"
                                                     for p in held]
            await asyncio.sleep(0.1)

    cancelled, held = venue_call(target, flatten)
    ok = not held
    result = (f"{view.stopped_line()}: flattened the venue {target.rest_url} directly: "
              f"{cancelled} orders cancelled, "
              + ("no position left" if ok else f"still held: {', '.join(held)}"))
    audit_direct(view.path, "flatten", ok, result,
                 {"cancelled": str(cancelled), "remaining": ", ".join(held)})
    print(result, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


def read_venue(args: argparse.Namespace, view: BotView,
               call: Callable[[Any], Awaitable[_T]]) -> tuple[dict[str, Any], _T | None]:
    """``call(rest)`` against the command's venue: the ``venue`` part of the output
    (``rest_url``, ``error``) and the result (None when the venue could not be read)."""
    venue: dict[str, Any] = {"rest_url": "", "error": ""}
    try:
        target = require_target(args, view)
        venue["rest_url"] = target.rest_url
        return venue, venue_call(target, call)
    except BitunixError as exc:
        venue["error"] = str(exc)
        return venue, None
