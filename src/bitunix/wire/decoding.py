"""One-call decoding of WebSocket frames and REST bodies, with a lenient fallback.

The fast path is a single reused ``msgspec.json.Decoder`` over a tagged union (``ch`` for
pushes, ``op`` for control frames). Only when that fails does the slow path run: it
re-reads the frame as plain JSON, applies the live API's known deviations (``""`` for an
absent value, ``["",""]`` depth levels for an unknown symbol) and converts again. A frame
that still does not fit raises :class:`WireError` naming its channel, so the caller can
count it and log once per kind.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Generic, TypeVar, Union

import msgspec

from bitunix.core.errors import BitunixError
from bitunix.wire.control import CONTROL_TYPES
from bitunix.wire.private import PRIVATE_PUSH_TYPES
from bitunix.wire.public import PUBLIC_PUSH_TYPES, DepthPush
from bitunix.wire.rest import Envelope, ErrorEnvelope

__all__ = [
    "ControlFrame",
    "Push",
    "ResponseDecoder",
    "WireError",
    "decode",
    "decode_public",
]

T = TypeVar("T")
Frame = bytes | bytearray | memoryview | str

# Unions built from the tuples so adding a channel is a one-line change.
Push = Union[PUBLIC_PUSH_TYPES + PRIVATE_PUSH_TYPES]  # type: ignore[valid-type]  # noqa: UP007
PublicPush = Union[PUBLIC_PUSH_TYPES]  # type: ignore[valid-type]  # noqa: UP007
ControlFrame = Union[CONTROL_TYPES]  # type: ignore[valid-type]  # noqa: UP007

_DEPTH_CHANNELS = frozenset(
    t.channel for t in PUBLIC_PUSH_TYPES if issubclass(t, DepthPush)
)


class WireError(BitunixError, ValueError):
    """A frame or body that does not match any known shape.

    ``kind`` is the frame's ``ch`` or ``op`` (or ``"?"`` when unreadable), ``symbol`` its
    symbol when present, ``reason`` the decoder's message.
    """

    def __init__(self, kind: str, reason: str, symbol: str | None = None) -> None:
        where = f"{kind} {symbol}" if symbol else kind
        super().__init__(f"malformed {where} frame: {reason}")
        self.kind = kind
        self.symbol = symbol
        self.reason = reason


_PUSH_DECODER: msgspec.json.Decoder[Any] = msgspec.json.Decoder(Push, strict=False)
_PUBLIC_DECODER: msgspec.json.Decoder[Any] = msgspec.json.Decoder(PublicPush, strict=False)
_CONTROL_DECODER: msgspec.json.Decoder[Any] = msgspec.json.Decoder(ControlFrame, strict=False)
# The slow path re-reads a frame as plain JSON before converting it to the target type.
# JSON numbers with a fraction must not pass through ``float`` on the way (a money field
# such as ``"qty": 12345678.123456789`` would be rounded), so they are read as ``Decimal``.
_ANY_DECODER: msgspec.json.Decoder[Any] = msgspec.json.Decoder(float_hook=Decimal)
_TOO_DEEP = "nested too deeply"


def _blank_to_none(obj: Any) -> Any:
    """The live API sends ``""`` for absent values (spec 1.3): make them ``None``.

    Integral ``Decimal``s of int64 size (``20.0``) become ``int`` so they still fit ``int``
    fields; the others stay ``Decimal`` (exact for money fields, converted for ``float``
    ones). The size check keeps a hostile ``1e99999999`` from building a huge int.
    """
    if isinstance(obj, dict):
        return {k: _blank_to_none(v) for k, v in obj.items() if v != ""}
    if isinstance(obj, list):
        return [_blank_to_none(v) for v in obj]
    if isinstance(obj, Decimal) and obj.adjusted() < 20 and obj == obj.to_integral_value():
        return int(obj)
    return obj


def _drop_blank_levels(data: Any) -> Any:
    """Unknown symbols get one depth frame of ``["",""]`` levels (spec 5.2): drop them."""
    if not isinstance(data, dict):
        return data
    out = dict(data)
    for side in ("a", "b"):
        levels = data.get(side)
        if isinstance(levels, list):
            out[side] = [
                lv for lv in levels
                if not (isinstance(lv, list) and any(x == "" or x is None for x in lv))
            ]
    return out


def _slow_decode(data: Frame, fast_error: str) -> Any:
    try:
        return _slow_decode_inner(data, fast_error)
    except RecursionError:
        raise WireError("?", _TOO_DEEP) from None


def _slow_decode_inner(data: Frame, fast_error: str) -> Any:
    try:
        obj = _ANY_DECODER.decode(data)
    except msgspec.DecodeError as exc:
        raise WireError("?", f"not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise WireError("?", f"expected a JSON object, got {type(obj).__name__}")
    ch, op, symbol = obj.get("ch"), obj.get("op"), obj.get("symbol")
    if isinstance(ch, str) and ch:
        kind = ch
    elif isinstance(op, str) and op:
        kind = op
    else:
        kind = "?"
    sym = symbol if isinstance(symbol, str) else None
    if ch is not None:
        if kind in _DEPTH_CHANNELS and "data" in obj:
            obj["data"] = _drop_blank_levels(obj["data"])
        target: Any = Push
    elif op is not None:
        target = ControlFrame
    else:
        raise WireError(kind, "neither 'ch' nor 'op' present")
    try:
        return msgspec.convert(_blank_to_none(obj), target, strict=False)
    except msgspec.ValidationError as exc:
        raise WireError(kind, str(exc) or fast_error, sym) from None


def _fast_then_slow(decoder: msgspec.json.Decoder[Any], name: str,
                    doc: str) -> Callable[[Frame], Any]:
    # One Python frame between the caller and msgspec on the hot path.
    def run(data: Frame) -> Any:
        try:
            return decoder.decode(data)
        except msgspec.ValidationError as exc:
            return _slow_decode(data, str(exc))
        except msgspec.DecodeError as exc:
            raise WireError("?", f"not JSON: {exc}") from None
        except RecursionError:
            # msgspec raises this (not a DecodeError) for deeply nested input; it must
            # not escape into the frame callback.
            raise WireError("?", _TOO_DEEP) from None

    run.__name__ = run.__qualname__ = name
    run.__doc__ = doc
    return run


decode = _fast_then_slow(_PUSH_DECODER, "decode", """Decode any WebSocket frame to its message.

    Returns a push (``TradePush``, ``DepthBook15``, ``OrderPush``, ...) chosen by its
    ``ch``, or a control frame (``ConnectFrame``, ``PingFrame``, ``LoginFrame``, ...) chosen
    by its ``op``. Unknown fields are ignored. Raises :class:`WireError` for a frame that
    matches no known shape, e.g. an unknown channel.

    >>> decode(b'{"op":"ping","pong":1,"ping":2}')
    PingFrame(ping=2, pong=1)
    """)

decode_public = _fast_then_slow(_PUBLIC_DECODER, "decode_public", """Like :func:`decode`, but
    the fast path knows only public pushes (a smaller union); anything else still decodes
    through the slow path.""")


def decode_control(data: bytes | bytearray | memoryview | str) -> Any:
    """Decode a control frame only (``op``); raises :class:`WireError` otherwise."""
    try:
        return _CONTROL_DECODER.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise WireError("op", str(exc)) from None
    except RecursionError:
        raise WireError("op", _TOO_DEEP) from None


class ResponseDecoder(Generic[T]):
    """Decoder of one REST endpoint's envelope ``{code, msg, data: T}``; build once, reuse.

    :meth:`decode` returns the :class:`~bitunix.wire.rest.Envelope`. A body whose ``data``
    does not fit ``T`` but whose ``code`` is non-zero still returns an envelope (with
    ``data=None``) so the caller maps the error code; anything else raises
    :class:`WireError`.
    """

    def __init__(self, data_type: Any, name: str = "") -> None:
        self.data_type = data_type
        self.name = name or getattr(data_type, "__name__", str(data_type))
        self._type: Any = Envelope[data_type]
        self._decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(self._type, strict=False)

    def decode(self, data: bytes | bytearray | memoryview | str) -> Envelope[T]:
        """Decode one response body."""
        try:
            return self._decode(data)
        except RecursionError:
            raise WireError(self.name, _TOO_DEEP) from None

    def _decode(self, data: bytes | bytearray | memoryview | str) -> Envelope[T]:
        try:
            env: Envelope[T] = self._decoder.decode(data)
            return env
        except msgspec.ValidationError as exc:
            first = str(exc)
        except msgspec.DecodeError as exc:
            raise WireError(self.name, f"not JSON: {exc}") from None
        try:
            head = msgspec.json.decode(data, type=ErrorEnvelope, strict=False)
        except (msgspec.ValidationError, msgspec.DecodeError):
            raise WireError(self.name, first) from None
        if head.code != 0:
            return Envelope(code=head.code, data=None, msg=head.msg or head.message)
        obj = _ANY_DECODER.decode(data)
        try:
            env = msgspec.convert(_blank_to_none(obj), self._type, strict=False)
        except msgspec.ValidationError as exc:
            raise WireError(self.name, str(exc)) from None
        return env
