"""An operator's kill-switch request, as it travels from ``bitunix-bot kill`` to a bot
through the store (plain data; the gate applies it with ``engage_kill_switch``)."""

from __future__ import annotations

import msgspec

from bitunix.core.errors import BitunixError

__all__ = ["KillRequest", "decode_kill_request", "encode_kill_request"]


class KillRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Engage (or release) the kill switch; ``flatten`` also closes every position.
    ``ts_ns`` identifies the request: a bot applies each one once."""

    engage: bool
    flatten: bool = False
    reason: str = "operator"
    ts_ns: int


def encode_kill_request(request: KillRequest) -> str:
    """The request as stored."""
    return msgspec.json.encode(request).decode()


def decode_kill_request(text: str) -> KillRequest:
    """The stored request; an unreadable one is an error (never silently ignored)."""
    try:
        return msgspec.json.decode(text, type=KillRequest)
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise BitunixError(f"unreadable kill-switch request in the store: {text[:80]!r}"
                           ) from None
