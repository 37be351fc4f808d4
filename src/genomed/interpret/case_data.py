"""A case's genotypes as interpretation reads them: the proband's variants and each relative's call there.

A case is a proband and, often, relatives (a trio). Interpretation only ever asks "what does each
member carry at the proband's variants?", so the data is one row per proband variant and one column
per member, in numpy arrays: an exome (~40,000 variants) or a genome (~5 million) fits and filters
in vectorised steps instead of per-variant Python.

Genotype codes: ``-1`` not called, ``0`` reference, ``1`` heterozygous, ``2`` homozygous alternate
*or hemizygous* (one alternate copy on a haploid chromosome: chrX outside the PARs in a male).
A relative's genotype absent from a multi-sample VCF is a reference call (VCF's own convention);
absent from a relative's own single-sample VCF it is also read as reference, the usual assumption
for a file called over the same capture, and :attr:`CaseCalls.notes` says so.

Records are read through the ingestion reader, so a case file gets the same checks (genome build,
truncation, malformed records) and the same normalisation (split, trim, left-align) as a store batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from genomed.annotate.model import Variant
from genomed.errors import InputError
from genomed.genome.reference import ReferenceGenome
from genomed.ingest.chunks import MISSING, RecordChunk

NOT_CALLED, REF, HET, HOM = -1, 0, 1, 2

Role = Literal["proband", "father", "mother", "sibling", "relative"]
Sex = Literal["male", "female", "unknown"]


@dataclass(frozen=True)
class Member:
    """One person of the case: a VCF sample column, with the facts inheritance analysis needs."""

    sample: str
    role: Role
    sex: Sex = "unknown"
    affected: bool | None = None

    @property
    def is_parent(self) -> bool:
        """Father or mother of the proband."""
        return self.role in ("father", "mother")


@dataclass
class CaseCalls:
    """The proband's variants (rows) and every member's genotype there (columns, in ``members`` order).

    ``gq`` and ``dp`` are -1 where the caller gave none. ``ad_alt`` is the proband's alternate read
    depth (-1 unknown), used by the allele-balance filter.
    """

    members: tuple[Member, ...]
    chrom: list[str]
    pos: npt.NDArray[np.int64]
    ref: list[str]
    alt: list[str]
    genotype: npt.NDArray[np.int8]
    gq: npt.NDArray[np.int16]
    dp: npt.NDArray[np.int32]
    ad_alt: npt.NDArray[np.int32]
    filter_pass: npt.NDArray[np.bool_]
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.chrom)

    def variant(self, row: int) -> Variant:
        """The variant of one row."""
        return Variant(self.chrom[row], int(self.pos[row]), self.ref[row], self.alt[row])

    def member_index(self, role: Role) -> int | None:
        """Column of the first member with this role, or None."""
        return next((i for i, m in enumerate(self.members) if m.role == role), None)

    @property
    def proband(self) -> Member:
        """The proband (always column 0)."""
        return self.members[0]

    def subset(self, rows: npt.NDArray[np.int64]) -> CaseCalls:
        """Only the given rows, in the given order."""
        return CaseCalls(
            members=self.members, chrom=[self.chrom[i] for i in rows], pos=self.pos[rows],
            ref=[self.ref[i] for i in rows], alt=[self.alt[i] for i in rows], genotype=self.genotype[rows],
            gq=self.gq[rows], dp=self.dp[rows], ad_alt=self.ad_alt[rows], filter_pass=self.filter_pass[rows],
            notes=list(self.notes))

    @classmethod
    def from_rows(cls, members: Sequence[Member], variants: Sequence[Variant], genotypes: npt.ArrayLike, *,
                  gq: npt.ArrayLike | None = None, dp: npt.ArrayLike | None = None) -> CaseCalls:
        """Build from explicit variants and a (variants x members) genotype matrix (tests, spike-ins)."""
        n, m = len(variants), len(members)
        matrix = np.asarray(genotypes, dtype=np.int8).reshape(n, m)
        _check_members(members)
        return cls(
            members=tuple(members), chrom=[v.chrom for v in variants],
            pos=np.array([v.pos for v in variants], dtype=np.int64), ref=[v.ref for v in variants],
            alt=[v.alt for v in variants], genotype=matrix,
            gq=np.full((n, m), -1, np.int16) if gq is None else np.asarray(gq, np.int16).reshape(n, m),
            dp=np.full((n, m), -1, np.int32) if dp is None else np.asarray(dp, np.int32).reshape(n, m),
            ad_alt=np.full(n, -1, np.int32), filter_pass=np.ones(n, dtype=bool))


def _check_members(members: Sequence[Member]) -> None:
    if not members or members[0].role != "proband":
        raise InputError("a case's first member must be the proband")
    if sum(1 for m in members if m.role == "proband") != 1:
        raise InputError("a case has exactly one proband")
    for role in ("father", "mother"):
        if sum(1 for m in members if m.role == role) > 1:
            raise InputError(f"a case has at most one {role}")
    samples = [m.sample for m in members]
    if len(set(samples)) != len(samples):
        raise InputError(f"a sample appears twice among the case members: {samples}")


@dataclass
class _SampleCalls:
    """One member's non-reference and no-call records, keyed by variant."""

    index: dict[tuple[str, int, str, str], int] = field(default_factory=dict)
    genotype: list[int] = field(default_factory=list)
    gq: list[int] = field(default_factory=list)
    dp: list[int] = field(default_factory=list)
    ad_alt: list[int] = field(default_factory=list)
    filter_pass: list[bool] = field(default_factory=list)


def _genotype_code(alt_count: int, ploidy: int) -> int:
    if alt_count == MISSING:
        return NOT_CALLED
    if ploidy == 1 and alt_count >= 1:
        return HOM
    return HOM if alt_count >= 2 else HET


def _absorb(chunk: RecordChunk, column_of: Mapping[int, int], calls: list[_SampleCalls]) -> None:
    for j in range(len(chunk.gt_record)):
        member = column_of.get(int(chunk.gt_sample[j]))
        if member is None:
            continue
        r = int(chunk.gt_record[j])
        key = (chunk.chrom[r], int(chunk.pos[r]), chunk.ref[r], chunk.alt[r])
        target = calls[member]
        code = _genotype_code(int(chunk.gt_alt_count[j]), int(chunk.gt_ploidy[j]))
        if key in target.index:  # a split multi-allelic or duplicate record: keep the stronger call
            k = target.index[key]
            target.genotype[k] = max(target.genotype[k], code)
            continue
        target.index[key] = len(target.genotype)
        target.genotype.append(code)
        target.gq.append(int(chunk.gt_gq[j]))
        target.dp.append(int(chunk.gt_dp[j]))
        target.ad_alt.append(int(chunk.gt_ad_alt[j]))
        target.filter_pass.append(bool(chunk.filter_pass[r]))


def read_case_vcfs(members: Sequence[Member], files: Mapping[str, Path], *, build: str,
                   reference: ReferenceGenome | None = None) -> CaseCalls:
    """Read the members' calls from VCF files (one multi-sample file, or one file per member).

    ``files`` maps each member's sample name to the file holding its column; several members may
    share a file (read once). Only the proband's called variants become rows.
    """
    from genomed.ingest.reader import read_vcf

    _check_members(members)
    column: dict[str, int] = {m.sample: i for i, m in enumerate(members)}
    missing = [m.sample for m in members if m.sample not in files]
    if missing:
        raise InputError(f"no VCF file given for case member(s) {', '.join(missing)}")
    by_file: dict[Path, list[str]] = {}
    for sample, path in files.items():
        if sample in column:
            by_file.setdefault(Path(path), []).append(sample)
    calls = [_SampleCalls() for _ in members]
    notes: list[str] = []
    for path, samples in by_file.items():
        stream = read_vcf(path, expected_build=build, reference=reference)
        names = {s.name: s.index for s in stream.samples}
        absent = [s for s in samples if s not in names]
        if absent:
            raise InputError(f"{path} has no sample column(s) {', '.join(absent)}; it has {', '.join(names)}")
        column_of = {names[s]: column[s] for s in samples}
        for chunk in stream:
            if isinstance(chunk, RecordChunk):
                _absorb(chunk, column_of, calls)
        if len(by_file) > 1:
            notes.append(f"{', '.join(samples)}: a genotype absent from {path.name} is read as a reference call")
        if stream.counts.left_alignment_skipped:
            notes.append(f"{path.name}: no reference FASTA, indels were trimmed but not left-aligned")
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
        filter_pass=np.array([proband.filter_pass[i] for i in rows], dtype=bool), notes=notes)
