"""Regression guard for the HGVS c. agreement benchmark (benchmarks/annotation.py) on real published cases."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from genomed.annotate.annotator import Annotator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import annotation as bench  # the benchmark module is the oracle: one definition of agreement


@pytest.fixture(scope="module")
def annotator() -> Annotator:
    return Annotator.from_mane()


def test_phenopacket_store_first_cases(annotator: Annotator) -> None:
    cases = bench.phenopacket_cases()[:600]
    plain = bench.phenopacket_agreement(annotator, cases)
    assert plain["compared"] >= 550
    # Without a genome, indels in repeats keep the VCF position: substitutions must all agree,
    # and what disagrees must be an indel whose repeat extends beyond the VCF record.
    assert plain["agreement"] >= 0.85
    assert set(plain["disagreements"]) <= {"dup needs bases beyond the VCF record",
                                           "indel placed elsewhere in its repeat (3' shift)",
                                           "substitution (published ref base or syntax differs)", "other"}
    assert plain["disagreements"].get("substitution (published ref base or syntax differs)", 0) <= 1
    with_repeat = bench.phenopacket_agreement(annotator, cases, repeat_context=True)
    assert with_repeat["agreement"] >= 0.97


def test_clinvar_g_to_c(annotator: Annotator) -> None:
    result = bench.clinvar_agreement(annotator.transcripts)
    assert result["compared"] >= 400
    assert result["agreement"] >= 0.95
