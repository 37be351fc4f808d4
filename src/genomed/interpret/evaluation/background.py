"""Simulated background genomes for evaluation: whole exomes from a population-genetic simulation.

A spiked published variant must compete with what a real exome holds: tens of thousands of
variants, hundreds of them rare and damaging-looking. Random noise would be far too easy (no
linkage, no realistic frequency spectrum); the msprime simulation under a human demography with
recent growth (:mod:`genomed.simulate`) gives the right excess of rare variants. Every MANE Select
gene is simulated (exons plus flanks), so every published causal gene has background variants too.

The background cohort doubles as the population reference: a variant's frequency is its frequency
among the *other* simulated people, as gnomAD would see it without the patient.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import numpy.typing as npt

from genomed.annotate.model import Variant
from genomed.errors import InputError
from genomed.genome.reference import ReferenceGenome, open_reference
from genomed.ingest.chunks import MISSING, RecordChunk

DEFAULT_SAMPLES = 100


@dataclass
class Background:
    """A simulated cohort held in memory: sites, each sample's non-reference calls, allele counts."""

    directory: Path
    chrom: list[str]
    pos: npt.NDArray[np.int64]
    ref: list[str]
    alt: list[str]
    ac: npt.NDArray[np.int32]
    an: npt.NDArray[np.int32]
    samples: list[str]
    sexes: list[str]
    sample_rows: list[npt.NDArray[np.int64]]
    sample_codes: list[npt.NDArray[np.int8]]
    sample_gq: list[npt.NDArray[np.int16]]
    sample_dp: list[npt.NDArray[np.int32]]

    def __len__(self) -> int:
        return len(self.chrom)

    def variant(self, row: int) -> Variant:
        """The variant of a site row."""
        return Variant(self.chrom[row], int(self.pos[row]), self.ref[row], self.alt[row])

    def variants(self) -> list[Variant]:
        """Every site, in row order."""
        return [Variant(c, int(p), r, a) for c, p, r, a in zip(self.chrom, self.pos, self.ref, self.alt, strict=True)]

    def reference(self) -> ReferenceGenome:
        """The synthetic reference the cohort was simulated on."""
        return open_reference(self.directory / "reference.fa", "GRCh38")

    def pick(self, key: str, seed: int, sex: str) -> int:
        """A sample for a case, stable for (case, seed), of the case's sex when it is known."""
        pool = [i for i, s in enumerate(self.sexes) if sex not in ("male", "female") or s == sex] or \
            list(range(len(self.samples)))
        digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
        return pool[int.from_bytes(digest[:8], "big") % len(pool)]

    def frequency_without(self, sample: int) -> npt.NDArray[np.float64]:
        """Each site's allele frequency among the other samples (the sample's own alleles removed)."""
        ac = self.ac.astype(np.int64)
        an = self.an.astype(np.int64)
        rows, codes = self.sample_rows[sample], self.sample_codes[sample]
        # A man carries one allele outside the pseudoautosomal regions of X; two everywhere else.
        ploidy = np.full(len(ac), 2, dtype=np.int64)
        if self.sexes[sample] == "male":
            ploidy[self.x_haploid] = 1
        own = np.zeros(len(ac), dtype=np.int64)
        own[rows] = np.minimum(np.where(codes > 0, codes, 0), ploidy[rows])
        counted = ploidy.copy()
        counted[rows[codes < 0]] = 0  # a missing call never counted in AN
        frequency: npt.NDArray[np.float64] = np.maximum(ac - own, 0) / np.maximum(an - counted, 1)
        return frequency

    @cached_property
    def x_haploid(self) -> npt.NDArray[np.bool_]:
        """Sites on X outside the pseudoautosomal regions (haploid in men)."""
        from genomed.genome.builds import in_par

        return np.array([c in ("chrX", "X") and not in_par("GRCh38", c, int(p)) for c, p in zip(
            self.chrom, self.pos, strict=True)], dtype=bool)


def load_background(directory: Path) -> Background:
    """Read a simulated cohort directory (``cohort.vcf.gz``, ``reference.fa``, ``samples.tsv``)."""
    from genomed.ingest.reader import read_vcf

    vcf, table = directory / "cohort.vcf.gz", directory / "samples.tsv"
    if not vcf.is_file() or not table.is_file():
        raise InputError(f"{directory} is not a simulated cohort (cohort.vcf.gz and samples.tsv expected)")
    with open(table, encoding="utf-8") as handle:
        sex_of = {row["sample"]: row["sex"] for row in csv.DictReader(handle, delimiter="\t")}
    stream = read_vcf(vcf, expected_build="GRCh38")
    samples = [s.name for s in stream.samples]
    chrom: list[str] = []
    ref: list[str] = []
    alt: list[str] = []
    pos_parts, an_parts = [], []
    per_sample: list[list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int8], npt.NDArray[np.int16],
                                npt.NDArray[np.int32]]]] = [[] for _ in samples]
    ac_parts = []
    for chunk in stream:
        if not isinstance(chunk, RecordChunk):
            continue
        offset = len(chrom)
        chrom += chunk.chrom
        ref += chunk.ref
        alt += chunk.alt
        pos_parts.append(chunk.pos.astype(np.int64))
        an_parts.append(chunk.an.astype(np.int32))
        copies = np.where(chunk.gt_alt_count > 0, chunk.gt_alt_count, 0).astype(np.int64)
        ac_parts.append(np.bincount(chunk.gt_record, weights=copies, minlength=len(chunk)).astype(np.int32))
        codes = np.where(chunk.gt_alt_count == MISSING, -1,
                         np.where((chunk.gt_alt_count >= 2) | (chunk.gt_ploidy == 1), 2, 1)).astype(np.int8)
        order = np.argsort(chunk.gt_sample, kind="stable")
        bounds = np.searchsorted(chunk.gt_sample[order], np.arange(len(samples) + 1))
        for s in range(len(samples)):
            pick = order[bounds[s]:bounds[s + 1]]
            per_sample[s].append((chunk.gt_record[pick].astype(np.int64) + offset, codes[pick],
                                  chunk.gt_gq[pick], chunk.gt_dp[pick]))
    if not chrom:
        raise InputError(f"{vcf} holds no variants")

    def joined(s: int, k: int) -> npt.NDArray[np.generic]:
        return np.concatenate([part[k] for part in per_sample[s]])

    return Background(
        directory=directory, chrom=chrom, pos=np.concatenate(pos_parts), ref=ref, alt=alt,
        ac=np.concatenate(ac_parts), an=np.concatenate(an_parts), samples=samples,
        sexes=[sex_of.get(s, "unknown") for s in samples],
        sample_rows=[joined(s, 0).astype(np.int64) for s in range(len(samples))],
        sample_codes=[joined(s, 1).astype(np.int8) for s in range(len(samples))],
        sample_gq=[joined(s, 2).astype(np.int16) for s in range(len(samples))],
        sample_dp=[joined(s, 3).astype(np.int32) for s in range(len(samples))])


def ensure_background(cache: Path, *, samples: int = DEFAULT_SAMPLES, seed: int = 7) -> Path:
    """The directory of a simulated exome cohort, simulating it (about a minute) on first use."""
    from genomed.annotate.mane import load_mane
    from genomed.simulate.cohort import simulate_cohort

    directory = cache / f"exome-background-{samples}-seed{seed}"
    if (directory / "manifest.json").is_file():
        return directory
    simulate_cohort(directory, samples, n_genes=len(load_mane()), seed=seed)
    return directory
