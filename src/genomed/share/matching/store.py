"""The cases a node offers to matchmaking, and which of them may be matched at this moment.

Rows of ``match_cases`` (:class:`~genomed.share.models.MatchCase`) hold MME patient documents of
two origins:

* ``imported``: documents a data steward loaded from an MME file (another programme's export, the
  MME benchmark patients). Importing *is* the steward's statement that the patients consented to
  matchmaking; such a case is matchable until it is withdrawn.
* ``catalog``: made from one of our own patients by :mod:`.publish`. It is matchable only while
  that patient's ``case_matching`` consent is in force, read at query time: a withdrawn consent
  removes the case from the very next answer, without anyone touching the row (DESIGN.md:
  consent is enforced at read time).

A withdrawn row (``withdrawn_at`` set) is never matched, whatever its origin. Re-importing a
document with the same id replaces it (``created_at``/``created_by`` then name that version) and
reinstates it. Each write is audited with the steward's name; documents are checked by
:func:`~genomed.share.matching.documents.parse_patient`, all of a file before any row is written.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session

from genomed.access.purpose import Purpose
from genomed.access.roles import Permission
from genomed.catalog.consent_rules import Scope, active_scopes
from genomed.catalog.guard import authorize
from genomed.catalog.models import Consent, ConsentScope, Patient
from genomed.context import NodeContext
from genomed.db.base import utcnow
from genomed.errors import DuplicateError, InputError, NotFoundError, StateError
from genomed.share.matching.documents import MmeDocumentError, MmePatient, parse_patient, unplaced_variants
from genomed.share.models import MatchCase

SOURCE_CATALOG = "catalog"
SOURCE_IMPORTED = "imported"
MATCHING_PERMISSION = Permission.SHARE_FILE
"""Offering a case to other organisations is a disclosure: the data steward's ``share_file`` permission
(the role model has no permission of matchmaking's own)."""


def consented_patients(at: dt.datetime) -> Select[Any]:
    """A sub-select of the ids of patients whose case-matching consent is in force at ``at``."""
    return (select(Consent.patient_id)
            .join(ConsentScope, ConsentScope.consent_id == Consent.id)
            .where(ConsentScope.scope == Scope.CASE_MATCHING.value, Consent.given_at <= at,
                   or_(ConsentScope.withdrawn_at.is_(None), ConsentScope.withdrawn_at > at)))


def _matchable(at: dt.datetime | None) -> ColumnElement[bool]:
    moment = at or utcnow()
    return and_(MatchCase.withdrawn_at.is_(None),
                or_(MatchCase.source == SOURCE_IMPORTED,
                    and_(MatchCase.source == SOURCE_CATALOG, MatchCase.patient_id.in_(consented_patients(moment)))))


def matchable_cases(session: Session, at: dt.datetime | None = None) -> list[MatchCase]:
    """Every case that may be matched at ``at`` (now): not withdrawn, and consented if from the catalog."""
    return list(session.scalars(select(MatchCase).where(_matchable(at)).order_by(MatchCase.id)))


@dataclass(frozen=True)
class CaseVersion:
    """Which version of which case: enough to find its prepared form in a cache without reading the document."""

    row_id: int
    case_id: str
    stored_at: dt.datetime


def matchable_versions(session: Session, at: dt.datetime | None = None) -> list[CaseVersion]:
    """:func:`matchable_cases` without the documents (the per-query path reads only what changed)."""
    rows = session.execute(select(MatchCase.id, MatchCase.case_id, MatchCase.created_at).where(_matchable(at))
                           .order_by(MatchCase.id))
    return [CaseVersion(row_id, case_id, stored_at) for row_id, case_id, stored_at in rows]


def documents_of(session: Session, row_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The stored documents of some rows, in one query."""
    if not row_ids:
        return {}
    return {row_id: document for row_id, document in
            session.execute(select(MatchCase.id, MatchCase.document).where(MatchCase.id.in_(list(row_ids))))}


def is_matchable(session: Session, row: MatchCase, at: dt.datetime | None = None) -> bool:
    """Whether one case may be matched (or sent to a peer) at ``at`` (now): the same rule as :func:`matchable_cases`."""
    if row.withdrawn_at is not None:
        return False
    if row.source == SOURCE_IMPORTED:
        return True
    patient = session.get(Patient, row.patient_id) if row.patient_id is not None else None
    return patient is not None and Scope.CASE_MATCHING in active_scopes(session, patient, at)


def case_by_id(session: Session, case_id: str) -> MatchCase:
    row = session.scalar(select(MatchCase).where(MatchCase.case_id == case_id.strip()))
    if row is None:
        raise NotFoundError(f"no match case {case_id!r}")
    return row


def read_patients_file(path: Path) -> list[object]:
    """The patient documents of an MME JSON file: a list of patients, ``{"patients": [...]}`` or one patient."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path} is not JSON: {exc}") from exc
    if isinstance(document, dict) and isinstance(document.get("patients"), list):
        return list(document["patients"])
    if isinstance(document, dict) and "patient" in document and isinstance(document["patient"], dict):
        return [document["patient"]]
    if isinstance(document, dict):
        return [document]
    if isinstance(document, list):
        return list(document)
    raise InputError(f"{path}: expected a JSON list of MME patients, got {type(document).__name__}")


@dataclass(frozen=True)
class ImportOutcome:
    added: tuple[str, ...]
    updated: tuple[str, ...]
    notes: tuple[str, ...]


def parse_all(documents: Sequence[object], origin: str) -> tuple[list[MmePatient], list[str]]:
    """Every document parsed, or one :class:`MmeDocumentError` naming each bad patient and field."""
    patients: list[MmePatient] = []
    problems: list[str] = []
    notes: list[str] = []
    for i, raw in enumerate(documents):
        name = f"{origin} patient #{i + 1}"
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            name += f" ({raw['id']})"
        try:
            patients.append(parse_patient(raw))
        except MmeDocumentError as exc:
            problems.append(f"{name}: {exc}")
            continue
        unplaced = unplaced_variants(raw)
        if unplaced:
            notes.append(f"{name}: variant without a start position kept as its gene only: {', '.join(unplaced)}")
    seen: set[str] = set()
    for patient in patients:
        if patient.id in seen:
            problems.append(f"{origin}: patient id {patient.id!r} appears twice")
        seen.add(patient.id)
    if problems:
        raise MmeDocumentError(f"{len(problems)} invalid patient(s), nothing imported: " + " | ".join(problems))
    if not patients:
        raise InputError(f"{origin}: no patient to import")
    return patients, notes


def import_patients(ctx: NodeContext, actor: str, documents: Sequence[object], *, origin: str) -> ImportOutcome:
    """Import MME patients as ``imported`` match cases (the steward asserts their consent by doing so)."""
    patients, notes = parse_all(documents, origin)
    added: list[str] = []
    updated: list[str] = []
    with ctx.transaction() as session:
        user = authorize(ctx, session, actor, MATCHING_PERMISSION, object_type="match_cases", object_id=origin[:128],
                         purpose=Purpose.SHARING)
        existing = {row.case_id: row for row in session.scalars(
            select(MatchCase).where(MatchCase.case_id.in_([p.id for p in patients])))}
        for patient in patients:
            row = existing.get(patient.id)
            if row is None:
                session.add(MatchCase(case_id=patient.id, patient_id=None, source=SOURCE_IMPORTED,
                                      document=patient.to_json(), created_by=user.id, created_at=utcnow()))
                added.append(patient.id)
                continue
            if row.source != SOURCE_IMPORTED:
                raise DuplicateError(f"match case {patient.id!r} is published from our catalog; an import cannot "
                                     "replace it")
            row.document, row.created_by, row.created_at, row.withdrawn_at = (patient.to_json(), user.id, utcnow(),
                                                                              None)
            updated.append(patient.id)
        ctx.audit.record(session, actor=actor, action="match.import", object_type="match_cases",
                         object_id=origin[:128], purpose=Purpose.SHARING,
                         details={"added": len(added), "updated": len(updated)})
    return ImportOutcome(tuple(added), tuple(updated), tuple(notes))


def withdraw_case(ctx: NodeContext, actor: str, case_id: str, *, reason: str) -> MatchCase:
    """Stop offering a case, from now on (the row stays, for the audit trail and a later reinstatement)."""
    if not reason.strip():
        raise InputError("a withdrawal needs a reason (e.g. 'family asked to stop matchmaking')")
    with ctx.transaction() as session:
        authorize(ctx, session, actor, MATCHING_PERMISSION, object_type="match_case", object_id=case_id[:128],
                  purpose=Purpose.SHARING)
        row = case_by_id(session, case_id)
        if row.withdrawn_at is not None:
            raise StateError(f"match case {row.case_id} was already withdrawn on "
                             f"{row.withdrawn_at.isoformat(timespec='seconds')}")
        row.withdrawn_at = utcnow()
        ctx.audit.record(session, actor=actor, action="match.withdraw", object_type="match_case",
                         object_id=row.case_id[:128], purpose=Purpose.SHARING,
                         details={"source": row.source, "reason": reason.strip()[:500]})
        session.flush()
        session.expunge(row)
        return row


@dataclass(frozen=True)
class CaseSummary:
    case_id: str
    source: str
    label: str
    genes: tuple[str, ...]
    features: int
    created_at: dt.datetime
    withdrawn_at: dt.datetime | None
    matchable: bool


def list_cases(ctx: NodeContext, actor: str) -> list[CaseSummary]:
    """Every match case with whether it may be matched now (audited as a view)."""
    with ctx.transaction() as session:
        authorize(ctx, session, actor, MATCHING_PERMISSION, object_type="match_cases", object_id="*",
                  purpose=Purpose.SHARING)
        live = {row.id for row in matchable_cases(session)}
        out = []
        for row in session.scalars(select(MatchCase).order_by(MatchCase.id)):
            doc = row.document
            genes = tuple(dict.fromkeys(str(f.get("gene", {}).get("id", "?")) for f in doc.get("genomicFeatures", [])))
            out.append(CaseSummary(row.case_id, row.source, str(doc.get("label", "")), genes,
                                   len(doc.get("features", [])), row.created_at, row.withdrawn_at, row.id in live))
        ctx.audit.record(session, actor=actor, action="match.list", object_type="match_cases", object_id="*",
                         purpose=Purpose.SHARING, details={"cases": len(out)})
        return out


__all__ = ["MATCHING_PERMISSION", "SOURCE_CATALOG", "SOURCE_IMPORTED", "CaseSummary", "CaseVersion", "ImportOutcome",
           "case_by_id", "consented_patients", "documents_of", "import_patients", "is_matchable", "list_cases",
           "matchable_cases", "matchable_versions", "parse_all", "read_patients_file", "withdraw_case"]
