"""Consequences, HGVS c. and p. on a synthetic reference consistent with MANE (and real AOAH sequence).

The synthetic reference (``genomed.simulate``) honours every gene model it holds: ATG start, stop
at the CDS end, GT..AG introns, no premature stop. Expected values are computed here with plain
strings from ``reference.fetch`` — an oracle independent of the annotator's transcript arithmetic.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from genomed.annotate.annotator import Annotator
from genomed.annotate.genetic_code import CODON_TABLE, reverse_complement, three_letter, translate
from genomed.annotate.mane import Transcript, load_mane
from genomed.annotate.model import Impact, TranscriptEffect, Variant
from genomed.data import data_file
from genomed.errors import InputError, ReferenceSequenceError
from genomed.simulate.regions import close_regions
from genomed.simulate.sequence import SyntheticReference, build_reference

GENES = ("TP53", "PEX14")  # minus strand, plus strand


@pytest.fixture(scope="module")
def world() -> tuple[Annotator, SyntheticReference, dict[str, Transcript]]:
    mane = load_mane(chroms=["chr1", "chr17"])
    chosen = [t for t in mane if t.gene_symbol in GENES]
    regions = close_regions(chosen, mane, mode="genes", flank=6_000)
    reference, conflicts = build_reference(regions.regions, regions.transcripts, np.random.default_rng(11))
    assert not conflicts
    return Annotator(regions.transcripts, reference), reference, {t.gene_symbol: t for t in chosen}


def cds_sequence(reference: SyntheticReference, t: Transcript) -> str:
    """The CDS read 5'->3' with plain fetches (the oracle)."""
    text = "".join(reference.fetch(t.chrom, s, e) for s, e in t.cds_exons())
    return text if t.strand == "+" else reverse_complement(text)


def cds_genomic(t: Transcript) -> list[int]:
    """Genomic position of each CDS base, in transcript order."""
    positions = [g for s, e in t.cds_exons() for g in range(s, e)]
    return positions if t.strand == "+" else positions[::-1]


def snv_at(reference: SyntheticReference, t: Transcript, g: int, transcript_alt: str) -> Variant:
    """The VCF variant that puts ``transcript_alt`` (on the transcript's strand) at genomic ``g``."""
    ref = reference.fetch(t.chrom, g, g + 1)
    alt = transcript_alt if t.strand == "+" else reverse_complement(transcript_alt)
    return Variant(t.chrom, g + 1, ref, alt)


def effect_on(annotator: Annotator, variant: Variant, t: Transcript) -> TranscriptEffect:
    return next(e for e in annotator.annotate(variant).effects if e.transcript_id == t.refseq_id)


@pytest.mark.parametrize("gene", GENES)
def test_every_substitution_of_some_codons_matches_the_codon_oracle(world: tuple, gene: str) -> None:
    annotator, reference, genes = world
    t = genes[gene]
    cds, where = cds_sequence(reference, t), cds_genomic(t)
    protein = translate(cds)
    n_codons = len(cds) // 3
    for codon in (1, 2, 3, 50, n_codons - 1, n_codons):  # start, early, middle, last sense codon, stop codon
        for k in range(3):
            i = 3 * (codon - 1) + k
            for base in "ACGT":
                if base == cds[i]:
                    continue
                effect = effect_on(annotator, snv_at(reference, t, where[i], base), t)
                assert effect.hgvs_c == f"{t.refseq_id}:c.{i + 1}{cds[i]}>{base}"
                new_codon = cds[3 * (codon - 1):i] + base + cds[i + 1:3 * codon]
                old_aa, new_aa = protein[codon - 1], CODON_TABLE[new_codon]
                if codon == 1:
                    expected, p = "start_lost", "p.(Met1?)"
                elif old_aa == new_aa:
                    expected = "stop_retained_variant" if old_aa == "*" else "synonymous_variant"
                    p = f"p.({three_letter(old_aa)}{codon}=)"
                elif new_aa == "*":
                    expected, p = "stop_gained", f"p.({three_letter(old_aa)}{codon}Ter)"
                elif old_aa == "*":
                    expected, p = "stop_lost", f"p.(Ter{codon}{three_letter(new_aa)}ext"
                else:
                    expected, p = "missense_variant", f"p.({three_letter(old_aa)}{codon}{three_letter(new_aa)})"
                assert effect.consequences[0] == expected, (gene, codon, k, base)
                assert effect.hgvs_p is not None and effect.hgvs_p.startswith(f"{t.refseq_protein_id}:{p}")
                assert effect.cds_position == i + 1 and effect.protein_position == codon
                if expected == "stop_gained":
                    assert effect.nmd_escape is not None and effect.impact == Impact.HIGH


@pytest.mark.parametrize("gene", GENES)
def test_splice_sites_and_regions(world: tuple, gene: str) -> None:
    annotator, reference, genes = world
    t = genes[gene]
    plus = t.strand == "+"
    # The second intron in transcript order: its donor is next to exon 2's 3' end.
    introns = t.introns() if plus else tuple(reversed(t.introns()))
    lo, hi = introns[1]
    donor_first = lo if plus else hi - 1  # intron base +1
    acceptor_last = hi - 1 if plus else lo  # intron base -1
    step = 1 if plus else -1
    expect = {
        donor_first: "splice_donor_variant", donor_first + step: "splice_donor_variant",
        donor_first + 2 * step: "splice_region_variant", donor_first + 7 * step: "splice_region_variant",
        donor_first + 8 * step: "intron_variant",
        acceptor_last: "splice_acceptor_variant", acceptor_last - step: "splice_acceptor_variant",
        acceptor_last - 2 * step: "splice_region_variant", acceptor_last - 7 * step: "splice_region_variant",
        acceptor_last - 8 * step: "intron_variant",
        donor_first - step: None, donor_first - 3 * step: None,  # last exonic bases: region + coding
        donor_first - 4 * step: "not splice",
    }
    for g, term in expect.items():
        base = reference.fetch(t.chrom, g, g + 1)
        alt = "A" if base != "A" else "C"
        effect = effect_on(annotator, Variant(t.chrom, g + 1, base, alt), t)
        if term is None:
            assert "splice_region_variant" in effect.consequences and effect.exon == (2, len(t.exons))
        elif term == "not splice":
            assert "splice_region_variant" not in effect.consequences
        else:
            assert effect.consequences[0] == term, (gene, g, effect)
            assert effect.intron == (2, len(t.exons) - 1)
    # HGVS: +1, +2 from exon 2's last base, -1 on the next exon's first base.
    plus_one = effect_on(annotator, Variant(t.chrom, donor_first + 1, reference.fetch(t.chrom, donor_first,
                                                                                      donor_first + 1), "N"), t)
    assert plus_one.hgvs_c is not None and plus_one.hgvs_c.split("c.")[1][:-3].endswith("+1")
    minus_one = effect_on(annotator, Variant(t.chrom, acceptor_last + 1,
                                             reference.fetch(t.chrom, acceptor_last, acceptor_last + 1), "N"), t)
    assert minus_one.hgvs_c is not None and minus_one.hgvs_c.split("c.")[1][:-3].endswith("-1")
    assert minus_one.hgvs_p == f"{t.refseq_protein_id}:p.?"


@pytest.mark.parametrize("gene", GENES)
def test_frameshift_dup_and_inframe(world: tuple, gene: str) -> None:
    annotator, reference, genes = world
    t = genes[gene]
    cds, where = cds_sequence(reference, t), cds_genomic(t)
    plus = t.strand == "+"
    # A one-base insertion after c.30 of the base at c.30 is a dup (3' shifted through any run).
    i = 29
    run_end = i
    while cds[run_end + 1] == cds[i]:
        run_end += 1
    g = where[i]
    anchor = reference.fetch(t.chrom, g, g + 1) if plus else reference.fetch(t.chrom, g - 1, g)
    pos = g + 1 if plus else g
    variant = Variant(t.chrom, pos, anchor, anchor + (cds[i] if plus else reverse_complement(cds[i])))
    effect = effect_on(annotator, variant, t)
    assert effect.hgvs_c == f"{t.refseq_id}:c.{run_end + 1}dup"
    assert effect.consequences[0] == "frameshift_variant" and effect.impact == Impact.HIGH
    alt_protein = translate(cds[:i + 1] + cds[i] + cds[i + 1:] + "", to_stop=True)
    first = next(k for k, (a, b) in enumerate(zip(translate(cds), alt_protein, strict=False)) if a != b)
    assert effect.hgvs_p is not None and f"{three_letter(translate(cds)[first])}{first + 1}" in effect.hgvs_p
    # Inserting a base unlike its 5' neighbour is an ins with both flanks.
    other = next(b for b in "ACGT" if b not in (cds[i], cds[i + 1]))
    variant = Variant(t.chrom, pos, anchor, anchor + (other if plus else reverse_complement(other)))
    insertion = effect_on(annotator, variant, t)
    assert insertion.hgvs_c == f"{t.refseq_id}:c.{i + 1}_{i + 2}ins{other}"
    # Deleting codon 20 whole is in frame.
    lo, hi = (where[57], where[59] + 1) if plus else (where[59], where[57] + 1)
    bases = reference.fetch(t.chrom, lo - 1, hi)
    deletion = effect_on(annotator, Variant(t.chrom, lo, bases, bases[0]), t)
    assert deletion.consequences[0] in ("inframe_deletion", "stop_gained")
    assert deletion.hgvs_p is not None and "del" in deletion.hgvs_p


def test_frameshift_near_the_stop_runs_into_the_utr(world: tuple) -> None:
    annotator, reference, genes = world
    t = genes["PEX14"]
    cds, where = cds_sequence(reference, t), cds_genomic(t)
    i = len(cds) - 5  # inside the last sense codon
    g = where[i]
    bases = reference.fetch(t.chrom, g - 1, g + 1)
    effect = effect_on(annotator, Variant(t.chrom, g, bases, bases[0]), t)
    assert "frameshift_variant" in effect.consequences or "stop_lost" in effect.consequences
    assert effect.nmd_escape is True  # the last exon escapes NMD
    assert effect.hgvs_p is not None and ("fsTer" in effect.hgvs_p or "ext" in effect.hgvs_p
                                          or effect.hgvs_p.endswith("Ter)"))


def test_utr_up_down_stream_and_intergenic(world: tuple) -> None:
    annotator, reference, genes = world
    t = genes["TP53"]  # minus strand: 5' end at the genomic right
    upstream = Variant(t.chrom, t.end + 100, reference.fetch(t.chrom, t.end + 99, t.end + 100), "N")
    downstream = Variant(t.chrom, t.start - 100, reference.fetch(t.chrom, t.start - 101, t.start - 100), "N")
    assert effect_on(annotator, upstream, t).consequences == ("upstream_gene_variant",)
    assert effect_on(annotator, downstream, t).consequences == ("downstream_gene_variant",)
    five = t.cds_end + 2  # two bases 5' of the A of ATG on the minus strand
    effect = effect_on(annotator, Variant(t.chrom, five + 1, reference.fetch(t.chrom, five, five + 1), "N"), t)
    assert effect.consequences == ("5_prime_UTR_variant",) and effect.hgvs_c is not None
    assert ":c.-3" in effect.hgvs_c
    three = t.cds_start - 20
    effect = effect_on(annotator, Variant(t.chrom, three + 1, reference.fetch(t.chrom, three, three + 1), "N"), t)
    assert effect.consequences == ("3_prime_UTR_variant",) and ":c.*20" in (effect.hgvs_c or "")
    assert annotator.annotate(Variant("chr17", 1_000, "A", "G")).effects == ()


def test_without_reference_only_what_coordinates_decide(world: tuple) -> None:
    _, reference, genes = world
    t = genes["PEX14"]
    plain = Annotator([t])
    cds, where = cds_sequence(reference, t), cds_genomic(t)
    g = where[40]
    effect = next(iter(plain.annotate(Variant(t.chrom, g + 1, cds[40], "A" if cds[40] != "A" else "C")).effects))
    assert effect.consequences == ("coding_sequence_variant",) and effect.hgvs_p is None
    assert effect.hgvs_c == f"{t.refseq_id}:c.41{cds[40]}>{'A' if cds[40] != 'A' else 'C'}"
    deletion = next(iter(plain.annotate(Variant(t.chrom, g, "NN", "N")).effects))
    assert deletion.consequences == ("frameshift_variant",) and deletion.nmd_escape is False


def test_annotate_many_equals_annotate(world: tuple) -> None:
    annotator, reference, _ = world
    rng = np.random.default_rng(3)
    variants = []
    for region in reference.regions:
        for p in rng.integers(region.start, region.end, size=150).tolist():
            base = reference.fetch(region.chrom, p, p + 1)
            variants.append(Variant(region.chrom, p + 1, base, "T" if base != "T" else "G"))
            bases = reference.fetch(region.chrom, p, p + 3)
            variants.append(Variant(region.chrom, p + 1, bases, bases[0]))
    variants += [Variant("chr17", 10, "A", "G"), Variant("chr5", 1_000_000, "A", "G")]
    assert annotator.annotate_many(variants) == [annotator.annotate(v) for v in variants]


def test_bad_variants_are_refused(world: tuple) -> None:
    annotator, reference, genes = world
    assert genes
    t = genes["TP53"]
    g = t.cds_start + 30
    wrong = next(b for b in "ACGT" if b != reference.fetch(t.chrom, g, g + 1))
    with pytest.raises(InputError, match="does not match the reference"):
        annotator.annotate(Variant(t.chrom, g + 1, wrong, "N"))
    with pytest.raises(InputError, match="not a sequence"):
        annotator.annotate(Variant(t.chrom, g + 1, "A", "<DEL>"))


class _TranscriptOnly:
    """A reference that knows only the exonic bases of one real transcript (cdot's sequence)."""

    build = "GRCh38"

    def __init__(self, t: Transcript, sequence: str) -> None:
        genomic = "".join(reverse_complement(sequence)) if t.strand == "-" else sequence
        self.chrom, self.bases, offset = t.chrom, {}, 0
        for s, e in t.exons:
            for k in range(e - s):
                self.bases[s + k] = genomic[offset + k]
            offset += e - s

    def has(self, chrom: str, start: int, end: int) -> bool:
        return chrom == self.chrom and all(p in self.bases for p in range(start, end))

    def fetch(self, chrom: str, start: int, end: int) -> str:
        if not self.has(chrom, start, end):
            raise ReferenceSequenceError(f"{chrom}:{start}-{end} unknown")
        return "".join(self.bases[p] for p in range(start, end))


def test_real_transcript_sequence_aoah_minus_strand() -> None:
    sequences = json.loads(data_file("gene-models/cdot-transcript-sequences.json").read_text())
    t = next(t for t in load_mane(chroms=["chr7"]) if t.ensembl_id == "ENST00000617537.5")
    mrna = sequences["ENST00000617537.5"]
    reference = _TranscriptOnly(t, mrna)
    annotator = Annotator([t], reference)
    # The real CDS: ATG ... stop, no premature stop (checks our exon/CDS arithmetic on real data).
    utr5 = sum(e - s for s, e in t.exons if s >= t.cds_end) + sum(e - t.cds_end for s, e in t.exons
                                                                  if s < t.cds_end < e)
    cds = mrna[utr5:utr5 + t.cds_length]
    protein = translate(cds)
    assert protein.startswith("M") and protein.endswith("*") and protein.count("*") == 1
    # c.10 substitutions on the minus strand agree with string edits of the real mRNA.
    where = cds_genomic(t)
    for base in "ACGT":
        if base == cds[9]:
            continue
        effect = effect_on(annotator, Variant(t.chrom, where[9] + 1, reverse_complement(cds[9]),
                                              reverse_complement(base)), t)
        new = translate(cds[:9] + base + cds[10:])
        assert effect.hgvs_c == f"NM_001637.4:c.10{cds[9]}>{base}"
        if new[3] == protein[3]:
            assert effect.hgvs_p == f"NP_001628.1:p.({three_letter(protein[3])}4=)"
        elif new[3] == "*":
            assert effect.hgvs_p == f"NP_001628.1:p.({three_letter(protein[3])}4Ter)"
        else:
            assert effect.hgvs_p == f"NP_001628.1:p.({three_letter(protein[3])}4{three_letter(new[3])})"


def test_doctests() -> None:
    import doctest

    import genomed.annotate.alleles
    import genomed.annotate.annotator
    import genomed.annotate.consequence
    import genomed.annotate.genetic_code
    import genomed.annotate.hgvs
    import genomed.annotate.transcript_map
    import genomed.cli.annotate_cmd

    for module in (genomed.annotate.alleles, genomed.annotate.annotator, genomed.annotate.consequence,
                   genomed.annotate.genetic_code, genomed.annotate.hgvs, genomed.annotate.transcript_map,
                   genomed.cli.annotate_cmd):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__
