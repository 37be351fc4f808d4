"""One single-sample gVCF's share of a batch: its variant records, sparse genotypes and coverage runs.

Why coverage *runs*: a gVCF describes where its sample was called as reference blocks, cut by the
caller wherever the genotype quality band or the depth changed — hundreds of thousands of blocks
per exome, tens of millions per genome — and the calls between them. An allele number only asks
whether the sample was called at a position, so the store keeps the union of a sample's blocks and
called positions as maximal runs of adjacent positions: on the simulated cohorts some 1,400 rows per
sample instead of 280,000, which the store writes, and queries load, in a fraction of the time.
Each run keeps the least depth and genotype quality of the blocks merged into it (a lower bound at
every position it covers; -1 when no block gave one), as a gVCF block does for its own positions.

The rows of a sample are gathered here, one file at a time (in the ingesting process or in a
forked worker, see :func:`genomed.store.ingestion.stream_into_batch`), and handed to
:class:`genomed.store.writer.BatchWriter` as one compact :class:`GvcfSampleRows`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from genomed.ingest.chunks import MISSING, BlockChunk, RecordChunk
from genomed.store.keys import contig_code, contig_name
from genomed.store.layout import GENOTYPES_SCHEMA

RECORD_COLUMNS = pa.schema([
    ("key", pa.int64()), ("chrom", pa.string()), ("pos", pa.int32()), ("ref", pa.string()), ("alt", pa.string()),
    ("filter_pass", pa.bool_()),
])
COVERAGE_SCHEMA = pa.schema([
    ("chrom", pa.string()), ("start", pa.int32()), ("end", pa.int32()), ("min_dp", pa.int32()), ("gq", pa.int16()),
])
_UNKNOWN = np.iinfo(np.int64).max   # stands for -1 while minima are taken
_NAMES = np.array(["", *(contig_name(code) for code in range(1, 26))], dtype=object)


def merge_runs(codes: npt.NDArray[Any], start: npt.NDArray[Any], end: npt.NDArray[Any], min_dp: npt.NDArray[Any],
               gq: npt.NDArray[Any]) -> tuple[npt.NDArray[np.int64], ...]:
    """The union of one sample's intervals (any order, 1-based inclusive) as maximal runs.

    Intervals that overlap or touch (``start == previous end + 1``) on one contig become one run,
    whose ``min_dp`` and ``gq`` are the least known (non-negative) values merged into it, or -1.
    Returns (codes, start, end, min_dp, gq) of the runs, sorted by contig code and start.

    >>> runs = merge_runs(*(np.array(v) for v in ([1, 1, 1, 2], [1, 11, 31, 5], [10, 20, 40, 9],
    ...                                            [30, 20, -1, 5], [60, -1, 50, 9])))
    >>> [r.tolist() for r in runs]
    [[1, 1, 2], [1, 31, 5], [20, 40, 9], [20, -1, 5], [60, 50, 9]]
    """
    if len(start) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, empty, empty
    packed_start = (codes.astype(np.int64) << 32) | start.astype(np.int64)
    order = np.argsort(packed_start, kind="stable")
    packed_start = packed_start[order]
    packed_end = (codes[order].astype(np.int64) << 32) | end[order].astype(np.int64)
    # A run goes on while an interval starts at most one past the furthest end so far (on its contig:
    # the contig code sits in the high bits, so a new contig always starts a run).
    reach = np.maximum.accumulate(packed_end)
    first = np.ones(len(order), dtype=bool)
    first[1:] = packed_start[1:] > reach[:-1] + 1
    heads = np.flatnonzero(first)
    tails = np.r_[heads[1:], len(order)] - 1

    def least(values: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
        known = np.where(values[order] >= 0, values[order].astype(np.int64), _UNKNOWN)
        lowest = np.minimum.reduceat(known, heads)
        return np.where(lowest == _UNKNOWN, -1, lowest)

    return (packed_start[heads] >> 32, packed_start[heads] & 0xFFFFFFFF, reach[tails] & 0xFFFFFFFF,
            least(min_dp), least(gq))


@dataclass
class GvcfSampleRows:
    """What one single-sample gVCF adds to a batch; small enough to pass between processes.

    ``genotypes`` has the columns of the store's genotypes table, ``sample`` being the sample's
    index in the batch (the writer turns it into the catalog id); ``coverage`` holds its runs.
    """

    index: int
    records: pa.Table            # RECORD_COLUMNS: the records the sample carries, in file order
    genotypes: pa.Table
    coverage: pa.Table           # COVERAGE_SCHEMA
    records_read: int            # records and sparse genotype rows handed in (the batch's counters)
    genotypes_read: int


class GvcfSampleCollector:
    """Gathers the chunks of one gVCF (one sample) and merges its coverage into runs at the end."""

    def __init__(self, index: int) -> None:
        self.index = index
        self._records: list[pa.Table] = []
        self._genotypes: list[pa.Table] = []
        self._intervals: list[tuple[npt.NDArray[Any], ...]] = []   # codes, start, end, min_dp, gq
        self._records_read = 0
        self._genotypes_read = 0

    def add(self, chunk: RecordChunk | BlockChunk) -> None:
        if isinstance(chunk, BlockChunk):
            self.add_blocks(chunk)
        else:
            self.add_records(chunk)

    def add_blocks(self, chunk: BlockChunk) -> None:
        """Reference blocks of this sample (the chunk's ``sample`` column is not read)."""
        if len(chunk) == 0:
            return
        self._intervals.append((contig_codes(chunk.chrom), chunk.start, chunk.end, chunk.min_dp, chunk.gq))

    def add_records(self, chunk: RecordChunk) -> None:
        """Records the sample carries; every position where it was called is coverage too.

        Split alleles of one record share a position; the union makes that one position once.
        """
        if len(chunk) == 0:
            return
        self._records_read += len(chunk)
        self._genotypes_read += len(chunk.gt_record)
        chrom = pa.array(chunk.chrom, pa.string())
        self._records.append(pa.table({
            "key": pa.array(chunk.key, pa.int64()), "chrom": chrom, "pos": pa.array(chunk.pos, pa.int32()),
            "ref": pa.array(chunk.ref, pa.string()), "alt": pa.array(chunk.alt, pa.string()),
            "filter_pass": pa.array(chunk.filter_pass, pa.bool_()),
        }, schema=RECORD_COLUMNS))
        self._genotypes.append(pa.table({
            "key": pa.array(chunk.key[chunk.gt_record], pa.int64()),
            "pos": pa.array(chunk.pos[chunk.gt_record], pa.int32()),
            "sample": pa.array(np.full(len(chunk.gt_record), self.index), pa.int32()),
            "alt_count": pa.array(chunk.gt_alt_count, pa.int8()), "ploidy": pa.array(chunk.gt_ploidy, pa.int8()),
            "gq": pa.array(chunk.gt_gq, pa.int16()), "dp": pa.array(chunk.gt_dp, pa.int32()),
            "ad_ref": pa.array(chunk.gt_ad_ref, pa.int32()), "ad_alt": pa.array(chunk.gt_ad_alt, pa.int32()),
        }, schema=GENOTYPES_SCHEMA))
        missing = np.zeros(len(chunk), dtype=bool)
        missing[chunk.gt_record[chunk.gt_alt_count == MISSING]] = True
        called = np.flatnonzero((chunk.an > 0) & ~missing)
        if len(called):
            positions = chunk.pos[called]
            unknown = np.full(len(called), -1, dtype=np.int32)
            self._intervals.append((contig_codes(chrom.take(pa.array(called))), positions, positions, unknown, unknown))

    def rows(self) -> GvcfSampleRows:
        """The sample's rows, coverage merged into runs."""
        if self._intervals:
            codes, start, end, min_dp, gq = merge_runs(*(np.concatenate(column) for column in zip(*self._intervals,
                                                                                                  strict=True)))
        else:
            codes = start = end = min_dp = gq = np.zeros(0, dtype=np.int64)
        coverage = pa.table({
            "chrom": pa.array(_NAMES[codes], pa.string()), "start": pa.array(start, pa.int32()),
            "end": pa.array(end, pa.int32()), "min_dp": pa.array(np.clip(min_dp, -1, 2**31 - 1), pa.int32()),
            "gq": pa.array(np.clip(gq, -1, 32767), pa.int16()),
        }, schema=COVERAGE_SCHEMA)
        records = pa.concat_tables(self._records) if self._records else RECORD_COLUMNS.empty_table()
        genotypes = pa.concat_tables(self._genotypes) if self._genotypes else GENOTYPES_SCHEMA.empty_table()
        self._records, self._genotypes, self._intervals = [], [], []
        return GvcfSampleRows(self.index, records, genotypes, coverage, self._records_read, self._genotypes_read)


def contig_codes(chroms: list[str] | pa.Array | pa.ChunkedArray) -> npt.NDArray[np.int64]:
    """The contig code of every row, computed once per distinct name (a column holds a handful)."""
    encoded = pc.dictionary_encode(pa.array(chroms, pa.string()) if isinstance(chroms, list) else chroms)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    lookup = np.array([contig_code(str(c)) for c in encoded.dictionary.to_pylist()], dtype=np.int64)
    return np.asarray(lookup[encoded.indices.to_numpy(zero_copy_only=False)], dtype=np.int64)
