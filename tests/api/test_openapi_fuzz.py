"""Hostile input over the whole OpenAPI schema: schemathesis, in-process on the ASGI app, both backends.

Every operation gets generated requests, valid and invalid (Unicode, control characters, long
strings, wrong types). No answer may be a 5xx, and every answer must match what the schema says:
status code documented, body and headers of the documented shape. The app here is the real one,
started by its own lifespan on the real backends; the SSRF guard is on, as deployed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import positive_data_acceptance

from service_monitor.api.app import create_app
from tests.conftest import (
    MYSQL_DATABASE,
    TEST_CHANNEL_KEY,
    embedded_settings,
    production_settings,
    redis_cleanup,
    run_aside,
)

KEY = "fuzz-key-3b8e0c"


@pytest.fixture(
    params=[
        pytest.param(("embedded", "open"), id="embedded-open"),
        pytest.param(("embedded", "keys"), id="embedded-keys"),
        pytest.param(("mysql+redis", "open"), id="mysql+redis-open"),
        pytest.param(("mysql+redis", "keys"), id="mysql+redis-keys"),
    ]
)
def api_schema(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """The schema of an app on one deployment, writes open or behind a key (reads too)."""
    backend, auth = request.param
    overrides: dict[str, Any] = {"ALLOW_PRIVATE_TARGETS": False}
    if auth == "keys":
        overrides |= {"API_KEYS": KEY, "READ_AUTH": True}
    if backend == "mysql+redis":
        request.getfixturevalue("require_mysql")
        request.getfixturevalue("require_redis")
        db_name = f"{MYSQL_DATABASE}_fuzz_{uuid.uuid4().hex[:8]}"
        app_settings = production_settings(
            DB_NAME=db_name, CHANNEL_KEYS=TEST_CHANNEL_KEY, **overrides
        )
    else:
        app_settings = embedded_settings(tmp_path, **overrides)
    app = create_app(app_settings)
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    shutdown_lifespans()  # closes the app's store and cache, opened on schemathesis' own loop
    if backend == "mysql+redis":
        run_aside(redis_cleanup(app_settings.CACHE_KEY_PREFIX))


# positive_data_acceptance is left out: a body can match the schema and still be refused with a
# 422 that says why (a URL whose host is malformed, an internal address, a name with control
# characters); a JSON schema cannot express every rule the API applies. Every other check runs:
# no 5xx, documented status codes, content types, headers and bodies, invalid data rejected.
# Examples per operation and mode: 14 documented operations x 2 modes x this, per variant.
EXAMPLES = 30


@pytest.mark.timeout(600)
@pytest.mark.parametrize(
    ("mode", "send_key"),
    [
        pytest.param(GenerationMode.POSITIVE, True, id="valid-with-key"),
        pytest.param(GenerationMode.POSITIVE, False, id="valid-without-key"),
        # Sent as generated: the mutation may be the Authorization header itself (left out or
        # malformed), so adding a good key would turn an invalid request into a valid one.
        pytest.param(GenerationMode.NEGATIVE, False, id="invalid"),
    ],
)
def test_no_request_gets_a_5xx_or_an_undocumented_answer(
    api_schema: Any, mode: GenerationMode, send_key: bool
) -> None:
    """Each operation in turn (pytest 9 and schemathesis' own pytest plugin disagree, so the
    operations are walked here rather than by `schema.parametrize`)."""
    headers = {"Authorization": f"Bearer {KEY}"} if send_key else {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 6  # the schema really was read
    failures: list[str] = []
    fuzzed = 0
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            phases=[Phase.generate],
        )
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        try:
            run()
        except Unsatisfiable:
            # Nothing about this operation can be made invalid (no parameters, no body).
            assert mode is GenerationMode.NEGATIVE, operation.label
            continue
        except Exception as exc:  # every operation is fuzzed before the test fails
            failures.append(f"{operation.label}: {exc}")
        fuzzed += 1
    assert fuzzed >= 5
    assert not failures, "\n\n".join(failures)
