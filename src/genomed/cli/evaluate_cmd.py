"""``genomed evaluate prioritisation``: validate the interpretation on a laboratory's own solved cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from genomed.cli.common import console

evaluate = typer.Typer(help="Accuracy benchmarks a laboratory can run on its own data.", no_args_is_help=True)


@evaluate.command("prioritisation")
def evaluate_prioritisation_cmd(
    cases: Annotated[Path, typer.Option(help="Solved cases: GA4GH phenopackets, one JSON per line (.jsonl or .gz).")],
    json_out: Annotated[Path, typer.Option("--json", help="Write {n, top1, top5, top10, median_rank, ...} here.")],
    limit: Annotated[int | None, typer.Option(help="Evaluate a random sample of this many cases.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the case sample and of each case's background genome.")] = 1,
    background: Annotated[Path | None, typer.Option(
        help="A simulated cohort directory for the background genomes (default: simulated once into the cache).")
    ] = None,
) -> None:
    """Spike each case's causal variants into a simulated exome, rank blind, and report where the gene lands."""
    from genomed.interpret.evaluation.benchmark import evaluate_prioritisation

    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("ranking cases", total=None)
        summary = evaluate_prioritisation(cases, limit=limit, seed=seed, background_dir=background,
                                          progress=lambda done, total: bar.update(task, completed=done, total=total))
    figures = summary.figures()
    json_out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    console.print(f"{summary.n} cases ({summary.not_evaluable} not evaluable: no GRCh38 VCF record)  "
                  f"top-1 {summary.top1:.1%}  top-5 {summary.top5:.1%}  top-10 {summary.top10:.1%}  "
                  f"median rank {summary.median_rank:g}", highlight=False)
    for name, rates in summary.by_class.items():
        console.print(f"  {name:<26} n={rates['n']:<5g} top-1 {rates['top1']:.1%}  top-5 {rates['top5']:.1%}  "
                      f"median rank {rates['median_rank']:g}", highlight=False)
    console.print(f"written to {json_out}", highlight=False)
