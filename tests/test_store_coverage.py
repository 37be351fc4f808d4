"""gVCF coverage merged into runs: the union of a sample's blocks and calls, checked position by position."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from genomed.ingest.chunks import BatchSample, BlockChunk, RecordChunk
from genomed.store.coverage import merge_runs
from genomed.store.keys import variant_key
from genomed.store.layout import read_manifest
from genomed.store.query import VariantStore
from genomed.store.writer import BatchWriter

BUILD = "GRCh38"


@pytest.mark.parametrize("seed", range(5))
def test_runs_cover_exactly_the_union_of_the_intervals(seed: int) -> None:
    """Against a set of covered positions: overlapping, nested, touching and separate intervals."""
    rng = np.random.default_rng(seed)
    n = 400
    codes = rng.choice([1, 2, 23], n)
    start = rng.integers(1, 2_000, n)
    end = start + rng.integers(0, 30, n)
    min_dp = np.where(rng.random(n) < 0.2, -1, rng.integers(0, 60, n))
    gq = np.where(rng.random(n) < 0.2, -1, rng.integers(0, 99, n))
    r_codes, r_start, r_end, r_dp, r_gq = merge_runs(codes, start, end, min_dp, gq)

    def positions(c: np.ndarray, s: np.ndarray, e: np.ndarray) -> set[tuple[int, int]]:
        return {(int(ci), p) for ci, si, ei in zip(c, s, e, strict=True) for p in range(int(si), int(ei) + 1)}

    assert positions(r_codes, r_start, r_end) == positions(codes, start, end)
    order = np.lexsort((r_start, r_codes))
    assert (order == np.arange(len(order))).all()
    same = r_codes[1:] == r_codes[:-1]
    assert (r_start[1:][same] > r_end[:-1][same] + 1).all()     # maximal: no two runs touch or overlap
    for c, s, e, dp, q in zip(r_codes, r_start, r_end, r_dp, r_gq, strict=True):
        inside = (codes == c) & (start >= s) & (end <= e)
        known_dp, known_gq = min_dp[inside][min_dp[inside] >= 0], gq[inside][gq[inside] >= 0]
        assert dp == (known_dp.min() if len(known_dp) else -1)
        assert q == (known_gq.min() if len(known_gq) else -1)


def test_a_call_inside_a_reference_block_counts_its_sample_once(tmp_path: Path) -> None:
    """Regression: a variant line overlapping a block (some callers write them) once gave AN 4 for one diploid
    sample, because coverage was the count of blocks containing the position."""
    writer = BatchWriter(tmp_path, source="gvcf", genome_build=BUILD, sample_ids=[5], input_sha256=["e" * 64])
    writer.add_records(RecordChunk(
        chrom=["chr1"], pos=np.array([1500], dtype=np.int32), ref=["A"], alt=["G"],
        key=np.array([variant_key("chr1", 1500, "A", "G")], dtype=np.int64), an=np.array([2], dtype=np.int32),
        filter_pass=np.array([True]), gt_record=np.array([0], dtype=np.int32), gt_sample=np.array([0], dtype=np.int32),
        gt_alt_count=np.array([1], dtype=np.int8), gt_ploidy=np.array([2], dtype=np.int8),
        gt_gq=np.array([50], dtype=np.int16), gt_dp=np.array([20], dtype=np.int32),
        gt_ad_ref=np.array([10], dtype=np.int32), gt_ad_alt=np.array([10], dtype=np.int32)), sample_index=0)
    writer.add_blocks(BlockChunk(sample=np.zeros(3, dtype=np.int32), chrom=["chr1"] * 3,
                                 start=np.array([1000, 1200, 1501], dtype=np.int32),
                                 end=np.array([1199, 1600, 1700], dtype=np.int32),
                                 min_dp=np.array([30, 12, 25], dtype=np.int32),
                                 gq=np.array([60, 20, 40], dtype=np.int16)))
    writer.finish([BatchSample(0, "S5")]).commit()
    store = VariantStore(tmp_path, BUILD)
    assert (store.variant("chr1", 1500, "A", "G").ac, store.variant("chr1", 1500, "A", "G").an) == (1, 2)
    assert [(r["ac"], r["an"]) for r in store.subcohort_frequencies({5}).to_pylist()] == [(1, 2)]
    # the three blocks and the call are one run, with the least depth and quality of its blocks
    files = read_manifest(tmp_path).files("blocks")
    rows = [row for f in files for row in pq.read_table(tmp_path / f).to_pylist()]
    assert rows == [{"sample": 5, "chrom": "chr1", "start": 1000, "end": 1700, "min_dp": 12, "gq": 20}]


def test_runs_are_cut_at_bin_boundaries(tmp_path: Path) -> None:
    """A run across a 10 Mb bin boundary is stored as one row per partition, each within its bin."""
    writer = BatchWriter(tmp_path, source="gvcf", genome_build=BUILD, sample_ids=[9], input_sha256=["d" * 64])
    writer.add_blocks(BlockChunk(sample=np.zeros(2, dtype=np.int32), chrom=["chr2"] * 2,
                                 start=np.array([9_999_000, 10_000_001], dtype=np.int32),
                                 end=np.array([10_000_000, 10_002_000], dtype=np.int32),
                                 min_dp=np.array([10, 11], dtype=np.int32), gq=np.array([30, 31], dtype=np.int16)))
    writer.finish([BatchSample(0, "S9")]).commit()
    files = sorted(read_manifest(tmp_path).files("blocks"))
    assert [f.split("/")[2] for f in files] == ["bin=0000", "bin=0001"]
    rows = [(r["start"], r["end"]) for f in files for r in pq.read_table(tmp_path / f).to_pylist()]
    assert rows == [(9_999_000, 9_999_999), (10_000_000, 10_002_000)]
    store = VariantStore(tmp_path, BUILD)
    assert store.variant("chr2", 10_000_000, "A", "G").an == 2
