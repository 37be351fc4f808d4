"""The store's AC, AN, homozygote and hemizygote counts against slow oracles on whole files.

* multi-sample VCFs: ``oracle.count_alleles`` (text parsing, no htslib) on a population-genetic
  simulated cohort with missing calls, haploid male chrX and multi-allelic sites, and on the real
  1000 Genomes subset (2,548 samples);
* gVCFs: a second oracle below, equally plain, that derives allele numbers from reference blocks.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from genomed.data import data_file
from genomed.simulate.cohort import simulate_cohort
from genomed.store.ingestion import open_stream, stream_into_batch
from genomed.store.query import VariantStore
from genomed.store.writer import BatchWriter
from oracle import by_variant, count_alleles, parse_genotype, records, trim

NONPAR_X = ((10_001, 2_781_479), (155_701_383, 156_030_895))


def ingest(store: Path, paths: list[Path], first_id: int, digest: str) -> None:
    streams = [open_stream(p, "GRCh38") for p in paths]
    names = [s.name for stream in streams for s in stream.samples]
    writer = BatchWriter(store, source="gvcf" if streams[0].is_gvcf else "vcf", genome_build="GRCh38",
                         sample_ids=list(range(first_id, first_id + len(names))), input_sha256=[digest])
    _, samples = stream_into_batch(writer, streams)
    writer.finish(samples).commit()


def gvcf_oracle(paths: list[Path]) -> dict[tuple[str, int, str, str], tuple[int, int, int, int]]:
    """(AC, AN, hom, hemi) per variant of a gVCF batch, AN from every sample's blocks and calls."""
    covered: list[dict[str, list[tuple[int, int, int]]]] = []   # per sample: chrom -> (start, end, ploidy)
    variants: dict[tuple[str, int, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for path in paths:
        mine: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
        for chrom, fields in records(path):
            pos, ref, alts = int(fields[1]), fields[3], fields[4].split(",")
            keys = fields[8].split(":")
            values = dict(zip(keys, fields[9].split(":"), strict=False))
            gt = parse_genotype(values.get("GT", "."))
            if gt is None:
                continue
            end = pos
            for item in fields[7].split(";"):
                if item.startswith("END="):
                    end = int(item[4:])
            mine[chrom].append((pos, end, len(gt)))
            for index, alt in enumerate(alts, start=1):
                if alt.startswith("<") or alt == "*":
                    continue
                copies = gt.count(index)
                if copies:
                    t_pos, t_ref, t_alt = trim(pos, ref, alt)
                    counts = variants[(chrom, t_pos, t_ref, t_alt)]
                    counts[0] += copies
                    counts[1] += copies == 2 and len(gt) == 2
                    counts[2] += copies == 1 and len(gt) == 1
        covered.append(mine)
    result = {}
    for (chrom, pos, ref, alt), (ac, hom, hemi) in variants.items():
        an = 0
        for mine in covered:
            for start, end, ploidy in mine.get(chrom, []):
                if start <= pos <= end:
                    an += ploidy
                    break
        result[(chrom, pos, ref, alt)] = (ac, an, hom, hemi)
    return result


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    simulate_cohort(out, 60, n_genes=25, mode="genes", seed=31, gvcf_samples=8, missing_rate=0.03)
    return out


def test_simulated_cohort_vcf_agrees_with_the_oracle(simulated: Path, tmp_path: Path) -> None:
    vcf = simulated / "cohort.vcf.gz"
    ingest(tmp_path, [vcf], 1, "a" * 64)
    store = VariantStore(tmp_path, "GRCh38")
    truth = by_variant(count_alleles(vcf))
    assert len(truth) > 1000
    assert any(chrom == "chrX" for chrom, *_ in truth) or pytest.skip("no chrX gene drawn")
    hemizygous_seen = 0
    for (chrom, pos, ref, alt), expected in truth.items():
        got = store.variant(chrom, pos, ref, alt)
        assert (got.ac, got.an, got.n_hom_alt, got.n_hemi_alt) == expected, (chrom, pos, ref, alt)
        hemizygous_seen += got.n_hemi_alt
    assert hemizygous_seen > 0


def test_simulated_gvcfs_agree_with_the_block_oracle(simulated: Path, tmp_path: Path) -> None:
    gvcfs = sorted((simulated / "gvcf").glob("*.g.vcf.gz"))
    assert len(gvcfs) == 8
    ingest(tmp_path, gvcfs, 100, "b" * 64)
    store = VariantStore(tmp_path, "GRCh38")
    truth = gvcf_oracle(gvcfs)
    assert len(truth) > 200
    for (chrom, pos, ref, alt), expected in truth.items():
        got = store.variant(chrom, pos, ref, alt)
        assert (got.ac, got.an, got.n_hom_alt, got.n_hemi_alt) == expected, (chrom, pos, ref, alt)


def test_real_1000_genomes_subset_agrees_with_the_oracle(tmp_path: Path) -> None:
    vcf = data_file("population/1000G-chr22-subset.GRCh38.vcf.gz")
    ingest(tmp_path, [vcf], 1, "c" * 64)
    store = VariantStore(tmp_path, "GRCh38")
    truth = by_variant(count_alleles(vcf))
    assert len(truth) > 3000
    for (chrom, pos, ref, alt), expected in truth.items():
        got = store.variant(chrom, pos, ref, alt)
        assert (got.ac, got.an, got.n_hom_alt, got.n_hemi_alt) == expected, (chrom, pos, ref, alt)
    # and a sub-cohort of half the samples equals the same oracle restricted by exclusion
    half = set(range(1, 1 + 2548, 2))
    table = {(r["chrom"], r["pos"], r["ref"], r["alt"]): (r["ac"], r["an"])
             for r in store.subcohort_frequencies(half).to_pylist()}
    everyone = store.sample_ids()
    for variant in list(truth)[:300]:
        point = store.variant(*variant, exclude=everyone - half)
        assert table[variant] == (point.ac, point.an)
