"""A report version as an HL7 FHIR R4 bundle shaped by the Genomics Reporting IG (STU3, v3.0.0).

A hospital's record system receives the report as FHIR: a ``DiagnosticReport`` (profile
``genomic-report``) whose ``result`` lists, for each reported variant, a ``variant`` Observation
(gene, reference sequences, HGVS, alleles, position, allelic state, genomic source) and a
``diagnostic-implication`` Observation (ACMG class as LOINC 53037-8, associated disease), with the
``Patient`` (pseudonym only, never a name), the laboratory ``Organization`` and a ``Specimen`` per
sample, in one ``collection`` Bundle. Components use the LOINC codes of the IG's slices, and
values the systems its examples use (HGNC, RefSeq, HGVS, LOINC answer lists), so a receiver that
reads the IG's examples reads ours.

Resource ids are UUID 5 digests of the case, the version and the item, so the same content always
gives the same bundle (and a golden file can pin it). The bundle is validated by parsing it back
with ``fhir.resources``: its ``R4B`` models, because fhir.resources 8 has no R4 package (its default
is R5) and R4B (4.3) kept R4's Patient, Organization, Specimen, Observation, DiagnosticReport and
Bundle unchanged on the wire; every IG example of these profiles parses with it (tested).
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from genomed.errors import InputError
from genomed.report.content import (
    AcmgClass,
    GenomicSource,
    Outcome,
    ReportContent,
    ReportedVariant,
    Sex,
    Term,
    Zygosity,
)
from genomed.report.refseq import loinc_chromosome, refseq_accession

IG = "http://hl7.org/fhir/uv/genomics-reporting"
PROFILE_REPORT = f"{IG}/StructureDefinition/genomic-report"
PROFILE_VARIANT = f"{IG}/StructureDefinition/variant"
PROFILE_IMPLICATION = f"{IG}/StructureDefinition/diagnostic-implication"
TBD_CODES = f"{IG}/CodeSystem/tbd-codes-cs"

LOINC = "http://loinc.org"
HGVS = "http://varnomen.hgvs.org"
HGNC = "http://www.genenames.org"
REFSEQ = "http://www.ncbi.nlm.nih.gov/refseq"
ENSEMBL = "http://www.ensembl.org"
SEQUENCE_ONTOLOGY = "http://www.sequenceontology.org"
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
IDENTIFIER_SYSTEM = "urn:genomed:report"
DIGEST_SYSTEM = "urn:genomed:report-content-sha256"
PSEUDONYM_SYSTEM = "urn:genomed:pseudonym"
SAMPLE_SYSTEM = "urn:genomed:sample"

DISEASE_SYSTEMS = {
    "OMIM": "http://www.omim.org",
    "MONDO": "http://purl.obolibrary.org/obo/mondo.owl",
    "ORPHA": "http://www.orpha.net",
    "HP": "http://human-phenotype-ontology.org",
}

# LOINC answer lists used by the IG's slices.
ACMG_ANSWERS: dict[AcmgClass, tuple[str, str]] = {  # LL4034-6, for 53037-8
    AcmgClass.PATHOGENIC: ("LA6668-3", "Pathogenic"),
    AcmgClass.LIKELY_PATHOGENIC: ("LA26332-9", "Likely pathogenic"),
    AcmgClass.UNCERTAIN_SIGNIFICANCE: ("LA26333-7", "Uncertain significance"),
    AcmgClass.LIKELY_BENIGN: ("LA26334-5", "Likely benign"),
    AcmgClass.BENIGN: ("LA6675-8", "Benign"),
}
ALLELIC_STATE_ANSWERS: dict[Zygosity, tuple[str, str]] = {  # LL381-5, for 53034-5
    Zygosity.HETEROPLASMIC: ("LA6703-8", "Heteroplasmic"),
    Zygosity.HOMOPLASMIC: ("LA6704-6", "Homoplasmic"),
    Zygosity.HOMOZYGOUS: ("LA6705-3", "Homozygous"),
    Zygosity.HETEROZYGOUS: ("LA6706-1", "Heterozygous"),
    Zygosity.HEMIZYGOUS: ("LA6707-9", "Hemizygous"),
}
GENOMIC_SOURCE_ANSWERS: dict[GenomicSource, tuple[str, str]] = {  # LL378-1, for 48002-0
    GenomicSource.GERMLINE: ("LA6683-2", "Germline"),
    GenomicSource.SOMATIC: ("LA6684-0", "Somatic"),
}
ASSEMBLY_ANSWERS = {"GRCh37": ("LA14029-5", "GRCh37"), "GRCh38": ("LA26806-2", "GRCh38")}  # LL1040-6, 62374-4
CONCLUSION_ANSWERS = {  # LL541-4, overall interpretation
    "positive": ("LA6576-8", "Positive"), "negative": ("LA6577-6", "Negative"),
    "inconclusive": ("LA9663-1", "Inconclusive"),
}
ONE_BASED = ("LA30102-0", "1-based character counting")  # LL5323-2, for 92822-6


# Required bindings fhir.resources does not enforce: the statuses a receiver acts on.
STATUS_CODES = {
    "DiagnosticReport": ("registered", "partial", "preliminary", "final", "amended", "corrected", "appended",
                         "cancelled", "entered-in-error", "unknown"),
    "Observation": ("registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error",
                    "unknown"),
}


@dataclass(frozen=True)
class PresentedForm:
    """A rendering attached to the DiagnosticReport (the HTML or PDF the clinician reads)."""

    content_type: str
    data: bytes
    title: str


def _coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


def _concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    return {"coding": [_coding(system, code, display)]}


def _loinc(code: str, display: str | None = None) -> dict[str, Any]:
    return _concept(LOINC, code, display)


def _component(code: str, display: str, **value: Any) -> dict[str, Any]:
    return {"code": _loinc(code, display), **value}


def _uuid(*parts: object) -> str:
    """A stable resource id: the same patient, lab, sample or report version always gets the same one."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, ":".join(str(p) for p in ("genomed", *parts))))


def _version_uuid(content: ReportContent, *parts: object) -> str:
    return _uuid(content.case_reference, f"v{content.version}", *parts)


def _ref(identifier: str) -> dict[str, str]:
    return {"reference": f"urn:uuid:{identifier}"}


def _disease_concept(term: Term) -> dict[str, Any]:
    system = DISEASE_SYSTEMS.get(term.prefix)
    if system is None:
        return {"text": f"{term.label} ({term.id})"}
    return {"coding": [_coding(system, term.id, term.label)], "text": term.label}


def _change_type(variant: ReportedVariant) -> tuple[str, str]:
    """Sequence Ontology DNA change type from the alleles (the IG's dna-change-type value set)."""
    ref, alt = variant.ref, variant.alt
    if len(ref) == len(alt) == 1:
        return "SO:0001483", "SNV"
    if len(ref) == len(alt):
        return "SO:0002007", "MNV"
    if len(alt) == 1 and ref.startswith(alt):
        return "SO:0000159", "deletion"
    if len(ref) == 1 and alt.startswith(ref):
        return "SO:0000667", "insertion"
    return "SO:1000032", "delins"


def _sequence_system(accession: str) -> str:
    return ENSEMBL if accession.startswith(("ENST", "ENSG", "ENSP")) else REFSEQ


def _variant_observation(content: ReportContent, variant: ReportedVariant, observation_id: str,
                         subject: dict[str, str], performer: dict[str, str],
                         specimen: dict[str, str] | None, secondary: bool) -> dict[str, Any]:
    build = content.method.genome_build
    gene = (_concept(HGNC, variant.gene_id, variant.gene_symbol) if variant.gene_id.startswith("HGNC:")
            else {"text": variant.gene_symbol})
    components: list[dict[str, Any]] = [
        _component("48018-6", "Gene studied [ID]", valueCodeableConcept=gene),
        _component("48013-7", "Genomic reference sequence [ID]",
                   valueCodeableConcept=_concept(REFSEQ, refseq_accession(variant.chrom, build))),
        _component("51958-7", "Transcript reference sequence [ID]",
                   valueCodeableConcept=_concept(_sequence_system(variant.transcript), variant.transcript)),
        _component("48004-6", "DNA change (c.HGVS)", valueCodeableConcept=_concept(HGVS, variant.hgvs_c_full)),
    ]
    if variant.hgvs_p:
        components.append(_component("48005-3", "Amino acid change (pHGVS)",
                                     valueCodeableConcept=_concept(HGVS, variant.hgvs_p)))
    if variant.variant.is_snv:  # indels need the reference sequence for HGVS's 3' rule: not given for them
        g_hgvs = f"{refseq_accession(variant.chrom, build)}:g.{variant.pos}{variant.ref}>{variant.alt}"
        components.append(_component("81290-9", "Genomic DNA change (gHGVS)",
                                     valueCodeableConcept=_concept(HGVS, g_hgvs)))
    chromosome = loinc_chromosome(variant.chrom)
    if chromosome:
        name = variant.chrom.removeprefix("chr")
        components.append(_component("48000-4", "Chromosome [Identifier]",
                                     valueCodeableConcept=_loinc(chromosome, f"Chromosome {name}")))
    so_code, so_label = _change_type(variant)
    components += [
        _component("62374-4", "Human reference sequence assembly version",
                   valueCodeableConcept=_loinc(*ASSEMBLY_ANSWERS[build])),
        _component("92822-6", "Genomic coord system", valueCodeableConcept=_loinc(*ONE_BASED)),
        _component("81254-5", "Genomic allele start-end",
                   valueRange={"low": {"value": variant.pos}, "high": {"value": variant.end}}),
        _component("69547-8", "Genomic ref allele [ID]", valueString=variant.ref),
        _component("69551-0", "Genomic alt allele [ID]", valueString=variant.alt),
        _component("48019-4", "DNA change type", valueCodeableConcept=_concept(SEQUENCE_ONTOLOGY, so_code, so_label)),
        _component("53034-5", "Allelic state", valueCodeableConcept=_loinc(*ALLELIC_STATE_ANSWERS[variant.zygosity])),
        _component("48002-0", "Genomic source class",
                   valueCodeableConcept=_loinc(*GENOMIC_SOURCE_ANSWERS[variant.genomic_source])),
    ]
    notes = []
    if variant.inheritance:
        notes.append({"text": f"Inheritance/segregation: {variant.inheritance}"})
    if secondary:
        notes.append({"text": "Secondary finding, unrelated to the clinical indication."})
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "id": observation_id,
        "meta": {"profile": [PROFILE_VARIANT]},
        "status": _observation_status(content),
        "category": [_concept(OBSERVATION_CATEGORY, "laboratory"), _concept(V2_0074, "GE")],
        "code": _loinc("69548-6", "Genetic variant assessment"),
        "subject": subject,
        "issued": _issued(content),
        "performer": [performer],
        "valueCodeableConcept": _loinc("LA9633-4", "Present"),
        "method": _loinc("LA26398-0", "Sequencing"),
    }
    if specimen:
        observation["specimen"] = specimen
    observation["component"] = components
    if notes:
        observation["note"] = notes
    return observation


def _implication_observation(content: ReportContent, variant: ReportedVariant, observation_id: str,
                             variant_id: str, subject: dict[str, str], performer: dict[str, str]) -> dict[str, Any]:
    code, display = ACMG_ANSWERS[variant.acmg_class]
    components = [_component("53037-8", "Genetic variation clinical significance [Imp]",
                             valueCodeableConcept=_loinc(code, display))]
    if variant.disease:
        components.append(_component("81259-4", "Associated phenotype",
                                     valueCodeableConcept=_disease_concept(variant.disease)))
    criteria = f"ACMG/AMP criteria: {variant.criteria_text}. " if variant.acmg_criteria else ""
    return {
        "resourceType": "Observation",
        "id": observation_id,
        "meta": {"profile": [PROFILE_IMPLICATION]},
        "status": _observation_status(content),
        "category": [_concept(OBSERVATION_CATEGORY, "laboratory"), _concept(V2_0074, "GE")],
        "code": _concept(TBD_CODES, "diagnostic-implication", "Diagnostic Implication"),
        "subject": subject,
        "issued": _issued(content),
        "performer": [performer],
        "derivedFrom": [_ref(variant_id)],
        "component": components,
        "note": [{"text": f"{criteria}{variant.evidence_summary}"}],
    }


def _issued(content: ReportContent) -> str:
    return (content.signed_at or content.drafted_at).isoformat()


def _observation_status(content: ReportContent) -> str:
    return "final" if content.is_signed else "preliminary"


def _report_status(content: ReportContent) -> str:
    if not content.is_signed:
        return "preliminary"
    return "amended" if content.supersedes else "final"


def _conclusion_code(content: ReportContent) -> tuple[str, str]:
    if content.conclusion.outcome in (Outcome.SOLVED, Outcome.PARTIALLY_SOLVED):
        return CONCLUSION_ANSWERS["positive"]
    if content.variants:
        return CONCLUSION_ANSWERS["inconclusive"]
    return CONCLUSION_ANSWERS["negative"]


def build_bundle(content: ReportContent, presented_forms: Sequence[PresentedForm] = ()) -> dict[str, Any]:
    """The report version as a FHIR R4 collection Bundle (a JSON-ready dict)."""
    patient_id = _uuid("patient", content.patient_pseudonym)
    lab_id = _uuid("lab", content.lab.country, content.lab.name)
    report_id = _version_uuid(content, "report")
    subject, performer = _ref(patient_id), _ref(lab_id)
    gender = {Sex.FEMALE: "female", Sex.MALE: "male", Sex.OTHER: "other", Sex.UNKNOWN: "unknown"}[content.sex]
    patient = {"resourceType": "Patient", "id": patient_id,
               "identifier": [{"system": PSEUDONYM_SYSTEM, "value": content.patient_pseudonym}],
               "gender": gender}
    organization: dict[str, Any] = {"resourceType": "Organization", "id": lab_id, "name": content.lab.name,
                                    "address": [{"country": content.lab.country}]}
    if content.lab.node:
        organization["identifier"] = [{"system": "urn:genomed:node", "value": content.lab.node}]
    specimens: dict[str, tuple[str, dict[str, Any]]] = {}
    for sample in content.samples:
        specimen_id = _uuid("specimen", content.lab.country, content.lab.name, sample.sample_id)
        resource: dict[str, Any] = {"resourceType": "Specimen", "id": specimen_id,
                                    "identifier": [{"system": SAMPLE_SYSTEM, "value": sample.sample_id}],
                                    "type": {"text": sample.sample_type},
                                    "note": [{"text": f"Sample of the {sample.relation}"}]}
        if sample.relation == "proband":
            resource["subject"] = subject
        specimens[sample.sample_id] = (specimen_id, resource)
    proband = content.proband_sample.sample_id
    observations: list[dict[str, Any]] = []
    for number, (variant, secondary) in enumerate(
            [(v, False) for v in content.variants] + [(v, True) for v in content.secondary_findings.variants],
            start=1):
        variant_id = _version_uuid(content, "variant", number)
        implication_id = _version_uuid(content, "implication", number)
        specimen_id = specimens[variant.sample_id or proband][0]
        observations.append(_variant_observation(content, variant, variant_id, subject, performer,
                                                 _ref(specimen_id), secondary))
        observations.append(_implication_observation(content, variant, implication_id, variant_id, subject,
                                                     performer))
    conclusion_code = _conclusion_code(content)
    report: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "id": report_id,
        "meta": {"profile": [PROFILE_REPORT]},
        "identifier": [{"system": IDENTIFIER_SYSTEM, "value": f"{content.case_reference}-v{content.version}"},
                       {"system": DIGEST_SYSTEM, "value": content.sha256()}],
        "status": _report_status(content),
        "category": [_concept(V2_0074, "GE")],
        "code": _loinc("51969-4", "Genetic analysis report"),
        "subject": subject,
        "issued": _issued(content),
        "performer": [performer],
    }
    if content.is_signed:
        report["resultsInterpreter"] = [{"display": content.signed_by}]
    report["specimen"] = [_ref(specimen_id) for specimen_id, _ in specimens.values()]
    if observations:
        report["result"] = [_ref(o["id"]) for o in observations]
    report["conclusion"] = f"{content.conclusion.outcome.value.capitalize()}. {content.conclusion.text}"
    report["conclusionCode"] = [_loinc(*conclusion_code)]
    if presented_forms:
        report["presentedForm"] = [
            {"contentType": form.content_type, "language": "en", "title": form.title,
             "data": base64.b64encode(form.data).decode("ascii"),
             "hash": base64.b64encode(hashlib.sha1(form.data).digest()).decode("ascii")}  # noqa: S324  # FHIR Attachment.hash is SHA-1 by definition
            for form in presented_forms]
    resources = [report, patient, organization, *(r for _, r in specimens.values()), *observations]
    return {
        "resourceType": "Bundle",
        "id": _version_uuid(content, "bundle"),
        "identifier": {"system": IDENTIFIER_SYSTEM, "value": f"{content.case_reference}-v{content.version}"},
        "type": "collection",
        "timestamp": _issued(content),
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources],
    }


def fhir_json(content: ReportContent, presented_forms: Sequence[PresentedForm] = ()) -> str:
    """The bundle as JSON text (2-space indent, UTF-8 characters kept), validated before it is returned."""
    text = json.dumps(build_bundle(content, presented_forms), indent=2, ensure_ascii=False)
    validate_fhir_json(text)
    return text


def validate_fhir_json(text: str) -> Any:
    """Parse a bundle with fhir.resources (R4B models) and check its internal references resolve.

    Returns the parsed ``Bundle`` model; raises :class:`~genomed.errors.InputError` naming the first
    problems (unknown elements, wrong types, missing required elements, dangling references).
    """
    from fhir.resources.R4B.bundle import Bundle

    try:
        bundle = Bundle.model_validate_json(text)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
        raise InputError(f"not a valid FHIR R4 bundle: {problems}") from exc
    data = json.loads(text)
    for entry in data.get("entry", []):
        resource = entry.get("resource", {})
        allowed = STATUS_CODES.get(resource.get("resourceType", ""))
        if allowed is not None and resource.get("status") not in allowed:
            raise InputError(f"{resource['resourceType']} {resource.get('id', '?')} has status "
                             f"{resource.get('status')!r}, not one of {', '.join(allowed)}")
    full_urls = {entry.get("fullUrl") for entry in data.get("entry", [])}
    dangling = sorted({ref for ref in _references(data) if ref.startswith("urn:uuid:") and ref not in full_urls})
    if dangling:
        raise InputError(f"FHIR bundle references resources it does not contain: {', '.join(dangling[:5])}")
    return bundle


def _references(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["reference"]] if isinstance(node.get("reference"), str) else []
        for value in node.values():
            found += _references(value)
        return found
    if isinstance(node, list):
        return [ref for item in node for ref in _references(item)]
    return []
