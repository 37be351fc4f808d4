"""Alleles as genomic edits: trimmed to what changes, and shifted 3' along a transcript for HGVS.

A VCF record carries an anchor base for indels and is left-aligned on the genome; HGVS describes
the same change without anchors and *as far 3' as possible on the transcript*, which for a gene on
the minus strand is the genomic left. The edit is therefore trimmed once and shifted per strand,
which needs the bases around it: from the real reference when the node has one, otherwise only
from the bases the VCF record itself states (:class:`AlleleContext`), so that a shift stops honestly
where knowledge ends instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass

from genomed.annotate.model import Variant
from genomed.errors import InputError, ReferenceSequenceError
from genomed.genome.reference import ReferenceGenome

MAX_SHIFT = 10_000  # beyond this a "repeat" is not a repeat worth walking base by base


@dataclass(frozen=True, slots=True)
class Edit:
    """A change of genomic ``[start, end)`` (0-based) from ``ref`` to ``alt``; an insertion has start == end.

    >>> trim(Variant("chr1", 100, "ACG", "AG"))
    Edit(chrom='chr1', start=100, end=101, ref='C', alt='')
    """

    chrom: str
    start: int
    end: int
    ref: str
    alt: str

    @property
    def is_insertion(self) -> bool:
        return not self.ref and bool(self.alt)

    @property
    def is_deletion(self) -> bool:
        return bool(self.ref) and not self.alt

    @property
    def net(self) -> int:
        """Length change (alt minus ref)."""
        return len(self.alt) - len(self.ref)


def check_variant(variant: Variant) -> None:
    """Refuse what the annotator cannot describe: symbolic or empty alleles, unknown bases, pos < 1."""
    for label, allele in (("ref", variant.ref), ("alt", variant.alt)):
        if not allele or allele.strip("ACGTNacgtn"):
            raise InputError(f"variant {variant.name}: {label} allele {allele!r} is not a sequence of A, C, G, T, N "
                             "(symbolic and structural alleles are not annotated here)")
    if variant.pos < 1:
        raise InputError(f"variant {variant.name}: position must be 1 or more")
    if variant.ref.upper() == variant.alt.upper():
        raise InputError(f"variant {variant.name}: ref and alt are the same allele")


def trim(variant: Variant) -> Edit:
    """The edit a VCF-style variant makes, with common leading and trailing bases removed.

    The common suffix goes first, then the prefix, as VCF normalisation does.

    >>> trim(Variant("chr1", 10, "C", "CTT"))
    Edit(chrom='chr1', start=10, end=10, ref='', alt='TT')
    >>> trim(Variant("chr1", 10, "CAT", "CGT"))
    Edit(chrom='chr1', start=10, end=11, ref='A', alt='G')
    """
    ref, alt, start = variant.ref.upper(), variant.alt.upper(), variant.pos - 1
    while ref and alt and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while ref and alt and ref[0] == alt[0]:
        ref, alt, start = ref[1:], alt[1:], start + 1
    return Edit(variant.chrom, start, start + len(ref), ref, alt)


class AlleleContext:
    """The only reference bases known without a genome: those a VCF record states, as a ReferenceGenome.

    >>> context = AlleleContext(Variant("chr1", 10, "CAG", "C"))
    >>> context.fetch("chr1", 9, 12), context.has("chr1", 12, 13)
    ('CAG', False)
    """

    build = "unknown"

    def __init__(self, variant: Variant) -> None:
        self.chrom = variant.chrom
        self.start = variant.pos - 1
        self.bases = variant.ref.upper()

    def has(self, chrom: str, start: int, end: int) -> bool:
        return chrom == self.chrom and self.start <= start <= end <= self.start + len(self.bases)

    def fetch(self, chrom: str, start: int, end: int) -> str:
        if not self.has(chrom, start, end):
            raise ReferenceSequenceError(f"{chrom}:{start}-{end} is beyond the bases the variant record states")
        return self.bases[start - self.start:end - self.start]


class _Bases:
    """Single-base access to a reference with a small window cache; None where the base is unknown."""

    def __init__(self, reference: ReferenceGenome, chrom: str, around: int) -> None:
        self.reference, self.chrom = reference, chrom
        self.lo = self.hi = around
        self.text = ""

    def __call__(self, position: int) -> str | None:
        if not self.lo <= position < self.hi:
            lo, hi = max(0, position - 64), position + 64
            if self.reference.has(self.chrom, lo, hi):
                self.text, self.lo, self.hi = self.reference.fetch(self.chrom, lo, hi), lo, hi
            elif self.reference.has(self.chrom, position, position + 1):
                self.text, self.lo, self.hi = self.reference.fetch(self.chrom, position, position + 1), position, \
                    position + 1
            else:
                return None
        return self.text[position - self.lo]


def shift(edit: Edit, reference: ReferenceGenome, *, right: bool, bound: int | None = None) -> Edit:
    """The same change moved as far as it goes to the genomic right (or left) through repeated bases.

    Only pure insertions and deletions move; a shift stops at the first base the reference does
    not know. With ``right`` this is HGVS's 3' rule for a plus-strand transcript; without, for a
    minus-strand one (and VCF's left-alignment). ``bound`` is a genomic coordinate the edit may not
    pass (the end, or start, of the exon or intron it is in): HGVS tools such as VariantValidator
    and Mutalyzer do not shift a change from an exon into an intron, and published cases follow them.

    >>> context = AlleleContext(Variant("chr1", 1, "GAAAT", "GAAT"))
    >>> shift(trim(Variant("chr1", 1, "GAAAT", "GAAT")), context, right=True)
    Edit(chrom='chr1', start=3, end=4, ref='A', alt='')
    """
    if edit.ref and edit.alt:
        return edit
    moved = edit.ref or edit.alt
    start, end = edit.start, edit.end
    base = _Bases(reference, edit.chrom, start)
    for _ in range(MAX_SHIFT):
        if right:
            if bound is not None and end >= bound:
                break
            nxt = base(end)
            if nxt is None or nxt != moved[0]:
                break
            moved = moved[1:] + moved[0]
            start, end = start + 1, end + 1
        else:
            if bound is not None and start <= bound:
                break
            prev = base(start - 1) if start > 0 else None
            if prev is None or prev != moved[-1]:
                break
            moved = moved[-1] + moved[:-1]
            start, end = start - 1, end - 1
    if edit.ref:
        return Edit(edit.chrom, start, end, moved, "")
    return Edit(edit.chrom, start, end, "", moved)


def duplicated(edit: Edit, reference: ReferenceGenome, *, plus: bool) -> tuple[int, int] | None:
    """For an insertion already shifted 3', the genomic interval it duplicates, or None.

    HGVS calls an insertion a duplication when the inserted bases equal those just 5' of it on the
    transcript: the genomic left on the plus strand, the right on the minus strand.
    """
    if not edit.is_insertion:
        return None
    n = len(edit.alt)
    lo, hi = (edit.start - n, edit.start) if plus else (edit.start, edit.start + n)
    if lo < 0 or not reference.has(edit.chrom, lo, hi):
        return None
    return (lo, hi) if reference.fetch(edit.chrom, lo, hi) == edit.alt else None


def repeat_reach(window: str, origin: int, at: int, moved: str, *, forward: bool) -> tuple[int, bool]:
    """How many bases an indel of ``moved`` at ``at`` shifts through its repeat, reading ``window`` (from ``origin``).

    Forward: the bases from ``at`` (the change's end) on must repeat ``moved`` from its first base;
    backward: those before ``at`` (its start) must repeat it from its last. What :func:`shift` does
    without a bound, on bases already read (annotate_many reads them once per indel). The flag says
    the repeat reached the window's edge (it may go on beyond).

    >>> window = "GCAGCAGT"  # CAG deleted at 1-4 shifts 3 right, runs into the edge on the left; AG inserted at 2
    >>> [repeat_reach(window, 0, at, bases, forward=f) for at, bases, f in ((4, "CAG", True), (1, "CAG", False),
    ...                                                                        (2, "AG", True))]
    [(3, False), (1, True), (2, False)]
    """
    n = len(moved)
    j = 0
    p = at - origin if forward else at - origin - 1
    step = 1 if forward else -1
    while 0 <= p < len(window):
        if window[p] != (moved[j % n] if forward else moved[n - 1 - j % n]):
            return min(j, MAX_SHIFT), False
        j += 1
        p += step
    return min(j, MAX_SHIFT), True
