"""``genomed variant show|carriers|region``, ``genomed cohort frequencies``, ``genomed store info|compact``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import typer
from rich.table import Table

from genomed.access.purpose import Purpose
from genomed.cli.common import STATE, console, opened_node
from genomed.errors import InputError
from genomed.store import service

variants = typer.Typer(help="Cohort allele counts from the variant store (consent-aware).", no_args_is_help=True)
cohorts = typer.Typer(help="Sub-cohort allele frequencies.", no_args_is_help=True)
stores = typer.Typer(help="The variant store itself.", no_args_is_help=True)


def _purpose(value: str) -> Purpose:
    try:
        return Purpose(value)
    except ValueError as exc:
        raise InputError(f"unknown purpose {value!r}; one of {', '.join(p.value for p in Purpose)}") from exc


def _af(ac: int, an: int) -> str:
    return f"{ac / an:.6g}" if an else "-"


@variants.command("show")
def variant_show(variant: str, purpose: Annotated[str, typer.Option(help="care, research, …")] = "care") -> None:
    """AC, AN, AF, homozygotes and hemizygotes of one variant, e.g. chr1:55051215:G:GA."""
    with opened_node() as ctx:
        counts = service.query_variant(ctx, STATE.actor(), service.parse_variant(variant), _purpose(purpose))
    console.print(f"{counts.chrom}:{counts.pos} {counts.ref}>{counts.alt}  AC {counts.ac}  AN {counts.an}  "
                  f"AF {_af(counts.ac, counts.an)}  hom {counts.n_hom_alt}  hemi {counts.n_hemi_alt}"
                  + (f"  ({counts.batches_unknown} batch(es) without coverage data here)"
                     if counts.batches_unknown else ""), highlight=False)


@variants.command("carriers")
def variant_carriers(variant: str) -> None:
    """The samples carrying a variant (care purpose; audited)."""
    with opened_node() as ctx:
        rows = service.query_carriers(ctx, STATE.actor(), service.parse_variant(variant))
    table = Table("sample", "patient", "genotype", "GQ", "DP")
    for row in rows:
        table.add_row(row.sample, row.pseudonym, row.genotype, str(row.gq), str(row.dp))
    console.print(table)


@variants.command("region")
def variant_region(region: str, purpose: Annotated[str, typer.Option()] = "care") -> None:
    """Every variant in a region, e.g. chr1:55039000-55065000."""
    with opened_node() as ctx:
        rows = service.query_region(ctx, STATE.actor(), region, _purpose(purpose))
    table = Table("variant", "AC", "AN", "AF", "hom", "hemi")
    for c in rows:
        table.add_row(f"{c.chrom}:{c.pos}:{c.ref}:{c.alt}", str(c.ac), str(c.an), _af(c.ac, c.an), str(c.n_hom_alt),
                      str(c.n_hemi_alt))
    console.print(table)


@cohorts.command("frequencies")
def cohort_frequencies(output: Annotated[Path, typer.Option("-o", "--output", help=".parquet or .csv")],
                       indication: Annotated[str | None, typer.Option()] = None,
                       sex: Annotated[str | None, typer.Option()] = None,
                       purpose: Annotated[str, typer.Option()] = "research") -> None:
    """Recompute allele frequencies over one indication and/or sex."""
    with opened_node() as ctx:
        used, table = service.subcohort_frequencies(ctx, STATE.actor(), indication=indication, sex=sex,
                                                    purpose=_purpose(purpose))
    if output.suffix == ".csv":
        pacsv.write_csv(table, output)
    else:
        pq.write_table(table, output)
    console.print(f"{table.num_rows} sites over {used} samples written to {output}")


@stores.command("info")
def store_info() -> None:
    """Batches, samples and files of the variant store."""
    with opened_node() as ctx:
        manifest = ctx.store.manifest
    console.print(f"version {manifest.version}, build {manifest.genome_build or '-'}, "
                  f"{len(manifest.batches)} batch(es), {len(manifest.sample_ids())} sample(s), "
                  f"{sum(len(manifest.files(t)) for t in manifest.tables)} file(s)")
    for batch in manifest.batches:
        console.print(f"  {batch.batch_id}  {batch.source:<5} {len(batch.samples):>6} samples  "
                      f"{batch.records:>9} records  {batch.committed_at}", highlight=False)


@stores.command("compact")
def store_compact() -> None:
    """Merge each partition's files into one."""
    with opened_node() as ctx:
        result = service.compact_store(ctx, STATE.actor())
    console.print(f"{result.files_before} files → {result.files_after} (manifest version {result.manifest_version})")
