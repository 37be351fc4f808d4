"""Genomic variant queries on the node's own consented cohort: coordinates, granularity, consent, guard.

The cohort (``beacon_support.SITES``) is small and hand-made, so every expected answer follows from
who carries what and who consented to which sharing scope: 8 donors share internationally, 2
nationally only, 2 not at all; the node is French (FR). The guard's minimum count is 4 and its ramp is
steep (``membership_odds`` 1e6, ln 1e6 nats a carrier): 3 carriers or fewer are answered "no", 5 or more
"yes", but for one time in ~10^12, and 6 or more cost the donor ledger nothing. These tests are about
coordinates, granularity and consent; the guard's randomised release is tested in test_beacon_guard.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from beacon_support import Broker, Cohort, assert_beacon_answer, assert_valid, build_cohort
from genomed.audit.models import AuditEntry
from genomed.catalog import consents
from genomed.context import NodeContext
from genomed.node import init_node
from genomed.share.node import SharingNode
from genomed.share.server import create_app
from genomed.share.settings import BeaconSettings, GuardSettings, SharingSettings

DATASET = "org.genomed.test"
ERROR = "framework/json/responses/beaconErrorResponse.json"


def settings(broker: Broker, **guard: float) -> SharingSettings:
    return SharingSettings(beacon=BeaconSettings(id=DATASET, public_url="http://testserver"),
                           guard=GuardSettings(**{"min_count": 4, "membership_odds": 1e6, "budget_public": 10_000,
                                                  **guard}),
                           brokers=(broker.trusted(),))


@pytest.fixture(scope="module")
def broker() -> Broker:
    return Broker()


def _node(path: Path) -> tuple[NodeContext, Cohort]:
    ctx = init_node(path / "node", node_name="Variant node", country="FR")
    return ctx, build_cohort(ctx)


@pytest.fixture(scope="module")
def cohort_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeContext, Cohort]]:
    ctx, cohort = _node(tmp_path_factory.mktemp("variants"))
    try:
        yield ctx, cohort
    finally:
        ctx.close()


@pytest.fixture(scope="module")
def client(cohort_node: tuple[NodeContext, Cohort], broker: Broker) -> Iterator[TestClient]:
    with TestClient(create_app(SharingNode.open(cohort_node[0], settings(broker)))) as test_client:
        yield test_client


def ask(client: TestClient, query: str, headers: dict[str, str] | None = None, status: int = 200) -> dict[str, Any]:
    response = client.get(f"/g_variants?{query}", headers=headers)
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert_beacon_answer(body, "g_variants")
    return body


def exists(client: TestClient, query: str, headers: dict[str, str] | None = None) -> bool:
    answer: bool = ask(client, query, headers)["responseSummary"]["exists"]
    return answer


def count(client: TestClient, query: str, headers: dict[str, str] | None = None) -> int:
    answer: int = ask(client, f"{query}&requestedGranularity=count", headers)["responseSummary"]["numTotalResults"]
    return answer


def test_a_sequence_query_uses_zero_based_starts(client: TestClient) -> None:
    assert exists(client, "referenceName=1&start=999&referenceBases=A&alternateBases=G")
    assert not exists(client, "referenceName=1&start=1000&referenceBases=A&alternateBases=G")  # the VCF POS
    assert not exists(client, "referenceName=1&start=999&referenceBases=A&alternateBases=T")
    for name in ("chr1", "NC_000001.11", "refseq:NC_000001.11"):
        assert exists(client, f"referenceName={name}&start=999&referenceBases=A&alternateBases=G")
    assert exists(client, "referenceName=1&start=999&alternateBases=G")  # any reference allele
    assert exists(client, "referenceName=1&start=999&referenceBases=A&alternateBases=N")  # wildcard


def test_indels_are_found_vcf_style_and_trimmed(client: TestClient) -> None:
    # chr1:4000 CA>C (a deletion of the A at 0-based 4000) and chr1:5000 T>TA (an insertion after 5000)
    assert exists(client, "referenceName=1&start=3999&referenceBases=CA&alternateBases=C")
    assert exists(client, "referenceName=1&start=4000&referenceBases=A&alternateBases=")
    assert exists(client, "referenceName=1&start=4999&referenceBases=T&alternateBases=TA")
    assert exists(client, "referenceName=1&start=5000&referenceBases=&alternateBases=A")
    assert not exists(client, "referenceName=1&start=5000&referenceBases=&alternateBases=C")


def test_post_and_get_give_the_same_answer(client: TestClient) -> None:
    body = {"meta": {"apiVersion": "v2.0.0"}, "query": {"requestedGranularity": "count", "requestParameters": {
        "referenceName": "1", "start": [999], "referenceBases": "A", "alternateBases": "G"}}}
    posted = client.post("/g_variants", json=body).json()
    assert_beacon_answer(posted, "g_variants")
    got = ask(client, "referenceName=1&start=999&referenceBases=A&alternateBases=G&requestedGranularity=count")
    assert posted["responseSummary"] == got["responseSummary"] == {"exists": True, "numTotalResults": 1}


def test_rare_variants_are_suppressed_like_absent_ones(client: TestClient) -> None:
    """chr1:2000 has 3 carriers (< 4): the public answer cannot be told apart from a true absence."""
    rare = ask(client, "referenceName=1&start=1999&referenceBases=C&alternateBases=T&requestedGranularity=count")
    absent = ask(client, "referenceName=1&start=1999&referenceBases=C&alternateBases=G&requestedGranularity=count")
    assert rare == absent
    assert rare["responseSummary"] == {"exists": False, "numTotalResults": 0}


def test_a_controlled_grant_sees_rare_variants_and_records(client: TestClient, broker: Broker,
                                                           cohort_node: tuple[NodeContext, Cohort]) -> None:
    _, cohort = cohort_node
    controlled = broker.header("carol", datasets=(DATASET,), country="SE")
    assert count(client, "referenceName=1&start=1999&referenceBases=C&alternateBases=T", controlled) == 1
    body = ask(client, "referenceName=1&start=1999&referenceBases=C&alternateBases=T&requestedGranularity=record",
               controlled)
    assert body["meta"]["returnedGranularity"] == "record"
    (record,) = body["response"]["resultSets"][0]["results"]
    assert record["variantInternalId"] == "chr1:2000:C:T"
    location = record["variation"]["location"]
    assert location["sequence_id"] == "refseq:NC_000001.11"
    assert (location["interval"]["start"]["value"], location["interval"]["end"]["value"]) == (1999, 2000)
    assert {c["individualId"] for c in record["caseLevelData"]} == set(cohort.pseudonyms[:3])
    assert record["frequencyInPopulations"][0]["frequencies"][0]["alleleCount"] == 3


def test_records_need_a_grant_for_that_dataset(client: TestClient, broker: Broker) -> None:
    other = broker.header("dave", datasets=("another-dataset",))
    body = ask(client, "referenceName=1&start=999&referenceBases=A&alternateBases=G&requestedGranularity=record",
               other)
    assert body["meta"]["returnedGranularity"] == "count"
    assert body["responseSummary"] == {"exists": True, "numTotalResults": 1}
    assert "response" not in body


def test_the_consent_scope_follows_the_requesters_country(client: TestClient, broker: Broker,
                                                          cohort_node: tuple[NodeContext, Cohort]) -> None:
    """chr1:3000 is carried by 5 donors who share internationally and 2 who share nationally only."""
    _, cohort = cohort_node
    query = "referenceName=1&start=2999&referenceBases=G&alternateBases=A&requestedGranularity=record"

    def carriers(headers: dict[str, str]) -> set[str]:
        (record,) = ask(client, query, headers)["response"]["resultSets"][0]["results"]
        return {c["individualId"] for c in record["caseLevelData"]}

    assert carriers(broker.header("erin", datasets=(DATASET,), country="FR")) == set(cohort.pseudonyms[:5] +
                                                                                     cohort.pseudonyms[8:10])
    assert carriers(broker.header("frank", datasets=(DATASET,), country="SE")) == set(cohort.pseudonyms[:5])
    assert carriers(broker.header("grace", datasets=(DATASET,))) == set(cohort.pseudonyms[:5])  # country unknown


def test_donors_without_sharing_consent_are_never_counted(client: TestClient, broker: Broker,
                                                          cohort_node: tuple[NodeContext, Cohort]) -> None:
    """chr1:6000 is carried by donors 10 and 11 (care consent only) and by donors 0 and 1."""
    _, cohort = cohort_node
    query = "referenceName=1&start=5999&referenceBases=G&alternateBases=C"
    assert not exists(client, query)
    body = ask(client, f"{query}&requestedGranularity=record", broker.header("heidi", datasets=(DATASET,),
                                                                            country="FR"))
    (record,) = body["response"]["resultSets"][0]["results"]
    assert {c["individualId"] for c in record["caseLevelData"]} == set(cohort.pseudonyms[:2])
    assert record["frequencyInPopulations"][0]["frequencies"][0]["alleleCount"] == 2


def test_range_queries_count_visible_variants(client: TestClient, broker: Broker) -> None:
    # chr1 sites with >= min_count + 1 = 5 international consented carriers: 1000, 3000, 4000, 5000 (not 2000 nor 6000)
    assert count(client, "referenceName=1&start=900&end=6100") == 4
    assert count(client, "referenceName=1&start=900&end=6100&variantType=DEL") == 1
    assert count(client, "referenceName=1&start=900&end=6100&variantType=INDEL") == 2
    assert count(client, "referenceName=1&start=900&end=6100&variantType=SNP") == 2
    assert count(client, "referenceName=1&start=900&end=6100&alternateBases=A") == 2  # 3000 G>A and 5000 T>TA
    assert count(client, "referenceName=1&start=1000&end=2999") == 0  # end is exclusive: 3000 is 0-based 2999
    assert count(client, "referenceName=1&start=1000&end=3000") == 1
    assert count(client, "referenceName=2&start=99999&end=100100") == 2
    assert count(client, "referenceName=1&start=900&end=6100", broker.header("ivan", datasets=(DATASET,))) == 6
    # a bracket query: variants starting within [3990, 4010] and ending within [4000, 4010]
    assert count(client, "referenceName=1&start=3990&start=4010&end=4000&end=4010") == 1


def test_gene_queries_use_the_mane_span(client: TestClient) -> None:
    assert count(client, "geneId=BRCA1") == 1
    assert count(client, "geneId=brca1&variantType=SNP") == 1
    assert count(client, "geneId=TP53") == 0
    response = client.get("/g_variants?geneId=NOT-A-GENE")
    assert response.status_code == 400 and "NOT-A-GENE" in response.json()["error"]["errorMessage"]


def test_a_single_variant_by_id_and_hgvs(client: TestClient) -> None:
    body = client.get("/g_variants/chr1:1000:A:G?requestedGranularity=count").json()
    assert_beacon_answer(body, "g_variants")
    assert body["responseSummary"]["numTotalResults"] == 1
    assert count(client, "genomicAlleleShortForm=NC_000017.11:g.43045712G>A") == 1
    assert count(client, "allele=NC_000017.11:g.43045712G>T") == 0


def test_an_assembly_other_than_the_nodes_finds_nothing(client: TestClient) -> None:
    assert not exists(client, "referenceName=1&start=999&referenceBases=A&alternateBases=G&assemblyId=GRCh37")
    assert exists(client, "referenceName=1&start=999&referenceBases=A&alternateBases=G&assemblyId=hg38")


@pytest.mark.parametrize("query", [
    "start=999&alternateBases=G",                                   # no referenceName
    "referenceName=1&start=999",                                    # a sequence query without alternateBases
    "referenceName=1&start=999&end=999",                            # end not after start
    "referenceName=1&start=0&end=6000000",                          # too wide
    "referenceName=chrUn_KI270302v1&start=1&alternateBases=A",       # not a primary chromosome
    "referenceName=1&start=-5&alternateBases=A",
    "referenceName=1&start=one&alternateBases=A",
    "referenceName=1&start=999&alternateBases=Z",
    "referenceName=1&start=999&alternateBases=G&referenceBass=A",   # misspelt parameter
    "aminoacidChange=V600E",
    "geneId=BRCA1&start=5",
    "referenceName=1&start=999&alternateBases=G&assemblyId=hg17",
])
def test_malformed_variant_queries_get_400(client: TestClient, query: str) -> None:
    response = client.get(f"/g_variants?{query}")
    assert response.status_code == 400, response.text
    assert_valid(response.json(), ERROR)


def test_withdrawing_consent_removes_a_carrier_at_once(tmp_path: Path, broker: Broker) -> None:
    ctx, cohort = _node(tmp_path)
    try:
        with TestClient(create_app(SharingNode.open(ctx, settings(broker)))) as client:
            query = "referenceName=1&start=2999&referenceBases=G&alternateBases=A"
            assert count(client, query) == 1  # 5 international carriers: one above the minimum
            for donor in cohort.pseudonyms[:2]:
                consents.withdraw_consent(ctx, "steward", pseudonym=donor, scopes=["international_sharing"],
                                          reason="letter")
            assert count(client, query) == 0  # 3 carriers now: suppressed, from the next query on
            national = broker.header("judy", datasets=(DATASET,), country="FR")
            (record,) = ask(client, f"{query}&requestedGranularity=record", national)["response"]["resultSets"][0][
                "results"]
            assert cohort.pseudonyms[0] in {c["individualId"] for c in record["caseLevelData"]}  # national: kept
    finally:
        ctx.close()


def test_budgets_run_out_with_a_429_and_the_refusal_is_audited(tmp_path: Path, broker: Broker) -> None:
    ctx = init_node(tmp_path / "node", node_name="Budget node", country="FR")
    try:
        with TestClient(create_app(SharingNode.open(ctx, settings(broker, budget_public=3)))) as client:
            query = "/g_variants?referenceName=1&start=999&referenceBases=A&alternateBases=G"
            assert [client.get(query).status_code for _ in range(3)] == [200, 200, 200]
            refused = client.get(query)
            assert refused.status_code == 429
            assert_valid(refused.json(), ERROR)
            assert refused.json()["error"]["errorCode"] == 429
            assert client.get(query, headers=broker.header("kim", datasets=(DATASET,))).status_code == 200
        with ctx.transaction() as session:
            entries = list(session.scalars(select(AuditEntry).where(AuditEntry.action == "beacon.query")
                                           .order_by(AuditEntry.seq)))
        assert [e.outcome for e in entries] == ["ok", "ok", "ok", "denied", "ok"]
        assert json.loads(entries[3].details)["reason"] == "query budget spent"
    finally:
        ctx.close()
