"""``POST /match`` served by uvicorn on loopback: authentication, versions, bad bodies, consent, the benchmark.

The node is a real one (``init_node``), its application the one ``genomed serve`` runs. Each
refusal is checked for its status, its JSON ``message`` and its audit entry; answers are checked
against the MME JSON schema of the reference server (shipped inside ``patientMatcher``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from sqlalchemy import select

from genomed.audit.models import AuditEntry
from genomed.catalog import consents
from genomed.cli import main
from genomed.context import NodeContext
from genomed.errors import ConsentError, PeerError, StateError
from genomed.node import init_node
from genomed.share.matching.benchmark import disorder_ids
from genomed.share.matching.documents import parse_patient
from genomed.share.matching.outgoing import query_peer_with_case
from genomed.share.matching.publish import publish_case
from genomed.share.matching.store import import_patients, read_patients_file, withdraw_case
from genomed.share.models import MatchCase
from genomed.share.node import SharingNode
from genomed.share.server import create_app
from genomed.share.settings import Peer, SharingSettings, load_sharing
from mme_support import (
    BENCHMARK,
    MME_V1,
    TOKEN_FROM_PEER,
    TOKEN_TO_PEER,
    add_steward,
    interpreted_case,
    mme_headers,
    serve,
    serve_node,
    sha256,
    sharing_settings,
)

QUERY: dict[str, Any] = {"patient": {
    "id": "query-1", "contact": {"name": "Dr Query", "href": "mailto:q@example.org"},
    "features": [{"id": "HP:0000347"}, {"id": "HP:0008551"}, {"id": "HP:0000453"}],
    "genomicFeatures": [{"gene": {"id": "ENSG00000108883"}}],  # EFTUD2, as an Ensembl id
}}
SCHEMA = json.loads(files("patientMatcher.resources").joinpath("api.json").read_text())


def validate_response(body: dict[str, Any]) -> None:
    """The MME reference server's JSON schema for a search response."""
    schema = {**SCHEMA, "$ref": "#/definitions/response"}
    jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker()).validate(body)


def audit_rows(ctx: NodeContext, action: str = "mme.match") -> list[AuditEntry]:
    with ctx.transaction() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


@pytest.fixture(scope="module")
def benchmark_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, NodeContext]]:
    """A node offering the 50 MME benchmark patients, served on loopback for the whole module."""
    ctx = init_node(tmp_path_factory.mktemp("mme") / "node", node_name="MME node", country="FR")
    try:
        add_steward(ctx)
        import_patients(ctx, "steward", read_patients_file(BENCHMARK), origin="benchmark")
        with serve_node(ctx, sharing_settings()) as (url, _):
            yield url, ctx
    finally:
        ctx.close()


def post(url: str, body: object, headers: dict[str, str]) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(f"{url}/match", content=content, headers=headers, timeout=60)


# ----------------------------------------------------------------------------------------------- refusals

@pytest.mark.parametrize(("headers", "why"), [
    ({"Content-Type": MME_V1}, "missing X-Auth-Token"),
    (mme_headers(token="not-a-token-of-any-peer"), "unknown X-Auth-Token"),
    (mme_headers(token=sha256(TOKEN_FROM_PEER)), "unknown X-Auth-Token"),  # the stored hash is not a token
])
def test_missing_or_unknown_token_is_401(benchmark_node: tuple[str, NodeContext], headers: dict[str, str],
                                         why: str) -> None:
    url, ctx = benchmark_node
    before = len(audit_rows(ctx))
    response = post(url, QUERY, headers)
    assert response.status_code == 401
    assert why in response.json()["message"] and "results" not in response.json()
    entry = audit_rows(ctx)[before]
    assert (entry.outcome, entry.actor) == ("denied", "anonymous:127.0.0.1")


def test_a_bad_token_is_401_even_when_everything_else_is_wrong(benchmark_node: tuple[str, NodeContext]) -> None:
    url, _ = benchmark_node
    response = post(url, b"{not json", mme_headers(token="wrong", media="application/vnd.ga4gh.matchmaker.v2.0+json"))
    assert response.status_code == 401


@pytest.mark.parametrize(("media", "accept"), [
    ("application/vnd.ga4gh.matchmaker.v2.0+json", None),
    ("application/vnd.ga4gh.matchmaker.v0.9+json", None),
    (MME_V1, "application/vnd.ga4gh.matchmaker.v2.0+json"),
])
def test_unsupported_version_is_406_naming_ours(benchmark_node: tuple[str, NodeContext], media: str,
                                                accept: str | None) -> None:
    url, ctx = benchmark_node
    response = post(url, QUERY, mme_headers(media=media, accept=accept))
    assert response.status_code == 406
    assert response.headers["content-type"] == "application/vnd.ga4gh.matchmaker.v1.1+json"
    assert response.json()["supportedVersions"] == ["1.0", "1.1"]
    entry = audit_rows(ctx)[-1]
    assert (entry.outcome, entry.actor, json.loads(entry.details)["status"]) == ("failed", "node:Sweden", 406)


@pytest.mark.parametrize("media", [None, "application/json", "text/plain"])
def test_a_request_that_is_not_an_mme_request_is_415(benchmark_node: tuple[str, NodeContext],
                                                     media: str | None) -> None:
    url, _ = benchmark_node
    headers = {"X-Auth-Token": TOKEN_FROM_PEER, **({"Content-Type": media} if media else {})}
    assert post(url, QUERY, headers).status_code == 415


def test_malformed_json_is_400(benchmark_node: tuple[str, NodeContext]) -> None:
    url, _ = benchmark_node
    response = post(url, b'{"patient": {"id": ', mme_headers())
    assert response.status_code == 400 and "malformed JSON" in response.json()["message"]


@pytest.mark.parametrize("body", [[QUERY["patient"]], {"patients": [QUERY["patient"]]}, {"patient": "P1"}, 7])
def test_a_body_without_a_patient_object_is_422(benchmark_node: tuple[str, NodeContext], body: object) -> None:
    url, _ = benchmark_node
    response = post(url, body, mme_headers())
    assert response.status_code == 422 and "'patient'" in response.json()["message"]


def test_an_invalid_patient_is_400_naming_the_fields(benchmark_node: tuple[str, NodeContext]) -> None:
    url, ctx = benchmark_node
    bad = {"patient": {**QUERY["patient"], "features": [{"id": "HP:12"}],
                       "genomicFeatures": [{"gene": {"id": "EFTUD2"}, "variant": {"assembly": "GRCh37", "start": 5}}]}}
    response = post(url, bad, mme_headers())
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"patient.features[0].id",
                                              "patient.genomicFeatures[0].variant.referenceName"}
    entry = audit_rows(ctx)[-1]
    assert (entry.outcome, entry.object_id) == ("failed", "query-1")


def test_an_oversized_body_is_413_and_not_parsed(benchmark_node: tuple[str, NodeContext]) -> None:
    url, ctx = benchmark_node
    huge = {"patient": {**QUERY["patient"], "features": [{"id": "HP:0000347"}] * 60_000}}
    response = post(url, huge, mme_headers())
    assert response.status_code == 413
    assert json.loads(audit_rows(ctx)[-1].details)["status"] == 413


def test_get_is_405(benchmark_node: tuple[str, NodeContext]) -> None:
    url, _ = benchmark_node
    response = httpx.get(f"{url}/match", headers=mme_headers())
    assert response.status_code == 405 and response.headers["allow"] == "POST"


# ------------------------------------------------------------------------------------------------ answers

def test_an_answer_is_versioned_schema_valid_and_audited(benchmark_node: tuple[str, NodeContext]) -> None:
    url, ctx = benchmark_node
    response = post(url, QUERY, mme_headers(media="application/vnd.ga4gh.matchmaker.v1.1+json", accept=None))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.ga4gh.matchmaker.v1.1+json"
    body = response.json()
    validate_response(body)
    results = body["results"]
    assert 1 <= len(results) <= 5
    assert results[0]["patient"]["id"] == "P0000079"  # the one EFTUD2 patient, found by its Ensembl id
    scores = [r["score"]["patient"] for r in results]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    entry = audit_rows(ctx)[-1]
    details = json.loads(entry.details)
    assert (entry.outcome, entry.actor, entry.object_id) == ("ok", "node:Sweden", "query-1")
    assert (details["peer"], details["results"], details["version"]) == ("Sweden", len(results), "1.1")


def test_benchmark_patients_find_same_disorder_patients_over_http(benchmark_node: tuple[str, NodeContext]) -> None:
    """Each of the 50 sent to the node as a query; measured: all 30 that can find a same-disorder patient do, first.

    The node holds the query patient too, so it takes one of the five results: the others are counted.
    """
    url, _ = benchmark_node
    patients = [parse_patient(p) for p in json.loads(BENCHMARK.read_text())]
    top1 = top5 = 0
    with httpx.Client(timeout=60) as client:
        for query in patients:
            response = client.post(f"{url}/match", json={"patient": query.to_json()}, headers=mme_headers())
            assert response.status_code == 200
            found = [parse_patient(r["patient"]) for r in response.json()["results"]]
            others = [p for p in found if p.id != query.id]
            assert query.id in {p.id for p in found[:2]}  # itself, first or tied first: it is one of the node's cases
            same = [bool(disorder_ids(query) & disorder_ids(p)) for p in others]
            top1 += bool(same[:1] and same[0])
            top5 += any(same[:5])
    assert top5 >= 30 and top1 >= 30  # the ceiling: 20 patients have no same-disorder partner


# ---------------------------------------------------------------------------------------- catalog and consent

def test_a_withdrawn_consent_removes_a_published_case_at_once(node: NodeContext) -> None:
    reference, pseudonym = interpreted_case(node, scopes=["diagnosis", "case_matching"])
    published = publish_case(node, "matchmaker", sharing_settings(), case_reference=reference)
    document = published.to_json()
    assert [f["gene"]["id"] for f in document["genomicFeatures"]] == ["ENSG00000108883", "ENSG00000144285",
                                                                       "ENSG00000125835"]
    stop = document["genomicFeatures"][0]
    assert stop["variant"] == {"assembly": "GRCh38", "referenceName": "17", "start": 44851762, "end": 44851763,
                               "referenceBases": "G", "alternateBases": "A"}
    assert (stop["zygosity"], stop["type"]["id"]) == (1, "SO:0001587")
    assert {f["id"]: f["observed"] for f in document["features"]}["HP:0001250"] == "no"
    assert document["label"] == reference and pseudonym not in json.dumps(document)
    assert document["contact"] == {"name": "Dr Data Steward", "institution": "PFMG test",
                                   "href": "mailto:mme@pfmg.example.org"}
    with serve_node(node, sharing_settings()) as (url, _):
        before = post(url, QUERY, mme_headers()).json()["results"]
        assert before[0]["patient"]["id"] == published.id
        consents.withdraw_consent(node, "presc", pseudonym=pseudonym, scopes=["case_matching"],
                                  reason="family asked to stop matchmaking")
        after = post(url, QUERY, mme_headers()).json()["results"]
        assert published.id not in {r["patient"]["id"] for r in after}
    with pytest.raises(ConsentError, match="case_matching consent .* was withdrawn"):
        publish_case(node, "matchmaker", sharing_settings(), case_reference=reference)


def test_publishing_without_case_matching_consent_is_refused_and_audited(node: NodeContext) -> None:
    reference, _ = interpreted_case(node, scopes=["diagnosis"])
    with pytest.raises(ConsentError, match="was never given"):
        publish_case(node, "matchmaker", sharing_settings(), case_reference=reference)
    refusal = audit_rows(node, "match.publish")[-1]
    assert (refusal.outcome, refusal.object_id) == ("denied", reference)
    with node.transaction() as session:
        assert session.scalar(select(AuditEntry).where(AuditEntry.action == "match.publish",
                                                       AuditEntry.outcome == "ok")) is None


def test_a_withdrawn_case_is_neither_matched_nor_sent(sqlite_node: NodeContext) -> None:
    add_steward(sqlite_node)
    import_patients(sqlite_node, "steward", read_patients_file(BENCHMARK), origin="benchmark")
    withdraw_case(sqlite_node, "steward", "P0000079", reason="contact left the institution")
    with pytest.raises(StateError, match="already withdrawn"):
        withdraw_case(sqlite_node, "steward", "P0000079", reason="again")
    with serve_node(sqlite_node, sharing_settings()) as (url, _):
        results = post(url, QUERY, mme_headers()).json()["results"]
        assert "P0000079" not in {r["patient"]["id"] for r in results}
        with pytest.raises(ConsentError, match="was withdrawn"):
            query_peer_with_case(sqlite_node, "steward", sharing_settings(peer_url=url), peer_name="Sweden",
                                 case_id="P0000079")
    assert audit_rows(sqlite_node, "mme.match.out")[-1].outcome == "denied"
    # re-importing reinstates it
    import_patients(sqlite_node, "steward", read_patients_file(BENCHMARK)[:1], origin="again")
    with serve_node(sqlite_node, sharing_settings()) as (url, _):
        assert post(url, QUERY, mme_headers()).json()["results"][0]["patient"]["id"] == "P0000079"


def test_a_stored_document_damaged_outside_genomed_is_left_out_not_fatal(sqlite_node: NodeContext,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    add_steward(sqlite_node)
    import_patients(sqlite_node, "steward", read_patients_file(BENCHMARK), origin="benchmark")
    with sqlite_node.transaction() as session:
        row = session.scalar(select(MatchCase).where(MatchCase.case_id == "P0000079"))
        assert row is not None
        row.document = {**row.document, "contact": {"name": "no href"}}
    with serve_node(sqlite_node, sharing_settings()) as (url, _):
        response = post(url, QUERY, mme_headers())
    assert response.status_code == 200
    assert "P0000079" not in {r["patient"]["id"] for r in response.json()["results"]}
    assert "match case P0000079 is left out" in caplog.text and "contact.href" in caplog.text


def test_our_node_queries_another_genomed_node(sqlite_node: NodeContext, tmp_path: Path) -> None:
    """The outgoing client against our own endpoint on another node: token, media type, parsed results."""
    other = init_node(tmp_path / "other", node_name="Sweden", country="SE")
    try:
        add_steward(other)
        import_patients(other, "steward", read_patients_file(BENCHMARK), origin="benchmark")
        add_steward(sqlite_node)
        import_patients(sqlite_node, "steward", read_patients_file(BENCHMARK)[20:21], origin="one")  # an SNRPB case
        # the other node accepts the token we send (we are its peer "France")
        theirs = SharingSettings(peers=(Peer(name="France", country="FR", url="http://127.0.0.1:9",
                                             mme_token_in_sha256=sha256(TOKEN_TO_PEER)),))
        with serve(create_app(SharingNode.open(other, theirs))) as url:
            answer = query_peer_with_case(sqlite_node, "steward", sharing_settings(peer_url=url), peer_name="Sweden",
                                          case_id="P0001027")
        assert answer.version is not None and str(answer.version) == "1.0"
        assert answer.results[0].patient.id == "P0001027" and not answer.problems
        assert sum("OMIM:117650" in disorder_ids(r.patient) for r in answer.results) == 5
        assert audit_rows(sqlite_node, "mme.match.out")[-1].outcome == "ok"
        assert json.loads(audit_rows(other)[-1].details)["peer"] == "France"
    finally:
        other.close()


def test_served_with_its_lifespan_the_node_is_ready_before_the_first_query(sqlite_node: NodeContext) -> None:
    node = SharingNode.open(sqlite_node, sharing_settings())
    with serve(create_app(node), lifespan="on") as url:
        assert "matching" in node.extensions  # set up during start-up, not by a query
        assert post(url, QUERY, mme_headers()).json() == {"results": []}  # no case offered yet


def test_tokens_never_reach_the_logs(benchmark_node: tuple[str, NodeContext], caplog: pytest.LogCaptureFixture) -> None:
    url, ctx = benchmark_node
    caplog.set_level("DEBUG")
    post(url, QUERY, mme_headers())
    post(url, QUERY, mme_headers(token="a-wrong-token-that-is-also-secret"))
    with pytest.raises(PeerError, match="HTTP 401"):  # we send TOKEN_TO_PEER, which our own node never issued
        query_peer_with_case(ctx, "steward", sharing_settings(peer_url=url), peer_name="Sweden", case_id="P0000079")
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    for secret in (TOKEN_FROM_PEER, TOKEN_TO_PEER, "a-wrong-token-that-is-also-secret"):
        assert secret not in logged


def test_token_issue_stores_only_the_hash(sqlite_node: NodeContext, capsys: pytest.CaptureFixture[str]) -> None:
    home = sqlite_node.config.home
    sharing_settings().save(home)
    assert main(["--home", str(home), "--user", "admin", "match", "token", "issue", "Sweden"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert len(token) >= 40
    text = (home / "sharing.toml").read_text()
    assert token not in text and sha256(token) in text
    peer = load_sharing(home).peer("Sweden")
    assert peer.accepts_token(token) and not peer.accepts_token(TOKEN_FROM_PEER)
    assert main(["--home", str(home), "--user", "steward", "match", "token", "issue", "Sweden"]) != 0  # no steward
