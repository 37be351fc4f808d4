"""A federated allele query across four local nodes, each its own ``genomed serve`` process (issue 5).

Four homes (France, Sweden, Denmark, UK; a few consented samples each, built once into
``.bench-cache/federation/``) are served on loopback ports with each other as peers. One client
with a keep-alive connection asks France's ``/federated/g_variants`` for an allele every node
holds, :data:`QUERIES` times after :data:`WARMUP` unmeasured queries: France answers from its
own Beacon in process and asks the three others concurrently, over signed requests.

Figures:

* ``federated_p50_ms`` — median wall time of one federated query as the client sees it (goal ≤ 100 ms);
  the baseline is the same client's median for one direct Beacon ``/g_variants`` query to a single
  node, so the ratio shows what the fan-out adds;
* ``federated_p95_ms`` — the 95th percentile of the same queries.

Run: ``.venv/bin/python benchmarks/federated_query.py`` (or ``run_all.py --only federated_query``).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from federation_network import COMMON, build_homes, running

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".bench-cache" / "federation"
QUERIES = 200
WARMUP = 20
# Cached homes keep their spent budgets; a budget no benchmark run can exhaust keeps answers honest.
BUDGET = 1_000_000_000


def _params() -> dict[str, str]:
    chrom, pos, ref, alt = COMMON
    return {"referenceName": chrom.removeprefix("chr"), "start": str(pos - 1), "referenceBases": ref,
            "alternateBases": alt, "requestedGranularity": "count"}


def _latencies(client: httpx.Client, url: str, params: dict[str, str], answered: int | None) -> list[float]:
    """Milliseconds per query, sorted; every answer is checked (a fast wrong answer is no figure)."""
    for _ in range(WARMUP):
        client.get(url, params=params).raise_for_status()
    latencies = []
    for _ in range(QUERIES):
        started = time.perf_counter()
        response = client.get(url, params=params)
        latencies.append(1000 * (time.perf_counter() - started))
        response.raise_for_status()
        body = response.json()
        assert body["responseSummary"]["exists"] is True
        if answered is not None:
            assert body["info"]["federation"]["nodesAnswered"] == answered, body["info"]
    return sorted(latencies)


def run() -> dict[str, dict[str, Any]]:
    homes = build_homes(CACHE)
    params = _params()
    load = os.getloadavg()[0]  # four servers and the client share this machine's cores with whatever else runs
    with running(homes, budget=BUDGET) as network, httpx.Client(timeout=10) as client:
        direct = _latencies(client, f"{network['Sweden'].url}/g_variants", params, None)
        federated = _latencies(client, f"{network['France'].url}/federated/g_variants",
                               {k: v for k, v in params.items() if k != "requestedGranularity"}, len(homes))
    p50, p95 = statistics.median(federated), federated[int(0.95 * len(federated))]
    direct_p50 = statistics.median(direct)
    return {
        "federated_p50_ms": {"value": round(p50, 2), "unit": "ms", "goal": "≤ 100",
                             "baseline": f"{p50 / direct_p50:.1f}× one direct Beacon query to one node "
                                         f"({direct_p50:.1f} ms p50); {len(homes)} nodes, {QUERIES} queries, "
                                         f"load average {load:.1f} on {os.cpu_count()} cores"},
        "federated_p95_ms": {"value": round(p95, 2), "unit": "ms", "goal": "none (tail of the p50 figure)",
                             "baseline": f"direct query p95 {direct[int(0.95 * len(direct))]:.1f} ms"},
    }


if __name__ == "__main__":
    for name, entry in run().items():
        print(f"{name:<24} {entry['value']:>10.4g} {entry['unit']:<4} goal {entry['goal']:<8} ({entry['baseline']})")
