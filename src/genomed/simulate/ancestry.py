"""The genealogy of the simulated people: msprime's coalescent under a human demography.

Why a coalescent and not random genotypes: real cohorts owe their shape to history. Europe's
population grew ~50-fold in the last ~5,000 years, so most variants a sequencing programme sees are
rare (singletons are about half of all sites in a few thousand exomes), common variants are old
and shared, and nearby sites are in linkage disequilibrium. A variant store, its allele-frequency
queries and its compression all behave differently on such data than on uniform noise.

The demography is the two-population Out-of-Africa model with recent accelerated growth of
Tennessen et al. (2012, Science 337:64, "Evolution and functional impact of rare coding variation
from deep sequencing of human exomes"), which was fitted to exactly this kind of data (exomes of
European and African Americans), with its published parameters (25-year generations). It is
written here directly with msprime's Demography API.

Regions closer than :data:`LINKED_GAP` on a chromosome form one *locus*, simulated in one call
with the regions laid end to end and a one-base linker between them whose recombination rate
stands for the real gap (and whose mutation rate is zero), so the exons of a gene are linked as
their genomic distances imply. Loci are simulated independently: linkage disequilibrium is gone
beyond ~100 kb in European genomes, and one call over many unlinked loci costs far more than
separate calls (msprime then tracks every lineage through every free recombination).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from genomed.errors import InputError
from genomed.genome.reference import Region

MUTATION_RATE = 1.25e-8  # per base per generation (Scally & Durbin 2012)
RECOMBINATION_RATE = 1e-8  # per base per generation, genome-wide average (~1 cM/Mb)
LINKED_GAP = 100_000  # regions closer than this are simulated together, linked

DEMOGRAPHY_NAME = "Tennessen et al. 2012 Out-of-Africa with recent growth (OutOfAfrica_2T12)"
POPULATIONS = ("EUR", "AFR")


def sub_seed(seed: int, label: str) -> int:
    """A seed for one random stream of a simulation, stable across runs and independent of the others.

    >>> sub_seed(1, "ancestry") == sub_seed(1, "ancestry") != sub_seed(1, "mutations")
    True
    """
    state = np.random.SeedSequence([seed, zlib.crc32(label.encode("utf-8"))]).generate_state(1)
    return int(state[0]) % (2**31 - 2) + 1  # msprime wants 1 <= seed < 2**32


def rng_for(seed: int, label: str) -> np.random.Generator:
    """A numpy generator for one named random stream of a simulation."""
    return np.random.default_rng(sub_seed(seed, label))


def tennessen_2012() -> object:
    """The Tennessen et al. (2012) model as an ``msprime.Demography`` (populations AFR, EUR, OOA).

    Times in generations before present: ancestral expansion 5,920 (148 kya); out-of-Africa split
    2,040 (51 kya) into a bottlenecked OOA population of 1,861; European split 920 (23 kya) at 1,032
    growing 0.307%/generation; from 204.6 generations (5.1 kya) accelerated growth, 1.95% in EUR (to
    ~501,000) and 1.66% in AFR (to ~432,000). Migration AFR-OOA 15e-5, AFR-EUR 2.5e-5.
    """
    import msprime

    t_growth, t_eur, t_ooa, t_anc = 5_115 / 25, 23_000 / 25, 51_000 / 25, 148_000 / 25
    r_eur0, r_eur, r_afr = 0.00307, 0.0195, 0.0166
    n_anc, n_afr0, n_ooa, n_eur0 = 7_310, 14_474, 1_861, 1_032
    n_eur1 = n_eur0 * math.exp(r_eur0 * (t_eur - t_growth))
    n_eur = n_eur1 * math.exp(r_eur * t_growth)
    n_afr = n_afr0 * math.exp(r_afr * t_growth)

    demography = msprime.Demography()
    demography.add_population(name="AFR", description="African", initial_size=n_afr, growth_rate=r_afr,
                              initially_active=True)
    demography.add_population(name="EUR", description="European", initial_size=n_eur, growth_rate=r_eur)
    demography.add_population(name="OOA", description="Out-of-Africa bottleneck", initial_size=n_ooa)
    demography.set_symmetric_migration_rate(["AFR", "EUR"], 2.5e-5)
    demography.add_population_parameters_change(t_growth, population="AFR", initial_size=n_afr0, growth_rate=0)
    demography.add_population_parameters_change(t_growth, population="EUR", initial_size=n_eur1,
                                                growth_rate=r_eur0)
    demography.add_symmetric_migration_rate_change(t_eur, ["AFR", "EUR"], 0)
    demography.add_population_split(t_eur, derived=["EUR"], ancestral="OOA")
    demography.add_symmetric_migration_rate_change(t_eur, ["AFR", "OOA"], 15e-5)
    demography.add_symmetric_migration_rate_change(t_ooa, ["AFR", "OOA"], 0)
    demography.add_population_split(t_ooa, derived=["OOA"], ancestral="AFR")
    demography.add_population_parameters_change(t_anc, population="AFR", initial_size=n_anc)
    demography.sort_events()
    return demography


@dataclass(frozen=True)
class Layout:
    """Where each region sits in the concatenated sequence msprime simulates."""

    regions: tuple[Region, ...]
    starts: npt.NDArray[np.int64]  # concatenated coordinate of each region's first base
    length: int

    @classmethod
    def of(cls, regions: Sequence[Region]) -> Layout:
        starts, cursor = [], 0
        for region in regions:
            starts.append(cursor)
            cursor += region.length + 1  # one linker base after each region
        return cls(tuple(regions), np.array(starts, dtype=np.int64), cursor)

    def to_genome(self, x: npt.ArrayLike) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(region index, 0-based genomic position) of concatenated coordinates."""
        coords = np.asarray(x, dtype=np.int64)
        region = np.searchsorted(self.starts, coords, side="right") - 1
        lengths = np.array([r.length for r in self.regions], dtype=np.int64)
        if bool(np.any(coords - self.starts[region] >= lengths[region])):
            raise InputError("a simulated site fell on a linker between regions")
        genomic = np.array([r.start for r in self.regions], dtype=np.int64)[region] + coords - self.starts[region]
        return region.astype(np.int64), genomic

    def rate_maps(self, mutation_rate: float, recombination_rate: float) -> tuple[object, object]:
        """msprime RateMaps: (recombination, mutation) over the concatenated sequence."""
        import msprime

        positions: list[float] = [0.0]
        recombination: list[float] = []
        mutation: list[float] = []
        for number, (region, start) in enumerate(zip(self.regions, self.starts.tolist(), strict=True)):
            positions += [float(start + region.length), float(start + region.length + 1)]
            recombination.append(recombination_rate)
            mutation.append(mutation_rate)
            following = self.regions[number + 1] if number + 1 < len(self.regions) else None
            gap = following.start - region.end + 1 if following is not None else 1
            recombination.append(recombination_rate * gap)  # the real gap's worth of recombination
            mutation.append(0.0)
        return (msprime.RateMap(position=positions, rate=recombination),
                msprime.RateMap(position=positions, rate=mutation))


def group_loci(regions: Sequence[Region], linked_gap: int = LINKED_GAP) -> list[list[Region]]:
    """Consecutive regions of one chromosome closer than ``linked_gap``, grouped into loci.

    >>> [len(g) for g in group_loci([Region("chr1", 0, 10), Region("chr1", 50, 60), Region("chr1", 10**6, 10**6 + 5),
    ...                              Region("chr2", 0, 10)])]
    [2, 1, 1]
    """
    loci: list[list[Region]] = []
    for region in regions:
        last = loci[-1][-1] if loci else None
        if last is not None and last.chrom == region.chrom and region.start - last.end < linked_gap:
            loci[-1].append(region)
        else:
            loci.append([region])
    return loci


@dataclass(frozen=True)
class Locus:
    """One independently simulated stretch of linked regions: its tree sequence and layout."""

    ts: Any  # tskit.TreeSequence, with mutations (tskit ships no type information)
    layout: Layout


@dataclass(frozen=True)
class Ancestry:
    """The simulated loci, in genomic order, for the same individuals."""

    loci: tuple[Locus, ...]
    n_individuals: int
    population: str
    demography: str = DEMOGRAPHY_NAME

    @property
    def num_sites(self) -> int:
        return sum(int(locus.ts.num_sites) for locus in self.loci)


def simulate_ancestry(regions: Sequence[Region], n_individuals: int, seed: int, *, population: str = "EUR",
                      mutation_rate: float = MUTATION_RATE, recombination_rate: float = RECOMBINATION_RATE,
                      linked_gap: int = LINKED_GAP, threads: int = 2,
                      progress: Callable[[int, int], None] | None = None) -> Ancestry:
    """Diploid individuals sampled today from ``population``; deterministic for ``seed``.

    Individual ``i`` owns haplotypes (sample nodes) ``2i`` and ``2i + 1`` in every locus. Mutations
    follow msprime's default nucleotide model on a discrete genome, so a position can be hit
    twice (multi-allelic sites); the nucleotides themselves are replaced later by bases consistent
    with the synthetic reference, only the allele identities are kept.
    """
    import msprime

    if population not in POPULATIONS:
        raise InputError(f"population must be one of {', '.join(POPULATIONS)}, got {population!r}")
    if n_individuals < 1:
        raise InputError("at least one individual is needed")
    if not regions:
        raise InputError("no regions to simulate")
    demography = tennessen_2012()
    groups = group_loci(regions, linked_gap)

    def simulate(number: int) -> Locus:
        layout = Layout.of(groups[number])
        recombination, mutation = layout.rate_maps(mutation_rate, recombination_rate)
        ts = msprime.sim_ancestry(samples={population: n_individuals}, demography=demography,
                                  recombination_rate=recombination, sequence_length=layout.length,
                                  discrete_genome=True, ploidy=2, random_seed=sub_seed(seed, f"ancestry:{number}"))
        ts = msprime.sim_mutations(ts, rate=mutation, discrete_genome=True,
                                   random_seed=sub_seed(seed, f"mutations:{number}"))
        return Locus(ts=ts, layout=layout)

    # Each locus has its own seed, so running them on two threads (msprime releases the GIL for
    # part of its work) changes nothing in the result.
    loci = []
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        for locus in pool.map(simulate, range(len(groups))):
            loci.append(locus)
            if progress is not None:
                progress(len(loci), len(groups))
    return Ancestry(loci=tuple(loci), n_individuals=n_individuals, population=population)
