"""Published patients as phenotype knowledge: cohorts, gene-disease links, and withholding a publication."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from genomed.interpret.case_knowledge import (
    CaseKnowledge,
    PublishedCohort,
    build_cohorts,
    load_case_knowledge,
    publication_of,
)
from genomed.interpret.evaluation.published import parse_case
from genomed.interpret.phenotype import PhenotypeScorer

# Marfan syndrome's cardinal features (see test_phenotype.py).
MARFAN = ["HP:0001166", "HP:0001083", "HP:0002616", "HP:0100775", "HP:0002107", "HP:0001065", "HP:0000767",
          "HP:0001519"]
UNKNOWN_GENE = "GMTEST1"  # a symbol no HPO release annotates
LINKED_GENE = "GMTEST2"
POOLED_GENE = "GMTEST3"


def packet(case_id: str, pmid: str | None, genes: list[str], observed: list[str], excluded: list[str] = (),
           disease: tuple[str, str] = ("OMIM:154700", "Marfan syndrome")) -> dict[str, Any]:
    refs = [{"id": pmid, "reference": "", "description": ""}] if pmid else []
    features = [{"type": {"id": t, "label": t}} for t in observed]
    features += [{"type": {"id": t, "label": t}, "excluded": True} for t in excluded]
    genomic = [{"subjectOrBiosampleId": case_id, "interpretationStatus": "CAUSATIVE",
                "variantInterpretation": {"variationDescriptor": {
                    "id": f"{case_id}-{g}", "geneContext": {"valueId": "HGNC:1", "symbol": g},
                    "vcfRecord": {"genomeAssembly": "hg38", "chrom": "chr15", "pos": 48_500_000,
                                  "ref": "C", "alt": "T"},
                    "allelicState": {"id": "GENO:0000135"}}}} for g in genes]
    return {"id": case_id, "subject": {"id": case_id, "sex": "FEMALE"}, "phenotypicFeatures": features,
            "interpretations": [{"id": case_id, "progressStatus": "SOLVED", "diagnosis": {
                "disease": {"id": disease[0], "label": disease[1]}, "genomicInterpretations": genomic}}],
            "metaData": {"externalReferences": refs}}


def test_patients_of_one_publication_and_gene_form_one_cohort() -> None:
    packets = [
        packet("a", "PMID:1", ["FBN1"], ["HP:0001166", "HP:0001083"], excluded=["HP:0002616"]),
        packet("b", "PMID:1", ["FBN1"], ["HP:0001083", "HP:0000767"]),
        packet("c", "PMID:2", ["FBN1"], ["HP:0001519"]),
        packet("d", "PMID:2", ["FBN1", "TGFBR2"], ["HP:0002107"]),   # dual diagnosis: counts for both genes
        packet("e", None, ["FBN1"], ["HP:0001065"]),                 # no publication: not knowledge
        packet("f", "PMID:3", ["FBN1"], []),                         # no observed feature: nothing to learn
    ]
    cohorts = {c.id: c for c in build_cohorts(packets)}
    assert sorted(cohorts) == ["CASES/PMID:1/FBN1", "CASES/PMID:2/FBN1", "CASES/PMID:2/TGFBR2"]
    first = cohorts["CASES/PMID:1/FBN1"]
    assert first.patients == 2
    assert first.terms == {"HP:0001166", "HP:0001083", "HP:0000767"}  # the excluded feature is not a feature
    assert first.disease_ids == {"OMIM:154700"}
    assert "2 published patients with FBN1, PMID:1" in first.name
    assert cohorts["CASES/PMID:2/FBN1"].terms == {"HP:0001519", "HP:0002107"}


def test_publication_is_read_from_the_references() -> None:
    assert publication_of(packet("a", "PMID:123", ["FBN1"], ["HP:0001166"])) == "PMID:123"
    assert publication_of(packet("a", None, ["FBN1"], ["HP:0001166"])) is None
    case = parse_case(packet("a", "PMID:123", ["FBN1"], ["HP:0001166"]))
    assert case is not None and case.publication == "PMID:123"


def test_a_file_of_phenopackets_loads_with_its_checksum(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl.gz"
    with gzip.open(path, "wt") as handle:
        for p in (packet("a", "PMID:1", ["FBN1"], ["HP:0001166"]), packet("b", "PMID:2", ["FBN1"], ["HP:0001083"])):
            handle.write(json.dumps(p) + "\n")
    knowledge = load_case_knowledge(path)
    assert len(knowledge.cohorts) == 2
    provenance = knowledge.provenance()
    assert provenance["published_cases"] == "cases.jsonl.gz" and len(provenance["published_cases_sha256"]) == 64


@pytest.fixture(scope="module")
def knowledge() -> CaseKnowledge:
    cohorts = (
        # A gene HPO does not know, whose published patients look like Marfan syndrome.
        PublishedCohort(UNKNOWN_GENE, "PMID:900", frozenset(), "Marfan-like disorder", 3, frozenset(MARFAN[:6])),
        # A gene published as causing Marfan syndrome itself, with a patient recorded with one feature only.
        PublishedCohort(LINKED_GENE, "PMID:901", frozenset({"OMIM:154700"}), "Marfan syndrome", 1,
                        frozenset({"HP:0001519"})),
        # A gene whose two publications each saw half of the features.
        PublishedCohort(POOLED_GENE, "PMID:902", frozenset(), "disorder A", 2, frozenset(MARFAN[:4])),
        PublishedCohort(POOLED_GENE, "PMID:903", frozenset(), "disorder B", 1, frozenset(MARFAN[4:])),
    )
    return CaseKnowledge("test", "0" * 64, cohorts)


@pytest.fixture(scope="module")
def scorers(knowledge: CaseKnowledge) -> tuple[PhenotypeScorer, PhenotypeScorer]:
    return PhenotypeScorer(), PhenotypeScorer(cases=knowledge)


def test_a_gene_without_hpo_annotation_is_scored_from_its_published_patients(
        scorers: tuple[PhenotypeScorer, PhenotypeScorer]) -> None:
    plain, informed = scorers
    assert UNKNOWN_GENE not in plain.score_genes(MARFAN)
    ranked = list(informed.score_genes(MARFAN))
    assert ranked.index(UNKNOWN_GENE) < 10, ranked[:10]
    match = informed.score_genes(MARFAN)[UNKNOWN_GENE]
    assert match.disease_id == "CASES/PMID:900/GMTEST1"
    assert "PMID:900" in match.disease_name
    assert any(m.patient_term == m.disease_term for m in match.matches)


def test_a_published_diagnosis_links_the_gene_to_the_hpo_disease(
        scorers: tuple[PhenotypeScorer, PhenotypeScorer]) -> None:
    _, informed = scorers
    scores = informed.score_genes(MARFAN)
    # The one recorded feature would score poorly; the link to OMIM:154700 carries the disease's features.
    assert scores[LINKED_GENE].disease_id == "OMIM:154700"
    assert scores["FBN1"].disease_id == "OMIM:154700"
    assert scores[LINKED_GENE].similarity == pytest.approx(scores["FBN1"].similarity)
    # FBN1's other curated diseases widen its spectrum (``disease_count_weight``); the link is one disease.
    assert scores[LINKED_GENE].adjusted_similarity < scores["FBN1"].adjusted_similarity


def test_withholding_a_publication_withdraws_its_cohorts_and_links(
        scorers: tuple[PhenotypeScorer, PhenotypeScorer]) -> None:
    _, informed = scorers
    scores = informed.score_genes(MARFAN, exclude_publications=["PMID:900", "PMID:901"])
    assert UNKNOWN_GENE not in scores and LINKED_GENE not in scores
    assert "FBN1" in scores  # HPO's own knowledge is never withheld
    only_one = informed.score_genes(MARFAN, exclude_publications=["PMID:901"])
    assert UNKNOWN_GENE in only_one and LINKED_GENE not in only_one


def test_published_cohorts_do_not_change_information_content(
        scorers: tuple[PhenotypeScorer, PhenotypeScorer]) -> None:
    plain, informed = scorers
    assert np.array_equal(plain._index.ic, informed._index.ic)
    fbn1_plain = plain.score_genes(MARFAN)["FBN1"]
    fbn1_informed = informed.score_genes(MARFAN)["FBN1"]
    assert fbn1_plain.similarity == pytest.approx(fbn1_informed.similarity)
    assert informed.provenance()["published_cases_sha256"] == "0" * 64
    assert plain.provenance()["published_cases"] == "none"


def test_a_genes_publications_are_pooled_and_each_can_be_withheld(
        scorers: tuple[PhenotypeScorer, PhenotypeScorer]) -> None:
    _, informed = scorers
    pooled = informed.score_genes(MARFAN)[POOLED_GENE]
    assert pooled.disease_id == "CASES/GMTEST3" and "2 publications" in pooled.disease_name
    # Every feature is matched exactly by one publication or the other.
    assert all(m.patient_term == m.disease_term for m in pooled.matches)
    alone = {p: informed.score_genes(MARFAN, exclude_publications=[other])[POOLED_GENE]
             for p, other in (("PMID:902", "PMID:903"), ("PMID:903", "PMID:902"))}
    assert all(pooled.similarity > a.similarity for a in alone.values())
    assert alone["PMID:902"].disease_id in ("CASES/GMTEST3", "CASES/PMID:902/GMTEST3")
    # With PMID:903 withheld, only PMID:902's four features are matched exactly.
    exact = {m.patient_term for m in alone["PMID:902"].matches if m.patient_term == m.disease_term}
    assert exact == set(MARFAN[:4])
    assert POOLED_GENE not in informed.score_genes(MARFAN, exclude_publications=["PMID:902", "PMID:903"])


def test_published_causal_variants_are_known_with_their_publications() -> None:
    from genomed.annotate.model import Variant
    from genomed.interpret.case_knowledge import reported_variants

    packets = [packet("a", "PMID:1", ["FBN1"], ["HP:0001166"]), packet("b", "PMID:2", ["FBN1"], ["HP:0001083"]),
               packet("c", None, ["FBN1"], ["HP:0001083"])]
    variant = Variant("chr15", 48_500_000, "C", "T")
    knowledge = CaseKnowledge("t", "0" * 64, build_cohorts(packets), reported_variants(packets))
    assert knowledge.reported(variant) == ("PMID:1", "PMID:2")
    assert knowledge.reported(variant, exclude_publications=["PMID:1"]) == ("PMID:2",)
    assert knowledge.reported(Variant("chr15", 48_500_001, "C", "T")) == ()


def test_published_variants_nearby_are_found_within_the_window_but_not_the_variant_itself() -> None:
    from genomed.annotate.model import Variant

    published = {Variant("chr15", 1_000, "C", "T"): frozenset({"PMID:1"}),
                 Variant("chr15", 1_040, "G", "A"): frozenset({"PMID:2", "PMID:3"}),
                 Variant("chr2", 1_010, "G", "A"): frozenset({"PMID:4"})}
    knowledge = CaseKnowledge("t", "0" * 64, (), published)
    assert knowledge.nearby(Variant("chr15", 1_002, "A", "G"), 3) == ("PMID:1",)
    assert knowledge.nearby(Variant("chr15", 1_010, "A", "G"), 30) == ("PMID:1", "PMID:2", "PMID:3")
    assert knowledge.nearby(Variant("chr15", 1_010, "A", "G"), 5) == ()
    assert knowledge.nearby(Variant("chr15", 1_000, "C", "T"), 3) == ()  # itself is `reported`, not nearby
    assert knowledge.nearby(Variant("chr15", 1_000, "C", "G"), 3) == ("PMID:1",)  # another change at the same base
    assert knowledge.nearby(Variant("chr15", 1_035, "ACGTA", "A"), 1) == ("PMID:2", "PMID:3")  # a deletion's span
    assert knowledge.nearby(Variant("chr15", 1_010, "A", "G"), 30, exclude_publications=["PMID:2"]) == (
        "PMID:1", "PMID:3")
    assert knowledge.nearby(Variant("chrX", 1_000, "A", "G"), 100) == ()


class _Pheno:
    score = 0.5


def _two_gene_case(genes: tuple[str, str], consequence: str, genotype: int) -> tuple[Any, list[Any], list[Any]]:
    """A proband with one variant in each of two genes, both of ``consequence``: calls, variants, annotations."""
    from genomed.annotate.model import Impact, TranscriptEffect, Variant, VariantAnnotation
    from genomed.interpret.case_data import CaseCalls, Member

    impact = Impact.MODERATE if consequence == "missense_variant" else Impact.MODIFIER
    variants = [Variant("chr17", 100, "T", "G"), Variant("chr3", 100, "C", "T")]
    calls = CaseCalls.from_rows([Member("p", "proband", "female", True)], variants, [[genotype], [genotype]])
    annotations = [VariantAnnotation(v, (TranscriptEffect(f"NM_{g}.1", g, g, (consequence,), impact),))
                   for v, g in zip(variants, genes, strict=True)]
    return calls, variants, annotations


def test_a_variant_published_as_causal_counts_as_pathogenic_and_says_where() -> None:
    from genomed.interpret.case_data import HET
    from genomed.interpret.prioritise import prioritise

    calls, variants, annotations = _two_gene_case(("KNOWN", "NOVEL"), "missense_variant", HET)
    ranked = prioritise(calls, annotations, np.zeros(2), {"KNOWN": _Pheno(), "NOVEL": _Pheno()}, lambda g: {"AD"},
                        published=lambda v: ("PMID:7",) if v == variants[0] else ())
    assert [c.gene for c in ranked] == ["KNOWN", "NOVEL"]
    known = ranked[0].variants[0]
    assert known.pathogenicity == 1.0 and known.publications == ("PMID:7",)
    assert ranked[1].variants[0].pathogenicity == pytest.approx(0.6)
    assert any("reported as causal in PMID:7" in line for line in ranked[0].evidence)


def test_a_missense_change_next_to_a_published_causal_variant_scores_higher() -> None:
    from genomed.interpret.case_data import HET
    from genomed.interpret.prioritise import PrioritisationConfig, prioritise

    calls, variants, annotations = _two_gene_case(("HOTSPOT", "ELSEWHERE"), "missense_variant", HET)
    asked: list[int] = []

    def nearby(variant: Any, window: int) -> tuple[str, ...]:
        asked.append(window)
        return ("PMID:8",) if variant == variants[0] else ()

    pheno = {"HOTSPOT": _Pheno(), "ELSEWHERE": _Pheno()}
    ranked = prioritise(calls, annotations, np.zeros(2), pheno, lambda g: {"AD"}, published_nearby=nearby)
    assert [c.gene for c in ranked] == ["HOTSPOT", "ELSEWHERE"] and set(asked) == {30}
    assert ranked[0].variants[0].pathogenicity == pytest.approx(0.8)
    assert ranked[0].variants[0].nearby_publications == ("PMID:8",)
    assert ranked[1].variants[0].pathogenicity == pytest.approx(0.6)
    assert any("another patient's causal variant lies within a few bases (PMID:8)" in line
               for line in ranked[0].evidence)
    off = prioritise(calls, annotations, np.zeros(2), pheno, lambda g: {"AD"}, published_nearby=nearby,
                     config=PrioritisationConfig(hotspot_window=0))
    assert [c.variants[0].pathogenicity for c in off] == pytest.approx([0.6, 0.6])


def test_only_a_protein_change_near_a_published_variant_is_raised() -> None:
    from genomed.interpret.case_data import HET
    from genomed.interpret.prioritise import prioritise

    calls, _variants, annotations = _two_gene_case(("A", "B"), "splice_region_variant", HET)
    ranked = prioritise(calls, annotations, np.zeros(2), {"A": _Pheno(), "B": _Pheno()}, lambda g: {"AD"},
                        published_nearby=lambda v, w: ("PMID:8",))
    assert len(ranked) == 2  # only protein changes are looked up
    assert all(c.variants[0].nearby_publications == () and c.variants[0].pathogenicity == pytest.approx(0.35)
               for c in ranked)


def test_a_known_pathogenic_intronic_variant_passes_the_consequence_filter() -> None:
    from genomed.interpret.case_data import HOM
    from genomed.interpret.prioritise import prioritise

    calls, variants, annotations = _two_gene_case(("GAA", "OTHER"), "intron_variant", HOM)

    def rank(published: Any) -> list[str]:
        return [c.gene for c in prioritise(calls, annotations, np.zeros(2), {"GAA": _Pheno(), "OTHER": _Pheno()},
                                           lambda g: {"AR"}, published=published)]

    assert rank(None) == []  # intronic variants are filtered out
    assert rank(lambda v: ("PMID:9",) if v == variants[0] else ()) == ["GAA"]  # unless a publication names it


def test_the_published_cases_file_is_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from genomed.errors import ConfigurationError
    from genomed.interpret.case_knowledge import PUBLISHED_CASES_ENV, default_case_knowledge

    path = tmp_path / "newer.jsonl"
    path.write_text(json.dumps(packet("a", "PMID:5", ["FBN1"], ["HP:0001166"])) + "\n")
    try:
        monkeypatch.setenv(PUBLISHED_CASES_ENV, str(path))
        default_case_knowledge.cache_clear()
        knowledge = default_case_knowledge()
        assert knowledge is not None and knowledge.source == "newer.jsonl" and len(knowledge.cohorts) == 1
        monkeypatch.setenv(PUBLISHED_CASES_ENV, "none")
        default_case_knowledge.cache_clear()
        assert default_case_knowledge() is None
        monkeypatch.setenv(PUBLISHED_CASES_ENV, str(tmp_path / "missing.jsonl"))
        default_case_knowledge.cache_clear()
        with pytest.raises(ConfigurationError, match="missing.jsonl is not a file"):
            default_case_knowledge()
    finally:
        default_case_knowledge.cache_clear()


def test_a_cohorts_modes_come_from_its_patients_genotypes() -> None:
    het = packet("a", "PMID:1", ["FBN1"], ["HP:0001166"])
    hom = packet("b", "PMID:2", ["FBN1"], ["HP:0001166"])
    hom["interpretations"][0]["diagnosis"]["genomicInterpretations"][0]["variantInterpretation"][
        "variationDescriptor"]["allelicState"] = {"id": "GENO:0000136"}
    two_hets = packet("c", "PMID:3", ["FBN1", "FBN1"], ["HP:0001166"])  # compound heterozygous
    another_het = packet("d", "PMID:2", ["FBN1"], ["HP:0001166"])
    cohorts = {c.publication: c for c in build_cohorts([het, hom, two_hets, another_het])}
    assert cohorts["PMID:1"].modes == {"AD", "XLD"}
    assert cohorts["PMID:3"].modes == {"AR", "XLR"}
    assert cohorts["PMID:2"].modes == {"AD", "XLD", "AR", "XLR"}  # one homozygous, one heterozygous patient
