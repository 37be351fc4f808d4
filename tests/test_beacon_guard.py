"""The Beacon's variant answers below the controlled tier go through the privacy guard's donor ledger.

The cohort is ``beacon_support.SITES`` under the default guard (min_count 5, membership_odds 2: a ramp
of ln 2 nats a carrier), with a seeded generator so that a failure can be replayed. chr1:1000 has six
internationally consented carriers (donors 0-5): "yes" three times in four, telling ln 1.5 nats about
each carrier, after which none of them can afford another "yes" (the cap is ln 2).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from beacon_support import Broker, Cohort, build_cohort
from genomed.audit.models import AuditEntry
from genomed.context import NodeContext
from genomed.node import init_node
from genomed.share.guard import DONOR_PREFIX, LEDGER_PERIOD, MICRO
from genomed.share.models import PrivacyBudget
from genomed.share.node import SharingNode
from genomed.share.server import create_app
from genomed.share.settings import BeaconSettings, GuardSettings, SharingSettings

DATASET = "org.genomed.guarded"
NEAR = "referenceName=1&start=999&referenceBases=A&alternateBases=G"      # 6 carriers: donors 0-5
RARE = "referenceName=1&start=1999&referenceBases=C&alternateBases=T"     # 3 carriers
ABSENT = "referenceName=1&start=1999&referenceBases=C&alternateBases=G"   # nobody


@pytest.fixture(scope="module")
def broker() -> Broker:
    return Broker()


@pytest.fixture
def guarded(tmp_path: Path, broker: Broker) -> Iterator[tuple[NodeContext, Cohort, TestClient]]:
    ctx = init_node(tmp_path / "node", node_name="Guarded node", country="FR")
    try:
        cohort = build_cohort(ctx)
        settings = SharingSettings(beacon=BeaconSettings(id=DATASET, public_url="http://testserver"),
                                   guard=GuardSettings(budget_public=10_000), brokers=(broker.trusted(),))
        node = SharingNode.open(ctx, settings)
        node.guard.rng = random.Random(20)
        with TestClient(create_app(node)) as client:
            yield ctx, cohort, client
    finally:
        ctx.close()


def ask(client: TestClient, query: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = client.get(f"/g_variants?{query}&requestedGranularity=count", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def donor_ledger(ctx: NodeContext) -> dict[str, int]:
    with ctx.transaction() as session:
        rows = session.execute(select(PrivacyBudget.identity, PrivacyBudget.spent)
                               .where(PrivacyBudget.period == LEDGER_PERIOD))
        return {identity.removeprefix(DONOR_PREFIX): spent for identity, spent in rows}


def test_near_threshold_answers_are_charged_to_their_carriers_then_leave_them_out(
        guarded: tuple[NodeContext, Cohort, TestClient]) -> None:
    ctx, cohort, client = guarded
    answers = [ask(client, NEAR)["responseSummary"]["exists"] for _ in range(40)]
    assert True in answers
    first = answers.index(True)
    # Before the first "yes" nothing was charged ("no" is no evidence of presence); after it the six
    # carriers are out of evidence and the allele reads as absent: "yes" one time in 64.
    assert answers[first + 1:].count(True) <= 3, answers
    charged = donor_ledger(ctx)
    assert set(charged) == {f"sample:{s}" for s in cohort.sample_ids[:6]}
    assert all(spent == math.ceil(math.log(1.5) * MICRO) for spent in charged.values())
    with ctx.transaction() as session:  # every answer audited with what was released
        audited = [json.loads(e.details)["exists"] for e in session.scalars(
            select(AuditEntry).where(AuditEntry.action == "beacon.query").order_by(AuditEntry.seq))]
    assert audited == answers


def test_a_suppressed_answer_is_an_absence_and_controlled_answers_are_exact(
        guarded: tuple[NodeContext, Cohort, TestClient], broker: Broker) -> None:
    ctx, _, client = guarded
    rare = [ask(client, RARE) for _ in range(30)]
    absent = [ask(client, ABSENT) for _ in range(30)]
    noes = {json.dumps(b, sort_keys=True) for b in rare + absent if not b["responseSummary"]["exists"]}
    assert len(noes) == 1  # a "no" about 3 carriers is byte for byte a "no" about nobody
    assert sum(b["responseSummary"]["exists"] for b in rare) <= 8  # P(yes | 3 carriers) = 1/8
    before = donor_ledger(ctx)
    controlled = broker.header("carol", datasets=(DATASET,), country="SE")
    assert {ask(client, RARE, controlled)["responseSummary"]["numTotalResults"] for _ in range(10)} == {1}
    assert {ask(client, ABSENT, controlled)["responseSummary"]["exists"] for _ in range(10)} == {False}
    assert donor_ledger(ctx) == before  # accountable access is not ledgered
