"""What a clinical genome report says: one immutable value that every rendering is made from.

The HTML/PDF report, the GA4GH Phenopacket and the HL7 FHIR bundle are three views of the same
:class:`ReportContent`. Keeping it plain (strings, numbers, timestamps, tuples) means it renders and
serialises without importing the interpretation package, can be stored as JSON beside the catalog's
report version, and has one canonical digest (:meth:`ReportContent.sha256`) that the printed footer,
the signature record and the exports all quote: a reader can tell that two documents carry the same
report by comparing that digest.

Checks here are the ones a rendering cannot fix after the fact: a signed version names a signer who
is not its author and a signing time; timestamps carry a time zone; HPO identifiers, ACMG criteria and
genomic coordinates are well formed; a case called solved reports a (likely) pathogenic variant. Each
failure raises :class:`~genomed.errors.InputError` naming the field.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any

from genomed.annotate.model import Variant
from genomed.errors import InputError


class ReportStatus(StrEnum):
    """Where a version stands: a draft may still change; a signed version never does."""

    DRAFT = "draft"
    SIGNED = "signed"


class Sex(StrEnum):
    """The patient's sex as recorded by the prescriber (phenotypic sex, not karyotype)."""

    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class QCStatus(StrEnum):
    """The laboratory's verdict on one sample's data quality."""

    PASS = "pass"  # noqa: S105  # a QC verdict, not a password
    WARN = "warn"
    FAIL = "fail"


class Zygosity(StrEnum):
    """How many copies of the alternate allele the patient carries (GENO/LOINC allelic states)."""

    HETEROZYGOUS = "heterozygous"
    HOMOZYGOUS = "homozygous"
    HEMIZYGOUS = "hemizygous"
    HETEROPLASMIC = "heteroplasmic"
    HOMOPLASMIC = "homoplasmic"


class AcmgClass(StrEnum):
    """The five ACMG/AMP 2015 germline classes, spelled as the report prints them."""

    PATHOGENIC = "Pathogenic"
    LIKELY_PATHOGENIC = "Likely pathogenic"
    UNCERTAIN_SIGNIFICANCE = "Uncertain significance"
    LIKELY_BENIGN = "Likely benign"
    BENIGN = "Benign"

    @property
    def is_pathogenic(self) -> bool:
        """Pathogenic or likely pathogenic: the classes that can explain a phenotype."""
        return self in (AcmgClass.PATHOGENIC, AcmgClass.LIKELY_PATHOGENIC)


class Outcome(StrEnum):
    """Whether the test explains the patient's presentation."""

    SOLVED = "solved"
    PARTIALLY_SOLVED = "partially solved"
    UNSOLVED = "unsolved"


class GenomicSource(StrEnum):
    """Germline for constitutional testing; somatic for a tumour's acquired variants."""

    GERMLINE = "germline"
    SOMATIC = "somatic"


# The node's standard limitations, printed on every report before the case-specific ones. A
# programme may replace them (``ReportContent.standard_limitations``); they are part of the content
# and so of its digest, because they are part of what the signer signed.
STANDARD_LIMITATIONS: tuple[str, ...] = (
    "The analysis is restricted to the genes and variant types stated in the method; structural "
    "variants, repeat expansions, mosaicism below the detection limit and variants in regions of low "
    "coverage or high homology may not be detected.",
    "Variant classification follows the ACMG/AMP 2015 guidelines with the knowledge available at the "
    "date of the report; a classification may change as knowledge evolves, and reanalysis may be requested.",
    "Interpretation depends on the clinical information and family relationships provided; incorrect "
    "information may lead to an incorrect interpretation.",
)

NO_SECONDARY_FINDINGS_SOUGHT = (
    "No secondary findings were sought: the patient did not consent to the analysis of secondary findings."
)
NO_SECONDARY_FINDINGS_FOUND = (
    "Secondary findings were sought in the ACMG secondary-findings genes; no reportable variant was found."
)

_CURIE = re.compile(r"^[A-Za-z][A-Za-z0-9_.]*:[A-Za-z0-9_.\-]+$")
_HPO = re.compile(r"^HP:\d{7}$")
_ACMG_CRITERION = re.compile(
    r"^(PVS1|PS[1-4]|PM[1-6]|PP[1-5]|BA1|BS[1-4]|BP[1-7])(_(VeryStrong|Strong|Moderate|Supporting|Stand-alone))?$")
_ALLELE = re.compile(r"^[ACGTN]+$")


def valid_acmg_criterion(code: str) -> bool:
    """Whether ``code`` is an ACMG/AMP criterion, optionally with a ClinGen SVI strength modifier.

    >>> [valid_acmg_criterion(c) for c in ("PVS1", "PM2_Supporting", "PP3_Moderate", "PM7", "pvs1")]
    [True, True, True, False, False]
    """
    return bool(_ACMG_CRITERION.match(code))


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise InputError(message)


def _require_text(value: str, what: str) -> None:
    _require(isinstance(value, str) and bool(value.strip()), f"{what} must not be empty")


def _coerce(obj: object, name: str, kind: type[StrEnum], what: str) -> None:
    """Accept an enum member or its string value (as JSON and the catalog give it) in a frozen field."""
    value = getattr(obj, name)
    try:
        object.__setattr__(obj, name, kind(value))
    except ValueError:
        raise InputError(f"{what} {value!r} is not one of {', '.join(kind)}") from None


def _tuples(obj: object, *names: str) -> None:
    """Store sequence fields as tuples, so a content stays immutable whatever the caller passed."""
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, str) or not isinstance(value, tuple | list):
            raise InputError(f"{name} must be a sequence, got {type(value).__name__}")
        object.__setattr__(obj, name, tuple(value))


def _require_aware(value: datetime, what: str) -> None:
    _require(isinstance(value, datetime) and value.tzinfo is not None and value.utcoffset() is not None,
             f"{what} must be a timezone-aware datetime, got {value!r}")


@dataclass(frozen=True)
class Term:
    """An ontology term: ``HP:0001250`` / "Seizure", ``OMIM:147791`` / "Jacobsen syndrome"."""

    id: str
    label: str

    def __post_init__(self) -> None:
        _require(bool(_CURIE.match(self.id)), f"term identifier {self.id!r} is not a CURIE like 'HP:0001250'")
        _require_text(self.label, f"label of {self.id}")

    @property
    def prefix(self) -> str:
        """The namespace (``HP``, ``OMIM``, ``MONDO``, ``ORPHA``)."""
        return self.id.split(":", 1)[0]


@dataclass(frozen=True)
class Laboratory:
    """The laboratory that issues the report, and the programme node it belongs to."""

    name: str
    country: str
    node: str = ""

    def __post_init__(self) -> None:
        _require_text(self.name, "laboratory name")
        _require(bool(re.fullmatch(r"[A-Z]{2}", self.country)),
                 f"laboratory country {self.country!r} must be an ISO 3166-1 alpha-2 code such as 'FR'")


@dataclass(frozen=True)
class Indication:
    """The clinical indication the test was prescribed for (the programme's own code and title)."""

    code: str
    title: str

    def __post_init__(self) -> None:
        _require_text(self.code, "indication code")
        _require_text(self.title, "indication title")


@dataclass(frozen=True)
class Sample:
    """A sample analysed for this report: proband or relative."""

    sample_id: str
    sample_type: str
    relation: str = "proband"

    def __post_init__(self) -> None:
        _require_text(self.sample_id, "sample id")
        _require_text(self.sample_type, f"type of sample {self.sample_id}")


@dataclass(frozen=True)
class QCMetric:
    """One quality figure as printed: ``mean coverage`` = 38.2 ``x``."""

    name: str
    value: float | int | str
    unit: str = ""

    @property
    def display(self) -> str:
        """The value with its unit: four significant digits, thousands separated.

        >>> QCMetric("mean coverage", 38.2049, "x").display
        '38.2 x'
        >>> [QCMetric("m", v).display for v in (1234567, 0.000123, 0.98765, 151234.6, "consistent")]
        ['1,234,567', '0.000123', '0.9877', '151,235', 'consistent']
        """
        value = self.value
        if isinstance(value, bool):
            text = "yes" if value else "no"
        elif isinstance(value, int):
            text = f"{value:,}"
        elif isinstance(value, float):
            text = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
        else:
            text = str(value)
        return f"{text} {self.unit}" if self.unit else text


@dataclass(frozen=True)
class SampleQC:
    """A sample's QC verdict with the main metrics behind it."""

    sample_id: str
    status: QCStatus
    metrics: tuple[QCMetric, ...] = ()
    comment: str = ""

    def __post_init__(self) -> None:
        _coerce(self, "status", QCStatus, f"QC status of {self.sample_id}")
        _tuples(self, "metrics")


@dataclass(frozen=True)
class Method:
    """How the result was produced: the test, the genome build, the pipeline and its filters."""

    test_type: str
    genome_build: str
    pipeline_version: str
    filters: tuple[str, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        _require_text(self.test_type, "test type")
        _require(self.genome_build in ("GRCh38", "GRCh37"),
                 f"genome build {self.genome_build!r} is not GRCh38 or GRCh37")
        _require_text(self.pipeline_version, "pipeline version")
        _tuples(self, "filters")


@dataclass(frozen=True)
class ReportedVariant:
    """One variant as the report states it, with its classification and the evidence for it.

    ``hgvs_c`` and ``hgvs_p`` are written as the report prints them, with or without the
    accession (``c.1249C>T`` or ``NM_014049.4:c.1249C>T``); ``transcript`` is the accession.
    """

    gene_symbol: str
    transcript: str
    hgvs_c: str
    hgvs_p: str
    chrom: str
    pos: int
    ref: str
    alt: str
    zygosity: Zygosity
    acmg_class: AcmgClass
    acmg_criteria: tuple[str, ...]
    evidence_summary: str
    inheritance: str = ""
    disease: Term | None = None
    gene_id: str = ""
    sample_id: str = ""
    genomic_source: GenomicSource = GenomicSource.GERMLINE

    def __post_init__(self) -> None:
        _require_text(self.gene_symbol, "gene symbol")
        where = f"variant {self.gene_symbol} {self.chrom}-{self.pos}-{self.ref}-{self.alt}"
        _require_text(self.transcript, f"transcript of {where}")
        _require(self.hgvs_c.split(":")[-1].startswith(("c.", "n.")),
                 f"{where}: HGVS {self.hgvs_c!r} is not a c. or n. description")
        _require(not self.hgvs_p or self.hgvs_p.split(":")[-1].startswith("p."),
                 f"{where}: HGVS {self.hgvs_p!r} is not a p. description")
        _require_text(self.chrom, f"chromosome of {where}")
        _require(isinstance(self.pos, int) and self.pos >= 1, f"{where}: position must be a 1-based integer")
        _require(bool(_ALLELE.match(self.ref)) and bool(_ALLELE.match(self.alt)) and self.ref != self.alt,
                 f"{where}: REF and ALT must be distinct DNA alleles")
        _coerce(self, "zygosity", Zygosity, f"{where}: zygosity")
        _coerce(self, "acmg_class", AcmgClass, f"{where}: ACMG class")
        _coerce(self, "genomic_source", GenomicSource, f"{where}: genomic source")
        _tuples(self, "acmg_criteria")
        bad = [c for c in self.acmg_criteria if not valid_acmg_criterion(c)]
        _require(not bad, f"{where}: {', '.join(map(repr, bad))} not ACMG/AMP criteria (e.g. PVS1, PM2_Supporting)")
        _require(len(set(self.acmg_criteria)) == len(self.acmg_criteria), f"{where}: an ACMG criterion is repeated")
        _require_text(self.evidence_summary, f"evidence summary of {where}")
        _require(not self.gene_id or bool(_CURIE.match(self.gene_id)),
                 f"{where}: gene id {self.gene_id!r} is not a CURIE like 'HGNC:21497'")

    @classmethod
    def from_variant(cls, variant: Variant, **fields_: Any) -> ReportedVariant:
        """A reported variant at the position of a normalised :class:`Variant`."""
        return cls(chrom=variant.chrom, pos=variant.pos, ref=variant.ref, alt=variant.alt, **fields_)

    @property
    def variant(self) -> Variant:
        """The genomic variant in the shared annotation vocabulary."""
        return Variant(self.chrom, self.pos, self.ref, self.alt)

    @property
    def genomic(self) -> str:
        """``chrom-pos-ref-alt``, the identifier clinicians paste into gnomAD or our CLI."""
        return self.variant.name

    @property
    def end(self) -> int:
        """Last reference base (1-based, inclusive)."""
        return self.pos + len(self.ref) - 1

    @property
    def hgvs_c_full(self) -> str:
        """The c. description with its transcript accession."""
        return self.hgvs_c if ":" in self.hgvs_c else f"{self.transcript}:{self.hgvs_c}"

    @property
    def criteria_text(self) -> str:
        """The applied criteria, comma-separated (empty when none)."""
        return ", ".join(self.acmg_criteria)


@dataclass(frozen=True)
class SecondaryFindings:
    """Secondary (incidental) findings: sought only with the patient's consent.

    ``statement`` may replace the standard sentence; :attr:`text` is what the report prints.
    """

    sought: bool
    variants: tuple[ReportedVariant, ...] = ()
    statement: str = ""

    def __post_init__(self) -> None:
        _tuples(self, "variants")
        _require(self.sought or not self.variants,
                 "secondary findings are reported although none were sought (no consent)")

    @property
    def text(self) -> str:
        """The sentence the report prints above any finding."""
        if self.statement:
            return self.statement
        if not self.sought:
            return NO_SECONDARY_FINDINGS_SOUGHT
        return "" if self.variants else NO_SECONDARY_FINDINGS_FOUND


@dataclass(frozen=True)
class Conclusion:
    """The answer to the clinical question, in one outcome and a few sentences."""

    outcome: Outcome
    text: str

    def __post_init__(self) -> None:
        _coerce(self, "outcome", Outcome, "outcome")
        _require_text(self.text, "conclusion")


@dataclass(frozen=True)
class ReportContent:
    """Everything one version of a clinical genome report carries.

    ``limitations`` are the case-specific ones; :attr:`all_limitations` adds the standard text.
    ``provenance`` maps each tool and knowledge release to its version (``pipeline``, ``hpo``,
    ``clinvar``, ``gnomad``, ``mane``…); the exports take ontology versions from it.
    """

    lab: Laboratory
    case_reference: str
    patient_pseudonym: str
    sex: Sex
    indication: Indication
    prescriber: str
    samples: tuple[Sample, ...]
    method: Method
    qc: tuple[SampleQC, ...]
    observed_phenotypes: tuple[Term, ...]
    excluded_phenotypes: tuple[Term, ...]
    variants: tuple[ReportedVariant, ...]
    secondary_findings: SecondaryFindings
    conclusion: Conclusion
    provenance: Mapping[str, str]
    version: int
    status: ReportStatus
    drafted_by: str
    drafted_at: datetime
    limitations: tuple[str, ...] = ()
    standard_limitations: tuple[str, ...] = STANDARD_LIMITATIONS
    supersedes: int | None = None
    signed_by: str | None = None
    signed_at: datetime | None = None

    def __post_init__(self) -> None:
        _require_text(self.case_reference, "case reference")
        _require_text(self.patient_pseudonym, "patient pseudonym")
        _coerce(self, "sex", Sex, "sex")
        _coerce(self, "status", ReportStatus, "report status")
        _tuples(self, "samples", "qc", "observed_phenotypes", "excluded_phenotypes", "variants", "limitations",
                "standard_limitations")
        object.__setattr__(self, "provenance", dict(self.provenance))
        _require_text(self.prescriber, "prescriber")
        _require(bool(self.samples), f"report {self.case_reference} names no sample")
        sample_ids = [s.sample_id for s in self.samples]
        _require(len(set(sample_ids)) == len(sample_ids), f"report {self.case_reference} lists a sample twice")
        for qc in self.qc:
            _require(qc.sample_id in sample_ids, f"QC given for {qc.sample_id}, which is not a sample of the report")
        for variant in (*self.variants, *self.secondary_findings.variants):
            _require(not variant.sample_id or variant.sample_id in sample_ids,
                     f"variant {variant.genomic} names sample {variant.sample_id}, which is not a sample of the report")
        for term in (*self.observed_phenotypes, *self.excluded_phenotypes):
            _require(bool(_HPO.match(term.id)), f"phenotype {term.id!r} is not an HPO identifier like 'HP:0001250'")
        both = {t.id for t in self.observed_phenotypes} & {t.id for t in self.excluded_phenotypes}
        _require(not both, f"phenotypes both observed and excluded: {', '.join(sorted(both))}")
        if self.conclusion.outcome in (Outcome.SOLVED, Outcome.PARTIALLY_SOLVED):
            _require(any(v.acmg_class.is_pathogenic for v in self.variants),
                     f"case {self.case_reference} is called {self.conclusion.outcome} but reports no pathogenic or "
                     "likely pathogenic variant")
        _require(isinstance(self.version, int) and self.version >= 1, "report version must be an integer ≥ 1")
        _require(self.supersedes is None or (isinstance(self.supersedes, int) and 1 <= self.supersedes < self.version),
                 f"version {self.version} cannot supersede version {self.supersedes}")
        _require_text(self.drafted_by, "drafted by")
        _require_aware(self.drafted_at, "drafted_at")
        for key, value in self.provenance.items():
            _require(isinstance(key, str) and isinstance(value, str) and bool(key) and bool(value),
                     f"provenance entry {key!r}: {value!r} must map a name to a version string")
        if self.status is ReportStatus.SIGNED:
            _require(bool(self.signed_by and self.signed_by.strip()), "a signed report names its signer")
            _require(self.signed_by != self.drafted_by, "a report must be signed by a second person, not its author")
            _require(self.signed_at is not None, "a signed report carries its signing time")
            assert self.signed_at is not None  # noqa: S101  # narrowed for mypy by the check above
            _require_aware(self.signed_at, "signed_at")
            _require(self.signed_at >= self.drafted_at, "a report cannot be signed before it was drafted")
        else:
            _require(self.signed_by is None and self.signed_at is None, "a draft report carries no signature")

    @property
    def is_signed(self) -> bool:
        """Whether this version is signed (immutable, for clinical use)."""
        return self.status is ReportStatus.SIGNED

    @property
    def all_limitations(self) -> tuple[str, ...]:
        """The standard limitations followed by the case-specific ones."""
        return (*self.standard_limitations, *self.limitations)

    @property
    def proband_sample(self) -> Sample:
        """The proband's sample (the first one when none is labelled proband)."""
        return next((s for s in self.samples if s.relation == "proband"), self.samples[0])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: enums as their values, timestamps in ISO 8601, tuples as lists."""
        result = _plain(self)
        assert isinstance(result, dict)  # noqa: S101  # a dataclass always flattens to a dict
        return result

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, no spaces, UTF-8 text): what the digest is computed over."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def sha256(self) -> str:
        """SHA-256 of the canonical JSON: the digest printed in the footer and quoted by the exports."""
        return hashlib.sha256(self.to_json().encode("utf-8")).hexdigest()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReportContent:
        """Rebuild a content from :meth:`to_dict` output (e.g. stored JSON), with every check re-run."""
        try:
            content: ReportContent = _build(cls, data)
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"report content JSON is malformed: {type(exc).__name__}: {exc}") from exc
        return content

    @classmethod
    def from_json(cls, text: str) -> ReportContent:
        """Rebuild a content from :meth:`to_json` output."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"report content is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise InputError("report content JSON must be an object")
        return cls.from_dict(data)


def _plain(value: Any) -> Any:
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    return value


# The type each nested field is rebuilt into; everything else is taken as is.
_NESTED: dict[str, Any] = {}


def _build(cls: Any, data: Mapping[str, Any]) -> Any:
    kwargs: dict[str, Any] = {}
    hints = _NESTED.get(cls.__name__, {})
    for f in fields(cls):
        if f.name not in data:
            continue
        raw = data[f.name]
        kind = hints.get(f.name)
        if raw is None or kind is None:
            kwargs[f.name] = tuple(raw) if isinstance(raw, list) else raw
        elif isinstance(kind, tuple):  # (element type,): a tuple of dataclasses
            kwargs[f.name] = tuple(_build(kind[0], item) for item in raw)
        elif kind is datetime:
            kwargs[f.name] = datetime.fromisoformat(raw)
        elif kind is dict:
            kwargs[f.name] = dict(raw)
        elif hasattr(kind, "__dataclass_fields__"):
            kwargs[f.name] = _build(kind, raw)
        else:  # an enum
            kwargs[f.name] = kind(raw)
    return cls(**kwargs)


_NESTED.update({
    "ReportContent": {
        "lab": Laboratory, "sex": Sex, "indication": Indication, "samples": (Sample,), "method": Method,
        "qc": (SampleQC,), "observed_phenotypes": (Term,), "excluded_phenotypes": (Term,),
        "variants": (ReportedVariant,), "secondary_findings": SecondaryFindings, "conclusion": Conclusion,
        "provenance": dict, "status": ReportStatus, "drafted_at": datetime, "signed_at": datetime,
    },
    "SampleQC": {"status": QCStatus, "metrics": (QCMetric,)},
    "ReportedVariant": {"zygosity": Zygosity, "acmg_class": AcmgClass, "disease": Term,
                        "genomic_source": GenomicSource},
    "SecondaryFindings": {"variants": (ReportedVariant,)},
    "Conclusion": {"outcome": Outcome},
})

__all__ = [
    "NO_SECONDARY_FINDINGS_FOUND", "NO_SECONDARY_FINDINGS_SOUGHT", "STANDARD_LIMITATIONS", "AcmgClass",
    "Conclusion", "GenomicSource", "Indication", "Laboratory", "Method", "Outcome", "QCMetric", "QCStatus",
    "ReportContent", "ReportStatus", "ReportedVariant", "Sample", "SampleQC", "SecondaryFindings", "Sex", "Term",
    "Zygosity", "valid_acmg_criterion",
]
