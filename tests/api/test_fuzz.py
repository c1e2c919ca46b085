"""Every API operation fuzzed from its own OpenAPI description (schemathesis), in-process, with
a customer's, an agent's and an admin's credentials.

It fails on any 5xx, any answer whose status, content type, headers or body the description
does not allow, and any exception out of the app. Bounded and reproducible: a fixed number of
examples per operation (``PROOFDESK_FUZZ_EXAMPLES``, 10 in ``make test``; ``make fuzz`` runs a
longer campaign) and hypothesis derandomized, so the same cases run every time.

Schema-valid requests that the API refuses on purpose are not failures (the
``positive_data_acceptance`` check is left out): NUL characters, which PostgreSQL cannot store,
are refused with 422 although JSON Schema cannot say so, and most operations need objects that
random ids do not name (404).
"""

from __future__ import annotations

import os
import time

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from tests.support.tenants import Tenant

EXAMPLES = int(os.environ.get("PROOFDESK_FUZZ_EXAMPLES", "10"))
ROLES = ("customer", "agent", "admin")


def test_no_operation_fails_for_any_role(client: TestClient, tenant: Tenant) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", client.app)
    failures: list[str] = []
    operations = cases = 0
    began = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(operation.as_strategy())
        def run(case: schemathesis.Case) -> None:
            nonlocal cases
            for role in ROLES:
                cases += 1
                case.call_and_validate(
                    headers=tenant.members[role].headers,
                    excluded_checks=[positive_data_acceptance],
                )

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # every failure is reported, not the first
            failures.append(f"{operation.label}: {exc}")
    print(f"fuzz: {operations} operations, {cases} cases, {time.monotonic() - began:.1f} s")
    assert operations > 80
    assert not failures, "\n\n".join(failures)
