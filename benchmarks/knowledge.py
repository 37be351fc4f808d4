"""Knowledge loaders at scale: ClinVar load time and memory per record, gnomAD tabix lookup latency.

The real ClinVar (≈3 M records) and gnomAD (several GB per chromosome) releases are not in the
shared data, so both inputs are built from the real records there, repeated at shifted positions
(the INFO of every row is a real gnomAD row's; every ClinVar record a real record's): the figures
measure the loaders, not the data.

Run: ``.venv/bin/python benchmarks/knowledge.py`` (or through ``run_all.py --only knowledge``).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from genomed.annotate.clinvar import ClinVar
from genomed.annotate.model import Variant
from genomed.annotate.population import GnomadSites
from genomed.data import data_file

CLINVAR_RECORDS = 200_000
GNOMAD_ROWS = 20_000  # rows are ~17 kB each: 340 MB of text
LOOKUPS = 2_000


def _clinvar_vcf(target: Path) -> Path:
    from test_knowledge_clinvar import _records, write_clinvar_vcf

    records = _records(data_file("clinvar/clinvar-tgds.GRCh37.jsonl"))
    many = []
    for copy in range(CLINVAR_RECORDS // len(records) + 1):
        for record in records:
            shifted = json.loads(json.dumps(record))
            shifted["sequenceLocation"]["positionVcf"] += copy * 20_000
            many.append(shifted)
    return write_clinvar_vcf(many[:CLINVAR_RECORDS], target, build="GRCh37")


def _gnomad_vcf(target: Path, min_shift: int) -> Path:
    source = data_file("population/gnomad-fixtures/gnomad-genomes-grch38-v4.0.vcf").read_text().splitlines()
    header = [line for line in source if line.startswith("#")]
    rows = [line.split("\t") for line in source if not line.startswith("#")]
    target.parent.mkdir(parents=True, exist_ok=True)
    plain = target.with_suffix("")
    with plain.open("w") as out:
        out.write("\n".join(header) + "\n")
        for i in range(GNOMAD_ROWS):
            row = list(rows[i % len(rows)])
            row[1] = str(20_000 + 50 * i)
            out.write("\t".join(row) + "\n")
    indexed = GnomadSites.index_file(plain, target, min_shift=min_shift)
    plain.unlink()
    return indexed


def _lookups(path: Path, rows: list[list[str]]) -> list[float]:
    sites = GnomadSites(path)
    step = GNOMAD_ROWS // LOOKUPS
    latencies = []
    for i in range(0, GNOMAD_ROWS, step):
        row = rows[i % len(rows)]
        variant = Variant("chr1", 20_000 + 50 * i, row[3], row[4])
        started = time.perf_counter()
        found = sites.lookup(variant)
        latencies.append(time.perf_counter() - started)
        assert found is not None
    sites.close()
    return sorted(latencies)


def run() -> dict[str, dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        vcf = _clinvar_vcf(Path(tmp) / "clinvar.vcf.gz")
        started = time.perf_counter()
        clinvar = ClinVar.load(vcf, build="GRCh37")
        seconds = time.perf_counter() - started
        del clinvar
        tracemalloc.start()  # a second load, traced (tracing slows it several-fold, so it is not timed)
        clinvar = ClinVar.load(vcf, build="GRCh37")
        _, peak = tracemalloc.get_traced_memory()
        current = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        n = len(clinvar)

        rows = [line.split("\t") for line in
                data_file("population/gnomad-fixtures/gnomad-genomes-grch38-v4.0.vcf").read_text().splitlines()
                if not line.startswith("#")]
        tbi = _lookups(_gnomad_vcf(Path(tmp) / "tbi" / "gnomad.genomes.v4.0.sites.chr1.vcf.bgz", 0), rows)
        latencies = _lookups(_gnomad_vcf(Path(tmp) / "csi" / "gnomad.genomes.v4.0.sites.chr1.vcf.bgz", 10), rows)
    return {
        "clinvar_load_records_per_s": {"value": n / seconds, "unit": "records/s", "goal": "≥ 25k/s",
                                       "baseline": f"whole 3 M-record release in {3e6 * seconds / n:.0f} s"},
        "clinvar_bytes_per_record": {"value": current / n, "unit": "bytes", "goal": "≤ 600",
                                     "baseline": f"peak {peak / n:.0f} B/record while loading"},
        "gnomad_tabix_lookup_p50_ms": {"value": 1000 * statistics.median(latencies), "unit": "ms",
                                       "goal": "< 1 ms",
                                       "baseline": f"{1000 * statistics.median(tbi):.2f} ms with a .tbi index"},
        "gnomad_tabix_lookup_p99_ms": {"value": 1000 * latencies[int(0.99 * len(latencies))], "unit": "ms",
                                       "goal": "< 5 ms",
                                       "baseline": f"{1000 * tbi[int(0.99 * len(tbi))]:.2f} ms with a .tbi index"},
    }


if __name__ == "__main__":
    for name, entry in run().items():
        print(f"{name:<32} {entry['value']:>12.4g} {entry['unit']:<10} goal {entry['goal']:<10} ({entry['baseline']})")
