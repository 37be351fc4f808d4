"""Interpreting a catalog case end to end, as a node runs it: from the vault to ranked, classified candidates.

:func:`interpret_case` is what a biologist (or a bioinformatician) starts once a case is analysed:

1. the case, its consent and its state are checked (an analysed case, or one already interpreted or
   reported, for a re-run); the phenotype (the prescription's HPO terms unless others are given)
   and the gene panel (the one pinned to the case, or the one asked for, then pinned) are resolved;
2. the members are gathered from the catalog pedigree: the proband, the parents and full siblings
   with a germline sample whose genotypes sit in a stored VCF/gVCF (a multi-sample trio VCF stored
   under the proband's sample holds the parents' columns too). A parent recorded, or inferred by
   QC, with the other sex is an error (a sample swap would turn every inherited variant into a de
   novo one); a relative without a sample, without a file, or without diagnosis consent is left out
   with a warning that says so, never silently;
3. the files are decrypted into the node's staging folder only for as long as they are read
   (:func:`genomed.interpret.case_data.read_case_vcfs`, the ingestion reader's checks and
   normalisation, with the node's reference FASTA when it has one);
4. quality filter, annotation (MANE Select) only of the calls that pass it, consequence filter,
   population frequencies only for what survives: the node's own cohort without this family's
   samples and without anyone whose consent does not cover care, and gnomAD when given; then the
   ranking of :func:`genomed.interpret.prioritise.prioritise` with the HPO phenotype scores and each
   gene's modes of inheritance (HPO, plus the panel's rating of the gene);
5. the variants of the top candidates are classified with the ACMG/AMP criteria
   (:mod:`genomed.interpret.acmg`), with the curators' stored overrides for the case applied;
6. secondary findings (pathogenic or likely pathogenic ClinVar variants in the ACMG SF genes) are
   looked for only when the patient consented to them, and the outcome says so either way;
7. everything is recorded in one transaction: an :class:`~genomed.catalog.models.Analysis` with the
   parameters and the provenance (pipeline version, build, every knowledge release used, warnings),
   one :class:`~genomed.catalog.models.Candidate` per ranked gene with its evidence, the audit
   entry, and the case's step to *interpreted* (*reanalysed* for a reported case).

The heavy work runs outside any database transaction, as ingestion does: a long interpretation
never holds the catalog's write lock, and consent is checked again when the results are written.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import re
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from genomed import __version__
from genomed.access.purpose import Purpose
from genomed.access.roles import Permission
from genomed.annotate.clinvar import ClinVar
from genomed.annotate.model import ClinVarAssertion, PopulationFrequency, Variant, VariantAnnotation
from genomed.annotate.population import CohortFrequencies, FrequencySource
from genomed.annotate.releases import KnowledgeRelease, ReleaseSet, file_sha256, make_release
from genomed.catalog.cases import CaseState, case_by_reference
from genomed.catalog.consent_rules import Scope, active_scopes, require_consent
from genomed.catalog.files import FileKind, staged_plaintext
from genomed.catalog.guard import authorize
from genomed.catalog.models import (
    Analysis,
    Candidate,
    ClassificationOverride,
    FamilyMember,
    Patient,
    Prescription,
    QCResult,
    Sample,
    StoredFile,
    User,
)
from genomed.catalog.prescriptions import advance_and_audit
from genomed.context import NodeContext
from genomed.db.base import utcnow
from genomed.errors import ConfigurationError, InputError, NotFoundError, StateError
from genomed.genome.reference import ReferenceGenome, open_reference
from genomed.interpret.acmg import AcmgConfig, CaseFacts, Classification, GeneFacts, Override, VariantEvidence
from genomed.interpret.acmg import classify as acmg_classify
from genomed.interpret.acmg.classify import apply_overrides
from genomed.interpret.acmg.combine import AcmgClass, combine
from genomed.interpret.acmg.config import DEFAULT_CONFIG
from genomed.interpret.acmg.evidence import INHERITANCE_MODES
from genomed.interpret.acmg.protein import change_kind
from genomed.interpret.acmg.result import CriterionResult
from genomed.interpret.acmg.strength import Direction, Strength
from genomed.interpret.case_data import REF, CaseCalls, Member, Role, read_case_vcfs
from genomed.interpret.filters import quality_mask
from genomed.interpret.panels import ACMG_SF_PANEL_ID, GenePanel, Inheritance, PanelLibrary, load_acmg_sf
from genomed.interpret.prioritise import (
    CandidateVariant,
    GeneCandidate,
    PrioritisationConfig,
    consequence_or_known,
    known_pathogenic,
    prioritise,
)

LOG = logging.getLogger(__name__)

PIPELINE = "genomed-interpret"
ACMG_SF_FILE = "panels/acmg-sf-v3.1.tsv"
INTERPRETABLE = frozenset({CaseState.ANALYSED, CaseState.INTERPRETED, CaseState.REPORTED, CaseState.REANALYSED})
_RERUN_AFTER_REPORT = frozenset({CaseState.REPORTED, CaseState.REANALYSED})
_PANEL_SPEC = re.compile(r"^\s*(?P<id>[^@\s][^@]*?)\s*(?:@\s*(?P<version>[^@\s]+))?\s*$")
_CLASS_ORDER = {AcmgClass.PATHOGENIC.value: 0, AcmgClass.LIKELY_PATHOGENIC.value: 1, AcmgClass.VUS.value: 2,
                AcmgClass.LIKELY_BENIGN.value: 3, AcmgClass.BENIGN.value: 4}
# HPO / panel mode labels -> the ACMG evidence record's vocabulary (AD, AR, XL, XLD, XLR, MT, YL).
_ACMG_MODES: dict[str, tuple[str, ...]] = {"SD": ("AD", "AR"), "PAD": ("AD",), "PAR": ("AR",)}


# --------------------------------------------------------------------------------------------- results

@dataclass(frozen=True)
class CandidateRecord:
    """One ranked gene as stored in the catalog (``details`` is the JSON the report reads)."""

    rank: int
    gene: str
    combined_score: float
    phenotype_score: float
    variant_score: float
    mode: str
    acmg_class: str | None
    details: dict[str, Any]

    @property
    def evidence(self) -> list[str]:
        """The evidence sentences (phenotype, inheritance, each variant)."""
        return [str(line) for line in self.details.get("evidence", [])]

    @property
    def variants(self) -> list[dict[str, Any]]:
        """The candidate's variants with their HGVS, zygosity, frequencies, ClinVar and ACMG result."""
        return list(self.details.get("variants", []))


@dataclass(frozen=True)
class SecondaryFinding:
    """A pathogenic or likely pathogenic ClinVar variant in an ACMG secondary-findings gene."""

    gene: str
    variant: str
    zygosity: str
    significance: str
    stars: int
    accession: str
    conditions: tuple[str, ...]
    note: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"gene": self.gene, "variant": self.variant, "zygosity": self.zygosity,
                "significance": self.significance, "stars": self.stars, "accession": self.accession,
                "conditions": list(self.conditions), "note": self.note}


@dataclass
class InterpretationOutcome:
    """What one interpretation did and found (everything in it is also stored in the catalog)."""

    case_reference: str
    analysis_id: int
    kind: str
    state: str
    members: list[dict[str, Any]]
    observed: tuple[str, ...]
    excluded: tuple[str, ...]
    panel: str | None
    counts: dict[str, int]
    ranked: int
    candidates: list[CandidateRecord]
    secondary_findings_sought: bool
    secondary_findings: list[SecondaryFinding]
    secondary_findings_note: str
    warnings: list[str]
    provenance: dict[str, Any] = field(repr=False)

    def rank_of(self, gene: str) -> int | None:
        """The rank of a gene among the stored candidates, or None."""
        return next((c.rank for c in self.candidates if c.gene == gene), None)


@dataclass(frozen=True)
class StoredInterpretation:
    """The latest (or a chosen) interpretation of a case as the catalog holds it."""

    case_reference: str
    analysis_id: int
    kind: str
    started_at: datetime
    parameters: dict[str, Any]
    provenance: dict[str, Any]
    candidates: list[CandidateRecord]

    @property
    def secondary_findings(self) -> dict[str, Any]:
        """``{"sought": bool, "note": str, "findings": [...]}`` as recorded."""
        return dict(self.provenance.get("secondary_findings", {}))

    @property
    def warnings(self) -> list[str]:
        return [str(w) for w in self.provenance.get("warnings", [])]


@dataclass(frozen=True)
class OverrideOutcome:
    """A stored curator decision and what it does to the variant's class in the latest interpretation."""

    override_id: int
    case_reference: str
    variant: str
    criterion: str
    applied: bool
    strength: str | None
    gene: str | None
    previous_class: str | None
    new_class: str | None
    explanation: str | None


# ---------------------------------------------------------------------------------------- the plan

@dataclass(frozen=True)
class _FileRef:
    id: int
    vault_id: str
    original_name: str
    sha256: str
    size: int


@dataclass
class _Person:
    """A member of the case as the catalog knows them (before the files are read)."""

    patient_id: int
    pseudonym: str
    role: Role
    sex: str
    affected: bool | None
    consented: bool
    samples: list[str] = field(default_factory=list)          # germline sample labels, preferred first
    qc_sex: dict[str, str] = field(default_factory=dict)       # label -> sex inferred by QC
    mendel: dict[str, str] = field(default_factory=dict)       # label -> Mendelian-check status (probands)


@dataclass
class _Plan:
    """Everything the first, read-only transaction learns; plain data, usable after it closes."""

    case_id: int
    reference: str
    state: CaseState
    observed: tuple[str, ...]
    excluded: tuple[str, ...]
    panel: GenePanel | None
    pin: tuple[str, str] | None
    people: list[_Person]
    files: list[_FileRef]
    family_samples: set[int]
    overrides: dict[str, dict[str, Override]]
    secondary_consent: bool
    warnings: list[str]


def parse_panel_spec(text: str) -> tuple[str, str | None]:
    """``ID`` or ``ID@VERSION`` (PanelApp id or exact panel name) as (id, version).

    >>> parse_panel_spec("285@3.1"), parse_panel_spec(" 285 ")
    (('285', '3.1'), ('285', None))
    """
    match = _PANEL_SPEC.match(text or "")
    if match is None:
        raise InputError(f"not a panel: {text!r}; write ID or ID@VERSION, e.g. 285@3.1")
    return match["id"], match["version"]


def _check_terms(terms: Iterable[str], role: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Validated terms (obsolete ones replaced) and the warnings about replacements."""
    from genomed.interpret.hpo import validate_terms

    checked = validate_terms([t for t in terms], role=role)
    return checked.terms, checked.warnings


def _affected(value: str | None) -> bool | None:
    return {"affected": True, "unaffected": False}.get(value or "")


def _qc_facts(session: Session, sample_id: int) -> tuple[str | None, str | None]:
    """(sex inferred by the latest QC, status of its Mendelian check) for one sample."""
    qc = session.scalar(select(QCResult).where(QCResult.sample_id == sample_id).order_by(QCResult.id.desc()))
    if qc is None:
        return None, None
    sex = mendel = None
    for check in (qc.metrics or {}).get("checks", []):
        if check.get("metric") == "sex" and isinstance(check.get("value"), str):
            sex = check["value"]
        elif check.get("metric") == "mendelian_error_rate":
            mendel = check.get("status")
    return sex, mendel


def _person(session: Session, case: Prescription, patient: Patient, role: Role, affected: bool | None) -> _Person:
    consented = Scope.DIAGNOSIS in active_scopes(session, patient)
    person = _Person(patient.id, patient.pseudonym, role, patient.sex, affected, consented)
    rows = list(session.scalars(select(Sample).where(Sample.patient_id == patient.id, Sample.kind == "germline")))
    rows.sort(key=lambda s: (s.prescription_id != case.id, -s.id))
    for sample in rows:
        person.samples.append(sample.label)
        sex, mendel = _qc_facts(session, sample.id)
        if sex is not None:
            person.qc_sex[sample.label] = sex
        if mendel is not None:
            person.mendel[sample.label] = mendel
    return person


def _people(session: Session, case: Prescription, warnings: list[str]) -> tuple[list[_Person], set[int]]:
    """The proband, parents and full siblings; and the ids of every sample of the family (for the cohort)."""
    proband = case.patient
    row = session.scalar(select(FamilyMember).where(FamilyMember.patient_id == proband.id))
    people = [_person(session, case, proband, "proband", True)]
    family_patients = {proband.id}
    if row is None:
        warnings.append(f"patient {proband.pseudonym} belongs to no pedigree: analysed alone, without parents")
    else:
        if row.affected == "unaffected":
            warnings.append(f"the pedigree records the proband {proband.pseudonym} as unaffected; analysed as "
                            "affected, since the case is theirs")
        members = list(row.family.members)
        family_patients |= {m.patient_id for m in members}
        affected_of = {m.patient_id: _affected(m.affected) for m in members}
        for role, parent in (("father", row.father), ("mother", row.mother)):
            if parent is None:
                warnings.append(f"the pedigree names no {role} of {proband.pseudonym}")
                continue
            wrong = "female" if role == "father" else "male"
            if parent.sex == wrong:
                raise InputError(f"pedigree of case {case.reference}: {parent.pseudonym} is the {role} of "
                                 f"{proband.pseudonym} but is recorded {wrong} in the catalog; correct the "
                                 "pedigree or the patient's sex before interpreting")
            people.append(_person(session, case, parent, role, affected_of.get(parent.id)))  # type: ignore[arg-type]
        for member in members:
            if member.patient_id == proband.id or member.patient_id in (row.father_id, row.mother_id):
                continue
            if row.father_id is not None and row.mother_id is not None and \
                    (member.father_id, member.mother_id) == (row.father_id, row.mother_id):
                people.append(_person(session, case, member.patient, "sibling", _affected(member.affected)))
            else:
                warnings.append(f"{member.patient.pseudonym} of family {row.family.code} is neither a parent nor "
                                "a full sibling of the proband: not used by the inheritance analysis")
    family_samples = set(session.scalars(select(Sample.id).where(Sample.patient_id.in_(family_patients))))
    for person in people[1:]:
        if not person.consented:
            warnings.append(f"the {person.role} {person.pseudonym} has no diagnosis consent in force: their "
                            "genotypes are not used")
        elif not person.samples:
            warnings.append(f"the {person.role} {person.pseudonym} has no germline sample: analysed without them")
    return people, family_samples


def _resolve_panel(case: Prescription, panel: str | None, library: PanelLibrary | None,
                   warnings: list[str]) -> tuple[GenePanel | None, tuple[str, str] | None]:
    """The panel to filter with and, when it changes, the (id, version) to pin on the case."""
    pinned = (case.panel_id, case.panel_version) if case.panel_id else None
    wanted: tuple[str, str | None] | None = parse_panel_spec(panel) if panel else pinned
    if wanted is None:
        return None, None
    if pinned is not None and wanted[1] is None and wanted[0] == pinned[0]:
        wanted = pinned
    if library is None:
        shown = wanted[0] + (f"@{wanted[1]}" if wanted[1] else "")
        raise ConfigurationError(f"case {case.reference} is analysed with gene panel {shown}, but no panel "
                                 "library was given to read it from (PanelApp files, --panels)")
    chosen = library.get(wanted[0], wanted[1])
    if pinned is not None and pinned[1] is not None and pinned != (chosen.id, chosen.version):
        warnings.append(f"gene panel changed from {pinned[0]} v{pinned[1]} to {chosen.label}; the case is "
                        "now pinned to the new version")
    pin = None if pinned == (chosen.id, chosen.version) else (chosen.id, chosen.version)
    return chosen, pin


def _overrides(session: Session, case_id: int) -> dict[str, dict[str, Override]]:
    """The curators' decisions for the case: per variant, the latest per criterion (later ones supersede)."""
    out: dict[str, dict[str, Override]] = {}
    rows = session.execute(
        select(ClassificationOverride, User.username).join(User, User.id == ClassificationOverride.curator_id)
        .where(ClassificationOverride.prescription_id == case_id).order_by(ClassificationOverride.id)).all()
    for row, username in rows:
        out.setdefault(row.variant, {})[row.criterion] = Override(row.criterion, row.applied, row.strength,
                                                                  row.comment, username)
    return out


def _plan(ctx: NodeContext, actor: str, *, case_reference: str, observed: Sequence[str] | None,
          excluded: Sequence[str] | None, panel: str | None, panel_library: PanelLibrary | None) -> _Plan:
    warnings: list[str] = []
    with ctx.transaction() as session:
        authorize(ctx, session, actor, Permission.INTERPRET_CASE, object_type="case", object_id=case_reference,
                  purpose=Purpose.CARE)
        case = case_by_reference(session, case_reference)
        require_consent(session, case.patient, Scope.DIAGNOSIS, f"interpret case {case.reference}")
        state = CaseState(case.state)
        if state not in INTERPRETABLE:
            raise StateError(f"case {case.reference} is {state.value}: interpretation needs an analysed case "
                             "(its VCF ingested first)")
        seen, seen_warnings = _check_terms(case.hpo_terms if observed is None else observed, "observed")
        absent, absent_warnings = _check_terms(case.excluded_hpo_terms if excluded is None else excluded, "excluded")
        both = sorted(set(seen) & set(absent))
        if both:
            raise InputError(f"HPO term(s) both observed and excluded: {', '.join(both)}")
        warnings += [*seen_warnings, *absent_warnings]
        chosen_panel, pin = _resolve_panel(case, panel, panel_library, warnings)
        people, family_samples = _people(session, case, warnings)
        usable = [p for p in people if p.consented]
        labels = [label for p in usable for label in p.samples]
        files = [
            _FileRef(f.id, f.vault_id, f.original_name, f.plaintext_sha256, f.plaintext_size)
            for f in session.scalars(
                select(StoredFile).join(Sample, Sample.id == StoredFile.sample_id)
                .where(Sample.label.in_(labels), StoredFile.kind.in_([FileKind.VCF.value, FileKind.GVCF.value]))
                .order_by(StoredFile.id.desc()))
        ] if labels else []
        if not files:
            raise StateError(f"case {case.reference}: no VCF or gVCF is stored for the proband's or relatives' "
                             "samples; store and ingest the calls first")
        return _Plan(case_id=case.id, reference=case.reference, state=state, observed=seen, excluded=absent,
                     panel=chosen_panel, pin=pin, people=usable, files=files, family_samples=family_samples,
                     overrides=_overrides(session, case.id),
                     secondary_consent=Scope.SECONDARY_FINDINGS in active_scopes(session, case.patient),
                     warnings=warnings)


# ---------------------------------------------------------------------------------------- the files

def _plaintext(ctx: NodeContext, stored: _FileRef) -> contextlib.AbstractContextManager[Path]:
    return staged_plaintext(ctx, vault_id=stored.vault_id, sha256=stored.sha256, size=stored.size,
                            original_name=stored.original_name, job="interpret")


def _choose_columns(people: list[_Person], files: list[_FileRef], columns: Mapping[str, list[str]],
                    warnings: list[str]) -> dict[int, tuple[str, str]]:
    """Person index -> (sample label, vault id): one file for all if one holds them all, else each one's newest.

    One file is preferred because a genotype absent from a single-sample file can only be assumed
    reference, while a multi-sample VCF states it.
    """
    def found(person: _Person, vault_id: str) -> str | None:
        return next((label for label in person.samples if label in columns[vault_id]), None)

    present = [i for i, p in enumerate(people) if any(found(p, f.vault_id) for f in files)]
    for f in files:  # newest first
        if all(found(people[i], f.vault_id) for i in present):
            return {i: (found(people[i], f.vault_id) or "", f.vault_id) for i in present}
    chosen: dict[int, tuple[str, str]] = {}
    for i in present:
        f = next(f for f in files if found(people[i], f.vault_id))
        chosen[i] = (found(people[i], f.vault_id) or "", f.vault_id)
    return chosen


def _members(plan: _Plan, chosen: dict[int, tuple[str, str]], warnings: list[str]) -> tuple[list[Member], str | None]:
    """The case members for :func:`read_case_vcfs`, after the sex checks; and the proband's Mendelian-check status."""
    if 0 not in chosen:
        proband = plan.people[0]
        raise StateError(f"case {plan.reference}: no stored VCF or gVCF has a column for the proband's sample(s) "
                         f"{', '.join(proband.samples) or '(none registered)'}")
    members: list[Member] = []
    mendel: str | None = None
    for i, person in enumerate(plan.people):
        if i not in chosen:
            if person.samples:
                warnings.append(f"the {person.role} {person.pseudonym} has sample(s) {', '.join(person.samples)} "
                                "but no stored VCF or gVCF holds their genotypes: analysed without them")
            continue
        label = chosen[i][0]
        inferred = person.qc_sex.get(label)
        if person.role in ("father", "mother") and inferred in ("male", "female"):
            expected = "male" if person.role == "father" else "female"
            if inferred != expected:
                raise InputError(f"case {plan.reference}: sample {label} of the {person.role} {person.pseudonym} "
                                 f"is {inferred} by its QC sex check; a sample swap? Fix the samples or the "
                                 "pedigree before interpreting")
        sex = person.sex
        if inferred in ("male", "female") and sex in ("male", "female") and inferred != sex:
            warnings.append(f"sample {label} of the {person.role} {person.pseudonym} is {inferred} by QC but "
                            f"{sex} in the catalog; the catalog's sex is used")
        if sex not in ("male", "female"):
            sex = inferred if inferred in ("male", "female") else "unknown"
        members.append(Member(label, person.role, sex, person.affected))  # type: ignore[arg-type]
        if person.role == "proband":
            mendel = person.mendel.get(label)
    return members, mendel


# ------------------------------------------------------------------------------------ knowledge

_ANNOTATORS: dict[tuple[str, int, int], Any] = {}
_SPECTRA: weakref.WeakKeyDictionary[ClinVar, dict[str, list[int]]] = weakref.WeakKeyDictionary()


def _annotator(reference: ReferenceGenome | None, path: Path | None) -> Any:
    """The MANE Select annotator, built once per reference file (building it takes about a second)."""
    from genomed.annotate.annotator import Annotator

    key = ("", 0, 0)
    if path is not None:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    found = _ANNOTATORS.get(key)
    if found is None:
        _ANNOTATORS.clear()  # one reference per node: keep one annotator
        from genomed.genome.mapped_fasta import mapped_reference

        mapped = mapped_reference(reference) if reference is not None else None
        found = _ANNOTATORS[key] = Annotator.from_mane(mapped)
    return found


def _clinvar_spectrum(clinvar: ClinVar) -> dict[str, list[int]]:
    """Per gene: pathogenic loss-of-function, pathogenic missense and benign missense ClinVar records (≥1 star).

    One pass over the release, kept for as long as the release object lives. Loss of function is read
    from the record's protein change (nonsense, frameshift) or its HGVS c. (canonical ±1/2 splice
    sites), so a VCF release loaded without protein changes counts none and PVS1 says the mechanism
    is not known rather than guessing it.
    """
    known = _SPECTRA.get(clinvar)
    if known is not None:
        return known
    spectrum: dict[str, list[int]] = {}
    for record in clinvar:
        if not record.gene_symbol or record.stars < 1 or not (record.pathogenic or record.benign):
            continue
        counts = spectrum.setdefault(record.gene_symbol, [0, 0, 0])
        kind = change_kind(record.hgvs_c, record.hgvs_p)
        if record.pathogenic:
            if kind == "loss_of_function":
                counts[0] += 1
            elif kind == "missense":
                counts[1] += 1
        elif kind == "missense":
            counts[2] += 1
    _SPECTRA[clinvar] = spectrum
    return spectrum


def hpo_release() -> KnowledgeRelease:
    """The HPO release as a knowledge release (the ontology is compiled into the hpo3 library)."""
    import pyhpo  # type: ignore[import-untyped]  # hpo3 ships .pyi files but no py.typed marker

    from genomed.interpret.hpo import load_release

    release = load_release()
    binary = next(Path(pyhpo.__file__).parent.glob("pyhpo*.so"), None)
    return KnowledgeRelease(name="HPO", version=release.version, source=release.library,
                            sha256=file_sha256(binary) if binary is not None else "",
                            loaded_at=datetime.now(UTC), version_from="file")


def published_cases_release() -> KnowledgeRelease | None:
    """The published cases the phenotype scorer learns from, as a knowledge release (None without any)."""
    from genomed.interpret.phenotype import default_scorer

    cases = default_scorer().cases
    if cases is None:
        return None
    return KnowledgeRelease(name="Published cases", version=cases.sha256[:12], source=cases.source,
                            sha256=cases.sha256, loaded_at=datetime.now(UTC), version_from="inferred",
                            records=len(cases.cohorts))


def mane_release() -> KnowledgeRelease:
    from genomed.annotate.mane import MANE_FILE
    from genomed.data import data_file

    return make_release("MANE", data_file(MANE_FILE), version=None, version_from="unknown", build="GRCh38")


def _sf_panel(library: PanelLibrary | None, warnings: list[str]) -> GenePanel | None:
    if library is not None:
        with contextlib.suppress(NotFoundError):
            return library.get(ACMG_SF_PANEL_ID)
    from genomed.data import data_file

    try:
        return load_acmg_sf(data_file(ACMG_SF_FILE))
    except ConfigurationError as exc:
        warnings.append(f"no ACMG secondary-findings list: {exc}")
        return None


# ---------------------------------------------------------------------------------------- analysis

@dataclass
class _Frequencies:
    """Per consequence-passing row: the populations that cover it and the highest frequency."""

    max_af: npt.NDArray[np.float64]
    sources: dict[int, tuple[PopulationFrequency, ...] | None]
    cohort_lookups: int = 0
    cohort_used: bool = False


def _frequencies(ctx: NodeContext, calls: CaseCalls, rows: Sequence[int], family_samples: set[int],
                 gnomad: FrequencySource | None, warnings: list[str]) -> _Frequencies:
    from genomed.store.consented import ConsentedCohort

    out = _Frequencies(np.full(len(calls), np.nan), {})
    store_samples = ctx.store.sample_ids() if (ctx.config.store_dir / "manifest.json").exists() else set()
    exclude = set(ConsentedCohort(ctx, Purpose.CARE).excluded()) | family_samples
    others = store_samples - exclude
    if not others:
        warnings.append("the node's variant store holds no other consented sample than this family's: no cohort "
                        "frequency was used")
    source = f"genomed cohort {ctx.config.node_name}"
    for row in rows:
        v = calls.variant(row)
        found: list[PopulationFrequency] = []
        looked = gnomad is not None
        if others:
            counts = ctx.store.variant(v.chrom, v.pos, v.ref, v.alt, exclude=exclude)
            out.cohort_lookups += 1
            if counts.an > 0:
                looked = True
                found.append(PopulationFrequency(source, counts.ac, counts.an, counts.n_hom_alt, counts.n_hemi_alt))
        if gnomad is not None:
            hit = gnomad.lookup(v)
            if hit is not None:
                found.append(hit)
        out.cohort_used |= any(f.source == source for f in found)
        out.sources[row] = tuple(found) if looked else None
        out.max_af[row] = max((f.max_af for f in found), default=0.0)
    return out


def _acmg_modes(labels: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for label in labels:
        for mode in _ACMG_MODES.get(label.upper(), (label.upper(),)):
            if mode in INHERITANCE_MODES and mode not in out:
                out.append(mode)
    return tuple(out)


def _criterion_json(result: CriterionResult) -> dict[str, Any]:
    return {"code": result.code, "label": result.label, "applied": result.applied, "strength": result.strength.value,
            "direction": result.direction.value, "reason": result.reason, "curator": result.curator,
            "automated": _criterion_json(result.automated) if result.automated is not None else None}


def _criterion_from_json(raw: Mapping[str, Any]) -> CriterionResult:
    return CriterionResult(str(raw["code"]), bool(raw["applied"]), Strength(raw["strength"]),
                           Direction(raw["direction"]), str(raw["reason"]))


def _classification_json(result: Classification) -> dict[str, Any]:
    return {"class": result.acmg_class.value, "points": result.points, "rules_2015": result.rules_class_2015.value,
            "applied": list(result.codes), "explanation": result.explanation,
            "criteria": [_criterion_json(c) for c in result.criteria]}


def _frequency_json(found: tuple[PopulationFrequency, ...] | None, max_af: float) -> dict[str, Any]:
    return {"max_af": max_af, "looked_up": found is not None,
            "sources": [{"source": f.source, "ac": f.ac, "an": f.an, "af": f.af, "homozygotes": f.homozygotes,
                         "hemizygotes": f.hemizygotes, "popmax_af": f.popmax_af} for f in found or ()]}


def _clinvar_json(record: ClinVarAssertion | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {"accession": record.accession, "significance": record.significance,
            "review_status": record.review_status, "stars": record.stars, "conditions": list(record.conditions)}


@dataclass
class _Context:
    """What classifying a candidate's variants needs from the rest of the run."""

    calls: CaseCalls
    build: str
    freqs: _Frequencies
    clinvar: ClinVar | None
    spectrum: dict[str, list[int]] | None
    de_novo_status: str
    overrides: dict[str, dict[str, Override]]
    modes: Callable[[str], frozenset[str]]
    acmg: AcmgConfig


def _classify_variant(cx: _Context, candidate: GeneCandidate, row: int, cv: CandidateVariant,
                      partner: CandidateVariant | None) -> Classification:
    calls = cx.calls
    gene = candidate.gene
    counts = cx.spectrum.get(gene, [0, 0, 0]) if cx.spectrum is not None else None
    facts = GeneFacts(gene, _acmg_modes(cx.modes(gene)),
                      pathogenic_lof_variants=counts[0] if counts is not None else None,
                      pathogenic_missense_variants=counts[1] if counts is not None else None,
                      benign_missense_variants=counts[2] if counts is not None else None)
    father, mother = calls.member_index("father"), calls.member_index("mother")
    de_novo = father is not None and mother is not None and int(calls.genotype[row, father]) == REF and \
        int(calls.genotype[row, mother]) == REF
    in_trans = None
    if candidate.inheritance.in_trans and partner is not None and partner.clinvar is not None:
        in_trans = True if partner.clinvar.pathogenic and partner.clinvar.stars >= 1 else None
    zygosity = cv.zygosity if cv.zygosity in ("heterozygous", "homozygous", "hemizygous") else None
    case = CaseFacts(zygosity=zygosity, de_novo=cx.de_novo_status if de_novo else None,
                     in_trans_with_pathogenic=in_trans)
    effect = next((e for e in cv.annotation.effects if e.gene_symbol == gene and e.mane_select), None) or \
        next((e for e in cv.annotation.effects if e.gene_symbol == gene), None)
    same_position: list[ClinVarAssertion] | None = None
    if cx.clinvar is not None:
        same_position = cx.clinvar.at_protein_position(gene, effect.protein_position) \
            if effect is not None and effect.protein_position is not None else []
    evidence = VariantEvidence(cv.annotation, gene=facts, case=case, population=cx.freqs.sources.get(row),
                               clinvar=cv.clinvar, clinvar_same_position=same_position)
    overrides = list(cx.overrides.get(cv.variant.name, {}).values())
    return acmg_classify(evidence, overrides, cx.acmg)


def _candidate_details(cx: _Context, candidate: GeneCandidate) -> tuple[dict[str, Any], str | None]:
    calls = cx.calls
    variants: list[dict[str, Any]] = []
    classes: list[str] = []
    rows = candidate.inheritance.rows
    for i, (row, cv) in enumerate(zip(rows, candidate.variants, strict=True)):
        partner = candidate.variants[1 - i] if len(candidate.variants) == 2 else None
        result = _classify_variant(cx, candidate, row, cv, partner)
        classes.append(result.acmg_class.value)
        effect = next((e for e in cv.annotation.effects if e.gene_symbol == candidate.gene and e.mane_select), None)
        variants.append({
            "variant": cv.variant.name, "chrom": cv.variant.chrom, "pos": cv.variant.pos, "ref": cv.variant.ref,
            "alt": cv.variant.alt, "gene": candidate.gene,
            "transcript": effect.transcript_id if effect is not None else None,
            "hgvs_c": cv.hgvs_c, "hgvs_p": cv.hgvs_p, "consequence": cv.consequence, "zygosity": cv.zygosity,
            "genotypes": {f"{m.role} {m.sample}": calls.zygosity(row, col, cx.build)
                          for col, m in enumerate(calls.members)},
            "gq": int(calls.gq[row, 0]), "dp": int(calls.dp[row, 0]),
            "de_novo": bool(result.criterion("PS2").applied or result.criterion("PM6").applied
                            or (candidate.inheritance.de_novo and len(rows) == 1)),
            "frequencies": _frequency_json(cx.freqs.sources.get(row), cv.max_af),
            "clinvar": _clinvar_json(cv.clinvar), "pathogenicity": cv.pathogenicity, "score": cv.score,
            "acmg": _classification_json(result),
        })
    pheno = candidate.phenotype
    phenotype: dict[str, Any] | None = None
    if pheno is not None:
        phenotype = {"disease_id": pheno.disease_id, "disease_name": pheno.disease_name, "score": pheno.score,
                     "explanation": pheno.explanation(),
                     "matches": [str(m) for m in pheno.matches if m.information_content > 0],
                     "conflicts": [str(c) for c in pheno.conflicts]}
    match = candidate.inheritance
    details = {
        "inheritance": {"mode": match.mode.value, "words": match.mode.words, "explanation": match.explanation,
                        "de_novo": match.de_novo, "in_trans": match.in_trans, "certainty": match.certainty},
        "phenotype": phenotype, "variants": variants, "evidence": list(candidate.evidence),
    }
    best = min(classes, key=lambda c: _CLASS_ORDER.get(c, 9)) if classes else None
    return details, best


def _secondary_findings(calls: CaseCalls, rows: Sequence[int], clinvar: ClinVar, panel: GenePanel,
                        build: str) -> list[SecondaryFinding]:
    """P/LP ClinVar variants (≥1 star, not conflicting) in the SF genes, biallelic genes only when biallelic."""
    hits: dict[str, list[tuple[int, ClinVarAssertion]]] = {}
    genes = panel.symbols()
    for row in rows:
        record = clinvar.by_variant(calls.variant(row))
        if record is None or not record.pathogenic or record.stars < 1 or record.gene_symbol not in genes:
            continue
        hits.setdefault(record.gene_symbol, []).append((row, record))
    findings = []
    for gene, found in sorted(hits.items()):
        entry = panel.gene(gene)
        zygosities = [calls.zygosity(row, 0, build) for row, _ in found]
        if entry is not None and entry.inheritance is Inheritance.BIALLELIC and len(found) < 2 and \
                zygosities[0] != "homozygous":
            continue  # one heterozygous variant in a recessive SF gene: a carrier, not reported
        for (row, record), zygosity in zip(found, zygosities, strict=True):
            findings.append(SecondaryFinding(gene, calls.variant(row).name, zygosity, record.significance,
                                             record.stars, record.accession, record.conditions,
                                             entry.note if entry is not None else None))
    return findings


def _phenotype_query(plan: _Plan, warnings: list[str]) -> tuple[Any, Any]:
    """The node's phenotype scorer and the case's validated phenotype (None without an observed term)."""
    from genomed.interpret.phenotype import default_scorer

    scorer = default_scorer()
    if not plan.observed:
        warnings.append("no observed HPO term: genes are ranked on the variant evidence alone")
        return scorer, None
    return scorer, scorer.prepare(plan.observed, plan.excluded)


def _read_calls(ctx: NodeContext, plan: _Plan, genome: ReferenceGenome | None,
                warnings: list[str]) -> tuple[CaseCalls, list[str], str]:
    """The members' calls, the files they came from, and the de novo status parentage allows.

    The plaintexts exist only inside this function: decrypted to staging, read, deleted.
    """
    from genomed.ingest.reader import read_header

    with contextlib.ExitStack() as stack:
        paths = {f.vault_id: stack.enter_context(_plaintext(ctx, f)) for f in plan.files}
        columns = {vid: read_header(path).samples for vid, path in paths.items()}
        chosen = _choose_columns(plan.people, plan.files, columns, warnings)
        members, mendel = _members(plan, chosen, warnings)
        calls = read_case_vcfs(members, {label: paths[vid] for label, vid in chosen.values()},
                               build=ctx.config.genome_build, reference=genome)
    warnings += calls.notes
    has_parents = calls.member_index("father") is not None and calls.member_index("mother") is not None
    status = "confirmed" if mendel == "pass" else "assumed"
    if has_parents and status == "assumed":
        warnings.append("parentage was not confirmed by a passing Mendelian check at ingestion: de novo variants "
                        "count as assumed de novo (PM6), not confirmed (PS2)")
    return calls, sorted({vid for _, vid in chosen.values()}), status


def _look_for_secondary_findings(plan: _Plan, calls: CaseCalls, rows: Sequence[int], clinvar: ClinVar | None,
                                 library: PanelLibrary | None, build: str, warnings: list[str]
                                 ) -> tuple[GenePanel | None, list[SecondaryFinding], str]:
    """(the SF gene list used, or None when none were sought; the findings; the sentence for the report)."""
    if not plan.secondary_consent:
        return None, [], "No secondary findings were sought: the patient did not consent to them."
    if clinvar is None:
        return None, [], "No secondary findings were sought: no ClinVar release was given."
    panel = _sf_panel(library, warnings)
    if panel is None:
        return None, [], "No secondary findings were sought: the ACMG secondary-findings gene list is missing."
    findings = _secondary_findings(calls, rows, clinvar, panel, build)
    return panel, findings, (f"Secondary findings were sought in the {len(panel.genes)} genes of {panel.label} "
                             f"(ClinVar pathogenic or likely pathogenic, at least one review star): "
                             f"{len(findings)} found.")


def interpret_case(ctx: NodeContext, actor: str, *, case_reference: str, observed: Sequence[str] | None = None,
                   excluded: Sequence[str] | None = None, panel: str | None = None,
                   panel_library: PanelLibrary | None = None, clinvar: ClinVar | None = None,
                   gnomad: FrequencySource | None = None, config: PrioritisationConfig | None = None,
                   acmg_config: AcmgConfig = DEFAULT_CONFIG, top: int = 20) -> InterpretationOutcome:
    """Interpret an analysed case end to end and record the result (see the module docstring).

    ``observed``/``excluded`` replace the prescription's HPO terms for this run (they are recorded
    in the analysis, not written back). ``panel`` (``ID`` or ``ID@VERSION``) chooses the gene panel
    from ``panel_library`` and pins that version on the case; without it the case's pinned panel is
    used, its newest version pinned when none was. ``top`` candidates are classified and stored.
    """
    if top < 1:
        raise InputError(f"top must be at least 1, got {top}")
    config = config or PrioritisationConfig()
    plan = _plan(ctx, actor, case_reference=case_reference, observed=observed, excluded=excluded, panel=panel,
                 panel_library=panel_library)
    warnings = plan.warnings
    scorer, phenotype_query = _phenotype_query(plan, warnings)  # bad terms fail here, before any file is read
    build = ctx.config.genome_build
    reference_path = ctx.config.reference_path
    genome = open_reference(reference_path, build) if reference_path is not None else None
    if genome is None:
        warnings.append("the node has no reference FASTA: coding changes other than frameshifts and splice sites "
                        "cannot be told apart, and indels are not left-aligned")
    calls, used_files, de_novo_status = _read_calls(ctx, plan, genome, warnings)

    fc = config.filters
    quality_rows = np.flatnonzero(quality_mask(calls, fc))
    annotations: list[VariantAnnotation | None] = [None] * len(calls)
    batch = _annotator(genome, reference_path).annotate_many(calls.variants(quality_rows),
                                                             workers=os.cpu_count() or 1)
    for row, annotation in zip(quality_rows.tolist(), batch, strict=True):
        annotations[row] = annotation
    cases = scorer.cases if build == "GRCh38" else None  # published records are GRCh38
    published = cases.reported if cases is not None else None
    published_nearby = cases.nearby if cases is not None else None
    clinvar_lookup = clinvar.by_variant if clinvar is not None else None
    known = (lambda v: known_pathogenic(v, clinvar_lookup, published)) if clinvar_lookup or published else None
    kept_rows = [r for r in quality_rows.tolist()
                 if consequence_or_known(annotations[r], fc, known)]  # type: ignore[arg-type]
    freqs = _frequencies(ctx, calls, kept_rows, plan.family_samples, gnomad, warnings)

    from genomed.interpret.hpo import gene_inheritance_modes

    phenotype: Mapping[str, Any] = scorer.score_query(phenotype_query) if phenotype_query is not None else {}
    panel_obj = plan.panel

    def modes(gene: str) -> frozenset[str]:
        labels = {str(m) for m in gene_inheritance_modes(scorer.hpo_symbol(gene))}
        entry = panel_obj.gene(gene) if panel_obj is not None else None
        if entry is not None and entry.inheritance is not Inheritance.UNKNOWN:
            labels |= set(entry.inheritance.value.split("/"))
        return frozenset(labels)

    ranked = prioritise(calls, annotations, freqs.max_af, phenotype, modes, build=build, config=config,
                        clinvar=clinvar_lookup,
                        panel_genes=panel_obj.symbols() if panel_obj is not None else None, published=published,
                        published_nearby=published_nearby)
    cx = _Context(calls, build, freqs, clinvar, _clinvar_spectrum(clinvar) if clinvar is not None else None,
                  de_novo_status, plan.overrides, modes, acmg_config)
    stored = []
    for candidate in ranked[:top]:
        details, best = _candidate_details(cx, candidate)
        stored.append(CandidateRecord(candidate.rank, candidate.gene, candidate.combined_score,
                                      candidate.phenotype_score, candidate.variant_score,
                                      candidate.inheritance.mode.value, best, details))
    sf_panel, findings, note = _look_for_secondary_findings(plan, calls, quality_rows.tolist(), clinvar,
                                                            panel_library, build, warnings)
    sought = sf_panel is not None

    releases = ReleaseSet()
    releases.add(hpo_release())
    if (published := published_cases_release()) is not None:
        releases.add(published)
    with contextlib.suppress(ConfigurationError):
        releases.add(mane_release())
    for source in (clinvar, gnomad, panel_obj, sf_panel):
        if source is not None:
            releases.add(source.release)
    if freqs.cohort_used:
        releases.add(CohortFrequencies(ctx, actor).release)
    counts = {"variants": len(calls), "quality_pass": len(quality_rows), "consequence_pass": len(kept_rows),
              "ranked": len(ranked), "stored": len(stored)}
    member_rows = [{"sample": m.sample, "role": m.role, "sex": m.sex, "affected": m.affected} for m in calls.members]
    parameters = {**config.as_dict(), "top": top, "observed": list(plan.observed), "excluded": list(plan.excluded),
                  "panel": {"id": panel_obj.id, "version": panel_obj.version} if panel_obj is not None else None}
    provenance: dict[str, Any] = {
        "pipeline": PIPELINE, "genomed": __version__, "node": ctx.config.node_id, "genome_build": build,
        "reference": str(reference_path) if reference_path is not None else None,
        "inputs": [{"file": f.vault_id, "name": f.original_name, "sha256": f.sha256}
                   for f in plan.files if f.vault_id in used_files],
        "members": member_rows, "knowledge": releases.as_dict(), "phenotype": scorer.provenance(),
        "acmg": _acmg_config_json(acmg_config), "counts": counts, "warnings": list(warnings),
        "secondary_findings": {"sought": sought, "note": note, "findings": [f.as_dict() for f in findings]},
    }
    analysis_id, state, kind = _persist(ctx, actor, plan, parameters, provenance, stored, used_files,
                                        freqs.cohort_lookups, sought)
    return InterpretationOutcome(
        case_reference=plan.reference, analysis_id=analysis_id, kind=kind, state=state, members=member_rows,
        observed=plan.observed, excluded=plan.excluded, panel=panel_obj.label if panel_obj is not None else None,
        counts=counts, ranked=len(ranked), candidates=stored, secondary_findings_sought=sought,
        secondary_findings=findings, secondary_findings_note=note, warnings=list(warnings), provenance=provenance)


def _acmg_config_json(config: AcmgConfig) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in dataclasses.fields(config):
        value = getattr(config, item.name)
        if isinstance(value, frozenset):
            value = sorted("/".join(v) if isinstance(v, tuple) else str(v) for v in value)
        elif isinstance(value, Strength):
            value = value.value
        out[item.name] = value
    return out


def _persist(ctx: NodeContext, actor: str, plan: _Plan, parameters: dict[str, Any], provenance: dict[str, Any],
             stored: list[CandidateRecord], files: list[str], cohort_lookups: int, sought: bool
             ) -> tuple[int, str, str]:
    with ctx.transaction() as session:
        user = authorize(ctx, session, actor, Permission.INTERPRET_CASE, object_type="case",
                         object_id=plan.reference, purpose=Purpose.CARE)
        case = session.get(Prescription, plan.case_id)
        if case is None:
            raise NotFoundError(f"case {plan.reference} disappeared during the interpretation")
        require_consent(session, case.patient, Scope.DIAGNOSIS, f"record the interpretation of case {case.reference}")
        state = CaseState(case.state)
        if state not in INTERPRETABLE:
            raise StateError(f"case {case.reference} became {state.value} during the interpretation; not recorded")
        kind = "reanalysis" if state in _RERUN_AFTER_REPORT else "interpretation"
        if plan.pin is not None:
            case.panel_id, case.panel_version = plan.pin
        now = utcnow()
        analysis = Analysis(prescription_id=case.id, kind=kind, pipeline=PIPELINE, pipeline_version=__version__,
                            genome_build=ctx.config.genome_build, parameters=parameters, provenance=provenance,
                            status="succeeded", started_at=now, finished_at=now, started_by=user.id)
        session.add(analysis)
        session.flush()
        for record in stored:
            session.add(Candidate(analysis_id=analysis.id, rank=record.rank, gene=record.gene,
                                  combined_score=record.combined_score, phenotype_score=record.phenotype_score,
                                  variant_score=record.variant_score, mode=record.mode,
                                  acmg_class=record.acmg_class, details=record.details))
        ctx.audit.record(session, actor=actor, action="case.interpret", object_type="case",
                         object_id=case.reference, purpose=Purpose.CARE,
                         details={"analysis": analysis.id, "kind": kind, "candidates": len(stored),
                                  "first": stored[0].gene if stored else None,
                                  "panel": f"{case.panel_id} v{case.panel_version}" if case.panel_id else None,
                                  "files": ",".join(files), "cohort_lookups": cohort_lookups,
                                  "secondary_findings": "sought" if sought else "not sought"})
        target = CaseState.REANALYSED if kind == "reanalysis" else CaseState.INTERPRETED
        advance_and_audit(ctx, session, actor, case, target, user)
        return analysis.id, case.state, kind


# ----------------------------------------------------------------------------- reading and curating

def candidate_record(row: Candidate) -> CandidateRecord:
    """A stored candidate row as the plain record callers read."""
    return CandidateRecord(row.rank, row.gene, row.combined_score, row.phenotype_score, row.variant_score, row.mode,
                           row.acmg_class, dict(row.details))


def latest_interpretation(session: Session, case: Prescription, analysis_id: int | None = None) -> Analysis | None:
    """The case's newest successful interpretation or reanalysis (or ``analysis_id``), None if there is none."""
    query = select(Analysis).where(Analysis.prescription_id == case.id, Analysis.pipeline == PIPELINE,
                                   Analysis.status == "succeeded")
    if analysis_id is not None:
        found = session.scalar(query.where(Analysis.id == analysis_id))
        if found is None:
            raise NotFoundError(f"case {case.reference} has no interpretation {analysis_id}")
        return found
    return session.scalar(query.order_by(Analysis.id.desc()))


def list_candidates(ctx: NodeContext, actor: str, *, case_reference: str,
                    analysis_id: int | None = None) -> StoredInterpretation:
    """The stored candidates of a case's latest interpretation (or of ``analysis_id``), audited as a view."""
    with ctx.transaction() as session:
        authorize(ctx, session, actor, Permission.VIEW_CASE, object_type="case", object_id=case_reference,
                  purpose=Purpose.CARE)
        case = case_by_reference(session, case_reference)
        require_consent(session, case.patient, Scope.DIAGNOSIS, f"view the candidates of case {case.reference}")
        analysis = latest_interpretation(session, case, analysis_id)
        if analysis is None:
            raise NotFoundError(f"case {case.reference} has not been interpreted yet")
        rows = session.scalars(select(Candidate).where(Candidate.analysis_id == analysis.id).order_by(Candidate.rank))
        records = [candidate_record(r) for r in rows]
        ctx.audit.record(session, actor=actor, action="case.candidates", object_type="case", object_id=case.reference,
                         purpose=Purpose.CARE, details={"analysis": analysis.id, "candidates": len(records)})
        return StoredInterpretation(case.reference, analysis.id, analysis.kind, analysis.started_at,
                                    dict(analysis.parameters), dict(analysis.provenance), records)


def override_criterion(ctx: NodeContext, actor: str, *, case_reference: str, variant: str, criterion: str,
                       applied: bool, strength: str | None = None, comment: str) -> OverrideOutcome:
    """Record a curator's decision on one ACMG criterion of one candidate variant of the case, audited.

    The decision is never edited: a later one for the same criterion supersedes it. The variant must
    be one of the candidates of the case's latest interpretation (a typo must not store a decision
    that nothing will ever read). The outcome shows the variant's class with the decision applied to
    the stored verdicts; the next interpretation applies it too.
    """
    from genomed.store.service import parse_variant

    if not comment or not comment.strip():
        raise InputError(f"an override of {criterion.strip().upper() or 'a criterion'} needs a comment saying why")
    spec = parse_variant(variant)
    name = Variant(spec.chrom, spec.pos, spec.ref, spec.alt).name
    decision = Override(criterion, applied, strength, comment.strip(), actor)
    chosen_strength = Strength.parse(decision.strength).value if decision.strength is not None else None
    with ctx.transaction() as session:
        user = authorize(ctx, session, actor, Permission.CURATE_VARIANT, object_type="case",
                         object_id=case_reference, purpose=Purpose.CARE)
        case = case_by_reference(session, case_reference)
        require_consent(session, case.patient, Scope.DIAGNOSIS, f"curate a variant of case {case.reference}")
        analysis = latest_interpretation(session, case, None)
        if analysis is None:
            raise StateError(f"case {case.reference} has not been interpreted: there is no variant to curate yet")
        stored = None
        gene = None
        for row in session.scalars(select(Candidate).where(Candidate.analysis_id == analysis.id)
                                   .order_by(Candidate.rank)):
            stored = next((v for v in row.details.get("variants", []) if v.get("variant") == name), None)
            if stored is not None:
                gene = row.gene
                break
        if stored is None:
            raise InputError(f"{name} is not a candidate variant of case {case.reference} (interpretation "
                             f"{analysis.id}); curate one of its candidates")
        record = ClassificationOverride(prescription_id=case.id, variant=name, criterion=decision.code,
                                        applied=applied, strength=chosen_strength, comment=decision.comment,
                                        curator_id=user.id)
        session.add(record)
        session.flush()
        decisions = _overrides(session, case.id).get(name, {})
        previous = stored.get("acmg", {}).get("class")
        new_class = explanation = None
        criteria = stored.get("acmg", {}).get("criteria")
        if criteria:
            automated = [_criterion_from_json(c["automated"] or c) for c in criteria]
            result = combine(apply_overrides(automated, decisions.values()))
            new_class, explanation = result.acmg_class.value, result.explanation
        ctx.audit.record(session, actor=actor, action="acmg.override", object_type="case", object_id=case.reference,
                         purpose=Purpose.CARE,
                         details={"override": record.id, "variant": name, "gene": gene, "criterion": decision.code,
                                  "applied": applied, "strength": chosen_strength, "previous_class": previous,
                                  "new_class": new_class})
        return OverrideOutcome(record.id, case.reference, name, decision.code, applied, chosen_strength, gene,
                               previous, new_class, explanation)


__all__ = [
    "CandidateRecord", "InterpretationOutcome", "OverrideOutcome", "SecondaryFinding", "StoredInterpretation",
    "interpret_case", "list_candidates", "override_criterion", "parse_panel_spec",
]
