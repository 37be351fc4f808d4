"""Normalisation: splitting, trimming, left-alignment, and the REF check — examples and properties."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import genomed.ingest.bgzf as bgzf_module
import genomed.ingest.normalise as normalise_module
import genomed.ingest.qc as qc_module
import genomed.ingest.reader as reader_module
from genomed.errors import InputError, ReferenceMismatchError
from genomed.ingest.chunks import MISSING
from genomed.ingest.normalise import (
    _StringReference,
    alt_counts,
    check_ref,
    left_align,
    normalise,
    split_ad,
    split_record,
    trim,
)


@pytest.mark.parametrize("module", [normalise_module, qc_module, reader_module, bgzf_module])
def test_doctests(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)  # type: ignore[arg-type]
    assert result.failed == 0


# ----------------------------------------------------------------------------- splitting

def test_split_multiallelic_genotypes_and_depths() -> None:
    """1/2 is one copy of each ALT; 2/2 is two copies of ALT 2 and nothing of ALT 1; AD follows."""
    genotypes = [(0, 0), (0, 1), (1, 2), (2, 2), (None, None), (0, None), (1,), (2,)]
    ad = [[20, 0, 0], [10, 9, 0], [0, 7, 8], [0, 0, 15], [], [5, 0, 0], [0, 12, 0], [0, 0, 11]]
    first, second = split_record(1000, "A", ["C", "T"], genotypes, ad)
    assert (first.alt, second.alt) == ("C", "T")
    assert first.alt_counts == [0, 1, 1, 0, MISSING, MISSING, 1, 0]
    assert second.alt_counts == [0, 0, 1, 2, MISSING, MISSING, 0, 1]
    assert first.ad == [(20, 0), (10, 9), (0, 7), (0, 0), (-1, -1), (5, 0), (0, 12), (0, 0)]
    assert second.ad == [(20, 0), (10, 0), (0, 8), (0, 15), (-1, -1), (5, 0), (0, 0), (0, 11)]


def test_split_skips_symbolic_alleles_but_keeps_their_carriers_called() -> None:
    records = split_record(5, "G", ["<NON_REF>", "A", "*"], [(0, 1), (2, 3), (1, 1)])
    assert [(r.allele, r.alt, r.alt_counts) for r in records] == [(2, "A", [0, 1, 0])]


def test_vectorised_alt_counts_match_scalar_rule() -> None:
    alleles = np.array([[[0, 1], [2, 2], [1, -1]], [[-1, -1], [0, 0], [2, 1]]])
    called = np.array([[True, True, True], [False, True, True]])
    assert alt_counts(alleles, np.array([1, 2])[:, None], called).tolist() == [[1, 0, 1], [MISSING, 0, 1]]


def test_split_ad_without_depths() -> None:
    assert split_ad([7], 1) == (7, -1)


# ----------------------------------------------------------------------------- trimming and alignment

@pytest.mark.parametrize(("given_", "expected"), [
    ((100, "CAG", "CTG"), (101, "A", "T")),
    ((100, "ATG", "AG"), (100, "AT", "A")),
    ((100, "ACGT", "ACGTGT"), (101, "C", "CGT")),   # suffix first: the shared GT goes
    ((100, "G", "GA"), (100, "G", "GA")),
    ((100, "AC", "GT"), (100, "AC", "GT")),
])
def test_trim(given_: tuple[int, str, str], expected: tuple[int, str, str]) -> None:
    assert trim(*given_) == expected


def test_left_align_in_homopolymer_and_dinucleotide_repeat() -> None:
    genome = _StringReference({"chr1": "GCATATATATGCCCCCT"})
    #                                   1234567890123456 7
    assert normalise("chr1", 8, "TAT", "T", genome).pos == 2          # AT deleted at the last copy
    assert normalise("chr1", 8, "TAT", "T", genome)[:3] == (2, "CAT", "C")
    assert normalise("chr1", 15, "CC", "C", genome)[:3] == (11, "GC", "G")
    assert normalise("chr1", 16, "C", "CC", genome)[:3] == (11, "G", "GC")


def test_left_align_stops_at_contig_start() -> None:
    genome = _StringReference({"chr1": "AAAAC"})
    assert left_align("chr1", 3, "AA", "A", genome) == (1, "AA", "A")


def test_without_reference_only_trims() -> None:
    result = normalise("chr1", 15, "CCT", "CT")
    assert result == (15, "CC", "C", True, False)


def test_ref_mismatch_names_the_record() -> None:
    genome = _StringReference({"chr1": "ACGTACGT"})
    with pytest.raises(ReferenceMismatchError, match=r"^chr1:3 REF A does not match the reference \(G\)$"):
        check_ref("chr1", 3, "A", genome)


def test_ref_equal_alt_is_refused() -> None:
    with pytest.raises(InputError, match="equals REF"):
        normalise("chr1", 3, "AC", "AC")


# ----------------------------------------------------------------------------- properties

def apply(sequence: str, pos: int, ref: str, alt: str) -> str:
    """The haplotype a variant describes: the reference with REF replaced by ALT at 1-based ``pos``."""
    assert sequence[pos - 1:pos - 1 + len(ref)] == ref
    return sequence[:pos - 1] + alt + sequence[pos - 1 + len(ref):]


bases = st.sampled_from("ACGT")


@settings(max_examples=300, deadline=None)
@given(left=st.text("ACGT", min_size=1, max_size=6), unit=st.text("ACGT", min_size=1, max_size=4),
       copies=st.integers(2, 6), right=st.text("ACGT", min_size=1, max_size=6), deletion=st.booleans())
def test_every_spelling_of_an_indel_in_a_repeat_left_aligns_to_one(left: str, unit: str, copies: int, right: str,
                                                                    deletion: bool) -> None:
    """Deleting (or inserting) one copy of a repeat unit at any copy gives one normalised record."""
    sequence = left + unit * copies + right
    genome = _StringReference({"chr1": sequence})
    results = set()
    for k in range(copies + (0 if deletion else 1)):
        start = len(left) + k * len(unit)          # 0-based first base of the copy (or insertion point)
        anchor = sequence[start - 1]
        if deletion:
            pos, ref, alt = start, anchor + unit, anchor
        else:
            pos, ref, alt = start, anchor, anchor + unit
        haplotype = apply(sequence, pos, ref, alt)
        result = normalise("chr1", pos, ref, alt, genome)
        assert apply(sequence, result.pos, result.ref, result.alt) == haplotype
        results.add(result[:3])
    assert len(results) == 1


@settings(max_examples=400, deadline=None)
@given(sequence=st.text("ACGT", min_size=3, max_size=30), data=st.data())
def test_normalised_indel_is_the_leftmost_equivalent(sequence: str, data: st.DataObject) -> None:
    """Against a brute-force search: the same haplotype, at the leftmost position any spelling allows."""
    genome = _StringReference({"chr1": sequence})
    length = data.draw(st.integers(1, 4))
    deletion = data.draw(st.booleans())
    if deletion:
        if len(sequence) - 1 <= length:
            return
        start = data.draw(st.integers(1, len(sequence) - length))      # 0-based first deleted base
        haplotype = sequence[:start] + sequence[start + length:]
        pos, ref, alt = start, sequence[start - 1:start + length], sequence[start - 1]
        leftmost = min(p for p in range(1, len(sequence) - length + 1)
                       if sequence[:p] + sequence[p + length:] == haplotype)
    else:
        inserted = data.draw(st.text("ACGT", min_size=length, max_size=length))
        start = data.draw(st.integers(1, len(sequence)))                  # insert before 0-based start
        haplotype = sequence[:start] + inserted + sequence[start:]
        pos, ref, alt = start, sequence[start - 1], sequence[start - 1] + inserted
        leftmost = min(q for q in range(1, len(sequence) + 1)
                       if sequence[:q] + haplotype[q:q + length] + sequence[q:] == haplotype)
    result = normalise("chr1", pos, ref, alt, genome)
    assert apply(sequence, result.pos, result.ref, result.alt) == haplotype
    assert result.pos == leftmost        # the anchor base sits just before the leftmost changed base
    assert normalise("chr1", result.pos, result.ref, result.alt, genome)[:3] == result[:3]   # idempotent
