"""``genomed ingest FILE_ID…``: stored VCF/gVCF files into the variant store, with QC."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from genomed.cli.common import STATE, console, opened_node
from genomed.ingest.qc import QCThresholds
from genomed.store.ingestion import IngestOutcome, ingest_files


def ingest(file_ids: Annotated[list[str], typer.Argument(help="Vault file ids (one VCF, or several gVCFs).")],
           reference: Annotated[Path | None, typer.Option(help="Reference FASTA (default: the node's).")] = None,
           exome: Annotated[bool, typer.Option("--exome", help="Judge Ti/Tv by exome thresholds.")] = False) -> None:
    """Normalise, QC and add stored VCF/gVCF files to the variant store as one batch."""
    with opened_node() as ctx, console.status("ingesting…"):
        outcome = ingest_files(ctx, STATE.actor(), vault_ids=file_ids, reference=reference,
                               thresholds=QCThresholds(assay="exome" if exome else "genome"))
    print_outcome(outcome)


def print_outcome(outcome: IngestOutcome) -> None:
    """The batch, what normalisation did, and a QC table — what a bioinformatician checks first."""
    console.print(f"batch {outcome.batch_id} ({outcome.source}): {len(outcome.samples)} samples, "
                  f"{outcome.records:,} records, {outcome.genotypes:,} non-reference or missing calls")
    for counts in outcome.normalisation:
        console.print(f"normalisation: {counts.multiallelic_split} multi-allelic split, {counts.trimmed} trimmed, "
                      f"{counts.left_aligned} left-aligned"
                      + (" (left-alignment skipped: no reference FASTA)" if counts.left_alignment_skipped else ""),
                      highlight=False)
    table = Table("sample", "QC", "SNV", "indel", "Ti/Tv", "het/hom", "call rate", "mean DP", "sex (check)")
    for sample in outcome.sample_qc():
        m = sample.metrics

        def show(value: object, digits: int = 2) -> str:
            return f"{value:.{digits}f}" if isinstance(value, float) else ("-" if value is None else str(value))

        by_type = m.get("by_type", {})
        sex_check = next((c.status for c in sample.checks if c.metric.startswith("sex")), "-")
        table.add_row(sample.sample, sample.status, show(by_type.get("snv")),
                      show(by_type.get("insertion", 0) + by_type.get("deletion", 0)), show(m.get("ti_tv")),
                      show(m.get("het_hom_ratio")), show(m.get("call_rate"), 4), show(m.get("mean_dp_nonref"), 1),
                      f"{m.get('inferred_sex', '-')} ({sex_check})")
    console.print(table)
    for q in outcome.qc:
        for trio in q.trios:
            rate = "-" if trio.error_rate is None else f"{trio.error_rate:.4f}"
            console.print(f"trio {trio.child}: Mendelian error rate {rate} over {trio.informative_sites:,} sites "
                          f"({trio.de_novo} candidate de novo) — {trio.status}", highlight=False)
    for report in outcome.qc_reports:
        console.print(f"QC report: {report}", highlight=False)
