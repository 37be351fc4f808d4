"""Protein substitutions as PS1 and PM5 compare them: reference residue, position, new residue.

PS1 asks "is this the same amino-acid change as a known pathogenic variant?" and PM5 "is another
change at this residue pathogenic?". Both need the HGVS p. of a missense change broken into its
parts; ClinVar writes three-letter codes (``p.Arg27Trp``), VEP-style annotators give one-letter
residues and a position. Only simple substitutions are parsed: an in-frame indel or a frameshift
is not a "different amino-acid change at the same residue" in the sense of either criterion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from genomed.annotate.model import TranscriptEffect

THREE_LETTER = {
    "A": "Ala", "R": "Arg", "N": "Asn", "D": "Asp", "C": "Cys", "Q": "Gln", "E": "Glu", "G": "Gly", "H": "His",
    "I": "Ile", "L": "Leu", "K": "Lys", "M": "Met", "F": "Phe", "P": "Pro", "S": "Ser", "T": "Thr", "W": "Trp",
    "Y": "Tyr", "V": "Val", "U": "Sec", "*": "Ter", "X": "Ter",
}
_RESIDUES = frozenset(THREE_LETTER.values())
LOF_PROTEIN = re.compile(r"(?:Ter|\*)\)?$|fs")
"""An HGVS p. that ends the protein early: a nonsense change or a frameshift."""
CANONICAL_SPLICE = re.compile(r"c\.[-*]?\d+[+-][12](?!\d)")
"""An HGVS c. at the canonical ±1/2 splice sites."""


def change_kind(hgvs_c: str | None, hgvs_p: str | None) -> str | None:
    """``"loss_of_function"``, ``"missense"`` or None (anything else, or not known) from a variant's HGVS.

    >>> change_kind("c.100C>T", "p.(Arg34Ter)"), change_kind("c.101G>A", "p.Arg34Gln"), change_kind("c.99+1G>A", None)
    ('loss_of_function', 'missense', 'loss_of_function')
    """
    if (hgvs_p and LOF_PROTEIN.search(hgvs_p)) or (hgvs_c and CANONICAL_SPLICE.search(hgvs_c)):
        return "loss_of_function"
    change = ProteinChange.parse(hgvs_p)
    return "missense" if change is not None and change.missense else None
_SUBSTITUTION = re.compile(r"^(?:[^:]*:)?p\.\(?([A-Z][a-z]{2})(\d+)([A-Z][a-z]{2}|\*|=)\)?$")


@dataclass(frozen=True, slots=True, order=True)
class ProteinChange:
    """A single-residue substitution, residues in three-letter code (``Ter`` for a stop).

    >>> ProteinChange.parse("NP_000001.1:p.(Arg27Trp)")
    ProteinChange(ref='Arg', position=27, alt='Trp')
    >>> ProteinChange.parse("p.Leu473fs") is None
    True
    """

    ref: str
    position: int
    alt: str

    @property
    def missense(self) -> bool:
        """An amino acid replaced by a different amino acid (not a stop, not synonymous)."""
        return self.alt != self.ref and self.alt != "Ter" and self.ref != "Ter"

    @property
    def hgvs(self) -> str:
        """``p.Arg27Trp`` form."""
        return f"p.{self.ref}{self.position}{self.alt}"

    @classmethod
    def parse(cls, hgvs_p: str | None) -> ProteinChange | None:
        """The substitution an HGVS p. string describes, or None when it is not one."""
        if not hgvs_p:
            return None
        match = _SUBSTITUTION.match(hgvs_p.strip())
        if match is None:
            return None
        ref, position, alt = match.groups()
        alt = {"*": "Ter", "=": ref}.get(alt, alt)
        if ref not in _RESIDUES or alt not in _RESIDUES:
            return None
        return cls(ref, int(position), alt)

    @classmethod
    def of_effect(cls, effect: TranscriptEffect) -> ProteinChange | None:
        """An effect's substitution, from its HGVS p. or else from its one-letter residues and position.

        >>> from genomed.annotate.model import Impact
        >>> e = TranscriptEffect("T", "G", "G1", ("missense_variant",), Impact.MODERATE, protein_position=5,
        ...                      ref_amino_acids="R", alt_amino_acids="W")
        >>> ProteinChange.of_effect(e)
        ProteinChange(ref='Arg', position=5, alt='Trp')
        """
        parsed = cls.parse(effect.hgvs_p)
        if parsed is not None:
            return parsed
        ref, alt, position = effect.ref_amino_acids, effect.alt_amino_acids, effect.protein_position
        if ref and alt and position and len(ref) == 1 and len(alt) == 1:
            ref3, alt3 = THREE_LETTER.get(ref.upper()), THREE_LETTER.get(alt.upper())
            if ref3 and alt3:
                return cls(ref3, position, alt3)
        return None
