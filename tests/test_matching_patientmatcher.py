"""Interoperability with PatientMatcher, an MME node used in production, both ways, over real HTTP.

The 50 MME benchmark patients are split between the two nodes (even positions on ours, odd on
PatientMatcher), so every match crosses the wire: (a) our node sends one of its cases to
PatientMatcher's ``/match`` and reads its answer; (b) PatientMatcher, asked by its own API to
match one of its patients externally, queries our ``/match`` through its own external-match code
(``patientMatcher.match.handler.external_matcher``) and returns our results. How PatientMatcher is
run (mongomock, its Ensembl lookups on loopback) is explained in ``tests/mme_peer.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from genomed.audit.models import AuditEntry
from genomed.context import NodeContext
from genomed.node import init_node
from genomed.share.matching.benchmark import disorder_ids
from genomed.share.matching.documents import parse_patient
from genomed.share.matching.outgoing import query_peer_with_case
from genomed.share.matching.store import import_patients
from genomed.share.settings import BeaconSettings, Peer, SharingSettings
from mme_peer import PM_NODE_ID, PatientMatcherPeer, free_port, patientmatcher_peer
from mme_support import BENCHMARK, add_steward, serve_node, sha256

TOKEN_WE_SEND_PM = "pm-client-token-3f2a9c8e7d6b5a4f3e2d1c0b9a8f7e6d"  # PatientMatcher's client token for us
TOKEN_PM_SENDS_US = "pm-node-token-7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b"  # the token we issued PatientMatcher


@dataclass
class Federation:
    ctx: NodeContext
    our_url: str
    settings: SharingSettings
    pm: PatientMatcherPeer


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    tmp = tmp_path_factory.mktemp("pm")
    patients = json.loads(BENCHMARK.read_text())
    theirs = tmp / "patientmatcher-patients.json"
    theirs.write_text(json.dumps(patients[1::2]))
    ctx = init_node(tmp / "node", node_name="genomed FR", country="FR")
    try:
        add_steward(ctx)
        import_patients(ctx, "steward", patients[0::2], origin="benchmark (even)")
        pm_port = free_port()
        settings = SharingSettings(
            beacon=BeaconSettings(organisation="PFMG test", contact_url="mailto:mme@pfmg.example.org"),
            peers=(Peer(name="PatientMatcher", country="SE", url=f"http://127.0.0.1:{pm_port}",
                        mme_token_out=TOKEN_WE_SEND_PM, mme_token_in_sha256=sha256(TOKEN_PM_SENDS_US)),))
        with serve_node(ctx, settings) as (our_url, _), \
                patientmatcher_peer(client_token=TOKEN_WE_SEND_PM, node_token=TOKEN_PM_SENDS_US, our_url=our_url,
                                    patients=theirs, port=pm_port) as pm:
            yield Federation(ctx, our_url, settings, pm)
    finally:
        ctx.close()


def _audit(ctx: NodeContext, action: str) -> list[AuditEntry]:
    with ctx.transaction() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def _disorders_of(case_id: str) -> frozenset[str]:
    return disorder_ids(parse_patient(next(p for p in json.loads(BENCHMARK.read_text()) if p["id"] == case_id)))


def test_our_node_queries_patientmatcher(federation: Federation) -> None:
    """(a) One of our SNRPB cases (cerebrocostomandibular syndrome) sent to PatientMatcher's /match."""
    ours = "P0001025"
    answer = query_peer_with_case(federation.ctx, "steward", federation.settings, peer_name="PatientMatcher",
                                  case_id=ours, timeout=60)
    assert not answer.problems
    assert 1 <= len(answer.results) <= 5
    found = [r.patient for r in answer.results]
    assert ours not in {p.id for p in found}  # it lives on our node only
    assert all(0.0 <= r.score <= 1.0 for r in answer.results)
    same = [p for p in found if disorder_ids(p) & _disorders_of(ours)]
    assert len(same) == len(found)  # PatientMatcher holds 6 other SNRPB patients: all 5 results are some
    # PatientMatcher stores genes as Ensembl ids (converted through its Ensembl client): still SNRPB to us
    assert all(f.gene.id == "ENSG00000125835" for p in found for f in p.genomicFeatures)
    entry = _audit(federation.ctx, "mme.match.out")[-1]
    details = json.loads(entry.details)
    assert (entry.outcome, details["peer"], details["results"]) == ("ok", "PatientMatcher", len(found))


def test_patientmatcher_queries_our_node_through_its_external_matcher(federation: Federation) -> None:
    """(b) PatientMatcher's own external-match path: it POSTs to our /match with our token and keeps our answer."""
    theirs = "P0001069"  # an NGLY1 patient (congenital disorder of deglycosylation) on PatientMatcher
    response = httpx.post(f"{federation.pm.url}/match/external/{theirs}", params={"node": PM_NODE_ID},
                          headers={"X-Auth-Token": TOKEN_WE_SEND_PM}, timeout=120)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == 1 and results[0]["node"]["id"] == PM_NODE_ID
    patients = [parse_patient(m["patient"]) for m in results[0]["patients"]]
    scores = [m["score"]["patient"] for m in results[0]["patients"]]
    assert patients and scores == sorted(scores, reverse=True)
    assert theirs not in {p.id for p in patients}
    ours_ngly1 = {"P0001070", "P0001076", "P0001079"}  # the NGLY1 patients at even positions: ours
    assert {p.id for p in patients[:3]} == ours_ngly1
    assert all(disorder_ids(p) & _disorders_of(theirs) for p in patients[:3])
    entry = _audit(federation.ctx, "mme.match")[-1]
    details = json.loads(entry.details)
    assert (entry.outcome, entry.actor, entry.object_id) == ("ok", "node:PatientMatcher", theirs)
    assert details["results"] == len(patients)


def test_patientmatcher_with_a_token_we_never_issued_gets_401(federation: Federation, tmp_path: Path) -> None:
    """A PatientMatcher registered with the wrong token: our node refuses it and audits the refusal."""
    one = tmp_path / "one-patient.json"
    one.write_text(json.dumps([p for p in json.loads(BENCHMARK.read_text()) if p["id"] == "P0001069"]))
    with patientmatcher_peer(client_token=TOKEN_WE_SEND_PM, node_token="a-token-we-never-issued-0000000000",
                             our_url=federation.our_url, patients=one) as rogue:
        response = httpx.post(f"{rogue.url}/match/external/P0001069", params={"node": PM_NODE_ID},
                              headers={"X-Auth-Token": TOKEN_WE_SEND_PM}, timeout=120)
    assert response.status_code == 200
    assert response.json()["results"][0]["patients"] == []  # PatientMatcher reads our 401 body as no results
    entry = _audit(federation.ctx, "mme.match")[-1]
    assert (entry.outcome, entry.actor) == ("denied", "anonymous:127.0.0.1")
