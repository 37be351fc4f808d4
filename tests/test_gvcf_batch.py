"""A batch of gVCFs read in forked workers gives the very store, QC and counts that reading them in turn gives."""

from __future__ import annotations

import gzip
import itertools
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from genomed.catalog import files
from genomed.catalog.models import QCResult
from genomed.context import NodeContext
from genomed.errors import MalformedVCFError
from genomed.ingest.chunks import BlockChunk
from genomed.ingest.reader import read_vcf
from genomed.ingest.vcfheader import read_header
from genomed.simulate.cohort import simulate_cohort
from genomed.store.ingestion import ingest_files, open_stream, stream_into_batch
from genomed.store.layout import read_manifest
from genomed.store.writer import BatchWriter
from test_ingestion import include_cohort
from test_store_oracle import gvcf_oracle


@pytest.fixture(scope="module")
def gvcfs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("gvcf-batch")
    simulate_cohort(out, 12, n_genes=6, mode="genes", seed=5, gvcf_samples=5, missing_rate=0.02)
    return sorted((out / "gvcf").glob("*.g.vcf.gz"))


def test_a_node_ingests_a_gvcf_batch_checked_against_its_reference(gvcfs: list[Path], sqlite_node: NodeContext) -> None:
    """The whole ingest (vault, catalog, REFs checked against the simulated FASTA, read in forked workers)
    agrees with the block oracle and records one QC per sample."""
    labels = [read_header(p).samples[0] for p in gvcfs]
    include_cohort(sqlite_node, labels)
    stored = [files.store_file(sqlite_node, "bix", sample_label=label, path=path, kind="gvcf")
              for label, path in zip(labels, gvcfs, strict=True)]
    outcome = ingest_files(sqlite_node, "bix", vault_ids=[s.vault_id for s in stored],
                           reference=gvcfs[0].parent.parent / "reference.fa")
    assert outcome.source == "gvcf" and outcome.samples == labels
    truth = gvcf_oracle(gvcfs)
    assert len(truth) > 50
    for (chrom, pos, ref, alt), expected in truth.items():
        got = sqlite_node.store.variant(chrom, pos, ref, alt)
        assert (got.ac, got.an, got.n_hom_alt, got.n_hemi_alt) == expected, (chrom, pos, ref, alt)
    with sqlite_node.transaction() as session:
        assert session.scalar(select(func.count(QCResult.id))) == len(labels)
    assert not list(sqlite_node.config.staging_dir.glob("ingest-*"))


def ingest(store: Path, paths: list[Path], workers: int) -> tuple[list[Any], list[Any], list[Any]]:
    streams = [open_stream(p, "GRCh38") for p in paths]
    writer = BatchWriter(store, source="gvcf", genome_build="GRCh38", sample_ids=list(range(10, 10 + len(paths))),
                         input_sha256=["c" * 64])
    try:
        qc, samples = stream_into_batch(writer, streams, workers=workers)
        writer.finish(samples).commit()
    except BaseException:
        writer.abort()
        raise
    return qc, samples, [s.counts for s in streams]


def tables(store: Path) -> dict[str, list[dict[str, Any]]]:
    """Every live table's rows (files in their partition order), batch ids left out."""
    manifest = read_manifest(store)
    out = {}
    for table in ("sites", "genotypes", "blocks"):
        rows = [row for f in sorted(manifest.files(table), key=lambda f: f.rsplit("/", 1)[0])
                for row in pq.read_table(store / f).to_pylist()]
        out[table] = [{k: v for k, v in row.items() if k != "batch"} for row in rows]
    return out


def test_forked_workers_and_one_process_write_the_same_batch(gvcfs: list[Path], tmp_path: Path) -> None:
    one = ingest(tmp_path / "one", gvcfs, workers=1)
    two = ingest(tmp_path / "two", gvcfs, workers=2)
    assert one == two
    written = tables(tmp_path / "one")
    assert written == tables(tmp_path / "two")
    assert len(written["sites"]) > 50 and len(written["blocks"]) >= len(gvcfs)
    assert {row["sample"] for row in written["blocks"]} == set(range(10, 10 + len(gvcfs)))


def test_a_malformed_gvcf_in_a_worker_is_reported_as_in_one_process(gvcfs: list[Path], tmp_path: Path) -> None:
    lines = gzip.decompress(gvcfs[2].read_bytes()).decode().splitlines()
    first = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    fields = lines[first + 40].split("\t")
    fields[1] = "12x45"
    lines[first + 40] = "\t".join(fields)
    broken = tmp_path / "broken.g.vcf"
    broken.write_text("\n".join(lines) + "\n")
    paths = [gvcfs[0], gvcfs[1], broken, gvcfs[3]]
    messages = []
    for workers in (1, 2):
        store = tmp_path / f"store-{workers}"
        with pytest.raises(MalformedVCFError, match=f"line {first + 41}") as caught:
            ingest(store, paths, workers)
        messages.append(str(caught.value))
        assert not (store / "manifest.json").exists()
        assert not list((store / "staging").iterdir())
    assert messages[0] == messages[1]


def test_merged_blocks_do_not_depend_on_where_the_readers_cut_their_batches(gvcfs: list[Path]) -> None:
    """The fast path decodes a file in one batch, cyvcf2 in batches of 4,096 lines: adjacent blocks across
    those cuts are merged all the same, and no two rows left touch."""
    with gzip.open(gvcfs[0], "rt") as handle:
        lines = sum(1 for line in handle if not line.startswith("#"))
    assert lines > 2 * 4096

    def rows(fast_path: bool) -> list[tuple[Any, ...]]:
        chunks = read_vcf(gvcfs[0], expected_build="GRCh38", chunk_size=50, gvcf_fast_path=fast_path)
        return [(c.chrom[i], int(c.start[i]), int(c.end[i]), int(c.min_dp[i]), int(c.gq[i]))
                for c in chunks if isinstance(c, BlockChunk) for i in range(len(c))]

    merged = rows(True)
    assert merged == rows(False)
    assert 0 < len(merged) < lines / 20
    assert all(b[0] != a[0] or b[1] > a[2] + 1 for a, b in itertools.pairwise(merged))
