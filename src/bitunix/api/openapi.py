"""The OpenAPI 3.1 document of the control API, generated from the route table
(:data:`bitunix.api.service.ROUTES`) and the msgspec types of :mod:`bitunix.api.schemas`,
so that the document cannot drift from the handlers: the application is built from the
same table, and a test checks both ways (``tests/api/test_openapi.py``).
"""

from __future__ import annotations

from typing import Any

import msgspec

from bitunix.api.errors import ErrorBody
from bitunix.api.service import PREFIX, ROUTES, Route

__all__ = ["openapi_document"]

_REF = "#/components/schemas/{name}"
_ERRORS = {400: "Malformed request (not JSON, too large, body missing)",
           401: "No valid bearer token", 403: "Address not allowed, or scope too low",
           404: "No such thing", 409: "Refused in the bot's state (risk, dry-run, kill switch)",
           422: "A field has the wrong type, pattern or range, or is unknown",
           503: "The bot is starting, stopping, or a standby"}
_QUERY = {"symbol": {"type": "string", "pattern": "^[A-Z0-9]{2,30}$"}}


def openapi_document() -> dict[str, Any]:
    """The document served at ``/openapi.json``."""
    types = sorted({t for r in ROUTES for t in (r.response, r.body) if t is not None}
                   | {ErrorBody}, key=lambda t: t.__name__)
    _, components = msgspec.json.schema_components(types, ref_template=_REF)
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        path = PREFIX + route.path
        paths.setdefault(path, {})[route.method.lower()] = _operation(route)
    paths["/openapi.json"] = {"get": {
        "operationId": "openapi", "summary": "This document (no token needed)",
        "security": [],
        "responses": {"200": {"description": "The OpenAPI document",
                              "content": {"application/json": {"schema": {"type": "object"}}}},
                      "403": _error(403)}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "bitunix-bot control API", "version": "1",
                 "description": "Read and steer a running bitunix-bot (docs/api.md). Scopes: "
                                "read < trade < admin."},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


def _operation(route: Route) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": route.handler, "summary": route.summary,
        "description": f"Needs the `{route.scope}` scope.",
        "x-scope": route.scope,
        "responses": {"200": {"description": "Done", "content": {"application/json": {
            "schema": {"$ref": _REF.format(name=route.response.__name__)}}}}},
    }
    for status in sorted({401, 403, 503, *route.errors}):
        op["responses"][str(status)] = _error(status)
    if route.body is not None:
        op["requestBody"] = {"required": route.body_required, "content": {
            "application/json": {"schema": {"$ref": _REF.format(name=route.body.__name__)}}}}
    params = [{"name": q, "in": "query", "required": False, "schema": _QUERY[q]}
              for q in route.query]
    params += [{"name": name, "in": "path", "required": True,
                "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}}
               for name in _path_names(route.path)]
    if params:
        op["parameters"] = params
    return op


def _error(status: int) -> dict[str, Any]:
    return {"description": _ERRORS[status], "content": {"application/json": {
        "schema": {"$ref": _REF.format(name="ErrorBody")}}}}


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]
