"""Hail doing what genomed's store does, for the ratios in variant_store.py (run with .venv-hail's python).

Usage: hail_baseline.py COHORT.vcf.gz SUBSET.txt OUT.mt — prints JSON with the seconds of
``import_vcf`` + ``write`` and of allele counts (``hl.agg.call_stats``) over the subset's columns,
read back from the written MatrixTable, as Hail users compute sub-cohort frequencies.
"""

from __future__ import annotations

import json
import shutil
import sys
import time

import hail as hl


def main() -> None:
    vcf, subset_file, out = sys.argv[1], sys.argv[2], sys.argv[3]
    hl.init(quiet=True, master="local[2]", spark_conf={"spark.driver.memory": "8g"}, log="/dev/null")
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    hl.import_vcf(vcf, reference_genome="GRCh38", force_bgz=True).write(out, overwrite=True)
    import_write = time.perf_counter() - started
    with open(subset_file) as handle:
        subset = hl.literal({line.strip() for line in handle if line.strip()})
    started = time.perf_counter()
    mt = hl.read_matrix_table(out)
    mt = mt.filter_cols(subset.contains(mt.s))
    mt = mt.annotate_rows(stats=hl.agg.call_stats(mt.GT, mt.alleles))
    rows = mt.rows()
    # Aggregating over every row's AN and AC forces Hail to compute them (a bare count() would not).
    total_an, total_ac = rows.aggregate((hl.agg.sum(rows.stats.AN), hl.agg.sum(hl.sum(rows.stats.AC[1:]))))
    subcohort = time.perf_counter() - started
    print(json.dumps({"import_write_seconds": import_write, "subcohort_seconds": subcohort,
                      "total_an": total_an, "total_ac": total_ac}))


if __name__ == "__main__":
    main()
