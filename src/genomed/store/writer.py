"""Writing one batch into the variant store: stage every file, then publish them with the manifest.

A multi-sample VCF streams through in bounded memory: rows are buffered per Hive partition
(contig, 10 Mb bin) and a partition is written, sorted by key, once the input has moved past it.
A batch of single-sample gVCFs is assembled in memory, because a site's allele number needs every
sample's coverage: each sample's reference blocks and called positions are first merged into runs
(:mod:`genomed.store.coverage`: a few thousand rows per sample where its gVCF had hundreds of
thousands of lines), then the batch's sites, genotypes and runs are written at :meth:`BatchWriter.finish`.

Nothing is visible until :meth:`StagedBatch.commit` moves the staged files into their partitions
and atomically replaces the manifest; a failure at any earlier point leaves the store untouched.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from genomed.db.base import utcnow
from genomed.errors import DuplicateError, InputError, IntegrityViolationError
from genomed.ingest.chunks import MISSING, BatchSample, BlockChunk, RecordChunk
from genomed.store.coverage import GvcfSampleCollector, GvcfSampleRows, contig_codes
from genomed.store.keys import contig_name
from genomed.store.layout import (
    BIN_SIZE,
    BLOCKS_SCHEMA,
    GENOTYPES_SCHEMA,
    SAMPLES_SCHEMA,
    SITES_SCHEMA,
    BatchEntry,
    Manifest,
    new_batch_id,
    partition_dir,
    read_manifest,
    write_manifest,
)
from genomed.store.ploidy import expected_ploidy_array

# A left-aligned indel can move a little before the record that preceded it; a partition is
# flushed only once the input is this far past its end, and a rare later row gets its own part.
FLUSH_MARGIN = 100_000
# A partition whose buffered genotypes pass this many rows is written as a part at once, so memory
# stays bounded however many samples a VCF has (a partition may then hold several parts).
FLUSH_GENOTYPE_ROWS = 2_000_000
ROW_GROUP_ROWS = 131_072
# Genotype files are read a row group at a time to find a variant's carriers: small groups keep
# that read to a few milliseconds; their min/max key statistics say which group to read.
GENOTYPE_ROW_GROUP_ROWS = 16_384

Partition = tuple[int, int]  # (contig code, bin)


@contextlib.contextmanager
def store_lock(root: Path) -> Iterator[None]:
    """An exclusive lock on the store's manifest, held while a new version is published."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_parquet(table: pa.Table, path: Path, row_group_size: int = ROW_GROUP_ROWS) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    dictionary = [c for c in ("chrom", "ref", "alt", "batch", "label", "source") if c in table.column_names]
    pq.write_table(table, path, compression="zstd", compression_level=3, row_group_size=row_group_size,
                   use_dictionary=dictionary, write_statistics=True)


def sort_table(table: pa.Table, keys: list[str]) -> pa.Table:
    return table.take(pc.sort_indices(table, sort_keys=[(k, "ascending") for k in keys]))


def site_counts(chunk: RecordChunk) -> dict[str, npt.NDArray[np.int32]]:
    """AC, het, hom-alt, hemizygous-alt and missing counts per record, from the sparse genotypes."""
    n = len(chunk)
    rec, alt, ploidy = chunk.gt_record, chunk.gt_alt_count, chunk.gt_ploidy
    carried = alt > 0

    def count(mask: npt.NDArray[np.bool_], weights: npt.NDArray[Any] | None = None) -> npt.NDArray[np.int32]:
        return np.bincount(rec[mask], weights=None if weights is None else weights[mask],
                           minlength=n).astype(np.int32)

    return {
        "ac": count(carried, alt.astype(np.int64)),
        "n_het": count(carried & (alt == 1) & (ploidy == 2)),
        "n_hom_alt": count(alt == 2),
        "n_hemi_alt": count((alt == 1) & (ploidy == 1)),
        "n_missing": count(alt == MISSING),
    }


@dataclass
class StagedBatch:
    """A fully written batch waiting in staging: commit it or discard it."""

    root: Path
    entry: BatchEntry
    staging: Path
    files: dict[str, list[str]]

    def commit(self) -> Manifest:
        """Publish the batch: move its files into place and replace the manifest, under the store lock."""
        moved: list[Path] = []
        with store_lock(self.root):
            try:
                manifest = read_manifest(self.root)
                check_admissible(manifest, self.entry.input_sha256, self.entry.samples, self.entry.genome_build)
                made: set[Path] = set()
                for relative in [*(p for paths in self.files.values() for p in paths), self.entry.samples_file]:
                    target = self.root / relative
                    if target.parent not in made:
                        target.parent.mkdir(parents=True, exist_ok=True)
                        made.add(target.parent)
                    os.replace(staged_path(self.staging, relative), target)
                    moved.append(target)
                self.entry.committed_at = utcnow().isoformat()
                tables = {t: [*manifest.files(t), *self.files.get(t, [])] for t in {*manifest.tables, *self.files}}
                published = Manifest(version=manifest.version + 1, genome_build=self.entry.genome_build,
                                     batches=[*manifest.batches, self.entry], tables=tables)
                write_manifest(self.root, published)
            except BaseException:
                for path in moved:
                    path.unlink(missing_ok=True)
                self.discard()
                raise
        self.discard()
        return published

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


def staged_path(staging: Path, relative: str) -> Path:
    """Where a batch's file waits until its commit: flat in the batch's staging folder, named after its place.

    Why flat: a batch touches hundreds of partitions, and a staging tree of partition folders would be
    hundreds of folders to create and then remove after the commit has moved their files out.
    """
    return staging / relative.replace("/", "~")


def check_admissible(manifest: Manifest, input_sha256: list[str], samples: list[int], genome_build: str) -> None:
    """Refuse a batch whose input was already ingested, whose samples are already stored, or of another build.

    Called before reading a file (so a duplicate costs nothing) and again under the lock at commit.
    """
    if manifest.genome_build and manifest.genome_build != genome_build:
        raise InputError(f"the variant store holds {manifest.genome_build} data; this input is {genome_build}")
    digests = manifest.input_digests()
    for digest in input_sha256:
        if digest in digests:
            raise DuplicateError(f"this file (sha256 {digest[:12]}…) was already ingested, in batch {digests[digest]}")
    present = manifest.sample_ids() & set(samples)
    if present:
        raise DuplicateError(f"sample(s) {sorted(present)} are already in the variant store; remove or replace "
                             "their batch first")


def revert_batch(root: Path, staged: StagedBatch) -> Manifest:
    """Publish a manifest without a just-committed batch (undo a commit whose catalog transaction failed)."""
    batch_id = staged.entry.batch_id
    own = {p for paths in staged.files.values() for p in paths}
    with store_lock(root):
        manifest = read_manifest(root)
        if not own <= {p for t in manifest.tables for p in manifest.files(t)}:
            raise IntegrityViolationError(f"batch {batch_id} was compacted since its commit; it cannot be reverted")
        kept = [b for b in manifest.batches if b.batch_id != batch_id]
        tables = {t: [p for p in manifest.files(t) if p not in own] for t in manifest.tables}
        published = Manifest(version=manifest.version + 1, genome_build=manifest.genome_build if kept else "",
                             batches=kept, tables=tables)
        write_manifest(root, published)
    for path in [*own, staged.entry.samples_file]:
        (root / path).unlink(missing_ok=True)
    return published


@dataclass
class _Buffers:
    sites: dict[Partition, list[pa.Table]] = field(default_factory=lambda: defaultdict(list))
    genotypes: dict[Partition, list[pa.Table]] = field(default_factory=lambda: defaultdict(list))


class BatchWriter:
    """Turns a stream of chunks into the staged files of one batch."""

    def __init__(self, root: Path, *, source: str, genome_build: str, sample_ids: Sequence[int],
                 input_sha256: list[str], provenance: dict[str, Any] | None = None) -> None:
        if source not in ("vcf", "gvcf"):
            raise InputError(f"batch source must be vcf or gvcf, not {source!r}")
        self.root = root
        self.source = source
        self.genome_build = genome_build
        self.batch_id = new_batch_id()
        self.staging = root / "staging" / self.batch_id
        self.staging.mkdir(parents=True, exist_ok=False)
        self._sample_ids = np.asarray(sample_ids, dtype=np.int32)
        self._input_sha256 = input_sha256
        self._provenance = provenance or {}
        self._files: dict[str, list[str]] = defaultdict(list)
        self._parts: dict[tuple[str, Partition], int] = defaultdict(int)
        self._flushed: set[Partition] = set()
        self._buffers = _Buffers()
        self._records = 0
        self._genotypes = 0
        # gVCF batches are assembled whole (see module docstring): per sample, its rows once gathered
        # (coverage merged into runs), or the collector still gathering them from chunks.
        self._gvcf_samples: list[GvcfSampleRows] = []
        self._collectors: dict[int, GvcfSampleCollector] = {}

    # -- input ---------------------------------------------------------------------------------

    def add_records(self, chunk: RecordChunk, sample_index: int | None = None) -> None:
        """Take a chunk of records; for a gVCF, ``sample_index`` names the file's one sample."""
        if len(chunk) == 0:
            return
        if self.source == "gvcf":
            if sample_index is None:
                raise InputError("a gVCF chunk needs the index of the sample its file belongs to")
            self._collector(sample_index).add_records(chunk)
            return
        self._records += len(chunk)
        self._genotypes += len(chunk.gt_record)
        genotypes = pa.table({
            "key": pa.array(chunk.key[chunk.gt_record], pa.int64()),
            "pos": pa.array(chunk.pos[chunk.gt_record], pa.int32()),
            "sample": pa.array(self._sample_ids[chunk.gt_sample], pa.int32()),
            "alt_count": pa.array(chunk.gt_alt_count, pa.int8()),
            "ploidy": pa.array(chunk.gt_ploidy, pa.int8()),
            "gq": pa.array(chunk.gt_gq, pa.int16()),
            "dp": pa.array(chunk.gt_dp, pa.int32()),
            "ad_ref": pa.array(chunk.gt_ad_ref, pa.int32()),
            "ad_alt": pa.array(chunk.gt_ad_alt, pa.int32()),
        }, schema=GENOTYPES_SCHEMA)
        counts = site_counts(chunk)
        sites = pa.table({
            "key": pa.array(chunk.key, pa.int64()), "chrom": pa.array(chunk.chrom, pa.string()),
            "pos": pa.array(chunk.pos, pa.int32()), "ref": pa.array(chunk.ref, pa.string()),
            "alt": pa.array(chunk.alt, pa.string()), "batch": pa.array([self.batch_id] * len(chunk), pa.string()),
            "ac": counts["ac"], "an": pa.array(chunk.an, pa.int32()),
            "n_het": counts["n_het"], "n_hom_alt": counts["n_hom_alt"], "n_hemi_alt": counts["n_hemi_alt"],
            "n_missing": counts["n_missing"], "filter_pass": pa.array(chunk.filter_pass, pa.bool_()),
        }, schema=SITES_SCHEMA)
        record_partition = self._partitions_of(chunk.key)
        for partition in np.unique(record_partition):
            code, bin_number = divmod(int(partition), 1 << 20)
            mask = record_partition == partition
            self._buffers.sites[(code, bin_number)].append(sites.filter(pa.array(mask)))
            self._buffers.genotypes[(code, bin_number)].append(genotypes.filter(pa.array(mask[chunk.gt_record])))
        last_code = int(chunk.key[-1] >> 58)
        self._flush_behind(last_code, int(chunk.pos[-1]))
        for partition, tables in list(self._buffers.genotypes.items()):
            if sum(t.num_rows for t in tables) > FLUSH_GENOTYPE_ROWS:
                self._flush(partition)

    def add_blocks(self, chunk: BlockChunk) -> None:
        """Take gVCF reference blocks (of one or several samples)."""
        if self.source != "gvcf":
            raise InputError("reference blocks belong to a gVCF batch")
        if len(chunk) == 0:
            return
        for index in np.unique(chunk.sample):
            rows = np.flatnonzero(chunk.sample == index)
            part = chunk if len(rows) == len(chunk) else BlockChunk(
                sample=chunk.sample[rows], chrom=[chunk.chrom[i] for i in rows.tolist()], start=chunk.start[rows],
                end=chunk.end[rows], min_dp=chunk.min_dp[rows], gq=chunk.gq[rows])
            self._collector(int(index)).add_blocks(part)

    def end_sample(self, sample_index: int) -> None:
        """The chunks of a gVCF sample are all in: merge its coverage now (its raw blocks are let go)."""
        collector = self._collectors.pop(sample_index, None)
        if collector is not None:
            self.add_gvcf_sample(collector.rows())

    def add_gvcf_sample(self, rows: GvcfSampleRows) -> None:
        """Take one gVCF sample's rows, gathered elsewhere (e.g. in a forked worker)."""
        if self.source != "gvcf":
            raise InputError("a gVCF sample belongs to a gVCF batch")
        self._records += rows.records_read
        self._genotypes += rows.genotypes_read
        self._gvcf_samples.append(rows)

    def _collector(self, sample_index: int) -> GvcfSampleCollector:
        collector = self._collectors.get(sample_index)
        if collector is None:
            collector = self._collectors[sample_index] = GvcfSampleCollector(sample_index)
        return collector

    @staticmethod
    def _partitions_of(keys: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        codes = keys >> 58
        bins = ((keys >> 30) & ((1 << 28) - 1)) // BIN_SIZE
        return np.asarray((codes << 20) | bins, dtype=np.int64)

    # -- multi-sample VCF: streaming partitions ------------------------------------------------

    def _flush_behind(self, code: int, pos: int) -> None:
        for partition in list(self._buffers.sites):
            p_code, p_bin = partition
            if p_code < code or (p_code == code and (p_bin + 1) * BIN_SIZE + FLUSH_MARGIN <= pos):
                self._flush(partition)

    def _flush(self, partition: Partition) -> None:
        sites = pa.concat_tables(self._buffers.sites.pop(partition))
        genotypes = pa.concat_tables(self._buffers.genotypes.pop(partition))
        self._write("sites", partition, sort_table(sites, ["key"]))
        if genotypes.num_rows:
            self._write("genotypes", partition, sort_table(genotypes, ["key", "sample"]))

    def _write(self, table: str, partition: Partition, data: pa.Table) -> None:
        code, bin_number = partition
        part = self._parts[(table, partition)]
        self._parts[(table, partition)] += 1
        relative = f"{partition_dir(table, contig_name(code), bin_number)}/b-{self.batch_id}-{part:03d}.parquet"
        write_parquet(data, staged_path(self.staging, relative),
                      GENOTYPE_ROW_GROUP_ROWS if table == "genotypes" else ROW_GROUP_ROWS)
        self._files[table].append(relative)

    # -- gVCF batches ----------------------------------------------------------------------------

    def _finish_gvcf(self, samples: list[BatchSample]) -> None:
        for index in list(self._collectors):
            self.end_sample(index)
        parts = self._gvcf_samples
        ids = [int(self._sample_ids[rows.index]) for rows in parts]
        blocks = pa.concat_tables([
            pa.table({"sample": pa.array(np.full(rows.coverage.num_rows, sample_id), pa.int32()),
                      **{name: rows.coverage.column(name) for name in rows.coverage.column_names}},
                     schema=BLOCKS_SCHEMA)
            for rows, sample_id in zip(parts, ids, strict=True)]) if parts else BLOCKS_SCHEMA.empty_table()
        genotypes = (pa.concat_tables([rows.genotypes.set_column(
            2, "sample", pa.array(np.full(rows.genotypes.num_rows, sample_id), pa.int32()))
            for rows, sample_id in zip(parts, ids, strict=True)]) if parts else GENOTYPES_SCHEMA.empty_table())
        records = pa.concat_tables([rows.records for rows in parts]) if parts else None
        self._gvcf_samples = []
        ploidy_of = {int(self._sample_ids[s.index]): (s.x_ploidy, s.y_ploidy) for s in samples}
        if records is not None and records.num_rows:
            # Sorted once by key: a partition (contig, bin) is then a run of rows, written as a slice.
            sites = _gvcf_sites(records, genotypes, blocks, ploidy_of, self.genome_build, self.batch_id)
            genotypes = sort_table(genotypes, ["key", "sample"])
            for table, rows in (("sites", sites), ("genotypes", genotypes)):
                for partition, start, stop in _runs(self._partitions_of(rows.column("key").to_numpy())):
                    self._write(table, divmod(partition, 1 << 20), rows.slice(start, stop - start))
        for place, part in _split_blocks_by_bin(blocks):
            self._write("blocks", place, part)

    # -- output ----------------------------------------------------------------------------------

    def finish(self, samples: list[BatchSample]) -> StagedBatch:
        """Write what is still buffered and the samples table; the batch is then ready to commit."""
        if self.source == "gvcf":
            self._finish_gvcf(samples)
        else:
            for partition in list(self._buffers.sites):
                self._flush(partition)
        samples_table = pa.table({
            "sample": pa.array([int(self._sample_ids[s.index]) for s in samples], pa.int32()),
            "label": pa.array([s.name for s in samples], pa.string()),
            "x_ploidy": pa.array([s.x_ploidy for s in samples], pa.int8()),
            "y_ploidy": pa.array([s.y_ploidy for s in samples], pa.int8()),
            "source": pa.array([self.source] * len(samples), pa.string()),
        }, schema=SAMPLES_SCHEMA)
        samples_file = f"samples/b-{self.batch_id}.parquet"
        write_parquet(samples_table, staged_path(self.staging, samples_file))
        entry = BatchEntry(batch_id=self.batch_id, source=self.source, input_sha256=self._input_sha256,
                           genome_build=self.genome_build, samples=[int(self._sample_ids[s.index]) for s in samples],
                           committed_at="", samples_file=samples_file,
                           records=self._records, genotypes=self._genotypes, provenance=self._provenance)
        return StagedBatch(root=self.root, entry=entry, staging=self.staging, files=dict(self._files))

    def abort(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


def _runs(values: npt.NDArray[np.int64]) -> list[tuple[int, int, int]]:
    """(value, start, stop) of each run of equal values in a sorted array."""
    if not len(values):
        return []
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    stops = np.r_[starts[1:], len(values)]
    return [(int(values[a]), int(a), int(b)) for a, b in zip(starts, stops, strict=True)]


def _split_blocks_by_bin(blocks: pa.Table) -> list[tuple[Partition, pa.Table]]:
    """Blocks cut at bin boundaries, so each partition holds exactly the coverage of its positions.

    Each partition's rows come ordered by start and sample (a partition holds one contig). A block
    across a boundary becomes one piece per bin it touches.
    """
    if blocks.num_rows == 0:
        return []
    start = blocks.column("start").to_numpy().astype(np.int64)
    end = blocks.column("end").to_numpy().astype(np.int64)
    first_bin = start // BIN_SIZE
    pieces = end // BIN_SIZE - first_bin + 1
    row = np.repeat(np.arange(len(start)), pieces)
    bin_of = first_bin[row] + np.arange(len(row)) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    piece_start = np.maximum(start[row], np.maximum(bin_of * BIN_SIZE, 1))
    piece_end = np.minimum(end[row], (bin_of + 1) * BIN_SIZE - 1)
    codes = contig_codes(blocks.column("chrom"))[row]
    order = np.lexsort((blocks.column("sample").to_numpy()[row], piece_start, bin_of, codes))
    table = blocks.take(pa.array(row[order]))
    table = table.set_column(2, "start", pa.array(piece_start[order], pa.int32()))
    table = table.set_column(3, "end", pa.array(piece_end[order], pa.int32()))
    return [(divmod(partition, 1 << 20), table.slice(lo, hi - lo))
            for partition, lo, hi in _runs(((codes << 20) | bin_of)[order])]


def covered_counts(blocks: pa.Table, chrom: str, positions: npt.NDArray[np.int32],
                   samples: npt.NDArray[np.int32] | None = None) -> dict[int, npt.NDArray[np.int32]]:
    """For each sample id, whether it is covered (0/1) at each position of one contig.

    Blocks of one sample never overlap, so #(blocks starting at or before p) − #(blocks ending
    before p) is 1 exactly when p lies in one of them; this is two binary searches per sample.
    """
    on_chrom = blocks.filter(pc.equal(blocks.column("chrom"), chrom))
    sample_col = on_chrom.column("sample").to_numpy()
    starts, ends = on_chrom.column("start").to_numpy(), on_chrom.column("end").to_numpy()
    result: dict[int, npt.NDArray[np.int32]] = {}
    for sample in np.unique(sample_col) if samples is None else samples:
        mask = sample_col == sample
        s, e = np.sort(starts[mask]), np.sort(ends[mask])
        result[int(sample)] = (np.searchsorted(s, positions, side="right")
                               - np.searchsorted(e, positions, side="left")).astype(np.int32)
    return result


def _gvcf_sites(records: pa.Table, genotypes: pa.Table, blocks: pa.Table, ploidy_of: dict[int, tuple[int, int]],
                build: str, batch_id: str) -> pa.Table:
    """Sites of a gVCF batch: counts from the genotypes, allele numbers from every sample's coverage."""
    first = records.group_by("key", use_threads=False).aggregate(
        [("chrom", "first"), ("pos", "first"), ("ref", "first"), ("alt", "first"), ("filter_pass", "max")])
    first = sort_table(first, ["key"])
    keys = first.column("key").to_numpy()
    g_key = genotypes.column("key").to_numpy()
    alt = genotypes.column("alt_count").to_numpy()
    ploidy = genotypes.column("ploidy").to_numpy()
    index = np.searchsorted(keys, g_key)
    n = len(keys)

    def count(mask: npt.NDArray[np.bool_], weights: npt.NDArray[Any] | None = None) -> npt.NDArray[np.int32]:
        return np.bincount(index[mask], weights=None if weights is None else weights[mask],
                           minlength=n).astype(np.int32)

    carried = alt > 0
    an = np.zeros(n, dtype=np.int64)
    chroms = np.array(first.column("chrom_first").to_pylist(), dtype=object)
    positions = first.column("pos_first").to_numpy().astype(np.int32)
    for chrom in np.unique(chroms):
        on = chroms == chrom
        for sample, covered in covered_counts(blocks, str(chrom), positions[on]).items():
            x_ploidy, y_ploidy = ploidy_of.get(sample, (2, 0))
            an[on] += covered * expected_ploidy_array(build, str(chrom), positions[on], x_ploidy, y_ploidy)
    return pa.table({
        "key": pa.array(keys, pa.int64()), "chrom": first.column("chrom_first"), "pos": first.column("pos_first"),
        "ref": first.column("ref_first"), "alt": first.column("alt_first"),
        "batch": pa.array([batch_id] * n, pa.string()), "ac": count(carried, alt.astype(np.int64)),
        "an": pa.array(an.astype(np.int32), pa.int32()),
        "n_het": count(carried & (alt == 1) & (ploidy == 2)), "n_hom_alt": count(alt == 2),
        "n_hemi_alt": count((alt == 1) & (ploidy == 1)), "n_missing": count(alt == MISSING),
        "filter_pass": first.column("filter_pass_max"),
    }, schema=SITES_SCHEMA)
