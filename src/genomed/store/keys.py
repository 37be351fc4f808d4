"""Compact 64-bit keys for normalised variants: fast joins and sorts by genomic position.

Layout (most significant bit first)::

    [ 0 ][ contig: 5 ][ position: 28 ][ alleles: 30 ]

* contig: 1–22, X=23, Y=24, M=25 (``chr`` prefix optional); other contigs have no key.
* position: 1-based, < 2^28 (268 Mb: every GRCh38/GRCh37 primary contig fits).
* alleles, exact form (bit 29 = 0): ref length − 1 (3 bits) and alt length − 1 (3 bits), then the
  bases of ref then alt, 2 bits each (A=0, C=1, G=2, T=3), left-aligned in the remaining 23 bits,
  which hold up to 11 bases. Every SNV and every short indel with ref+alt ≤ 11 bases (and each ≤ 8)
  gets an exact, reversible key.
* alleles, hashed form (bit 29 = 1): a 29-bit BLAKE2b digest of ``ref>alt`` for longer alleles or
  alleles with N. Two such variants at one position could collide, so the store keeps ref and alt
  beside every key and compares them.

Keys sort by (contig, position), so a sorted key column is also a sorted coordinate column.
"""

from __future__ import annotations

import hashlib

from genomed.errors import InputError

_CONTIGS = {**{str(i): i for i in range(1, 23)}, "X": 23, "Y": 24, "M": 25, "MT": 25}
_CONTIG_NAMES = {v: ("chrM" if v == 25 else f"chr{k}") for k, v in _CONTIGS.items() if k != "MT"}
_BASE = {"A": 0, "C": 1, "G": 2, "T": 3}
_BASES = "ACGT"
POSITION_BITS = 28
ALLELE_BITS = 30
MAX_POSITION = (1 << POSITION_BITS) - 1
_HASHED = 1 << 29
_EXACT_BASES = 11


def contig_code(chrom: str) -> int:
    """The 5-bit code of a primary contig, with or without ``chr``.

    >>> contig_code("chrX"), contig_code("7"), contig_code("chrM")
    (23, 7, 25)
    """
    code = _CONTIGS.get(chrom.removeprefix("chr"))
    if code is None:
        raise InputError(f"contig {chrom!r} is not a primary chromosome; it has no variant key")
    return code


def contig_name(code: int) -> str:
    """The ``chr``-prefixed name of a contig code."""
    return _CONTIG_NAMES[code]


def variant_key(chrom: str, pos: int, ref: str, alt: str) -> int:
    """The key of a normalised biallelic variant.

    >>> variant_key("chr1", 1000, "A", "G") == variant_key("1", 1000, "A", "G")
    True
    >>> variant_key("chr1", 1000, "A", "G") < variant_key("chr1", 1001, "A", "C") < variant_key("chr2", 1, "A", "C")
    True
    >>> decode_key(variant_key("chrX", 153_000_000, "CAG", "C"))
    ('chrX', 153000000, 'CAG', 'C')
    """
    if not 1 <= pos <= MAX_POSITION:
        raise InputError(f"position {pos} is outside 1..{MAX_POSITION}")
    prefix = (contig_code(chrom) << (POSITION_BITS + ALLELE_BITS)) | (pos << ALLELE_BITS)
    return prefix | allele_code(ref, alt)


def allele_code(ref: str, alt: str) -> int:
    """The 30-bit allele part of a key (exact when it fits, hashed otherwise)."""
    if not ref or not alt:
        raise InputError("a variant needs a non-empty ref and alt")
    if (len(ref) <= 8 and len(alt) <= 8 and len(ref) + len(alt) <= _EXACT_BASES
            and all(b in _BASE for b in ref) and all(b in _BASE for b in alt)):
        code = ((len(ref) - 1) << 26) | ((len(alt) - 1) << 23)
        shift = 21
        for base in ref + alt:
            code |= _BASE[base] << shift
            shift -= 2
        return code
    digest = hashlib.blake2b(f"{ref}>{alt}".encode(), digest_size=4).digest()
    return _HASHED | (int.from_bytes(digest, "big") & (_HASHED - 1))


def is_exact(key: int) -> bool:
    """Whether the key holds its alleles exactly (not a hash)."""
    return not key & _HASHED


def decode_key(key: int) -> tuple[str, int, str, str]:
    """Contig, position, ref and alt back from an exact key."""
    if not is_exact(key):
        raise InputError("a hashed key cannot be decoded; read ref and alt from the store")
    code = key & ((1 << ALLELE_BITS) - 1)
    pos = (key >> ALLELE_BITS) & MAX_POSITION
    contig = key >> (POSITION_BITS + ALLELE_BITS)
    ref_len, alt_len = ((code >> 26) & 7) + 1, ((code >> 23) & 7) + 1
    bases = "".join(_BASES[(code >> (21 - 2 * i)) & 3] for i in range(ref_len + alt_len))
    return contig_name(contig), pos, bases[:ref_len], bases[ref_len:]


def position_range(chrom: str, start: int, end: int) -> tuple[int, int]:
    """The key range ``[low, high)`` covering every variant starting in ``start..end`` (1-based, inclusive)."""
    code = contig_code(chrom) << (POSITION_BITS + ALLELE_BITS)
    return code | (max(start, 0) << ALLELE_BITS), code | ((min(end, MAX_POSITION) + 1) << ALLELE_BITS)
