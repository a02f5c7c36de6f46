"""The OpenAPI document and the routed application agree: every route is documented with
its method, every documented operation is routed, and the documented schemas are the
ones the handlers decode and encode."""

from __future__ import annotations

import msgspec
from aiohttp import web

from bitunix.api import PREFIX, ROUTES, ControlApi, openapi_document
from bitunix.api.errors import ErrorBody
from bitunix.config.api import ApiSection

_REF = "#/components/schemas/{name}"


def _routed() -> set[tuple[str, str]]:
    app = web.Application()
    ControlApi(ApiSection()).add_routes(app)
    out = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter")
        if route.method != "HEAD":
            out.add((route.method, str(path)))
    return out


def _documented(doc: dict[str, object]) -> set[tuple[str, str]]:
    paths = doc["paths"]
    assert isinstance(paths, dict)
    return {(method.upper(), path) for path, item in paths.items() for method in item}


def test_every_route_is_documented_and_every_documented_operation_is_routed() -> None:
    doc = openapi_document()
    routed = _routed()
    assert routed == _documented(doc)
    assert ("GET", "/openapi.json") in routed
    assert ("DELETE", PREFIX + "/orders/{client_id}") in routed
    assert all(path.startswith((PREFIX + "/", "/openapi.json")) for _, path in routed)


def test_the_documented_schemas_are_the_handlers_types() -> None:
    doc = openapi_document()
    components = doc["components"]["schemas"]
    _, expected = msgspec.json.schema_components(
        [t for r in ROUTES for t in (r.response, r.body) if t is not None] + [ErrorBody],
        ref_template=_REF)
    assert components == expected
    for route in ROUTES:
        op = doc["paths"][PREFIX + route.path][route.method.lower()]
        ok = op["responses"]["200"]["content"]["application/json"]["schema"]
        assert ok == {"$ref": _REF.format(name=route.response.__name__)}
        if route.body is None:
            assert "requestBody" not in op
        else:
            body = op["requestBody"]["content"]["application/json"]["schema"]
            assert body == {"$ref": _REF.format(name=route.body.__name__)}
            assert op["requestBody"]["required"] is route.body_required
        errors = {int(k) for k in op["responses"] if k != "200"}
        assert errors == {401, 403, 503, *route.errors}
        assert op["x-scope"] == route.scope
        assert [p["name"] for p in op.get("parameters", []) if p["in"] == "query"] == list(
            route.query)


def test_the_document_is_openapi_3_with_bearer_security() -> None:
    doc = openapi_document()
    assert doc["openapi"].startswith("3.")
    assert doc["components"]["securitySchemes"]["bearer"] == {"type": "http",
                                                              "scheme": "bearer"}
    assert doc["security"] == [{"bearer": []}]
    assert doc["paths"]["/openapi.json"]["get"]["security"] == []
