"""HGVS c. (or n.) and p. descriptions, from positions and sequences the annotator has worked out.

Only the writing is here; deciding *what* changed (trimming, 3' shifting, dup detection, reading
codons through the reference) is the annotator's. The forms follow the HGVS recommendations as
published cases use them (phenopacket-store, ClinVar): deleted bases are not repeated
(``c.174del``), proteins are predicted and so parenthesised (``p.(Arg27Trp)``), three-letter amino
acids with ``Ter`` for a stop, silent changes keep their position (``p.(Glu293=)``), a lost
initiation codon is ``p.(Met1?)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from genomed.annotate.genetic_code import STOP, three_letter
from genomed.annotate.transcript_map import TxPosition


def c_description(kind: str, first: TxPosition, last: TxPosition, ref: str = "", alt: str = "") -> str:
    """The part after ``c.``: ``kind`` is sub, del, dup, ins or delins; ``first``/``last`` in transcript order.

    For ``ins``, ``first`` and ``last`` are the two flanking positions. Bases are on the transcript strand.

    >>> c_description("sub", TxPosition(36, 10), TxPosition(36, 10), "G", "A")
    '36+10G>A'
    >>> c_description("del", TxPosition(20, 0, True), TxPosition(20, 0, True))
    '*20del'
    >>> c_description("ins", TxPosition(5), TxPosition(6), alt="TT"), c_description("dup", TxPosition(5), TxPosition(7))
    ('5_6insTT', '5_7dup')
    """
    span = str(first) if first == last else f"{first}_{last}"
    if kind == "sub":
        return f"{first}{ref}>{alt}"
    if kind in ("del", "dup"):
        return f"{span}{kind}"
    if kind == "ins":
        return f"{first}_{last}ins{alt}"
    if kind == "delins":
        return f"{span}delins{alt}"
    raise ValueError(f"unknown HGVS edit kind {kind!r}")  # internal misuse, not user input


@dataclass(frozen=True, slots=True)
class ProteinChange:
    """A predicted protein change: its SO terms, HGVS p. (without accession) and VEP-style fields.

    ``position`` is the first changed residue (1-based), ``ref``/``alt`` the one-letter residues
    that differ (``*`` for a stop), ``stop_index`` the 0-based codon index of a new premature stop
    in the variant protein when there is one (for the NMD decision).
    """

    terms: tuple[str, ...]
    hgvs: str
    position: int
    ref: str
    alt: str
    stop_index: int | None = None


def _aa(residues: str, position: int) -> str:
    return f"{three_letter(residues)}{position}"


def common_prefix_length(a: str, b: str, start: int = 0) -> int:
    """Length of the longest common prefix, ``a[:start]`` and ``b[:start]`` being known equal.

    A few residues are compared one by one (a change is usually right where it starts), then the
    rest by halving slices (string comparison runs in C).

    >>> common_prefix_length("MKAAG*", "MKAVG*"), common_prefix_length("MK", "MK"), common_prefix_length("", "M")
    (3, 2, 0)
    >>> common_prefix_length("MKAAG*" * 9, "MKAAG*" * 8 + "MKAVG*", start=2)
    51
    """
    n = min(len(a), len(b))
    stop = min(n, start + 8)
    for i in range(start, stop):
        if a[i] != b[i]:
            return i
    lo, hi = stop, n
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[lo:mid] == b[lo:mid]:  # a[:lo] == b[:lo] already
            lo = mid
        else:
            hi = mid - 1
    return lo


def protein_change(ref_protein: str, alt_protein: str, *, frameshift: bool, codon: int,
                   touches_stop: bool = False, same_before: int = 0) -> ProteinChange:
    """Compare the reference protein (ending in its stop) with the variant's translation.

    ``alt_protein`` is translated from the CDS start through the transcript's end and stops at, and
    includes, its first stop codon (no ``*`` when the variant transcript has none). ``codon`` is the
    1-based codon the variant starts in (for silent changes); ``touches_stop`` marks a variant in
    the stop codon, whose silent change is ``stop_retained_variant``. ``same_before``: how many
    leading residues the caller knows are the same in both (the codons before the change).

    >>> protein_change("MRK*", "MWK*", frameshift=False, codon=2).hgvs
    'p.(Arg2Trp)'
    >>> protein_change("MRKLE*", "MRQGGA*", frameshift=True, codon=3).hgvs
    'p.(Lys3GlnfsTer5)'
    >>> protein_change("MKAAG*", "MKAAAG*", frameshift=False, codon=4).hgvs
    'p.(Ala4dup)'
    >>> protein_change("MRK*", "M*", frameshift=False, codon=2).hgvs
    'p.(Arg2Ter)'
    >>> protein_change("MRK*", "MRKWLG", frameshift=False, codon=4).hgvs
    'p.(Ter4TrpextTer?)'
    """
    if alt_protein[:1] != "M" and ref_protein[:1] == "M":
        return ProteinChange(("start_lost",), "p.(Met1?)", 1, "M", alt_protein[:1] or "-")
    if alt_protein == ref_protein:
        term = "stop_retained_variant" if touches_stop else "synonymous_variant"
        residue = ref_protein[codon - 1] if 0 < codon <= len(ref_protein) else ""
        hgvs = f"p.({_aa(residues=residue, position=codon)}=)" if residue else "p.(=)"
        return ProteinChange((term,), hgvs, codon, residue, residue)
    i = common_prefix_length(ref_protein, alt_protein, same_before)
    ref_here = ref_protein[i] if i < len(ref_protein) else ""
    alt_here = alt_protein[i] if i < len(alt_protein) else ""
    new_stop = alt_protein.find(STOP)
    if ref_here == STOP:  # the stop codon is gone: the protein runs on
        tail = alt_protein[i:]
        extension = f"Ter{len(tail) - 1}" if tail.endswith(STOP) else "Ter?"
        terms = ("stop_lost", "frameshift_variant") if frameshift else ("stop_lost",)
        return ProteinChange(terms, f"p.(Ter{i + 1}{three_letter(alt_here or 'X')}ext{extension})", i + 1, STOP,
                             alt_here)
    if alt_here == STOP:
        terms = ("frameshift_variant",) if frameshift else ("stop_gained",)
        return ProteinChange(terms, f"p.({_aa(ref_here, i + 1)}Ter)", i + 1, ref_here, STOP, i)
    if frameshift:
        ter = f"Ter{new_stop - i + 1}" if new_stop >= 0 else "Ter?"
        body = f"{_aa(ref_here, i + 1)}{three_letter(alt_here or 'X')}fs{ter}"
        return ProteinChange(("frameshift_variant",), f"p.({body})", i + 1, ref_here, alt_here,
                             new_stop if new_stop >= 0 else None)
    # In frame: trim the common suffix too, then name what is left.
    ref_rest, alt_rest = ref_protein[i:], alt_protein[i:]
    j = common_prefix_length(ref_rest[::-1], alt_rest[::-1])
    deleted, inserted = ref_rest[:len(ref_rest) - j], alt_rest[:len(alt_rest) - j]
    if STOP in inserted:  # an early stop inside an in-frame change
        inserted = inserted[:inserted.index(STOP) + 1]
        first = _aa(deleted[0], i + 1) if deleted else _aa(ref_protein[i], i + 1)
        span = first if len(deleted) <= 1 else f"{first}_{_aa(deleted[-1], i + len(deleted))}"
        body = f"{span}Ter" if inserted == STOP else f"{span}delins{three_letter(inserted)}"
        return ProteinChange(("stop_gained",), f"p.({body})", i + 1, deleted or ref_here, inserted,
                             alt_protein.find(STOP))
    start = i + 1
    if deleted and inserted:
        if len(deleted) == 1 and len(inserted) == 1:
            return ProteinChange(("missense_variant",), f"p.({_aa(deleted, start)}{three_letter(inserted)})", start,
                                 deleted, inserted)
        span = _aa(deleted[0], start) if len(deleted) == 1 else \
            f"{_aa(deleted[0], start)}_{_aa(deleted[-1], start + len(deleted) - 1)}"
        net = len(inserted) - len(deleted)
        term = "missense_variant" if net == 0 else ("inframe_insertion" if net > 0 else "inframe_deletion")
        return ProteinChange((term,), f"p.({span}delins{three_letter(inserted)})", start, deleted, inserted)
    if deleted:
        span = _aa(deleted[0], start) if len(deleted) == 1 else \
            f"{_aa(deleted[0], start)}_{_aa(deleted[-1], start + len(deleted) - 1)}"
        return ProteinChange(("inframe_deletion",), f"p.({span}del)", start, deleted, "-")
    n = len(inserted)
    if i >= n and ref_protein[i - n:i] == inserted:
        span = _aa(inserted[0], i - n + 1) if n == 1 else f"{_aa(inserted[0], i - n + 1)}_{_aa(inserted[-1], i)}"
        return ProteinChange(("inframe_insertion",), f"p.({span}dup)", i - n + 1, "-", inserted)
    left, right = _aa(ref_protein[i - 1], i), _aa(ref_protein[i], i + 1)
    return ProteinChange(("inframe_insertion",), f"p.({left}_{right}ins{three_letter(inserted)})", start, "-", inserted)
