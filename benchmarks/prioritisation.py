"""Rare-disease prioritisation accuracy on published cases, and interpretation speed (issue 4).

Figures (in ``bench-results.json``):

* ``rd_top1``, ``rd_top5``, ``rd_top10``, ``rd_median_rank`` — published phenopacket-store cases,
  each causal variant spiked with its zygosity into a simulated exome (msprime, every MANE gene),
  ranked blind with the case's HPO terms (goals: top-1 ≥ 0.80, top-5 ≥ 0.95). The baseline is the
  published Exomiser figure on real exomes (74% top-1, 94% top-5; Smedley et al. 2015, Nat Protoc):
  Exomiser itself needs ~100 GB of downloaded databases and cannot run on this offline machine.
  Cases are a seeded random sample (``GENOMED_BENCH_CASES``, default 1,000) of all evaluable cases:
  no parameter was fitted on them case by case; the combination weights were fitted once on a
  disjoint development half (see ``genomed.interpret.scoring``) and the figures are reported on
  the held-out half too (``rd_top1_heldout``). The phenotype scorer also learns from the published
  cases themselves (``genomed.interpret.case_knowledge``), as a node does by default; each case is
  ranked with everything its own publication contributed withheld (cohorts and gene-disease links),
  so it is new to the scorer, as a laboratory's own case would be.
Interpretation speed (``exome_case_seconds``, ``genome_case_seconds``) is measured by
``interpretation_speed.py``.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".bench-cache"
sys.path.insert(0, str(ROOT / "src"))


def figure(value: float, unit: str, goal: str, baseline: str) -> dict[str, Any]:
    return {"value": round(value, 4), "unit": unit, "goal": goal, "baseline": baseline}


def heldout(case_id: str) -> bool:
    """The held-out half: never used to fit anything."""
    return hashlib.sha256(case_id.encode()).digest()[0] % 2 == 1


def run() -> dict[str, dict[str, Any]]:
    from genomed.data import data_file
    from genomed.interpret.evaluation.background import ensure_background, load_background
    from genomed.interpret.evaluation.benchmark import SpikeInEvaluator, choose_cases, summarise
    from genomed.interpret.evaluation.published import load_cases

    limit = int(os.environ.get("GENOMED_BENCH_CASES", "1000"))
    started = time.perf_counter()
    background = load_background(ensure_background(CACHE))
    evaluator = SpikeInEvaluator(background, seed=1)
    print(f"   background and its annotation ready in {time.perf_counter() - started:.0f} s", flush=True)
    cases, not_evaluable = load_cases(data_file("phenopackets/phenopacket-store-train.jsonl.gz"))
    chosen = choose_cases(cases, limit, seed=1)
    outcomes = []
    for done, case in enumerate(chosen, 1):
        outcomes.append(evaluator.run_case(case))
        if done % 100 == 0:
            partial = summarise(outcomes, not_evaluable)
            print(f"   {done}/{len(chosen)} cases: top-1 {partial.top1:.1%} top-5 {partial.top5:.1%}", flush=True)
    summary = summarise(outcomes, not_evaluable)
    held = summarise([o for o in outcomes if heldout(o.case_id)], not_evaluable)
    print(f"   {summary.n} cases: top-1 {summary.top1:.1%}, top-5 {summary.top5:.1%}, top-10 {summary.top10:.1%}, "
          f"median rank {summary.median_rank:g}; held-out half ({held.n}): top-1 {held.top1:.1%}, "
          f"top-5 {held.top5:.1%}")
    for name, rates in summary.by_class.items():
        print(f"     {name:<26} n={rates['n']:<5g} top-1 {rates['top1']:.1%} top-5 {rates['top5']:.1%} "
              f"median rank {rates['median_rank']:g}")

    exomiser = "Exomiser on real exomes: 74% top-1, 94% top-5 (published)"
    return {
        "rd_top1": figure(summary.top1, "fraction", ">= 0.80", exomiser),
        "rd_top5": figure(summary.top5, "fraction", ">= 0.95", exomiser),
        "rd_top10": figure(summary.top10, "fraction", "", exomiser),
        "rd_median_rank": figure(summary.median_rank, "rank", "", "Exomiser median rank 1 (published)"),
        "rd_top1_heldout": figure(held.top1, "fraction", ">= 0.80", "held-out half of the same sample"),
    }


if __name__ == "__main__":
    for name, entry in run().items():
        print(f"{name:<24} {entry['value']:>10} {entry['unit']:<8} goal {entry['goal']}")
