"""The simulator's HTTP edge: every answer, even to a request aiohttp cannot parse, is the
venue's ``{"code", "msg", "data": null}`` envelope (spec 1.2).

aiohttp answers what never reaches an application (a malformed request line or header, a
broken chunked body) with a plain-text page and logs a traceback. The simulator is a test
server that other people's clients point at, so it runs aiohttp's low-level
:class:`aiohttp.web.Server` with a connection handler whose errors are envelopes too: HTTP
400 with code 10002 for a request that is not HTTP, HTTP 500 with code 500 (the shape of
the ``reject_code=500`` fault) for a simulator bug, which alone is logged with its
traceback. The low-level server also keeps no module-level cache of handlers (an aiohttp
``Application`` with middlewares does, which kept every stopped simulator alive).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import web

from bitunix.sim.errors import MESSAGES, PARAMETER_ERROR, SimError

LOG = logging.getLogger("bitunix.sim.http")

#: The largest request body read (bytes). A batch of five orders is about 1.5 KB.
MAX_BODY_BYTES = 64 * 1024
INTERNAL_ERROR = 500

__all__ = [
    "INTERNAL_ERROR",
    "MAX_BODY_BYTES",
    "VenueHttpServer",
    "envelope_error",
    "envelope_json",
    "read_body",
]


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def envelope_json(payload: dict[str, Any], *, status: int = 200) -> web.Response:
    """A JSON answer with the venue's compact encoding."""
    return web.json_response(payload, status=status, dumps=_dumps)


def envelope_error(exc: SimError, *, status: int = 200) -> web.Response:
    """A refusal: the code, its message, ``data: null`` (HTTP 200 unless told otherwise)."""
    return envelope_json({"code": exc.code, "msg": exc.msg, "data": None}, status=status)


async def read_body(request: web.BaseRequest, limit: int = MAX_BODY_BYTES) -> bytes:
    """The exact body bytes, at most ``limit`` of them; 10002 past that or if the body
    cannot be read (a broken chunked encoding, a length the client did not send)."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise SimError(PARAMETER_ERROR, f"body of {declared} bytes > {limit}")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.content.iter_any():
            size += len(chunk)
            if size > limit:
                raise SimError(PARAMETER_ERROR, f"body > {limit} bytes")
            chunks.append(chunk)
    except web.RequestPayloadError as exc:
        raise SimError(PARAMETER_ERROR, f"unreadable body ({exc})") from None
    return b"".join(chunks)


class _VenueRequestHandler(web.RequestHandler):
    """aiohttp's connection handler with errors answered as envelopes (module docstring)."""

    def handle_error(self, request: web.BaseRequest, status: int = 500,
                     exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        """The envelope for an error aiohttp met outside the simulator's handler."""
        if status >= 500 and not isinstance(exc, ConnectionError):
            LOG.error("simulator error on %s %s", request.method, request.path, exc_info=exc)
            code, msg = INTERNAL_ERROR, "Internal Server Error"
        else:
            # Not HTTP, or the peer went away: the client's problem, one line is enough.
            LOG.debug("bad request from %s: %s", request.remote, message or exc)
            status, code = 400, PARAMETER_ERROR
            msg = f"{MESSAGES[PARAMETER_ERROR]}: {message or 'malformed request'}"
        if request.writer.output_size > 0:
            raise ConnectionError("an answer was already sent on this connection")
        resp = envelope_json({"code": code, "msg": msg, "data": None}, status=status)
        resp.force_close()
        return resp


class VenueHttpServer(web.Server):
    """aiohttp's low-level server whose connections answer errors as envelopes."""

    def __init__(self, handler: Any, **handler_kwargs: Any) -> None:
        super().__init__(handler)
        self._handler_kwargs: dict[str, Any] = {
            "access_log": None, "auto_decompress": False, **handler_kwargs}

    def __call__(self) -> web.RequestHandler:
        # Called by the event loop for each accepted connection.
        return _VenueRequestHandler(self, loop=asyncio.get_running_loop(),
                                    **self._handler_kwargs)
