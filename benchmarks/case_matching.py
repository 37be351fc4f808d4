"""Matchmaker Exchange case matching: the 50 MME benchmark patients, and answer latency against PatientMatcher.

Why these figures: a matchmaker is useful when a patient's query brings back a patient with the
same disorder, near the top, quickly. The MME benchmark (Buske et al., Hum Mutat 2015; 50
published patients, ``mme/benchmark_patients.json``) is the field's shared yardstick.

How it measures:

* accuracy: each patient is a query against the other 49 (our scoring, in memory: the same
  ``Matcher`` the endpoint uses); a hit is a result among the top 1 / top 5 sharing one of its
  OMIM ids. Fractions are of all 50: only 30 have a same-disorder partner, so 0.6 is the ceiling
  (reached by every method here); the finer *top-5 recall* asks whether all of a patient's
  same-disorder partners (up to 5) fill its top 5.
  Also reported: the same with the queries' genes and variants removed (phenotype alone), and
  PatientMatcher's figures on the same queries (it holds all 50 and returns 6 results so that 5
  remain after it finds the query itself; the queries' disorders are removed, because
  PatientMatcher scores shared OMIM ids, which would hand it the answer);
* latency: the 50 queries sent over loopback HTTP to our node (``genomed``'s application under
  uvicorn, 50 imported cases, SQLite) and to PatientMatcher (its Flask server, mongomock, 50
  patients), one at a time after one warm-up query each; p50 and the ratio ours / PatientMatcher.
  Caveat: PatientMatcher asks Ensembl REST for gene ids and liftovers on every query; here those
  calls go to a loopback service (``tests/mme_peer.py``), in production to the internet, so its
  real latency is higher than measured here.

Run: ``.venv/bin/python benchmarks/case_matching.py`` (or ``run_all.py --only case_matching``).
"""

from __future__ import annotations

import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import httpx

from genomed.node import init_node
from genomed.share.matching.benchmark import BenchmarkOutcome, evaluate, in_memory_search
from genomed.share.matching.documents import MmePatient, parse_patient
from genomed.share.matching.store import import_patients, parse_all, read_patients_file
from mme_peer import patientmatcher_peer
from mme_support import BENCHMARK, add_steward, mme_headers, serve_node, sharing_settings

PM_TOKEN = secrets.token_urlsafe(32)  # this run's PatientMatcher client token


def figure(value: float, unit: str, goal: str, baseline: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "goal": goal, "baseline": baseline}


def _timed(client: httpx.Client, url: str, query: MmePatient, headers: dict[str, str]) -> tuple[float, list[Any]]:
    started = time.perf_counter()
    response = client.post(f"{url}/match", json={"patient": query.to_json()}, headers=headers)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed, response.json()["results"]


def _latencies(url: str, queries: list[MmePatient], headers: dict[str, str]) -> tuple[list[float], list[list[Any]]]:
    with httpx.Client(timeout=120) as client:
        _timed(client, url, queries[0], headers)  # warm-up: one-off set-up is not a query's latency
        timed = [_timed(client, url, q, headers) for q in queries]
    return [t for t, _ in timed], [r for _, r in timed]


def _replayed(patients: list[MmePatient], answers: list[list[Any]]) -> BenchmarkOutcome:
    """PatientMatcher's recorded answers scored exactly as ours (``evaluate`` over a replay)."""
    by_id = {q.id: [parse_patient(r["patient"]) for r in results] for q, results in zip(patients, answers, strict=True)}
    return evaluate(patients, lambda q: by_id[q.id])


def run() -> dict[str, dict[str, Any]]:
    patients, _ = parse_all(read_patients_file(BENCHMARK), "benchmark")
    n = len(patients)
    started = time.perf_counter()
    ours = evaluate(patients, in_memory_search(patients))
    setup = time.perf_counter() - started
    no_genes = {p.id: p.model_copy(update={"genomicFeatures": ()}) for p in patients if p.features}
    search = in_memory_search(patients)
    pheno = evaluate(patients, lambda q: search(no_genes.get(q.id, q)))
    blind = [p.model_copy(update={"disorders": ()}) for p in patients]

    with tempfile.TemporaryDirectory() as tmp:
        ctx = init_node(Path(tmp) / "node", node_name="benchmark", country="FR")
        try:
            add_steward(ctx)
            import_patients(ctx, "steward", read_patients_file(BENCHMARK), origin="benchmark")
            with serve_node(ctx, sharing_settings()) as (url, _):
                our_times, _ = _latencies(url, patients, mme_headers())
        finally:
            ctx.close()
        with patientmatcher_peer(client_token=PM_TOKEN, patients=BENCHMARK, max_results=6, timeout=120) as pm:
            pm_times, pm_answers = _latencies(pm.url, blind, mme_headers(token=PM_TOKEN))
    theirs = _replayed(patients, pm_answers)
    pm_top1, pm_top5 = theirs.top1, theirs.top5

    ours_p50 = statistics.median(our_times) * 1000
    pm_p50 = statistics.median(pm_times) * 1000
    print(f"   {n} patients, {ours.with_partner} with a same-disorder partner; ours top-1 {ours.top1}, top-5 "
          f"{ours.top5} (top-5 recall {ours.top5_recall:.3f}); phenotype alone top-1 {pheno.top1}, top-5 "
          f"{pheno.top5} (recall {pheno.top5_recall:.3f}); PatientMatcher top-1 {pm_top1}, top-5 {pm_top5} (recall "
          f"{theirs.top5_recall:.3f}); p50 {ours_p50:.1f} ms vs PatientMatcher {pm_p50:.1f} ms (set-up {setup:.1f} s)")
    ceiling = f"ceiling {ours.with_partner / n:.2f} ({ours.with_partner} of {n} have a same-disorder partner)"
    pm = f"PatientMatcher 4.7 on the same queries: top-1 {pm_top1 / n:.2f}, top-5 {pm_top5 / n:.2f}; {ceiling}"
    return {
        "mme_same_disorder_top1": figure(ours.top1_fraction, "fraction", "= ceiling", pm),
        "mme_same_disorder_top5": figure(ours.top5_fraction, "fraction", "= ceiling", pm),
        "mme_same_disorder_top1_phenotype_only": figure(pheno.top1_fraction, "fraction", "",
                                                        f"queries without genes or variants; {ceiling}"),
        "mme_same_disorder_top5_phenotype_only": figure(pheno.top5_fraction, "fraction", "",
                                                        f"queries without genes or variants; {ceiling}"),
        "mme_same_disorder_top5_recall": figure(ours.top5_recall, "fraction", "1.0",
                                                f"PatientMatcher {theirs.top5_recall:.3f}; phenotype alone "
                                                f"{pheno.top5_recall:.3f} (same-disorder results in the top 5 / "
                                                "min(5, partners), over the 30)"),
        "mme_same_disorder_top1_patientmatcher": figure(pm_top1 / n, "fraction", "", "baseline: PatientMatcher"),
        "mme_same_disorder_top5_patientmatcher": figure(pm_top5 / n, "fraction", "", "baseline: PatientMatcher"),
        "mme_match_latency_p50": figure(ours_p50, "ms", "< 50 ms",
                                        f"PatientMatcher p50 {pm_p50:.1f} ms (loopback HTTP, 50 cases each)"),
        "mme_match_latency_p50_patientmatcher": figure(pm_p50, "ms", "", "PatientMatcher 4.7, mongomock"),
        "mme_match_latency_ratio_vs_patientmatcher": figure(ours_p50 / pm_p50, "ratio", "<= 1",
                                                            "our p50 / PatientMatcher's p50"),
    }


if __name__ == "__main__":
    for name, entry in run().items():
        print(f"{name:<42} {entry['value']:>10.4g} {entry['unit']:<8} goal {entry['goal']:<10} ({entry['baseline']})")
