"""A genome-sized trio (about five million variants per person), simulated one chromosome at a time.

Why per chromosome: the coalescent, the synthetic reference and the genotype stream of a whole
genome in one :func:`~genomed.simulate.cohort.simulate_cohort` call need more than 20 GB, while
one chromosome at a time stays under 4 GB. Chromosomes are unlinked, so simulating them one by one
with their own seeds loses nothing a trio analysis can see. Each chromosome runs in a fresh child
process (its memory is given back to the system when it ends, and its peak is measured), then the
per-chromosome trio VCFs are concatenated (``bcftools concat``, the copy pysam bundles) and the
regional reference FASTAs joined into one (records named ``chrom:start-end``, as the simulator
writes them, indexed with ``pysam.faidx``).

The output folder holds::

    trio.vcf.gz (+ .tbi)             the three members in one file (child, father, mother)
    cohort.vcf.gz (+ .tbi)           the unrelated people simulated beside the trio (cohort frequencies)
    members/<sample>.vcf.gz (+ .tbi) each member's own VCF: only the records where they carry an ALT
    reference.fa (+ .fai)            the synthetic reference of every simulated region
    genome.json                      samples, sexes, record counts, per-chromosome seeds, peak memory
    chroms/<chrom>/                  the per-chromosome simulations (kept: they are the cache)

The result is cached: a folder whose ``genome.json`` matches the parameters is reused as is.
"""

from __future__ import annotations

import json
import resource
import shutil
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genomed.errors import InputError
from genomed.genome.builds import GRCH38, primary_contigs

GENOME_CHROMS: tuple[str, ...] = (*(f"chr{i}" for i in range(1, 23)), "chrX")
EDGE = 10_000          # bases left out at each chromosome end (telomeres: no calls there in real data)
FORMAT = "genomed-genome-trio/2"


@dataclass(frozen=True)
class GenomeTrio:
    """A simulated genome trio on disk: its files, members and record counts."""

    out_dir: Path
    samples: tuple[str, str, str]        # child (proband), father, mother
    child_sex: str
    trio_records: int                    # records of trio.vcf.gz (the union of the three members)
    member_records: dict[str, int]       # records of each member's own VCF
    peak_memory_mb: dict[str, float]     # per chromosome: the child process's peak resident memory

    @property
    def trio_vcf(self) -> Path:
        """The three members in one bgzipped VCF."""
        return self.out_dir / "trio.vcf.gz"

    @property
    def cohort_vcf(self) -> Path:
        """The unrelated people simulated beside the trio, in one bgzipped VCF."""
        return self.out_dir / "cohort.vcf.gz"

    @property
    def reference(self) -> Path:
        """The joined regional reference FASTA."""
        return self.out_dir / "reference.fa"

    def member_vcf(self, sample: str) -> Path:
        """One member's own bgzipped VCF."""
        return self.out_dir / "members" / f"{sample}.vcf.gz"


def _simulate_chromosome(out: str, chrom: str, length: int, n_samples: int, population: str, seed: int,
                         edge: int) -> tuple[dict[str, Any], float]:
    """One chromosome's cohort and trio (in a child process); its manifest and the peak memory in MB."""
    from genomed.genome.reference import Region
    from genomed.simulate.cohort import simulate_cohort

    manifest = simulate_cohort(Path(out), n_samples=n_samples, regions=[Region(chrom, edge, length - edge)],
                               mode="genes", trios=1, population=population, seed=seed)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return manifest.to_dict(), peak_mb


def _count_records(path: Path) -> int:
    import pysam

    with pysam.TabixFile(str(path)) as tabix:
        return sum(sum(1 for _ in tabix.fetch(contig)) for contig in tabix.contigs)


def split_members(trio_vcf: Path, out_dir: Path) -> dict[str, Path]:
    """Each sample of a multi-sample VCF as its own bgzipped, indexed VCF in ``out_dir``, as a
    single-sample caller writes it: only the records where the sample carries an ALT allele, without
    the ALT alleles it does not carry. Returns sample → file."""
    import pysam
    from pysam import bcftools

    out_dir.mkdir(parents=True, exist_ok=True)
    with pysam.VariantFile(str(trio_vcf)) as vcf:
        samples = list(vcf.header.samples)
    files = {}
    for sample in samples:
        member = out_dir / f"{sample}.vcf.gz"
        bcftools.view("-s", sample, "-a", "-c", "1", "-Oz", "-o", str(member), str(trio_vcf), catch_stdout=False)
        pysam.tabix_index(str(member), preset="vcf", force=True)
        files[sample] = member
    return files


def _concat(pieces: Sequence[Path], out: Path) -> None:
    import pysam
    from pysam import bcftools

    bcftools.concat("--naive", "-o", str(out), *[str(p) for p in pieces], catch_stdout=False)
    pysam.tabix_index(str(out), preset="vcf", force=True)


def simulate_genome_trio(out_dir: Path, *, n_samples: int = 10, population: str = "AFR", seed: int = 1,
                         chroms: Sequence[str] = GENOME_CHROMS, edge: int = EDGE, workers: int = 2,
                         progress: Callable[[str], None] | None = None) -> GenomeTrio:
    """Simulate (or reuse) a genome trio: every chromosome of ``chroms`` whole, minus ``edge`` at each end.

    ``n_samples`` unrelated people are simulated beside the trio on each chromosome (they shape the
    genealogy and give a cohort VCF per chromosome). Chromosome ``i`` of ``chroms`` uses seed
    ``seed * 1000 + i``. Each chromosome runs in its own process, ``workers`` at a time.
    """
    import pysam

    say = progress or (lambda message: None)
    out = Path(out_dir)
    lengths = dict(primary_contigs(GRCH38))
    unknown = [c for c in chroms if c not in lengths]
    if unknown or not chroms:
        raise InputError(f"not primary GRCh38 chromosomes: {', '.join(unknown) or '(none given)'}")
    parameters = {"format": FORMAT, "n_samples": n_samples, "population": population, "seed": seed,
                  "chroms": list(chroms), "edge": edge}
    summary_path = out / "genome.json"
    if summary_path.exists():
        summary = json.loads(summary_path.read_text())
        if summary.get("parameters") == parameters:
            return _trio_from_summary(out, summary)
    out.mkdir(parents=True, exist_ok=True)
    peaks: dict[str, float] = {}
    manifests: dict[str, dict[str, Any]] = {}
    # A fresh process per chromosome: memory is returned after each, and each one's peak is its own.
    # ``workers`` chromosomes at a time (each needs at most about 2 GB for chr1).
    todo: list[tuple[int, str]] = []
    for i, chrom in enumerate(chroms):
        target = out / "chroms" / chrom
        done = target / "manifest.json"
        if done.exists() and json.loads(done.read_text()).get("seed") == seed * 1000 + i:
            manifests[chrom] = json.loads(done.read_text())
            if (target / "peak_memory_mb").exists():
                peaks[chrom] = float((target / "peak_memory_mb").read_text())
            say(f"{chrom}: cached")
            continue
        if target.exists():
            shutil.rmtree(target)
        todo.append((i, chrom))
    with ProcessPoolExecutor(max_workers=max(1, workers), max_tasks_per_child=1) as pool:
        started = time.perf_counter()
        futures = {chrom: pool.submit(_simulate_chromosome, str(out / "chroms" / chrom), chrom, lengths[chrom],
                                      n_samples, population, seed * 1000 + i, edge) for i, chrom in todo}
        for chrom, future in futures.items():
            manifest, peak = future.result()
            manifests[chrom], peaks[chrom] = manifest, peak
            (out / "chroms" / chrom / "peak_memory_mb").write_text(f"{peak:.1f}\n")
            say(f"{chrom}: {manifest['records']:,} cohort records, done at {time.perf_counter() - started:.0f} s, "
                f"peak {peak:,.0f} MB")
    first = manifests[chroms[0]]["trios"][0]
    samples = (str(first["child"]), str(first["father"]), str(first["mother"]))
    _concat([out / "chroms" / c / "trios" / f"{first['family_id']}.vcf.gz" for c in chroms], out / "trio.vcf.gz")
    _concat([out / "chroms" / c / "cohort.vcf.gz" for c in chroms], out / "cohort.vcf.gz")
    members = split_members(out / "trio.vcf.gz", out / "members")
    member_records = {sample: _count_records(path) for sample, path in members.items()}
    with open(out / "reference.fa", "wb") as joined:
        for chrom in chroms:
            with open(out / "chroms" / chrom / "reference.fa", "rb") as piece:
                shutil.copyfileobj(piece, joined, 16 << 20)
    pysam.faidx(str(out / "reference.fa"))
    summary = {"parameters": parameters, "samples": list(samples), "child_sex": first["child_sex"],
               "trio_records": _count_records(out / "trio.vcf.gz"), "member_records": member_records,
               "peak_memory_mb": peaks,
               "cohort_records": {c: manifests[c]["records"] for c in chroms}}
    summary_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return _trio_from_summary(out, summary)


def _trio_from_summary(out: Path, summary: dict[str, Any]) -> GenomeTrio:
    samples = summary["samples"]
    return GenomeTrio(out_dir=out, samples=(samples[0], samples[1], samples[2]), child_sex=summary["child_sex"],
                      trio_records=int(summary["trio_records"]),
                      member_records={k: int(v) for k, v in summary["member_records"].items()},
                      peak_memory_mb={k: float(v) for k, v in summary["peak_memory_mb"].items()})
