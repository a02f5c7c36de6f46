"""Property-based test of the control API with schemathesis against a running paper bot:
every operation of the OpenAPI document, with schema-valid and schema-invalid inputs, an
admin token. No answer is a 5xx; every answer conforms to the document (status code,
content type, body schema); every invalid input is refused with a 4xx; every refusal
carries the JSON error body. Derandomized, so CI sees the same cases each run."""

from __future__ import annotations

import time

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from bitunix.api import openapi_document
from tests.api.conftest import ThreadedBot, auth

#: Examples per operation and generation mode (16 operations x 2 modes).
EXAMPLES = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, negative_data_rejection, ignored_auth]


def _operations() -> list[str]:
    doc = openapi_document()
    return [f"{method.upper()} {path}" for path, item in doc["paths"].items()
            for method in item]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_with_valid_and_invalid_inputs(api_bot: ThreadedBot,
                                                       mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_dict(openapi_document())
    session = requests.Session()
    seen: dict[str, set[int]] = {}
    unsatisfiable: list[str] = []
    started = time.monotonic()
    operations = [r.ok() for r in schema.get_all_operations()]
    assert {f"{op.method.upper()} {op.path}" for op in operations} == set(_operations())
    for operation in operations:
        label = f"{operation.method.upper()} {operation.path}"
        seen[label] = set()

        @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: schemathesis.Case) -> None:
            response = case.call(base_url=api_bot.url, session=session,
                                 headers=auth("admin"), timeout=15)
            case.validate_response(response, checks=CHECKS)
            op = case.operation
            seen[f"{op.method.upper()} {op.path}"].add(response.status_code)
            if response.status_code >= 400:
                assert 400 <= response.status_code < 500
                body = response.json()
                assert set(body) == {"error"}
                assert set(body["error"]) == {"code", "message"}

        try:
            run()
        except Unsatisfiable:
            # Nothing to make invalid: no parameter, no body (rollback, /openapi.json).
            item = openapi_document()["paths"][operation.path][operation.method.lower()]
            assert mode is GenerationMode.NEGATIVE, label
            assert "requestBody" not in item, label
            assert "parameters" not in item, label
            unsatisfiable.append(label)
    assert time.monotonic() - started < 120
    # The run reached the handlers (not only refusals), and refused bad inputs.
    if mode is GenerationMode.POSITIVE:
        assert 200 in seen["GET /api/v1/status"]
        assert 200 in seen["GET /api/v1/config"]
    else:
        assert any(s & {400, 422} for s in seen.values())
        assert len(unsatisfiable) < len(seen) // 2, unsatisfiable
