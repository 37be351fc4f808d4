"""``/federated/g_variants`` refuses before asking any peer: a spent budget, a malformed query, a bad timeout."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from federation_network import COMMON, MEMBERSHIP_ODDS, MIN_COUNT, build_home
from genomed.context import NodeContext
from genomed.node import open_node
from genomed.share.beacon.service import BeaconService
from genomed.share.node import SharingNode
from genomed.share.server import create_app
from genomed.share.settings import GuardSettings, Peer, SharingSettings
from test_federation_fanout import BEACON, http, serve_raw

PARAMS = {"referenceName": "1", "start": str(COMMON[1] - 1), "referenceBases": COMMON[2], "alternateBases": COMMON[3]}


@pytest.fixture(scope="module")
def france(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeContext]:
    home = tmp_path_factory.mktemp("endpoint") / "france"
    build_home(home, "France", "FR")
    with open_node(home) as ctx:
        yield ctx


async def _ask(ctx: NodeContext, budget: int, requests: list[dict[str, Any]]) -> tuple[list[httpx.Response], int]:
    """Serve France (one Danish peer: a real TCP server answering as a Beacon) and send ``requests`` in order.

    The requests come from an address of their own per budget, as the node's database is shared by the tests.
    """
    peer_server, port, received = await serve_raw(http("200 OK", BEACON))
    settings = SharingSettings(guard=GuardSettings(min_count=MIN_COUNT, membership_odds=MEMBERSHIP_ODDS,
                                                   budget_public=budget),
                               peers=(Peer("Denmark", "DK", f"http://127.0.0.1:{port}"),))
    node = SharingNode.open(ctx, settings)
    app = create_app(node)
    responses = []
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(f"10.0.0.{budget}", 1)),
                                     base_url="http://france") as client:
            for request in requests:
                responses.append(await client.request(**request))
    finally:
        BeaconService.of(node).close()
        peer_server.close()
    return responses, len(received)


def test_a_requester_whose_budget_is_spent_is_refused_and_no_peer_is_asked(france: NodeContext) -> None:
    ask = {"method": "GET", "url": "/federated/g_variants", "params": PARAMS}
    (first, second), asked = asyncio.run(_ask(france, 1, [ask, ask]))
    assert first.status_code == 200
    assert [s["id"] for s in first.json()["response"]["resultSets"]] == ["France", "Denmark"]
    assert second.status_code == 429 and "budget" in second.json()["error"]["errorMessage"]
    assert asked == 1  # the refused query never reached the peer


@pytest.mark.parametrize(("request_", "message"), [
    ({"method": "GET", "url": "/federated/g_variants", "params": {"referenceName": "1", "start": "5"}},
     "alternateBases"),
    ({"method": "GET", "url": "/federated/g_variants", "params": {**PARAMS, "referenceNme": "1"}}, "referenceNme"),
    ({"method": "POST", "url": "/federated/g_variants", "content": b"{not json"}, "not valid JSON"),
    ({"method": "GET", "url": "/federated/g_variants", "params": {**PARAMS, "timeout": "soon"}}, "timeout"),
    ({"method": "GET", "url": "/federated/g_variants", "params": {**PARAMS, "timeout": "-1"}}, "timeout"),
])
def test_a_malformed_request_is_a_beacon_error_and_no_peer_is_asked(france: NodeContext, request_: dict[str, Any],
                                                                     message: str) -> None:
    (response,), asked = asyncio.run(_ask(france, 100, [request_]))
    assert response.status_code == 400 and message in response.json()["error"]["errorMessage"]
    assert asked == 0


def test_post_takes_a_beacon_request_body_and_a_timeout_in_the_query_string(france: NodeContext) -> None:
    body = {"meta": {"apiVersion": "v2.0.0"},
            "query": {"requestParameters": {**PARAMS, "start": [COMMON[1] - 1]}, "requestedGranularity": "record"}}
    (response,), asked = asyncio.run(_ask(france, 100, [{"method": "POST", "url": "/federated/g_variants",
                                                         "params": {"timeout": "0.7"}, "json": body}]))
    assert response.status_code == 200 and asked == 1
    answer = response.json()
    assert answer["info"]["federation"]["timeoutSeconds"] == 0.7
    assert answer["meta"]["returnedGranularity"] == "count"  # records never travel through federation
    france_set = answer["response"]["resultSets"][0]
    assert (france_set["id"], france_set["exists"], france_set["resultsCount"], france_set["results"]) == (
        "France", True, 1, [])
