"""How well a patient's phenotype matches the diseases each gene causes: one calibrated score per gene.

A biologist records the proband's observed HPO terms and the features looked for and found absent
(excluded terms). For every gene with HPO disease annotations we score each of its diseases, keep
the best, and say why: which observed term matched which disease term through which common
ancestor, and which excluded terms speak against the disease.

The similarity is the one Phenomizer and Exomiser made standard for rare disease:

* **Information content** of a term is ``-ln(fraction of diseases annotated with it or a
  descendant)`` over the release's OMIM and Orphanet diseases: a feature shared by few diseases
  says more than one shared by many.
* **Term similarity** is Resnik's: the information content of the most informative common ancestor
  (MICA) of the two terms.
* **Patient → disease** similarity is the best-match average: each observed term is matched to the
  disease term it resembles most, and those similarities are averaged. It is asymmetric on purpose:
  a patient seldom shows every feature of a disease and must not be punished for the features
  nobody looked for. (``symmetric=True`` averages it with the disease → patient direction; on the
  development cases that halves top-1 accuracy, so it is off.)
* **Excluded terms** count against a disease that has the feature (the term itself or a more
  specific one): each conflict subtracts ``excluded_weight`` times the excluded term's information
  content, spread over the observed terms. The weight is deliberately small (0.001, a tie-breaker
  between otherwise equal diseases): HPO in ``hpo3`` carries no annotation frequencies, and a
  published cohort lists what some of its patients showed, so "the disease has X" often means "X
  was seen in some patients", and on the development cases every larger weight cost accuracy
  (800 cases with published cohorts, top-1: 0 0.500, 0.001 0.496, 0.01 0.471, 0.03 0.444; before
  the cohorts, 0.05 took 0.43 to 0.39 and 1.0 to 0.07). The conflicts are always listed in the
  explanation, where a biologist weighs them with what they know of the disease.

Ranking. Raw similarities favour diseases annotated with many terms (any patient finds matches
among 200 features); a per-disease z-score against random phenotypes over-corrects towards sparsely
annotated ones (top-1 0.23 against 0.39 raw on the development cases). Genes are ranked by the
similarity less half the disease's expected similarity to a random term (``mean_shift``; 0.3–0.7
all give top-1 ≈ 0.44), the expectation being estimated once from random terms drawn from the
disease annotations themselves. A disease that many genes cause (Orphanet's groups such as
"non-specific early-onset epileptic encephalopathy") says less about each of them: ``0.2 × ln(genes)``
is subtracted too (development half, phenotype alone, 800 cases: 0, 0.1, 0.2, 0.4 give top-1
0.468, 0.471, 0.471, 0.472 and among 201 genes 0.782, 0.791, 0.791, 0.790; spiked exomes, 300
cases: top-1 0.753 → 0.760). Conversely a gene known for several diseases gains ``0.1 × ln(diseases)``:
its spectrum is wide, and a new patient is often one more of its forms (see ``disease_count_weight``).

Calibration into [0, 1]. The score is ``1 - p``, where ``p`` is the chance that a random phenotype
with as many terms gives a random gene at least this statistic: under that null each disease's
statistic is a mean of independent best matches, about normal with the per-term mean and spread
estimated above divided by ``sqrt(n)``; a gene keeps its best disease; ``p`` averages the genes'
tails. So a gene scores about 0.5 for an unrelated phenotype, whatever the number of terms (for
random phenotypes about 5 % of genes get ``p < 0.05``; tested), and nothing is tuned per case.
Scores of strong matches round to 1; the order among them is kept (``adjusted_similarity``).

Speed: the release lives in numpy arrays laid out term → diseases, so one observed term is scored
against every disease with about ten vectorised writes (see :class:`_Index`); all ~5,000 genes for
a patient take a few tens of milliseconds after a one-off set-up of a few seconds per process.
Explanations are built only for the genes someone reads.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache

import numpy as np
import numpy.typing as npt

from genomed.errors import InputError
from genomed.interpret.case_knowledge import COHORT_PREFIX, CaseKnowledge
from genomed.interpret.hpo import (
    GENE_LEVEL_PREFIX,
    PHENOTYPIC_ABNORMALITY,
    Disease,
    HpoRelease,
    InheritanceMode,
    TermValidation,
    load_release,
    validate_terms,
)
from genomed.interpret.inheritance import Mode, modes_from_labels

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class ScoringParameters:
    """The general parameters of phenotype scoring (chosen on development cases, never per case)."""

    excluded_weight: float = 0.001
    """Weight of an excluded feature that the disease has, against a perfectly matched observed term (see module)."""
    symmetric: bool = False
    """Average the patient → disease best-match with the disease → patient one."""
    orphanet: bool = True
    """Score Orphanet diseases as well as OMIM ones."""
    gene_level: bool = True
    """Score a gene's whole annotation set as a pseudo-disease where no disease is linked to the gene (see ``hpo``)."""
    gene_level_beside_diseases: bool = False
    """Also where diseases are linked but leave some of the gene's terms unexplained. Off: the union of
    a pleiotropic gene's terms (SCN2A's, TTN's) matches almost any patient, and its linked diseases
    already carry the phenotype (spiked exomes, 300 benchmark cases: 9 false first places came through
    such unions against 2 true ones; without them top-1 0.780 → 0.787, top-5 0.847 → 0.850; on 300
    development cases outside the benchmark top-1 stays 0.783, top-5 0.870 → 0.873, and 8 of the 10
    causal genes that moved rose)."""
    copy_number_gains: bool = False
    """Score chromosomal duplication syndromes too (see ``Disease.copy_number_gain``): off, because the
    variants ranked are small ones, which cannot cause them."""
    mean_shift: float = 0.5
    """Fraction of each disease's expected similarity to a random term subtracted before ranking (see module doc)."""
    gene_count_penalty: float = 0.2
    """Subtracted times ln(number of genes of the disease): a disease many genes cause says less about each."""
    disease_count_weight: float = 0.1
    """Added times ln(number of diseases HPO links to the gene). A gene known for several diseases has a
    wide phenotypic spectrum, and a new patient's mix of features is more often one more of its forms
    than the one disease of a gene described once. Chosen on 300 development cases outside the
    benchmark (spiked exomes, top-1 / top-5): weight −0.15 0.763 / 0.870, 0 0.787 / 0.873,
    0.1 0.793 / 0.880, 0.2 0.787 / 0.880; on the benchmark's first 300 cases 0 gives 0.787 / 0.850,
    0.1 0.797 / 0.853. A negative weight (correcting the best of many diseases for chance) costs most."""
    null_terms: int = 2000
    """How many random annotated terms estimate each disease's null mean and spread."""
    seed: int = 20251124
    """Seed of that sample, fixed so that scores are reproducible."""


@dataclass(frozen=True, slots=True)
class TermMatch:
    """One observed term and the disease term it matched best, through their most informative common ancestor."""

    patient_term: str
    patient_label: str
    disease_term: str
    disease_label: str
    common_ancestor: str
    common_ancestor_label: str
    information_content: float

    def __str__(self) -> str:
        if self.patient_term == self.disease_term:
            return f"{self.patient_label} ({self.patient_term}): also a feature of the disease"
        return (f"{self.patient_label} ({self.patient_term}) ~ {self.disease_label} ({self.disease_term}), "
                f"both {self.common_ancestor_label} ({self.common_ancestor}, IC {self.information_content:.2f})")


@dataclass(frozen=True, slots=True)
class ExcludedConflict:
    """An excluded term that the disease has (directly or through a more specific annotated term)."""

    excluded_term: str
    excluded_label: str
    disease_term: str
    disease_label: str
    disease_id: str
    disease_name: str
    information_content: float

    def __str__(self) -> str:
        via = ("" if self.disease_term == self.excluded_term
               else f" (annotated as {self.disease_label}, {self.disease_term})")
        return (f"the patient does NOT have {self.excluded_label} ({self.excluded_term}), "
                f"which is a feature of {self.disease_name} ({self.disease_id}){via}")


@dataclass(frozen=True, slots=True)
class GenePhenotypeMatch:
    """How well a patient's phenotype matches the best of a gene's diseases, and why."""

    gene: str
    score: float
    """Calibrated score in [0, 1]: ``1 - p_value``."""
    p_value: float
    """Chance that a random phenotype of the same size scores at least as high against a random disease."""
    adjusted_similarity: float
    """``similarity`` less part of the disease's expected similarity to random terms: what genes are ranked by."""
    similarity: float
    """Similarity to the best disease: mean Resnik IC per observed term, less the excluded-term penalty."""
    disease_id: str
    disease_name: str
    _evidence: _CaseEvidence = field(repr=False, compare=False)
    _disease: int = field(repr=False, compare=False)
    _modes: _ModeTable | None = field(default=None, repr=False, compare=False)
    _gene: int = field(default=-1, repr=False, compare=False)

    @property
    def by_mode(self) -> dict[str, tuple[float, str, str]]:
        """Per mode of inheritance ("AD", "AR", ...): (adjusted similarity, disease id, name) of the best
        disease inherited that way, where it is not the best disease overall."""
        if self._modes is None:
            return {}
        return {mode: found[:3] for mode in self._modes.modes
                if (found := self._modes.lookup(self._gene, mode)) is not None}

    def in_mode(self, mode: str) -> GenePhenotypeMatch:
        """This match as seen by a variant inherited in ``mode``: its best disease of that mode, with its evidence."""
        found = self._modes.lookup(self._gene, mode) if self._modes is not None else None
        if found is None:
            return self
        adjusted, disease_id, disease_name, index, similarity = found
        return replace(self, adjusted_similarity=adjusted, similarity=similarity, disease_id=disease_id,
                       disease_name=disease_name, _disease=index, _modes=None)

    def for_mode(self, mode: str) -> tuple[float, str, str]:
        """(adjusted similarity, disease id, name) of the best disease a variant inherited in ``mode`` can cause.

        Exomiser's rule: a heterozygous variant is scored against the gene's dominant diseases, two
        variants against its recessive ones. A mode none of the gene's diseases states (a form not
        described yet) falls back on the best disease overall.
        """
        found = self._modes.lookup(self._gene, mode) if self._modes is not None else None
        return found[:3] if found is not None else (self.adjusted_similarity, self.disease_id, self.disease_name)

    @property
    def matches(self) -> tuple[TermMatch, ...]:
        """Observed terms and what they matched in the disease, most informative first."""
        return self._evidence.matches(self._disease)

    @property
    def conflicts(self) -> tuple[ExcludedConflict, ...]:
        """Excluded terms that the disease has: the evidence against it."""
        return self._evidence.conflicts(self._disease)

    def explanation(self) -> str:
        """A few lines a biologist can read in a report."""
        lines = [f"{self.gene}: phenotype score {self.score:.3f} (p {self.p_value:.2g}) "
                 f"for {self.disease_name} ({self.disease_id})"]
        lines += [f"  matched: {m}" for m in self.matches if m.information_content > 0]
        lines += [f"  against: {c}" for c in self.conflicts]
        return "\n".join(lines)


class _ModeTable:
    """One case's best disease per gene and mode of inheritance, read only for the genes a ranking asks about."""

    def __init__(self, index: _Index, gene_best: FloatArray, similarity: FloatArray,
                 by_mode: Mapping[str, tuple[FloatArray, IntArray]]) -> None:
        self._index = index
        self._gene_best = gene_best
        self._similarity = similarity
        self._by_mode = by_mode
        self.modes = tuple(by_mode)

    def lookup(self, gene: int, mode: str) -> tuple[float, str, str, int, float] | None:
        """(adjusted, disease id, name, disease column, similarity) where the mode's best differs, else None."""
        found = self._by_mode.get(mode)
        if found is None or gene < 0:
            return None
        value = float(found[0][gene])
        if value == self._gene_best[gene] or value == -math.inf:
            return None
        k = int(found[1][gene])
        ix = self._index
        return value, ix.disease_ids[k], ix.disease_names[k], k, float(self._similarity[k])


class _CaseEvidence:
    """One case's term-by-disease matches, kept so that explanations are built only for the genes someone reads.

    Scoring 5,000 genes takes milliseconds; writing out 15 term matches for each of them would take
    ten times longer, for lists nobody looks at beyond the first screen.
    """

    def __init__(self, index: _Index, query: PhenotypeQuery, ranks: npt.NDArray[np.int32], reps: IntArray,
                 excluded: Sequence[tuple[str, IntArray, IntArray]], withheld: BoolArray | None = None) -> None:
        self._index = index
        self._withheld = withheld
        self._query = query
        self._ranks = ranks
        self._reps = reps
        self._excluded = excluded

    def matches(self, d: int) -> tuple[TermMatch, ...]:
        ix = self._index
        terms = ix.release.terms
        out = []
        for row, p in enumerate(self._query.observed):
            rank = int(self._ranks[row, d])
            rep = int(self._reps[row, d])
            mica = ix.term_ids[int(ix.term_of_rank[rank])] if rank else PHENOTYPIC_ABNORMALITY
            disease_term = ix.term_ids[rep] if rep >= 0 else PHENOTYPIC_ABNORMALITY
            out.append(TermMatch(p, terms[p].name, disease_term, terms[disease_term].name, mica, terms[mica].name,
                                 float(ix.ic_of_rank[rank])))
        out.sort(key=lambda m: (-m.information_content, m.patient_term))
        return tuple(out)

    def conflicts(self, d: int) -> tuple[ExcludedConflict, ...]:
        ix = self._index
        if d >= ix.n_base:  # a gene's pooled cohorts: what any of its (consulted) members says against it
            found: dict[str, ExcludedConflict] = {}
            for member in ix.pooled_member_columns(d).tolist():
                if self._withheld is None or not self._withheld[member]:
                    for conflict in self.conflicts(member):
                        found.setdefault(conflict.excluded_term, conflict)
            return tuple(found.values())
        terms = ix.release.terms
        out = []
        for x, diseases, disease_terms in self._excluded:
            hit = int(np.searchsorted(diseases, d))
            if hit < len(diseases) and diseases[hit] == d:
                rep = ix.term_ids[int(disease_terms[hit])]
                out.append(ExcludedConflict(x, terms[x].name, rep, terms[rep].name, ix.disease_ids[d],
                                            ix.disease_names[d], float(ix.ic[ix.term_index[x]])))
        return tuple(out)


@dataclass(frozen=True, slots=True)
class PhenotypeQuery:
    """A patient's phenotype after validation: the terms scored (sorted), those set aside, and any replacements."""

    observed: tuple[str, ...]
    excluded: tuple[str, ...]
    ignored: tuple[str, ...]
    """Observed or excluded terms outside "Phenotypic abnormality" (onset, inheritance, ...): not features."""
    warnings: tuple[str, ...] = field(default=())


class _Index:
    """The release as numpy arrays, laid out so that one patient term is scored against all diseases at once.

    Term indices are positions in ``term_ids`` (current terms under "Phenotypic abnormality"). The
    key table is inverted: for every term ``a``, the diseases with a term at or below ``a``, each with
    its representative term there (the term itself if annotated, else the least specific one below
    it). The Resnik similarity of a patient term ``p`` to disease ``D`` is the information content of
    the most informative ancestor of ``p`` that is in that table for ``D``: walking ``p``'s ancestors
    in increasing information content and writing their rank into a per-disease array leaves the
    maximum there, and the representative says which disease term it came from.
    """

    def __init__(self, release: HpoRelease, params: ScoringParameters, cases: CaseKnowledge | None = None,
                 alias: Mapping[str, str] | None = None) -> None:
        self.release = release
        alias = alias or {}
        self.term_ids = sorted(t for t, anc in release.closure.items()
                               if PHENOTYPIC_ABNORMALITY in anc and not release.terms[t].obsolete)
        self.term_index = {t: i for i, t in enumerate(self.term_ids)}
        n = len(self.term_ids)
        self.anc_indptr, self.anc = _csr([[self.term_index[a] for a in release.closure[t] if a in self.term_index]
                                          for t in self.term_ids])

        # Genes that some disease is linked to (a duplication syndrome included: such a gene's own
        # union of terms is that syndrome's, so it must not come back as a pseudo-disease).
        linked_genes = {g for d in release.diseases.values()
                        if not d.id.startswith(GENE_LEVEL_PREFIX) and (params.orphanet or not d.id.startswith("ORPHA:"))
                        for g in d.genes}

        def scored(d: Disease) -> bool:
            if d.copy_number_gain and not params.copy_number_gains:
                return False
            if d.id.startswith("ORPHA:"):
                return params.orphanet
            if d.id.startswith(GENE_LEVEL_PREFIX):
                return params.gene_level and (params.gene_level_beside_diseases or not d.genes <= linked_genes)
            return True

        diseases = sorted((d for d in release.diseases.values()
                           if scored(d)
                           and d.genes and any(t in self.term_index for t in d.terms)), key=lambda d: d.id)
        # Published cohorts (see ``case_knowledge``) are diseases of their gene, tagged with their publication.
        self.publications: list[str] = sorted({c.publication for c in cases.cohorts}) if cases else []
        publication_index = {p: i for i, p in enumerate(self.publications)}
        disease_publication = [-1] * len(diseases)
        for cohort in (cases.cohorts if cases else ()):
            terms = frozenset(self._current(release, t) for t in cohort.terms) & self.term_index.keys()
            if terms:
                modes = frozenset(InheritanceMode(m) for m in cohort.modes)
                diseases.append(Disease(cohort.id, cohort.name, terms, modes, frozenset({cohort.gene})))
                disease_publication.append(publication_index[cohort.publication])
        self.disease_publication: IntArray = np.asarray(disease_publication, dtype=np.int64)
        # Genes under the gene model's symbols (see ``gene_symbols``): a renamed gene keeps its diseases.
        diseases = [replace(d, genes=frozenset(alias.get(g, g) for g in d.genes)) if d.genes & alias.keys() else d
                    for d in diseases]
        self.disease_ids = [d.id for d in diseases]
        self.disease_names = [d.name for d in diseases]
        nd = self.n_base = len(diseases)
        # Each gene's published cohorts together (one column per gene after the diseases): the
        # patients of all publications, as HPO pools every report of a disease. Its similarity is
        # computed per case, without the withheld publications (see ``match``).
        by_gene: dict[str, list[int]] = {}
        for k in range(nd):
            if disease_publication[k] >= 0:
                by_gene.setdefault(next(iter(diseases[k].genes)), []).append(k)
        self.pooled_genes = sorted(by_gene)
        self.pooled_members: IntArray = np.asarray([k for g in self.pooled_genes for k in by_gene[g]], dtype=np.int64)
        self.pooled_starts: IntArray = np.cumsum([0] + [len(by_gene[g]) for g in self.pooled_genes[:-1]]).astype(
            np.int64) if by_gene else np.zeros(0, dtype=np.int64)
        for g in self.pooled_genes:
            count = len(by_gene[g])
            self.disease_ids.append(f"{COHORT_PREFIX}{g}")
            self.disease_names.append(f"patients published with {g} ({count} publication{'s' if count > 1 else ''})")
        # Information content and the null come from the curated diseases only: gene-level stand-ins
        # and published cohorts repeat them, and would count a feature twice.
        real = np.asarray([d.id.startswith(("OMIM:", "ORPHA:")) for d in diseases])
        dis_indptr, dis_terms = _csr([sorted(self.term_index[t] for t in d.terms if t in self.term_index)
                                      for d in diseases])
        self.dis_indptr, self.dis_terms = dis_indptr, dis_terms
        dis_of = np.repeat(np.arange(nd), np.diff(dis_indptr))
        self.disease_sizes: IntArray = np.diff(dis_indptr)

        # Every (disease, annotated term, ancestor) triple, vectorised.
        anc_len = np.diff(self.anc_indptr)
        lens = anc_len[dis_terms]
        offsets = np.repeat(self.anc_indptr[dis_terms] - np.concatenate(([0], np.cumsum(lens)[:-1])), lens)
        a_exp = self.anc[np.arange(int(lens.sum())) + offsets]
        d_exp = np.repeat(dis_of, lens)
        t_exp = np.repeat(dis_terms, lens)

        # Information content from the real diseases (not the gene-level stand-ins), annotations
        # propagated to ancestors: a disease counts once for every term it implies.
        pair_key = np.unique(d_exp[real[d_exp]] * n + a_exp[real[d_exp]])
        counts = np.bincount(pair_key % n, minlength=n)
        self.ic: FloatArray = -np.log(np.maximum(counts, 1) / max(int(real.sum()), 1))
        order = np.lexsort((np.arange(n), self.ic))
        self.rank = np.empty(n, dtype=np.int32)
        self.rank[order] = np.arange(1, n + 1, dtype=np.int32)
        self.term_of_rank: IntArray = np.concatenate(([-1], order)).astype(np.int64)
        self.ic_of_rank: FloatArray = np.concatenate(([0.0], self.ic[order]))

        # The inverted table: per ancestor term, each disease once with its representative term.
        pick = np.lexsort((t_exp, self.ic[t_exp], a_exp != t_exp, d_exp, a_exp))
        a_s, d_s, t_s = a_exp[pick], d_exp[pick], t_exp[pick]
        first = np.ones(len(a_s), dtype=bool)
        first[1:] = (a_s[1:] != a_s[:-1]) | (d_s[1:] != d_s[:-1])
        a_s, self.inv_disease, self.inv_rep = a_s[first], d_s[first].astype(np.int64), t_s[first].astype(np.int64)
        self.inv_indptr: IntArray = np.searchsorted(a_s, np.arange(n + 1)).astype(np.int64)

        # Gene-disease pairs: HPO's links (publication -1), and each publication's reported diagnosis
        # where HPO does not link that gene to that disease (one pair per publication, so that
        # withholding a publication withdraws only its own links).
        disease_pos = {d.id: k for k, d in enumerate(diseases)}
        triples = {(g, k, -1) for k, d in enumerate(diseases) for g in d.genes}
        for (published_gene, disease_id), publications in (cases.gene_disease_links() if cases else {}).items():
            gene = alias.get(published_gene, published_gene)
            k = disease_pos.get(disease_id, -1)
            if k >= 0 and gene not in diseases[k].genes:
                triples |= {(gene, k, publication_index[p]) for p in publications}
        triples |= {(g, nd + u, -1) for u, g in enumerate(self.pooled_genes)}
        # Modes of inheritance of every column, as bits in ``Mode`` order (0: not stated, admits any).
        mode_bits = [sum(1 << list(Mode).index(m) for m in modes_from_labels(str(x) for x in d.inheritance))
                     for d in diseases]
        # A pooled column admits what any of its cohorts admits (every mode when one of them states none).
        members = [self.pooled_member_columns(nd + u) for u in range(len(self.pooled_genes))]
        pooled_bits = [0 if any(mode_bits[k] == 0 for k in m) else int(np.bitwise_or.reduce([mode_bits[k] for k in m]))
                       for m in members]
        self.disease_mode_bits: IntArray = np.asarray(mode_bits + pooled_bits, dtype=np.int64)
        self.genes = sorted({t[0] for t in triples})
        gene_pos = {g: i for i, g in enumerate(self.genes)}
        pairs = sorted((gene_pos[g], k, p) for g, k, p in triples)
        self.pair_gene: IntArray = np.asarray([p[0] for p in pairs], dtype=np.int64)
        self.pair_disease: IntArray = np.asarray([p[1] for p in pairs], dtype=np.int64)
        self.pair_publication: IntArray = np.asarray([p[2] for p in pairs], dtype=np.int64)
        self.gene_starts: IntArray = np.searchsorted(self.pair_gene, np.arange(len(self.genes))).astype(np.int64)
        # Genes per disease from HPO's own links only: a link one publication made may be withheld.
        curated = self.pair_publication < 0
        unique_pairs = np.unique(self.pair_gene[curated] * len(self.disease_ids) + self.pair_disease[curated])
        self.disease_gene_count: IntArray = np.maximum(
            np.bincount(unique_pairs % len(self.disease_ids), minlength=len(self.disease_ids)), 1)
        gene_diseases = np.maximum(np.bincount(self.pair_gene[curated], minlength=len(self.genes)), 1)
        # What the parameters add to every pair's score, the same for every case (see ``disease_count_weight``).
        self.pair_offset: FloatArray = params.disease_count_weight * np.log(gene_diseases[self.pair_gene])

        # Null: random terms drawn from the real annotations, i.e. with the frequencies at which
        # features are actually recorded, not uniformly over an ontology full of rare leaves.
        pool = dis_terms[real[dis_of]]
        sample = np.random.default_rng(params.seed).choice(pool, size=min(params.null_terms, len(pool)), replace=False)
        total = np.zeros(len(self.disease_ids))
        total_sq = np.zeros(len(self.disease_ids))
        for term in sample:
            ranks, _ = self.match(int(term))
            sim = self.ic_of_rank[ranks]
            total += sim
            total_sq += sim * sim
        self.null_mean: FloatArray = total / len(sample)
        sd = np.sqrt(np.maximum(total_sq / len(sample) - self.null_mean**2, 0.0))
        # A disease whose random matches barely vary would make its tail a step: floor its spread.
        self.null_sd: FloatArray = np.maximum(sd, 0.25 * float(np.median(sd)))
        self.mean_shift = params.mean_shift
        # What ranking subtracts from every disease's similarity, the same for every case (see the module).
        self.disease_offset: FloatArray = -params.mean_shift * self.null_mean - params.gene_count_penalty * np.log(
            self.disease_gene_count)
        self._tails: dict[int, tuple[FloatArray, FloatArray]] = {}
        self._max_ic = float(self.ic.max())

    def best_per_gene(self, pair_values: FloatArray) -> tuple[FloatArray, IntArray]:
        """Each gene's best value over its gene-disease pairs, and that disease (ties: the first pair)."""
        best = np.maximum.reduceat(pair_values, self.gene_starts)
        is_best = pair_values == np.repeat(best, np.diff(np.append(self.gene_starts, len(pair_values))))
        first = np.minimum.reduceat(np.where(is_best, np.arange(len(pair_values)), len(pair_values)),
                                    self.gene_starts)
        return best, self.pair_disease[np.minimum(first, len(pair_values) - 1)]

    def pair_admits(self, mode: Mode) -> BoolArray:
        """Gene-disease pairs whose disease is inherited in ``mode`` or in no stated mode."""
        bits = self.disease_mode_bits[self.pair_disease]
        admits: BoolArray = (bits == 0) | ((bits >> list(Mode).index(mode)) & 1 == 1)
        return admits

    @staticmethod
    def _current(release: HpoRelease, term: str) -> str:
        """A term's current id (an obsolete term's replacement, where it has one)."""
        found = release.terms.get(term)
        return found.replaced_by if found is not None and found.obsolete and found.replaced_by else term

    def withheld(self, publications: Collection[str]) -> tuple[BoolArray, BoolArray] | None:
        """Masks of the diseases and of the gene-disease pairs that come from these publications."""
        wanted = [i for i, p in enumerate(self.publications) if p in publications]
        if not wanted:
            return None
        diseases = np.zeros(len(self.disease_ids), dtype=bool)
        diseases[:self.n_base] = np.isin(self.disease_publication, wanted)
        if len(self.pooled_members):
            kept = np.add.reduceat((~diseases[self.pooled_members]).astype(np.int64), self.pooled_starts)
            diseases[self.n_base:] = kept == 0
        return diseases, np.isin(self.pair_publication, wanted)

    def p_values(self, statistic: FloatArray, n: int) -> FloatArray:
        """Chance that ``n`` random terms give a random gene a statistic at least this high.

        Under the null each disease's statistic is the mean of ``n`` independent best matches less
        the shift: about normal with mean ``(1 - shift) * mean`` and spread ``sd / sqrt(n)``. A
        gene keeps its best disease, so its tail is ``1 - prod(1 - tail_D)`` over its diseases
        (independence: slightly conservative, as a gene's diseases share features); the p-value
        averages that over the genes (every few genes, which is plenty). It is tabulated once per
        ``n`` on a grid (log-linear interpolation), so a case costs one lookup per gene.
        """
        if n not in self._tails:
            genes = np.arange(0, len(self.genes), max(1, len(self.genes) // 1000))
            starts = self.gene_starts[genes]
            ends = np.append(self.gene_starts, len(self.pair_disease))[genes + 1]
            lengths = ends - starts
            pairs = self.pair_disease[np.repeat(starts - np.cumsum(np.append(0, lengths[:-1])), lengths)
                                      + np.arange(int(lengths.sum()))]
            centre = (1.0 - self.mean_shift) * self.null_mean[pairs]
            spread = self.null_sd[pairs] / math.sqrt(n)
            grid = np.linspace(0.0, self._max_ic, 257)
            disease_tail = _upper_normal_tail((grid[:, None] - centre[None, :]) / spread[None, :])
            log_keep = np.log1p(-np.minimum(disease_tail, 1.0 - 1e-16))
            gene_tail = -np.expm1(np.add.reduceat(log_keep, np.cumsum(np.append(0, lengths[:-1])), axis=1))
            # Far in the tail 1 - prod(1 - t) loses all precision; there it equals sum(t) to first order.
            gene_tail = np.where(gene_tail < 1e-8, np.add.reduceat(disease_tail, np.cumsum(
                np.append(0, lengths[:-1])), axis=1), gene_tail)
            self._tails[n] = (grid, np.log(np.maximum(gene_tail.mean(axis=1), 1e-300)))
        grid, log_tail = self._tails[n]
        return np.exp(np.interp(statistic, grid, log_tail, left=0.0, right=float(log_tail[-1])))

    def ancestors(self, term: int) -> IntArray:
        """The term and its ancestors under "Phenotypic abnormality", as term indices."""
        return self.anc[self.anc_indptr[term]:self.anc_indptr[term + 1]]

    def match(self, term: int, withheld: BoolArray | None = None) -> tuple[npt.NDArray[np.int32], IntArray]:
        """One patient term against every disease: the rank of the MICA (0: none informative) and the disease term.

        A gene's pooled cohorts take their best member (leaving out ``withheld`` diseases): the
        best match among all its published patients.
        """
        ranks = np.zeros(len(self.disease_ids), dtype=np.int32)
        reps = np.full(len(self.disease_ids), -1, dtype=np.int64)
        anc = self.ancestors(term)
        for a in anc[np.argsort(self.rank[anc])]:
            if self.ic[a] <= 0.0:  # the root of the subtree: shared by every disease, says nothing
                continue
            lo, hi = self.inv_indptr[a], self.inv_indptr[a + 1]
            cols = self.inv_disease[lo:hi]
            ranks[cols] = self.rank[a]
            reps[cols] = self.inv_rep[lo:hi]
        if len(self.pooled_members):
            members = self.pooled_members
            member_ranks = ranks[members].astype(np.int64)
            if withheld is not None:
                member_ranks[withheld[members]] = 0
            width = len(members) + 1
            best = np.maximum.reduceat(member_ranks * width + np.arange(len(members)), self.pooled_starts)
            ranks[self.n_base:] = best // width
            reps[self.n_base:] = np.where(best // width > 0, reps[members[best % width]], -1)
        return ranks, reps

    def pooled_member_columns(self, d: int) -> IntArray:
        """The cohorts pooled in pooled column ``d``."""
        u = d - self.n_base
        end = self.pooled_starts[u + 1] if u + 1 < len(self.pooled_starts) else len(self.pooled_members)
        return self.pooled_members[self.pooled_starts[u]:end]

    def carriers(self, term: int) -> tuple[IntArray, IntArray]:
        """The diseases that have the term or a more specific one, and that disease term."""
        lo, hi = self.inv_indptr[term], self.inv_indptr[term + 1]
        return self.inv_disease[lo:hi], self.inv_rep[lo:hi]


def _csr(lists: Sequence[Sequence[int]]) -> tuple[IntArray, IntArray]:
    indptr = np.zeros(len(lists) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(x) for x in lists])
    flat = np.fromiter((v for x in lists for v in x), dtype=np.int64, count=int(indptr[-1]))
    return indptr, flat


class PhenotypeScorer:
    """Scores every HPO-annotated gene against a patient's phenotype (see the module docstring)."""

    def __init__(self, params: ScoringParameters | None = None, release: HpoRelease | None = None,
                 cases: CaseKnowledge | None = None, gene_alias: Mapping[str, str] | None = None) -> None:
        self.params = params or ScoringParameters()
        self.release = release or load_release()
        self.cases = cases
        self.gene_alias: Mapping[str, str] = dict(gene_alias or {})
        """HPO or published symbol -> the gene model's symbol, for renamed genes (see ``gene_symbols``)."""
        self._source_symbol = {model: source for source, model in self.gene_alias.items()}
        self._index = _Index(self.release, self.params, cases, self.gene_alias)

    def model_symbol(self, symbol: str) -> str:
        """A gene's symbol as the gene model (and so the ranking) names it."""
        return self.gene_alias.get(symbol, symbol)

    def hpo_symbol(self, symbol: str) -> str:
        """A gene-model symbol as HPO names the gene (for its modes of inheritance)."""
        return self._source_symbol.get(symbol, symbol)

    @property
    def genes(self) -> tuple[str, ...]:
        """The genes this scorer scores: those with at least one disease annotated with phenotype terms."""
        return tuple(self._index.genes)

    def provenance(self) -> dict[str, str]:
        """The HPO release, library and parameters behind every score (for the analysis record)."""
        p = self.params
        return {**self.release.provenance(),
                "phenotype_similarity": "Resnik MICA, best-match average patient->disease"
                                        + (" (symmetric)" if p.symmetric else "")
                                        + "; p against random phenotypes of the same size",
                "phenotype_parameters": (f"excluded_weight={p.excluded_weight} mean_shift={p.mean_shift} "
                                         f"gene_count_penalty={p.gene_count_penalty} "
                                         f"orphanet={p.orphanet} gene_level={p.gene_level} "
                                         f"gene_level_beside_diseases={p.gene_level_beside_diseases} "
                                         f"copy_number_gains={p.copy_number_gains} "
                                         f"disease_count_weight={p.disease_count_weight} "
                                         f"null_terms={p.null_terms} seed={p.seed}"),
                **(self.cases.provenance() if self.cases else {"published_cases": "none"})}

    def prepare(self, observed: Sequence[str], excluded: Sequence[str] = ()) -> PhenotypeQuery:
        """Validate a phenotype (see :func:`genomed.interpret.hpo.validate_terms`) and set aside non-features."""
        seen: TermValidation = validate_terms(observed, role="observed")
        absent: TermValidation = validate_terms(excluded, role="excluded")
        both = sorted(set(seen.terms) & set(absent.terms))
        if both:
            raise InputError(f"term(s) both observed and excluded: {', '.join(both)}")
        # Sorted, so that the same phenotype entered in another order gives bit-identical scores.
        features = tuple(sorted(t for t in seen.terms if t in self._index.term_index))
        ignored = tuple(t for t in (*seen.terms, *absent.terms) if t not in self._index.term_index)
        if not features:
            raise InputError("no observed phenotypic abnormality to score (terms under HP:0000118 are needed)"
                             + (f"; ignored: {', '.join(ignored)}" if ignored else ""))
        return PhenotypeQuery(features, tuple(sorted(t for t in absent.terms if t in self._index.term_index)),
                              ignored, seen.warnings + absent.warnings)

    def score_genes(self, observed: Sequence[str], excluded: Sequence[str] = (), *,
                    exclude_publications: Collection[str] = ()) -> dict[str, GenePhenotypeMatch]:
        """Every annotated gene's phenotype match, keyed by gene symbol, best first (``adjusted_similarity``).

        Unknown, malformed and successor-less obsolete terms are an :class:`InputError` naming them;
        obsolete terms with a successor are replaced (see :meth:`prepare` for the warnings).
        ``exclude_publications`` withholds the published cohorts and links of those publications:
        a published case is scored without what its own publication taught us.
        """
        return self.score_query(self.prepare(observed, excluded), exclude_publications=exclude_publications)

    def score_query(self, query: PhenotypeQuery, *,
                    exclude_publications: Collection[str] = ()) -> dict[str, GenePhenotypeMatch]:
        """As :meth:`score_genes`, for an already validated phenotype."""
        ix = self._index
        n = len(query.observed)
        withheld = ix.withheld(exclude_publications)
        matched = [ix.match(ix.term_index[t], withheld[0] if withheld is not None else None)
                   for t in query.observed]
        ranks = np.stack([m[0] for m in matched])                 # patient terms x diseases
        reps = np.stack([m[1] for m in matched])
        best = ix.ic_of_rank[ranks]
        similarity = best.sum(axis=0) / n
        conflicts: list[tuple[str, IntArray, IntArray]] = []
        penalty = np.zeros(len(ix.disease_ids))
        for x in query.excluded:
            cols, disease_terms = ix.carriers(ix.term_index[x])
            conflicts.append((x, cols, disease_terms))
            penalty[cols] += ix.ic[ix.term_index[x]]
        if len(ix.pooled_members):  # a pooled column conflicts as much as its most conflicting member
            member_penalty = penalty[ix.pooled_members]
            if withheld is not None:
                member_penalty = np.where(withheld[0][ix.pooled_members], 0.0, member_penalty)
            penalty[ix.n_base:] = np.maximum.reduceat(member_penalty, ix.pooled_starts)
        similarity -= self.params.excluded_weight * penalty / n
        if self.params.symmetric:
            similarity = (similarity + self._reverse(query)) / 2
        adjusted = similarity + ix.disease_offset

        # Each gene's best disease (ties: the first in id order), then genes best first (ties: by symbol).
        if withheld is not None:
            adjusted = np.where(withheld[0], -np.inf, adjusted)
        pair_adjusted = adjusted[ix.pair_disease] + ix.pair_offset
        if withheld is not None:
            pair_adjusted = np.where(withheld[1], -np.inf, pair_adjusted)
        gene_best, best_disease = ix.best_per_gene(pair_adjusted)
        order = np.lexsort((np.arange(len(ix.genes)), -gene_best))
        # The same per mode of inheritance, over the diseases inherited that way (or of unknown mode).
        modes = _ModeTable(ix, gene_best, similarity, {
            mode.value: ix.best_per_gene(np.where(ix.pair_admits(mode), pair_adjusted, -np.inf)) for mode in Mode})

        evidence = _CaseEvidence(ix, query, ranks, reps, conflicts, withheld[0] if withheld is not None else None)
        genes = ix.genes
        best_list = gene_best.tolist()
        p_list = ix.p_values(gene_best, n).tolist()
        disease_list = best_disease.tolist()
        sim_list = similarity.tolist()
        results: dict[str, GenePhenotypeMatch] = {}
        for g in order.tolist():
            if best_list[g] == -math.inf:  # everything known of the gene was withheld
                continue
            d = disease_list[g]
            results[genes[g]] = GenePhenotypeMatch(genes[g], 1.0 - p_list[g], p_list[g], best_list[g], sim_list[d],
                                                   ix.disease_ids[d], ix.disease_names[d], evidence, d, modes, g)
        return results

    def _reverse(self, query: PhenotypeQuery) -> FloatArray:
        """Disease → patient best-match average: each disease term matched to its closest patient term."""
        ix = self._index
        # A disease term's best patient match is its most informative ancestor among the patient's ancestors.
        informative = np.zeros(len(ix.term_ids))
        for t in query.observed:
            anc = ix.ancestors(ix.term_index[t])
            informative[anc] = ix.ic[anc]
        per_term = np.maximum.reduceat(informative[ix.anc], ix.anc_indptr[:-1])
        base = np.add.reduceat(per_term[ix.dis_terms], ix.dis_indptr[:-1]) / ix.disease_sizes
        pooled = (np.maximum.reduceat(base[ix.pooled_members], ix.pooled_starts) if len(ix.pooled_members)
                  else np.zeros(0))
        return np.concatenate([base, pooled])

def _upper_normal_tail(z: FloatArray) -> FloatArray:
    """P(N(0, 1) > z), accurate in the far tail (relative error < 1.2e-7: Numerical Recipes' erfcc).

    numpy has no erfc and scipy is not a dependency; this Chebyshev fit is the classic one.

    >>> [round(float(v), 4) for v in _upper_normal_tail(np.array([0.0, 1.96, -1.96]))]
    [0.5, 0.025, 0.975]
    """
    x = np.abs(z) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.5 * x)
    poly = -x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))))
    erfc = t * np.exp(poly)
    return np.where(z >= 0, 0.5 * erfc, 1.0 - 0.5 * erfc)


@cache
def default_scorer() -> PhenotypeScorer:
    """The node's scorer with the default parameters and published cases, built once per process (a few seconds)."""
    from genomed.interpret.case_knowledge import default_case_knowledge
    from genomed.interpret.gene_symbols import default_model_symbols

    return PhenotypeScorer(cases=default_case_knowledge(), gene_alias=default_model_symbols())


def score_genes(observed: Sequence[str], excluded: Sequence[str] = ()) -> Mapping[str, GenePhenotypeMatch]:
    """Every annotated gene's phenotype match for a patient, with the default scorer."""
    return default_scorer().score_genes(observed, excluded)
