"""Periodic reanalysis: when a knowledge release changes, re-interpret the cases it may change.

A case left unsolved today may be solved by next month's ClinVar (a new pathogenic record makes loss
of function a known mechanism for a gene), by a new HPO release (a newly described disease) or by a
new version of its gene panel; and a reported variant may be reclassified. Re-running every case
every month costs a day of compute and buries the few real changes in noise, so :func:`reanalyse`:

1. takes the cases whose latest interpretation exists and that are *interpreted* (unsolved: no
   signed report), *reported* or *reanalysed* (``cases`` restricts to given references);
2. computes, per case, the releases a new run would use (the HPO release compiled into hpo3, MANE,
   the ClinVar and gnomAD releases given, the newest version of the case's pinned panel) and
   compares them with the ones its latest interpretation recorded in its provenance
   (:meth:`ReleaseSet.changed_since`, plus a version check: two panel versions read from one file
   share the file's digest). Cases whose releases did not change are listed as such and not
   re-run; a case interpreted with a resource that is not given now (ClinVar, gnomAD, its panel
   library) is not re-run either, since a run without it would change for that reason alone.
   Knowledge that is not a *release* (the node's own cohort, which grows with every ingestion) does
   not trigger a reanalysis;
3. re-runs :func:`~genomed.interpret.service.interpret_case` for the others, with the phenotype, the
   filters and the depth of the previous run (so that only the knowledge differs), and compares
   old and new: the top-N genes (order and membership), the ACMG class of every variant of the old
   top N and of every variant in the case's latest signed report, and the (likely) pathogenic
   candidates new to the top N. A case *needs review* when a reported variant's class changed (or
   it is no longer a candidate), when the top gene changed, when a compared variant crossed the
   (likely) pathogenic boundary either way, or when a new (likely) pathogenic candidate entered
   the top N: each is something a clinician must act on, a report amendment or a recontact;
4. audits one ``reanalysis.run`` entry summarising the run (each re-run is audited by
   interpret_case itself, as a ``reanalysis`` of a reported case or a new interpretation of an
   unsolved one). A dry run only plans: it reads release records, runs nothing and writes nothing.

A case whose re-run fails (its consent withdrawn meanwhile, a file missing) is listed with the
reason and the run goes on with the others: one broken case must not stop a monthly batch.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from genomed.access.purpose import Purpose
from genomed.access.roles import Permission
from genomed.annotate.clinvar import ClinVar
from genomed.annotate.model import Impact
from genomed.annotate.population import FrequencySource
from genomed.annotate.releases import ReleaseSet
from genomed.catalog.cases import CaseState
from genomed.catalog.consent_rules import Scope, active_scopes
from genomed.catalog.guard import authorize
from genomed.catalog.models import Candidate, Prescription, Report
from genomed.context import NodeContext
from genomed.errors import ConfigurationError, GenomedError, InputError, NotFoundError
from genomed.interpret.acmg.combine import AcmgClass
from genomed.interpret.filters import FilterConfig
from genomed.interpret.panels import PanelLibrary
from genomed.interpret.prioritise import PrioritisationConfig
from genomed.interpret.scoring import CombinationModel
from genomed.interpret.service import (
    CandidateRecord,
    InterpretationOutcome,
    candidate_record,
    hpo_release,
    interpret_case,
    latest_interpretation,
    mane_release,
    published_cases_release,
)

LOG = logging.getLogger(__name__)

REANALYSABLE = (CaseState.INTERPRETED, CaseState.REPORTED, CaseState.REANALYSED)
_PATHOGENIC = frozenset({AcmgClass.PATHOGENIC.value, AcmgClass.LIKELY_PATHOGENIC.value})
_NOT_A_CANDIDATE = "not a candidate"


# --------------------------------------------------------------------------------------------- results

class ClassChange(NamedTuple):
    """A variant whose ACMG class differs between the two runs (``None``: not among that run's candidates)."""

    variant: str
    gene: str
    before: str | None
    after: str | None


class NewCandidate(NamedTuple):
    """A (likely) pathogenic gene that entered the top N."""

    gene: str
    rank: int
    acmg_class: str
    variants: tuple[str, ...]


@dataclass(frozen=True)
class PlannedCase:
    """A case a run re-interprets (or, dry, would): the releases that changed since its latest interpretation."""

    case_reference: str
    state: str
    analysis_id: int
    releases_changed: list[str]
    release_changes: list[str]   # "ClinVar 2024-05-07 → 2025-01-06", in the same order


@dataclass(frozen=True)
class SkippedCase:
    """A case not re-run, and why. ``kind``: ``unchanged``, ``not covered`` (knowledge or consent missing),
    ``not eligible`` (state, no interpretation) or ``failed`` (the re-run raised)."""

    case_reference: str
    state: str
    kind: str
    reason: str


@dataclass(frozen=True)
class CaseChange:
    """What a re-run changed in one case (see the module docstring for ``needs_review``)."""

    case_reference: str
    analysis_before: int
    analysis_after: int
    state: str
    releases_changed: list[str]
    top_before: list[str]
    top_after: list[str]
    class_changes: list[ClassChange]
    new_candidates: list[NewCandidate]
    reported: list[str]
    needs_review: bool
    summary: str
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether the top genes, a compared class or the (likely) pathogenic candidates changed."""
        return self.top_before != self.top_after or bool(self.class_changes) or bool(self.new_candidates)


@dataclass
class ReanalysisSummary:
    """One reanalysis run: the cases examined, re-run (or planned, when dry), skipped, and what changed."""

    dry_run: bool
    top: int
    releases: dict[str, str]
    examined: int
    planned: list[PlannedCase]
    changes: list[CaseChange]
    skipped: list[SkippedCase]

    @property
    def rerun(self) -> int:
        return len(self.changes)

    @property
    def changed(self) -> list[CaseChange]:
        return [c for c in self.changes if c.changed]

    @property
    def needing_review(self) -> list[CaseChange]:
        return [c for c in self.changes if c.needs_review]

    @property
    def unchanged(self) -> list[SkippedCase]:
        """Cases not re-run because none of their knowledge releases changed."""
        return [s for s in self.skipped if s.kind == "unchanged"]

    @property
    def failed(self) -> list[SkippedCase]:
        return [s for s in self.skipped if s.kind == "failed"]

    def line(self) -> str:
        """The one-line summary the CLI prints and the audit entry paraphrases."""
        if self.dry_run:
            head = f"dry run: {self.examined} case(s) examined, {len(self.planned)} would be re-run"
        else:
            head = (f"{self.examined} case(s) examined, {self.rerun} re-run, {len(self.changed)} changed, "
                    f"{len(self.needing_review)} need review")
        tail = f"{len(self.unchanged)} with unchanged releases"
        others = len(self.skipped) - len(self.unchanged) - len(self.failed)
        if others:
            tail += f", {others} not covered"
        if self.failed:
            tail += f", {len(self.failed)} failed"
        return f"{head}; {tail}"


# ----------------------------------------------------------------------------------------- comparison

def changed_releases(new: ReleaseSet, old: ReleaseSet) -> list[str]:
    """Resources whose release differs: another file (digest), or another version read from the same file.

    PanelApp exports hold many versions of a panel in one file, so two versions share a digest; the
    version tells them apart.

    >>> from datetime import datetime, UTC
    >>> from genomed.annotate.releases import KnowledgeRelease
    >>> at = datetime(2025, 1, 1, tzinfo=UTC)
    >>> old = ReleaseSet({"HPO": KnowledgeRelease("HPO", "2025-11", "hpo3", "a" * 64, at),
    ...                   "PanelApp 285 ID": KnowledgeRelease("PanelApp 285 ID", "3.0", "p.json", "b" * 64, at)})
    >>> new = ReleaseSet({"HPO": KnowledgeRelease("HPO", "2025-11", "hpo3", "a" * 64, at),
    ...                   "PanelApp 285 ID": KnowledgeRelease("PanelApp 285 ID", "3.1", "p.json", "b" * 64, at),
    ...                   "ClinVar": KnowledgeRelease("ClinVar", "2025-01", "c.jsonl", "c" * 64, at)})
    >>> changed_releases(new, old)
    ['ClinVar', 'PanelApp 285 ID']
    """
    names = set(new.changed_since(old))
    names |= {name for name, release in new.releases.items()
              if name in old.releases and old.releases[name].version != release.version}
    return sorted(names)


def _words(name: str, new: ReleaseSet, old: ReleaseSet) -> str:
    after = new.releases[name].version
    before = old.releases.get(name)
    if before is None:
        return f"{name} {after} (not used before)"
    if before.version == after:
        return f"{name} {after} (another file)"
    return f"{name} {before.version} → {after}"


def _variant_classes(candidates: Iterable[CandidateRecord]) -> tuple[dict[tuple[str, str], str | None],
                                                                     dict[str, str | None]]:
    """(variant, gene) -> class and variant -> class (its best-ranked gene) over stored candidates."""
    by_pair: dict[tuple[str, str], str | None] = {}
    by_variant: dict[str, str | None] = {}
    for candidate in sorted(candidates, key=lambda c: c.rank):
        for variant in candidate.variants:
            name = str(variant["variant"])
            acmg = (variant.get("acmg") or {}).get("class")
            by_pair.setdefault((name, candidate.gene), acmg)
            by_variant.setdefault(name, acmg)
    return by_pair, by_variant


def _crossed(before: str | None, after: str | None) -> bool:
    """Whether a class change crosses the (likely) pathogenic boundary.

    >>> _crossed("Uncertain significance", "Likely pathogenic"), _crossed("Pathogenic", "Likely pathogenic")
    (True, False)
    """
    return (before in _PATHOGENIC) != (after in _PATHOGENIC)


def compare(before: Sequence[CandidateRecord], after: Sequence[CandidateRecord], *,
            reported: Sequence[tuple[str, str, str]], top: int) -> tuple[list[str], list[str], list[ClassChange],
                                                                         list[NewCandidate], bool, list[str]]:
    """Compare two runs' candidates: (top before, top after, class changes, new P/LP candidates, needs review,
    the clauses of the summary sentence).

    ``reported`` lists the variants of the case's latest signed report as (variant, gene, class as
    reported); they are compared wherever they rank. *Before* is always the old run's class (the
    reported class only for a reported variant the old run did not keep), so a difference is flagged
    by the run that makes it and not again by every later one; a clause says when the report states
    another class than the old run. A variant no longer among the new run's candidates has ``after=None``.
    """
    top_before = [c.gene for c in sorted(before, key=lambda c: c.rank)[:top]]
    new_sorted = sorted(after, key=lambda c: c.rank)
    top_after = [c.gene for c in new_sorted[:top]]
    new_pairs, new_variants = _variant_classes(after)
    old_pairs, old_variants = _variant_classes(before)

    def lookup(pairs: Mapping[tuple[str, str], str | None], variants: Mapping[str, str | None], name: str,
               gene: str, default: str | None = None) -> str | None:
        if (name, gene) in pairs:
            return pairs[(name, gene)]
        return variants.get(name, default)

    compared: dict[tuple[str, str], str | None] = {}
    for candidate in sorted(before, key=lambda c: c.rank)[:top]:
        for variant in candidate.variants:
            compared.setdefault((str(variant["variant"]), candidate.gene), (variant.get("acmg") or {}).get("class"))
    as_reported: dict[tuple[str, str], str] = {}
    for name, gene, acmg in reported:
        compared[(name, gene)] = lookup(old_pairs, old_variants, name, gene, acmg)
        as_reported[(name, gene)] = acmg
    reported_keys = set(as_reported)

    changes: list[ClassChange] = []
    for (name, gene), old_class in compared.items():
        new_class = lookup(new_pairs, new_variants, name, gene)
        if new_class != old_class:
            changes.append(ClassChange(name, gene, old_class, new_class))
    entered = [c for c in new_sorted[:top] if c.gene not in top_before and c.acmg_class in _PATHOGENIC]
    new_candidates = [NewCandidate(c.gene, c.rank, c.acmg_class or "", tuple(str(v["variant"]) for v in c.variants))
                      for c in entered]

    top_gene_changed = (top_before[:1] != top_after[:1])
    reported_changed = [c for c in changes if (c.variant, c.gene) in reported_keys]
    crossed = [c for c in changes if _crossed(c.before, c.after)]
    needs_review = bool(reported_changed or top_gene_changed or crossed or new_candidates)

    clauses: list[str] = []
    for change in changes:
        key = (change.variant, change.gene)
        what = "reported variant" if key in reported_keys else "variant"
        clause = (f"{what} {change.variant} in {change.gene}: {change.before or _NOT_A_CANDIDATE} → "
                  f"{change.after or _NOT_A_CANDIDATE}")
        if key in as_reported and as_reported[key] != change.before:
            clause += f" (reported as {as_reported[key]})"
        clauses.append(clause)
    if top_gene_changed:
        clauses.append(f"top gene {top_before[0] if top_before else 'none'} → {top_after[0] if top_after else 'none'}")
    if top_before != top_after:
        gone = [g for g in top_before if g not in top_after]
        came = [g for g in top_after if g not in top_before]
        if gone or came:
            clauses.append(f"top {top} " + ", ".join([*(f"+{g}" for g in came), *(f"-{g}" for g in gone)]))
        elif not top_gene_changed:
            clauses.append(f"top {top} reordered")
    for entry in new_candidates:
        clauses.append(f"new {entry.acmg_class.lower()} candidate {entry.gene} at rank {entry.rank}")
    return top_before, top_after, changes, new_candidates, needs_review, clauses


# --------------------------------------------------------------------------------------------- the plan

@dataclass
class _Candidate:
    """Everything the planning transaction learns about one case (plain data)."""

    reference: str
    state: str
    analysis_id: int
    parameters: dict[str, Any]
    candidates: list[CandidateRecord]
    reported: list[tuple[str, str, str]]
    releases: ReleaseSet
    changed: list[str]
    words: list[str]
    panel: str | None


def _reported_variants(session: Session, case: Prescription) -> list[tuple[str, str, str]]:
    """(variant, gene, class) of the case's latest signed report, read from its stored content JSON.

    Read as JSON rather than through :mod:`genomed.report.content`: interpretation comes before
    reporting in the data flow and must not import it.
    """
    report = session.scalar(select(Report).where(Report.prescription_id == case.id, Report.status == "signed")
                            .order_by(Report.version.desc()))
    if report is None or not report.content:
        return []
    out = []
    for raw in report.content.get("variants", []) or []:
        try:
            name = f"{raw['chrom']}-{int(raw['pos'])}-{raw['ref']}-{raw['alt']}"
            out.append((name, str(raw["gene_symbol"]), str(raw["acmg_class"])))
        except (KeyError, TypeError, ValueError):
            LOG.warning("case %s: a variant of report version %s is unreadable: %r", case.reference, report.version,
                        raw)
    return out


def _shared_releases(clinvar: ClinVar | None, gnomad: FrequencySource | None) -> ReleaseSet:
    releases = ReleaseSet()
    releases.add(hpo_release())
    if (published := published_cases_release()) is not None:
        releases.add(published)
    with contextlib.suppress(ConfigurationError):
        releases.add(mane_release())
    for source in (clinvar, gnomad):
        if source is not None:
            releases.add(source.release)
    return releases


def _missing_knowledge(old: ReleaseSet, clinvar: ClinVar | None, gnomad: FrequencySource | None) -> str | None:
    """Why the case cannot be re-run comparably with the sources given, or None."""
    used = old.releases
    if clinvar is None and "ClinVar" in used:
        return f"interpreted with ClinVar {used['ClinVar'].version}, but no ClinVar release was given"
    gnomad_used = [r for name, r in used.items() if name.startswith("gnomAD")]
    if gnomad is None and gnomad_used:
        return f"interpreted with {gnomad_used[0].label}, but no gnomAD release was given"
    return None


def _plan(ctx: NodeContext, actor: str, *, clinvar: ClinVar | None, gnomad: FrequencySource | None,
          panel_library: PanelLibrary | None, cases: Sequence[str] | None
          ) -> tuple[int, list[_Candidate], list[SkippedCase], ReleaseSet]:
    shared = _shared_releases(clinvar, gnomad)
    planned: list[_Candidate] = []
    skipped: list[SkippedCase] = []
    with ctx.transaction() as session:
        authorize(ctx, session, actor, Permission.INTERPRET_CASE, object_type="case", object_id="*",
                  purpose=Purpose.CARE)
        query = select(Prescription).order_by(Prescription.id)
        if cases is not None:
            wanted = sorted({c.strip().upper() for c in cases if c.strip()})
            rows = list(session.scalars(query.where(Prescription.reference.in_(wanted))))
            missing = sorted(set(wanted) - {r.reference for r in rows})
            if missing:
                raise NotFoundError(f"no case (prescription) {', '.join(missing)}")
        else:
            rows = list(session.scalars(query.where(Prescription.state.in_([s.value for s in REANALYSABLE]))))
        for case in rows:
            def skip(kind: str, reason: str, case: Prescription = case) -> None:  # bound now, not at call
                skipped.append(SkippedCase(case.reference, case.state, kind, reason))

            if case.state not in {s.value for s in REANALYSABLE}:
                skip("not eligible", f"the case is {case.state}; only interpreted, reported or reanalysed cases are "
                                     "reanalysed")
                continue
            analysis = latest_interpretation(session, case, None)
            if analysis is None:
                skip("not eligible", "the case has no genomed interpretation to compare with")
                continue
            if Scope.DIAGNOSIS not in active_scopes(session, case.patient):
                skip("not covered", f"patient {case.patient.pseudonym} has no diagnosis consent in force")
                continue
            try:
                old = ReleaseSet.from_dict((analysis.provenance or {}).get("knowledge") or {})
            except InputError as exc:
                LOG.warning("case %s: the releases of interpretation %s are unreadable (%s); every release counts "
                            "as changed", case.reference, analysis.id, exc)
                old = ReleaseSet()
            missing_source = _missing_knowledge(old, clinvar, gnomad)
            if missing_source is not None:
                skip("not covered", missing_source + "; a run without it would differ for that reason alone")
                continue
            new = ReleaseSet(dict(shared.releases))
            panel_spec = None
            if case.panel_id:
                if panel_library is None:
                    skip("not covered", f"the case is pinned to gene panel {case.panel_id} v{case.panel_version}, "
                                        "but no panel library was given")
                    continue
                try:
                    panel = panel_library.get(case.panel_id)
                except NotFoundError as exc:
                    skip("not covered", str(exc))
                    continue
                new.add(panel.release)
                if panel.version != case.panel_version:
                    panel_spec = f"{panel.id}@{panel.version}"
            changed = changed_releases(new, old)
            if not changed:
                skip("unchanged", f"no knowledge release changed since interpretation {analysis.id}")
                continue
            records = [candidate_record(r) for r in session.scalars(
                select(Candidate).where(Candidate.analysis_id == analysis.id).order_by(Candidate.rank))]
            planned.append(_Candidate(case.reference, case.state, analysis.id, dict(analysis.parameters or {}),
                                      records, _reported_variants(session, case), old, changed,
                                      [_words(n, new, old) for n in changed], panel_spec))
        examined = len(rows)
    return examined, planned, skipped, shared


def _config_of(parameters: Mapping[str, Any]) -> PrioritisationConfig | None:
    """The prioritisation settings a stored interpretation ran with (None when they cannot be read back)."""
    try:
        filters = dict(parameters["filters"])
        filters["min_impact"] = Impact[str(filters["min_impact"])]
        filters["keep_consequences"] = frozenset(filters["keep_consequences"])
        return PrioritisationConfig(filters=FilterConfig(**filters),
                                    combination=CombinationModel(**parameters["combination"]),
                                    max_candidates=int(parameters["max_candidates"]))
    except (KeyError, TypeError, ValueError):
        return None


# ------------------------------------------------------------------------------------------ the run

def _rerun(ctx: NodeContext, actor: str, item: _Candidate, *, clinvar: ClinVar | None,
           gnomad: FrequencySource | None, panel_library: PanelLibrary | None, top: int) -> CaseChange:
    notes: list[str] = []
    config = _config_of(item.parameters)
    if config is None:
        notes.append(f"the settings of interpretation {item.analysis_id} could not be read back: re-run with the "
                     "defaults, so some differences may come from the settings")
    observed = item.parameters.get("observed")
    excluded = item.parameters.get("excluded")
    depth = max(int(item.parameters.get("top") or 0), top)
    outcome: InterpretationOutcome = interpret_case(
        ctx, actor, case_reference=item.reference,
        observed=[str(t) for t in observed] if isinstance(observed, list) else None,
        excluded=[str(t) for t in excluded] if isinstance(excluded, list) else None,
        panel=item.panel, panel_library=panel_library, clinvar=clinvar, gnomad=gnomad, config=config, top=depth)
    if item.panel is not None:
        notes.append(f"moved to gene panel {item.panel}")
    top_before, top_after, changes, entered, review, clauses = compare(
        item.candidates, outcome.candidates, reported=item.reported, top=top)
    head = f"{item.reference}: {'; '.join(item.words)}"
    if clauses:
        sentence = f"{head}: " + "; ".join(clauses) + (". Needs review." if review else ".")
    else:
        sentence = f"{head}: no change in the top {top} genes or their classes."
    return CaseChange(case_reference=item.reference, analysis_before=item.analysis_id,
                      analysis_after=outcome.analysis_id, state=outcome.state, releases_changed=list(item.changed),
                      top_before=top_before, top_after=top_after, class_changes=changes, new_candidates=entered,
                      reported=[name for name, _, _ in item.reported], needs_review=review, summary=sentence,
                      notes=notes)


def reanalyse(ctx: NodeContext, actor: str, *, clinvar: ClinVar | None = None, gnomad: FrequencySource | None = None,
              panel_library: PanelLibrary | None = None, cases: Sequence[str] | None = None, top: int = 5,
              dry_run: bool = False) -> ReanalysisSummary:
    """Re-interpret the cases whose knowledge releases changed and say what changed (see the module docstring).

    ``clinvar``, ``gnomad`` and ``panel_library`` are the releases to reanalyse with (the same
    sources :func:`~genomed.interpret.service.interpret_case` takes); ``cases`` restricts the run to
    those references (an unknown one is an error); ``top`` is how many genes are compared.
    """
    if top < 1:
        raise InputError(f"top must be at least 1, got {top}")
    examined, planned, skipped, shared = _plan(ctx, actor, clinvar=clinvar, gnomad=gnomad,
                                               panel_library=panel_library, cases=cases)
    summary = ReanalysisSummary(
        dry_run=dry_run, top=top, releases={name: r.version for name, r in shared.releases.items()},
        examined=examined,
        planned=[PlannedCase(p.reference, p.state, p.analysis_id, list(p.changed), list(p.words)) for p in planned],
        changes=[], skipped=skipped)
    if dry_run:
        return summary
    for item in planned:
        try:
            change = _rerun(ctx, actor, item, clinvar=clinvar, gnomad=gnomad, panel_library=panel_library, top=top)
        except GenomedError as exc:
            LOG.warning("reanalysis of case %s failed: %s", item.reference, exc)
            summary.skipped.append(SkippedCase(item.reference, item.state, "failed", f"{type(exc).__name__}: {exc}"))
            continue
        LOG.info("%s", change.summary)
        summary.changes.append(change)
    with ctx.transaction() as session:
        ctx.audit.record(session, actor=actor, action="reanalysis.run", object_type="case", object_id="*",
                         purpose=Purpose.CARE, details={
                             "examined": summary.examined, "rerun": summary.rerun,
                             "changed": len(summary.changed), "needs_review": len(summary.needing_review),
                             "unchanged": len(summary.unchanged), "failed": len(summary.failed),
                             "skipped": len(summary.skipped) - len(summary.unchanged) - len(summary.failed),
                             "releases": "; ".join(f"{n} {v}" for n, v in sorted(summary.releases.items())),
                             "cases_changed": ",".join(c.case_reference for c in summary.changed)[:2000],
                             "restricted": ",".join(cases)[:2000] if cases is not None else None})
    return summary


__all__ = [
    "REANALYSABLE", "CaseChange", "ClassChange", "NewCandidate", "PlannedCase", "ReanalysisSummary", "SkippedCase",
    "changed_releases", "compare", "reanalyse",
]
