"""Parsing speed of ingestion (``genomed.ingest.read_vcf``: parse, split, normalise) against ``bcftools``.

Why this figure: the issue's goal is an ingest no slower than twice ``bcftools view -Ou`` on the same
file, and the reader is the first and largest part of an ingest. Measuring it alone tells how much
of the 2× budget is left for the store.

How it measures:

* the input is a 2,000-sample simulated cohort (``genomed.simulate``, 200 whole genes, about 107k
  records, recent-growth demography so most variants are rare, 100 of the samples also as gVCFs),
  simulated once into ``.bench-cache/cohort-2000-200`` and reused — or the VCF given on the command
  line (with the gVCFs of a ``gvcf/`` folder beside it, if any);
* ``bcftools view -Ou -o /dev/null`` runs three times on the warm file; its best time is the baseline;
* our reader runs in a fresh child process that imports genomed, opens the file (header, build and
  sample checks), consumes every chunk and exits: its wall time, seen from this process, includes
  interpreter start-up, as bcftools' includes its own. Once as configured by default (a large
  multi-sample file is parsed by a ``bcftools view`` child and read back as BCF), once through
  cyvcf2 alone in one piece, and once cut into two segments parsed by two threads, so that the
  gain of each way is visible;
* when the cohort has gVCFs, the same for all of them (one bcftools per file): once as an ingest reads a
  gVCF batch (:func:`genomed.store.ingestion.read_gvcfs`: forked workers, one per core — bcftools uses one
  core, and the figure says how many we used), once with the reader alone in one process.

Usage: ``python benchmarks/ingest_parse.py [file.vcf.gz]`` prints the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".bench-cache"
SAMPLES, GENES = 2000, 200   # about 107k records: the 2,000 × ≥100k


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def figure(value: float, unit: str, goal: str, baseline: str) -> dict[str, Any]:
    return {"value": round(value, 3), "unit": unit, "goal": goal, "baseline": baseline}


def cohort(out: Path | None = None) -> Path:
    """The simulated cohort directory (simulated on first use; about ≥100k records for 2,000 samples)."""
    out = out or CACHE / f"cohort-{SAMPLES}-{GENES}"
    if (out / "manifest.json").exists():
        return out
    from genomed.simulate.cohort import simulate_cohort

    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    manifest = simulate_cohort(out, SAMPLES, n_genes=GENES, mode="genes", seed=2026, gvcf_samples=100)
    _log(f"   simulated {SAMPLES} samples x {manifest.records:,} records in {time.perf_counter() - started:.0f} s")
    return out


def bcftools_seconds(paths: list[Path], repeats: int = 3) -> float:
    """Best of ``repeats`` runs of ``bcftools view -Ou`` over all the files (one process per file)."""
    tool = shutil.which("bcftools")
    if tool is None:
        raise SystemExit("bcftools is needed for the baseline: apt-get install bcftools")
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for path in paths:
            subprocess.run([tool, "view", "-Ou", "-o", "/dev/null", str(path)], check=True, timeout=3600)
        best = min(best, time.perf_counter() - started)
    return best


MODES = {"default": {}, "cyvcf2": {"bcf_pipe": False}, "segments": {"segments": 2}, "gvcf-batch": {}}


def child(paths: list[Path], mode: str) -> dict[str, Any]:
    """Read the files in a fresh interpreter; its wall time as seen from here, and what it reports."""
    command = [sys.executable, __file__, "--child", mode, *map(str, paths)]
    started = time.perf_counter()
    output = subprocess.run(command, check=True, capture_output=True, text=True, timeout=7200).stdout
    wall = time.perf_counter() - started
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    result["wall"] = wall
    return result


def child_main(paths: list[str], mode: str) -> None:
    started = time.perf_counter()
    from genomed.ingest.reader import read_vcf

    records = genotypes = 0
    cores = 1
    if mode == "gvcf-batch":  # as an ingest reads a gVCF batch: forked workers, one per core, each file to its rows
        import os

        from genomed.store.ingestion import open_stream, read_gvcfs

        cores = min(len(os.sched_getaffinity(0)), len(paths))
        for result in read_gvcfs([open_stream(Path(p), "GRCh38") for p in paths]):
            records += result.counts.records_read
            genotypes += result.rows.genotypes_read
        paths = []
    for path in paths:
        stream = read_vcf(path, expected_build="GRCh38", **MODES[mode])  # type: ignore[arg-type]
        for chunk in stream:
            records += len(chunk)
            genotypes += len(getattr(chunk, "gt_record", ()))
    rss = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    print(json.dumps({"seconds": time.perf_counter() - started, "records": records, "genotype_rows": genotypes,
                      "rss_mb": rss / 1024, "cores": cores}))


def run(vcf_path: Path | str | None = None) -> dict[str, dict[str, Any]]:
    if vcf_path is None:
        directory = cohort()
        vcf = directory / "cohort.vcf.gz"
        gvcfs = sorted((directory / "gvcf").glob("*.g.vcf.gz"))
    else:  # a simulated cohort directory's gVCFs come along when they sit beside the VCF
        vcf = Path(vcf_path)
        gvcfs = sorted((vcf.parent / "gvcf").glob("*.g.vcf.gz"))
    size_mb = vcf.stat().st_size / 1e6
    baseline = bcftools_seconds([vcf])
    ours = child([vcf], "default")
    plain = child([vcf], "cyvcf2")
    threads = child([vcf], "segments")
    what = f"{vcf.name}, {size_mb:.0f} MB, {ours['records']:,} normalised records"
    _log(f"   bcftools view -Ou {baseline:.2f} s; ours {ours['wall']:.2f} s (default: BCF from a bcftools child), "
         f"cyvcf2 alone {plain['wall']:.2f} s, two segments {threads['wall']:.2f} s — {what}")
    figures = {
        "ingest_parse_vs_bcftools": figure(ours["wall"] / baseline, "ratio", "<= 2 (the whole ingest's budget)",
                                           f"bcftools view -Ou {baseline:.2f} s; ours {ours['wall']:.2f} s ({what})"),
        "ingest_parse_cyvcf2_alone_vs_bcftools": figure(plain["wall"] / baseline, "ratio", "information",
                                                        f"text parsed by cyvcf2's htslib: {plain['wall']:.2f} s"),
        "ingest_parse_two_segments_vs_bcftools": figure(threads["wall"] / baseline, "ratio", "information",
                                                        f"two segments, two threads: {threads['wall']:.2f} s"),
        "ingest_parse_records_per_s": figure(ours["records"] / ours["seconds"], "records/s", "information",
                                             f"{ours['genotype_rows']:,} sparse genotype rows"),
        "ingest_parse_peak_rss_mb": figure(ours["rss_mb"], "MB", "bounded (batches, not the file)",
                                           f"{size_mb:.0f} MB input"),
    }
    if gvcfs:
        g_baseline = bcftools_seconds(gvcfs, repeats=1)
        g_batch = child(gvcfs, "gvcf-batch")
        g_one = child(gvcfs, "default")
        _log(f"   {len(gvcfs)} gVCFs: bcftools {g_baseline:.2f} s; ours {g_batch['wall']:.2f} s on {g_batch['cores']} "
             f"cores (as an ingest reads a batch), {g_one['wall']:.2f} s for the reader alone on one core")
        figures["ingest_parse_gvcf_vs_bcftools"] = figure(
            g_batch["wall"] / g_baseline, "ratio", "<= 2 (the whole ingest's budget)",
            f"bcftools view -Ou, one process per file (1 core), {g_baseline:.2f} s; ours {g_batch['wall']:.2f} s, "
            f"the files read as an ingest reads a batch: {g_batch['cores']} forked workers, one per core, "
            f"coverage merged into runs ({len(gvcfs)} gVCFs, {g_batch['records']:,} lines)")
        figures["ingest_parse_gvcf_one_core_vs_bcftools"] = figure(
            g_one["wall"] / g_baseline, "ratio", "information",
            f"the reader alone, one file after the other in one process: {g_one['wall']:.2f} s")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("vcf", nargs="*", type=Path)
    parser.add_argument("--child", choices=sorted(MODES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main([str(p) for p in args.vcf], args.child)
        return
    if len(args.vcf) > 1:
        raise SystemExit("give one VCF (or none, for the simulated cohort)")
    print(json.dumps(run(args.vcf[0] if args.vcf else None), indent=2))


if __name__ == "__main__":
    main()
