"""Fuzz every operation of the OpenAPI document with schemathesis, on SQLite and PostgreSQL.

The server runs as a real process (uvicorn, the demo content, an author token). For each
operation schemathesis generates valid and invalid requests from the schema at
``/schema/openapi.json`` and checks that the service never answers with a server error, that
every response's body matches the schema it documents and that the content type is the
documented one. The number of examples per operation is bounded so that the whole walk stays
within about a minute per database; ``SKILLGAUGE_FUZZ_EXAMPLES`` raises it for a longer run.

Every server error the fuzzer found was fixed and kept as a regression test in
``tests/web/test_fuzz_regressions.py``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.core.result import Ok
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.server import ServerProcess, start_server
from tests.web.conftest import POSTGRES_ADMIN_URL, _admin, _drop

EXAMPLES = int(os.environ.get("SKILLGAUGE_FUZZ_EXAMPLES", "20"))
CHECKS = [
    schemathesis.checks.not_a_server_error,
    response_schema_conformance,
    content_type_conformance,
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzzed_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    env: dict[str, str] = {}
    if request.param == "postgresql":
        env["SKILLGAUGE_DATABASE_URL"] = request.getfixturevalue("fuzz_postgres_url")
    server = start_server(Path(data), extra_env=env)
    yield server
    server.stop()
    errors = [line for line in server.output if "Traceback" in line]
    assert not errors, "".join(server.output[-80:])


@pytest.fixture(scope="module")
def fuzz_postgres_url(postgres_template: str) -> Iterator[str]:
    """A database of its own for the module (the fuzzer writes banks, sessions, webhooks)."""
    name = f"sg_fuzz_{secrets.token_hex(6)}"
    admin = _admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"'))
    yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    _drop(admin, name)
    admin.dispose()


def _operations(server: ServerProcess) -> list[Any]:
    schema = schemathesis.openapi.from_url(f"{server.base_url}/schema/openapi.json")
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the OpenAPI document is not valid: {result.err()}"
        operations.append(result.ok())
    assert len(operations) >= 20, "the OpenAPI document lost its operations"
    return operations


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_operation_breaks_under_fuzzing(fuzzed_server: ServerProcess, mode: Any) -> None:
    """Every operation, valid and invalid requests: no 5xx, bodies as documented."""
    auth = {"Authorization": f"Bearer {fuzzed_server.author_token}"}
    failures: list[str] = []
    for operation in _operations(fuzzed_server):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def fuzz(case: Any) -> None:
            case.call_and_validate(
                base_url=fuzzed_server.base_url, headers=auth, checks=CHECKS, timeout=30
            )

        try:
            fuzz()
        except Unsatisfiable:
            # no invalid request exists for this operation (no body, string parameters only)
            assert mode == GenerationMode.NEGATIVE, operation.label
        except (
            Exception,
            BaseExceptionGroup,
        ) as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
