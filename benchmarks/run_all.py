"""Run every benchmark under benchmarks/ and write their figures to one JSON file (``make bench``).

Each benchmark module exposes ``run() -> dict[name, {"value", "unit", "goal", "baseline"}]``; this
script imports them one after the other, prints each figure as it comes, and merges them into
``bench-results.json``. A benchmark that fails is reported and the others still run; the exit
status is non-zero if any failed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

BENCHMARKS = ["vault_throughput", "audit_chain", "ingest_parse", "variant_store", "annotation", "knowledge",
              "phenotype_ranking", "prioritisation", "interpretation_speed", "passports", "beacon_serving",
              "federated_query", "membership_attack", "case_matching"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, default=Path("bench-results.json"))
    parser.add_argument("--only", nargs="*", help="Run only these benchmark modules.")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    results: dict[str, Any] = json.loads(args.json.read_text()) if args.json.exists() else {}
    failed: list[str] = []
    for name in args.only or BENCHMARKS:
        started = time.perf_counter()
        print(f"== {name}", flush=True)
        try:
            figures = importlib.import_module(name).run()
        except Exception:
            traceback.print_exc()
            failed.append(name)
            continue
        for figure, entry in figures.items():
            print(f"   {figure:<34} {entry['value']:>12.4g} {entry['unit']:<10} goal {entry['goal']:<14} "
                  f"baseline {entry['baseline']}", flush=True)
        results.update(figures)
        print(f"   ({time.perf_counter() - started:.1f} s)")
        args.json.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"wrote {args.json}")
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
