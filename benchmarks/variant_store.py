"""Ingestion and the variant store against the established tools, on simulated cohorts (issue 3).

Figures (all in ``bench-results.json``):

* ``ingest_vs_bcftools`` — wall time to ingest a 2,000-sample × ≥100k-site VCF (parse, normalise,
  QC, write the batch, commit) over ``bcftools view -Ou`` on the same file (goal ≤ 2);
  ``ingest_gvcf_vs_bcftools`` — the same for 100 single-sample gVCFs ingested as one batch (bcftools
  runs once per file, on one core; our ingest reads the files in forked workers, one per core, and
  the figure says how many cores it used);
* ``store_vs_vcfgz`` — bytes of the store's Parquet files over the VCF.gz (goal ≤ 0.5);
* ``point_query_p50_ms`` / ``point_query_p99_ms`` — AC, AN, AF, homozygotes with 1% of samples
  excluded for withdrawn consent, on a ≥10,000-sample store (goals ≤ 1 ms, ≤ 5 ms);
  ``point_query_vs_tabix`` — our p50 over an in-process tabix lookup (pysam) of the same variants
  in the bgzipped VCF (goal ≤ 1); ``carriers_p99_ms`` — carriers of a variant (goal ≤ 5 ms);
* ``subcohort_af_seconds`` — allele frequencies of every site recomputed over 1,000 samples of the
  2,000-sample store; ``subcohort_af_vs_hail`` — over Hail's time for the same counts on the same
  data (MatrixTable read, columns filtered, ``hl.agg.call_stats``), when ``.venv-hail`` exists
  (``make bench`` creates it); ``hail_import_write_vs_ours`` — Hail's import_vcf + write over our ingest;
* ``ingest_peak_rss_mb`` — peak resident memory of the 10,000-sample ingest (goal ≤ 2,048).

Inputs are simulated once per seed with :mod:`genomed.simulate` into ``.bench-cache/`` and reused.
Each ingest runs in a child process so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".bench-cache"
HAIL_PYTHON = ROOT / ".venv-hail" / "bin" / "python"


def figure(value: float, unit: str, goal: str, baseline: str) -> dict[str, Any]:
    return {"value": round(value, 4), "unit": unit, "goal": goal, "baseline": baseline}


def simulated(name: str, n_samples: int, n_genes: int, gvcf_samples: int = 0, seed: int = 2026) -> Path:
    """A cached simulated cohort directory (simulated on first use)."""
    out = CACHE / name
    if (out / "manifest.json").exists():
        return out
    from genomed.simulate.cohort import simulate_cohort

    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    manifest = simulate_cohort(out, n_samples, n_genes=n_genes, mode="genes", seed=seed,
                               gvcf_samples=gvcf_samples)
    print(f"   simulated {name}: {n_samples} samples, {manifest.records:,} records "
          f"in {time.perf_counter() - started:.0f} s", flush=True)
    return out


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, timeout=3600)
    return time.perf_counter() - started


def bcftools() -> str:
    path = shutil.which("bcftools")
    if path is None:
        raise SystemExit("bcftools is needed for the baseline: `make bench` installs it (apt-get install bcftools)")
    return path


# -- ingestion in a child process ------------------------------------------------------------------

def child_ingest(store: Path, inputs: list[Path]) -> None:
    """Ingest ``inputs`` into ``store`` the way the node does (without the vault), print time and RSS."""
    from genomed.store.ingestion import open_stream, stream_into_batch
    from genomed.store.writer import BatchWriter

    started = time.perf_counter()
    streams = [open_stream(p, "GRCh38") for p in inputs]
    source = "gvcf" if streams[0].is_gvcf else "vcf"
    names = [s.name for stream in streams for s in stream.samples]
    writer = BatchWriter(store, source=source, genome_build="GRCh38", sample_ids=list(range(len(names))),
                         input_sha256=[f"{i:064d}" for i in range(len(inputs))])
    _, batch_samples = stream_into_batch(writer, streams)
    for stream in streams:
        stream.close()
    writer.finish(batch_samples).commit()
    elapsed = time.perf_counter() - started
    # A gVCF batch is read by forked workers, one per core: their peak counts too, and the cores used are said.
    rss_mb = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024
    cores = min(len(os.sched_getaffinity(0)), len(inputs)) if source == "gvcf" else 1
    print(json.dumps({"seconds": elapsed, "rss_mb": rss_mb, "cores": cores}))


def ingest(store: Path, inputs: list[Path]) -> dict[str, float]:
    shutil.rmtree(store, ignore_errors=True)
    store.mkdir(parents=True)
    started = time.perf_counter()
    output = subprocess.run([sys.executable, __file__, "--child-ingest", str(store), *map(str, inputs)],
                            check=True, capture_output=True, text=True, timeout=7200).stdout
    wall = time.perf_counter() - started
    result: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    result["wall"] = wall
    return result


def store_bytes(store: Path) -> int:
    return sum(p.stat().st_size for p in store.rglob("*.parquet"))


# -- queries ---------------------------------------------------------------------------------------

def sample_variants(vcf: Path, n: int, seed: int = 7) -> list[tuple[str, int, str, str]]:
    """``n`` variants present in the VCF (biallelic records), spread along it."""
    import pysam

    chosen = []
    with pysam.VariantFile(str(vcf)) as handle:
        handle.subset_samples([])
        records = [(r.chrom, r.pos, r.ref, r.alts[0]) for r in handle if r.alts and len(r.alts) == 1
                   and r.alts[0][0] != "<"]
    rng = random.Random(seed)
    chosen = rng.sample(records, min(n, len(records)))
    return chosen


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def point_queries(store_dir: Path, vcf: Path, n: int = 3000) -> dict[str, Any]:
    import pysam

    from genomed.store.query import VariantStore

    store = VariantStore(store_dir, "GRCh38")
    variants = sample_variants(vcf, n)
    samples = sorted(store.sample_ids())
    excluded = set(random.Random(3).sample(samples, max(1, len(samples) // 100)))
    store.variant(*variants[0], exclude=excluded)  # builds the index and loads the excluded samples once
    times = []
    for v in variants:
        started = time.perf_counter()
        store.variant(*v, exclude=excluded)
        times.append((time.perf_counter() - started) * 1000)
    carrier_times = []
    for v in variants[:500]:
        started = time.perf_counter()
        store.carriers(*v, exclude=excluded)
        carrier_times.append((time.perf_counter() - started) * 1000)
    tabix = pysam.TabixFile(str(vcf))
    tabix_times = []
    for chrom, pos, ref, alt in variants:
        started = time.perf_counter()
        for line in tabix.fetch(chrom, pos - 1, pos):
            fields = line.split("\t", 5)
            if int(fields[1]) == pos and fields[3] == ref and alt in fields[4].split(","):
                break
        tabix_times.append((time.perf_counter() - started) * 1000)
    return {"p50": statistics.median(times), "p99": percentile(times, 0.99),
            "carriers_p99": percentile(carrier_times, 0.99), "tabix_p50": statistics.median(tabix_times),
            "samples": len(samples), "excluded": len(excluded)}


def subcohort(store_dir: Path, n: int = 1000) -> tuple[float, list[str]]:
    import pyarrow.parquet as pq

    from genomed.store.query import VariantStore

    store = VariantStore(store_dir, "GRCh38")
    samples = sorted(store.sample_ids())
    chosen = random.Random(5).sample(samples, min(n, len(samples)))
    store.subcohort_frequencies(chosen[:10])  # warm the index
    started = time.perf_counter()
    table = store.subcohort_frequencies(chosen)
    elapsed = time.perf_counter() - started
    assert table.num_rows > 0
    table_samples = pq.read_table(next(iter(sorted(store_dir.glob("samples/*.parquet")))))
    by_id = dict(zip(table_samples.column("sample").to_pylist(), table_samples.column("label").to_pylist(),
                     strict=True))
    return elapsed, [by_id[s] for s in chosen]


def hail(vcf: Path, samples: list[str]) -> dict[str, float] | None:
    if not HAIL_PYTHON.exists():
        return None
    work = CACHE / "hail"
    work.mkdir(parents=True, exist_ok=True)
    (work / "subset.txt").write_text("\n".join(samples))
    output = subprocess.run([str(HAIL_PYTHON), str(Path(__file__).with_name("hail_baseline.py")), str(vcf),
                             str(work / "subset.txt"), str(work / "cohort.mt")],
                            check=True, capture_output=True, text=True, timeout=7200).stdout
    return dict(json.loads(output.strip().splitlines()[-1]))


# -- the whole benchmark ---------------------------------------------------------------------------

def run(samples: int = 2000, genes: int = 200, big_samples: int = 10000,
        big_genes: int = 60) -> dict[str, dict[str, Any]]:
    figures: dict[str, dict[str, Any]] = {}
    cohort = simulated(f"cohort-{samples}-{genes}", samples, genes, gvcf_samples=100)
    vcf = cohort / "cohort.vcf.gz"
    records = json.loads((cohort / "manifest.json").read_text())["records"]
    print(f"   cohort: {samples} samples × {records:,} records, {vcf.stat().st_size / 1e6:.0f} MB VCF.gz", flush=True)
    baseline = timed([bcftools(), "view", "-Ou", "-o", "/dev/null", str(vcf)])
    ours = ingest(CACHE / "store-vcf", [vcf])
    figures["ingest_vs_bcftools"] = figure(ours["wall"] / baseline, "ratio", "<= 2",
                                           f"bcftools view -Ou {baseline:.1f} s; ours {ours['wall']:.1f} s "
                                           f"({samples} samples x {records} records)")
    size = store_bytes(CACHE / "store-vcf") / vcf.stat().st_size
    figures["store_vs_vcfgz"] = figure(size, "ratio", "<= 0.5", f"VCF.gz {vcf.stat().st_size / 1e6:.0f} MB")

    gvcfs = sorted((cohort / "gvcf").glob("*.g.vcf.gz"))
    gvcf_baseline = sum(timed([bcftools(), "view", "-Ou", "-o", "/dev/null", str(p)]) for p in gvcfs)
    gvcf_ours = ingest(CACHE / "store-gvcf", gvcfs)
    figures["ingest_gvcf_vs_bcftools"] = figure(gvcf_ours["wall"] / gvcf_baseline, "ratio", "<= 2",
                                                f"bcftools view -Ou over {len(gvcfs)} gVCFs {gvcf_baseline:.1f} s "
                                                f"(one process per file, 1 core); ours {gvcf_ours['wall']:.1f} s "
                                                f"reading in {int(gvcf_ours['cores'])} forked workers, one per core, "
                                                f"peak RSS {gvcf_ours['rss_mb']:.0f} MB")

    seconds, chosen = subcohort(CACHE / "store-vcf")
    figures["subcohort_af_seconds"] = figure(seconds, "s", "<= Hail (2.5 s for 2,500 x 90k)",
                                             f"1,000 of {samples} samples, {records} records")
    hail_figures = hail(vcf, chosen)
    if hail_figures is not None:
        figures["subcohort_af_vs_hail"] = figure(seconds / hail_figures["subcohort_seconds"], "ratio", "<= 1",
                                                 f"Hail call_stats on the same 1,000 samples: "
                                                 f"{hail_figures['subcohort_seconds']:.2f} s")
        hail_import = hail_figures["import_write_seconds"]
        figures["hail_import_write_vs_ours"] = figure(hail_import / ours["wall"], "ratio", ">= 1 (we are faster)",
                                                      f"Hail import_vcf+write {hail_import:.1f} s")
    else:
        print("   Hail not installed (.venv-hail missing): subcohort_af_vs_hail not measured", flush=True)

    big = simulated(f"cohort-{big_samples}-{big_genes}", big_samples, big_genes)
    big_vcf = big / "cohort.vcf.gz"
    big_ingest = ingest(CACHE / "store-big", [big_vcf])
    figures["ingest_peak_rss_mb"] = figure(big_ingest["rss_mb"], "MB", "<= 2048",
                                           f"{big_samples} samples, ingest {big_ingest['wall']:.1f} s")
    queries = point_queries(CACHE / "store-big", big_vcf)
    baseline_note = f"{queries['samples']} samples, {queries['excluded']} excluded for consent"
    figures["point_query_p50_ms"] = figure(queries["p50"], "ms", "<= 1", baseline_note)
    figures["point_query_p99_ms"] = figure(queries["p99"], "ms", "<= 5", baseline_note)
    figures["point_query_vs_tabix"] = figure(queries["p50"] / queries["tabix_p50"], "ratio", "<= 1",
                                             f"pysam tabix p50 {queries['tabix_p50']:.3f} ms")
    figures["carriers_p99_ms"] = figure(queries["carriers_p99"], "ms", "<= 5", baseline_note)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child-ingest", nargs="+", metavar=("STORE", "INPUT"))
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--genes", type=int, default=200)
    parser.add_argument("--big-samples", type=int, default=10000)
    parser.add_argument("--big-genes", type=int, default=60)
    args = parser.parse_args()
    if args.child_ingest:
        child_ingest(Path(args.child_ingest[0]), [Path(p) for p in args.child_ingest[1:]])
        return
    os.environ.setdefault("PYTHONHASHSEED", "0")
    print(json.dumps(run(args.samples, args.genes, args.big_samples, args.big_genes), indent=2))


if __name__ == "__main__":
    main()
