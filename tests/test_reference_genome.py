"""Genome builds from contig lengths, and the ReferenceGenome readers on real indexed FASTA files."""

from __future__ import annotations

import doctest
from pathlib import Path

import numpy as np
import pysam
import pytest

import genomed.genome.builds as builds_module
import genomed.genome.reference as reference_module
from genomed.data import data_file
from genomed.errors import InputError, ReferenceSequenceError
from genomed.genome.builds import (
    GRCH37,
    GRCH38,
    contig_lengths,
    detect_build,
    grch38_lengths,
    in_par,
    primary_contigs,
)
from genomed.genome.reference import (
    FastaReference,
    ReferenceGenome,
    Region,
    RegionalFastaReference,
    open_reference,
)
from genomed.simulate.sequence import SyntheticReference


def _vcf_contigs(path: Path) -> dict[str, int]:
    with pysam.VariantFile(str(path)) as vcf:
        return {name: contig.length for name, contig in vcf.header.contigs.items() if contig.length}


def test_grch38_lengths_from_the_data_dir() -> None:
    lengths = contig_lengths(GRCH38)
    assert lengths["1"] == 248_956_422 and lengths["X"] == 156_040_895 and lengths["MT"] == 16_569
    assert len(grch38_lengths()) > 400  # alt, fix and random contigs too
    assert [name for name, _ in primary_contigs(GRCH38)][:3] == ["chr1", "chr2", "chr3"]
    assert primary_contigs(GRCH38)[-1] == ("chrM", 16_569)


def test_grch37_lengths_are_the_ones_real_files_declare() -> None:
    declared = _vcf_contigs(data_file("cases/scout-demo-trio-643594.clinical.GRCh37.vcf.gz"))
    for name, length in contig_lengths(GRCH37).items():
        assert declared[name] == length


@pytest.mark.parametrize(("relative", "build"), [
    ("cases/scout-demo-trio-643594.clinical.GRCh37.vcf.gz", GRCH37),
    ("truth-sets/hg002_base.vcf.gz", GRCH38),
    ("truth-sets/PG_NA12878_hg38-chr21.vcf.gz", GRCH38),
    ("population/gnomad-fixtures/gnomad-genomes-grch38-v3.1.vcf", GRCH38),
])
def test_detect_build_of_real_files(relative: str, build: str) -> None:
    contigs = _vcf_contigs(data_file(relative))
    if not contigs:
        pytest.skip(f"{relative} declares no contig lengths")
    assert detect_build(contigs) == build


def test_detect_build_refuses_to_guess() -> None:
    assert detect_build({}) is None
    assert detect_build({"chrM": 16_569}) is None  # mitochondrion alone tells nothing
    assert detect_build({"1": 248_956_422, "2": 243_199_373}) is None  # one of each build
    assert detect_build({"1": 1000}) is None
    assert detect_build({"chr1": 248_956_422, "chrUn_KI270302v1": 2274, "HLA-A*01:01:01:01": 3503}) == GRCH38


def test_unknown_build() -> None:
    with pytest.raises(InputError, match="unknown genome build"):
        contig_lengths("hg18")


def test_par() -> None:
    assert in_par(GRCH38, "chrX", 10_001) and not in_par(GRCH38, "chrX", 10_000)
    assert in_par(GRCH37, "X", 60_001) and not in_par(GRCH37, "X", 10_001)
    assert not in_par(GRCH38, "chr7", 20_000)


def _write_fasta(path: Path, records: dict[str, str], width: int = 60) -> Path:
    with open(path, "w", encoding="ascii") as out:
        for name, seq in records.items():
            out.write(f">{name}\n")
            out.writelines(seq[i:i + width] + "\n" for i in range(0, len(seq), width))
    pysam.faidx(str(path))
    return path


@pytest.fixture
def genome(tmp_path: Path) -> dict[str, str]:
    rng = np.random.default_rng(5)
    return {name: "".join(rng.choice(list("ACGTacgt"), size=size)) for name, size in (("chr1", 1000),
                                                                                        ("chr2", 250), ("chrM", 70))}


def test_fasta_reference(tmp_path: Path, genome: dict[str, str]) -> None:
    path = _write_fasta(tmp_path / "toy.fa", genome)
    with FastaReference(path, GRCH38) as ref:
        assert isinstance(ref, ReferenceGenome)
        assert ref.fetch("chr1", 10, 20) == genome["chr1"][10:20].upper()
        assert ref.fetch("1", 0, 5) == genome["chr1"][:5].upper()  # names with or without "chr"
        assert ref.fetch("MT", 60, 70) == genome["chrM"][60:].upper()
        assert ref.fetch("chr2", 5, 5) == ""
        assert ref.has("chr2", 0, 250) and not ref.has("chr2", 0, 251) and not ref.has("chr9", 0, 1)
        with pytest.raises(ReferenceSequenceError, match="outside"):
            ref.fetch("chr2", 240, 260)
        with pytest.raises(ReferenceSequenceError, match="not in reference"):
            ref.fetch("chr9", 0, 1)


def test_bgzipped_fasta(tmp_path: Path, genome: dict[str, str]) -> None:
    plain = tmp_path / "plain.fa"
    with open(plain, "w", encoding="ascii") as out:
        for name, seq in genome.items():
            out.write(f">{name}\n{seq}\n")
    packed = tmp_path / "toy.fa.gz"
    pysam.tabix_compress(str(plain), str(packed))
    pysam.faidx(str(packed))
    reference = open_reference(packed, GRCH38, verify_build=False)
    assert isinstance(reference, FastaReference)
    assert reference.fetch("chr1", 900, 1000) == genome["chr1"][900:].upper()


def test_open_reference_checks_the_build(tmp_path: Path, genome: dict[str, str]) -> None:
    path = _write_fasta(tmp_path / "toy.fa", genome)
    with pytest.raises(ReferenceSequenceError, match="match no known build"):
        open_reference(path, GRCH38)
    assert isinstance(open_reference(path, GRCH38, verify_build=False), FastaReference)
    other = _write_fasta(tmp_path / "other.fa", {"contig_a": "ACGT" * 10})
    assert isinstance(open_reference(other, GRCH38), FastaReference)  # nothing to contradict


def test_regional_fasta(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    regions = [Region("chr1", 1000, 1500), Region("chr1", 5000, 5100), Region("chrX", 0, 300)]
    seqs = {r.name: "".join(rng.choice(list("ACGT"), size=r.length)) for r in regions}
    path = _write_fasta(tmp_path / "regional.fa", seqs)
    reference = open_reference(path, GRCH38)
    assert isinstance(reference, RegionalFastaReference)
    assert reference.regions == regions
    assert reference.fetch("chr1", 1000, 1010) == seqs["chr1:1001-1500"][:10]
    assert reference.fetch("1", 5090, 5100) == seqs["chr1:5001-5100"][90:]
    assert reference.fetch("chrX", 299, 300) == seqs["chrX:1-300"][-1]
    assert reference.has("chr1", 1499, 1500)
    for chrom, start, end in (("chr1", 1499, 1501), ("chr1", 999, 1001), ("chr1", 2000, 2001), ("chr2", 0, 1),
                              ("chr1", 1600, 5001)):
        assert not reference.has(chrom, start, end)
        with pytest.raises(ReferenceSequenceError):
            reference.fetch(chrom, start, end)


def test_regional_fasta_corruption(tmp_path: Path) -> None:
    wrong_length = _write_fasta(tmp_path / "wrong.fa", {"chr1:1-10": "ACGTACGTA"})
    with pytest.raises(ReferenceSequenceError, match="holds 9 bases"):
        open_reference(wrong_length, GRCH38)
    overlapping = _write_fasta(tmp_path / "overlap.fa", {"chr1:1-10": "A" * 10, "chr1:5-14": "C" * 10})
    with pytest.raises(ReferenceSequenceError, match="overlapping"):
        open_reference(overlapping, GRCH38)
    with pytest.raises(ReferenceSequenceError, match="not found"):
        open_reference(tmp_path / "absent.fa", GRCH38)
    not_fasta = tmp_path / "junk.fa"
    not_fasta.write_bytes(b"\x00\x01binary junk")
    with pytest.raises(ReferenceSequenceError):
        open_reference(not_fasta, GRCH38)


def test_region_names() -> None:
    assert Region.parse("chr1:1001-2000") == Region("chr1", 1000, 2000)
    for bad in ("chr1", "chr1:0-5", "chr1:10-5", "chr1:a-b"):
        with pytest.raises(ReferenceSequenceError):
            Region.parse(bad)


def test_synthetic_reference_is_a_reference_genome() -> None:
    regions = [Region("chr2", 100, 110)]
    synthetic = SyntheticReference(regions, np.array([0, 1, 2, 3] * 2 + [0, 0], dtype=np.uint8))
    assert isinstance(synthetic, ReferenceGenome)
    assert synthetic.fetch("chr2", 100, 110) == "ACGTACGTAA"
    assert not synthetic.has("chr2", 105, 111)


def test_doctests() -> None:
    assert doctest.testmod(builds_module).failed == 0
    assert doctest.testmod(reference_module).failed == 0
