"""Which parts of GRCh38 a simulation covers: MANE genes, as exons or whole genes, plus flanks.

A region set is *closed* under the gene models: whenever a region touches an exon of some MANE
transcript, every exon of that transcript is in the set too. That is what lets the synthetic
reference honour every transcript it touches (a start codon cannot be placed for a CDS whose
first exon is not simulated), and lets tests check *every* coding transcript in the regions.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from genomed.annotate.mane import Transcript
from genomed.errors import InputError
from genomed.genome.builds import GRCH38, PRIMARY_CHROMS, in_par
from genomed.genome.reference import Region

Mode = Literal["exons", "genes"]
SPLICE_SITE = 2  # the GT..AG dinucleotides just outside each exon
_ORDER = {chrom: index for index, chrom in enumerate(PRIMARY_CHROMS)}


def chrom_order(chrom: str) -> int:
    """Karyotype rank of a UCSC chromosome name (unknown names sort last)."""
    return _ORDER.get(chrom, len(_ORDER))


def sort_key(region: Region) -> tuple[int, int, int]:
    return chrom_order(region.chrom), region.start, region.end


def merge_regions(regions: Iterable[Region]) -> list[Region]:
    """Sorted, with overlapping or touching regions merged into one.

    >>> merge_regions([Region("chr2", 5, 9), Region("chr1", 10, 20), Region("chr1", 20, 25), Region("chr1", 1, 3)])
    [Region(chrom='chr1', start=1, end=3), Region(chrom='chr1', start=10, end=25), Region(chrom='chr2', start=5, end=9)]
    """
    merged: list[Region] = []
    for region in sorted(regions, key=sort_key):
        last = merged[-1] if merged else None
        if last is not None and last.chrom == region.chrom and region.start <= last.end:
            merged[-1] = Region(last.chrom, last.start, max(last.end, region.end))
        else:
            merged.append(region)
    return merged


@dataclass(frozen=True)
class RegionSet:
    """Merged regions, the genes asked for, and every transcript the regions hold entirely."""

    regions: tuple[Region, ...]
    genes: tuple[str, ...]
    transcripts: tuple[Transcript, ...]

    @property
    def total_length(self) -> int:
        return sum(region.length for region in self.regions)


def _transcript_regions(transcript: Transcript, mode: Mode, flank: int) -> list[Region]:
    if mode == "genes":
        return [Region(transcript.chrom, max(0, transcript.start - flank), transcript.end + flank)]
    return [Region(transcript.chrom, max(0, start - flank), end + flank) for start, end in transcript.exons]


class _Index:
    """Merged regions per chromosome, for 'does this interval touch the set?' look-ups."""

    def __init__(self, regions: Sequence[Region]) -> None:
        self.starts: dict[str, list[int]] = {}
        self.ends: dict[str, list[int]] = {}
        for region in regions:
            self.starts.setdefault(region.chrom, []).append(region.start)
            self.ends.setdefault(region.chrom, []).append(region.end)

    def touches(self, chrom: str, start: int, end: int) -> bool:
        starts = self.starts.get(chrom)
        if not starts:
            return False
        index = bisect.bisect_left(self.ends[chrom], start + 1)  # first region ending after start
        return index < len(starts) and starts[index] < end

    def covers(self, chrom: str, start: int, end: int) -> bool:
        starts = self.starts.get(chrom)
        if not starts:
            return False
        index = bisect.bisect_right(starts, start) - 1
        return index >= 0 and end <= self.ends[chrom][index]


def covered(transcript: Transcript, regions: Sequence[Region]) -> bool:
    """Whether every exon of a transcript, with its splice-site dinucleotides, lies inside ``regions``."""
    index = _Index(merge_regions(regions))
    return _covered(transcript, index)


def _covered(transcript: Transcript, index: _Index) -> bool:
    last = len(transcript.exons) - 1
    for number, (start, end) in enumerate(transcript.exons):
        lo = start - (SPLICE_SITE if number > 0 else 0)
        hi = end + (SPLICE_SITE if number < last else 0)
        if not index.covers(transcript.chrom, lo, hi):
            return False
    return True


def transcripts_within(regions: Sequence[Region], transcripts: Iterable[Transcript]) -> list[Transcript]:
    """The transcripts whose exons and splice sites lie entirely inside ``regions``."""
    index = _Index(merge_regions(regions))
    return [t for t in transcripts if _covered(t, index)]


def close_regions(chosen: Sequence[Transcript], transcripts: Sequence[Transcript], *, mode: Mode = "exons",
                  flank: int = 100) -> RegionSet:
    """Regions for the chosen transcripts, grown until no other transcript is cut by them.

    ``mode="exons"`` takes each exon plus ``flank`` bases either side (like exome capture targets
    with padding); ``"genes"`` takes the whole transcript span plus ``flank``. The flank must be at
    least 2 so that the splice-site dinucleotides are inside.
    """
    if flank < SPLICE_SITE:
        raise InputError(f"flank must be at least {SPLICE_SITE} bases to hold the splice sites, got {flank}")
    by_chrom: dict[str, list[Transcript]] = {}
    for transcript in transcripts:
        by_chrom.setdefault(transcript.chrom, []).append(transcript)
    members = {t.ensembl_id: t for t in chosen}
    while True:
        regions = merge_regions(r for t in members.values() for r in _transcript_regions(t, mode, flank))
        index = _Index(regions)
        added = False
        for chrom in {r.chrom for r in regions}:
            for transcript in by_chrom.get(chrom, ()):
                if transcript.ensembl_id in members:
                    continue
                if any(index.touches(chrom, start - SPLICE_SITE, end + SPLICE_SITE) for start, end in transcript.exons):
                    members[transcript.ensembl_id] = transcript
                    added = True
        if not added:
            break
    held = sorted(members.values(), key=lambda t: (chrom_order(t.chrom), t.start, t.ensembl_id))
    return RegionSet(tuple(regions), tuple(t.gene_symbol for t in chosen), tuple(held))


def select_genes(transcripts: Sequence[Transcript], n_genes: int, rng: np.random.Generator, *,
                 genes: Sequence[str] | None = None, chroms: Iterable[str] | None = None,
                 sex_chromosomes: bool = True) -> list[Transcript]:
    """Pick MANE Select transcripts: the named ``genes``, or ``n_genes`` at random (seeded).

    At random, with ``sex_chromosomes`` and at least 10 genes, one gene outside the PAR of chrX and
    one of chrY are always among them: the hemizygous code paths (male chrX, chrY absent in
    females) then get exercised even by small cohorts, which a uniform draw would rarely do.
    """
    pool = [t for t in transcripts if t.coding and t.chrom != "chrM"
            and (chroms is None or t.chrom in set(chroms))]
    if genes:
        by_symbol = {t.gene_symbol: t for t in pool}
        missing = [g for g in genes if g not in by_symbol]
        if missing:
            raise InputError(f"not MANE Select genes (or excluded chromosomes): {', '.join(missing)}")
        return [by_symbol[g] for g in genes]
    if n_genes < 1:
        raise InputError(f"n_genes must be at least 1, got {n_genes}")
    if n_genes > len(pool):
        raise InputError(f"asked for {n_genes} genes, only {len(pool)} are available")
    picked: list[int] = []
    if sex_chromosomes and n_genes >= 10:
        for chrom in ("chrX", "chrY"):
            options = [i for i, t in enumerate(pool) if t.chrom == chrom and not in_par(GRCH38, chrom, t.start + 1)]
            if options:
                picked.append(options[int(rng.integers(len(options)))])
    rest = np.setdiff1d(np.arange(len(pool)), np.array(picked, dtype=np.int64))
    picked.extend(int(i) for i in rng.choice(rest, size=n_genes - len(picked), replace=False))
    return [pool[i] for i in sorted(picked)]
