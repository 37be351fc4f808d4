"""Membership inference against a simulated 1,000-genome beacon, without and with the privacy guard (issue 5).

Figures (in ``bench-results.json``):

* ``attack_power_unguarded`` — the Shringarpure & Bustamante (2015) likelihood-ratio attacker,
  asking about each target's rarest alleles (by a disjoint 1,000-genome reference panel), after
  1,000 queries to a raw beacon: the fraction of members it calls members at a 5% false-positive
  rate on outsiders from the same simulated population (goal ≥ 0.8, the paper's finding).
* ``attack_power_guarded`` — the same attacker, as a registered researcher (budget 1,000 a day),
  against the node's default guard with its donor ledger (``PrivacyGuard.answer``) (goal ≤ 0.1).
* ``attack_power_guarded_strongest`` — the highest power of any attacker (the paper's, and those
  that know the guard's rules: boolean answers aimed at the threshold, rarest first, or binned
  counts) at any of 10, 50, 100, 300 and 1,000 queries, against the guard with its ledger (goal
  ≤ 0.1: the ledger caps every donor's membership odds at 2, so power ≤ 2 x 5%). Up to 100
  queries, where these attackers peak, every member and every outsider is attacked.
* ``attack_power_threshold_only`` — the highest power of any attacker against suppression and
  budget alone (``PrivacyGuard.count``/``exists`` on true counts): why the ledger exists.
* ``attack_seconds`` — the attacks' run time (the simulation is cached in ``.bench-cache/``).

The population: 3,000 Europeans simulated with msprime (Tennessen et al. 2012 demography, recent
growth) over 300 Mb in independent 1-Mb loci, split into 1,000 beacon members, a 1,000-genome
reference panel and 1,000 outsiders; ``GENOMED_BENCH_ATTACK_TARGETS`` (default 200) members and as
many outsiders are attacked, each by a fresh identity with a fresh budget and a fresh ledger (a
third as many against suppression and budget alone). Each power is a proportion over those
targets: its standard error is about 0.017 near 0.1 with 300 (0.01 with all 1,000), and the 5%
threshold is itself estimated from the outsiders, so the highest of many estimates sits a little
above the true value. Takes about 10 minutes on two cores (and 10 more to simulate the population
the first time).

Run: ``.venv/bin/python benchmarks/membership_attack.py`` (or ``run_all.py --only membership_attack``).
"""

from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".bench-cache"
sys.path.insert(0, str(ROOT / "src"))

MEMBERS = 1000
QUERIES = 1000
MEGABASES = 300


def figure(value: float, unit: str, goal: str, baseline: str) -> dict[str, Any]:
    return {"value": round(value, 4), "unit": unit, "goal": goal, "baseline": baseline}


def run() -> dict[str, dict[str, Any]]:
    from genomed.share.attack.harness import run_membership_attack
    from genomed.share.attack.population import cached_population

    targets = int(os.environ.get("GENOMED_BENCH_ATTACK_TARGETS", "300"))
    started = time.perf_counter()
    population = cached_population(CACHE, MEMBERS, MEMBERS, MEMBERS, megabases=MEGABASES, seed=1,
                                   progress=lambda done, total: print(f"   simulated {done}/{total} loci", flush=True)
                                   if done % 40 == 0 else None)
    fewest, median = population.alleles_per_target
    print(f"   population ready in {time.perf_counter() - started:.0f} s: {population.n_alleles:,} rare alleles, "
          f"{fewest:,}-{median:,} per person (fewest, median)", flush=True)

    def progress(done: int, total: int) -> None:
        if done % 400 == 0:
            print(f"   {done}/{total} attacks", flush=True)

    report = run_membership_attack(population, queries=QUERIES, targets=targets, beacons=("raw", "ledger"),
                                   progress=progress)
    # The guard's strongest opponents peak within 100 queries, where attacking every member and
    # every outsider is cheap: the figure that decides the goal is then measured on all of them.
    early = run_membership_attack(population, queries=100, targets=MEMBERS, checkpoints=(10, 50, 100),
                                  beacons=("ledger",), progress=progress)
    # Suppression and budget alone: the attackers win so clearly that fewer targets measure it.
    threshold_only = run_membership_attack(population, queries=QUERIES, targets=max(1, targets // 3),
                                           beacons=("threshold",), progress=progress)
    report.curves += threshold_only.curves
    seconds = report.seconds + early.seconds + threshold_only.seconds
    for curve in report.curves + early.curves:
        points = "  ".join(f"{k}:{v:.3f}" for k, v in curve.power.items())
        print(f"   {curve.strategy:<24} {curve.beacon:<9} {points}   ({curve.mean_queries:.0f} answers, "
              f"{curve.budget_stops:.0%} stopped by the budget)", flush=True)
    strongest = max([(power, curve.strategy, queries, MEMBERS) for curve in early.curves
                     for queries, power in curve.power.items()]
                    + [(power, curve.strategy, queries, targets) for curve in report.curves if curve.beacon == "ledger"
                       for queries, power in curve.power.items() if queries > 100])
    standard_error = math.sqrt(strongest[0] * (1 - strongest[0]) / strongest[3])
    threshold = max((power, curve.strategy, queries) for curve in report.curves if curve.beacon == "threshold"
                    for queries, power in curve.power.items())
    print(f"   without the guard {report.power_unguarded:.3f}; with the guard {report.power_guarded:.3f} "
          f"(strongest attacker {strongest[0]:.3f} ± {standard_error:.3f}: {strongest[1]} at {strongest[2]} "
          f"queries); suppression and budget alone {threshold[0]:.3f} ({threshold[1]} at {threshold[2]} queries)",
          flush=True)
    paper = "S&B 2015: a 1,000-genome beacon re-identified within 5,000 queries (frequency-blind attacker)"
    sample = f"{targets} members and {targets} outsiders attacked, 5% false-positive rate"
    return {
        "attack_power_unguarded": figure(report.power_unguarded, "power", ">= 0.8", paper),
        "attack_power_guarded": figure(report.power_guarded, "power", "<= 0.1", sample),
        "attack_power_guarded_strongest": figure(
            strongest[0], "power", "<= 0.1", f"{strongest[1]} at {strongest[2]} queries, {strongest[3]} targets "
            f"each way (standard error {standard_error:.3f}); the ledger's bound is 2 x 5% = 0.1"),
        "attack_power_threshold_only": figure(threshold[0], "power", "reported",
                                              f"{threshold[1]} at {threshold[2]} queries, no donor ledger"),
        "attack_seconds": figure(seconds, "s", "", f"{len(report.curves) + len(early.curves)} attacker/beacon "
                                                   "runs"),
    }


if __name__ == "__main__":
    for name, entry in run().items():
        print(f"{name:<32} {entry['value']:>12.4g} {entry['unit']:<6} goal {entry['goal']:<8} ({entry['baseline']})")
