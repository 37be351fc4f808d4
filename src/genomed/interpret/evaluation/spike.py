"""Spiking a published causal variant into a simulated genome, on a reference that agrees with it.

There is no real GRCh38 sequence on a hospital's air-gapped test machine, so the simulated genomes
sit on a *synthetic* reference built from the real gene models. For a spiked variant to be annotated
as it was published, the synthetic bases under it must be the published reference allele, and for a
coding substitution the whole codon must encode the published amino acid and turn into the published
new one. :class:`PatchedReference` overlays exactly those bases on the synthetic reference; nothing
about the variant's consequence is told to the annotator, which works it out itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import product

from genomed.annotate.genetic_code import CODON_TABLE, THREE_LETTER, reverse_complement
from genomed.annotate.mane import Transcript
from genomed.annotate.model import Variant
from genomed.genome.reference import ReferenceGenome

_AA3 = {name: one for one, name in THREE_LETTER.items()}  # "Arg" -> "R", "Ter" -> "*"
_SUBSTITUTION = re.compile(r"p\.\(?(?P<ref>[A-Z][a-z]{2})(?P<pos>\d+)(?P<alt>[A-Z][a-z]{2}|\*|=)\)?$")


class PatchedReference:
    """A reference genome with some bases replaced (0-based positions), the rest read from ``base``."""

    def __init__(self, base: ReferenceGenome) -> None:
        self.base = base
        self.build = base.build
        self._patches: dict[tuple[str, int], str] = {}

    def set_patches(self, patches: dict[tuple[str, int], str]) -> None:
        """Replace the overlay (one case at a time)."""
        self._patches = dict(patches)

    def has(self, chrom: str, start: int, end: int) -> bool:
        if self.base.has(chrom, start, end):
            return True
        return all((chrom, p) in self._patches for p in range(start, end))

    def fetch(self, chrom: str, start: int, end: int) -> str:
        if not self._patches:
            return self.base.fetch(chrom, start, end)
        known = self.base.has(chrom, start, end)
        bases = list(self.base.fetch(chrom, start, end)) if known else ["N"] * (end - start)
        for offset in range(end - start):
            patched = self._patches.get((chrom, start + offset))
            if patched is not None:
                bases[offset] = patched
        return "".join(bases)


def cds_offset(transcript: Transcript, pos0: int) -> int | None:
    """0-based offset in the spliced CDS (transcript orientation) of genomic ``pos0``, or None if outside.

    >>> t = Transcript("chr1", 0, 100, "+", ((0, 10), (20, 40)), 5, 30, "G", "1", "T", "NM_1", "NP_1", "MANE Select")
    >>> cds_offset(t, 5), cds_offset(t, 20), cds_offset(t, 12)
    (0, 5, None)
    """
    parts = transcript.cds_exons()
    offset = 0
    ordered = parts if transcript.strand == "+" else tuple(reversed(parts))
    for start, end in ordered:
        if start <= pos0 < end:
            return offset + (pos0 - start if transcript.strand == "+" else end - 1 - pos0)
        offset += end - start
    return None


def genomic_of_offset(transcript: Transcript, offset: int) -> int:
    """Genomic 0-based position of a 0-based CDS offset (the inverse of :func:`cds_offset`)."""
    parts = transcript.cds_exons()
    ordered = parts if transcript.strand == "+" else tuple(reversed(parts))
    for start, end in ordered:
        length = end - start
        if offset < length:
            return start + offset if transcript.strand == "+" else end - 1 - offset
        offset -= length
    raise IndexError("offset beyond the CDS")


def _codon_for(ref_aa: str, alt_aa: str, index: int, ref_base: str, alt_base: str) -> str | None:
    """A codon encoding ``ref_aa`` with ``ref_base`` at ``index`` that encodes ``alt_aa`` once mutated."""
    for bases in product("ACGT", repeat=2):
        codon = list(bases)
        codon.insert(index, ref_base)
        mutated = codon.copy()
        mutated[index] = alt_base
        if CODON_TABLE["".join(codon)] == ref_aa and CODON_TABLE["".join(mutated)] == alt_aa:
            return "".join(codon)
    return None


def patches_for(variant: Variant, hgvs_p: str | None, transcripts: Iterable[Transcript]) -> dict[tuple[str, int], str]:
    """Bases to overlay so the reference carries ``variant``'s REF (and, for a coding SNV, its codon)."""
    patches = {(variant.chrom, variant.pos - 1 + i): base for i, base in enumerate(variant.ref)}
    if not variant.is_snv or not hgvs_p:
        return patches
    match = _SUBSTITUTION.search(hgvs_p.split(":")[-1])
    if match is None:
        return patches
    ref_aa = _AA3.get(match["ref"])
    alt_aa = ref_aa if match["alt"] == "=" else ("*" if match["alt"] == "*" else _AA3.get(match["alt"]))
    if ref_aa is None or alt_aa is None:
        return patches
    for transcript in transcripts:
        offset = cds_offset(transcript, variant.pos - 1)
        if offset is None or offset // 3 + 1 != int(match["pos"]):
            continue
        index = offset % 3
        plus = transcript.strand == "+"
        ref_base = variant.ref if plus else reverse_complement(variant.ref)
        alt_base = variant.alt if plus else reverse_complement(variant.alt)
        codon = _codon_for(ref_aa, alt_aa, index, ref_base, alt_base)
        if codon is None:
            continue
        first = offset - index
        for i, base in enumerate(codon):
            genomic = genomic_of_offset(transcript, first + i)
            patches[(variant.chrom, genomic)] = base if plus else reverse_complement(base)
        break
    return patches
