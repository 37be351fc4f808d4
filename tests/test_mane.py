"""The MANE loader against facts about the real release (MANE v1.x, GRCh38) shipped in the data dir."""

from __future__ import annotations

import doctest
import time
from pathlib import Path

import pytest

import genomed.annotate.mane as mane_module
from genomed.annotate.mane import PLUS_CLINICAL, SELECT, Transcript, load_mane, parse_entry
from genomed.errors import InputError


@pytest.fixture(scope="module")
def every() -> list[Transcript]:
    return load_mane(select_only=False)


def test_loads_the_whole_release_quickly() -> None:
    started = time.perf_counter()
    transcripts = load_mane()
    assert time.perf_counter() - started < 3.0
    assert 18_500 < len(transcripts) < 20_000  # one MANE Select per protein-coding gene
    assert {t.mane_status for t in transcripts} == {SELECT}


def test_plus_clinical_added_on_request(every: list[Transcript]) -> None:
    plus = [t for t in every if t.mane_status == PLUS_CLINICAL]
    assert 40 < len(plus) < 100
    assert len(every) == len(load_mane()) + len(plus)


def test_primary_assembly_only(every: list[Transcript]) -> None:
    chroms = {t.chrom for t in every}
    assert chroms <= {*(f"chr{i}" for i in range(1, 23)), "chrX", "chrY", "chrM"}
    assert {"chr1", "chrX", "chrY"} <= chroms


def test_samd11(every: list[Transcript]) -> None:
    samd11 = next(t for t in every if t.gene_symbol == "SAMD11")
    assert (samd11.chrom, samd11.strand, samd11.ensembl_id) == ("chr1", "+", "ENST00000616016.5")
    assert samd11.refseq_id == "NM_001385641.1"
    assert samd11.gene_id.startswith("ENSG00000187634")
    assert samd11.protein_id.startswith("ENSP")
    assert len(samd11.exons) == 14
    assert samd11.exons[0][0] == samd11.start and samd11.exons[-1][1] == samd11.end


def test_tp53_minus_strand(every: list[Transcript]) -> None:
    tp53 = next(t for t in every if t.gene_symbol == "TP53")
    assert (tp53.chrom, tp53.strand, tp53.ensembl_id, tp53.refseq_id) == ("chr17", "-", "ENST00000269305.9",
                                                                          "NM_000546.6")
    assert tp53.cds_length == 3 * 393 + 3  # 393 amino acids and the stop codon


def test_structure_is_consistent(every: list[Transcript]) -> None:
    for t in every:
        assert t.strand in ("+", "-")
        assert list(t.exons) == sorted(t.exons)
        assert all(a_end < b_start for (_, a_end), (b_start, _) in zip(t.exons, t.exons[1:], strict=False))
        assert t.start <= t.cds_start <= t.cds_end <= t.end
        if t.coding:
            assert t.cds_exons()[0][0] == t.cds_start and t.cds_exons()[-1][1] == t.cds_end


def test_complete_cds_lengths_are_codons(every: list[Transcript]) -> None:
    complete = [t for t in every if t.cds_complete]
    assert len(complete) > 19_000
    assert all(t.cds_length % 3 == 0 for t in complete)


def test_chromosome_filter() -> None:
    chr21 = load_mane(chroms=["chr21", "chr_nonexistent"])
    assert chr21 and {t.chrom for t in chr21} == {"chr21"}
    assert [t.start for t in chr21] == sorted(t.start for t in chr21)


def test_malformed_entry_is_an_input_error() -> None:
    with pytest.raises(InputError, match="fields"):
        parse_entry("chr1", 0, 10, "ENST1\t0\t+")
    rest = "\t".join(["ENST1", "0", "+", "0", "10", "0", "2", "5,", "0,", "X", "cmpl", "cmpl", "0,", "mRNA",
                      "ENSG1", "G", "protein_coding", "ENSP1", "NM_1", "GeneID:1", "NP_1", SELECT])
    with pytest.raises(InputError, match="exon blocks"):
        parse_entry("chr1", 0, 10, rest)


def test_missing_or_wrong_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_mane(tmp_path / "absent.bb")
    not_bigbed = tmp_path / "mane.bb"
    not_bigbed.write_bytes(b"definitely not a bigBed file" * 10)
    with pytest.raises(InputError):
        load_mane(not_bigbed)


def test_doctests() -> None:
    assert doctest.testmod(mane_module).failed == 0
