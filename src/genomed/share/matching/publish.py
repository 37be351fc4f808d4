"""Offering one of our own cases to matchmaking: a catalog case made into an MME patient.

What goes out is what another clinician needs to recognise a similar patient, and no more:

* ``features``: the prescription's HPO terms (observed) and excluded terms (``observed: no``),
  labelled from the HPO release;
* ``genomicFeatures``: the genes of the latest interpretation's top candidates (``top``, default
  3, or the genes the steward names), each with its candidate variants (0-based start, alleles,
  assembly of the analysis, zygosity 1/2, Sequence Ontology effect); gene ids are Ensembl ids
  where MANE knows them, as the spec strongly encourages;
* ``sex`` as declared; no birth date, no pseudonym. The MME ``id`` is an opaque digest of the
  node and the case reference; the ``label`` is the case reference, which lets our own clinician
  recognise the case in a match e-mail and identifies nobody outside the node;
* ``contact``: the publishing steward, the node's organisation and its contact address
  (``[beacon] contact_url`` of ``sharing.toml``), unless given.

Publishing is refused without the patient's ``case_matching`` consent (the refusal is audited),
and a published case stays matchable only while that consent is in force (:mod:`.store`).
Publishing again replaces the document (new candidates, new terms) and reinstates a withdrawn case.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from genomed.access.purpose import Purpose
from genomed.catalog.cases import case_by_reference
from genomed.catalog.consent_rules import Scope, require_consent
from genomed.catalog.guard import authorize, record_refusal
from genomed.catalog.models import Candidate, Patient
from genomed.context import NodeContext
from genomed.db.base import utcnow
from genomed.errors import ConsentError, DuplicateError, InputError, NotFoundError
from genomed.interpret.hpo import load_release
from genomed.interpret.service import latest_interpretation
from genomed.share.matching.documents import MmePatient, parse_patient
from genomed.share.matching.genes import GeneResolver, default_resolver
from genomed.share.matching.store import MATCHING_PERMISSION, SOURCE_CATALOG
from genomed.share.models import MatchCase
from genomed.share.settings import SharingSettings

DEFAULT_TOP = 3

# Sequence Ontology accessions of the consequence terms our annotator emits (genomed.annotate.consequence).
SO_ACCESSIONS: dict[str, str] = {
    "transcript_ablation": "SO:0001893", "splice_acceptor_variant": "SO:0001574",
    "splice_donor_variant": "SO:0001575", "stop_gained": "SO:0001587", "frameshift_variant": "SO:0001589",
    "stop_lost": "SO:0001578", "start_lost": "SO:0002012", "inframe_insertion": "SO:0001821",
    "inframe_deletion": "SO:0001822", "missense_variant": "SO:0001583", "protein_altering_variant": "SO:0001818",
    "splice_region_variant": "SO:0001630", "incomplete_terminal_codon_variant": "SO:0001626",
    "start_retained_variant": "SO:0002019", "stop_retained_variant": "SO:0001567",
    "synonymous_variant": "SO:0001819", "coding_sequence_variant": "SO:0001580",
    "5_prime_UTR_variant": "SO:0001623", "3_prime_UTR_variant": "SO:0001624",
    "non_coding_transcript_exon_variant": "SO:0001792", "intron_variant": "SO:0001627",
    "non_coding_transcript_variant": "SO:0001619", "upstream_gene_variant": "SO:0001631",
    "downstream_gene_variant": "SO:0001632", "intergenic_variant": "SO:0001628",
}
_ZYGOSITY = {"heterozygous": 1, "hemizygous": 1, "homozygous": 2}
_SEX = {"male": "MALE", "female": "FEMALE"}


@dataclass(frozen=True)
class Contact:
    """Who a matching clinician writes to; empty fields default from the node and the publishing user."""

    name: str = ""
    href: str = ""
    institution: str = ""


def match_case_id(node_id: str, case_reference: str) -> str:
    """The MME id of a published catalog case: stable, opaque, never the pseudonym.

    >>> match_case_id("node-1", "RX-1")
    'gm-395d9e88658bc3dbbb89'
    """
    return "gm-" + hashlib.sha256(f"{node_id}:{case_reference}".encode()).hexdigest()[:20]


def _features(observed: Sequence[str], excluded: Sequence[str]) -> list[dict[str, str]]:
    terms = load_release().terms
    out = []
    for term, seen in [(t, "yes") for t in observed] + [(t, "no") for t in excluded]:
        entry = {"id": term, "observed": seen}
        if term in terms:
            entry["label"] = terms[term].name
        out.append(entry)
    return out


def _genomic_features(candidates: Sequence[Candidate], build: str, resolver: GeneResolver) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for candidate in candidates:
        record = resolver.record(candidate.gene)
        gene = {"id": record.ensembl if record is not None and record.ensembl else candidate.gene}
        variants = [v for v in candidate.details.get("variants", []) if isinstance(v, dict)]
        if not variants:
            out.append({"gene": gene})
            continue
        for v in variants:
            ref, alt = str(v.get("ref", "")), str(v.get("alt", ""))
            feature: dict[str, Any] = {"gene": gene, "variant": {
                "assembly": build, "referenceName": str(v.get("chrom", "")).removeprefix("chr"),
                "start": int(v["pos"]) - 1, "end": int(v["pos"]) - 1 + len(ref),
                "referenceBases": ref, "alternateBases": alt}}
            zygosity = _ZYGOSITY.get(str(v.get("zygosity", "")))
            if zygosity is not None:
                feature["zygosity"] = zygosity
            consequence = str(v.get("consequence", ""))
            if consequence in SO_ACCESSIONS:
                feature["type"] = {"id": SO_ACCESSIONS[consequence], "label": consequence}
            out.append(feature)
    return out


def _chosen_candidates(rows: list[Candidate], genes: Sequence[str] | None, top: int, reference: str) -> list[Candidate]:
    if not genes:
        return rows[:top]
    by_gene = {row.gene.upper(): row for row in rows}
    missing = [g for g in genes if g.strip().upper() not in by_gene]
    if missing:
        known = ", ".join(row.gene for row in rows[:20]) or "none"
        raise InputError(f"gene(s) {', '.join(missing)} are not candidates of case {reference}'s interpretation "
                         f"(its top candidates: {known})")
    return [by_gene[g.strip().upper()] for g in dict.fromkeys(genes)]


def publish_case(ctx: NodeContext, actor: str, settings: SharingSettings, *, case_reference: str,
                 genes: Sequence[str] | None = None, top: int = DEFAULT_TOP, contact: Contact | None = None,
                 resolver: GeneResolver | None = None) -> MmePatient:
    """Offer a catalog case to matchmaking (see the module docstring); the MME patient as published."""
    if top < 1:
        raise InputError("--top must be at least 1")
    chosen_contact = contact or Contact()
    with ctx.transaction() as session:
        user = authorize(ctx, session, actor, MATCHING_PERMISSION, object_type="case", object_id=case_reference,
                         purpose=Purpose.SHARING)
        case = case_by_reference(session, case_reference)
        patient = session.get(Patient, case.patient_id)
        if patient is None:  # a foreign key: only a damaged database gets here
            raise NotFoundError(f"case {case.reference} names no existing patient")
        try:
            require_consent(session, patient, Scope.CASE_MATCHING, f"offer case {case.reference} to matchmaking")
        except ConsentError as exc:
            record_refusal(ctx, actor=actor, action="match.publish", object_type="case", object_id=case.reference,
                           purpose=Purpose.SHARING, outcome="denied", reason=str(exc))
            raise
        analysis = latest_interpretation(session, case)
        candidates: list[Candidate] = []
        build = ctx.config.genome_build
        if analysis is not None:
            build = analysis.genome_build or build
            rows = list(session.scalars(select(Candidate).where(Candidate.analysis_id == analysis.id)
                                        .order_by(Candidate.rank)))
            candidates = _chosen_candidates(rows, genes, top, case.reference)
        elif genes:
            raise InputError(f"case {case.reference} has no interpretation: no candidate gene to publish")
        document: dict[str, Any] = {
            "id": match_case_id(ctx.config.node_id, case.reference),
            "label": case.reference,
            "contact": {"name": chosen_contact.name or user.display_name or user.username,
                        "institution": chosen_contact.institution or settings.beacon.organisation,
                        "href": chosen_contact.href or settings.beacon.contact_url},
            "species": "NCBITaxon:9606",
            "features": _features(case.hpo_terms or [], case.excluded_hpo_terms or []),
            "genomicFeatures": _genomic_features(candidates, build, resolver or default_resolver()),
        }
        if patient.sex in _SEX:
            document["sex"] = _SEX[patient.sex]
        published = parse_patient(document, where=f"case {case.reference}")
        row = session.scalar(select(MatchCase).where(MatchCase.case_id == published.id))
        if row is None:
            session.add(MatchCase(case_id=published.id, patient_id=patient.id, source=SOURCE_CATALOG,
                                  document=published.to_json(), created_by=user.id, created_at=utcnow()))
        elif row.source != SOURCE_CATALOG or row.patient_id != patient.id:
            raise DuplicateError(f"match case {published.id} exists and is not this case's")
        else:
            row.document, row.created_by, row.created_at, row.withdrawn_at = (published.to_json(), user.id, utcnow(),
                                                                              None)
        ctx.audit.record(session, actor=actor, action="match.publish", object_type="case", object_id=case.reference,
                         purpose=Purpose.SHARING,
                         details={"match_case": published.id, "genes": ",".join(c.gene for c in candidates),
                                  "features": len(published.features),
                                  "analysis": analysis.id if analysis is not None else None})
        return published


__all__ = ["DEFAULT_TOP", "SO_ACCESSIONS", "Contact", "match_case_id", "publish_case"]
