"""The prioritisation benchmark: published cases spiked into simulated exomes, ranked blind.

For each solved case: take a simulated person of the case's sex as the background exome, put the
published causal variant(s) into it with their published zygosity (overlaying the published
reference allele and codon on the synthetic reference), run the whole prioritisation with the case's
HPO terms, and record the rank of the causal gene. Nothing about the answer reaches the ranking
except what a laboratory would also have: the genotypes and the patient's phenotype.

This is a product feature (``genomed evaluate prioritisation``): a laboratory runs it on its own
solved cases, in the same phenopacket format, to validate a node before clinical use.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from genomed.annotate.model import VariantAnnotation
from genomed.interpret.case_data import HET, HOM, CaseCalls, Member
from genomed.interpret.evaluation.background import Background, ensure_background, load_background
from genomed.interpret.evaluation.published import PublishedCase, load_cases
from genomed.interpret.evaluation.spike import PatchedReference, patches_for
from genomed.interpret.prioritise import PrioritisationConfig, prioritise

LOSS_OF_FUNCTION = frozenset({"stop_gained", "frameshift_variant", "splice_donor_variant", "splice_acceptor_variant",
                              "start_lost", "transcript_ablation"})


def variant_class(annotation: VariantAnnotation, gene: str) -> str:
    """A coarse class of the causal variant for the per-class figures."""
    terms = {t for e in annotation.effects if e.gene_symbol == gene for t in e.consequences}
    if terms & LOSS_OF_FUNCTION:
        return "loss_of_function"
    if "missense_variant" in terms:
        return "missense"
    if terms & {"inframe_deletion", "inframe_insertion", "stop_lost", "protein_altering_variant"}:
        return "inframe_or_stop_lost"
    if any("splice" in t for t in terms):
        return "splice_region"
    if terms & {"synonymous_variant", "5_prime_UTR_variant", "3_prime_UTR_variant", "intron_variant"}:
        return "non_coding_or_synonymous"
    return "other"


@dataclass(frozen=True)
class CaseOutcome:
    """Where one case's causal gene ended up."""

    case_id: str
    gene: str
    rank: int | None  # None: the causal gene was filtered out or not ranked
    candidates: int
    variant_class: str
    seconds: float


@dataclass
class EvaluationSummary:
    """The benchmark's figures, overall and by variant class."""

    n: int
    top1: float
    top5: float
    top10: float
    median_rank: float
    not_ranked: int
    not_evaluable: int
    seconds_per_case: float
    by_class: dict[str, dict[str, float]] = field(default_factory=dict)
    outcomes: list[CaseOutcome] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        """The JSON the CLI writes (``n, top1, top5, top10, median_rank`` plus detail)."""
        out = asdict(self)
        out.pop("outcomes")
        return out


def _rates(outcomes: Sequence[CaseOutcome]) -> dict[str, float]:
    n = len(outcomes)
    if n == 0:
        return {"n": 0, "top1": 0.0, "top5": 0.0, "top10": 0.0, "median_rank": 0.0}
    ranks = [o.rank if o.rank is not None else o.candidates + 1 for o in outcomes]
    return {"n": n,
            "top1": sum(r <= 1 for r in ranks) / n,
            "top5": sum(r <= 5 for r in ranks) / n,
            "top10": sum(r <= 10 for r in ranks) / n,
            "median_rank": float(statistics.median(ranks))}


def summarise(outcomes: Sequence[CaseOutcome], not_evaluable: int) -> EvaluationSummary:
    """Figures from per-case outcomes (a causal gene never ranked counts as ranked last)."""
    overall = _rates(outcomes)
    classes = sorted({o.variant_class for o in outcomes})
    return EvaluationSummary(
        n=len(outcomes), top1=overall["top1"], top5=overall["top5"], top10=overall["top10"],
        median_rank=overall["median_rank"], not_ranked=sum(o.rank is None for o in outcomes),
        not_evaluable=not_evaluable,
        seconds_per_case=float(np.mean([o.seconds for o in outcomes])) if outcomes else 0.0,
        by_class={c: _rates([o for o in outcomes if o.variant_class == c]) for c in classes},
        outcomes=list(outcomes))


class SpikeInEvaluator:
    """Holds what every case shares (background, its annotations, the annotator, HPO) and ranks cases."""

    def __init__(self, background: Background, *, seed: int = 1, config: PrioritisationConfig | None = None) -> None:
        from genomed.annotate.annotator import Annotator
        from genomed.annotate.mane import load_mane
        from genomed.interpret.hpo import gene_inheritance_modes
        from genomed.interpret.phenotype import default_scorer

        self.background = background
        self.seed = seed
        self.config = config or PrioritisationConfig()
        self.transcripts = load_mane()
        self.reference = PatchedReference(background.reference())
        self.annotator = Annotator(self.transcripts, self.reference)
        self.background_annotations = self.annotator.annotate_many(background.variants())
        self.scorer = default_scorer()
        scorer = self.scorer
        self.gene_modes = lambda gene: gene_inheritance_modes(scorer.hpo_symbol(gene))
        self._by_gene: dict[str, list[Any]] = {}
        for t in self.transcripts:
            self._by_gene.setdefault(t.gene_symbol, []).append(t)

    def case_calls(self, case: PublishedCase) -> tuple[CaseCalls, list[VariantAnnotation | None], np.ndarray, int]:
        """The spiked genome of one case: calls, annotations and frequencies aligned, and the causal rows."""
        bg = self.background
        sex = case.sex
        if sex == "unknown" and any(c.zygosity == "hemizygous" for c in case.causal):
            sex = "male"
        sample = bg.pick(case.case_id, self.seed, sex)
        frequency = bg.frequency_without(sample)
        rows, codes = bg.sample_rows[sample], bg.sample_codes[sample]
        carried = codes > 0
        rows, codes = rows[carried], codes[carried]
        gq, dp = bg.sample_gq[sample][carried], bg.sample_dp[sample][carried]
        spans = [(c.variant.chrom, c.variant.pos - 1, c.variant.end + 1) for c in case.causal]
        keep = np.array([not any(bg.chrom[r] == ch and lo <= int(bg.pos[r]) <= hi for ch, lo, hi in spans)
                         for r in rows.tolist()], dtype=bool)
        rows, codes, gq, dp = rows[keep], codes[keep], gq[keep], dp[keep]
        patches: dict[tuple[str, int], str] = {}
        for causal in case.causal:
            transcripts = self._by_gene.get(self.scorer.model_symbol(causal.gene), ())
            patches.update(patches_for(causal.variant, causal.hgvs_p, transcripts))
        self.reference.set_patches(patches)
        self.annotator.forget_sequences()
        causal_variants = list(dict.fromkeys(c.variant for c in case.causal))
        zygosity = {c.variant: c.zygosity for c in case.causal}
        causal_codes = [HOM if zygosity[v] in ("homozygous", "hemizygous") else HET for v in causal_variants]
        variants = [bg.variant(r) for r in rows.tolist()] + causal_variants
        member = Member("proband", "proband", sex if sex in ("male", "female") else "unknown", True)  # type: ignore[arg-type]
        typical_gq = int(np.median(gq[gq >= 0])) if (gq >= 0).any() else -1
        typical_dp = int(np.median(dp[dp >= 0])) if (dp >= 0).any() else -1
        calls = CaseCalls.from_rows(
            [member], variants, np.concatenate([codes, np.array(causal_codes, dtype=np.int8)]),
            gq=np.concatenate([gq, np.full(len(causal_variants), typical_gq, np.int16)]),
            dp=np.concatenate([dp, np.full(len(causal_variants), typical_dp, np.int32)]))
        annotations: list[VariantAnnotation | None] = [self.background_annotations[r] for r in rows.tolist()]
        annotations += self.annotator.annotate_many(causal_variants)
        self.reference.set_patches({})
        self.annotator.forget_sequences()
        max_af = np.concatenate([frequency[rows], np.zeros(len(causal_variants))])
        return calls, annotations, max_af, len(rows)

    def run_case(self, case: PublishedCase) -> CaseOutcome:
        """Rank one case and report where its causal gene landed."""
        started = time.perf_counter()
        calls, annotations, max_af, first_causal = self.case_calls(case)
        observed = known_terms(case.observed)
        # Knowledge drawn from the case's own publication is withheld: the case must be new to us.
        withheld = (case.publication,) if case.publication else ()
        phenotype = self.scorer.score_genes(observed, known_terms(case.excluded),
                                            exclude_publications=withheld) if observed else {}
        cases = self.scorer.cases
        reported = None if cases is None else (
            lambda variant: cases.reported(variant, exclude_publications=withheld))
        nearby = None if cases is None else (
            lambda variant, window: cases.nearby(variant, window, exclude_publications=withheld))
        ranked = prioritise(calls, annotations, max_af, phenotype, self.gene_modes, config=self.config,
                            published=reported, published_nearby=nearby)
        genes = {self.scorer.model_symbol(g) for g in case.genes}  # a renamed gene, as the model names it
        rank = next((c.rank for c in ranked if c.gene in genes), None)
        gene = next(iter(sorted(genes)))
        causal_annotation = annotations[first_causal]
        klass = variant_class(causal_annotation, gene) if causal_annotation is not None else "other"
        return CaseOutcome(case.case_id, gene, rank, len(ranked), klass, time.perf_counter() - started)


def known_terms(terms: Sequence[str]) -> list[str]:
    """The terms this HPO release knows: a published case may cite a term newer than the release.

    A laboratory's own case with an unknown term is refused with the term named; a benchmark
    instead scores the case on the terms it can read, as a curator would.
    """
    from genomed.errors import InputError
    from genomed.interpret.hpo import validate_terms

    known = []
    for term in terms:
        try:
            validate_terms([term])
        except InputError:
            continue
        known.append(term)
    return known


def choose_cases(cases: Sequence[PublishedCase], limit: int | None, seed: int) -> list[PublishedCase]:
    """A deterministic random sample of ``limit`` cases (all of them, shuffled, when no limit)."""
    chosen = list(cases)
    random.Random(seed).shuffle(chosen)  # noqa: S311 - a reproducible sample, not a secret
    return chosen[:limit] if limit else chosen


def evaluate_prioritisation(cases_path: Path, *, limit: int | None = None, seed: int = 1,
                            background_dir: Path | None = None, cache: Path | None = None,
                            progress: Callable[[int, int], None] | None = None) -> EvaluationSummary:
    """Run the spike-in benchmark on a phenopacket file and summarise it."""
    cases, not_evaluable = load_cases(cases_path)
    chosen = choose_cases(cases, limit, seed)
    if background_dir is None:
        background_dir = ensure_background(cache or default_cache())
    evaluator = SpikeInEvaluator(load_background(background_dir), seed=seed)
    outcomes = []
    for done, case in enumerate(chosen, 1):
        outcomes.append(evaluator.run_case(case))
        if progress:
            progress(done, len(chosen))
    return summarise(outcomes, not_evaluable)


def default_cache() -> Path:
    """Where simulated backgrounds are kept between runs (``$XDG_CACHE_HOME/genomed``)."""
    import os

    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "genomed"

