"""Compaction: merge the many small files that appends leave into one file per partition.

Each ingest adds its own files to every partition it touches; after hundreds of batches a query
opens hundreds of files. Compaction rewrites each partition's files as one, sorted, and publishes
the new file list with a manifest swap. Rows keep their ``batch`` column and samples keep their
batch, so counts and allele numbers mean exactly what they meant before; only the files change.
Superseded files are deleted after the swap (a reader reloads its index on its next query).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from genomed.store.layout import SCHEMAS, Manifest, new_batch_id, read_manifest, write_manifest
from genomed.store.writer import GENOTYPE_ROW_GROUP_ROWS, ROW_GROUP_ROWS, sort_table, store_lock, write_parquet

_SORT_KEYS = {"sites": ["key", "batch"], "genotypes": ["key", "sample"], "blocks": ["start", "sample"]}


@dataclass(frozen=True)
class CompactionResult:
    files_before: int
    files_after: int
    manifest_version: int


def compact(root: Path, min_files: int = 2) -> CompactionResult:
    """Merge every partition that has at least ``min_files`` files into one file."""
    with store_lock(root):
        manifest = read_manifest(root)
        before = sum(len(manifest.files(t)) for t in manifest.tables)
        tables: dict[str, list[str]] = {}
        superseded: list[str] = []
        tag = new_batch_id()
        for table, files in manifest.tables.items():
            by_partition: dict[str, list[str]] = defaultdict(list)
            for relative in files:
                by_partition[relative.rsplit("/", 1)[0]].append(relative)
            kept: list[str] = []
            for directory, group in sorted(by_partition.items()):
                if len(group) < min_files:
                    kept.extend(group)
                    continue
                merged = pa.concat_tables([pq.read_table(root / p, schema=SCHEMAS[table]) for p in group])
                relative = f"{directory}/c-{tag}.parquet"
                write_parquet(sort_table(merged, _SORT_KEYS[table]), root / relative,
                              GENOTYPE_ROW_GROUP_ROWS if table == "genotypes" else ROW_GROUP_ROWS)
                kept.append(relative)
                superseded.extend(group)
            tables[table] = kept
        if not superseded:
            return CompactionResult(before, before, manifest.version)
        published = Manifest(version=manifest.version + 1, genome_build=manifest.genome_build,
                             batches=manifest.batches, tables=tables)
        write_manifest(root, published)
    for relative in superseded:
        (root / relative).unlink(missing_ok=True)
    return CompactionResult(before, sum(len(v) for v in tables.values()), published.version)
