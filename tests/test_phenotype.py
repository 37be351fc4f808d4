"""Phenotype-driven gene scoring: known cases, excluded terms, errors, an oracle and a held-out accuracy floor."""

from __future__ import annotations

import math
import random
import sys
from pathlib import Path

import pytest

from genomed.errors import InputError
from genomed.interpret import hpo
from genomed.interpret.phenotype import (
    GenePhenotypeMatch,
    PhenotypeScorer,
    ScoringParameters,
    default_scorer,
    score_genes,
)

# Marfan syndrome as a clinician records it: arachnodactyly, ectopia lentis, aortic root aneurysm, dural
# ectasia, pneumothorax, striae distensae, pectus excavatum, disproportionate tall stature. Loeys-Dietz
# syndromes (TGFBR1/2, SMAD3, TGFB2) share most of these and must come right behind.
MARFAN = ["HP:0001166", "HP:0001083", "HP:0002616", "HP:0100775", "HP:0002107", "HP:0001065", "HP:0000767",
          "HP:0001519"]


@pytest.fixture(scope="module")
def scorer() -> PhenotypeScorer:
    return default_scorer()


@pytest.fixture(scope="module")
def marfan(scorer: PhenotypeScorer) -> dict[str, GenePhenotypeMatch]:
    return scorer.score_genes(MARFAN)


def test_marfan_features_put_fbn1_first(marfan: dict[str, GenePhenotypeMatch]) -> None:
    first = next(iter(marfan.values()))
    assert first.gene == "FBN1"
    # HPO's Marfan syndrome, or published Marfan patients with FBN1 (the node's default knowledge has both).
    assert first.disease_id == "OMIM:154700" or (first.disease_id.startswith("CASES/")
                                                 and "Marfan syndrome" in first.disease_name), first.disease_name
    assert first.score > 0.999 and first.p_value < 1e-3
    top5 = list(marfan)[:5]
    assert {"TGFBR2", "SMAD3"} <= set(top5)


def test_every_annotated_gene_scored_in_unit_interval_in_z_order(scorer: PhenotypeScorer,
                                                                 marfan: dict[str, GenePhenotypeMatch]) -> None:
    assert set(marfan) == set(scorer.genes)
    assert len(marfan) > 5_000
    adjusted = [m.adjusted_similarity for m in marfan.values()]
    assert adjusted == sorted(adjusted, reverse=True)
    assert all(0.0 <= m.score <= 1.0 and m.score == pytest.approx(1 - m.p_value) for m in marfan.values())
    assert all(math.isfinite(m.similarity) for m in marfan.values())
    assert all(g == m.gene for g, m in marfan.items())
    scores = [m.score for m in marfan.values()]
    assert scores == sorted(scores, reverse=True)  # the calibration keeps the order
    # Calibrated against random phenotypes: most genes look like chance for a Marfan patient.
    median = sorted(scores)[len(scores) // 2]
    assert 0.2 < median < 0.8


def test_scores_are_deterministic(scorer: PhenotypeScorer, marfan: dict[str, GenePhenotypeMatch]) -> None:
    again = scorer.score_genes(list(reversed(MARFAN)))
    assert list(again) == list(marfan)
    assert [(m.score, m.adjusted_similarity, m.disease_id) for m in again.values()] == \
        [(m.score, m.adjusted_similarity, m.disease_id) for m in marfan.values()]
    fresh = PhenotypeScorer().score_genes(MARFAN)["TGFBR2"]   # a new index from scratch: same null sample
    assert (fresh.score, fresh.disease_id) == (marfan["TGFBR2"].score, marfan["TGFBR2"].disease_id)
    assert score_genes(MARFAN)["FBN1"] == marfan["FBN1"]


def test_explanation_pairs_terms_through_a_common_ancestor(marfan: dict[str, GenePhenotypeMatch]) -> None:
    release = hpo.load_release()
    fbn1 = marfan["FBN1"]
    assert {m.patient_term for m in fbn1.matches} == set(MARFAN)
    assert fbn1.conflicts == ()
    ics = [m.information_content for m in fbn1.matches]
    assert ics == sorted(ics, reverse=True)
    disease_terms = _oracle_ic(release, default_scorer())[0][fbn1.disease_id]
    for m in fbn1.matches:
        assert m.disease_term in disease_terms
        assert m.common_ancestor in release.ancestors(m.patient_term)
        assert m.common_ancestor in release.ancestors(m.disease_term)
    arachnodactyly = next(m for m in fbn1.matches if m.patient_term == "HP:0001166")
    assert arachnodactyly.disease_term == arachnodactyly.common_ancestor == "HP:0001166"
    text = fbn1.explanation()
    assert "FBN1" in text and fbn1.disease_name in text and "Arachnodactyly" in text


def test_excluded_feature_of_the_disease_lowers_the_gene(scorer: PhenotypeScorer) -> None:
    release = hpo.load_release()
    observed = [t for t in MARFAN if t != "HP:0002616"]
    aortic_root_aneurysm = "HP:0002616"   # a feature of Marfan syndrome, absent from this patient
    before = scorer.score_genes(observed)
    after = scorer.score_genes(observed, [aortic_root_aneurysm])
    assert after["FBN1"].adjusted_similarity < before["FBN1"].adjusted_similarity
    assert after["FBN1"].p_value > before["FBN1"].p_value  # (both scores round to 1.0)
    conflict = after["FBN1"].conflicts[0]
    assert (conflict.excluded_term, conflict.disease_id) == (aortic_root_aneurysm, after["FBN1"].disease_id)
    assert aortic_root_aneurysm in release.ancestors(conflict.disease_term)
    assert "does NOT have Aortic root aneurysm" in str(conflict) and conflict.disease_name in str(conflict)
    assert "against: the patient does NOT have" in after["FBN1"].explanation()
    # A gene none of whose diseases has the feature keeps its score exactly.
    unrelated = next(g for g in ("CFTR", "DMD", "PAH") if not any(
        aortic_root_aneurysm in release.ancestors(t) for d in hpo.gene_diseases(g) for t in d.terms
        if hpo.PHENOTYPIC_ABNORMALITY in release.closure[t]))
    assert after[unrelated].adjusted_similarity == before[unrelated].adjusted_similarity
    assert after[unrelated].conflicts == ()


def test_a_heavier_excluded_weight_reorders_genes() -> None:
    """The weight is small by default (see the module); with weight 1 an excluded hallmark sinks the gene."""
    heavy = PhenotypeScorer(ScoringParameters(excluded_weight=1.0))
    observed = [t for t in MARFAN if t not in ("HP:0001083", "HP:0100775")]
    without = list(heavy.score_genes(observed))
    with_exclusions = list(heavy.score_genes(observed, ["HP:0001083", "HP:0100775"]))  # no ectopia lentis, no ectasia
    assert with_exclusions.index("FBN1") > without.index("FBN1")


def test_bad_phenotypes_are_refused_with_the_terms_named(scorer: PhenotypeScorer) -> None:
    with pytest.raises(InputError, match="HP:9999999"):
        scorer.score_genes([*MARFAN, "HP:9999999"])
    with pytest.raises(InputError, match="HP:9999998"):
        scorer.score_genes(MARFAN, ["HP:9999998"])
    with pytest.raises(InputError, match="both observed and excluded: HP:0001166"):
        scorer.score_genes(MARFAN, ["HP:0001166"])
    with pytest.raises(InputError, match="no observed phenotypic abnormality"):
        scorer.score_genes(["HP:0000006"])  # an inheritance term is not a feature
    with pytest.raises(InputError, match="no observed phenotypic abnormality"):
        scorer.score_genes([])


def test_non_feature_terms_are_set_aside_and_obsolete_ones_replaced(scorer: PhenotypeScorer) -> None:
    query = scorer.prepare([*MARFAN, "HP:0000006", "HP:0000057"])
    assert "HP:0000006" in query.ignored and "HP:0000006" not in query.observed
    assert "HP:0008665" in query.observed and query.warnings


def test_random_phenotypes_score_like_chance(scorer: PhenotypeScorer) -> None:
    """The calibration's promise: for phenotypes unrelated to any gene, p-values are about uniform."""
    release = hpo.load_release()
    pool = [t for d in sorted(release.diseases.values(), key=lambda d: d.id)
            if d.genes and not d.id.startswith(hpo.GENE_LEVEL_PREFIX)
            for t in sorted(d.terms) if hpo.PHENOTYPIC_ABNORMALITY in release.closure[t]]
    rng = random.Random(11)
    p_values = sorted(m.p_value for _ in range(8) for m in scorer.score_genes(rng.sample(pool, 5)).values())
    below = sum(p < 0.05 for p in p_values) / len(p_values)
    assert 0.02 <= below <= 0.09, below
    assert 0.4 <= p_values[len(p_values) // 2] <= 0.7


def _oracle_ic(release: hpo.HpoRelease, scorer: PhenotypeScorer) -> tuple[dict[str, set[str]], dict[str, float]]:
    """Disease phenotype terms and information content, counted the obvious way: sets of ancestors."""
    in_scope = {d.id: {t for t in d.terms if hpo.PHENOTYPIC_ABNORMALITY in release.closure[t]}
                for d in release.diseases.values()
                if d.genes and (scorer.params.orphanet or not d.id.startswith("ORPHA:"))
                and (scorer.params.copy_number_gains or not d.copy_number_gain)}
    real = [terms for did, terms in in_scope.items() if terms and not did.startswith(hpo.GENE_LEVEL_PREFIX)]
    for cohort in scorer.cases.cohorts if scorer.cases else ():  # diseases too, but not counted for IC
        current = {release.terms[t].replaced_by or t if release.terms[t].obsolete else t
                   for t in cohort.terms if t in release.terms}
        in_scope[cohort.id] = {t for t in current if hpo.PHENOTYPIC_ABNORMALITY in release.closure[t]
                               and not release.terms[t].obsolete}
        pooled = f"CASES/{scorer.model_symbol(cohort.gene)}"  # a gene's cohorts pooled
        in_scope[pooled] = in_scope.get(pooled, set()) | in_scope[cohort.id]
    count: dict[str, int] = {}
    for terms in real:
        for a in set().union(*(release.closure[t] for t in terms)):
            count[a] = count.get(a, 0) + 1
    return in_scope, {a: -math.log(c / len(real)) for a, c in count.items()}


def test_fast_similarity_matches_the_obvious_implementation(scorer: PhenotypeScorer) -> None:
    """Resnik best-match average for 25 genes' best diseases, against a slow, obviously correct version."""
    release = hpo.load_release()
    disease_terms, ic = _oracle_ic(release, scorer)
    rng = random.Random(7)
    pool = sorted({t for terms in disease_terms.values() for t in terms})
    patient = rng.sample(pool, 8)
    results = scorer.score_genes(patient)
    for gene in rng.sample(sorted(results), 25):
        match = results[gene]
        expected = sum(max(max((ic[a] for a in release.closure[p] & release.closure[t] if a in ic), default=0.0)
                           for t in disease_terms[match.disease_id]) for p in patient) / len(patient)
        assert match.similarity == pytest.approx(expected, abs=1e-9), gene
        for m in match.matches:  # the explanation's IC is the term's own share of that average
            best = max(max((ic[a] for a in release.closure[m.patient_term] & release.closure[t] if a in ic),
                           default=0.0) for t in disease_terms[match.disease_id])
            assert m.information_content == pytest.approx(best, abs=1e-9)


def test_held_out_cases_rank_the_causal_gene_high(scorer: PhenotypeScorer) -> None:
    """A floor on cases never used to choose parameters; fails if scoring breaks or regresses badly."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import phenotype_ranking as bench

    _, held = bench.halves(limit=120)
    background = bench.background_genes()
    outcomes = bench.evaluate(scorer, held, background)
    summary = bench.summarise(outcomes, len(scorer.genes))
    assert summary["cases"] == 120
    # Measured 0.46 / 0.55 / 4 / 0.66 (HPO 2025-11-24); a per-disease z-score ranking gives about 0.23 / 0.42 / 17.
    assert summary["top1"] >= 0.33, summary
    assert summary["top10"] >= 0.42, summary
    assert summary["median_rank"] <= 12, summary
    assert summary["random200_top1"] >= 0.55, summary
    assert summary["seconds_per_case"] <= 0.5, summary


def test_each_mode_of_inheritance_is_scored_against_the_diseases_inherited_that_way(
        marfan: dict[str, GenePhenotypeMatch]) -> None:
    """A gene's dominant and recessive diseases are told apart: a het variant only earns the dominant ones."""
    release = hpo.load_release()
    with_modes = [m for m in marfan.values() if m.by_mode]
    assert len(with_modes) > 50  # many genes cause diseases of more than one mode
    for match in with_modes[:200]:
        for mode, (value, disease_id, _) in match.by_mode.items():
            assert value < match.adjusted_similarity
            disease = release.diseases.get(disease_id)
            if disease is not None and disease.inheritance:  # a stated mode admits this one
                stated = {str(m) for m in disease.inheritance}
                assert mode in stated or (mode in ("XLR", "XLD") and "XL" in stated) or "SD" in stated \
                    or (mode == "AD" and stated & {"DE_NOVO", "SPORADIC", "SOMATIC_MOSAICISM", "PAD"}) \
                    or (mode == "AR" and "PAR" in stated), (match.gene, mode, disease_id, stated)
    first = with_modes[0]
    mode = next(iter(first.by_mode))
    assert first.for_mode(mode) == first.by_mode[mode]
    assert first.for_mode("no such mode") == (first.adjusted_similarity, first.disease_id, first.disease_name)
    seen_as = first.in_mode(mode)  # the same gene, through its disease of that mode, with that disease's evidence
    assert (seen_as.adjusted_similarity, seen_as.disease_id) == first.by_mode[mode][:2]
    disease_terms = _oracle_ic(release, default_scorer())[0][seen_as.disease_id]
    assert all(m.disease_term in disease_terms for m in seen_as.matches if m.information_content > 0)
    assert first.in_mode("no such mode") is first


def test_a_genes_union_of_terms_is_scored_only_where_no_disease_is_linked_to_it() -> None:
    """SCN2A's diseases carry its phenotype; the union of all its terms would match almost any patient."""
    release = hpo.load_release()
    linked = {g for d in release.diseases.values() if not d.id.startswith(hpo.GENE_LEVEL_PREFIX) for g in d.genes}
    union_only = sorted(g for g, ids in release.gene_diseases.items()
                        if ids and all(i.startswith(hpo.GENE_LEVEL_PREFIX) for i in ids) and g not in linked)
    beside = sorted(g for g, ids in release.gene_diseases.items()
                    if g in linked and any(i.startswith(hpo.GENE_LEVEL_PREFIX) for i in ids))
    assert union_only and "SCN2A" in beside
    default = PhenotypeScorer(release=release)
    everything = PhenotypeScorer(ScoringParameters(gene_level_beside_diseases=True), release=release)
    assert union_only[0] in default.genes  # a gene known only through its own annotations is still scored
    terms = sorted(t for t in release.diseases[f"{hpo.GENE_LEVEL_PREFIX}SCN2A"].terms
                   if hpo.PHENOTYPIC_ABNORMALITY in release.closure[t])
    assert not default.score_genes(terms)["SCN2A"].disease_id.startswith(hpo.GENE_LEVEL_PREFIX)
    assert everything.score_genes(terms)["SCN2A"].disease_id == f"{hpo.GENE_LEVEL_PREFIX}SCN2A"


def test_a_duplication_syndrome_is_not_offered_for_a_small_variant() -> None:
    """17p11.2 microduplication (Potocki-Lupski) is linked to RAI1, but an SNV in RAI1 cannot cause it."""
    release = hpo.load_release()
    gains = {d.id for d in release.diseases.values() if d.copy_number_gain}
    assert {"ORPHA:1713", "ORPHA:521258", "OMIM:300942"} <= gains and "OMIM:607864" not in gains
    terms = sorted(t for t in release.diseases["ORPHA:1713"].terms if hpo.PHENOTYPIC_ABNORMALITY in release.closure[t])
    default = PhenotypeScorer(release=release).score_genes(terms)["RAI1"]
    assert default.disease_id not in gains
    everything = PhenotypeScorer(ScoringParameters(copy_number_gains=True), release=release).score_genes(terms)
    assert everything["RAI1"].disease_id in gains


def test_a_gene_known_for_several_diseases_gains_by_their_number() -> None:
    release = hpo.load_release()
    plain = PhenotypeScorer(ScoringParameters(disease_count_weight=0.0), release=release)
    weighted = PhenotypeScorer(ScoringParameters(disease_count_weight=0.1), release=release)
    before, after = plain.score_genes(MARFAN), weighted.score_genes(MARFAN)
    single = [g for g, ids in release.gene_diseases.items()
              if g in before and len([i for i in ids if i.startswith("OMIM:")]) == 1 and len(ids) == 1]
    many = [g for g, ids in release.gene_diseases.items() if g in before and len(ids) >= 5]
    assert single and many
    for gene in single[:20]:
        assert after[gene].adjusted_similarity == pytest.approx(before[gene].adjusted_similarity)
    for gene in many[:20]:
        assert after[gene].adjusted_similarity >= before[gene].adjusted_similarity + 0.1 * math.log(2) - 1e-9
