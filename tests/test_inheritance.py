"""Inheritance modes from a family's genotypes, and the gene ranking built on them."""

from __future__ import annotations

import numpy as np
import pytest

from genomed.annotate.model import Impact, TranscriptEffect, Variant, VariantAnnotation
from genomed.errors import InputError
from genomed.interpret.case_data import HET, HOM, NOT_CALLED, REF, CaseCalls, Member
from genomed.interpret.inheritance import Mode, de_novo_rows, gene_matches
from genomed.interpret.prioritise import PrioritisationConfig, modes_from_labels, prioritise
from genomed.interpret.scoring import rarity

TRIO = [Member("P", "proband", "female", True), Member("F", "father", "male", False),
        Member("M", "mother", "female", False)]
A = Variant("chr2", 1000, "C", "T")
B = Variant("chr2", 2000, "G", "A")
X = Variant("chrX", 50_000_000, "A", "G")


def trio(variants: list[Variant], genotypes: list[list[int]], members: list[Member] = TRIO) -> CaseCalls:
    return CaseCalls.from_rows(members, variants, genotypes)


def modes(calls: CaseCalls, allowed: frozenset[Mode] = frozenset()) -> set[tuple[Mode, tuple[int, ...]]]:
    return {(m.mode, m.rows) for m in gene_matches(calls, list(range(len(calls))), allowed, "GRCh38")}


def test_de_novo_heterozygous_fits_dominant_and_is_flagged() -> None:
    calls = trio([A], [[HET, REF, REF]])
    [match] = [m for m in gene_matches(calls, [0], frozenset({Mode.AUTOSOMAL_DOMINANT}), "GRCh38")]
    assert match.de_novo and match.certainty == 1.0 and "de novo" in match.explanation
    assert de_novo_rows(calls).tolist() == [0]


def test_dominant_variant_from_an_unaffected_parent_is_excluded() -> None:
    calls = trio([A], [[HET, HET, REF]])
    assert (Mode.AUTOSOMAL_DOMINANT, (0,)) not in modes(calls)


def test_dominant_variant_from_an_affected_parent_fits() -> None:
    members = [TRIO[0], Member("F", "father", "male", True), TRIO[2]]
    calls = trio([A], [[HET, HET, REF]], members)
    assert (Mode.AUTOSOMAL_DOMINANT, (0,)) in modes(calls)


def test_compound_heterozygous_in_trans_fits_recessive_but_in_cis_does_not() -> None:
    in_trans = trio([A, B], [[HET, HET, REF], [HET, REF, HET]])
    matches = [m for m in gene_matches(in_trans, [0, 1], frozenset({Mode.AUTOSOMAL_RECESSIVE}), "GRCh38")]
    assert [(m.rows, m.in_trans) for m in matches] == [((0, 1), True)]
    in_cis = trio([A, B], [[HET, HET, REF], [HET, HET, REF]])
    assert not gene_matches(in_cis, [0, 1], frozenset({Mode.AUTOSOMAL_RECESSIVE}), "GRCh38")


def test_unphased_pair_without_parents_fits_with_lower_certainty() -> None:
    calls = CaseCalls.from_rows([TRIO[0]], [A, B], [[HET], [HET]])
    [match] = gene_matches(calls, [0, 1], frozenset({Mode.AUTOSOMAL_RECESSIVE}), "GRCh38")
    assert match.in_trans is None and match.certainty < 1.0 and "phase unknown" in match.explanation


def test_homozygous_recessive_excluded_when_an_unaffected_parent_is_homozygous() -> None:
    assert (Mode.AUTOSOMAL_RECESSIVE, (0,)) in modes(trio([A], [[HOM, HET, HET]]))
    assert (Mode.AUTOSOMAL_RECESSIVE, (0,)) not in modes(trio([A], [[HOM, HOM, HET]]))


def test_x_linked_hemizygous_male_from_carrier_mother() -> None:
    boy = [Member("P", "proband", "male", True), TRIO[1], TRIO[2]]
    calls = trio([X], [[HOM, REF, HET]], boy)
    matches = {m.mode: m for m in gene_matches(calls, [0], frozenset({Mode.X_LINKED_RECESSIVE}), "GRCh38")}
    assert "hemizygous" in matches[Mode.X_LINKED_RECESSIVE].explanation
    # The same genotype carried by the unaffected father cannot be X-linked recessive in his son.
    assert not gene_matches(trio([X], [[HOM, HET, HET]], boy), [0], frozenset({Mode.X_LINKED_RECESSIVE}), "GRCh38")


def test_missing_parent_call_is_not_a_reference_call() -> None:
    calls = trio([A], [[HET, NOT_CALLED, REF]])
    [match] = gene_matches(calls, [0], frozenset({Mode.AUTOSOMAL_DOMINANT}), "GRCh38")
    assert not match.de_novo and match.certainty < 1.0


def test_case_members_are_checked() -> None:
    with pytest.raises(InputError, match="proband"):
        CaseCalls.from_rows([TRIO[1]], [A], [[HET]])
    with pytest.raises(InputError, match="twice"):
        CaseCalls.from_rows([TRIO[0], Member("P", "father")], [A], [[HET, REF]])


def test_mode_labels_from_hpo_and_panelapp() -> None:
    assert modes_from_labels(["XL"]) == {Mode.X_LINKED_RECESSIVE, Mode.X_LINKED_DOMINANT}
    assert modes_from_labels(["SD"]) == {Mode.AUTOSOMAL_DOMINANT, Mode.AUTOSOMAL_RECESSIVE}
    assert modes_from_labels(["POLYGENIC"]) == frozenset()


def _annotation(variant: Variant, gene: str, consequence: str, impact: Impact) -> VariantAnnotation:
    return VariantAnnotation(variant, (TranscriptEffect(f"NM_{gene}.1", gene, gene, (consequence,), impact,
                                                        hgvs_c=f"NM_{gene}.1:c.1A>G"),))


class _Pheno:
    def __init__(self, score: float) -> None:
        self.score = score


def test_ranking_needs_phenotype_variant_and_inheritance_together() -> None:
    variants = [Variant("chr1", 100, "A", "G"), Variant("chr3", 100, "C", "T"), Variant("chr4", 100, "G", "A"),
                Variant("chr5", 100, "T", "C")]
    calls = CaseCalls.from_rows([TRIO[0]], variants, [[HET], [HET], [HET], [HET]])
    annotations = [_annotation(variants[0], "GOOD", "stop_gained", Impact.HIGH),        # fits everything
                   _annotation(variants[1], "NOPHENO", "stop_gained", Impact.HIGH),     # no phenotype match
                   _annotation(variants[2], "RECESSIVE", "frameshift_variant", Impact.HIGH),  # one het in AR gene
                   _annotation(variants[3], "COMMON", "missense_variant", Impact.MODERATE)]  # too common
    max_af = np.array([0.0, 0.0, 0.0, 0.005])
    phenotype = {"GOOD": _Pheno(0.9), "RECESSIVE": _Pheno(0.95), "COMMON": _Pheno(0.95), "NOPHENO": _Pheno(0.0)}
    modes_of = {"GOOD": {"AD"}, "RECESSIVE": {"AR"}, "COMMON": {"AD"}}
    ranked = prioritise(calls, annotations, max_af, phenotype, lambda g: modes_of.get(g, set()))
    # One het variant in a recessive gene fits no known mode: it stays in, behind, as a dominant
    # form not yet described (half the certainty), and the evidence says so.
    assert [c.gene for c in ranked] == ["GOOD", "RECESSIVE", "NOPHENO"]
    unexpected = ranked[1]
    assert unexpected.inheritance.mode is Mode.AUTOSOMAL_DOMINANT
    assert unexpected.inheritance.certainty == pytest.approx(0.5 * ranked[0].inheritance.certainty)
    assert any("not yet described for RECESSIVE (known: AR)" in line for line in unexpected.evidence)
    assert prioritise(calls, annotations, max_af, phenotype, lambda g: modes_of.get(g, set()),
                      config=PrioritisationConfig(unexpected_mode=0.0))[1].gene == "NOPHENO"
    top = ranked[0]
    assert top.rank == 1 and top.inheritance.mode is Mode.AUTOSOMAL_DOMINANT
    assert any("absent from the population" in line for line in top.evidence)


def test_rarity_curve_is_monotonic() -> None:
    values = [rarity(af) for af in (0.0, 0.0001, 0.001, 0.005, 0.01, 0.02, 0.05)]
    assert values == sorted(values, reverse=True) and values[0] == 1.0 and values[-1] == 0.0


class _ModalPheno:
    """A gene whose recessive disease fits the patient well and whose dominant disease fits poorly."""

    score = 0.9
    adjusted_similarity = 3.0

    def for_mode(self, mode: str) -> tuple[float, str, str]:
        return (0.5, "OMIM:2", "dominant disease") if mode == "AD" else (3.0, "OMIM:1", "recessive disease")


def test_a_single_het_variant_earns_only_the_dominant_diseases_phenotype() -> None:
    variants = [Variant("chr1", 100, "A", "G"), Variant("chr3", 100, "C", "T"), Variant("chr3", 200, "C", "T")]
    calls = CaseCalls.from_rows([TRIO[0]], variants, [[HET], [HET], [HET]])
    annotations = [_annotation(variants[0], "MIXED", "stop_gained", Impact.HIGH),
                   _annotation(variants[1], "OTHER", "stop_gained", Impact.HIGH),
                   _annotation(variants[2], "OTHER", "stop_gained", Impact.HIGH)]
    phenotype = {"MIXED": _ModalPheno(), "OTHER": _Pheno(1.0)}
    ranked = prioritise(calls, annotations, np.zeros(3), phenotype, lambda g: {"AD", "AR"})
    by_gene = {c.gene: c for c in ranked}
    # MIXED: one het variant, so autosomal dominant, scored against its dominant disease (0.5, not 3.0).
    assert by_gene["MIXED"].inheritance.mode is Mode.AUTOSOMAL_DOMINANT
    assert by_gene["MIXED"].combined_score == pytest.approx(0.5 + by_gene["MIXED"].variant_score)
    # OTHER: two hets fit recessive inheritance (unphased), and its phenotype holds for every mode.
    assert ranked[0].gene == "OTHER"
