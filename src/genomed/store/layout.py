"""The variant store on disk: plain Parquet files, partitioned like Hive, listed by a manifest.

::

    STORE/
      manifest.json                      the live version: batches and their files (atomically replaced)
      manifests/000042.json              every committed version, kept for audit and rollback
      sites/chrom=chr1/bin=0012/b-<batch>-<part>.parquet
      genotypes/chrom=chr1/bin=0012/b-<batch>-<part>.parquet
      blocks/chrom=chr1/bin=0012/b-<batch>-<part>.parquet      (gVCF batches: coverage runs)
      samples/b-<batch>.parquet
      staging/<batch>/sites~chrom=chr1~bin=0012~b-<batch>-<part>.parquet
                                         a batch being written, flat; invisible until committed

* ``sites``: one row per variant per batch, sorted by key: key, chrom, pos, ref, alt, batch, ac, an,
  n_het, n_hom_alt, n_hemi_alt, n_missing, filter_pass. ``batch`` keeps rows of different batches
  apart after compaction has merged their files. ``an`` counts the called alleles of the
  batch's samples at the site (for a gVCF batch, every sample whose reference block or call covers it).
* ``genotypes``: the sparse genotypes: one row per non-reference or missing call, sorted by key and
  sample: key, pos, sample, alt_count (1, 2, or -1 for a no-call), ploidy, gq, dp, ad_ref, ad_alt.
* ``blocks``: a gVCF sample's coverage, cut at bin boundaries: sample, chrom, start, end (1-based,
  inclusive), min_dp, gq. A row is a *run* (since genomed 0.1.0; same format version): the union of
  the sample's adjacent or overlapping reference blocks and called positions (a call, reference or
  not, covers its position), so a sample's rows never overlap and never touch within a bin;
  ``min_dp`` and ``gq`` are the least depth and GQ of the blocks merged into the run (a lower bound
  at each of its positions; -1 when none was given). Batches written before hold one row per block
  and one-base rows at calls; they read the same way (no migration), except where a call lay inside
  one of the sample's blocks: there the old batch's ``an`` counted the sample twice, which only
  re-ingesting that batch corrects.
* ``samples``: the batch's samples: sample (catalog sample id), label, x_ploidy, y_ploidy, source.

The manifest separates the logical batches (samples, input digests, provenance) from the physical
files, so compaction can merge many small files into one per partition without changing meaning.

``bin`` is ``pos // BIN_SIZE``; the ``chrom=…/bin=…`` directories are Hive partitions, so DuckDB,
Spark or any Arrow engine reads the same files with partition pruning. Only files named in the
manifest are live: readers never glob, so a half-written batch is never seen, and an ingest that
fails leaves the store exactly as it was.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from genomed.errors import IntegrityViolationError

BIN_SIZE = 10_000_000
FORMAT_VERSION = 1
TABLES = ("sites", "genotypes", "blocks")

SITES_SCHEMA = pa.schema([
    ("key", pa.int64()), ("chrom", pa.string()), ("pos", pa.int32()), ("ref", pa.string()), ("alt", pa.string()),
    ("batch", pa.string()), ("ac", pa.int32()), ("an", pa.int32()), ("n_het", pa.int32()), ("n_hom_alt", pa.int32()),
    ("n_hemi_alt", pa.int32()), ("n_missing", pa.int32()), ("filter_pass", pa.bool_()),
])
GENOTYPES_SCHEMA = pa.schema([
    ("key", pa.int64()), ("pos", pa.int32()), ("sample", pa.int32()), ("alt_count", pa.int8()),
    ("ploidy", pa.int8()), ("gq", pa.int16()), ("dp", pa.int32()), ("ad_ref", pa.int32()), ("ad_alt", pa.int32()),
])
BLOCKS_SCHEMA = pa.schema([
    ("sample", pa.int32()), ("chrom", pa.string()), ("start", pa.int32()), ("end", pa.int32()),
    ("min_dp", pa.int32()), ("gq", pa.int16()),
])
SAMPLES_SCHEMA = pa.schema([
    ("sample", pa.int32()), ("label", pa.string()), ("x_ploidy", pa.int8()), ("y_ploidy", pa.int8()),
    ("source", pa.string()),
])
SCHEMAS = {"sites": SITES_SCHEMA, "genotypes": GENOTYPES_SCHEMA, "blocks": BLOCKS_SCHEMA}


def partition_dir(table: str, chrom: str, bin_number: int) -> str:
    """The Hive partition directory of a table, relative to the store root."""
    return f"{table}/chrom={chrom}/bin={bin_number:04d}"


@dataclass
class BatchEntry:
    """One committed batch: what it came from and who is in it (its rows carry its ``batch_id``)."""

    batch_id: str
    source: str                   # "vcf" or "gvcf"
    input_sha256: list[str]       # plaintext digests of the input files (refuses a second ingest)
    genome_build: str
    samples: list[int]            # catalog sample ids
    committed_at: str
    samples_file: str = ""
    records: int = 0
    genotypes: int = 0
    provenance: dict[str, Any] = field(default_factory=dict)


@dataclass
class Manifest:
    """The live version of the store."""

    version: int = 0
    format_version: int = FORMAT_VERSION
    genome_build: str = ""
    batches: list[BatchEntry] = field(default_factory=list)
    tables: dict[str, list[str]] = field(default_factory=dict)   # table -> live files, relative paths

    def files(self, table: str) -> list[str]:
        return list(self.tables.get(table, []))

    def sample_ids(self) -> set[int]:
        return {s for batch in self.batches for s in batch.samples}

    def input_digests(self) -> dict[str, str]:
        return {digest: batch.batch_id for batch in self.batches for digest in batch.input_sha256}

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @staticmethod
    def from_json(text: str, where: str) -> Manifest:
        try:
            raw = json.loads(text)
            batches = [BatchEntry(**b) for b in raw.pop("batches")]
            manifest = Manifest(**raw, batches=batches)
        except (ValueError, TypeError, KeyError) as exc:
            raise IntegrityViolationError(f"variant store manifest {where} is damaged: {exc}") from exc
        if manifest.format_version != FORMAT_VERSION:
            raise IntegrityViolationError(f"variant store format {manifest.format_version} is not supported "
                                          f"(this genomed reads format {FORMAT_VERSION})")
        return manifest


def new_batch_id() -> str:
    return uuid.uuid4().hex[:16]


def read_manifest(root: Path) -> Manifest:
    """The live manifest, or an empty one for a new store."""
    path = root / "manifest.json"
    if not path.exists():
        return Manifest()
    return Manifest.from_json(path.read_text(), str(path))


def write_manifest(root: Path, manifest: Manifest) -> None:
    """Publish a new version: write it under ``manifests/``, fsync, then atomically replace the live one."""
    (root / "manifests").mkdir(parents=True, exist_ok=True)
    text = manifest.to_json()
    versioned = root / "manifests" / f"{manifest.version:06d}.json"
    _write_durably(versioned, text)
    temporary = root / f".manifest.{uuid.uuid4().hex}.tmp"
    _write_durably(temporary, text)
    os.replace(temporary, root / "manifest.json")
    _fsync_dir(root)


def _write_durably(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
