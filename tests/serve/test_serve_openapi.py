"""Requests generated from the app's own OpenAPI document (schemathesis, ASGI, in process): whatever is
sent, no endpoint answers with a 5xx, and responses match the statuses and shapes documented.

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
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance
from schemathesis.python.asgi import shutdown_lifespans

EXAMPLES_PER_OPERATION = 12
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]

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
                case.call_and_validate(checks=CHECKS)
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
                case.call_and_validate(checks=CHECKS)

            fuzz()
    finally:
        shutdown_lifespans()
    assert set(covered) == {operation.label for operation in operations}
