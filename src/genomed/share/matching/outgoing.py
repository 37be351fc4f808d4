"""Sending one of our cases to a peer matchmaker: the same consent rule as answering, and an audit entry.

A case may leave the node only while it could be matched here: not withdrawn, and for a catalog
case with the patient's ``case_matching`` consent in force at the moment of sending. The check and
the network call are separate steps (no database transaction is held open over the network); the
outcome, answered or failed, is audited with the peer's name.
"""

from __future__ import annotations

import httpx

from genomed.access.purpose import Purpose
from genomed.catalog.guard import authorize
from genomed.context import NodeContext
from genomed.errors import ConsentError, PeerError
from genomed.share.matching.client import DEFAULT_TIMEOUT, PeerAnswer, query_peer
from genomed.share.matching.documents import parse_patient
from genomed.share.matching.store import MATCHING_PERMISSION, case_by_id, is_matchable
from genomed.share.settings import SharingSettings

ACTION = "mme.match.out"


def query_peer_with_case(ctx: NodeContext, actor: str, settings: SharingSettings, *, peer_name: str, case_id: str,
                         timeout: float = DEFAULT_TIMEOUT, client: httpx.Client | None = None) -> PeerAnswer:
    """Ask ``peer_name`` for patients like our match case ``case_id``."""
    peer = settings.peer(peer_name)
    with ctx.transaction() as session:
        authorize(ctx, session, actor, MATCHING_PERMISSION, object_type="match_case", object_id=case_id[:128],
                  purpose=Purpose.SHARING)
        row = case_by_id(session, case_id)
        if not is_matchable(session, row):
            why = "was withdrawn" if row.withdrawn_at is not None else "has no case-matching consent in force"
            ctx.audit.record(session, actor=actor, action=ACTION, object_type="match_case", object_id=row.case_id,
                             purpose=Purpose.SHARING, outcome="denied", details={"peer": peer.name, "reason": why})
            refusal = ConsentError(f"match case {row.case_id} {why}: it may not be sent to {peer.name}")
        else:
            refusal = None
            patient = parse_patient(row.document, where=f"match case {row.case_id}")
    if refusal is not None:
        raise refusal
    try:
        answer = query_peer(peer, patient, timeout=timeout, client=client)
    except PeerError as exc:
        with ctx.transaction() as session:
            ctx.audit.record(session, actor=actor, action=ACTION, object_type="match_case", object_id=case_id,
                             purpose=Purpose.SHARING, outcome="failed",
                             details={"peer": peer.name, "reason": str(exc)[:500]})
        raise
    with ctx.transaction() as session:
        ctx.audit.record(session, actor=actor, action=ACTION, object_type="match_case", object_id=case_id,
                         purpose=Purpose.SHARING,
                         details={"peer": peer.name, "results": len(answer.results), "problems": len(answer.problems)})
    return answer


__all__ = ["ACTION", "query_peer_with_case"]
