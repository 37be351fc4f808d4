"""Four nodes (France, Sweden, Denmark, UK), each its own ``genomed serve`` process, asking each other.

Each node has eight consented donors and a known number of carriers per variant (see
``federation_network.CARRIERS``): every node carries COMMON (5 to 8 carriers), only Sweden carries
SWEDISH, and France's single RARE carrier is below the guard's minimum count (3: answered "no" but once
in ~10^12, see ``federation_network``). The tests run in file order on one network; the last one stops
one node and kills another.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from beacon_support import assert_valid
from federation_network import COMMON, COUNTRIES, RARE, SWEDISH, Network, build_homes, running
from genomed.audit.models import AuditEntry
from genomed.cli import main
from genomed.node import open_node
from genomed.share.federation.signing import RequestSigner, verify_key_id

NODES = ("France", "Sweden", "Denmark", "UK")
RESULTSETS = "framework/json/responses/beaconResultsetsResponse.json"


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    homes = build_homes(tmp_path_factory.mktemp("federation"))
    with running(homes) as network:
        yield network


def params(variant: tuple[str, int, str, str]) -> dict[str, str]:
    """Beacon GET parameters of a sequence query (``start`` is 0-based)."""
    chrom, pos, ref, alt = variant
    return {"referenceName": chrom.removeprefix("chr"), "start": str(pos - 1), "referenceBases": ref,
            "alternateBases": alt}


def by_node(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in body["response"]["resultSets"]}


def audit_since(home: Path, seq: int, action: str = "beacon.query") -> list[tuple[str, str]]:
    """(requester, tier) of each ``action`` entry after ``seq`` in a node's audit trail."""
    with open_node(home) as ctx, ctx.transaction() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.seq > seq, AuditEntry.action == action)
                               .order_by(AuditEntry.seq))
        return [(json.loads(e.details)["requester"], json.loads(e.details)["tier"]) for e in rows]


def last_seq(home: Path) -> int:
    with open_node(home) as ctx, ctx.transaction() as session:
        return max(session.scalars(select(AuditEntry.seq)), default=0)


def test_a_federated_query_returns_every_nodes_answer_with_its_provenance(network: Network) -> None:
    started = time.perf_counter()
    response = httpx.get(f"{network['France'].url}/federated/g_variants", params=params(COMMON), timeout=10)
    assert response.status_code == 200, response.text
    body = response.json()
    assert_valid(body, RESULTSETS)
    assert [s["id"] for s in body["response"]["resultSets"]] == list(NODES)  # this node first, then its peers
    for name, result_set in by_node(body).items():
        info = result_set["info"]
        assert (result_set["exists"], result_set["resultsCount"], info["status"]) == (True, 1, "ok")
        assert info["country"] == COUNTRIES[name] and info["url"] == network[name].url
        assert info["beaconId"] == f"org.genomed.{COUNTRIES[name].lower()}"
        assert info["local"] is (name == "France") and info["returnedGranularity"] == "count"
        assert 0 < info["latencyMs"] < 1000 * (time.perf_counter() - started)
    assert body["responseSummary"] == {"exists": True, "numTotalResults": 4}
    assert body["meta"]["beaconId"] == "org.genomed.fr" and body["meta"]["returnedGranularity"] == "count"
    assert body["info"]["unreachable"] == []
    assert body["info"]["federation"]["nodesAsked"] == body["info"]["federation"]["nodesAnswered"] == 4


def test_each_node_answers_as_its_own_beacon_does_under_its_own_guard(network: Network) -> None:
    denmark = network["Denmark"].url
    for variant, holders in ((SWEDISH, {"Sweden"}), (RARE, set())):  # RARE: 1 carrier, below min_count
        body = httpx.post(f"{denmark}/federated/g_variants", timeout=10, json={
            "meta": {"apiVersion": "v2.0.0"},
            "query": {"requestParameters": {**params(variant), "start": [variant[1] - 1]}}}).json()
        assert_valid(body, RESULTSETS)
        answers = by_node(body)
        assert list(answers) == ["Denmark", "France", "Sweden", "UK"]
        assert {name for name, s in answers.items() if s["exists"]} == holders
        assert body["responseSummary"] == {"exists": bool(holders), "numTotalResults": len(holders)}
        for name in NODES:  # the same question asked of each Beacon directly gets the same answer
            direct = httpx.get(f"{network[name].url}/g_variants", timeout=10,
                               params={**params(variant), "requestedGranularity": "count"}).json()
            assert (direct["responseSummary"]["exists"], direct["responseSummary"]["numTotalResults"]) == (
                answers[name]["exists"], answers[name]["resultsCount"])
    boolean = httpx.get(f"{denmark}/federated/g_variants", params={**params(COMMON), "requestedGranularity": "boolean"},
                        timeout=10).json()
    assert boolean["meta"]["returnedGranularity"] == "boolean" and boolean["responseSummary"] == {"exists": True}
    refused = httpx.get(f"{denmark}/federated/g_variants", params={"referenceName": "1", "start": "5"}, timeout=10)
    assert refused.status_code == 400 and "alternateBases" in refused.json()["error"]["errorMessage"]


def test_peers_see_a_signed_request_as_the_node_and_anything_else_as_public(network: Network) -> None:
    sweden, france = network["Sweden"], network["France"]
    before = last_seq(sweden.home)
    assert httpx.get(f"{france.url}/federated/g_variants", params=params(COMMON), timeout=10).status_code == 200
    assert audit_since(sweden.home, before) == [("node:France", "registered")]

    with open_node(france.home) as france_ctx, open_node(sweden.home) as sweden_ctx, \
            open_node(network["Denmark"].home) as denmark_ctx:
        signer = RequestSigner(france_ctx.keys.signing_key)
        audience = verify_key_id(sweden_ctx.keys.verify_key)
        forger = RequestSigner(denmark_ctx.keys.signing_key)
    forger.key_id = signer.key_id  # Denmark's key, claiming to be France
    body = json.dumps({"meta": {"apiVersion": "v2.0.0"}, "query": {
        "requestParameters": params(COMMON), "requestedGranularity": "count"}}).encode()

    def signed(by: RequestSigner) -> dict[str, str]:
        return {"content-type": "application/json",
                **by.headers(method="POST", path="/g_variants", query="", body=body, audience=audience)}

    good = signed(signer)
    before = last_seq(sweden.home)
    with httpx.Client(base_url=sweden.url, timeout=10) as client:
        for content, headers in ((body, good), (body, good), (body.replace(b"count", b"boolean"), good),
                                 (body, signed(forger)), (body, {"content-type": "application/json"})):
            assert client.post("/g_variants", content=content, headers=headers).status_code == 200
    assert audit_since(sweden.home, before) == [
        ("node:France", "registered"),        # signed by France for Sweden
        ("anonymous:127.0.0.1", "public"),    # the same request replayed
        ("anonymous:127.0.0.1", "public"),    # its body changed
        ("anonymous:127.0.0.1", "public"),    # signed by another key
        ("anonymous:127.0.0.1", "public"),    # not signed
    ]


def test_the_cli_asks_every_node(network: Network, capsys: pytest.CaptureFixture[str]) -> None:
    home = str(network["France"].home)
    assert main(["--home", home, "federation", "query", "--variant", "chr1:1000300:G:A", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert {s["id"]: s["exists"] for s in body["response"]["resultSets"]} == {
        "France": False, "Sweden": True, "Denmark": False, "UK": False}
    assert main(["--home", home, "federation", "query", "--variant", "chr1:1000100:A:G"]) == 0
    table = capsys.readouterr().out
    assert "France (this node)" in table and "4 of 4 nodes answered" in table


def test_a_stopped_node_times_out_a_killed_one_is_unreachable_and_the_rest_still_answer(network: Network) -> None:
    france = network["France"].url
    denmark = network["Denmark"].process
    assert denmark is not None
    denmark.send_signal(signal.SIGSTOP)  # alive but silent: its kernel still accepts the connection
    try:
        started = time.perf_counter()
        body = httpx.get(f"{france}/federated/g_variants", params={**params(COMMON), "timeout": "0.5"},
                         timeout=10).json()
        elapsed = time.perf_counter() - started
    finally:
        denmark.send_signal(signal.SIGCONT)
    assert elapsed < 3.0
    assert [s["id"] for s in body["response"]["resultSets"]] == ["France", "Sweden", "UK"]
    assert [(u["node"], u["status"]) for u in body["info"]["unreachable"]] == [("Denmark", "timeout")]

    network.kill("UK")  # SIGKILL mid-test
    started = time.perf_counter()
    response = httpx.get(f"{france}/federated/g_variants", params={**params(COMMON), "timeout": "1"}, timeout=10)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200 and elapsed < 3.0
    body = response.json()
    assert_valid(body, RESULTSETS)
    assert [s["id"] for s in body["response"]["resultSets"]] == ["France", "Sweden", "Denmark"]
    assert body["responseSummary"] == {"exists": True, "numTotalResults": 3}
    (uk,) = body["info"]["unreachable"]
    assert (uk["node"], uk["country"], uk["url"], uk["status"]) == ("UK", "GB", network["UK"].url, "unreachable")
    assert body["info"]["federation"] == {**body["info"]["federation"], "nodesAsked": 4, "nodesAnswered": 3}
    with open_node(network["France"].home) as ctx, ctx.transaction() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "federation.query")
                                .order_by(AuditEntry.seq.desc())).first()
        assert entry is not None and entry.actor == "anonymous:127.0.0.1"
        details = json.loads(entry.details)
    assert (details["answered"], details["unreachable"]) == ("France,Sweden,Denmark", "UK:unreachable")
