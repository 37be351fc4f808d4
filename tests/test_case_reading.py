"""Reading a case's VCFs: the fast path (bcftools query + numpy) gives exactly what the ingest reader gives.

The oracle is the original, obviously-correct reading: every record streamed through
:func:`genomed.ingest.reader.read_vcf` and gathered into per-member dictionaries keyed by variant
(kept here verbatim, as tskit keeps its slow ``simplify``).
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from genomed.errors import ReferenceMismatchError
from genomed.genome.reference import ReferenceGenome, open_reference
from genomed.ingest.chunks import RecordChunk
from genomed.interpret.case_data import HET, HOM, CaseCalls, Member, _genotype_code, read_case_vcfs
from genomed.simulate import simulate_cohort
from genomed.simulate.genome import split_members

BUILD = "GRCh38"


# ----------------------------------------------------------------------------- the oracle (the original code)

@dataclass
class _SampleCalls:
    index: dict[tuple[str, int, str, str], int] = field(default_factory=dict)
    genotype: list[int] = field(default_factory=list)
    gq: list[int] = field(default_factory=list)
    dp: list[int] = field(default_factory=list)
    ad_alt: list[int] = field(default_factory=list)
    filter_pass: list[bool] = field(default_factory=list)


def _absorb(chunk: RecordChunk, column_of: Mapping[int, int], calls: list[_SampleCalls]) -> None:
    for j in range(len(chunk.gt_record)):
        member = column_of.get(int(chunk.gt_sample[j]))
        if member is None:
            continue
        r = int(chunk.gt_record[j])
        key = (chunk.chrom[r], int(chunk.pos[r]), chunk.ref[r], chunk.alt[r])
        target = calls[member]
        code = _genotype_code(int(chunk.gt_alt_count[j]), int(chunk.gt_ploidy[j]))
        if key in target.index:
            k = target.index[key]
            target.genotype[k] = max(target.genotype[k], code)
            continue
        target.index[key] = len(target.genotype)
        target.genotype.append(code)
        target.gq.append(int(chunk.gt_gq[j]))
        target.dp.append(int(chunk.gt_dp[j]))
        target.ad_alt.append(int(chunk.gt_ad_alt[j]))
        target.filter_pass.append(bool(chunk.filter_pass[r]))


def oracle(members: Sequence[Member], files: Mapping[str, Path], reference: ReferenceGenome | None) -> CaseCalls:
    from genomed.ingest.reader import read_vcf

    column = {m.sample: i for i, m in enumerate(members)}
    by_file: dict[Path, list[str]] = {}
    for sample, path in files.items():
        by_file.setdefault(Path(path), []).append(sample)
    calls = [_SampleCalls() for _ in members]
    for path, samples in by_file.items():
        stream = read_vcf(path, expected_build=BUILD, reference=reference)
        names = {s.name: s.index for s in stream.samples}
        column_of = {names[s]: column[s] for s in samples}
        for chunk in stream:
            if isinstance(chunk, RecordChunk):
                _absorb(chunk, column_of, calls)
    proband = calls[0]
    keys = [k for k, i in sorted(proband.index.items(), key=lambda item: item[1])
            if proband.genotype[i] in (HET, HOM)]
    n, m = len(keys), len(members)
    genotype = np.zeros((n, m), dtype=np.int8)
    gq = np.full((n, m), -1, dtype=np.int16)
    dp = np.full((n, m), -1, dtype=np.int32)
    for col, member_calls in enumerate(calls):
        for row, key in enumerate(keys):
            k = member_calls.index.get(key)
            if k is None:
                continue
            genotype[row, col] = member_calls.genotype[k]
            gq[row, col] = member_calls.gq[k]
            dp[row, col] = member_calls.dp[k]
    rows = [proband.index[k] for k in keys]
    return CaseCalls(
        members=tuple(members), chrom=[k[0] for k in keys], pos=np.array([k[1] for k in keys], dtype=np.int64),
        ref=[k[2] for k in keys], alt=[k[3] for k in keys], genotype=genotype, gq=gq, dp=dp,
        ad_alt=np.array([proband.ad_alt[i] for i in rows], dtype=np.int32),
        filter_pass=np.array([proband.filter_pass[i] for i in rows], dtype=bool))


def assert_same(got: CaseCalls, expected: CaseCalls) -> None:
    assert len(got) == len(expected) > 0
    assert got.chrom == expected.chrom
    assert got.ref == expected.ref
    assert got.alt == expected.alt
    for name in ("pos", "genotype", "gq", "dp", "ad_alt", "filter_pass"):
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name), err_msg=name)


# ----------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def trio(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Member]]:
    """A small messy trio: multi-allelic sites, unnormalised indels, no-calls, a de novo, chrX."""
    out = tmp_path_factory.mktemp("case-reading")
    manifest = simulate_cohort(out / "sim", 0, n_genes=40, trios=1, seed=5, messy=True, min_de_novo=2,
                               missing_rate=0.05)
    family = manifest.trios[0]
    members = [Member(family["child"], "proband", family["child_sex"], True),
               Member(family["father"], "father", "male", False), Member(family["mother"], "mother", "female", False)]
    return out / "sim", members


def test_multi_sample_file_matches_the_reader(trio: tuple[Path, list[Member]]) -> None:
    sim, members = trio
    reference = open_reference(sim / "reference.fa", BUILD)
    files = {m.sample: sim / "trios" / "FAM001.vcf.gz" for m in members}
    expected = oracle(members, files, reference)
    got = read_case_vcfs(members, files, build=BUILD, reference=reference)
    assert_same(got, expected)
    assert (expected.genotype == -1).any()            # no-calls were exercised
    assert any(len(r) != len(a) for r, a in zip(expected.ref, expected.alt, strict=True))  # and indels


def test_member_files_match_the_reader(trio: tuple[Path, list[Member]], tmp_path: Path) -> None:
    sim, members = trio
    files = split_members(sim / "trios" / "FAM001.vcf.gz", tmp_path / "members")
    reference = open_reference(sim / "reference.fa", BUILD)
    for ref in (reference, None):  # with a reference (left-aligned) and without (trimmed only)
        expected = oracle(members, files, ref)
        got = read_case_vcfs(members, files, build=BUILD, reference=ref)
        assert_same(got, expected)
        slow = read_case_vcfs(members, files, build=BUILD, reference=ref, fast=False)
        assert_same(slow, expected)
        assert got.notes == slow.notes


@pytest.mark.parametrize("kind", ["snv", "indel"])
def test_a_ref_mismatch_is_reported_with_its_line(trio: tuple[Path, list[Member]], tmp_path: Path, kind: str) -> None:
    """Regression: the fast path must not swallow a REF that contradicts the reference; the reader names it."""
    sim, members = trio
    with gzip.open(sim / "trios" / "FAM001.vcf.gz", "rt") as handle:
        lines = handle.read().splitlines()
    first = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    for i in range(first + 5, len(lines)):
        fields = lines[i].split("\t")
        ref, alt = fields[3], fields[4]
        if kind == "snv" and len(ref) == 1 and ref in "ACGT" and len(alt) == 1:
            fields[3] = next(b for b in "ACGT" if b not in (ref, alt))
        elif kind == "indel" and 3 <= len(ref) <= 10 and set(ref) <= set("ACGT") and "," not in alt:
            fields[3] = ref[:-1] + next(b for b in "ACGT" if b != ref[-1])  # the last base of a deletion
        else:
            continue
        lines[i] = "\t".join(fields)
        break
    import pysam

    plain = tmp_path / "bad.vcf"
    plain.write_text("\n".join(lines) + "\n")
    pysam.tabix_compress(str(plain), str(tmp_path / "bad.vcf.gz"))
    files = {m.sample: tmp_path / "bad.vcf.gz" for m in members}
    with pytest.raises(ReferenceMismatchError, match="line"):
        read_case_vcfs(members, files, build=BUILD, reference=open_reference(sim / "reference.fa", BUILD))


def test_annotation_in_forked_workers_is_the_same(trio: tuple[Path, list[Member]]) -> None:
    """Sharing annotate_many with forked workers (safe with the memory-mapped reference) changes nothing."""
    from genomed.annotate import annotator as annotator_module
    from genomed.annotate.annotator import Annotator
    from genomed.genome.mapped_fasta import mapped_reference

    sim, members = trio
    reference = open_reference(sim / "reference.fa", BUILD)
    mapped = mapped_reference(reference)
    assert mapped is not reference and getattr(mapped, "fork_safe", False)
    calls = read_case_vcfs(members, {m.sample: sim / "trios" / "FAM001.vcf.gz" for m in members}, build=BUILD,
                           reference=reference)
    variants = [calls.variant(i) for i in range(len(calls))]
    expected = Annotator.from_mane(reference).annotate_many(variants)
    minimum = annotator_module._PARALLEL_MIN
    annotator_module._PARALLEL_MIN = 10  # a small batch, forked all the same
    try:
        got = Annotator.from_mane(mapped).annotate_many(variants, workers=2)
    finally:
        annotator_module._PARALLEL_MIN = minimum
    assert got == expected
    assert any(a.effects for a in expected)


def test_mapped_reference_answers_as_the_reference(trio: tuple[Path, list[Member]]) -> None:
    """The memory-mapped FASTA gives pysam's answers: inside records, across their ends, between them."""
    from genomed.genome.mapped_fasta import mapped_reference

    sim, _ = trio
    reference = open_reference(sim / "reference.fa", BUILD)
    mapped = mapped_reference(reference)
    rng = np.random.default_rng(3)
    regions = reference.regions  # type: ignore[attr-defined]
    for region in regions[:: max(1, len(regions) // 40)]:
        for _ in range(10):
            start = int(rng.integers(region.start - 50, region.end + 50))
            end = start + int(rng.integers(0, 130))
            for chrom in (region.chrom, region.chrom.removeprefix("chr")):
                assert mapped.has(chrom, start, end) == reference.has(chrom, start, end)
                if reference.has(chrom, start, end):
                    assert mapped.fetch(chrom, start, end) == reference.fetch(chrom, start, end)
