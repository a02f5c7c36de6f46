"""What travels between an operator command and the running bot, through the store.

Plain msgspec Structs encoded as JSON in the store's ``state`` table. Money and quantities
are exact decimal strings; times are wall-clock nanoseconds (both processes read the same
clock). An unreadable record is an error, never silently skipped.
"""

from __future__ import annotations

import os
import secrets
import time
from typing import TypeVar

import msgspec

from bitunix.core.errors import BitunixError

__all__ = [
    "ACTIONS",
    "BotInfo",
    "BotStatus",
    "ControlAnswer",
    "ControlRequest",
    "decode_answer",
    "decode_info",
    "decode_request",
    "decode_status",
    "encode",
    "new_request",
]

#: What a request may ask the bot to do.
ACTIONS = frozenset({"pause", "resume", "kill", "release", "order_place", "order_cancel",
                     "cancel_all", "flatten"})

_T = TypeVar("_T")


class ControlRequest(msgspec.Struct, frozen=True, kw_only=True):
    """One operator request: ``action`` (one of :data:`ACTIONS`) with its ``args`` (strings
    as typed, validated by the bot), ``who`` asked, when (``ts_ns``), and the ``id`` its
    answer carries."""

    id: str
    action: str
    ts_ns: int
    args: dict[str, str] = msgspec.field(default_factory=dict)
    who: str = "operator"


class ControlAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """The bot's answer to request ``id``: ``ok``, one line saying what happened
    (``message``) and the values behind it (``detail``)."""

    id: str
    ok: bool
    message: str
    ts_ns: int
    detail: dict[str, str] = msgspec.field(default_factory=dict)


class BotInfo(msgspec.Struct, frozen=True, kw_only=True):
    """Where the bot that holds (or last held) the store runs, written when it becomes
    active; ``stopped_ns`` is set at a clean stop (0 while running or after a crash)."""

    owner: str
    pid: int
    mode: str
    venue: str
    rest_url: str
    ws_public_url: str
    ws_private_url: str
    symbols: list[str]
    started_ns: int
    lease_ttl_s: float
    stopped_ns: int = 0


class BotStatus(msgspec.Struct, frozen=True, kw_only=True):
    """How the active bot is doing, rewritten every second (``heartbeat_ns``)."""

    heartbeat_ns: int
    paused: bool
    paused_reason: str = ""
    kill_switch: bool
    kill_reason: str = ""
    breakers: list[str] = msgspec.field(default_factory=list)
    day_pnl: str = ""
    equity: str = ""
    positions: int = 0
    open_orders: int = 0
    ready: bool = False


def new_request(action: str, args: dict[str, str] | None = None, *,
                who: str = "operator") -> ControlRequest:
    """A request with a fresh id (time, pid and randomness: unique across processes)."""
    if action not in ACTIONS:
        raise BitunixError(f"unknown control action {action!r}")
    now = time.time_ns()
    return ControlRequest(id=f"{now:020d}-{os.getpid()}-{secrets.token_hex(4)}",
                          action=action, ts_ns=now, args=dict(args or {}), who=who)


def encode(value: msgspec.Struct) -> str:
    """Any of this module's records as stored."""
    return msgspec.json.encode(value).decode()


def _decode(text: str, type_: type[_T], what: str) -> _T:
    try:
        return msgspec.json.decode(text, type=type_)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise BitunixError(f"unreadable {what} in the store ({exc}): {text[:80]!r}") from None


def decode_request(text: str) -> ControlRequest:
    """A stored request (an unknown action is an error too)."""
    request = _decode(text, ControlRequest, "control request")
    if request.action not in ACTIONS:
        raise BitunixError(f"unknown control action {request.action!r} in the store")
    return request


def decode_answer(text: str) -> ControlAnswer:
    """A stored answer."""
    return _decode(text, ControlAnswer, "control answer")


def decode_info(text: str) -> BotInfo:
    """A stored :class:`BotInfo`."""
    return _decode(text, BotInfo, "bot record")


def decode_status(text: str) -> BotStatus:
    """A stored :class:`BotStatus`."""
    return _decode(text, BotStatus, "bot status")
