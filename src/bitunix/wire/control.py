"""WebSocket control frames (spec 5.2, 5.3): server answers and the client's requests.

Server control frames carry ``op`` and no ``ch``. The client's frames are encoded here
too, so the exact bytes on the wire are defined in one place.
"""

from __future__ import annotations

import msgspec

__all__ = [
    "CONTROL_TYPES",
    "ChannelArg",
    "ConnectFrame",
    "LoginArg",
    "LoginFrame",
    "PingFrame",
    "Result",
    "SubscribeFrame",
    "UnsubscribeFrame",
    "encode_login",
    "encode_ping",
    "encode_subscribe",
    "encode_unsubscribe",
]


class Result(msgspec.Struct, frozen=True, gc=False):
    """``{"result":true}``, or a refusal such as ``{"msg":"...","result":false}``."""

    result: bool = False
    msg: str = ""
    nonce: str = ""


class _Control(msgspec.Struct, frozen=True, gc=False, tag_field="op"):
    pass


class ConnectFrame(_Control, frozen=True, tag="connect"):
    """First frame of every connection: ``{"op":"connect","data":{"result":true}}``."""

    data: Result | None = None


class PingFrame(_Control, frozen=True, tag="ping"):
    """Server's answer to our ping: ``pong`` echoes our value, ``ping`` is the server's."""

    ping: int | None = None
    pong: int | None = None


class LoginFrame(_Control, frozen=True, tag="login"):
    """Login answer; anything but ``data.result == true`` is a failure (spec 5.3)."""

    data: Result | str | None = None
    code: int | None = None
    msg: str | None = None

    @property
    def ok(self) -> bool:
        """True only for an explicit success."""
        if isinstance(self.data, Result):
            return self.data.result
        return self.data is None and self.code == 0


class SubscribeFrame(_Control, frozen=True, tag="subscribe"):
    """A subscribe answer; the venue sends one only to refuse (``result: false``)."""

    data: Result | str | None = None
    ts: int | None = None


class UnsubscribeFrame(_Control, frozen=True, tag="unsubscribe"):
    """``{"op":"unsubscribe","ts":...,"data":"success"}``."""

    data: Result | str | None = None
    ts: int | None = None


CONTROL_TYPES: tuple[type[_Control], ...] = (
    ConnectFrame,
    PingFrame,
    LoginFrame,
    SubscribeFrame,
    UnsubscribeFrame,
)


class ChannelArg(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """One subscription: ``{"symbol":"BTCUSDT","ch":"trade"}``; private ones have no symbol."""

    ch: str
    symbol: str | None = None


class LoginArg(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    """Login credentials; ``timestamp`` is Unix **seconds** (spec 5.3)."""

    api_key: str
    timestamp: int
    nonce: str
    sign: str


class _PingRequest(msgspec.Struct, frozen=True, gc=False):
    op: str
    ping: int


class _ArgsRequest(msgspec.Struct, frozen=True, gc=False):
    op: str
    args: list[ChannelArg]


class _LoginRequest(msgspec.Struct, frozen=True, gc=False):
    op: str
    args: list[LoginArg]


_ENCODER = msgspec.json.Encoder()


def encode_ping(ts_s: int) -> bytes:
    """``{"op":"ping","ping":<unix seconds>}``."""
    return _ENCODER.encode(_PingRequest("ping", ts_s))


def encode_subscribe(args: list[ChannelArg]) -> bytes:
    """One subscribe frame for ``args`` (batch them: at most 5 frames per second)."""
    return _ENCODER.encode(_ArgsRequest("subscribe", args))


def encode_unsubscribe(args: list[ChannelArg]) -> bytes:
    """One unsubscribe frame for ``args``."""
    return _ENCODER.encode(_ArgsRequest("unsubscribe", args))


def encode_login(arg: LoginArg) -> bytes:
    """``{"op":"login","args":[{...}]}``."""
    return _ENCODER.encode(_LoginRequest("login", [arg]))
