"""The standard genetic code, and the strand and naming helpers that protein consequences need.

Kept apart from the annotator because HGVS formatting, the consequence rules and the tests all
translate codons, and all must agree on one table. Amino acids are held as one-letter codes with
``*`` for a stop (as VEP's ``Amino_acids`` column does) and turned into HGVS three-letter names
(``Ter`` for a stop) only when a description is written.
"""

from __future__ import annotations

from itertools import product

import numpy as np

_BASES = "TCAG"
_AMINO = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"
CODON_TABLE: dict[str, str] = {"".join(codon): aa for codon, aa in zip(product(_BASES, repeat=3), _AMINO, strict=True)}
STOP = "*"
THREE_LETTER: dict[str, str] = {
    "A": "Ala", "R": "Arg", "N": "Asn", "D": "Asp", "C": "Cys", "Q": "Gln", "E": "Glu", "G": "Gly", "H": "His",
    "I": "Ile", "L": "Leu", "K": "Lys", "M": "Met", "F": "Phe", "P": "Pro", "S": "Ser", "T": "Thr", "W": "Trp",
    "Y": "Tyr", "V": "Val", "*": "Ter", "X": "Xaa",
}
_COMPLEMENT = str.maketrans("ACGTNacgtn", "TGCANtgcan")


def reverse_complement(sequence: str) -> str:
    """The other strand, read 5' to 3'.

    >>> reverse_complement("ATGCCN")
    'NGGCAT'
    """
    return sequence.translate(_COMPLEMENT)[::-1]


# Codon translation as array lookups: each base becomes 0-3 (4 for anything else), a codon the number
# 25*a + 5*b + c, and one table lookup gives its amino acid. A whole transcript translates in
# microseconds, which matters when every coding variant of an exome compares two proteins.
_BASE_CODE = np.full(256, 4, dtype=np.uint8)
for _code, _base in enumerate("TCAG"):
    _BASE_CODE[ord(_base)] = _BASE_CODE[ord(_base.lower())] = _code
_CODON_AMINO = np.full(125, ord("X"), dtype=np.uint8)
for (_first, _second, _third), _amino in zip(product(range(4), repeat=3), _AMINO, strict=True):
    _CODON_AMINO[25 * _first + 5 * _second + _third] = ord(_amino)


# Short sequences (the codons an in-frame change touches, the first codons after a frameshift) cost
# less read two codons at a time from a table than through numpy, whose fixed cost is ~5 µs a call.
_SHORT = 240
_TWO_CODONS = {a + b: x + y for a, x in CODON_TABLE.items() for b, y in CODON_TABLE.items()}


def _translate_short(sequence: str) -> str:
    """:func:`translate` of an upper-case sequence of whole codons, in Python (what numpy gives, faster when short)."""
    n = len(sequence)
    pair, one = _TWO_CODONS.get, CODON_TABLE.get
    parts = [pair(sequence[i:i + 6]) or one(sequence[i:i + 3], "X") + one(sequence[i + 3:i + 6], "X")
             for i in range(0, n - 5, 6)]
    if n % 6:
        parts.append(one(sequence[n - 3:], "X"))
    return "".join(parts)


def translate(sequence: str, *, to_stop: bool = False) -> str:
    """Amino acids of the whole codons of ``sequence`` (``X`` for a codon with an unknown base).

    With ``to_stop`` the result ends at, and includes, the first stop codon.

    >>> translate("ATGAAATGAGG"), translate("ATGTAAGGG", to_stop=True), translate("ANG")
    ('MK*', 'M*', 'X')
    """
    n = len(sequence) // 3 * 3
    if n == 0:
        return ""
    if n <= _SHORT and sequence.isascii():
        amino = _translate_short(sequence[:n].upper())
    else:
        codes = _BASE_CODE[np.frombuffer(sequence[:n].encode("ascii", "replace"), dtype=np.uint8)].reshape(-1, 3)
        index = 25 * codes[:, 0].astype(np.int32) + 5 * codes[:, 1] + codes[:, 2]
        amino = _CODON_AMINO[index].tobytes().decode("ascii")
    if to_stop:
        stop = amino.find(STOP)
        if stop >= 0:
            return amino[:stop + 1]
    return amino


def three_letter(amino_acids: str) -> str:
    """HGVS three-letter names of one-letter amino acids.

    >>> three_letter("RW*")
    'ArgTrpTer'
    """
    return "".join(THREE_LETTER[aa] for aa in amino_acids)


COMPLEMENT_CODE = np.array([2, 3, 0, 1, 4], dtype=np.uint8)  # T<->A, C<->G on the codes of encode()


def encode(sequence: str) -> np.ndarray[tuple[int], np.dtype[np.uint8]]:
    """Bases as codes 0-3 in TCAG order (4 for anything else), what :func:`codon_amino_acids` reads.

    >>> encode("TCAGn").tolist()
    [0, 1, 2, 3, 4]
    """
    codes: np.ndarray[tuple[int], np.dtype[np.uint8]] = _BASE_CODE[np.frombuffer(
        sequence.encode("ascii", "replace"), dtype=np.uint8)]
    return codes


def codon_amino_acids(first: np.ndarray[tuple[int], np.dtype[np.uint8]],
                      second: np.ndarray[tuple[int], np.dtype[np.uint8]],
                      third: np.ndarray[tuple[int], np.dtype[np.uint8]]) -> np.ndarray[tuple[int], np.dtype[np.uint8]]:
    """One-letter amino acids (ASCII codes) of many codons given as three arrays of base codes.

    >>> codon_amino_acids(encode("AT"), encode("TA"), encode("GA")).tobytes()
    b'M*'
    """
    index = 25 * first.astype(np.int32) + 5 * second + third
    amino: np.ndarray[tuple[int], np.dtype[np.uint8]] = _CODON_AMINO[index]
    return amino
