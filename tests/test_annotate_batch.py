"""annotate_many's vectorised paths give exactly what annotate gives, variant by variant (the oracle).

``Annotator.annotate`` applies the rules one (variant, transcript) pair at a time; ``annotate_many``
decides most pairs on arrays (:mod:`genomed.annotate.snv_batch`). The per-variant path is the
slow, obviously-correct reference: here both run on thousands of random changes around real
Ensembl chr21 models (overlapping isoforms, both strands, non-coding and incomplete transcripts)
on a synthetic reference that honours them, plus hand-made models with 1- to 5-base introns and
exons, where the splice windows of neighbouring introns overlap.
"""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import genomed.annotate.annotator as annotator_module
from genomed.annotate import model
from genomed.annotate.annotator import Annotator
from genomed.annotate.gene_models import load_gff3
from genomed.annotate.mane import Transcript
from genomed.annotate.model import Impact, TranscriptEffect, Variant
from genomed.data import data_file
from genomed.errors import InputError
from genomed.genome.mapped_fasta import MappedFasta
from genomed.genome.reference import ReferenceGenome, Region, open_reference
from genomed.simulate.sequence import SyntheticReference, build_reference, encode

GFF3 = "gene-models/ensembl-chr21-subset.GRCh38.gff3.gz"
REGION = Region("chr21", 44_000_000, 44_400_000)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Transcript], SyntheticReference, Path]:
    inside = [t for t in load_gff3(data_file(GFF3))
              if t.start >= REGION.start + 6_000 and t.end <= REGION.end - 6_000]
    reference, _ = build_reference([REGION], inside, np.random.default_rng(5))
    fasta = reference.write_fasta(tmp_path_factory.mktemp("batch") / "chr21.fa")
    return inside, reference, fasta


def random_changes(reference: ReferenceGenome, transcripts: list[Transcript], n: int, seed: int,
                   chrom: str = "chr21", region: Region = REGION) -> list[Variant]:
    """SNVs, deletions, insertions and MNVs: a third at exon edges (±12), a third in CDSs, a third anywhere."""
    rng = np.random.default_rng(seed)
    edges = np.array([b for t in transcripts for s, e in t.exons for b in (s, e)], dtype=np.int64)
    cds = np.array([g for t in transcripts for s, e in t.cds_exons() for g in (s, e - 1)], dtype=np.int64)
    positions = np.concatenate([rng.choice(edges, n // 3) + rng.integers(-12, 12, n // 3),
                                rng.choice(cds, n // 3) + rng.integers(-40, 40, n // 3),
                                rng.integers(region.start + 10, region.end - 10, n - 2 * (n // 3))])
    out = []
    for p, kind in zip(positions.tolist(), rng.random(len(positions)).tolist(), strict=True):
        if not reference.has(region.chrom, p, p + 8):
            continue
        bases = reference.fetch(region.chrom, p, p + 8)
        if kind < 0.7:
            out.append(Variant(chrom, p + 1, bases[0], "ACGT"[("ACGT".index(bases[0]) + 1 + p % 3) % 4]))
        elif kind < 0.82:
            out.append(Variant(chrom, p + 1, bases[:2 + p % 5], bases[0]))
        elif kind < 0.94:
            out.append(Variant(chrom, p + 1, bases[0], bases[0] + "".join(rng.choice(list("ACGT"), 1 + p % 5))))
        else:
            out.append(Variant(chrom, p + 1, bases[:2], "".join("ACGT"[("ACGT".index(b) + 1) % 4] for b in bases[:2])))
    return out


def boundary_changes(reference: ReferenceGenome, transcripts: list[Transcript], n: int, seed: int) -> list[Variant]:
    """Indels within 3 bases of exon, CDS and transcript ends, repeating a neighbouring base (so they shift)."""
    rng = np.random.default_rng(seed)
    ends = sorted({b for t in transcripts for s, e in (*t.exons, (t.cds_start, t.cds_end), (t.start, t.end))
                   for b in (s, e)})
    out = []
    for p in (rng.choice(ends, n) + rng.integers(-3, 4, n)).tolist():
        bases = reference.fetch(REGION.chrom, p - 1, p + 3)  # p - 1 is the VCF anchor
        out += [Variant(REGION.chrom, p, bases[:2], bases[0]), Variant(REGION.chrom, p, bases[:3], bases[0]),
                Variant(REGION.chrom, p, bases[0], bases[0] + bases[1]),
                Variant(REGION.chrom, p, bases[0], bases[0] + bases[0]),
                Variant(REGION.chrom, p, bases[0], bases[0] + bases[1:3])]
    return out


@pytest.fixture
def batched(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts the pairs the vectorised paths are given (the real functions run: spies, not stand-ins)."""
    seen = {"snv_effects": 0, "indel_effects": 0}
    for name in seen:
        real = getattr(annotator_module, name)

        def spy(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            seen[_name] += len(args[1])
            return _real(*args, **kwargs)

        monkeypatch.setattr(annotator_module, name, spy)
    return seen


@pytest.mark.parametrize("backend", ["synthetic", "mapped FASTA", "none"])
def test_annotate_many_equals_annotate_on_random_changes(world: tuple[list[Transcript], SyntheticReference, Path],
                                                         batched: dict[str, int], backend: str) -> None:
    transcripts, synthetic, fasta = world
    reference: ReferenceGenome | None = {"synthetic": synthetic, "mapped FASTA": open_reference(fasta, "GRCh38"),
                                         "none": None}[backend]
    if backend == "mapped FASTA":
        assert MappedFasta.of(reference) is not None
    variants = random_changes(synthetic, transcripts, 3_000, seed=len(backend))
    variants += boundary_changes(synthetic, transcripts, 600, seed=len(backend))
    variants += [Variant("21", v.pos, v.ref, v.alt) for v in variants[:300]]  # Ensembl's name for chr21
    many = Annotator(transcripts, reference).annotate_many(variants)
    single = Annotator(transcripts, reference)
    assert batched["snv_effects"] > 5_000 and batched["indel_effects"] > 1_000, batched
    for variant, annotation in zip(variants, many, strict=True):
        assert annotation == single.annotate(variant), variant


def _tiny_introns(strand: str, offset: int) -> list[Transcript]:
    """Models whose introns (1-5 nt) and exons (1-3 nt) are shorter than the splice windows."""
    s = offset
    exons = ((s, s + 40), (s + 41, s + 43), (s + 45, s + 46), (s + 49, s + 90), (s + 95, s + 98), (s + 100, s + 160))
    coding = Transcript("chr21", exons[0][0], exons[-1][1], strand, exons, s + 10, s + 150, "TINY", "G1",
                        f"ENST_TINY{strand}", "", "P1", "")
    noncoding = Transcript("chr21", exons[0][0], exons[-1][1], strand, exons, s, s, "TINY", "G1",
                           f"ENST_TINYNC{strand}", "", "", "")
    return [coding, noncoding]


def test_splice_windows_of_tiny_introns_and_exons(world: tuple[list[Transcript], SyntheticReference, Path]) -> None:
    _, synthetic, _ = world
    transcripts = _tiny_introns("+", REGION.start + 1_000) + _tiny_introns("-", REGION.start + 2_000)
    variants = []
    for start in (REGION.start + 1_000, REGION.start + 2_000):
        for p in range(start - 20, start + 180):
            base = synthetic.fetch("chr21", p, p + 2)
            variants.append(Variant("chr21", p + 1, base[0], "ACGT"[("ACGT".index(base[0]) + 1) % 4]))
            variants.append(Variant("chr21", p + 1, base, base[0]))
    annotator = Annotator(transcripts, synthetic)
    many = annotator.annotate_many(variants)
    assert sum(len(a.effects) for a in many) > 1_000
    for variant, annotation in zip(variants, many, strict=True):
        assert annotation == annotator.annotate(variant), variant


@pytest.mark.parametrize("strand", ["+", "-"])
def test_indels_in_repeats_running_across_exon_boundaries(strand: str, tmp_path: Path,
                                                          batched: dict[str, int]) -> None:
    """Runs of one base (and of CA) across every boundary: each indel shifts to the edge of its exon or intron."""
    rng = np.random.default_rng(9)
    pieces = [str(rng.choice(["A", "C", "CA", "G"])) * int(rng.integers(1, 9)) for _ in range(600)]
    sequence = "".join(pieces)[:1_500]
    region = Region("chr21", 100_000, 100_000 + len(sequence))
    reference = SyntheticReference([region], encode(sequence))
    s = region.start + 200
    exons = ((s, s + 60), (s + 75, s + 90), (s + 200, s + 203), (s + 207, s + 260), (s + 300, s + 420))
    transcripts = [
        Transcript("chr21", s, s + 420, strand, exons, s + 40, s + 350, "RPT", "G2", "ENST_RPT", "", "P2", ""),
        Transcript("chr21", s + 75, s + 260, strand, exons[1:4], s + 75, s + 75, "RPT", "G2", "ENST_RPTNC", "", "", "")]
    variants = []
    for p in range(s - 30, s + 450):
        bases = sequence[p - 1 - region.start:p + 3 - region.start]  # p - 1 is the VCF anchor
        variants += [Variant("chr21", p, bases[:2], bases[0]), Variant("chr21", p, bases[:3], bases[0]),
                     Variant("chr21", p, bases[0], bases[0] + bases[1]),
                     Variant("chr21", p, bases[0], bases[0] + bases[0]),
                     Variant("chr21", p, bases[0], bases[0] + bases[1:3])]
    for backend in (reference, open_reference(reference.write_fasta(tmp_path / "rpt.fa"), "GRCh38"), None):
        annotator = Annotator(transcripts, backend)
        many = annotator.annotate_many(variants)
        assert sum(len(a.effects) for a in many) == 2 * len(variants)
        for variant, annotation in zip(variants, many, strict=True):
            assert annotation == annotator.annotate(variant), variant
    assert batched["indel_effects"] > 2 * len(variants), batched


def test_build_effect_is_a_transcript_effect_in_every_way() -> None:
    """The fast constructor the batch paths use: same fields, defaults, equality, hash, frozenness, pickling."""
    names = [f.name for f in dataclasses.fields(TranscriptEffect)]
    parameters = inspect.signature(model._TranscriptEffectInPlace.__init__).parameters
    assert list(parameters)[1:] == names
    for parameter, field in zip(list(parameters.values())[1:], dataclasses.fields(TranscriptEffect), strict=True):
        assert parameter.default == (inspect.Parameter.empty if field.default is dataclasses.MISSING
                                     else field.default), field.name
    values = ("NM_1.2", "GENE", "HGNC:1", ("missense_variant",), Impact.MODERATE, False, "NM_1.2:c.5A>G",
              "NP_1.1:p.(Lys2Arg)", (1, 3), (2, 2), 5, 2, 100, "K", "R", True)
    built, made = model.build_effect(*values), TranscriptEffect(*values)
    assert type(built) is TranscriptEffect and built == made and hash(built) == hash(made)
    assert [getattr(built, name) for name in names] == list(values) and repr(built) == repr(made)
    assert pickle.loads(pickle.dumps(built)) == made  # noqa: S301  # our own bytes, just written
    assert dataclasses.replace(built, gene_id="x").gene_id == "x"
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.hgvs_c = "changed"  # type: ignore[misc]
    assert model.build_effect("T", "G", "G1", ("intron_variant",), Impact.MODIFIER) == TranscriptEffect(
        "T", "G", "G1", ("intron_variant",), Impact.MODIFIER)


@pytest.mark.parametrize("workers", [2, 3])
def test_forked_workers_give_the_same_answers(world: tuple[list[Transcript], SyntheticReference, Path],
                                              monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    """A batch shared with forked workers (the FASTA read through its memory map) comes back as one process makes it."""
    transcripts, synthetic, fasta = world
    variants = random_changes(synthetic, transcripts, 1_500, seed=11)
    expected = Annotator(transcripts, synthetic).annotate_many(variants)
    annotator = Annotator(transcripts, open_reference(fasta, "GRCh38"))
    assert annotator._fork_safe()
    rebuilt = {"rows": 0}
    real = annotator_module._effects_from_tuples

    def spy(rows: Any) -> Any:
        rebuilt["rows"] += 1
        return real(rows)

    monkeypatch.setattr(annotator_module, "_effects_from_tuples", spy)
    monkeypatch.setattr(annotator_module, "_PARALLEL_MIN", 100)
    assert annotator.annotate_many(variants, workers=workers) == expected
    assert rebuilt["rows"] > len(variants) // 3  # the workers' share (half or more) came back through the pipe


def test_doctests() -> None:
    import doctest

    import genomed.annotate.indel_batch
    import genomed.annotate.snv_batch

    for module in (genomed.annotate.snv_batch, genomed.annotate.indel_batch, model):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__


def test_short_translation_is_numpys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sequences up to 240 bases are translated in Python; numpy's translation is the reference."""
    from genomed.annotate import genetic_code

    rng = np.random.default_rng(4)
    sequences = ["".join(rng.choice(list("ACGTNacgtRx-é" if k % 5 == 0 else "ACGT"), int(rng.integers(0, 260))))
                 for k in range(3_000)]
    short = [genetic_code.translate(s, to_stop=k % 2 == 0) for k, s in enumerate(sequences)]
    monkeypatch.setattr(genetic_code, "_SHORT", -1)
    assert short == [genetic_code.translate(s, to_stop=k % 2 == 0) for k, s in enumerate(sequences)]


def test_annotate_many_refuses_what_annotate_refuses(world: tuple[list[Transcript], SyntheticReference, Path]) -> None:
    """A REF the reference contradicts (SNV or indel, read through pysam or the memory map) and a symbolic allele."""
    transcripts, synthetic, fasta = world
    t = next(t for t in transcripts if t.coding)
    g = t.cds_start + 30
    base = synthetic.fetch("chr21", g, g + 3)
    wrong, deleted = (next(b for b in "ACGT" if b != base[k]) for k in (0, 1))
    for reference in (synthetic, open_reference(fasta, "GRCh38")):
        annotator = Annotator(transcripts, reference)
        for bad in (Variant("chr21", g + 1, wrong, base[1] if base[1] != wrong else base[0]),
                    Variant("chr21", g + 1, base[0] + deleted + base[2], base[0])):
            with pytest.raises(InputError, match="does not match the reference"):
                annotator.annotate_many([Variant("chr21", g + 1, base[0], "T" if base[0] != "T" else "G"), bad])
        with pytest.raises(InputError, match="not a sequence"):
            annotator.annotate_many([Variant("chr21", g + 1, base[0], "<DEL>")])
