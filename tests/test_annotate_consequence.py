"""Consequence edge cases found by comparing with bcftools csq."""

from __future__ import annotations


def test_a_reference_stop_inside_the_cds_gives_no_protein_change() -> None:
    """Regression: with a stop codon inside the reference CDS (selenoproteins' UGA, or a reference
    contradicting the model) an SNV after it came out as ``inframe_deletion`` of the whole tail."""
    from genomed.annotate.annotator import Annotator
    from genomed.annotate.mane import SELECT, Transcript
    from genomed.annotate.model import Variant

    sequence = "ATGAAATGAAAACCCGGGTTTAAACCCTAA"

    class Tiny:
        build = "GRCh38"

        def has(self, chrom: str, start: int, end: int) -> bool:
            return chrom == "chr1" and 0 <= start <= end <= len(sequence)

        def fetch(self, chrom: str, start: int, end: int) -> str:
            return sequence[start:end]

    transcript = Transcript("chr1", 0, 30, "+", ((0, 30),), 0, 30, "SELX", "1", "ENST1", "NM_1.1", "NP_1.1", SELECT)
    annotation = Annotator([transcript], Tiny()).annotate(Variant("chr1", 14, "C", "G"))
    [effect] = annotation.effects
    assert "inframe_deletion" not in effect.consequences and effect.hgvs_p is None
    assert effect.hgvs_c == "NM_1.1:c.14C>G"
