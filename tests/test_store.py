"""The variant store against a dense, obviously correct oracle.

Random cohorts are built as dense genotype matrices (with no-calls, haploid male chrX and several
alleles per position); the store receives them as sparse chunks, exactly as ingestion would hand
them over, and every query must agree with counts taken straight from the dense matrix, including
consent exclusions and sub-cohorts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from genomed.errors import DuplicateError, InputError
from genomed.ingest.chunks import MISSING, BatchSample, BlockChunk, RecordChunk
from genomed.store.compact import compact
from genomed.store.keys import variant_key
from genomed.store.layout import read_manifest
from genomed.store.ploidy import expected_ploidy
from genomed.store.query import VariantStore
from genomed.store.writer import BatchWriter, revert_batch

BUILD = "GRCh38"


@dataclass
class DenseCohort:
    """Sites and a dense matrix of alt-allele counts: -1 no-call, else 0..ploidy."""

    chrom: list[str]
    pos: np.ndarray
    ref: list[str]
    alt: list[str]
    alt_count: np.ndarray      # (sites, samples)
    ploidy: np.ndarray         # (sites, samples)
    sample_ids: list[int]
    x_ploidy: list[int]
    y_ploidy: list[int]

    def oracle(self, i: int, include: set[int]) -> tuple[int, int, int, int]:
        """(AC, AN, hom-alt, hemi-alt) of site i over the included samples."""
        ac = an = hom = hemi = 0
        for j, sample in enumerate(self.sample_ids):
            a, p = int(self.alt_count[i, j]), int(self.ploidy[i, j])
            if sample not in include or a < 0 or p == 0:
                continue
            ac += a
            an += p
            hom += a == 2
            hemi += a == 1 and p == 1
        return ac, an, hom, hemi


def random_cohort(rng: np.random.Generator, n_samples: int, n_sites: int, first_id: int) -> DenseCohort:
    males = rng.random(n_samples) < 0.5
    chrom, pos, ref, alt = [], [], [], []
    positions = {"chr1": 1_000_000, "chr2": 5_000_000, "chrX": 40_000_000, "chrY": 7_000_000}
    for _ in range(n_sites):
        c = str(rng.choice(list(positions)))
        positions[c] += int(rng.integers(1, 20_000))
        # sometimes a second allele at the same position (a split multi-allelic)
        for allele in ["G", "T"][: 1 + int(rng.random() < 0.2)]:
            chrom.append(c)
            pos.append(positions[c])
            ref.append("A")
            alt.append(allele)
    n = len(chrom)
    ploidy = np.array([[expected_ploidy(BUILD, c, p, 1 if m else 2, 1 if m else 0) for m in males]
                       for c, p in zip(chrom, pos, strict=True)], dtype=np.int8)
    frequency = rng.beta(0.3, 8, size=(n, 1))
    alt_count = rng.binomial(ploidy.astype(np.int64), frequency).astype(np.int8)
    alt_count[rng.random((n, n_samples)) < 0.03] = MISSING
    alt_count[np.ix_(np.array([c == "chrY" for c in chrom]), ~males)] = MISSING  # women: "." on chrY, as in VCFs
    codes = {"chr1": 1, "chr2": 2, "chrX": 23, "chrY": 24}
    order = np.lexsort((np.array(alt), np.array(pos), np.array([codes[c] for c in chrom])))
    return DenseCohort([chrom[i] for i in order], np.array(pos)[order], [ref[i] for i in order],
                       [alt[i] for i in order], alt_count[order], ploidy[order],
                       list(range(first_id, first_id + n_samples)), [1 if m else 2 for m in males],
                       [1 if m else 0 for m in males])


def as_chunk(cohort: DenseCohort, rows: np.ndarray, columns: np.ndarray | None = None) -> RecordChunk:
    """The sparse form ingestion produces: non-reference and missing calls only."""
    columns = np.arange(cohort.alt_count.shape[1]) if columns is None else columns
    sub = cohort.alt_count[np.ix_(rows, columns)]
    ploidy = cohort.ploidy[np.ix_(rows, columns)]
    record, sample = np.nonzero(sub != 0)
    called = (sub >= 0) * ploidy
    return RecordChunk(
        chrom=[cohort.chrom[i] for i in rows], pos=cohort.pos[rows].astype(np.int32),
        ref=[cohort.ref[i] for i in rows], alt=[cohort.alt[i] for i in rows],
        key=np.array([variant_key(cohort.chrom[i], int(cohort.pos[i]), cohort.ref[i], cohort.alt[i]) for i in rows],
                     dtype=np.int64),
        an=called.sum(axis=1).astype(np.int32), filter_pass=np.ones(len(rows), dtype=bool),
        gt_record=record.astype(np.int32), gt_sample=sample.astype(np.int32),
        gt_alt_count=sub[record, sample].astype(np.int8),
        gt_ploidy=np.maximum(ploidy[record, sample], 1).astype(np.int8),  # a no-call "." is written haploid
        gt_gq=np.full(len(record), 60, dtype=np.int16), gt_dp=np.full(len(record), 30, dtype=np.int32),
        gt_ad_ref=np.full(len(record), 15, dtype=np.int32), gt_ad_alt=np.full(len(record), 15, dtype=np.int32),
    )


def batch_samples(cohort: DenseCohort) -> list[BatchSample]:
    return [BatchSample(index=j, name=f"S{sid}", x_ploidy=cohort.x_ploidy[j], y_ploidy=cohort.y_ploidy[j])
            for j, sid in enumerate(cohort.sample_ids)]


def ingest_vcf(root: Path, cohort: DenseCohort, digest: str, chunk: int = 37) -> None:
    writer = BatchWriter(root, source="vcf", genome_build=BUILD, sample_ids=cohort.sample_ids,
                         input_sha256=[digest])
    for start in range(0, len(cohort.chrom), chunk):
        writer.add_records(as_chunk(cohort, np.arange(start, min(start + chunk, len(cohort.chrom)))))
    writer.finish(batch_samples(cohort)).commit()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261126)


def test_point_queries_agree_with_the_dense_oracle(tmp_path: Path, rng: np.random.Generator) -> None:
    cohort = random_cohort(rng, n_samples=40, n_sites=150, first_id=1)
    ingest_vcf(tmp_path, cohort, "a" * 64)
    store = VariantStore(tmp_path, BUILD)
    everyone = set(cohort.sample_ids)
    for i in range(len(cohort.chrom)):
        got = store.variant(cohort.chrom[i], int(cohort.pos[i]), cohort.ref[i], cohort.alt[i])
        assert (got.ac, got.an, got.n_hom_alt, got.n_hemi_alt) == cohort.oracle(i, everyone), i


def test_consent_exclusions_remove_samples_from_counts_and_carriers(tmp_path: Path, rng: np.random.Generator) -> None:
    cohort = random_cohort(rng, n_samples=30, n_sites=120, first_id=100)
    ingest_vcf(tmp_path, cohort, "b" * 64)
    files_before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.parquet"))
    store = VariantStore(tmp_path, BUILD)
    excluded = set(cohort.sample_ids[::4])
    kept = set(cohort.sample_ids) - excluded
    for i in range(len(cohort.chrom)):
        got = store.variant(cohort.chrom[i], int(cohort.pos[i]), cohort.ref[i], cohort.alt[i], exclude=excluded)
        assert (got.ac, got.an, got.n_hom_alt, got.n_hemi_alt) == cohort.oracle(i, kept), i
        carriers = store.carriers(cohort.chrom[i], int(cohort.pos[i]), cohort.ref[i], cohort.alt[i], exclude=excluded)
        expected = sorted(cohort.sample_ids[j] for j in range(30)
                          if cohort.alt_count[i, j] > 0 and cohort.sample_ids[j] in kept)
        assert [c.sample for c in carriers] == expected
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.parquet")) == files_before  # nothing rewritten


def test_subcohort_frequencies_equal_point_queries(tmp_path: Path, rng: np.random.Generator) -> None:
    first = random_cohort(rng, n_samples=25, n_sites=100, first_id=1)
    second = random_cohort(rng, n_samples=20, n_sites=100, first_id=500)
    ingest_vcf(tmp_path, first, "c" * 64)
    ingest_vcf(tmp_path, second, "d" * 64)
    store = VariantStore(tmp_path, BUILD)
    subset = set(first.sample_ids[::2]) | set(second.sample_ids[1::3])
    table = store.subcohort_frequencies(subset).to_pylist()
    assert len(table) == len({(c, p, r, a) for co in (first, second)
                               for c, p, r, a in zip(co.chrom, co.pos, co.ref, co.alt, strict=True)})
    everyone = set(first.sample_ids) | set(second.sample_ids)
    for row in table:
        point = store.variant(row["chrom"], row["pos"], row["ref"], row["alt"], exclude=everyone - subset)
        assert (row["ac"], row["an"], row["n_hom_alt"], row["n_hemi_alt"]) == (
            point.ac, point.an, point.n_hom_alt, point.n_hemi_alt), row


def test_allele_number_counts_only_batches_that_observed_a_site(tmp_path: Path, rng: np.random.Generator) -> None:
    first = random_cohort(rng, n_samples=10, n_sites=30, first_id=1)
    ingest_vcf(tmp_path, first, "e" * 64)
    store = VariantStore(tmp_path, BUILD)
    site = store.variant("chr1", 999, "A", "C")  # a position nobody listed
    assert (site.ac, site.an, site.batches_unknown) == (0, 0, 1)


def test_gvcf_reference_blocks_give_allele_numbers_everywhere(tmp_path: Path) -> None:
    """Two single-sample gVCFs: one carries a variant, the other is covered by a block (or not)."""
    writer = BatchWriter(tmp_path, source="gvcf", genome_build=BUILD, sample_ids=[7, 8], input_sha256=["f" * 64])
    variant = RecordChunk(
        chrom=["chr1"], pos=np.array([1500], dtype=np.int32), ref=["A"], alt=["G"],
        key=np.array([variant_key("chr1", 1500, "A", "G")], dtype=np.int64), an=np.array([2], dtype=np.int32),
        filter_pass=np.array([True]), gt_record=np.array([0], dtype=np.int32), gt_sample=np.array([0], dtype=np.int32),
        gt_alt_count=np.array([1], dtype=np.int8), gt_ploidy=np.array([2], dtype=np.int8),
        gt_gq=np.array([50], dtype=np.int16), gt_dp=np.array([20], dtype=np.int32),
        gt_ad_ref=np.array([10], dtype=np.int32), gt_ad_alt=np.array([10], dtype=np.int32))
    writer.add_records(variant, sample_index=0)
    writer.add_blocks(BlockChunk(sample=np.array([0, 1, 1], dtype=np.int32), chrom=["chr1"] * 3,
                                 start=np.array([1, 1, 1600], dtype=np.int32),
                                 end=np.array([1499, 1550, 3000], dtype=np.int32),
                                 min_dp=np.array([20, 20, 20], dtype=np.int32),
                                 gq=np.array([40, 40, 40], dtype=np.int16)))
    samples = [BatchSample(0, "S7"), BatchSample(1, "S8")]
    writer.finish(samples).commit()
    store = VariantStore(tmp_path, BUILD)
    assert (store.variant("chr1", 1500, "A", "G").ac, store.variant("chr1", 1500, "A", "G").an) == (1, 4)
    assert store.variant("chr1", 1580, "A", "G").an == 0      # in nobody's block: not covered, not "reference"
    assert store.variant("chr1", 1700, "C", "T").an == 2      # only sample 8 is covered there
    assert store.variant("chr1", 1500, "A", "G", exclude={7}).an == 2
    assert store.variant("chr1", 1500, "A", "G", exclude={8}).an == 2
    table = store.subcohort_frequencies({8}).to_pylist()
    assert [(r["ac"], r["an"]) for r in table] == [(0, 2)]


def test_a_failed_or_duplicate_ingest_leaves_the_store_as_it_was(tmp_path: Path, rng: np.random.Generator) -> None:
    cohort = random_cohort(rng, n_samples=8, n_sites=40, first_id=1)
    ingest_vcf(tmp_path, cohort, "1" * 64)
    manifest_before = (tmp_path / "manifest.json").read_text()
    files_before = sorted(tmp_path.rglob("*.parquet"))
    # same input again
    with pytest.raises(DuplicateError, match="already ingested"):
        ingest_vcf(tmp_path, cohort, "1" * 64)
    # same samples from another file
    with pytest.raises(DuplicateError, match="already in the variant store"):
        ingest_vcf(tmp_path, cohort, "2" * 64)
    # a batch abandoned half-way (the reader raised): nothing visible, staging cleaned
    writer = BatchWriter(tmp_path, source="vcf", genome_build=BUILD, sample_ids=[900], input_sha256=["3" * 64])
    writer.add_records(as_chunk(cohort, np.arange(0, 10), np.array([0])))
    writer.abort()
    assert (tmp_path / "manifest.json").read_text() == manifest_before
    assert sorted(tmp_path.rglob("*.parquet")) == files_before
    assert not any((tmp_path / "staging").iterdir())


def test_revert_removes_a_committed_batch(tmp_path: Path, rng: np.random.Generator) -> None:
    first = random_cohort(rng, n_samples=5, n_sites=20, first_id=1)
    second = random_cohort(rng, n_samples=5, n_sites=20, first_id=50)
    ingest_vcf(tmp_path, first, "4" * 64)
    ingest_vcf(tmp_path, second, "5" * 64)
    writer = BatchWriter(tmp_path, source="vcf", genome_build=BUILD, sample_ids=[777], input_sha256=["6" * 64])
    writer.add_records(as_chunk(second, np.arange(0, 10), np.array([0])))
    staged = writer.finish([BatchSample(0, "S777")])
    staged.commit()
    batch = staged.entry.batch_id
    revert_batch(tmp_path, staged)
    manifest = read_manifest(tmp_path)
    assert batch not in [b.batch_id for b in manifest.batches] and len(manifest.batches) == 2
    assert not list(tmp_path.rglob(f"*{batch}*.parquet"))
    assert json.loads((tmp_path / "manifests" / "000004.json").read_text())["version"] == 4
    store = VariantStore(tmp_path, BUILD)
    assert store.sample_ids() == set(first.sample_ids) | set(second.sample_ids)


def test_compaction_merges_files_and_changes_no_answer(tmp_path: Path, rng: np.random.Generator) -> None:
    cohorts = [random_cohort(rng, n_samples=6, n_sites=40, first_id=100 * k) for k in range(1, 5)]
    for k, cohort in enumerate(cohorts):
        ingest_vcf(tmp_path, cohort, f"{k}" * 64, chunk=7)
    store = VariantStore(tmp_path, BUILD)
    excluded = {cohorts[0].sample_ids[0], cohorts[2].sample_ids[3]}
    queries = [(c.chrom[i], int(c.pos[i]), c.ref[i], c.alt[i]) for c in cohorts for i in range(0, 40, 3)]
    before = [store.variant(*q, exclude=excluded) for q in queries]
    subset = {s for c in cohorts for s in c.sample_ids[::2]}
    sub_before = store.subcohort_frequencies(subset)
    result = compact(tmp_path)
    assert result.files_after < result.files_before
    assert [store.variant(*q, exclude=excluded) for q in queries] == before
    assert store.subcohort_frequencies(subset).equals(sub_before)
    assert {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.parquet")
            if "samples" not in p.parts} == {p for t in ("sites", "genotypes", "blocks")
                                             for p in read_manifest(tmp_path).files(t)}


def test_partitions_flushed_early_give_the_same_answers(tmp_path: Path, rng: np.random.Generator,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Bounded memory: a partition flushed in many parts answers exactly like one written whole."""
    import genomed.store.writer as writer_module

    monkeypatch.setattr(writer_module, "FLUSH_GENOTYPE_ROWS", 25)
    cohort = random_cohort(rng, n_samples=30, n_sites=120, first_id=1)
    ingest_vcf(tmp_path, cohort, "7" * 64, chunk=11)
    assert len(read_manifest(tmp_path).files("genotypes")) > 8
    store = VariantStore(tmp_path, BUILD)
    everyone = set(cohort.sample_ids)
    for i in range(len(cohort.chrom)):
        got = store.variant(cohort.chrom[i], int(cohort.pos[i]), cohort.ref[i], cohort.alt[i])
        assert (got.ac, got.an, got.n_hom_alt, got.n_hemi_alt) == cohort.oracle(i, everyone), i


def test_carriers_agree_with_the_oracle_across_row_groups_and_batches(
        tmp_path: Path, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tiny row groups make one variant's rows span several groups, of two files.
    monkeypatch.setattr("genomed.store.writer.GENOTYPE_ROW_GROUP_ROWS", 7)
    late = random_cohort(rng, n_samples=20, n_sites=60, first_id=500)
    # The same sites again in a second batch of other samples, so most variants have rows in two files.
    perm = rng.permutation(20)
    early = replace(late, alt_count=late.alt_count[:, perm], ploidy=late.ploidy[:, perm], sample_ids=list(range(1, 21)),
                    x_ploidy=[late.x_ploidy[k] for k in perm], y_ploidy=[late.y_ploidy[k] for k in perm])
    ingest_vcf(tmp_path, late, "e" * 64)   # the higher sample ids come first on disk
    ingest_vcf(tmp_path, early, "f" * 64)
    store = VariantStore(tmp_path, BUILD)
    excluded = {3, 7, 505}
    spans_files = False
    for cohort in (late, early):
        for i in range(len(cohort.chrom)):
            variant = (cohort.chrom[i], int(cohort.pos[i]), cohort.ref[i], cohort.alt[i])
            expected = []
            for other in (late, early):
                same = [j for j in range(len(other.chrom)) if (other.chrom[j], int(other.pos[j]), other.ref[j],
                                                               other.alt[j]) == variant]
                for j in same:
                    expected += [(other.sample_ids[k], int(other.alt_count[j, k]), int(other.ploidy[j, k]),
                                  60, 30, 15, 15) for k in range(len(other.sample_ids))
                                 if other.alt_count[j, k] > 0 and other.sample_ids[k] not in excluded]
            expected.sort()
            spans_files = spans_files or len({e[0] >= 500 for e in expected}) == 2
            got = store.carriers(*variant, exclude=excluded)
            assert got == expected, variant
            assert list(got) == expected and len(got) == len(expected)
            assert got.samples.tolist() == [e[0] for e in expected]
            assert got.column("gq").tolist() == [60] * len(expected)
            if expected:
                assert got[0] == expected[0] and got[-1].sample == expected[-1][0]
                assert got[1:3] == expected[1:3]
    assert spans_files


def test_carriers_are_read_only_columns_with_named_fields(tmp_path: Path, rng: np.random.Generator) -> None:
    cohort = random_cohort(rng, n_samples=30, n_sites=40, first_id=1)
    ingest_vcf(tmp_path, cohort, "g" * 64)
    store = VariantStore(tmp_path, BUILD)
    i = int(np.argmax((cohort.alt_count > 0).sum(axis=1)))
    got = store.carriers(cohort.chrom[i], int(cohort.pos[i]), cohort.ref[i], cohort.alt[i])
    assert len(got) > 1 and got[0]._fields[0] == "sample"
    with pytest.raises(ValueError):
        got.samples[0] = 99  # numpy's own error: the columns are read-only
    with pytest.raises(InputError, match="no field 'genotype'"):
        got.column("genotype")
    assert store.carriers("chr1", 1, "A", "C") == [] and len(store.carriers("chr1", 1, "A", "C")) == 0
