"""Families in the catalog: importing and exporting pedigrees in PED format.

PED individual ids are patient pseudonyms: a laboratory's PED file names people as the node knows
them, so no clear identity travels in pedigree files either.
"""

from __future__ import annotations

from sqlalchemy import select

from genomed.access.purpose import Purpose
from genomed.access.roles import Permission
from genomed.catalog.guard import authorize
from genomed.catalog.models import Family, FamilyMember, Patient
from genomed.catalog.patients import patient_by_pseudonym
from genomed.catalog.pedigree import PedRecord, format_ped, parse_ped
from genomed.context import NodeContext
from genomed.errors import DuplicateError, InputError, NotFoundError


def import_pedigree(ctx: NodeContext, actor: str, text: str, source: str = "<ped>") -> list[str]:
    """Create the families of a PED file (all or nothing); returns the family codes created."""
    records = parse_ped(text, source)
    seen: set[str] = set()
    for record in records:
        if record.individual in seen:
            raise InputError(f"{source}: {record.individual} appears in more than one family; a patient "
                             "belongs to one pedigree")
        seen.add(record.individual)
    with ctx.transaction() as session:
        authorize(ctx, session, actor, Permission.MANAGE_PEDIGREE, object_type="family", object_id=source[:128],
                  purpose=Purpose.CARE)
        patients: dict[str, Patient] = {}
        for record in records:
            try:
                patient = patient_by_pseudonym(session, record.individual)
            except NotFoundError as exc:
                raise InputError(f"{source}: individual {record.individual} is not an included patient") from exc
            if record.sex != "unknown" and patient.sex != "unknown" and record.sex != patient.sex:
                raise InputError(f"{source}: {record.individual} is {record.sex} in the PED file but "
                                 f"{patient.sex} in the catalog")
            if session.scalar(select(FamilyMember.id).where(FamilyMember.patient_id == patient.id)) is not None:
                raise DuplicateError(f"{source}: {record.individual} already belongs to a family")
            patients[record.individual] = patient
        codes = sorted({r.family for r in records})
        families: dict[str, Family] = {}
        for code in codes:
            if session.scalar(select(Family.id).where(Family.code == code)) is not None:
                raise DuplicateError(f"{source}: family {code} already exists")
            families[code] = Family(code=code)
            session.add(families[code])
        session.flush()
        for record in records:
            session.add(FamilyMember(
                family_id=families[record.family].id, patient_id=patients[record.individual].id,
                father_id=patients[record.father].id if record.father else None,
                mother_id=patients[record.mother].id if record.mother else None,
                affected=record.affected,
            ))
        for code in codes:
            ctx.audit.record(session, actor=actor, action="family.import", object_type="family", object_id=code,
                             purpose=Purpose.CARE,
                             details={"members": sum(1 for r in records if r.family == code)})
    return codes


def export_pedigree(ctx: NodeContext, actor: str, code: str) -> str:
    """A family as PED text, individuals named by pseudonym."""
    with ctx.transaction() as session:
        authorize(ctx, session, actor, Permission.VIEW_PATIENT, object_type="family", object_id=code,
                  purpose=Purpose.CARE)
        family = session.scalar(select(Family).where(Family.code == code))
        if family is None:
            raise NotFoundError(f"no family {code!r}")
        records = [
            PedRecord(family=family.code, individual=m.patient.pseudonym,
                      father=m.father.pseudonym if m.father else None,
                      mother=m.mother.pseudonym if m.mother else None,
                      sex=m.patient.sex,  # type: ignore[arg-type]  # catalog sex values equal PED's
                      affected=m.affected)  # type: ignore[arg-type]
            for m in family.members
        ]
        ctx.audit.record(session, actor=actor, action="family.export", object_type="family", object_id=code,
                         purpose=Purpose.CARE)
    return format_ped(records)
