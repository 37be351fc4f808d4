"""``genomed simulate cohort|trio``: synthetic cohorts and families for demos, tests and benchmarks."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TimeElapsedColumn

from genomed.cli.common import console
from genomed.simulate.cohort import Progress as ProgressFn
from genomed.simulate.cohort import SimulationManifest
from genomed.simulate.regions import Mode as RegionMode

simulate = typer.Typer(help="Simulate realistic synthetic cohorts and trios (msprime, MANE genes, GRCh38).",
                       no_args_is_help=True)

_STAGES = {"regions": "Regions and reference", "ancestry": "Coalescent (loci)", "genotypes": "Genotypes (sites)",
           "gvcf": "gVCFs"}


@contextlib.contextmanager
def _progress() -> Iterator[ProgressFn]:
    """Rich bars per stage, shown only on a terminal; yields the callback the library reports to."""
    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True, disable=not console.is_terminal) as bars:
        tasks: dict[str, TaskID] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bars.add_task(_STAGES.get(stage, stage), total=total)
            bars.update(tasks[stage], completed=done, total=total)

        yield report


def _summary(manifest: SimulationManifest) -> None:
    console.print(f"{manifest.region_bases:,} bases in {manifest.n_regions:,} regions of {len(manifest.genes):,} "
                  f"genes; {manifest.sites_simulated:,} sites simulated", highlight=False)
    if manifest.records:
        console.print(f"cohort: {len(manifest.samples):,} samples, {manifest.records:,} records "
                      f"({manifest.multiallelic_records:,} multi-allelic) -> {manifest.path('cohort_vcf')}",
                      highlight=False)
    for trio in manifest.trios:
        console.print(f"trio {trio['family_id']}: {trio['child']} ({trio['child_sex']}), {trio['de_novo']} de novo",
                      highlight=False)
    console.print(f"in {manifest.timings.get('total', 0.0):.1f} s; manifest {manifest.out_dir / 'manifest.json'}",
                  highlight=False)


Out = Annotated[Path, typer.Option("--out", "-o", help="Directory to write into (created).")]
Genes = Annotated[int, typer.Option("--genes", help="Number of random MANE Select genes.")]
GeneNames = Annotated[list[str] | None, typer.Option("--gene", help="A named gene (repeatable); overrides --genes.")]
Seed = Annotated[int, typer.Option(help="Random seed: the same seed writes identical files.")]
Mode = Annotated[str, typer.Option(help="'exons' (exons plus flank, exome-like) or 'genes' (whole genes).")]
Flank = Annotated[int, typer.Option(help="Bases added on each side of every exon or gene.")]
Missing = Annotated[float, typer.Option(help="Share of genotypes left uncalled (./.).")]
Level = Annotated[int, typer.Option(help="BGZF compression level 1-9 (6 = bgzip's default).")]
Threads = Annotated[int, typer.Option(help="Threads for compression and the coalescent.")]


def _mode(value: str) -> RegionMode:
    if value not in ("exons", "genes"):
        raise typer.BadParameter("--mode must be 'exons' or 'genes'")
    return "exons" if value == "exons" else "genes"


@simulate.command("cohort")
def cohort(out: Out, samples: Annotated[int, typer.Option(help="Number of samples in the cohort VCF.")] = 100,
           genes: Genes = 50, gene: GeneNames = None, seed: Seed = 1, mode: Mode = "exons", flank: Flank = 100,
           missing_rate: Missing = 0.01,
           gvcf_samples: Annotated[int, typer.Option(help="Write a gVCF for the first N samples.")] = 0,
           trios: Annotated[int, typer.Option(help="Also simulate N trios (separate VCFs, PED, truth).")] = 0,
           messy: Annotated[bool, typer.Option(help="Write some records unnormalised (tests ingest).")] = False,
           population: Annotated[str, typer.Option(help="EUR or AFR (Tennessen et al. 2012 model).")] = "EUR",
           compress_level: Level = 6, threads: Threads = 2) -> None:
    """A multi-sample VCF (+ optional gVCFs and trios) with a matching synthetic reference FASTA."""
    from genomed.simulate.cohort import simulate_cohort

    with _progress() as report:
        manifest = simulate_cohort(out, samples, n_genes=genes, genes=gene or None, seed=seed,
                                   mode=_mode(mode), flank=flank, missing_rate=missing_rate,
                                   gvcf_samples=gvcf_samples, trios=trios, messy=messy, population=population,
                                   compress_level=compress_level, threads=threads, progress=report)
    _summary(manifest)


@simulate.command("trio")
def trio(out: Out, families: Annotated[int, typer.Option(help="Number of trios.")] = 1, genes: Genes = 50,
         gene: GeneNames = None, seed: Seed = 1, mode: Mode = "exons", flank: Flank = 100,
         missing_rate: Missing = 0.01,
         de_novo: Annotated[int, typer.Option(help="At least this many de novo mutations per child.")] = 1,
         compress_level: Level = 6, threads: Threads = 2) -> None:
    """Trio VCFs (child, father, mother), a PED file and the de novo truth, with the reference FASTA."""
    from genomed.simulate.cohort import simulate_trios

    with _progress() as report:
        manifest = simulate_trios(out, families, n_genes=genes, genes=gene or None, seed=seed,
                                  mode=_mode(mode), flank=flank, missing_rate=missing_rate, min_de_novo=de_novo,
                                  compress_level=compress_level, threads=threads, progress=report)
    _summary(manifest)
