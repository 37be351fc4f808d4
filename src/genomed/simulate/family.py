"""Trios: a child made from two simulated parents by meiosis, plus de novo mutations, with the truth.

Rare-disease diagnosis leans on trios (a de novo variant in a known gene is often the answer), so
the platform needs families whose inheritance is exactly known: every child allele comes from a
parent's haplotype, chosen along each chromosome by crossovers (a Poisson process at 1 cM/Mb,
Haldane's model), except for de novo mutations, which appear in the child only (about 1.2e-8 per
base per generation, so a few per exome-sized target; ``min_de_novo`` guarantees some for tests).
A son gets his only X from his mother and his Y from his father; a daughter gets her father's X.

The parents are extra individuals of the same coalescent simulation as the cohort, so their
variants have the population's frequency spectrum.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from genomed.simulate.coverage import Intervals
from genomed.simulate.sequence import BASES, SyntheticReference
from genomed.simulate.variants import X_HAPLOID, Y_ONLY, SiteTable
from genomed.simulate.writers import ABSENT, SiteBatch

DE_NOVO_RATE = 1.2e-8  # per base per generation (Kong et al. 2012, Jonsson et al. 2017)
CROSSOVER_RATE = 1e-8  # per base per meiosis
PATERNAL_SHARE = 0.8  # most de novo mutations arise in the father's germline

Ints = npt.NDArray[np.int64]
Calls = npt.NDArray[np.int8]


@dataclass(frozen=True)
class DeNovo:
    """A mutation present in the child and in neither parent."""

    chrom: str
    pos: int  # 1-based, as in the VCF
    ref: str
    alt: str
    parent_of_origin: str


@dataclass(frozen=True)
class Trio:
    """A family of three: who is who, the child's sex, the de novo truth."""

    family_id: str
    child: str
    father: str
    mother: str
    child_sex: str
    father_individual: int  # index of the parent in the simulation
    mother_individual: int
    de_novo: tuple[DeNovo, ...]

    @property
    def samples(self) -> tuple[str, str, str]:
        """The VCF column order: child, father, mother."""
        return self.child, self.father, self.mother


class Meiosis:
    """Which of a parent's two haplotypes a child receives, at any position of each chromosome."""

    def __init__(self, spans: dict[str, tuple[int, int]], rng: np.random.Generator,
                 rate: float = CROSSOVER_RATE) -> None:
        self._plan: dict[str, tuple[int, Ints]] = {}
        for chrom, (start, end) in spans.items():
            count = int(rng.poisson(rate * (end - start)))
            crossovers = np.sort(rng.integers(start, end, count)).astype(np.int64)
            self._plan[chrom] = (int(rng.integers(2)), crossovers)

    def haplotype(self, chrom: str, pos: Ints) -> Ints:
        """0 or 1 per position: the parental haplotype transmitted there."""
        first, crossovers = self._plan[chrom]
        result: Ints = (first + np.searchsorted(crossovers, pos, side="right")) % 2
        return result.astype(np.int64)

    def crossovers(self) -> int:
        return sum(int(c.size) for _, c in self._plan.values())


def child_calls(haplotypes: Calls, father: int, mother: int, child_male: bool, chroms: list[str], pos: Ints,
                classes: Ints, paternal: Meiosis, maternal: Meiosis) -> Calls:
    """The child's (sites, 2) alleles from the parents' haplotypes, with ABSENT copies of X/Y."""
    n = pos.size
    child = np.empty((n, 2), dtype=np.int8)
    from_father = np.empty(n, dtype=np.int64)
    from_mother = np.empty(n, dtype=np.int64)
    for chrom in dict.fromkeys(chroms):
        rows = np.array([i for i, c in enumerate(chroms) if c == chrom], dtype=np.int64)
        from_father[rows] = paternal.haplotype(chrom, pos[rows])
        from_mother[rows] = maternal.haplotype(chrom, pos[rows])
    rows = np.arange(n)
    pat = haplotypes[rows, 2 * father + from_father]
    mat = haplotypes[rows, 2 * mother + from_mother]
    father_x_or_y = haplotypes[rows, 2 * father]  # the copy a father keeps on X outside the PAR and Y
    child[:, 0], child[:, 1] = pat, mat
    x_rows, y_rows = classes == X_HAPLOID, classes == Y_ONLY
    if child_male:
        child[x_rows, 0], child[x_rows, 1] = mat[x_rows], ABSENT
        child[y_rows, 0], child[y_rows, 1] = father_x_or_y[y_rows], ABSENT
    else:
        child[x_rows, 0] = father_x_or_y[x_rows]
        child[y_rows] = ABSENT
    return child


def plan_de_novo(reference: SyntheticReference, sites: SiteTable, rng: np.random.Generator, *,
                 minimum: int = 0, rate: float = DE_NOVO_RATE) -> list[DeNovo]:
    """De novo SNVs for one child: autosomal, away from every simulated record, sorted by position."""
    autosomal = [i for i, r in enumerate(reference.regions) if r.chrom not in ("chrX", "chrY", "chrM")]
    if not autosomal:
        return []
    lengths = np.array([reference.regions[i].length for i in autosomal], dtype=np.int64)
    count = max(minimum, int(rng.poisson(2 * rate * int(lengths.sum()))))
    region_start = np.array([r.start for r in reference.regions], dtype=np.int64)
    record_start = reference.offsets[sites.region] + sites.pos - region_start[sites.region]
    record_end = record_start + np.array([len(r) for r in sites.ref], dtype=np.int64)
    taken = Intervals.union(record_start, record_end) if sites.size else Intervals.empty()
    chosen: dict[int, DeNovo] = {}
    attempts = 0
    while len(chosen) < count and attempts < 100 * (count + 1):
        attempts += 1
        which = autosomal[int(rng.choice(len(autosomal), p=lengths / lengths.sum()))]
        region = reference.regions[which]
        pos = int(rng.integers(region.start, region.end))
        packed = int(reference.offsets[which]) + pos - region.start
        if packed in chosen or bool(taken.contains([packed])[0]):
            continue
        ref_code = int(reference.codes[packed])
        alt_code = ref_code ^ 2 if rng.random() < 0.71 else ref_code ^ (1 if rng.random() < 0.5 else 3)
        origin = "father" if rng.random() < PATERNAL_SHARE else "mother"
        chosen[packed] = DeNovo(region.chrom, pos + 1, BASES[ref_code], BASES[alt_code], origin)
    return [chosen[k] for k in sorted(chosen)]


def de_novo_batch(mutations: Sequence[DeNovo]) -> SiteBatch:
    """The de novo records of one trio: child heterozygous, both parents homozygous reference."""
    calls = np.zeros((len(mutations), 3, 2), dtype=np.int8)
    calls[:, 0, 1] = 1
    return SiteBatch(chrom=[m.chrom for m in mutations], pos=np.array([m.pos - 1 for m in mutations], dtype=np.int64),
                     ref=[m.ref for m in mutations], alts=[(m.alt,) for m in mutations], calls=calls)


def merge_batches(first: SiteBatch, second: SiteBatch, order_key: Ints) -> SiteBatch:
    """Two batches of one trio as one, records ordered by ``order_key`` (first's rows, then second's)."""
    order = np.argsort(order_key, kind="stable")
    chrom = [*first.chrom, *second.chrom]
    ref = [*first.ref, *second.ref]
    alts = [*first.alts, *second.alts]
    return SiteBatch(chrom=[chrom[i] for i in order.tolist()], pos=np.concatenate([first.pos, second.pos])[order],
                     ref=[ref[i] for i in order.tolist()], alts=[alts[i] for i in order.tolist()],
                     calls=np.concatenate([first.calls, second.calls])[order])


def write_pedigree(path: Path, trios: Sequence[Trio]) -> Path:
    """A PED file: family, individual, father, mother, sex (1 male, 2 female), phenotype (2 affected)."""
    lines = []
    for trio in trios:
        sex = "1" if trio.child_sex == "male" else "2"
        lines.append(f"{trio.family_id}\t{trio.child}\t{trio.father}\t{trio.mother}\t{sex}\t2")
        lines.append(f"{trio.family_id}\t{trio.father}\t0\t0\t1\t1")
        lines.append(f"{trio.family_id}\t{trio.mother}\t0\t0\t2\t1")
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    return path


def write_truth(path: Path, trios: Sequence[Trio], files: dict[str, str]) -> Path:
    """The de novo truth as JSON: per family, its members, VCF and every de novo mutation."""
    document = {"families": [{"family_id": t.family_id, "child": t.child, "father": t.father, "mother": t.mother,
                              "child_sex": t.child_sex, "vcf": files[t.family_id],
                              "de_novo": [asdict(m) for m in t.de_novo]} for t in trios]}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


__all__ = ["DeNovo", "Meiosis", "Trio", "child_calls", "de_novo_batch", "merge_batches",
           "plan_de_novo", "write_pedigree", "write_truth"]
