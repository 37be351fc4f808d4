"""The prioritisation benchmark's parts: published cases, spiked references, background frequencies, figures."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from genomed.annotate.mane import load_mane
from genomed.annotate.model import Variant
from genomed.data import data_file
from genomed.errors import InputError, NotFoundError
from genomed.interpret.evaluation.benchmark import CaseOutcome, choose_cases, summarise
from genomed.interpret.evaluation.published import load_cases, parse_case, read_cases
from genomed.interpret.evaluation.spike import PatchedReference, cds_offset, genomic_of_offset, patches_for

PHENOPACKETS = "phenopackets/phenopacket-store-train.jsonl.gz"


@pytest.fixture(scope="module")
def fbn1():
    [transcript] = [t for t in load_mane(chroms=["chr15"]) if t.gene_symbol == "FBN1"]
    return transcript


def test_published_cases_keep_phenotype_zygosity_and_hgvs() -> None:
    cases, skipped = load_cases(data_file(PHENOPACKETS))
    assert len(cases) > 7000 and 0 < skipped < 1000  # structural variants without a VCF record are counted
    by_id = {c.case_id: c for c in cases}
    case = by_id["PMID_10756346_Patient_B13"]
    [causal] = case.causal
    assert causal.variant == Variant("chr15", 48421957, "C", "G")
    assert causal.gene == "FBN1" and causal.zygosity == "heterozygous"
    assert causal.hgvs_p == "NP_000129.3:p.(Cys2522Ser)"
    assert all(t.startswith("HP:") for t in case.observed)
    deletion = by_id["PMID_10756346_Patient_B32"].causal[0].variant
    assert (deletion.ref, deletion.alt) == ("GGTTAA", "G")


def test_a_structural_case_is_not_evaluable() -> None:
    _, packet = next(read_cases(data_file(PHENOPACKETS)))
    assert packet["id"] == "PMID_15266616_102"  # a telomeric 11q deletion described only in words
    assert parse_case(packet) is None


def test_bad_case_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        load_cases(tmp_path / "absent.jsonl")
    bad = tmp_path / "bad.jsonl.gz"
    with gzip.open(bad, "wt") as handle:
        handle.write(json.dumps({"id": "x"}) + "\n{not json\n")
    with pytest.raises(InputError, match="line 2"):
        load_cases(bad)


def test_cds_offsets_round_trip_on_a_minus_strand_gene(fbn1) -> None:
    assert fbn1.strand == "-"
    for offset in (0, 1, 2, 100, fbn1.cds_length - 1):
        assert cds_offset(fbn1, genomic_of_offset(fbn1, offset)) == offset
    # c.7565 is 1-based: offset 7564; the published variant's genomic base maps there.
    assert cds_offset(fbn1, 48421957 - 1) == 7564


def test_patches_make_the_published_codon(fbn1) -> None:
    from genomed.annotate.genetic_code import CODON_TABLE, reverse_complement

    variant = Variant("chr15", 48421957, "C", "G")
    patches = patches_for(variant, "NP_000129.3:p.(Cys2522Ser)", [fbn1])
    first = 2521 * 3
    codon_positions = [genomic_of_offset(fbn1, first + i) for i in range(3)]
    codon = "".join(reverse_complement(patches[("chr15", p)]) for p in codon_positions)
    assert CODON_TABLE[codon] == "C"
    index = 7564 - first
    mutated = codon[:index] + reverse_complement("G") + codon[index + 1:]
    assert CODON_TABLE[mutated] == "S"


def test_patched_reference_overlays_only_its_bases() -> None:
    class Flat:
        build = "GRCh38"

        def has(self, chrom: str, start: int, end: int) -> bool:
            return chrom == "chr1"

        def fetch(self, chrom: str, start: int, end: int) -> str:
            return "A" * (end - start)

    reference = PatchedReference(Flat())
    reference.set_patches({("chr1", 5): "G", ("chr2", 0): "T"})
    assert reference.fetch("chr1", 3, 8) == "AAGAA"
    assert reference.has("chr2", 0, 1) and not reference.has("chr2", 0, 2)
    reference.set_patches({})
    assert reference.fetch("chr1", 5, 6) == "A"


def test_summary_counts_unranked_cases_as_last() -> None:
    outcomes = [CaseOutcome("a", "G1", 1, 100, "missense", 0.1), CaseOutcome("b", "G2", 3, 100, "missense", 0.1),
                CaseOutcome("c", "G3", None, 50, "loss_of_function", 0.1),
                CaseOutcome("d", "G4", 12, 100, "loss_of_function", 0.1)]
    summary = summarise(outcomes, not_evaluable=7)
    assert (summary.n, summary.top1, summary.top5, summary.top10) == (4, 0.25, 0.5, 0.5)
    assert summary.median_rank == np.median([1, 3, 51, 12])
    assert summary.by_class["loss_of_function"]["top1"] == 0.0 and summary.not_ranked == 1
    assert set(summary.figures()) >= {"n", "top1", "top5", "top10", "median_rank"}


def test_case_sample_is_deterministic() -> None:
    cases, _ = load_cases(data_file(PHENOPACKETS))
    first = [c.case_id for c in choose_cases(cases, 20, seed=3)]
    assert first == [c.case_id for c in choose_cases(cases, 20, seed=3)]
    assert first != [c.case_id for c in choose_cases(cases, 20, seed=4)]


def test_evaluate_prioritisation_command_writes_the_figures(tmp_path: Path) -> None:
    """`genomed evaluate prioritisation` on three published cases over a small simulated background."""
    from genomed.cli import main
    from genomed.simulate import simulate_cohort

    wanted = {"PMID_10756346_Patient_B13", "PMID_10756346_Patient_B32", "PMID_10756346_Patient_B55"}  # FBN1
    packets = [packet for _, packet in read_cases(data_file(PHENOPACKETS)) if packet["id"] in wanted]
    cases = tmp_path / "cases.jsonl"
    cases.write_text("".join(json.dumps(p) + "\n" for p in packets) + json.dumps({"id": "no-variant"}) + "\n")
    background = tmp_path / "background"
    simulate_cohort(background, 12, genes=["FBN1", "TGFBR1", "TGFBR2", "SMAD3", "COL3A1", "ACTA2", "MYH11",
                                            "SCN2A", "STXBP1", "POGZ"], seed=4)
    out = tmp_path / "figures.json"
    assert main(["evaluate", "prioritisation", "--cases", str(cases), "--json", str(out), "--seed", "2",
                 "--background", str(background)]) == 0
    figures = json.loads(out.read_text())
    assert figures["n"] == 3 and figures["not_evaluable"] == 1
    assert {"top1", "top5", "top10", "median_rank", "by_class"} <= set(figures)
    assert figures["top5"] == 1.0 and figures["median_rank"] == 1.0  # FBN1 with Marfan features, few genes
    assert set(figures["by_class"]) <= {"missense", "loss_of_function", "splice_region"}


def test_background_frequency_leaves_out_the_chosen_person_by_ploidy() -> None:
    """A man's X carries one allele, and a missing call was never in AN: no frequency below 0 or above 1."""
    from genomed.interpret.evaluation.background import Background

    # Rows: an autosomal site, a site on X outside the PARs, an autosomal site where person 0 was not called.
    background = Background(
        Path("."), ["chr1", "chrX", "chr2"], np.array([1000, 5_000_000, 2000]), ["A", "C", "G"], ["G", "T", "A"],
        ac=np.array([3, 2, 2], dtype=np.int32), an=np.array([6, 5, 4], dtype=np.int32),
        samples=["man", "woman", "other"], sexes=["male", "female", "female"],
        sample_rows=[np.array([0, 1, 2]), np.array([0, 1]), np.array([0, 2])],
        sample_codes=[np.array([1, 2, -1], dtype=np.int8), np.array([1, 1], dtype=np.int8),
                      np.array([1, 2], dtype=np.int8)],
        sample_gq=[np.zeros(3, np.int16)] * 3, sample_dp=[np.zeros(3, np.int32)] * 3)
    assert background.frequency_without(0).tolist() == [2 / 4, 1 / 4, 2 / 4]
    assert background.frequency_without(1).tolist() == [2 / 4, 1 / 3, 2 / 2]
