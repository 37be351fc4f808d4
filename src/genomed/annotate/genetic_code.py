"""The standard genetic code, and the strand and naming helpers that protein consequences need.

Kept apart from the annotator because HGVS formatting, the consequence rules and the tests all
translate codons, and all must agree on one table. Amino acids are held as one-letter codes with
``*`` for a stop (as VEP's ``Amino_acids`` column does) and turned into HGVS three-letter names
(``Ter`` for a stop) only when a description is written.
"""

from __future__ import annotations

from itertools import product

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


def translate(sequence: str, *, to_stop: bool = False) -> str:
    """Amino acids of the whole codons of ``sequence`` (``X`` for a codon with an unknown base).

    With ``to_stop`` the result ends at, and includes, the first stop codon.

    >>> translate("ATGAAATGAGG"), translate("ATGTAAGGG", to_stop=True), translate("ANG")
    ('MK*', 'M*', 'X')
    """
    amino = []
    for i in range(0, len(sequence) - 2, 3):
        aa = CODON_TABLE.get(sequence[i:i + 3].upper(), "X")
        amino.append(aa)
        if to_stop and aa == STOP:
            break
    return "".join(amino)


def three_letter(amino_acids: str) -> str:
    """HGVS three-letter names of one-letter amino acids.

    >>> three_letter("RW*")
    'ArgTrpTer'
    """
    return "".join(THREE_LETTER[aa] for aa in amino_acids)
