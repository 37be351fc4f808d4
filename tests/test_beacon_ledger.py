"""The ledger's group commits: every answer audited once, budgets charged in order, the chain intact."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import func, select

from genomed.audit.models import AuditCheckpoint, AuditEntry
from genomed.audit.trail import PendingEntry
from genomed.context import NodeContext
from genomed.errors import BudgetExhaustedError, InputError
from genomed.share.beacon.ledger import Entry, Ledger
from genomed.share.identity import Requester, Tier
from genomed.share.node import SharingNode
from genomed.share.settings import GuardSettings, SharingSettings


def ledger_of(ctx: NodeContext, budget: int = 1000) -> Ledger:
    return Ledger(SharingNode.open(ctx, SharingSettings(guard=GuardSettings(budget_public=budget))))


def test_concurrent_answers_are_each_audited_once_and_the_chain_verifies(node: NodeContext) -> None:
    ledger = ledger_of(node)
    requesters = [Requester.anonymous(f"10.0.0.{i}") for i in range(7)]

    async def answer_all() -> None:
        await asyncio.gather(*(ledger.record(Entry(requesters[i % 7], "beacon.query", "g_variants", f"q{i}",
                                                   details={"n": i})) for i in range(250)))

    asyncio.run(answer_all())
    ledger.close()
    with node.transaction() as session:
        entries = list(session.scalars(select(AuditEntry).where(AuditEntry.action == "beacon.query")
                                       .order_by(AuditEntry.seq)))
        checkpoints = session.scalar(select(func.count()).select_from(AuditCheckpoint))
        report = node.audit.verify(session)
    assert sorted(json.loads(e.details)["n"] for e in entries) == list(range(250))
    assert [e.seq for e in entries] == list(range(entries[0].seq, entries[0].seq + 250))
    assert all(json.loads(e.details)["requester"] == e.actor for e in entries)
    assert report.ok, report.problem
    assert checkpoints == (entries[-1].seq // 100)  # signed every 100 entries, as one-by-one appends are
    assert ledger.groups_written < 250  # the answers were grouped


def test_a_spent_budget_refuses_the_answers_beyond_it_in_order(node: NodeContext) -> None:
    ledger = ledger_of(node, budget=5)
    someone = Requester.anonymous("10.1.1.1")
    controlled = Requester("broker#x", Tier.CONTROLLED, controlled_datasets=frozenset({"DS"}))
    futures = [ledger.submit(Entry(someone, "beacon.query", "g_variants", f"q{i}")) for i in range(8)]
    futures.append(ledger.submit(Entry(controlled, "beacon.query", "g_variants", "unbudgeted")))
    results = [f.result() for f in futures]
    ledger.close()
    assert [r is None for r in results] == [True] * 5 + [False] * 3 + [True]
    assert all(isinstance(r, BudgetExhaustedError) for r in results[5:8])
    with node.transaction() as session:
        outcomes = [e.outcome for e in session.scalars(select(AuditEntry).where(AuditEntry.action == "beacon.query")
                                                       .order_by(AuditEntry.seq))]
    assert outcomes == ["ok"] * 5 + ["denied"] * 3 + ["ok"]


def test_an_entry_that_cannot_be_written_fails_alone(node: NodeContext) -> None:
    ledger = ledger_of(node)
    someone = Requester.anonymous("10.2.2.2")
    good = [ledger.submit(Entry(someone, "beacon.query", "g_variants", f"q{i}")) for i in range(3)]
    bad = ledger.submit(Entry(someone, "beacon.query", "g_variants", "q", details={"surname": "Doe"}))
    assert all(f.result() is None for f in good)
    with pytest.raises(InputError, match="identifying"):
        bad.result()
    ledger.close()
    with node.transaction() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == "beacon.query")) == 3


def test_record_many_chains_exactly_like_record(node: NodeContext) -> None:
    trail = node.audit
    with node.transaction() as session:
        trail.record(session, actor="a", action="x", object_type="t", object_id="1", purpose="sharing")
        seqs = trail.record_many(session, [PendingEntry("a", "x", "t", str(i), "sharing", details={"i": i})
                                           for i in range(150)])
        trail.record(session, actor="a", action="x", object_type="t", object_id="last", purpose="sharing")
        assert trail.record_many(session, []) == []
    with node.transaction() as session:
        report = trail.verify(session)
        last = session.scalar(select(func.max(AuditEntry.seq)))
    assert report.ok, report.problem
    assert seqs == list(range(seqs[0], seqs[0] + 150)) and last == seqs[-1] + 1
    assert report.checkpoints_checked == last // 100
    with pytest.raises(InputError), node.transaction() as session:
        trail.record_many(session, [PendingEntry("a", "x", "t", "1", "sharing"),
                                    PendingEntry("a", "x", "t", "2", "sharing", outcome="maybe")])
    with node.transaction() as session:
        assert session.scalar(select(func.max(AuditEntry.seq))) == last  # the valid first entry was not written
