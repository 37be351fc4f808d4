"""Property-based tests of the Beacon endpoints from the node's own OpenAPI description (schemathesis).

Schemathesis generates requests for every Beacon operation the application describes (query
parameters, path ids, POST bodies, both inside and outside what the description allows); whatever
it sends, the node must answer without a server error, and every error must be a Beacon error
response whose code is the HTTP status. The examples per operation are bounded to keep the suite
fast; the node serves a small consented cohort, so that generated variant queries reach real data
(the document queries are exercised with real data in ``test_beacon_framework``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from beacon_support import assert_valid, build_cohort
from genomed.context import NodeContext
from genomed.node import init_node
from genomed.share.node import SharingNode
from genomed.share.server import create_app
from genomed.share.settings import BeaconSettings, GuardSettings, SharingSettings

ERROR = "framework/json/responses/beaconErrorResponse.json"
EXAMPLES = {GenerationMode.POSITIVE: 3, GenerationMode.NEGATIVE: 2}  # per operation (~50 operations)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    ctx: NodeContext = init_node(tmp_path_factory.mktemp("fuzz") / "node", node_name="Fuzzed node", country="FR")
    build_cohort(ctx)
    settings_ = SharingSettings(beacon=BeaconSettings(id="org.genomed.fuzz", public_url="http://testserver"),
                                guard=GuardSettings(min_count=5, budget_public=1_000_000))
    app = create_app(SharingNode.open(ctx, settings_))
    with TestClient(app):  # runs the lifespan: the index is built, the ledger is written out at the end
        yield schemathesis.openapi.from_asgi("/openapi.json", app).include(tag="Beacon v2")
    ctx.close()


def _operations(schema: Any) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_request_makes_the_beacon_fail(served: Any, mode: GenerationMode) -> None:
    """Every Beacon operation, with generated valid (positive) and invalid (negative) requests.

    (schemathesis' own pytest plugin, ``from_fixture``, does not run under pytest 9, so each
    operation's strategy is driven with Hypothesis directly.)
    """
    operations = _operations(served)
    assert len(operations) > 40  # every framework, entry, record and lookup endpoint, GET and POST
    failures: list[str] = []
    statuses: dict[int, int] = {}
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES[mode], deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case) -> None:
            response = case.call()
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            where = f"{case.method} {case.formatted_path} query={case.query} body={str(case.body)[:200]}"
            assert response.status_code < 500, f"{where}: {response.text[:500]}"
            if response.status_code >= 400:
                body = response.json()
                assert_valid(body, ERROR)
                assert body["error"]["errorCode"] == response.status_code, where

        try:
            check()
        except Unsatisfiable:  # nothing to make invalid (no parameters, no body): the positive run covers it
            continue
        except AssertionError as exc:
            failures.append(str(exc)[:1000])
    assert not failures, "\n".join(failures)
    answered = sum(n for status, n in statuses.items() if status == 200)
    refused = sum(n for status, n in statuses.items() if status >= 400)
    assert answered if mode is GenerationMode.POSITIVE else refused, statuses
