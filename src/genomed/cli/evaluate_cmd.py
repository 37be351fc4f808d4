"""``genomed evaluate …``: benchmarks on a laboratory's own data, and the attack test of the privacy guard."""

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


@evaluate.command("membership-attack")
def evaluate_membership_attack_cmd(
    json_out: Annotated[Path, typer.Option("--json", help="Write {members, queries, fpr, power_unguarded, "
                                                          "power_guarded, curve, ...} here.")],
    members: Annotated[int, typer.Option(help="Genomes in the simulated beacon.")] = 1000,
    queries: Annotated[int, typer.Option(help="Queries each attack may make (the budget may stop it sooner).")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the simulation and of the choice of targets.")] = 1,
    reference: Annotated[int | None, typer.Option(
        help="Genomes in the attacker's reference panel (default: as many as members).")] = None,
    targets: Annotated[int, typer.Option(help="Members attacked, and as many outsiders.")] = 200,
    megabases: Annotated[float, typer.Option(help="Sequence simulated, in independent 1-Mb loci.")] = 300,
    tier: Annotated[str, typer.Option(help="The attacker's tier: public or registered.")] = "registered",
    cache: Annotated[Path | None, typer.Option(help="Keep the simulated population here and reuse it.")] = None,
) -> None:
    """Attack a simulated beacon with membership inference, without and with the privacy guard.

    The attacker holds each target's genome and asks about its rarest alleles (Shringarpure &
    Bustamante 2015); stronger attackers know the guard's rules. Power is measured at a 5%
    false-positive rate on outsiders from the same population, with the node's default guard.
    """
    from genomed.errors import InputError
    from genomed.share.attack.harness import run_membership_attack
    from genomed.share.attack.population import cached_population
    from genomed.share.identity import Tier

    tiers = {"public": Tier.PUBLIC, "registered": Tier.REGISTERED}
    if tier not in tiers:
        raise InputError(f"--tier must be public or registered, got {tier!r}")
    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("simulating loci", total=None)
        population = cached_population(cache, members, reference or members, members, megabases=megabases, seed=seed,
                                       progress=lambda done, total: bar.update(task, completed=done, total=total))
        bar.update(task, description="attacking", completed=0, total=None)
        report = run_membership_attack(population, queries=queries, targets=targets, tier=tiers[tier], seed=seed,
                                       progress=lambda done, total: bar.update(task, completed=done, total=total))
    json_out.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    console.print(f"beacon of {members} genomes, {queries} queries per attack, {report.targets[0]} members and "
                  f"{report.targets[1]} outsiders attacked, {report.tier} attacker, false-positive rate "
                  f"{report.fpr:.0%}", highlight=False)
    console.print(f"power without the guard {report.power_unguarded:.2f}   with the guard {report.power_guarded:.2f}",
                  highlight=False)
    for curve in report.curves:
        points = "  ".join(f"{k}:{v:.2f}" for k, v in curve.power.items())
        console.print(f"  {curve.strategy:<24} {curve.beacon:<9} {points}   ({curve.mean_queries:.0f} answers, "
                      f"{curve.budget_stops:.0%} stopped by the budget)", highlight=False)
    console.print(f"written to {json_out} ({report.seconds:.0f} s)", highlight=False)
