"""The people of the attack: beacon members, the attacker's reference panel, and outsiders, from one genealogy.

Why one msprime genealogy for all three groups: the attack lives on rare variants, and whether a
rare allele of the target is in the beacon depends on how the target is related to the members.
Drawing members, reference panel and outsiders as exchangeable samples of the same simulated
population (Tennessen et al. 2012 European demography with its recent 50-fold growth, so that
most variants are rare, as in real cohorts) gives every group the same kinship to the others,
which is what "a non-member from the same population" means. Independent random genotypes would
make the attack either trivial or impossible, depending on the frequencies chosen.

What is kept is what the attack needs, not the genotypes: per allele, how many members carry it
(the beacon's true count), how many reference-panel individuals carry it and how many copies they
have (the attacker's frequency estimate); per member and per outsider, the alleles they carry.
Alleles carried by more than ``max_carrier_fraction`` of everyone are dropped: their answer is
"yes" whoever asks, so no attacker spends a query on them (and each target keeps thousands of
rarer ones; :attr:`BeaconPopulation.alleles_per_target` says how many).

The simulated sequence is ``megabases`` of independent 1-Mb loci. A whole genome is ~3,000 Mb; a
few hundred Mb give every target more rare alleles than a 1,000-query attacker can use, which is
what makes the simulated attacker as strong as a real one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from genomed.errors import InputError
from genomed.genome.reference import Region
from genomed.simulate.ancestry import DEMOGRAPHY_NAME, simulate_ancestry, sub_seed

Ints = npt.NDArray[np.int32]
LOCUS_BP = 1_000_000
MAX_CARRIER_FRACTION = 0.05
_LOCI_PER_CALL = 8  # loci simulated per msprime call: bounds the memory held by tree sequences


@dataclass(frozen=True)
class BeaconPopulation:
    """Allele counts and per-person allele lists for ``n_members`` members and ``n_outsiders`` outsiders.

    People are numbered ``0 .. n_members - 1`` (members, in the beacon) then ``n_members ..
    n_members + n_outsiders - 1`` (outsiders); the reference panel is only seen through its counts.
    """

    n_members: int
    n_reference: int
    n_outsiders: int
    member_count: Ints  # per allele: members carrying it, the beacon's true count
    reference_carriers: Ints  # per allele: reference-panel individuals carrying it
    reference_copies: Ints  # per allele: copies of it in the reference panel (of 2 x n_reference)
    offsets: npt.NDArray[np.int64]  # person p carries alleles[offsets[p]:offsets[p + 1]]
    alleles: Ints
    megabases: float
    seed: int
    _carriers: tuple[npt.NDArray[np.int64], Ints] | None = field(default=None, repr=False, compare=False)

    def member_carriers(self, allele: int) -> Ints:
        """The members carrying ``allele`` (what a beacon's variant store would name as its carriers)."""
        index = self._carriers
        if index is None:  # built once, on first use: the attack on a raw beacon never needs it
            members = self.alleles[:int(self.offsets[self.n_members])]
            person = np.repeat(np.arange(self.n_members, dtype=np.int32), np.diff(self.offsets[:self.n_members + 1]))
            starts = np.zeros(self.n_alleles + 1, dtype=np.int64)
            np.cumsum(np.bincount(members, minlength=self.n_alleles), out=starts[1:])
            index = (starts, person[np.argsort(members, kind="stable")])
            object.__setattr__(self, "_carriers", index)
        starts, people = index
        return people[int(starts[allele]):int(starts[allele + 1])]

    @property
    def n_alleles(self) -> int:
        return int(self.member_count.size)

    def carried_by(self, person: int) -> Ints:
        """The alleles person ``person`` carries (members first, then outsiders)."""
        return self.alleles[int(self.offsets[person]):int(self.offsets[person + 1])]

    def is_member(self, person: int) -> bool:
        return person < self.n_members

    @property
    def alleles_per_target(self) -> tuple[int, int]:
        """(fewest, median) alleles a person carries among those kept."""
        sizes = np.diff(self.offsets)
        return int(sizes.min()), int(np.median(sizes))

    def parameters(self) -> dict[str, object]:
        return {"members": self.n_members, "reference": self.n_reference, "outsiders": self.n_outsiders,
                "megabases": self.megabases, "seed": self.seed, "demography": DEMOGRAPHY_NAME,
                "alleles": self.n_alleles, "alleles_per_target_min_median": list(self.alleles_per_target)}

    def save(self, path: Path) -> None:
        """Write to one ``.npz`` (so that a benchmark simulates once and reuses the result)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            np.savez_compressed(out, member_count=self.member_count, reference_carriers=self.reference_carriers,
                                reference_copies=self.reference_copies, offsets=self.offsets, alleles=self.alleles,
                                meta=np.array(json.dumps(_key(self.n_members, self.n_reference, self.n_outsiders,
                                                              self.megabases, self.seed))))

    @classmethod
    def load(cls, path: Path) -> BeaconPopulation:
        try:
            with np.load(path) as data:
                meta = json.loads(str(data["meta"]))
                return cls(n_members=meta["members"], n_reference=meta["reference"], n_outsiders=meta["outsiders"],
                           member_count=data["member_count"], reference_carriers=data["reference_carriers"],
                           reference_copies=data["reference_copies"], offsets=data["offsets"],
                           alleles=data["alleles"], megabases=meta["megabases"], seed=meta["seed"])
        except (OSError, KeyError, ValueError) as exc:
            raise InputError(f"{path} is not a saved beacon population: {exc}") from exc


def _key(members: int, reference: int, outsiders: int, megabases: float, seed: int) -> dict[str, object]:
    return {"members": members, "reference": reference, "outsiders": outsiders, "megabases": megabases,
            "seed": seed, "demography": DEMOGRAPHY_NAME, "max_carrier_fraction": MAX_CARRIER_FRACTION}


def cache_name(members: int, reference: int, outsiders: int, megabases: float, seed: int) -> str:
    """A file name that changes whenever anything the simulation depends on does.

    >>> cache_name(1000, 1000, 1000, 300, 1)
    'beacon-population-m1000-r1000-o1000-300mb-s1.npz'
    """
    return f"beacon-population-m{members}-r{reference}-o{outsiders}-{megabases:g}mb-s{seed}.npz"


def _regions(megabases: float) -> list[Region]:
    """Independent loci of equal length totalling ``megabases``, spread over the autosomes."""
    n = max(1, math.ceil(megabases))
    length = round(megabases * 1_000_000 / n)
    # Two loci of one chromosome are 1 Mb apart, far beyond simulate_ancestry's linkage gap.
    return [Region(f"chr{1 + i % 22}", 1_000_000 + (i // 22) * 2 * LOCUS_BP,
                   1_000_000 + (i // 22) * 2 * LOCUS_BP + length) for i in range(n)]


def _extract(genotypes: npt.NDArray[np.integer], members: int, reference: int, cap: int
             ) -> tuple[Ints, Ints, Ints, Ints, Ints]:
    """Per kept allele: (member count, reference carriers, reference copies); and (allele, person) pairs.

    Works on the non-reference calls only (a sparse view), since most of a locus's calls are
    reference and most of its alleles rare.
    """
    n = genotypes.shape[1] // 2
    calls = genotypes.astype(np.int8, copy=False)
    # A site whose derived copies exceed 2 x cap has no allele carried by at most cap people,
    # unless another allele shares the site (multi-allelic): keep those to look at each allele.
    rows = np.flatnonzero(((calls != 0).sum(axis=1) <= 2 * cap) | (calls.max(axis=1, initial=0) > 1))
    sub = calls[rows]
    site, haplotype = np.nonzero(sub)
    kinds = int(sub.max(initial=0)) + 1
    allele_of_call = site.astype(np.int64) * kinds + sub[site, haplotype]
    individual = haplotype // 2
    keys, allele = np.unique(allele_of_call, return_inverse=True)
    in_reference = (individual >= members) & (individual < members + reference)
    copies_ref = np.bincount(allele[in_reference], minlength=keys.size)
    carrier = np.unique(allele.astype(np.int64) * n + individual)
    allele, individual = carrier // n, carrier % n
    total = np.bincount(allele, minlength=keys.size)
    count = np.bincount(allele[individual < members], minlength=keys.size)
    in_reference = (individual >= members) & (individual < members + reference)
    carriers_ref = np.bincount(allele[in_reference], minlength=keys.size)
    keep = (total <= cap) & (total > carriers_ref)  # rare, and carried by a member or an outsider
    renumber = np.cumsum(keep) - 1
    pair = keep[allele] & ~in_reference
    person = np.where(individual[pair] < members, individual[pair], individual[pair] - reference)
    return (count[keep].astype(np.int32), carriers_ref[keep].astype(np.int32), copies_ref[keep].astype(np.int32),
            renumber[allele[pair]].astype(np.int32), person.astype(np.int32))


def simulate_population(members: int, reference: int, outsiders: int, *, megabases: float, seed: int,
                        threads: int = 2, progress: Callable[[int, int], None] | None = None) -> BeaconPopulation:
    """Simulate ``members + reference + outsiders`` Europeans over ``megabases`` and keep what the attack needs.

    Deterministic for ``seed``. ``progress(done, total)`` is called after each batch of loci.
    """
    if min(members, reference, outsiders) < 1:
        raise InputError("members, reference panel and outsiders must each hold at least one genome")
    if megabases <= 0:
        raise InputError("megabases must be positive")
    n = members + reference + outsiders
    cap = max(1, int(MAX_CARRIER_FRACTION * n))
    regions = _regions(megabases)
    parts: list[tuple[Ints, Ints, Ints, Ints, Ints]] = []
    first = 0
    for batch, start in enumerate(range(0, len(regions), _LOCI_PER_CALL)):
        chunk = regions[start:start + _LOCI_PER_CALL]
        ancestry = simulate_ancestry(chunk, n, sub_seed(seed, f"membership-attack:{batch}"), threads=threads)
        for locus in ancestry.loci:
            count, carriers, copies, allele, person = _extract(locus.ts.genotype_matrix(), members, reference, cap)
            parts.append((count, carriers, copies, allele + first, person))
            first += int(count.size)
        if progress is not None:
            progress(min(start + _LOCI_PER_CALL, len(regions)), len(regions))
    count, carriers, copies, allele, person = (np.concatenate([p[i] for p in parts]) for i in range(5))
    order = np.argsort(person, kind="stable")
    offsets = np.zeros(members + outsiders + 1, dtype=np.int64)
    np.cumsum(np.bincount(person, minlength=members + outsiders), out=offsets[1:])
    return BeaconPopulation(n_members=members, n_reference=reference, n_outsiders=outsiders,
                            member_count=count.astype(np.int32), reference_carriers=carriers.astype(np.int32),
                            reference_copies=copies.astype(np.int32), offsets=offsets,
                            alleles=allele[order].astype(np.int32), megabases=megabases, seed=seed)


def cached_population(cache: Path | None, members: int, reference: int, outsiders: int, *, megabases: float,
                      seed: int, progress: Callable[[int, int], None] | None = None) -> BeaconPopulation:
    """:func:`simulate_population`, read from ``cache`` when it was saved there before (and saved if not)."""
    if cache is None:
        return simulate_population(members, reference, outsiders, megabases=megabases, seed=seed, progress=progress)
    path = cache / cache_name(members, reference, outsiders, megabases, seed)
    if path.exists():
        return BeaconPopulation.load(path)
    population = simulate_population(members, reference, outsiders, megabases=megabases, seed=seed,
                                     progress=progress)
    population.save(path)
    return population
