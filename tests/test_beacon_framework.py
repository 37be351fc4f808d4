"""The Beacon v2 framework endpoints and document queries, validated against the official schemas.

One node, with the CINECA synthetic cohort (2,504 individuals) loaded, serves every test here;
each answer is checked against the framework response schema it claims and each record against
its entry type's default schema.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from beacon_support import CINECA, Broker, assert_beacon_answer, assert_valid
from genomed.audit.models import AuditEntry
from genomed.catalog.users import add_user
from genomed.context import NodeContext
from genomed.data import data_dir
from genomed.node import init_node
from genomed.share.beacon.documents import load_documents
from genomed.share.node import SharingNode
from genomed.share.server import create_app
from genomed.share.settings import BeaconSettings, GuardSettings, SharingSettings

RESPONSES = "framework/json/responses/"
DIRECTORY = data_dir() / "beacon" / CINECA
SOURCE = {sex: sum(1 for d in json.loads((DIRECTORY / "individuals.json").read_text()) if d["sex"]["id"] == sex)
          for sex in ("NCIT:C20197", "NCIT:C16576")}


@pytest.fixture(scope="module")
def broker() -> Broker:
    return Broker()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeContext]:
    ctx = init_node(tmp_path_factory.mktemp("beacon") / "node", node_name="Beacon node", country="FR")
    add_user(ctx, "admin", "steward", ["data_steward"])
    load_documents(ctx, "steward", DIRECTORY)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture(scope="module")
def client(node: NodeContext, broker: Broker) -> Iterator[TestClient]:
    settings = SharingSettings(beacon=BeaconSettings(id="org.genomed.test", public_url="http://testserver"),
                               guard=GuardSettings(min_count=5, budget_public=10_000), brokers=(broker.trusted(),))
    with TestClient(create_app(SharingNode.open(node, settings))) as test_client:
        yield test_client


def get(client: TestClient, url: str, **kwargs: Any) -> dict[str, Any]:
    response = client.get(url, **kwargs)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize(("path", "schema"), [
    ("/", "beaconInfoResponse.json"), ("/info", "beaconInfoResponse.json"),
    ("/service-info", "ga4gh-service-info-1-0-0-schema.json"),
    ("/configuration", "beaconConfigurationResponse.json"), ("/map", "beaconMapResponse.json"),
    ("/entry_types", "beaconEntryTypesResponse.json"), ("/filtering_terms", "beaconFilteringTermsResponse.json"),
    ("/individuals/filtering_terms", "beaconFilteringTermsResponse.json"),
    (f"/datasets/{CINECA}/filtering_terms", "beaconFilteringTermsResponse.json"),
])
def test_framework_endpoints_follow_the_official_schemas(client: TestClient, path: str, schema: str) -> None:
    assert_valid(get(client, path), RESPONSES + schema)


def test_configuration_and_map_declare_every_entry_type_served(client: TestClient) -> None:
    entry_types = get(client, "/configuration")["response"]["entryTypes"]
    assert set(entry_types) == {"analysis", "biosample", "cohort", "dataset", "genomicVariant", "individual", "run"}
    endpoints = get(client, "/map")["response"]["endpointSets"]
    assert endpoints["individualEndpoints"]["rootUrl"] == "http://testserver/individuals"
    assert endpoints["biosampleEndpoints"]["endpoints"]["runLookup"]["url"] == \
        "http://testserver/biosamples/{id}/runs"
    assert get(client, "/info")["response"]["info"]["datasets"] == ["org.genomed.test", CINECA]


def test_filtering_terms_list_the_ontology_terms_of_the_documents(client: TestClient) -> None:
    terms = {t["id"]: t for t in get(client, "/filtering_terms")["response"]["filteringTerms"]}
    assert terms["NCIT:C20197"]["scopes"] == ["individuals"] and terms["NCIT:C20197"]["label"] == "male"
    assert terms["libraryStrategy"]["type"] == "alphanumeric"
    individual_terms = {t["id"] for t in get(client, "/individuals/filtering_terms")["response"]["filteringTerms"]
                        if t["type"] == "ontologyTerm"}
    assert "NCIT:C16576" in individual_terms and "UBERON:0000178" not in individual_terms


@pytest.mark.parametrize(("sex", "term"), [("male", "NCIT:C20197"), ("female", "NCIT:C16576")])
def test_individuals_filtered_by_sex_count_what_the_documents_say(client: TestClient, sex: str, term: str) -> None:
    body = get(client, f"/individuals?filters={term}&requestedGranularity=count")
    assert_beacon_answer(body)
    assert body["responseSummary"] == {"exists": True, "numTotalResults": SOURCE[term]}
    assert body["meta"]["returnedGranularity"] == "count"


def test_filters_follow_links_between_entry_types(client: TestClient) -> None:
    males = get(client, "/individuals?filters=NCIT:C20197&requestedGranularity=count")
    runs = get(client, "/runs?filters=NCIT:C20197&requestedGranularity=count")
    biosamples = get(client, "/biosamples?filters=NCIT:C20197&requestedGranularity=count")
    assert runs["responseSummary"]["numTotalResults"] == males["responseSummary"]["numTotalResults"]
    assert biosamples["responseSummary"]["numTotalResults"] == males["responseSummary"]["numTotalResults"]
    # an alphanumeric filter on a run field, applied to individuals, AND a sex filter
    body = client.post("/individuals", json={"meta": {"apiVersion": "v2.0.0"}, "query": {
        "requestedGranularity": "count",
        "filters": [{"id": "libraryStrategy", "operator": "=", "value": "%WGS%"}, {"id": "NCIT:C16576"}]}}).json()
    assert_beacon_answer(body)
    runs_doc = json.loads((DIRECTORY / "runs.json").read_text())
    individuals_doc = {d["id"]: d for d in json.loads((DIRECTORY / "individuals.json").read_text())}
    expected = {r["individualId"] for r in runs_doc if "WGS" in r["libraryStrategy"]
                and individuals_doc[r["individualId"]]["sex"]["id"] == "NCIT:C16576"}
    assert body["responseSummary"]["numTotalResults"] == len(expected)


def test_other_ontology_terms_and_numeric_operators(client: TestClient) -> None:
    individuals = json.loads((DIRECTORY / "individuals.json").read_text())
    disease = "ICD10:J40"
    expected = sum(1 for d in individuals if any(x["diseaseCode"]["id"] == disease for x in d.get("diseases", [])))
    body = get(client, f"/individuals?filters={disease}&requestedGranularity=count")
    assert body["responseSummary"]["numTotalResults"] == expected
    tall = sum(1 for d in individuals if any(m["measurementValue"]["value"] > 190 for m in d["measures"]))
    body = client.post("/individuals", json={"query": {"requestedGranularity": "count", "filters": [
        {"id": "measures.measurementValue.value", "operator": ">", "value": "190"}]}}).json()
    assert body["responseSummary"]["numTotalResults"] == tall


def test_public_requesters_get_counts_not_records(client: TestClient) -> None:
    body = get(client, "/individuals?filters=NCIT:C20197&requestedGranularity=record")
    assert_beacon_answer(body)
    assert body["meta"]["returnedGranularity"] == "count"
    assert "response" not in body


def test_a_controlled_grant_returns_records_that_follow_the_model(client: TestClient, broker: Broker) -> None:
    headers = broker.header("alice", datasets=(CINECA,))
    body = get(client, "/individuals?filters=NCIT:C16576&requestedGranularity=record&limit=5", headers=headers)
    assert_beacon_answer(body, "individuals")
    assert body["meta"]["returnedGranularity"] == "record"
    (result_set,) = body["response"]["resultSets"]
    assert result_set["id"] == CINECA and result_set["resultsCount"] == SOURCE["NCIT:C16576"]
    assert len(result_set["results"]) == 5
    assert all(r["sex"]["id"] == "NCIT:C16576" for r in result_set["results"])
    second = get(client, "/individuals?filters=NCIT:C16576&requestedGranularity=record&limit=5&skip=1",
                 headers=headers)["response"]["resultSets"][0]["results"]
    assert {r["id"] for r in second}.isdisjoint({r["id"] for r in result_set["results"]})


def test_lookups_and_single_records(client: TestClient, broker: Broker) -> None:
    headers = broker.header("alice", datasets=(CINECA,))
    body = get(client, "/individuals/HG00096/biosamples?requestedGranularity=record", headers=headers)
    assert_beacon_answer(body, "biosamples")
    assert [r["id"] for r in body["response"]["resultSets"][0]["results"]] == ["HG00096"]
    runs = get(client, "/biosamples/HG00096/runs?requestedGranularity=record", headers=headers)
    assert_beacon_answer(runs, "runs")
    assert [r["individualId"] for r in runs["response"]["resultSets"][0]["results"]] == ["HG00096"]
    analyses = get(client, "/runs/SRR00000001/analyses?requestedGranularity=record", headers=headers)
    assert_beacon_answer(analyses, "analyses")
    single = get(client, "/individuals/HG00096?requestedGranularity=record", headers=headers)
    assert single["response"]["resultSets"][0]["results"][0]["id"] == "HG00096"
    variants = json.loads((DIRECTORY / "genomicVariations.json").read_text())
    carrier = variants[0]["caseLevelData"][0]["biosampleId"]
    found = get(client, f"/individuals/{carrier}/g_variants?requestedGranularity=record", headers=headers)
    ids = {r["variantInternalId"] for r in found["response"]["resultSets"][0]["results"]}
    assert variants[0]["variantInternalId"] in ids


def test_collections_are_public_and_include_the_node_cohort(client: TestClient) -> None:
    datasets = get(client, "/datasets")
    assert_beacon_answer(datasets, "datasets")
    assert [d["id"] for d in datasets["response"]["collections"]] == ["org.genomed.test", CINECA]
    cohorts = get(client, "/cohorts")
    assert_beacon_answer(cohorts, "cohorts")
    assert get(client, "/cohorts/CINECA_synthetic_cohort_UK1/individuals?requestedGranularity=count")[
        "responseSummary"]["numTotalResults"] == 2504
    missing = client.get("/datasets/no-such-dataset")
    assert missing.status_code == 404
    assert_valid(missing.json(), RESPONSES + "beaconErrorResponse.json")


@pytest.mark.parametrize(("method", "url", "body", "status"), [
    ("GET", "/individuals?filters=NOPE:0001", None, 400),
    ("GET", "/individuals?referenceName=1", None, 400),
    ("GET", "/individuals?requestedGranularity=everything", None, 400),
    ("GET", "/individuals?limit=-1", None, 400),
    ("GET", "/individuals?skip=1&skip=2", None, 400),
    ("POST", "/individuals", b"{not json", 400),
    ("POST", "/individuals", b"[1, 2]", 400),
    ("POST", "/individuals", json.dumps({"query": {"filters": [{"id": "NCIT:C20197", "operator": "~",
                                                                "value": "x"}]}}).encode(), 400),
    ("POST", "/individuals", json.dumps({"query": {"pagination": {"limit": "ten"}}}).encode(), 400),
    ("POST", "/individuals", json.dumps({"query": {"unknown": 1}}).encode(), 400),
    ("POST", "/individuals", b" " * 70_000 + b"{}", 413),
    ("GET", "/individuals/HG00096/nothing-here", None, 404),
    ("DELETE", "/individuals", None, 405),
    ("POST", "/info", b"{}", 405),
])
def test_bad_requests_get_a_beacon_error_with_the_right_status(client: TestClient, method: str, url: str,
                                                               body: bytes | None, status: int) -> None:
    response = client.request(method, url, content=body, headers={"content-type": "application/json"})
    assert response.status_code == status, response.text
    assert_valid(response.json(), RESPONSES + "beaconErrorResponse.json")
    assert response.json()["error"]["errorCode"] == status


def test_unknown_filters_are_named_in_the_error(client: TestClient) -> None:
    response = client.get("/individuals?filters=NCIT:C20197,NOPE:0001")
    assert response.status_code == 400
    assert "NOPE:0001" in response.json()["error"]["errorMessage"]
    assert "NCIT:C20197" not in response.json()["error"]["errorMessage"]


def test_pages_are_capped(client: TestClient, broker: Broker) -> None:
    headers = broker.header("alice", datasets=(CINECA,))
    body = get(client, "/individuals?requestedGranularity=record&limit=100000", headers=headers)
    assert len(body["response"]["resultSets"][0]["results"]) == 100
    assert body["meta"]["receivedRequestSummary"]["pagination"]["limit"] == 100


def test_an_invalid_token_is_answered_at_the_public_tier_with_a_warning(client: TestClient, broker: Broker) -> None:
    forged = Broker(issuer=broker.issuer)  # same issuer name, another key
    body = get(client, "/individuals?requestedGranularity=record", headers=forged.header("mallory",
                                                                                         datasets=(CINECA,)))
    assert body["meta"]["returnedGranularity"] == "count"
    assert any("not accepted" in w for w in body["info"]["warnings"])


def test_every_answer_is_audited_with_its_requester(client: TestClient, node: NodeContext, broker: Broker) -> None:
    with node.transaction() as session:
        before = session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1))
    get(client, "/individuals?filters=NCIT:C20197&requestedGranularity=count", headers=broker.header("bob"))
    client.get("/individuals?filters=NOPE:1")
    with node.transaction() as session:
        entries = list(session.scalars(select(AuditEntry).where(AuditEntry.seq > before).order_by(AuditEntry.seq)))
    assert [(e.action, e.outcome) for e in entries] == [("beacon.query", "ok"), ("beacon.query", "failed")]
    assert entries[0].actor == f"{broker.issuer}#bob"
    details = json.loads(entries[0].details)
    assert details["filters"] == "NCIT:C20197" and details["returned"] == "count"


def test_records_of_the_cineca_load_follow_their_schemas(client: TestClient, broker: Broker) -> None:
    headers = broker.header("alice", datasets=(CINECA,))
    for path in ("individuals", "biosamples", "runs", "analyses", "g_variants"):
        body = get(client, f"/{path}?requestedGranularity=record&limit=20", headers=headers)
        assert_beacon_answer(body, path)
        assert body["response"]["resultSets"][0]["results"], path


def test_documents_keep_nothing_of_the_source_database(tmp_path: Path) -> None:
    from genomed.share.beacon.documents import read_directory

    rows, summary = read_directory(DIRECTORY)
    assert all("_id" not in row["body"] for row in rows)
    assert summary.repeats_dropped == 1  # genomicVariations.json repeats chr22_16139876_C_T verbatim


def test_doctests() -> None:
    """The examples in the Beacon modules' docstrings (coordinates, terms, granularity...) hold."""
    import doctest

    from genomed.share.beacon import coordinates, granularity, records, terms

    for module in (coordinates, granularity, records, terms):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__
