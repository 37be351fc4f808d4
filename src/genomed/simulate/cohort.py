"""Simulate a cohort end to end: regions, reference, genealogy, alleles, and the files a lab would send.

:func:`simulate_cohort` writes into ``out_dir``::

    cohort.vcf.gz (+ .tbi)      every sample, multi-sample VCF, GT:AD:DP:GQ
    gvcf/<sample>.g.vcf.gz      per-sample gVCFs with reference blocks (first ``gvcf_samples`` samples)
    trios/<family>.vcf.gz       one VCF per trio (child, father, mother)
    trios/families.ped          the pedigrees
    trios/de_novo_truth.json    every de novo mutation, per family
    reference.fa (+ .fai)       the synthetic reference, one record per region (``chr1:1001-2000``)
    samples.tsv                 sample, sex, population
    messy.tsv                   (messy=True) records written unnormalised, with their normal form
    manifest.json               seed, parameters, demography, tool versions, counts, files

Everything is a function of the seed: the same call writes byte-identical files. The genotype
stream goes through memory a chunk of sites at a time, so memory stays bounded whatever the size.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from genomed.annotate.mane import MANE_FILE, load_mane
from genomed.errors import InputError
from genomed.genome.builds import GRCH38, PAR, primary_contigs
from genomed.genome.reference import Region
from genomed.simulate.ancestry import (
    DEMOGRAPHY_NAME,
    MUTATION_RATE,
    RECOMBINATION_RATE,
    rng_for,
    simulate_ancestry,
)
from genomed.simulate.bgzf import DEFAULT_LEVEL
from genomed.simulate.coverage import DepthModel, Intervals, coverage_gaps, reference_blocks
from genomed.simulate.family import (
    Meiosis,
    Trio,
    child_calls,
    de_novo_batch,
    merge_batches,
    plan_de_novo,
    write_pedigree,
    write_truth,
)
from genomed.simulate.regions import Mode, RegionSet, close_regions, merge_regions, select_genes, transcripts_within
from genomed.simulate.sequence import SyntheticReference, build_reference
from genomed.simulate.variants import (
    DELETION,
    INDEL_FRACTION,
    INSERTION,
    SiteTable,
    design_sites,
    diploid_calls,
    iter_haplotypes,
    ploidy_classes,
    set_missing,
)
from genomed.simulate.writers import SiteBatch, VcfWriter, vcf_header, write_gvcf

Progress = Callable[[str, int, int], None]
GENOTYPE_FIELDS_PER_CHUNK = 500_000  # sites x samples per chunk: bounds memory, keeps GIL hold times short


@dataclass
class SimulationManifest:
    """What a simulation wrote and how it was made (``manifest.json`` holds all but the timings)."""

    out_dir: Path
    seed: int
    build: str
    parameters: dict[str, Any]
    samples: list[tuple[str, str]]
    genes: list[str]
    n_regions: int
    region_bases: int
    sites_simulated: int
    records: int
    multiallelic_records: int
    indel_sites: int
    messy_sites: int
    trios: list[dict[str, Any]]
    files: dict[str, str]
    provenance: dict[str, Any]
    gene_model_conflicts: list[str]
    timings: dict[str, float] = field(default_factory=dict)

    def path(self, role: str) -> Path:
        """Absolute path of an output named in :attr:`files` (e.g. ``"cohort_vcf"``, ``"reference"``)."""
        return self.out_dir / self.files[role]

    def to_dict(self) -> dict[str, Any]:
        """The manifest document: relative paths and no timings, so that it is reproducible too."""
        return {
            "format": "genomed-simulation/1",
            "seed": self.seed,
            "build": self.build,
            "parameters": self.parameters,
            "demography": DEMOGRAPHY_NAME,
            "samples": [{"sample": s, "sex": sex} for s, sex in self.samples],
            "genes": self.genes,
            "regions": {"count": self.n_regions, "bases": self.region_bases},
            "sites_simulated": self.sites_simulated,
            "records": self.records,  # in cohort.vcf.gz
            "multiallelic_records": self.multiallelic_records,
            "indel_sites": self.indel_sites,
            "messy_sites": self.messy_sites,
            "trios": self.trios,
            "files": self.files,
            "provenance": self.provenance,
            "gene_model_conflicts": self.gene_model_conflicts,
        }


def _provenance(mane: Path) -> dict[str, Any]:
    from importlib.metadata import version

    from genomed import __version__

    digest = hashlib.sha256(mane.read_bytes()).hexdigest()
    tools = {name: version(name) for name in ("msprime", "tskit", "numpy", "pysam")}
    return {"genomed": __version__, **tools, "gene_models": {"file": MANE_FILE, "sha256": digest}}


def _sexes(n: int, sexes: Sequence[str] | None, rng: np.random.Generator) -> list[str]:
    if sexes is None:
        return ["male" if male else "female" for male in (rng.random(n) < 0.5).tolist()]
    if len(sexes) != n:
        raise InputError(f"{len(sexes)} sexes given for {n} samples")
    bad = sorted({s for s in sexes if s not in ("male", "female")})
    if bad:
        raise InputError(f"sex must be 'male' or 'female', got {', '.join(bad)}")
    return list(sexes)


def _regions(n_genes: int | None, regions: Sequence[Region] | None, genes: Sequence[str] | None, mode: Mode,
             flank: int, seed: int) -> RegionSet:
    transcripts = load_mane(select_only=False)
    if regions:
        merged = merge_regions(regions)
        held = transcripts_within(merged, transcripts)
        return RegionSet(tuple(merged), tuple(dict.fromkeys(t.gene_symbol for t in held)), tuple(held))
    select = [t for t in transcripts if t.mane_status == "MANE Select"]
    chosen = select_genes(select, n_genes or 0, rng_for(seed, "genes"), genes=genes)
    return close_regions(chosen, transcripts, mode=mode, flank=flank)


def _par_cuts(reference: SyntheticReference) -> npt.NDArray[np.int64]:
    """Packed coordinates where ploidy changes inside a region (PAR boundaries on chrX)."""
    cuts = []
    for number, region in enumerate(reference.regions):
        for start, end in PAR[reference.build].get(region.chrom.removeprefix("chr"), ()):
            for boundary in (start - 1, end):
                if region.start < boundary < region.end:
                    cuts.append(int(reference.offsets[number]) + boundary - region.start)
    return np.array(sorted(cuts), dtype=np.int64)


def _block_haploid(reference: SyntheticReference, starts: npt.NDArray[np.int64], male: bool) -> npt.NDArray[np.bool_]:
    region = np.searchsorted(reference.offsets, starts, side="right") - 1
    chroms = [reference.regions[r].chrom for r in region.tolist()]
    genomic = np.array([reference.regions[r].start for r in region.tolist()], dtype=np.int64) + starts \
        - reference.offsets[region]
    classes = ploidy_classes(chroms, genomic, reference.build)
    haploid: npt.NDArray[np.bool_] = (classes != 0) & male
    return haploid


def _chrom_intervals(reference: SyntheticReference, chrom: str) -> Intervals:
    numbers = [i for i, r in enumerate(reference.regions) if r.chrom == chrom]
    return Intervals(reference.offsets[numbers].astype(np.int64), reference.offsets[[i + 1 for i in numbers]]
                     .astype(np.int64))


def simulate_cohort(out_dir: Path, n_samples: int, *, n_genes: int | None = 50, regions: Sequence[Region] | None = None,
                    genes: Sequence[str] | None = None, seed: int = 1, sexes: Sequence[str] | None = None,
                    missing_rate: float = 0.01, gvcf_samples: int = 0, trios: int = 0, messy: bool = False,
                    mode: Mode = "exons", flank: int = 100, population: str = "EUR",
                    indel_fraction: float = INDEL_FRACTION, min_de_novo: int = 0, compress_level: int = DEFAULT_LEVEL,
                    threads: int = 2, sample_prefix: str = "SIM", progress: Progress | None = None
                    ) -> SimulationManifest:
    """Simulate ``n_samples`` people (and ``trios`` families) over MANE gene regions; write the files.

    Choose the regions with ``n_genes`` random MANE Select genes, named ``genes``, or explicit
    ``regions``. ``mode`` is ``"exons"`` (exome-like: exons plus ``flank``) or ``"genes"`` (whole
    genes plus ``flank``). ``sexes`` lists "male"/"female" per sample (default: random halves).
    ``missing_rate`` is the share of genotypes left uncalled (``./.``) in samples without a gVCF;
    samples with one are uncalled exactly where their gVCF has no coverage. ``messy`` writes some
    records unnormalised (see :mod:`genomed.simulate.variants`). ``compress_level`` 6 is bgzip's.
    """
    started = time.perf_counter()
    timings: dict[str, float] = {}
    say = progress or (lambda stage, done, total: None)
    if n_samples < 0 or trios < 0 or gvcf_samples < 0:
        raise InputError("sample, trio and gVCF counts cannot be negative")
    if n_samples == 0 and trios == 0:
        raise InputError("nothing to simulate: no samples and no trios")
    if gvcf_samples > n_samples:
        raise InputError(f"{gvcf_samples} gVCFs asked for but only {n_samples} samples")
    if not 0 <= missing_rate < 1:
        raise InputError(f"missing_rate must be in [0, 1), got {missing_rate}")
    if not 1 <= compress_level <= 9:
        raise InputError(f"compress_level must be 1-9, got {compress_level}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    build = GRCH38

    say("regions", 0, 1)
    region_set = _regions(n_genes, regions, genes, mode, flank, seed)
    reference, conflicts = build_reference(region_set.regions, region_set.transcripts, rng_for(seed, "reference"),
                                           build=build)
    reference.write_fasta(out / "reference.fa")
    say("regions", 1, 1)
    timings["regions_and_reference"] = time.perf_counter() - started

    names = [f"{sample_prefix}{i + 1:05d}" for i in range(n_samples)]
    sex_list = _sexes(n_samples, sexes, rng_for(seed, "sexes"))
    male = np.array([s == "male" for s in sex_list], dtype=bool)
    family_rng = rng_for(seed, "families")
    child_male = (family_rng.random(trios) < 0.5).tolist()
    n_individuals = n_samples + 2 * trios

    mark = time.perf_counter()
    ancestry = simulate_ancestry(region_set.regions, n_individuals, seed, population=population, threads=threads,
                                 progress=lambda done, total: say("ancestry", done, total))
    sites = design_sites(ancestry, reference, rng_for(seed, "alleles"), indel_fraction=indel_fraction, messy=messy)
    timings["ancestry"] = time.perf_counter() - mark

    contigs = [(name, length) for name, length in primary_contigs(build)]
    meta = {"genomed_simulation": f'<seed={seed},demography="{DEMOGRAPHY_NAME}",population={population}>'}
    from genomed import __version__

    source = f"genomed.simulate {__version__}"
    files: dict[str, str] = {"reference": "reference.fa", "reference_index": "reference.fa.fai"}

    depth = DepthModel(n_samples, rng_for(seed, "depth-model"))
    gaps: dict[int, Intervals] = {}
    for j in range(gvcf_samples):
        gaps[j] = coverage_gaps(reference.offsets, rng_for(seed, f"gaps:{j}"))
        if not male[j]:  # no chrY at all: neither calls nor blocks
            chr_y = _chrom_intervals(reference, "chrY")
            gaps[j] = Intervals.union(np.concatenate([gaps[j].start, chr_y.start]),
                                      np.concatenate([gaps[j].end, chr_y.end]))

    cohort_writer: VcfWriter | None = None
    if n_samples:
        header = vcf_header(names, contigs=contigs, build=build, reference="reference.fa", source=source, meta=meta)
        cohort_writer = VcfWriter(out / "cohort.vcf.gz", names, header, depth, rng_for(seed, "cohort-fields"),
                                  level=compress_level, threads=threads, capture=range(gvcf_samples))
        files["cohort_vcf"] = "cohort.vcf.gz"
        files["cohort_vcf_index"] = "cohort.vcf.gz.tbi"

    trio_list, trio_writers, meioses = _prepare_trios(out, trios, n_samples, child_male, reference, sites, seed,
                                                     min_de_novo, contigs, build, source, meta, compress_level,
                                                     threads)
    mark = time.perf_counter()
    missing_rng = rng_for(seed, "missing")
    chunk = max(16, min(8192, GENOTYPE_FIELDS_PER_CHUNK // max(1, n_individuals)))
    region_start = np.array([r.start for r in reference.regions], dtype=np.int64)
    order_key = reference.offsets[sites.region] + sites.pos - region_start[sites.region]
    pending = {t.family_id: 0 for t in trio_list}
    done = 0
    try:
        for site_ids, haplotypes in iter_haplotypes(ancestry, chunk):
            chroms = [reference.regions[r].chrom for r in sites.region[site_ids].tolist()]
            pos = sites.pos[site_ids]
            refs = [sites.ref[i] for i in site_ids.tolist()]
            alts = [sites.alts[i] for i in site_ids.tolist()]
            classes = ploidy_classes(chroms, pos, build)
            if cohort_writer is not None:
                calls = diploid_calls(haplotypes[:, : 2 * n_samples], classes, male)
                mask = missing_rng.random(calls.shape[:2], dtype=np.float32) < missing_rate
                for j, sample_gaps in gaps.items():
                    mask[:, j] = sample_gaps.contains(order_key[site_ids])
                set_missing(calls, mask)
                cohort_writer.write(SiteBatch(chroms, pos, refs, alts, calls))
            for number, trio in enumerate(trio_list):
                batch = _trio_batch(haplotypes, trio, bool(child_male[number]), chroms, pos, refs, alts, classes,
                                    meioses[number], missing_rate, missing_rng)
                last_key = order_key[site_ids[-1]]
                denovo = [m for m in trio.de_novo[pending[trio.family_id]:]
                          if _packed(reference, m.chrom, m.pos - 1) <= last_key]
                pending[trio.family_id] += len(denovo)
                if denovo:
                    keys = np.concatenate([order_key[site_ids],
                                           [_packed(reference, m.chrom, m.pos - 1) for m in denovo]])
                    batch = merge_batches(batch, de_novo_batch(denovo), keys)
                trio_writers[number].write(batch)
            done += site_ids.size
            say("genotypes", done, sites.size)
        for number, trio in enumerate(trio_list):
            rest = trio.de_novo[pending[trio.family_id]:]
            if rest:
                trio_writers[number].write(de_novo_batch(rest))
            trio_writers[number].close()
        if cohort_writer is not None:
            cohort_writer.close()
    except BaseException:
        for writer in trio_writers:
            writer.abort()
        if cohort_writer is not None:
            cohort_writer.abort()
        raise
    timings["genotypes"] = time.perf_counter() - mark

    mark = time.perf_counter()
    if gvcf_samples and cohort_writer is not None:
        (out / "gvcf").mkdir(exist_ok=True)
        cuts = _par_cuts(reference)
        captured = cohort_writer.captured

        def write_one(j: int) -> str:
            header = vcf_header([names[j]], contigs=contigs, build=build, reference="reference.fa", source=source,
                                meta=meta, gvcf=True)
            blocks = reference_blocks(reference.offsets, float(depth.sample_mean[j]), rng_for(seed, f"blocks:{j}"),
                                      cuts=cuts)
            haploid = _block_haploid(reference, blocks.start, bool(male[j]))
            relative = f"gvcf/{names[j]}.g.vcf.gz"
            write_gvcf(out / relative, header, reference, blocks, gaps[j], captured[j], haploid,
                       level=compress_level, threads=threads)
            return relative

        # Samples on parallel threads: one renders its records while another's blocks compress.
        # Each sample has its own random stream, so the files do not depend on the scheduling.
        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            for j, relative in enumerate(pool.map(write_one, range(gvcf_samples))):
                files[f"gvcf:{names[j]}"] = relative
                say("gvcf", j + 1, gvcf_samples)
    timings["gvcf"] = time.perf_counter() - mark

    if trio_list:
        files["trios_ped"] = "trios/families.ped"
        files["de_novo_truth"] = "trios/de_novo_truth.json"
        trio_files = {t.family_id: f"trios/{t.family_id}.vcf.gz" for t in trio_list}
        files.update({f"trio:{k}": v for k, v in trio_files.items()})
        write_pedigree(out / "trios" / "families.ped", trio_list)
        write_truth(out / "trios" / "de_novo_truth.json", trio_list, trio_files)
    (out / "samples.tsv").write_text("sample\tsex\tpopulation\n" + "".join(
        f"{n}\t{s}\t{population}\n" for n, s in zip(names, sex_list, strict=True)), encoding="ascii")
    files["samples"] = "samples.tsv"
    if messy:
        _write_messy(out / "messy.tsv", reference, sites)
        files["messy"] = "messy.tsv"

    manifest = SimulationManifest(
        out_dir=out, seed=seed, build=build,
        parameters={"n_samples": n_samples, "n_genes": n_genes if not regions else None,
                    "genes": list(genes) if genes else None, "mode": mode, "flank": flank,
                    "population": population, "missing_rate": missing_rate, "gvcf_samples": gvcf_samples,
                    "trios": trios, "messy": messy, "indel_fraction": indel_fraction, "min_de_novo": min_de_novo,
                    "mutation_rate": MUTATION_RATE, "recombination_rate": RECOMBINATION_RATE,
                    "compress_level": compress_level, "sexes": "given" if sexes is not None else "random"},
        samples=list(zip(names, sex_list, strict=True)), genes=list(region_set.genes),
        n_regions=len(region_set.regions), region_bases=region_set.total_length, sites_simulated=sites.size,
        records=cohort_writer.records if cohort_writer is not None else 0,
        multiallelic_records=cohort_writer.multiallelic if cohort_writer is not None else 0,
        indel_sites=int(np.isin(sites.kind, (INSERTION, DELETION)).sum()), messy_sites=len(sites.messy),
        trios=[{"family_id": t.family_id, "child": t.child, "father": t.father, "mother": t.mother,
                "child_sex": t.child_sex, "de_novo": len(t.de_novo)} for t in trio_list],
        files=files, provenance=_provenance(_mane_path()), gene_model_conflicts=conflicts, timings=timings)
    (out / "manifest.json").write_text(json.dumps(manifest.to_dict(), indent=2) + "\n", encoding="utf-8")
    manifest.files["manifest"] = "manifest.json"
    timings["total"] = time.perf_counter() - started
    return manifest


def simulate_trios(out_dir: Path, families: int = 1, **options: Any) -> SimulationManifest:
    """Only trios (no cohort VCF): ``simulate_cohort(out_dir, 0, trios=families, ...)``."""
    options.setdefault("min_de_novo", 1)
    return simulate_cohort(out_dir, 0, trios=families, **options)


def _mane_path() -> Path:
    from genomed.data import data_file

    return data_file(MANE_FILE)


def _packed(reference: SyntheticReference, chrom: str, pos: int) -> int:
    return int(reference.index(chrom, [pos])[0])


def _prepare_trios(out: Path, trios: int, first_individual: int, child_male: list[bool], reference: SyntheticReference,
                   sites: SiteTable, seed: int, min_de_novo: int, contigs: list[tuple[str, int]], build: str,
                   source: str, meta: dict[str, str], level: int, threads: int
                   ) -> tuple[list[Trio], list[VcfWriter], list[tuple[Meiosis, Meiosis]]]:
    if not trios:
        return [], [], []
    (out / "trios").mkdir(exist_ok=True)
    spans: dict[str, tuple[int, int]] = {}
    for region in reference.regions:
        start, end = spans.get(region.chrom, (region.start, region.end))
        spans[region.chrom] = (min(start, region.start), max(end, region.end))
    trio_list, writers, meioses = [], [], []
    for number in range(trios):
        family_id = f"FAM{number + 1:03d}"
        father, mother = first_individual + 2 * number, first_individual + 2 * number + 1
        rng = rng_for(seed, f"trio:{number}")
        meioses.append((Meiosis(spans, rng), Meiosis(spans, rng)))
        trio = Trio(family_id=family_id, child=f"{family_id}-P", father=f"{family_id}-F", mother=f"{family_id}-M",
                    child_sex="male" if child_male[number] else "female", father_individual=father,
                    mother_individual=mother,
                    de_novo=tuple(plan_de_novo(reference, sites, rng_for(seed, f"de-novo:{number}"),
                                               minimum=min_de_novo)))
        trio_list.append(trio)
        header = vcf_header(list(trio.samples), contigs=contigs, build=build, reference="../reference.fa",
                            source=source, meta=meta)
        depth = DepthModel(3, rng_for(seed, f"trio-depth:{number}"))
        writers.append(VcfWriter(out / "trios" / f"{family_id}.vcf.gz", trio.samples, header, depth,
                                 rng_for(seed, f"trio-fields:{number}"), level=level, threads=threads))
    return trio_list, writers, meioses


def _trio_batch(haplotypes: npt.NDArray[np.int8], trio: Trio, male_child: bool, chroms: list[str],
                pos: npt.NDArray[np.int64], refs: list[str], alts: list[tuple[str, ...]],
                classes: npt.NDArray[np.int64], meiosis: tuple[Meiosis, Meiosis], missing_rate: float,
                rng: np.random.Generator) -> SiteBatch:
    f, m = trio.father_individual, trio.mother_individual
    parents = np.stack([haplotypes[:, 2 * f], haplotypes[:, 2 * f + 1], haplotypes[:, 2 * m],
                        haplotypes[:, 2 * m + 1]], axis=1)
    parent_calls = diploid_calls(parents, classes, np.array([True, False]))
    child = child_calls(haplotypes, f, m, male_child, chroms, pos, classes, meiosis[0], meiosis[1])
    calls = np.concatenate([child[:, None, :], parent_calls], axis=1)
    set_missing(calls, rng.random(calls.shape[:2], dtype=np.float32) < missing_rate)
    return SiteBatch(chroms, pos, refs, alts, calls)


def _write_messy(path: Path, reference: SyntheticReference, sites: SiteTable) -> None:
    lines = ["chrom\tpos\tref\talt\tnormalised_pos\tnormalised_ref\tnormalised_alt"]
    for site, (pos, ref, alt) in sorted(sites.messy.items()):
        chrom = reference.regions[int(sites.region[site])].chrom
        lines.append(f"{chrom}\t{int(sites.pos[site]) + 1}\t{sites.ref[site]}\t{','.join(sites.alts[site])}\t"
                     f"{pos + 1}\t{ref}\t{alt}")
    path.write_text("\n".join(lines) + "\n", encoding="ascii")


__all__ = ["SimulationManifest", "simulate_cohort", "simulate_trios"]
