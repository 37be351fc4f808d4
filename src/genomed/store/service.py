"""Cohort queries as the node's users make them: permission-checked, consent-aware and audited."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import select

from genomed.access.purpose import Purpose
from genomed.access.roles import Permission
from genomed.catalog.guard import authorize
from genomed.catalog.indications import indication_by_code
from genomed.catalog.models import Patient, Prescription, Sample
from genomed.catalog.patients import parse_sex
from genomed.context import NodeContext
from genomed.errors import InputError
from genomed.store.compact import CompactionResult, compact
from genomed.store.consented import ConsentedCohort
from genomed.store.query import AlleleCounts

_VARIANT = re.compile(
    r"^(?P<chrom>(chr)?[0-9XYMT]{1,2})[:\-_](?P<pos>\d+)[:\-_](?P<ref>[ACGTN]+)[:\-_>](?P<alt>[ACGTN]+)$",
    re.IGNORECASE)
_REGION = re.compile(r"^(?P<chrom>(chr)?[0-9XYMT]{1,2}):(?P<start>[\d,]+)-(?P<end>[\d,]+)$", re.IGNORECASE)


@dataclass(frozen=True)
class VariantSpec:
    chrom: str
    pos: int
    ref: str
    alt: str

    @property
    def label(self) -> str:
        return f"{self.chrom}-{self.pos}-{self.ref}-{self.alt}"


def parse_variant(text: str) -> VariantSpec:
    """``chr1:12345:A:G`` (or with ``-``, ``_`` or ``A>G``) as a variant.

    >>> parse_variant("1-55051215-G-GA")
    VariantSpec(chrom='chr1', pos=55051215, ref='G', alt='GA')
    """
    match = _VARIANT.match(text.strip())
    if not match:
        raise InputError(f"not a variant: {text!r}; write it as chrom:pos:ref:alt, e.g. chr1:55051215:G:GA")
    chrom = match["chrom"]
    chrom = chrom if chrom.lower().startswith("chr") else f"chr{chrom}"
    return VariantSpec("chr" + chrom[3:].upper(), int(match["pos"]), match["ref"].upper(), match["alt"].upper())


def parse_region(text: str) -> tuple[str, int, int]:
    """``chr1:1,000-2,000`` as (chrom, start, end), 1-based inclusive."""
    match = _REGION.match(text.strip())
    if not match:
        raise InputError(f"not a region: {text!r}; write it as chrom:start-end, e.g. chr1:55039000-55065000")
    chrom = match["chrom"]
    chrom = "chr" + (chrom[3:] if chrom.lower().startswith("chr") else chrom).upper()
    start, end = int(match["start"].replace(",", "")), int(match["end"].replace(",", ""))
    if end < start:
        raise InputError(f"region {text!r} ends before it starts")
    if end - start > 50_000_000:
        raise InputError(f"region {text!r} spans more than 50 Mb; query smaller regions")
    return chrom, start, end


def query_variant(ctx: NodeContext, actor: str, variant: VariantSpec, purpose: Purpose = Purpose.CARE) -> AlleleCounts:
    """Cohort counts of one variant, leaving out samples whose consent does not cover ``purpose``."""
    with ctx.transaction() as session:
        authorize(ctx, session, actor, Permission.QUERY_AGGREGATE, object_type="variant", object_id=variant.label,
                  purpose=purpose)
        ctx.audit.record(session, actor=actor, action="variant.query", object_type="variant",
                         object_id=variant.label, purpose=purpose)
    return ConsentedCohort(ctx, purpose).variant(variant.chrom, variant.pos, variant.ref, variant.alt)


@dataclass(frozen=True)
class CarrierView:
    sample: str
    pseudonym: str
    genotype: str
    gq: int
    dp: int


def query_carriers(ctx: NodeContext, actor: str, variant: VariantSpec) -> list[CarrierView]:
    """Who carries a variant (for care: a biologist checking a finding in the cohort); audited per carrier."""
    cohort = ConsentedCohort(ctx, Purpose.CARE)
    carriers = cohort.carriers(variant.chrom, variant.pos, variant.ref, variant.alt)
    with ctx.transaction() as session:
        authorize(ctx, session, actor, Permission.VIEW_PATIENT, object_type="variant", object_id=variant.label,
                  purpose=Purpose.CARE)
        rows = {s.id: (s.label, p.pseudonym) for s, p in session.execute(
            select(Sample, Patient).join(Patient, Patient.id == Sample.patient_id)
            .where(Sample.id.in_([c.sample for c in carriers])))}
        views = []
        for carrier in carriers:
            label, pseudonym = rows[carrier.sample]
            genotype = {(1, 2): "0/1", (2, 2): "1/1", (1, 1): "1"}.get((carrier.alt_count, carrier.ploidy), "?")
            views.append(CarrierView(label, pseudonym, genotype, carrier.gq, carrier.dp))
        ctx.audit.record(session, actor=actor, action="variant.carriers", object_type="variant",
                         object_id=variant.label, purpose=Purpose.CARE, details={"carriers": len(views)})
    return views


def query_region(ctx: NodeContext, actor: str, region: str, purpose: Purpose = Purpose.CARE) -> list[AlleleCounts]:
    chrom, start, end = parse_region(region)
    with ctx.transaction() as session:
        authorize(ctx, session, actor, Permission.QUERY_AGGREGATE, object_type="region", object_id=region,
                  purpose=purpose)
        ctx.audit.record(session, actor=actor, action="region.query", object_type="region", object_id=region,
                         purpose=purpose)
    return ConsentedCohort(ctx, purpose).region(chrom, start, end)


def subcohort_frequencies(ctx: NodeContext, actor: str, *, indication: str | None = None, sex: str | None = None,
                          purpose: Purpose = Purpose.RESEARCH) -> tuple[int, pa.Table]:
    """Allele frequencies over the stored samples of one indication and/or sex: (samples used, table)."""
    with ctx.transaction() as session:
        authorize(ctx, session, actor, Permission.QUERY_AGGREGATE, object_type="cohort",
                  object_id=f"{indication or '*'}/{sex or '*'}", purpose=purpose)
        query = select(Sample.id).join(Patient, Patient.id == Sample.patient_id)
        if indication is not None:
            code = indication_by_code(session, indication).id
            query = query.join(Prescription, Prescription.id == Sample.prescription_id).where(
                Prescription.indication_id == code)
        if sex is not None:
            query = query.where(Patient.sex == parse_sex(sex).value)
        chosen = set(session.scalars(query)) & ctx.store.sample_ids()
        ctx.audit.record(session, actor=actor, action="cohort.frequencies", object_type="cohort",
                         object_id=f"{indication or '*'}/{sex or '*'}", purpose=purpose,
                         details={"samples": len(chosen)})
    cohort = ConsentedCohort(ctx, purpose)
    used = chosen - cohort.excluded()
    table = cohort.subcohort_frequencies(used)
    af = pc.divide(pc.cast(table.column("ac"), pa.float64()), pc.cast(table.column("an"), pa.float64()))
    return len(used), table.append_column("af", pc.if_else(pc.equal(table.column("an"), 0), None, af))


def compact_store(ctx: NodeContext, actor: str) -> CompactionResult:
    """Merge the store's small files (bioinformatician's housekeeping), audited."""
    with ctx.transaction() as session:
        authorize(ctx, session, actor, Permission.RECORD_ANALYSIS, object_type="store", object_id="*",
                  purpose=Purpose.ADMINISTRATION)
        result = compact(ctx.config.store_dir)
        ctx.audit.record(session, actor=actor, action="store.compact", object_type="store", object_id="*",
                         purpose=Purpose.ADMINISTRATION,
                         details={"files_before": result.files_before, "files_after": result.files_after})
    return result
