"""Requests generated from the app's own OpenAPI document (schemathesis, ASGI, in process): whatever is
sent, no endpoint answers with a 5xx, and every default check of schemathesis holds (statuses, content
types, headers and bodies as documented, schema-violating requests refused, a 405's Allow header listing
every documented method) but one: a schema-valid request may still be refused, since no schema says what
a .pose file, a video or the JSON text of a form field holds (an empty base64 string is a valid string
and not a pose).

Per operation: schemathesis' coverage cases (boundary and invalid values of every field, positive and
negative), then a few property-based examples under hypothesis. The loop is written out because
schemathesis' pytest plugin does not run under pytest 9.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import positive_data_acceptance

EXAMPLES_PER_OPERATION = 12
EXCLUDED = [positive_data_acceptance]  # see the module's docstring

pytestmark = pytest.mark.slow


def test_generated_requests_get_no_server_errors(settings):
    from signclip.serve.app import create_app

    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(settings))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 13
    covered: dict[str, int] = {}
    try:
        for operation in operations:
            config = schema.config.generation_for(operation=operation, phase="coverage")
            modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
            for case in schema.iter_coverage_cases(operation, generation_modes=modes, generation_config=config):
                case.call_and_validate(excluded_checks=EXCLUDED)
                covered[operation.label] = covered.get(operation.label, 0) + 1

            @given(case=operation.as_strategy())
            @hypothesis_settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def fuzz(case) -> None:
                case.call_and_validate(excluded_checks=EXCLUDED)

            fuzz()
    finally:
        shutdown_lifespans()
    assert set(covered) == {operation.label for operation in operations}


def test_a_wrong_method_names_every_documented_one(client):
    response = client.request("DELETE", "/api/embed/text")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert response.json() == {"detail": "DELETE is not allowed here; use GET or POST"}
    assert client.request("PUT", "/api/export").headers["allow"] == "POST"
