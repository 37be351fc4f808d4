"""Sequencing coverage: read depth, genotype qualities, reference blocks and uncovered gaps.

Depth is what makes a missing call different from a reference call, which is the point of a
variant store's honest allele numbers. It is modelled as a per-sample mean (libraries differ:
lognormal around 30x), times a per-site capture factor (gamma: some targets always come out low),
with Poisson-like noise. Genotype qualities come from the genotype likelihoods of the read counts
(phred-scaled, capped at 99 like GATK), so a het call on 4 reads gets a low GQ as it would.

Positions are in the *packed* coordinates of a :class:`~genomed.simulate.sequence.SyntheticReference`
(the regions laid end to end): intervals there never need a chromosome to be compared.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

MEAN_DEPTH = 30.0
MAX_DEPTH = 127  # depths above are clipped; keeps the per-genotype text tables small
BASE_ERROR = 0.01  # per-read probability of showing another allele
MAX_GQ = 99

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

# GATK HaplotypeCaller's default GQ bands for reference blocks: one per GQ below 60, then 60-69,
# 70-79, 80-89, 90-98 and 99: blocks end where the band changes.
_BAND_EDGES = np.array([*range(1, 61), 70, 80, 90, 99], dtype=np.int64)


def gq_band(gq: npt.ArrayLike) -> Ints:
    """Index of the GATK GQ band holding each GQ.

    >>> gq_band([0, 5, 59, 60, 69, 70, 98, 99]).tolist()
    [0, 5, 59, 60, 60, 61, 63, 64]
    """
    result: Ints = np.searchsorted(_BAND_EDGES, np.asarray(gq, dtype=np.int64), side="right")
    return result


def genotype_quality(code: npt.ArrayLike, depth: npt.ArrayLike, alt_reads: npt.ArrayLike) -> Ints:
    """GQ of a called genotype from its read counts, by the usual binomial read model.

    ``code`` is 0 = 0/0, 1 = 0/1, 2 = 1/1 (diploid), 4 = 0, 5 = 1 (haploid). GQ is the phred gap
    between the called genotype and the best other one, 0 when the call is not the likeliest,
    capped at 99.

    >>> genotype_quality([0, 0, 1, 1, 5], [30, 5, 30, 4, 10], [0, 0, 15, 1, 10]).tolist()
    [89, 15, 99, 8, 99]
    """
    code_a = np.asarray(code, dtype=np.int64)
    dp = np.asarray(depth, dtype=np.float64)
    alt = np.asarray(alt_reads, dtype=np.float64)
    ref = dp - alt
    right, wrong = np.log10(1 - BASE_ERROR), np.log10(BASE_ERROR)
    hom_ref = ref * right + alt * wrong
    hom_alt = ref * wrong + alt * right
    het = dp * np.log10(0.5)
    diploid = np.stack([hom_ref, het, hom_alt])
    haploid = np.stack([hom_ref, hom_alt, np.full_like(hom_ref, -np.inf)])
    haploid_call = code_a >= 4
    likelihoods = np.where(haploid_call[None, :], haploid, diploid)
    called = np.where(haploid_call, code_a - 4, np.minimum(code_a, 2))
    mine = np.take_along_axis(likelihoods, called[None, :], axis=0)[0]
    others = likelihoods.copy()
    np.put_along_axis(others, called[None, :], -np.inf, axis=0)
    gap = -10 * (others.max(axis=0) - mine)
    result: Ints = np.clip(np.rint(gap), 0, MAX_GQ).astype(np.int64)
    return result


class DepthModel:
    """Read depth for every (site, sample) of a cohort: sample mean x site capture factor x noise."""

    def __init__(self, n_samples: int, rng: np.random.Generator, *, mean: float = MEAN_DEPTH,
                 sample_sd: float = 0.15, site_shape: float = 8.0) -> None:
        self.sample_mean = (mean * rng.lognormal(0.0, sample_sd, n_samples)).astype(np.float32)
        self.site_shape = site_shape

    def draw(self, n_sites: int, rng: np.random.Generator, columns: npt.NDArray[np.int64] | None = None
             ) -> npt.NDArray[np.int64]:
        """Depths (n_sites, samples) clipped to 1..127; Gaussian-approximated Poisson noise, for speed."""
        means = self.sample_mean if columns is None else self.sample_mean[columns]
        factor = rng.gamma(self.site_shape, 1.0 / self.site_shape, n_sites).astype(np.float32)
        lam = factor[:, None] * means[None, :]
        noise = rng.standard_normal(lam.shape, dtype=np.float32)
        depth = np.rint(lam + np.sqrt(lam) * noise)
        result: Ints = np.clip(depth, 1, MAX_DEPTH).astype(np.int64)
        return result


@dataclass(frozen=True)
class Intervals:
    """Sorted, non-overlapping half-open intervals in packed coordinates."""

    start: Ints
    end: Ints

    @classmethod
    def empty(cls) -> Intervals:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64))

    @classmethod
    def union(cls, start: npt.ArrayLike, end: npt.ArrayLike) -> Intervals:
        """Merge possibly overlapping intervals.

        >>> m = Intervals.union([5, 0, 2, 10], [8, 3, 4, 11]); m.start.tolist(), m.end.tolist()
        ([0, 5, 10], [4, 8, 11])
        """
        s, e = np.asarray(start, dtype=np.int64), np.asarray(end, dtype=np.int64)
        if not s.size:
            return cls.empty()
        order = np.argsort(s, kind="stable")
        s, e = s[order], e[order]
        reach = np.maximum.accumulate(e)
        new = np.ones(s.size, dtype=bool)
        new[1:] = s[1:] > reach[:-1]
        first = np.flatnonzero(new)
        last = np.concatenate([first[1:], [s.size]]) - 1
        return cls(s[first], reach[last])

    def contains(self, points: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Whether each point lies in an interval."""
        p = np.asarray(points, dtype=np.int64)
        slot = np.searchsorted(self.start, p, side="right") - 1
        inside: npt.NDArray[np.bool_] = (slot >= 0) & (p < self.end[np.maximum(slot, 0)]) if self.start.size \
            else np.zeros(p.shape, dtype=bool)
        return inside

    @property
    def total(self) -> int:
        return int((self.end - self.start).sum())


def coverage_gaps(region_offsets: Ints, rng: np.random.Generator, *, per_base: float = 1e-4,
                  min_length: int = 20, max_length: int = 300) -> Intervals:
    """Stretches one sample has no coverage for (e.g. GC-rich first exons): no gVCF record at all.

    About one gap per 10 kb, 20-300 bases each, never crossing a region boundary; ~1.5% of bases.
    """
    total = int(region_offsets[-1])
    count = int(rng.poisson(total * per_base))
    starts = np.sort(rng.integers(0, max(total, 1), count))
    lengths = rng.integers(min_length, max_length + 1, count)
    region_end = region_offsets[np.searchsorted(region_offsets, starts, side="right")]
    return Intervals.union(starts, np.minimum(starts + lengths, region_end))


@dataclass(frozen=True)
class Blocks:
    """Reference blocks of one sample in packed coordinates, with depth and quality."""

    start: Ints
    end: Ints
    depth: Ints  # mean depth over the block
    min_depth: Ints
    gq: Ints


def reference_blocks(region_offsets: Ints, sample_mean: float, rng: np.random.Generator, *,
                     cuts: Ints | None = None, segment_mean: float = 40.0, site_shape: float = 4.0) -> Blocks:
    """Blocks covering all regions, cut where the GQ band changes and at region boundaries.

    Depth is piecewise constant over short segments (~40 bp); consecutive segments whose GQ falls
    in one GATK band merge into a block, as HaplotypeCaller's ``-ERC GVCF`` does. ``cuts`` are
    further places a block must end (e.g. PAR boundaries, where ploidy changes).
    """
    total = int(region_offsets[-1])
    n_draw = int(total / segment_mean * 1.2) + 16
    cuts_drawn = np.cumsum(rng.geometric(1.0 / segment_mean, n_draw))
    while cuts_drawn[-1] < total:  # rare: draw more
        extra = cuts_drawn[-1] + np.cumsum(rng.geometric(1.0 / segment_mean, n_draw))
        cuts_drawn = np.concatenate([cuts_drawn, extra])
    cuts_drawn = cuts_drawn[cuts_drawn < total]
    forced = np.union1d(region_offsets, cuts if cuts is not None else np.zeros(0, np.int64)).astype(np.int64)
    bounds = _sorted_unique(np.concatenate([cuts_drawn, forced]).astype(np.int64))
    seg_start, seg_end = bounds[:-1], bounds[1:]
    lam = sample_mean * rng.gamma(site_shape, 1.0 / site_shape, seg_start.size)
    depth = np.clip(rng.poisson(lam), 1, MAX_DEPTH).astype(np.int64)
    min_depth = np.maximum(1, depth - rng.poisson(1.5, depth.size)).astype(np.int64)
    gq = genotype_quality(np.zeros_like(min_depth), min_depth, np.zeros_like(min_depth))
    band = gq_band(gq)
    new = np.ones(seg_start.size, dtype=bool)
    new[1:] = (band[1:] != band[:-1]) | np.isin(seg_start[1:], forced)
    first = np.flatnonzero(new)
    lengths = seg_end - seg_start
    weighted = np.add.reduceat(depth * lengths, first)
    span = np.add.reduceat(lengths, first)
    return Blocks(start=seg_start[first], end=np.concatenate([seg_start[first][1:], [total]]),
                  depth=np.rint(weighted / span).astype(np.int64),
                  min_depth=np.minimum.reduceat(min_depth, first), gq=np.minimum.reduceat(gq, first))


def _sorted_unique(values: Ints) -> Ints:
    """Sorted distinct values; faster than np.unique on the nearly sorted arrays used here."""
    ordered = np.sort(values, kind="stable")
    keep = np.ones(ordered.size, dtype=bool)
    keep[1:] = ordered[1:] != ordered[:-1]
    result: Ints = ordered[keep]
    return result


def subtract(blocks: Blocks, holes: Intervals) -> Blocks:
    """Blocks with the holes (variant records, gaps) cut out; a block may split in pieces."""
    if not holes.start.size:
        return blocks
    points = _sorted_unique(np.concatenate([blocks.start, blocks.end[-1:], holes.start, holes.end]))
    piece_start, piece_end = points[:-1], points[1:]
    owner = np.searchsorted(blocks.start, piece_start, side="right") - 1
    keep = (owner >= 0) & (piece_end <= blocks.end[np.maximum(owner, 0)]) & ~holes.contains(piece_start)
    piece_start, piece_end, owner = piece_start[keep], piece_end[keep], owner[keep]
    # Pieces of one block left adjacent (no hole between them) are joined back.
    join = np.zeros(piece_start.size, dtype=bool)
    join[1:] = (owner[1:] == owner[:-1]) & (piece_start[1:] == piece_end[:-1])
    first = np.flatnonzero(~join)
    last = np.concatenate([first[1:], [piece_start.size]]) - 1
    owner = owner[first]
    return Blocks(start=piece_start[first], end=piece_end[last], depth=blocks.depth[owner],
                  min_depth=blocks.min_depth[owner], gq=blocks.gq[owner])


@functools.lru_cache(maxsize=1 << 16)
def genotype_pls(reads: tuple[int, ...], ploidy: int) -> tuple[int, ...]:
    """Phred-scaled genotype likelihoods, normalised to 0 at the best, in VCF genotype order.

    ``reads`` are per-allele read counts (REF first); diploid order is 0/0, 0/1, 1/1, 0/2, 1/2, 2/2...

    >>> genotype_pls((10, 10, 0), 2)
    (170, 0, 170, 200, 200, 400)
    >>> genotype_pls((0, 8), 1)
    (160, 0)
    """
    k = len(reads)
    wrong = BASE_ERROR / max(k - 1, 1)

    def log_p(allele: int, genotype: tuple[int, ...]) -> float:
        p = sum((1 - BASE_ERROR) if allele == g else wrong for g in genotype) / len(genotype)
        return float(np.log10(p))

    if ploidy == 1:
        genotypes: list[tuple[int, ...]] = [(a,) for a in range(k)]
    else:
        genotypes = [(a, b) for b in range(k) for a in range(b + 1)]
    logs = [sum(n * log_p(allele, g) for allele, n in enumerate(reads) if n) for g in genotypes]
    best = max(logs)
    return tuple(round(-10 * (value - best)) for value in logs)


def hom_ref_pls(depth: npt.ArrayLike) -> tuple[Ints, Ints]:
    """The two non-zero PLs (0/1, 1/1) of a hom-ref call on ``depth`` reference reads.

    >>> [v.tolist() for v in hom_ref_pls([10])]
    [[30], [200]]
    """
    dp = np.asarray(depth, dtype=np.float64)
    right, wrong = np.log10(1 - BASE_ERROR), np.log10(BASE_ERROR)
    het = np.rint(-10 * (dp * np.log10(0.5) - dp * right)).astype(np.int64)
    hom = np.rint(-10 * (dp * wrong - dp * right)).astype(np.int64)
    return het, hom
