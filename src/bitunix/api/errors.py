"""The control API's error answers: ``{"error": {"code": ..., "message": ...}}``."""

from __future__ import annotations

import msgspec
from aiohttp import web

from bitunix.core.errors import BitunixError

__all__ = ["ApiError", "ErrorBody", "ErrorDetail", "error_response"]


class ErrorDetail(msgspec.Struct, frozen=True, kw_only=True):
    """What went wrong: a stable ``code`` (``unauthorized``, ``invalid``...) and one line
    for a person (``message``)."""

    code: str
    message: str


class ErrorBody(msgspec.Struct, frozen=True, kw_only=True):
    """Every refusal's body."""

    error: ErrorDetail


class ApiError(BitunixError):
    """A refusal with its HTTP status and code (raised by a handler, answered by the API)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(status: int, code: str, message: str, *,
                   headers: dict[str, str] | None = None) -> web.Response:
    """The JSON answer of a refusal."""
    body = msgspec.json.encode(ErrorBody(error=ErrorDetail(code=code, message=message)))
    return web.Response(body=body, status=status, content_type="application/json",
                        headers={"Cache-Control": "no-store", **(headers or {})})
