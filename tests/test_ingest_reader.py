"""Reading VCF/gVCF into chunks: exact agreement with the pure-Python oracle, the chunk contract, gVCF
blocks, left-alignment through a real FASTA, and one exception of our own for each kind of bad input."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pysam
import pytest

from genomed.errors import (
    InputError,
    MalformedVCFError,
    NotFoundError,
    ReferenceMismatchError,
    StateError,
    TruncatedFileError,
    UnknownSampleError,
    WrongBuildError,
)
from genomed.genome.reference import open_reference
from genomed.ingest.chunks import MISSING, BlockChunk, RecordChunk
from genomed.ingest.reader import BGZF_EOF, read_vcf
from genomed.store.keys import variant_key
from oracle import (
    X_NONPAR,
    count_alleles,
    counts_from_chunks,
    random_cohort,
    simulated_cohort,
    simulated_sexes,
    write_vcf,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
THOUSAND_GENOMES = DATA / "population" / "1000G-chr22-subset.GRCh38.vcf.gz"
SCOUT_TRIO_GRCH37 = DATA / "cases" / "scout-demo-trio-643594.clinical.GRCh37.vcf.gz"


def needs(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared test data not found: {path}")
    return path


def read_all(path: Path, **kwargs: object) -> list[RecordChunk | BlockChunk]:
    kwargs.setdefault("expected_build", "GRCh38")
    return list(read_vcf(path, **kwargs))  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- the oracle

@pytest.fixture(scope="module")
def thousand_genomes_truth() -> list[object]:
    return count_alleles(needs(THOUSAND_GENOMES))  # type: ignore[return-value]


@pytest.mark.parametrize(("segments", "bcf_pipe"), [(1, False), (3, False), (None, True)])
def test_oracle_agrees_exactly_on_1000_genomes(thousand_genomes_truth: list[object], segments: int | None,
                                               bcf_pipe: bool) -> None:
    """3,042 real sites × 2,548 samples: AC, AN, homozygotes per record, as the oracle counts them —
    read in one piece, cut into segments parsed in parallel, and as BCF from a bcftools child."""
    path = needs(THOUSAND_GENOMES)
    stream = read_vcf(path, expected_build="GRCh38", segments=segments, bcf_pipe=bcf_pipe)
    chunks = list(stream)
    assert stream.segments == (segments or 1)
    assert counts_from_chunks(chunks) == thousand_genomes_truth
    assert len(stream.samples) == 2548
    assert stream.counts.records_read == 3042
    assert any("could not be confirmed" in note for note in stream.counts.notes)   # no contig lengths


@pytest.mark.parametrize("bcf_pipe", [False, True])
def test_oracle_agrees_on_a_file_without_contig_lines(bcf_pipe: bool) -> None:
    """tiny1000G declares no contigs: htslib adds them while parsing (also when a child converts to BCF)."""
    path = needs(DATA / "population" / "tiny1000G.GRCh38.vcf.gz")
    stream = read_vcf(path, expected_build="GRCh38", bcf_pipe=bcf_pipe)
    assert counts_from_chunks(list(stream)) == count_alleles(path)
    assert any("is not defined in the header" in note for note in stream.counts.notes)


def test_oracle_agrees_on_a_real_grch37_trio() -> None:
    """A real annotated trio (GATK/FreeBayes/samtools merged): half-calls, AD, many FORMAT fields."""
    path = needs(SCOUT_TRIO_GRCH37)
    stream = read_vcf(path, expected_build="GRCh37")
    assert counts_from_chunks(list(stream)) == count_alleles(path)
    assert stream.build == "GRCh37"
    assert {c.chrom for c in count_alleles(path)} <= {f"chr{i}" for i in range(1, 23)} | {"chrX", "chrY", "chrM"}


@pytest.mark.parametrize(("seed", "chunk_size", "segments"), [(1, 20_000, 1), (2, 37, 2), (3, 1, 1)])
def test_oracle_agrees_on_a_cohort_with_missing_haploid_and_multiallelic_calls(
        tmp_path: Path, seed: int, chunk_size: int, segments: int) -> None:
    path = random_cohort(tmp_path / "cohort.vcf.gz", seed=seed, sites=800, males=20, females=20)
    chunks = read_all(path, chunk_size=chunk_size, segments=segments)
    assert max(len(c) for c in chunks) <= chunk_size
    assert counts_from_chunks(chunks) == count_alleles(path)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return simulated_cohort(tmp_path_factory.getbasetemp())


@pytest.mark.parametrize(("segments", "bcf_pipe"), [(1, False), (3, False), (None, True)])
def test_oracle_agrees_on_a_simulated_cohort(simulated: Path, segments: int | None, bcf_pipe: bool) -> None:
    """msprime genealogies, missing calls, males haploid on chrX, multi-allelic and unnormalised records."""
    path = simulated / "cohort.vcf.gz"
    stream = read_vcf(path, expected_build="GRCh38", segments=segments, bcf_pipe=bcf_pipe)
    assert counts_from_chunks(list(stream)) == count_alleles(path)
    sexes = simulated_sexes(simulated)
    assert {s.name: (s.x_ploidy, s.y_ploidy) for s in stream.samples} == {
        name: (1, 1) if sex == "male" else (2, 0) for name, sex in sexes.items()}


def test_simulated_trios_and_gvcfs_agree_with_the_oracle(simulated: Path) -> None:
    for path in sorted((simulated / "trios").glob("*.vcf.gz")):
        assert counts_from_chunks(read_all(path)) == count_alleles(path), path.name
    for path in sorted((simulated / "gvcf").glob("*.g.vcf.gz")):
        stream = read_vcf(path, expected_build="GRCh38")
        chunks = list(stream)
        assert stream.is_gvcf
        blocks = [c for c in chunks if isinstance(c, BlockChunk)]
        assert sum(len(b) for b in blocks) > 100
        # every variant a gVCF lists is one its sample carries
        assert all((c.gt_alt_count > 0).all() for c in chunks if isinstance(c, RecordChunk))


def test_messy_records_normalise_as_the_simulator_wrote_them(simulated: Path) -> None:
    """The simulator writes some records unnormalised and lists their normal form in messy.tsv:
    with its reference FASTA, every one of them present in a file comes out in that form."""
    reference = open_reference(simulated / "reference.fa", "GRCh38")
    written: set[tuple[str, int, str]] = set()
    normalised: set[tuple[str, int, str, str]] = set()
    files = [simulated / "cohort.vcf.gz", *sorted((simulated / "trios").glob("*.vcf.gz")),
             *sorted((simulated / "gvcf").glob("*.g.vcf.gz"))]
    left_aligned = 0
    for path in files:
        stream = read_vcf(path, expected_build="GRCh38", reference=reference)
        for chunk in stream:
            if isinstance(chunk, RecordChunk):
                normalised.update(zip(chunk.chrom, chunk.pos.tolist(), chunk.ref, chunk.alt, strict=True))
        left_aligned += stream.counts.left_aligned
        assert not stream.counts.left_alignment_skipped
        with gzip.open(path, "rt") as handle:
            for line in handle:
                if not line.startswith("#"):
                    fields = line.split("\t", 5)
                    written.add((fields[0], int(fields[1]), fields[3]))
    rows = [line.split("\t") for line in (simulated / "messy.tsv").read_text().splitlines()[1:]]
    present = [r for r in rows if (r[0], int(r[1]), r[2]) in written]
    assert len(present) > 20 and left_aligned > 0
    assert [r for r in present if (r[0], int(r[4]), r[5], r[6]) not in normalised] == []


def test_chunk_contract(tmp_path: Path) -> None:
    path = random_cohort(tmp_path / "cohort.vcf.gz", sites=200)
    stream = read_vcf(path, expected_build="GRCh38", chunk_size=64)
    for chunk in stream:
        assert isinstance(chunk, RecordChunk)
        n = len(chunk)
        assert chunk.pos.dtype == np.int32 and chunk.key.dtype == np.int64 and chunk.an.dtype == np.int32
        assert chunk.filter_pass.dtype == np.bool_ and len(chunk.filter_pass) == n
        for name, dtype in (("gt_record", np.int32), ("gt_sample", np.int32), ("gt_alt_count", np.int8),
                            ("gt_ploidy", np.int8), ("gt_gq", np.int16), ("gt_dp", np.int32),
                            ("gt_ad_ref", np.int32), ("gt_ad_alt", np.int32)):
            assert getattr(chunk, name).dtype == dtype, name
            assert len(getattr(chunk, name)) == len(chunk.gt_record)
        assert (np.diff(chunk.gt_record) >= 0).all()                       # rows in record order
        assert set(np.unique(chunk.gt_alt_count)) <= {MISSING, 1, 2}        # no hom-ref rows
        assert set(np.unique(chunk.gt_ploidy)) <= {1, 2}
        assert chunk.gt_record.min(initial=0) >= 0 and chunk.gt_record.max(initial=0) < n
        for i in range(n):
            assert chunk.key[i] == variant_key(chunk.chrom[i], int(chunk.pos[i]), chunk.ref[i], chunk.alt[i])
        assert set(chunk.chrom) <= {"chr1", "chrX", "chrY"}
    assert stream.counts.skipped_other_contigs == 1                 # the chrUn record
    assert stream.counts.multiallelic_split > 0 and stream.counts.trimmed > 0
    assert stream.counts.left_alignment_skipped
    assert any("monomorphic" in note for note in stream.counts.notes)
    assert any("half-missing" in note for note in stream.counts.notes)


def test_filter_and_format_values(tmp_path: Path) -> None:
    path = write_vcf(tmp_path / "f.vcf.gz", ["a", "b", "c"], [
        "chr1\t100\t.\tA\tG,T\t50\tLowQual\t.\tGT:GQ:DP:AD\t1/2:35:40:3,17,20\t0/0:50:30:30,0,0\t2/2:.:.:.",
        "chr1\t200\t.\tC\tA\t50\t.\t.\tGT:AD\t0|1:4,6\t./.:.\t1:0,9",
    ])
    chunk = read_all(path)[0]
    assert isinstance(chunk, RecordChunk)
    rows = list(zip(*(getattr(chunk, f).tolist() for f in ("gt_record", "gt_sample", "gt_alt_count", "gt_ploidy",
                                                           "gt_gq", "gt_dp", "gt_ad_ref", "gt_ad_alt")), strict=True))
    assert rows == [(0, 0, 1, 2, 35, 40, 3, 17),            # G record: the 1/2 sample, AD of REF and G
                    (1, 0, 1, 2, 35, 40, 3, 20),            # T record: the same sample, AD of T
                    (1, 2, 2, 2, -1, -1, -1, -1),           # the 2/2 sample, nothing of G
                    (2, 0, 1, 2, -1, -1, 4, 6),
                    (2, 1, MISSING, 2, -1, -1, -1, -1),
                    (2, 2, 1, 1, -1, -1, 0, 9)]             # haploid call
    assert chunk.filter_pass.tolist() == [False, False, True]   # "." is not a failed filter
    assert chunk.an.tolist() == [6, 6, 3]


def test_observed_ploidy_of_males_and_females(tmp_path: Path) -> None:
    path = random_cohort(tmp_path / "cohort.vcf.gz", males=3, females=2, sites=200)
    stream = read_vcf(path, expected_build="GRCh38")
    before = [(s.x_ploidy, s.y_ploidy) for s in stream.samples]
    assert before == [(2, 0)] * 5                                   # not known before reading
    list(stream)
    assert [(s.name, s.x_ploidy, s.y_ploidy) for s in stream.samples] == [
        ("M0", 1, 1), ("M1", 1, 1), ("M2", 1, 1), ("F0", 2, 0), ("F1", 2, 0)]


def test_sample_names_map_columns_to_catalog_labels(tmp_path: Path) -> None:
    path = random_cohort(tmp_path / "cohort.vcf.gz", males=1, females=1, sites=20)
    stream = read_vcf(path, expected_build="GRCh38", sample_names={"M0": "S-0001", "F0": "S-0002"})
    assert [(s.index, s.name) for s in stream.samples] == [(0, "S-0001"), (1, "S-0002")]
    stream.close()


def test_plain_text_vcf_is_read_too(tmp_path: Path) -> None:
    gz = random_cohort(tmp_path / "cohort.vcf.gz", sites=50)
    plain = tmp_path / "cohort.vcf"
    plain.write_bytes(gzip.decompress(gz.read_bytes()))
    assert counts_from_chunks(read_all(plain)) == count_alleles(gz)


def test_htslib_warnings_become_notes_not_stderr(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    path = write_vcf(tmp_path / "w.vcf.gz", ["a"], ["chr1\t100\t.\tA\tG\t50\tq10\t.\tGT\t0/1"])
    stream = read_vcf(path, expected_build="GRCh38")
    list(stream)
    captured = capfd.readouterr()
    assert "q10" not in captured.err
    assert any("FILTER 'q10' is not defined" in note for note in stream.counts.notes)


def test_stopping_early_releases_the_reader(tmp_path: Path) -> None:
    path = random_cohort(tmp_path / "cohort.vcf.gz", sites=300)
    stream = read_vcf(path, expected_build="GRCh38", chunk_size=10)
    for _chunk in stream:
        break
    with pytest.raises(StateError, match="already read"):
        list(stream)


# ----------------------------------------------------------------------------- normalisation in the reader

def regional_reference(tmp_path: Path, sequence: str, start: int = 1_000_001) -> Path:
    """A regional FASTA like the simulator's: one record named chr1:<start>-<end>, indexed."""
    fasta = tmp_path / "ref.fa"
    fasta.write_text(f">chr1:{start}-{start + len(sequence) - 1}\n{sequence}\n")
    pysam.faidx(str(fasta))
    return fasta


def test_left_alignment_against_a_fasta(tmp_path: Path) -> None:
    #          1000001: the AC repeat is at ...004-...012 after the anchor T at ...003
    sequence = "GTTACACACACAGGT" + "ACGT" * 10
    fasta = regional_reference(tmp_path, sequence)
    reference = open_reference(fasta, "GRCh38")
    path = write_vcf(tmp_path / "indel.vcf.gz", ["a", "b"], [
        "chr1\t1000010\t.\tACA\tA,ACACA\t50\tPASS\t.\tGT\t0/1\t1/2",     # CA deleted / inserted at the last copy
        "chr1\t1000014\t.\tG\tT\t50\tPASS\t.\tGT\t0/1\t0/0",
        "chr1\t5000000\t.\tCT\tC\t50\tPASS\t.\tGT\t0/1\t0/0",            # outside the reference's regions
    ])
    stream = read_vcf(path, expected_build="GRCh38", reference=reference)
    chunk = read_all(path, reference=reference)[0]
    assert isinstance(chunk, RecordChunk)
    assert list(zip(chunk.pos.tolist(), chunk.ref, chunk.alt, strict=True)) == [
        (1000003, "TAC", "T"), (1000003, "T", "TAC"), (1000014, "G", "T"), (5000000, "CT", "C")]
    list(stream)
    assert stream.counts.left_aligned == 2 and not stream.counts.left_alignment_skipped
    assert any("outside the reference" in note for note in stream.counts.notes)


def test_ref_mismatch_names_file_line_and_record(tmp_path: Path) -> None:
    fasta = regional_reference(tmp_path, "ACGTACGTACGT")
    path = write_vcf(tmp_path / "bad-ref.vcf.gz", ["a"], [
        "chr1\t1000001\t.\tA\tG\t50\tPASS\t.\tGT\t0/1",
        "chr1\t1000003\t.\tT\tC\t50\tPASS\t.\tGT\t0/1",
    ])
    with pytest.raises(ReferenceMismatchError, match=r"bad-ref\.vcf\.gz line 16: chr1:1000003 REF T does not "
                                                     r"match the reference \(G\)"):
        read_all(path, reference=open_reference(fasta, "GRCh38"))


# ----------------------------------------------------------------------------- gVCF

GVCF_RECORDS = [
    "chr1\t1000\t.\tA\t<NON_REF>\t.\t.\tEND=1999\tGT:DP:GQ:MIN_DP\t0/0:30:60:25",
    "chr1\t2000\t.\tC\tT,<NON_REF>\t50\tPASS\t.\tGT:AD:DP:GQ\t0/1:10,12,0:22:99",
    "chr1\t2001\t.\tG\t<NON_REF>\t.\t.\tEND=2100\tGT:DP:GQ:MIN_DP\t0/0:28:45:20",
    "chr1\t2101\t.\tA\tG,<NON_REF>\t.\t.\t.\tGT:AD:DP:GQ\t0/0:30,0,0:30:80",
    "chr1\t2102\t.\tT\t<NON_REF>\t.\t.\tEND=2200\tGT:DP:GQ:MIN_DP\t./.:0:0:0",
    "chr1\t2201\t.\tTA\tT,<NON_REF>\t.\t.\t.\tGT:AD:DP:GQ\t1/1:0,20,0:20:60",
    "chr1\t2202\t.\tC\tG,<NON_REF>\t.\t.\t.\tGT:AD:DP:GQ\t0/2:9,0,3:12:10",
    f"chrX\t{X_NONPAR}\t.\tA\t<NON_REF>\t.\t.\tEND={X_NONPAR + 100}\tGT:DP:GQ:MIN_DP\t0:15:40:10",
    f"chrX\t{X_NONPAR + 101}\t.\tG\tA,<NON_REF>\t.\t.\t.\tGT:AD:DP:GQ\t1:0,14,0:14:50",
]


def test_gvcf_reference_blocks_and_variants(tmp_path: Path) -> None:
    path = write_vcf(tmp_path / "s.g.vcf.gz", ["S1"], GVCF_RECORDS,
                     extra_header=('##ALT=<ID=NON_REF,Description="Any other allele">',))
    stream = read_vcf(path, expected_build="GRCh38")
    assert stream.is_gvcf
    chunks = list(stream)
    blocks = [c for c in chunks if isinstance(c, BlockChunk)]
    records = [c for c in chunks if isinstance(c, RecordChunk)]
    block_rows = [(c.chrom[i], int(c.start[i]), int(c.end[i]), int(c.min_dp[i]), int(c.gq[i]))
                  for c in blocks for i in range(len(c))]
    assert block_rows == [("chr1", 1000, 1999, 25, 60),
                          ("chr1", 2001, 2101, 20, 45),   # a block and the hom-ref call at 2101 after it, merged
                          ("chrX", X_NONPAR, X_NONPAR + 100, 10, 40)]
    assert all((c.sample == 0).all() for c in blocks)
    rows = [(c.chrom[i], int(c.pos[i]), c.ref[i], c.alt[i], int(c.an[i])) for c in records for i in range(len(c))]
    assert rows == [("chr1", 2000, "C", "T", 2), ("chr1", 2201, "TA", "T", 2), ("chrX", X_NONPAR + 101, "G", "A", 1)]
    record = records[0]
    assert record.gt_alt_count.tolist() == [1, 2, 1] and record.gt_ploidy.tolist() == [2, 2, 1]
    assert stream.samples[0].x_ploidy == 1
    assert any("no-call" in note for note in stream.counts.notes)


def chunk_values(chunks: list[RecordChunk | BlockChunk]) -> list[tuple[str, dict[str, object]]]:
    return [(type(c).__name__, {name: getattr(c, name).tolist() if isinstance(getattr(c, name), np.ndarray)
                                else getattr(c, name) for name in vars(c)}) for c in chunks]


def test_gvcf_fast_path_gives_the_same_chunks_as_cyvcf2(tmp_path: Path, simulated: Path) -> None:
    """Two independent readers of gVCFs (bcftools query + Arrow, and cyvcf2) agree on every value."""
    hand = write_vcf(tmp_path / "s.g.vcf.gz", ["S1"], [
        *GVCF_RECORDS,
        "chr1\t3000\t.\tAC\tA,ACC,<NON_REF>\t.\t.\t.\tGT:AD:DP:GQ\t1/2:1,9,8,0:18:70",
        "chr1\t3005\t.\tG\tT,<NON_REF>\t.\t.\t.\tGT:AD:DP:GQ\t./.:.:.:.",
        "chr1\t3006\t.\tG\t<NON_REF>\t.\t.\tEND=3010\tGT:DP:GQ:MIN_DP\t0/.:5:3:2",
        "chrUn_KI270302v1\t10\t.\tA\t<NON_REF>\t.\t.\tEND=20\tGT:DP:GQ:MIN_DP\t0/0:5:3:2"],
        extra_header=('##ALT=<ID=NON_REF,Description="Any other allele">',))
    for path in [hand, *sorted((simulated / "gvcf").glob("*.g.vcf.gz"))]:
        fast = read_vcf(path, expected_build="GRCh38", chunk_size=500)
        slow = read_vcf(path, expected_build="GRCh38", chunk_size=500, gvcf_fast_path=False)
        assert chunk_values(list(fast)) == chunk_values(list(slow)), path.name
        assert (fast.counts, fast.samples) == (slow.counts, slow.samples)
        assert sorted(p.name for p in path.parent.iterdir() if p.name.startswith(".genomed")) == []  # cleaned up


# Plain SNV lines mixed with every other kind: the fast path decodes the plain ones at once (one batch).
SNV_MIX = [
    "chr1\t1000001\t.\tG\t<NON_REF>\t.\t.\tEND=1000002\tGT:DP:GQ:MIN_DP\t0/0:30:60:25",
    "chr1\t1000003\t.\tt\ta,<NON_REF>\t50\tPASS\t.\tGT:AD:DP:GQ\t0/1:10,12,0:22:99",   # lower case
    "chr1\t1000004\t.\tA\tC\t50\tLowQual\t.\tGT:AD:DP:GQ\t1/1:.:22:40",               # no <NON_REF>, AD "."
    "chr1\t1000005\t.\tC\tA,T,<NON_REF>\t50\tPASS\t.\tGT:AD:DP:GQ\t1/2:0,5,6,0:11:30",  # multi-allelic
    "chr1\t1000006\t.\tG\tT,<NON_REF>\t50\t.\t.\tGT:AD:DP:GQ\t0|1:7:9:99999",         # one depth, big GQ
    "chr1\t1000007\t.\tTA\tT,<NON_REF>\t50\tPASS\t.\tGT:AD:DP:GQ\t0/1:4,4,0:8:20",     # an indel
    "chr1\t1000009\t.\tA\tG,<NON_REF>\t50\tPASS\t.\tGT:AD:DP:GQ\t0/2:4,0,4:8:20",      # <NON_REF> only
    "chr1\t1000010\t.\tC\tG,<NON_REF>\t50\tPASS\t.\tGT:AD:DP:GQ\t./.:.:.:.",           # no-call
    "chr1\t1000011\t.\tG\tA,*,<NON_REF>\t50\tPASS\t.\tGT:AD:DP:GQ\t1/2:0,3,3,0:6:9",   # spanning deletion
    "chr1\t1000012\t.\tT\tC,<NON_REF>\t50\tPASS\t.\tGT:DP:GQ\t1/1:5:15",                # no AD
    f"chrX\t{X_NONPAR}\t.\tA\tG,<NON_REF>\t.\t.\t.\tGT:AD:DP:GQ\t1:0,14,0:14:50",           # haploid
    f"chrX\t{X_NONPAR + 1}\t.\tC\tT,<NON_REF>\t.\t.\t.\tGT:AD:DP:GQ\t0:14,0,0:14:50",       # haploid ref
]


def test_plain_snvs_decoded_at_once_match_cyvcf2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from genomed.ingest import gvcf

    used: list[int] = []
    original = gvcf._Decoder._add_snvs

    def spy(self: gvcf._Decoder, decoded: object, rows: np.ndarray, *args: object) -> None:
        used.append(len(rows))
        original(self, decoded, rows, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(gvcf._Decoder, "_add_snvs", spy)
    path = write_vcf(tmp_path / "mix.g.vcf.gz", ["S1"], SNV_MIX,
                     extra_header=('##ALT=<ID=NON_REF,Description="Any other allele">',))
    fast = read_vcf(path, expected_build="GRCh38", chunk_size=4)
    slow = read_vcf(path, expected_build="GRCh38", chunk_size=4, gvcf_fast_path=False)
    assert chunk_values(list(fast)) == chunk_values(list(slow))
    assert (fast.counts, fast.samples) == (slow.counts, slow.samples)
    assert used == [5]   # lines 1000003, 1000004, 1000006, 1000012 and the haploid chrX one
    records = [c for c in read_vcf(path, expected_build="GRCh38") if isinstance(c, RecordChunk)]
    assert [(c.pos[i], c.ref[i], c.alt[i], c.key[i]) for c in records for i in range(len(c))][:2] == [
        (1000003, "T", "A", variant_key("chr1", 1000003, "T", "A")),
        (1000004, "A", "C", variant_key("chr1", 1000004, "A", "C"))]


def test_a_plain_snv_whose_ref_contradicts_the_reference_is_refused_in_line_order(tmp_path: Path) -> None:
    """REFs are checked in file order, whether a line was decoded at once or one by one."""
    fasta = regional_reference(tmp_path, "ACGTACGTACGT")     # 1000001..1000012
    records = [
        "chr1\t1000002\t.\tC\tT,<NON_REF>\t50\tPASS\t.\tGT:AD:DP:GQ\t0/1:3,3,0:6:20",     # right REF
        "chr1\t1000003\t.\tT\tA,<NON_REF>\t50\tPASS\t.\tGT:AD:DP:GQ\t0/1:3,3,0:6:20",     # wrong: G
        "chr1\t1000004\t.\tAC\tA,<NON_REF>\t50\tPASS\t.\tGT:AD:DP:GQ\t0/1:3,3,0:6:20",    # wrong too: TA
    ]
    path = write_vcf(tmp_path / "bad.g.vcf.gz", ["S1"], records,
                     extra_header=('##ALT=<ID=NON_REF,Description="Any other allele">',))
    messages = []
    for fast_path in (True, False):
        stream = read_vcf(path, expected_build="GRCh38", reference=open_reference(fasta, "GRCh38"),
                          gvcf_fast_path=fast_path)
        with pytest.raises(ReferenceMismatchError, match=r"line 17: chr1:1000003 REF T does not match") as caught:
            list(stream)
        messages.append(str(caught.value))
    assert messages[0] == messages[1]


def test_a_multi_sample_gvcf_is_refused(tmp_path: Path) -> None:
    path = write_vcf(tmp_path / "two.g.vcf.gz", ["S1", "S2"], [GVCF_RECORDS[0] + "\t0/0:30:60:25"])
    with pytest.raises(InputError, match="gVCF with 2 samples"):
        read_vcf(path, expected_build="GRCh38")


# ----------------------------------------------------------------------------- bad input

def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="not found"):
        read_vcf(tmp_path / "nope.vcf.gz", expected_build="GRCh38")


def test_truncated_bgzip_file_is_refused(tmp_path: Path) -> None:
    """A real file cut in the middle (an interrupted upload): no BGZF end-of-file marker."""
    data = needs(THOUSAND_GENOMES).read_bytes()
    cut = tmp_path / "cut.vcf.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(TruncatedFileError, match=r"cut\.vcf\.gz.*truncated"):
        read_vcf(cut, expected_build="GRCh38")


def bgzf_blocks(data: bytes) -> list[tuple[int, int]]:
    """(offset, size) of every BGZF block, from each block's BSIZE field."""
    blocks, offset = [], 0
    while offset < len(data):
        size = int.from_bytes(data[offset + 16:offset + 18], "little") + 1
        blocks.append((offset, size))
        offset += size
    return blocks


@pytest.mark.parametrize(("segments", "bcf_pipe"), [(1, False), (3, False), (None, True)])
def test_corrupt_block_in_the_middle_fails_while_streaming(tmp_path: Path, segments: int | None,
                                                           bcf_pipe: bool) -> None:
    """Damage that the end-of-file check cannot see is raised from inside the iteration, after the
    chunks before it were handed out, so the store can throw its staged batch away."""
    data = bytearray(needs(THOUSAND_GENOMES).read_bytes())
    assert data.endswith(BGZF_EOF)
    blocks = bgzf_blocks(bytes(data))
    offset, _size = blocks[len(blocks) * 2 // 3]
    data[offset + 30: offset + 60] = b"\x00" * 30      # deflate data and CRC no longer agree
    bad = tmp_path / "corrupt.vcf.gz"
    bad.write_bytes(bytes(data))
    stream = read_vcf(bad, expected_build="GRCh38", chunk_size=100, segments=segments, bcf_pipe=bcf_pipe)
    handed_out = 0
    with pytest.raises(MalformedVCFError, match=r"corrupt\.vcf\.gz.*line \d+ \(after chr22:\d+\)") as error:
        for _chunk in stream:
            handed_out += 1
    assert handed_out > 0
    assert isinstance(error.value, TruncatedFileError)


@pytest.fixture(scope="module")
def bad_position_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """The real 1000 Genomes file with a non-numeric POS on one line; that line's number."""
    lines = gzip.decompress(needs(THOUSAND_GENOMES).read_bytes()).decode().splitlines()
    header = sum(1 for line in lines if line.startswith("#"))
    target = header + 1500                                      # 1-based line number of the bad record
    fields = lines[target - 1].split("\t")
    fields[1] = "12x45"
    lines[target - 1] = "\t".join(fields)
    bad = tmp_path_factory.mktemp("bad") / "bad-pos.vcf"
    bad.write_text("\n".join(lines) + "\n")
    pysam.tabix_compress(str(bad), str(bad) + ".gz")
    return Path(str(bad) + ".gz"), target


@pytest.mark.parametrize(("segments", "bcf_pipe"), [(1, False), (3, False), (None, True)])
def test_malformed_record_names_the_line(bad_position_file: tuple[Path, int], thousand_genomes_truth: list[object],
                                         segments: int | None, bcf_pipe: bool) -> None:
    """Also when a bcftools child parses the file: it stops at the bad line and the text itself is read
    from there on, so what came out before the error is the file's first records, each once."""
    bad, target = bad_position_file
    stream = read_vcf(bad, expected_build="GRCh38", chunk_size=100, segments=segments, bcf_pipe=bcf_pipe)
    handed_out: list[tuple[str, int]] = []
    with pytest.raises(MalformedVCFError, match=rf"bad-pos\.vcf\.gz line {target} .*12x45"):
        for chunk in stream:
            assert isinstance(chunk, RecordChunk)
            handed_out.extend(zip(chunk.chrom, chunk.pos.tolist(), strict=True))
    assert 0 < len(handed_out) < 1500
    assert handed_out == [(t.chrom, t.pos) for t in thousand_genomes_truth[:len(handed_out)]]  # type: ignore[attr-defined]


def test_invalid_alt_allele_names_the_line(tmp_path: Path) -> None:
    path = write_vcf(tmp_path / "alt.vcf.gz", ["a"], ["chr1\t100\t.\tA\tG\t50\tPASS\t.\tGT\t0/1",
                                                      "chr1\t200\t.\tA\tQ1\t50\tPASS\t.\tGT\t0/1"])
    with pytest.raises(MalformedVCFError, match=r"alt\.vcf\.gz line 16: chr1:200 has an invalid ALT allele 'Q1'"):
        read_all(path)


def test_not_a_vcf(tmp_path: Path) -> None:
    path = tmp_path / "notes.vcf.gz"
    path.write_bytes(gzip.compress(b"hello\n"))
    with pytest.raises(MalformedVCFError, match="not '##fileformat=VCFv4.x'"):
        read_vcf(path, expected_build="GRCh38")


def test_wrong_build_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WrongBuildError, match=r"called on GRCh37 .* this node stores GRCh38"):
        read_vcf(needs(SCOUT_TRIO_GRCH37), expected_build="GRCh38")


def test_contig_lengths_of_no_known_build(tmp_path: Path) -> None:
    path = write_vcf(tmp_path / "odd.vcf.gz", ["a"], ["chr1\t100\t.\tA\tG\t50\tPASS\t.\tGT\t0/1"],
                     contigs={"chr1": 12345})
    with pytest.raises(WrongBuildError, match="match neither GRCh37 nor GRCh38"):
        read_vcf(path, expected_build="GRCh38")


def test_position_beyond_the_contig_of_an_undeclared_build(tmp_path: Path) -> None:
    """No ##contig lengths: accepted as the node's build, but a GRCh37 position past GRCh38's chr21 end is not."""
    path = write_vcf(tmp_path / "far.vcf.gz", ["a"], ["chr21\t48129000\t.\tA\tG\t50\tPASS\t.\tGT\t0/1"],
                     contigs={})
    with pytest.raises(WrongBuildError, match=r"line \d+: chr21:48129000 lies beyond the end of chr21 in GRCh38"):
        read_all(path)


def test_unknown_sample_is_refused(tmp_path: Path) -> None:
    path = random_cohort(tmp_path / "cohort.vcf.gz", males=1, females=2, sites=10)
    with pytest.raises(UnknownSampleError, match=r"1 sample column\(s\) match no catalog sample: F1"):
        read_vcf(path, expected_build="GRCh38", sample_names={"M0": "S1", "F0": "S2"})


def test_read_twice_is_refused(tmp_path: Path) -> None:
    path = random_cohort(tmp_path / "cohort.vcf.gz", sites=10)
    stream = read_vcf(path, expected_build="GRCh38")
    list(stream)
    with pytest.raises(StateError):
        list(stream)


def test_the_shared_file_is_not_modified(tmp_path: Path) -> None:
    """Reading never writes next to the input (no index files created in the vault's directory)."""
    copy = tmp_path / "copy.vcf.gz"
    shutil.copy(needs(SCOUT_TRIO_GRCH37), copy)
    read_all(copy, expected_build="GRCh37")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.vcf.gz"]
