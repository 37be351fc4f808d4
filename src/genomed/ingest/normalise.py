"""Variant normalisation: one biallelic, trimmed, left-aligned representation per variant.

The same deletion in a repeat can be written at any copy of the repeat unit (``CAG>C`` at the
first copy or at the third), and a multi-allelic record hides two variants behind one row. Counting
a variant across a cohort is only honest if every laboratory's spelling of it lands on one key, so
before anything is stored each record is

1. **split** into biallelic records (:func:`alt_count`, :func:`alt_counts`, :func:`split_ad`,
   :func:`split_record`): a sample's genotype becomes, per alternate allele, the number of copies
   of *that* allele it carries — ``1/2`` is one copy of each, ``2/2`` is two copies of allele 2 and
   nothing of allele 1;
2. **trimmed** of the bases the alleles share at their end, then at their start, keeping one anchor
   base for indels as the VCF specification wants (:func:`trim`);
3. **left-aligned** against the reference (:func:`left_align`) with the semantics of ``vt
   normalize`` and ``bcftools norm`` (Tan, Abecasis & Kang 2015): while both alleles end with the
   same base, drop it, and whenever an allele becomes empty extend both alleles by the reference
   base before them. Without a reference only trimming is possible, and the ingest says so.

All functions here are pure (the reference is only read), so the reader, the tests and any other
caller share exactly one definition of "normalised".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from genomed.errors import InputError, ReferenceMismatchError, ReferenceSequenceError
from genomed.genome.reference import ReferenceGenome
from genomed.ingest.chunks import MISSING

# How many reference bases a left shift reads at a time: most repeats are shorter than this, so one
# read per shifted indel is the common case; long repeats read further windows as they need them.
_WINDOW = 64


class Normalised(NamedTuple):
    """A biallelic variant after normalisation, and what it took to get there."""

    pos: int            # 1-based
    ref: str
    alt: str
    trimmed: bool       # shared bases were removed (the spelling changed without moving left)
    left_aligned: bool  # the variant moved left beyond what trimming alone gives


class BiallelicRecord(NamedTuple):
    """One alternate allele of a (possibly multi-allelic) record with its per-sample genotypes."""

    allele: int                         # index of the alternate allele in the original record (1-based)
    pos: int
    ref: str
    alt: str
    alt_counts: list[int]               # per sample: copies of this allele, or MISSING
    ad: list[tuple[int, int]] | None    # per sample: (depth of REF, depth of this ALT); -1 when absent


# ----------------------------------------------------------------------------- genotype splitting

def alt_count(genotype: Sequence[int | None], allele: int) -> int:
    """Copies of ``allele`` in one called genotype, or MISSING if any allele is a no-call.

    A genotype is the allele indices of its copies (``None`` for a no-call ``.``); haploid calls
    have one index. A half-call such as ``0/.`` is treated as a no-call: it cannot say how many
    copies of the allele the sample carries, and a missing call must never read as a reference one.

    >>> alt_count((1, 2), 1), alt_count((1, 2), 2)       # 1/2: one copy of each alternate allele
    (1, 1)
    >>> alt_count((2, 2), 1), alt_count((2, 2), 2)       # 2/2: nothing of allele 1, two of allele 2
    (0, 2)
    >>> alt_count((1,), 1), alt_count((0, None), 1) == MISSING, alt_count((None,), 1) == MISSING
    (1, True, True)
    """
    if any(a is None for a in genotype):
        return MISSING
    return sum(1 for a in genotype if a == allele)


def alt_counts(alleles: npt.NDArray[np.integer], allele: int | npt.NDArray[np.integer],
               called: npt.NDArray[np.bool_]) -> npt.NDArray[np.int8]:
    """The array form of :func:`alt_count`, for a whole record (or batch of records) at once.

    ``alleles`` has the copies of each genotype on its last axis (values < 0 for no-call or absent
    copies); ``called`` says which genotypes are fully called; ``allele`` broadcasts against
    ``alleles`` without its last axis (one allele for all, or one per record).

    >>> a = np.array([[0, 1], [1, 2], [2, 2], [1, -1], [-1, -1]])
    >>> called = np.array([True, True, True, True, False])
    >>> alt_counts(a, 1, called).tolist(), alt_counts(a, 2, called).tolist()
    ([1, 1, 0, 1, -1], [0, 1, 2, 0, -1])
    """
    target = np.asarray(allele)[..., np.newaxis]
    counts = (alleles == target).sum(axis=-1, dtype=np.int8)
    return np.where(called, counts, np.int8(MISSING)).astype(np.int8)


def split_ad(ad: Sequence[int], allele: int) -> tuple[int, int]:
    """Allele depths of REF and of one alternate allele, from a Number=R ``AD`` list.

    Depths of the other alternate alleles are dropped rather than added to REF: they are reads for
    neither allele of the split record.

    >>> split_ad([10, 4, 6], 2), split_ad([10, 4], 1), split_ad([], 1)
    ((10, 6), (10, 4), (-1, -1))
    """
    ref = ad[0] if len(ad) > 0 else -1
    alt = ad[allele] if len(ad) > allele else -1
    return ref, alt


def split_record(pos: int, ref: str, alts: Sequence[str], genotypes: Sequence[Sequence[int | None]],
                 ad: Sequence[Sequence[int]] | None = None) -> list[BiallelicRecord]:
    """A record's alternate alleles as biallelic records with per-allele genotype counts and depths.

    Symbolic and spanning-deletion alleles (``<NON_REF>``, ``<*>``, ``*``, ``<DEL>``...) are not
    variants of their own and get no record, but a genotype carrying them still reads as called.

    >>> recs = split_record(100, "A", ["G", "T", "<NON_REF>"], [(0, 1), (1, 2), (2, 2), (None, None)],
    ...                     ad=[[5, 5, 0, 0], [0, 4, 6, 0], [0, 0, 9, 0], []])
    >>> [(r.alt, r.alt_counts, r.ad) for r in recs]  # doctest: +NORMALIZE_WHITESPACE
    [('G', [1, 1, 0, -1], [(5, 5), (0, 4), (0, 0), (-1, -1)]),
     ('T', [0, 1, 2, -1], [(5, 0), (0, 6), (0, 9), (-1, -1)])]
    """
    records = []
    for index, alt in enumerate(alts, start=1):
        if is_symbolic(alt):
            continue
        counts = [alt_count(tuple(g), index) for g in genotypes]
        depths = [split_ad(d, index) for d in ad] if ad is not None else None
        records.append(BiallelicRecord(index, pos, ref, alt, counts, depths))
    return records


def is_symbolic(allele: str) -> bool:
    """Whether an ALT allele is not a sequence: ``<...>``, breakends, ``*`` or a missing ``.``.

    >>> [is_symbolic(a) for a in ("G", "<NON_REF>", "<*>", "*", "G]17:198982]", ".", "ACGTN")]
    [False, True, True, True, True, True, False]
    """
    return (not allele or allele[0] == "<" or allele == "*" or allele == "."
            or "[" in allele or "]" in allele)


# ----------------------------------------------------------------------------- allele normalisation

def trim(pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    """Drop the bases both alleles share at their end, then at their start, keeping one anchor base.

    Suffix first, as ``vt`` and ``bcftools norm`` do, so ``CAG>CG`` stays anchored on its first base
    rather than becoming a REF-less deletion.

    >>> trim(100, "CAG", "CTG")            # an MNV spelling of an SNV
    (101, 'A', 'T')
    >>> trim(100, "GATTT", "GATT")         # a deletion written with extra context: one anchor kept
    (101, 'AT', 'A')
    >>> trim(100, "TCA", "TGCA")           # an insertion with shared suffix
    (100, 'T', 'TG')
    >>> trim(100, "A", "G")
    (100, 'A', 'G')
    """
    end = 0
    limit = min(len(ref), len(alt)) - 1
    while end < limit and ref[-1 - end] == alt[-1 - end]:
        end += 1
    if end:
        ref, alt = ref[:-end], alt[:-end]
    start = 0
    limit = min(len(ref), len(alt)) - 1
    while start < limit and ref[start] == alt[start]:
        start += 1
    if start:
        ref, alt, pos = ref[start:], alt[start:], pos + start
    return pos, ref, alt


class _LeftBases:
    """Reference bases before a position, read a window at a time as a left shift needs them."""

    def __init__(self, reference: ReferenceGenome, chrom: str, pos: int) -> None:
        self.reference, self.chrom = reference, chrom
        self.start = pos - 1  # 0-based start of the cached bases (cache covers [start, pos - 1))
        self.bases = ""

    def base_before(self, pos: int) -> str | None:
        """The base at 1-based ``pos - 1``, or None at the contig start or outside the reference."""
        target = pos - 2  # 0-based
        if target < 0:
            return None
        if target < self.start:
            for new_start in (max(0, min(target, self.start - _WINDOW)), target):  # near a region edge: less
                try:
                    more = self.reference.fetch(self.chrom, new_start, self.start)
                except ReferenceSequenceError:
                    continue
                self.bases = more + self.bases
                self.start = new_start
                break
            else:
                return None
        return self.bases[target - self.start]


def left_align(chrom: str, pos: int, ref: str, alt: str, reference: ReferenceGenome) -> tuple[int, str, str]:
    """Shift an indel to its leftmost equivalent position, then trim (``vt normalize`` semantics).

    Only length-changing variants can move; substitutions are just trimmed. If the bases needed lie
    before the contig start or outside what the reference holds, the shift stops there.

    >>> genome = _StringReference({"chr1": "TTCAGCAGCAGTT"})   # CAG repeat at 3..11 (1-based)
    >>> left_align("chr1", 8, "GCAG", "G", genome)           # deletion of the last CAG copy
    (2, 'TCAG', 'T')
    >>> left_align("chr1", 11, "G", "GCAG", genome)          # insertion after the last copy
    (2, 'T', 'TCAG')
    >>> left_align("chr1", 12, "T", "C", genome)
    (12, 'T', 'C')
    """
    if len(ref) == len(alt):
        return trim(pos, ref, alt)
    bases = _LeftBases(reference, chrom, pos)
    while ref and alt and ref[-1] == alt[-1]:
        if len(ref) == 1 or len(alt) == 1:
            base = bases.base_before(pos)
            if base is None:
                break
            ref, alt, pos = base + ref, base + alt, pos - 1
        ref, alt = ref[:-1], alt[:-1]
    return trim(pos, ref, alt)


def check_ref(chrom: str, pos: int, ref: str, reference: ReferenceGenome) -> None:
    """Refuse a record whose REF is not the reference sequence at its position.

    A mismatch means the file was called on another reference (or another build, or is corrupt);
    left-aligning it would silently invent variants. ``N`` on either side matches any base.

    >>> genome = _StringReference({"chr1": "ACGTNACGT"})
    >>> check_ref("chr1", 2, "CGT", genome); check_ref("chr1", 5, "G", genome)
    >>> check_ref("chr1", 3, "A", genome)
    Traceback (most recent call last):
    ...
    genomed.errors.ReferenceMismatchError: chr1:3 REF A does not match the reference (G)
    """
    expected = reference.fetch(chrom, pos - 1, pos - 1 + len(ref))
    if expected != ref and not all(a == b or a == "N" or b == "N" for a, b in zip(ref, expected, strict=True)):
        raise ReferenceMismatchError(f"{chrom}:{pos} REF {ref} does not match the reference ({expected})")


def normalise(chrom: str, pos: int, ref: str, alt: str, reference: ReferenceGenome | None = None) -> Normalised:
    """The normalised form of one biallelic variant: trimmed, and left-aligned when a reference is given.

    The caller checks REF against the reference once per input record (:func:`check_ref`); this
    function only reads the bases left of the variant.

    >>> genome = _StringReference({"chr1": "TTAAAAAC"})
    >>> normalise("chr1", 6, "AA", "A", genome)       # deletion of one A in AAAAA, written at the end
    Normalised(pos=2, ref='TA', alt='T', trimmed=False, left_aligned=True)
    >>> normalise("chr1", 6, "AA", "A")                # without a reference: trimming is all there is
    Normalised(pos=6, ref='AA', alt='A', trimmed=False, left_aligned=False)
    >>> normalise("chr1", 5, "AAAC", "AAC", genome)    # extra context trimmed, then shifted
    Normalised(pos=2, ref='TA', alt='T', trimmed=True, left_aligned=True)
    """
    if ref == alt:
        raise InputError(f"{chrom}:{pos} ALT {alt} equals REF: not a variant")
    if len(ref) == 1 and len(alt) == 1:
        return Normalised(pos, ref, alt, False, False)
    t_pos, t_ref, t_alt = trim(pos, ref, alt)
    trimmed = (t_pos, t_ref, t_alt) != (pos, ref, alt)
    if reference is None or len(t_ref) == len(t_alt):
        return Normalised(t_pos, t_ref, t_alt, trimmed, False)
    l_pos, l_ref, l_alt = left_align(chrom, t_pos, t_ref, t_alt, reference)
    return Normalised(l_pos, l_ref, l_alt, trimmed, l_pos < t_pos)


class _StringReference:
    """A reference held in a dict of strings: for doctests and small tests, not for production."""

    def __init__(self, sequences: dict[str, str], build: str = "GRCh38") -> None:
        self.sequences = {name: seq.upper() for name, seq in sequences.items()}
        self.build = build

    def has(self, chrom: str, start: int, end: int) -> bool:
        return chrom in self.sequences and 0 <= start <= end <= len(self.sequences[chrom])

    def fetch(self, chrom: str, start: int, end: int) -> str:
        if not self.has(chrom, start, end):
            raise ReferenceSequenceError(f"{chrom}:{start}-{end} is not in the reference")
        return self.sequences[chrom][start:end]
