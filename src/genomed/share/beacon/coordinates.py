"""Beacon coordinates and names against the store's: contigs, assemblies, bases, 0- and 1-based.

Beacon v2 positions are 0-based: ``start`` is the first base of the allele (inclusive), ``end`` the
base after the last (exclusive), like BED and VRS. The variant store keeps normalised VCF records,
whose ``POS`` is 1-based and whose indels carry the base before the event (the anchor). So a
Beacon query for a VCF-style allele (``referenceBases`` and ``alternateBases`` both given, e.g.
``A``>``AT``) at ``start`` is the store record at ``POS = start + 1``; a query for a trimmed
allele (an insertion with empty ``referenceBases``, a deletion with empty ``alternateBases``, as
VRS and the Beacon schema describe them) at ``start`` is the record anchored at ``POS = start``
(the 1-based position of the base before ``start``) whose alleles minus the anchor are the ones
asked for. :func:`allele_matches` applies both readings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from genomed.errors import InputError
from genomed.report.refseq import refseq_accession

MAX_BASES = 1000
_REFSEQ = re.compile(r"^NC_0{4}(\d{2})(?:\.\d+)?$")
_BASES = re.compile(r"^[ACGTUNRYSWKMBDHV.\-]*$")
# IUPAC codes a query may use as wildcards (spec: N is any base; the others are the usual classes).
_IUPAC = {"A": "A", "C": "C", "G": "G", "T": "T", "U": "T", "N": "[ACGTN]", "R": "[AG]", "Y": "[CT]",
          "S": "[CG]", "W": "[AT]", "K": "[GT]", "M": "[AC]", "B": "[CGT]", "D": "[AGT]", "H": "[ACT]",
          "V": "[ACG]"}
_ASSEMBLIES = {
    "grch38": "GRCh38", "hg38": "GRCh38", "gcf_000001405.26": "GRCh38", "gca_000001405.15": "GRCh38",
    "grch37": "GRCh37", "hg19": "GRCh37", "gcf_000001405.13": "GRCh37", "gca_000001405.1": "GRCh37",
    "grch37.p13": "GRCh37", "gcf_000001405.25": "GRCh37",
}


def contig(name: str) -> str:
    """The store's name (``chr1`` ... ``chrX``, ``chrY``, ``chrM``) for a Beacon ``referenceName``.

    Accepts ``1``, ``chr1``, ``X``, ``MT``, a RefSeq accession (``NC_000001.11``, with or without
    ``refseq:``), in any case.

    >>> contig("1"), contig("chrX"), contig("refseq:NC_000017.11"), contig("MT"), contig("NC_012920.1")
    ('chr1', 'chrX', 'chr17', 'chrM', 'chrM')
    """
    text = name.strip()
    if text.lower().startswith("refseq:"):
        text = text[len("refseq:"):]
    upper = text.upper()
    if upper.startswith("NC_012920"):
        return "chrM"
    match = _REFSEQ.match(upper)
    if match:
        number = int(match.group(1))
        if 1 <= number <= 22:
            return f"chr{number}"
        if number in (23, 24):
            return "chrX" if number == 23 else "chrY"
    short = upper.removeprefix("CHR")
    if short in ("M", "MT"):
        return "chrM"
    if short in ("X", "Y") or (short.isdigit() and 1 <= int(short) <= 22 and str(int(short)) == short):
        return f"chr{short}"
    raise InputError(f"unknown referenceName {name!r}; use a primary chromosome such as 1, chr1 or NC_000001.11")


def assembly(name: str) -> str:
    """The genome build an ``assemblyId`` names (``GRCh38``, ``hg19``, ``GRCh38.p13``, a GCF accession).

    >>> assembly("hg38"), assembly("GRCh38.p14"), assembly("GRCh37")
    ('GRCh38', 'GRCh38', 'GRCh37')
    """
    text = name.strip().lower()
    if text in _ASSEMBLIES:
        return _ASSEMBLIES[text]
    base = text.split(".p")[0]
    if base in ("grch38", "grch37"):
        return _ASSEMBLIES[base]
    raise InputError(f"unknown assemblyId {name!r}; this beacon knows GRCh38 (hg38) and GRCh37 (hg19)")


def bases(value: str, what: str) -> str:
    """Allele bases as asked: upper case, ``-`` and ``.`` meaning none.

    >>> bases("at", "alternateBases"), bases("-", "referenceBases")
    ('AT', '')
    """
    text = value.strip().upper()
    if len(text) > MAX_BASES:
        raise InputError(f"{what} is longer than {MAX_BASES} bases")
    if not _BASES.match(text):
        raise InputError(f"{what} {value[:40]!r} is not a sequence of IUPAC bases")
    return "" if text in ("-", ".") else text.replace("-", "").replace(".", "")


@cache
def bases_pattern(query: str) -> re.Pattern[str]:
    """A query's bases as a full-match pattern (IUPAC codes and N as wildcards)."""
    return re.compile("".join(_IUPAC.get(b, re.escape(b)) for b in query))


def has_wildcards(query: str) -> bool:
    return any(b not in "ACGT" for b in query)


@dataclass(frozen=True)
class Allele:
    """A stored (VCF-style, 1-based) allele."""

    chrom: str
    pos: int
    ref: str
    alt: str

    @property
    def start0(self) -> int:
        """0-based start of the reference allele."""
        return self.pos - 1

    @property
    def end0(self) -> int:
        """0-based exclusive end of the reference allele."""
        return self.pos - 1 + len(self.ref)

    @property
    def variant_type(self) -> str:
        """SNP, MNP, INS, DEL or INDEL, as Beacon ``variantType`` names short variants."""
        if len(self.ref) == len(self.alt):
            return "SNP" if len(self.ref) == 1 else "MNP"
        if self.ref[0] == self.alt[0] and (len(self.ref) == 1 or len(self.alt) == 1):
            return "INS" if len(self.alt) > len(self.ref) else "DEL"
        return "INDEL"

    @property
    def length(self) -> int:
        """Length of the event in bases: substituted, inserted or deleted."""
        if len(self.ref) == len(self.alt):
            return len(self.ref)
        return abs(len(self.ref) - len(self.alt))


def allele_matches(allele: Allele, start: int, ref: str | None, alt: str) -> bool:
    """Whether a stored allele is the one a sequence query asks for at 0-based ``start``.

    ``ref`` is ``None`` when the query gave no ``referenceBases`` (any reference allele).

    >>> allele_matches(Allele("chr1", 101, "A", "G"), 100, "A", "G")
    True
    >>> allele_matches(Allele("chr1", 100, "CA", "C"), 100, "A", "")   # trimmed deletion of the A at 100
    True
    >>> allele_matches(Allele("chr1", 100, "C", "CT"), 100, "", "T")   # trimmed insertion before 100
    True
    >>> allele_matches(Allele("chr1", 101, "A", "G"), 101, "A", "G")
    False
    """
    # VCF-style: the stored record starts at the base the query starts at.
    vcf_style = bool(alt) and (ref is None or bool(ref))
    if vcf_style and allele.pos == start + 1 and bases_pattern(alt).fullmatch(allele.alt) \
            and (ref is None or bases_pattern(ref).fullmatch(allele.ref)):
        return True
    # Trimmed: the stored record is anchored on the base before ``start``.
    if allele.pos != start or allele.ref[:1] != allele.alt[:1] or len(allele.ref) == len(allele.alt):
        return False
    if not bases_pattern(alt).fullmatch(allele.alt[1:]):
        return False
    return ref is None or bool(bases_pattern(ref).fullmatch(allele.ref[1:]))


def sequence_id(chrom: str, build: str) -> str:
    """The VRS ``sequence_id`` of a chromosome: its RefSeq accession as a CURIE.

    >>> sequence_id("chr17", "GRCh38")
    'refseq:NC_000017.11'
    """
    return f"refseq:{refseq_accession(chrom, build)}"
