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

Why there is a second, faster way to read them: a genome case is three files of ~5 million records
each, and the reader's per-record Python (plus a pysam call per REF check) reads some 15,000
records a second — minutes per case. So, once the reader has checked a file's header, ``bcftools
query`` (pysam's, in a child process per file, all files at once) extracts the columns a case
needs and Arrow parses them; biallelic SNVs — nine records in ten — are checked against the
reference (read through a memory map of its FASTA: :mod:`genomed.genome.mapped_fasta`) and keyed in numpy;
the other records go one by one through the reader's own rules and
:func:`genomed.ingest.normalise.normalise` — the files, in row ranges, decoded in forked workers, one per core.
The members are then joined on the 64-bit variant key
with ``searchsorted``. Anything the fast path is not sure of (a REF that contradicts the reference,
a malformed allele or genotype, a non-integer FORMAT field, a gVCF) sends that file through the
reader's streaming instead, which raises the error with its line number. The tests compare both
ways with the original per-record code on simulated trios.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from genomed.annotate.model import Variant
from genomed.errors import InputError
from genomed.genome.builds import canonical_name
from genomed.genome.mapped_fasta import MappedFasta
from genomed.genome.reference import ReferenceGenome
from genomed.ingest.chunks import MISSING, RecordChunk

NOT_CALLED, REF, HET, HOM = -1, 0, 1, 2
GENOTYPE_WORDS = {NOT_CALLED: "not called", REF: "reference", HET: "heterozygous", HOM: "homozygous"}

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

    def variants(self, rows: Sequence[int] | npt.NDArray[np.int64]) -> list[Variant]:
        """The variants of many rows (a genome's millions: positions converted at once)."""
        picked = np.asarray(rows, dtype=np.int64)
        chrom, ref, alt = self.chrom, self.ref, self.alt
        return [Variant(chrom[r], p, ref[r], alt[r])
                for r, p in zip(picked.tolist(), self.pos[picked].tolist(), strict=True)]

    def zygosity(self, row: int, column: int = 0, build: str = "GRCh38") -> str:
        """A member's genotype in words; an alternate call on chrX outside the PARs in a male is hemizygous."""
        from genomed.genome.builds import in_par

        code = int(self.genotype[row, column])
        if code == HOM and self.chrom[row] in ("chrX", "X") and self.members[column].sex == "male" and \
                not in_par(build, self.chrom[row], int(self.pos[row])):
            return "hemizygous"
        return GENOTYPE_WORDS.get(code, "not called")

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


# ----------------------------------------------------------------------------- one member's calls, as arrays

@dataclass
class _MemberRows:
    """One member's sparse calls (non-reference and no-call records) in file order, as columns.

    ``key`` identifies the normalised variant (:func:`genomed.store.keys.variant_key`; a hashed key
    is replaced by a per-case surrogate so that equal keys always mean equal alleles).
    """

    key: npt.NDArray[np.int64]
    chrom: npt.NDArray[np.object_]
    pos: npt.NDArray[np.int64]
    ref: npt.NDArray[np.object_]
    alt: npt.NDArray[np.object_]
    code: npt.NDArray[np.int8]
    gq: npt.NDArray[np.int16]
    dp: npt.NDArray[np.int32]
    ad_alt: npt.NDArray[np.int32]
    filter_pass: npt.NDArray[np.bool_]

    @classmethod
    def concat(cls, parts: Sequence[_MemberRows]) -> _MemberRows:
        if not parts:
            return cls(np.zeros(0, np.int64), np.zeros(0, object), np.zeros(0, np.int64), np.zeros(0, object),
                       np.zeros(0, object), np.zeros(0, np.int8), np.zeros(0, np.int16), np.zeros(0, np.int32),
                       np.zeros(0, np.int32), np.zeros(0, bool))
        if len(parts) == 1:
            return parts[0]
        return cls(*(np.concatenate([getattr(p, name) for p in parts]) for name in _COLUMNS))

    def take(self, rows: npt.NDArray[np.intp]) -> _MemberRows:
        return _MemberRows(*(getattr(self, name)[rows] for name in _COLUMNS))


_COLUMNS = ("key", "chrom", "pos", "ref", "alt", "code", "gq", "dp", "ad_alt", "filter_pass")


def _codes(alt_count: npt.NDArray[np.integer], ploidy: npt.NDArray[np.integer]) -> npt.NDArray[np.int8]:
    """:func:`_genotype_code` over arrays."""
    code = np.where(alt_count >= 2, HOM, HET)
    code = np.where((ploidy == 1) & (alt_count >= 1), HOM, code)
    return np.where(alt_count == MISSING, NOT_CALLED, code).astype(np.int8)


def _genotype_code(alt_count: int, ploidy: int) -> int:
    if alt_count == MISSING:
        return NOT_CALLED
    if ploidy == 1 and alt_count >= 1:
        return HOM
    return HOM if alt_count >= 2 else HET


def _rows_from_chunk(chunk: RecordChunk, column_of: Mapping[int, int], n_members: int) -> list[_MemberRows]:
    """The calls of each member in one chunk of the ingest reader (the general path)."""
    sample = chunk.gt_sample.astype(np.int64)
    lookup = np.full(int(sample.max(initial=-1)) + 1, -1, dtype=np.int64)
    for index, member in column_of.items():
        if index < len(lookup):
            lookup[index] = member
    member_of = lookup[sample] if len(sample) else np.zeros(0, dtype=np.int64)
    chrom = np.array(chunk.chrom, dtype=object)
    ref = np.array(chunk.ref, dtype=object)
    alt = np.array(chunk.alt, dtype=object)
    code = _codes(chunk.gt_alt_count, chunk.gt_ploidy)
    out = []
    for member in range(n_members):
        mine = np.flatnonzero(member_of == member)
        r = chunk.gt_record[mine]
        out.append(_MemberRows(chunk.key[r].astype(np.int64), chrom[r], chunk.pos[r].astype(np.int64), ref[r], alt[r],
                               code[mine], chunk.gt_gq[mine].astype(np.int16), chunk.gt_dp[mine].astype(np.int32),
                               chunk.gt_ad_alt[mine].astype(np.int32), chunk.filter_pass[r]))
    return out


# ----------------------------------------------------------------------------- the fast path

_QUERY_CHILD = ("import sys\nfrom pysam import bcftools\n"
                "args = ['-f', sys.argv[1], '-o', sys.argv[2]] + (['-s', sys.argv[4]] if sys.argv[4] else [])\n"
                "bcftools.query(*args, sys.argv[3], catch_stdout=False)\n")
_FIELDS = ("GT", "GQ", "DP", "AD")
_SNV_BASES = ("A", "C", "G", "T")
_BASE_CODE = np.zeros(256, dtype=np.int64)
for _i, _b in enumerate(b"ACGT"):
    _BASE_CODE[_b] = _i


class _Extraction:
    """``bcftools query`` of one file's case columns, running in a child process (files in parallel)."""

    def __init__(self, path: Path, samples: Sequence[str], all_samples: Sequence[str],
                 format_types: Mapping[str, str]) -> None:
        import subprocess
        import sys
        import uuid

        self.fields = [name for name in _FIELDS if name in format_types]
        self.samples = list(samples)
        self.out = path.parent / f".genomed-{uuid.uuid4().hex}.case.tsv"
        self.child: subprocess.Popen[bytes] | None = None
        if "GT" not in self.fields or any(format_types[name] != "Integer" for name in self.fields if name != "GT"):
            return
        columns = "\t".join(f"%{name}" for name in self.fields)
        subset = ",".join(self.samples) if list(all_samples) != self.samples else ""
        fmt = f"%CHROM\t%POS\t%REF\t%ALT\t%FILTER[\t{columns}]\n"
        try:
            self.child = subprocess.Popen([sys.executable, "-c", _QUERY_CHILD, fmt, str(self.out), str(path), subset],  # noqa: S603
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          stdin=subprocess.DEVNULL)
        except OSError:
            self.child = None

    def table(self, keep: bool = False) -> Any | None:
        """The extracted columns as an Arrow table, or None if the extraction failed.

        The output file is deleted afterwards unless ``keep`` (forked workers each read their share;
        :meth:`close` deletes it then).
        """

        import pyarrow as pa
        from pyarrow import csv

        if self.child is None:
            return None
        try:
            if self.child.wait() != 0 or not self.out.exists():
                return None
            names = ["chrom", "pos", "ref", "alt", "filter"]
            types: dict[str, Any] = {"chrom": pa.string(), "pos": pa.int64(), "ref": pa.string(), "alt": pa.string(),
                                     "filter": pa.string()}
            for i in range(len(self.samples)):
                for name in self.fields:
                    column = f"{name.lower()}{i}"
                    names.append(column)
                    types[column] = pa.int64() if name in ("GQ", "DP") else pa.string()
            try:
                return csv.read_csv(
                    self.out, read_options=csv.ReadOptions(column_names=names, block_size=16 << 20),
                    parse_options=csv.ParseOptions(delimiter="\t", quote_char=False, double_quote=False,
                                                   escape_char=False),
                    convert_options=csv.ConvertOptions(column_types=types, null_values=["."],
                                                       strings_can_be_null=False, quoted_strings_can_be_null=False))
            except (pa.ArrowInvalid, OSError):
                return None
        finally:
            if not keep:
                self.close()

    def wait(self) -> None:
        """Until the child process has finished (its output file is then complete)."""
        if self.child is not None:
            self.child.wait()

    def close(self) -> None:
        """Stop the child if it still runs and delete its output."""
        import contextlib

        if self.child is not None and self.child.poll() is None:
            self.child.kill()
            self.child.wait()
        with contextlib.suppress(OSError):
            self.out.unlink()


class _UnsureError(Exception):
    """The fast path met something only the ingest reader handles (or reports) exactly: use it."""


def _parse_genotype(text: str) -> tuple[bool, int, int, int]:
    """(fully called, ploidy, allele 1, allele 2 or -1) of a GT string as ``bcftools query`` prints it."""
    copies = text.replace("|", "/").split("/")
    if len(copies) > 2 or any(c != "." and not c.isdigit() for c in copies):
        raise _UnsureError(text)
    alleles = [-1 if c == "." else int(c) for c in copies]
    return all(a >= 0 for a in alleles), len(alleles), alleles[0], alleles[1] if len(alleles) > 1 else -1


def _fast_rows(table: Any, n_samples: int, fields: Sequence[str], build: str,
               reference: ReferenceGenome | None, bases: MappedFasta | None) -> list[_MemberRows]:
    """Each extracted sample's calls, as the ingest reader would give them (raises :class:`_UnsureError` otherwise).

    Biallelic SNVs — almost every record — are checked and keyed in numpy; the rest (indels,
    multi-allelic and symbolic records) go one by one through the same rules and the same
    :func:`genomed.ingest.normalise.normalise` as the reader.
    """
    import pyarrow.compute as pc

    from genomed.genome.builds import contig_lengths
    from genomed.ingest.decode import primary_ucsc
    from genomed.store.keys import ALLELE_BITS, MAX_POSITION, POSITION_BITS, contig_code

    n = table.num_rows
    if n == 0:
        return [_MemberRows.concat([]) for _ in range(n_samples)]
    lengths = contig_lengths(build)
    chrom_codes = table.column("chrom").combine_chunks().dictionary_encode()
    names = chrom_codes.dictionary.to_pylist()
    ucsc_of = [primary_ucsc(name) for name in names]
    chrom_index = chrom_codes.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    primary = np.array([u is not None for u in ucsc_of] + [False], dtype=bool)[chrom_index]
    length = np.array([lengths.get(canonical_name(u), MAX_POSITION) if u else 0 for u in ucsc_of] + [0],
                      dtype=np.int64)[chrom_index]
    code_of = np.array([contig_code(u) if u else 0 for u in ucsc_of] + [0], dtype=np.int64)[chrom_index]
    ucsc = np.array([*ucsc_of, None], dtype=object)[chrom_index]
    pos = table.column("pos").to_numpy().astype(np.int64)
    if (primary & ((pos < 1) | (pos > length))).any():
        raise _UnsureError("position outside its contig")
    ref_col, alt_col = table.column("ref"), table.column("alt")
    if not pc.all(pc.or_(pc.invert(pa_bool(primary)), pc.match_substring_regex(ref_col, r"^[A-Za-z]+$"))).as_py():
        raise _UnsureError("invalid REF")
    snv = (primary & pc.is_in(ref_col, value_set=pa_strings(_SNV_BASES)).to_numpy(zero_copy_only=False)
           & pc.is_in(alt_col, value_set=pa_strings(_SNV_BASES)).to_numpy(zero_copy_only=False)
           & ~pc.equal(ref_col, alt_col).to_numpy(zero_copy_only=False))
    filter_pass = pc.is_in(table.column("filter"), value_set=pa_strings(["PASS", "."])).to_numpy(zero_copy_only=False)

    # per sample: genotype table lookups and the numeric FORMAT columns
    genotypes = []
    for i in range(n_samples):
        gt_codes = table.column(f"gt{i}").combine_chunks().dictionary_encode()
        parsed = [_parse_genotype(t) for t in gt_codes.dictionary.to_pylist()]
        index = gt_codes.indices.to_numpy(zero_copy_only=False)
        called, ploidy, a1, a2 = (np.array(column, dtype=np.int64)[index] for column in zip(*parsed, strict=True))
        gq = _numbers(table, f"gq{i}", n, "GQ" in fields)
        dp = _numbers(table, f"dp{i}", n, "DP" in fields)
        ad = table.column(f"ad{i}") if "AD" in fields else None
        genotypes.append((called.astype(bool), ploidy, a1, a2, np.minimum(gq, 32767), dp, ad))

    # biallelic SNVs, vectorised
    snv_rows = np.flatnonzero(snv)
    ref_snv, alt_snv = _first_bytes(ref_col, snv_rows), _first_bytes(alt_col, snv_rows)
    if reference is not None and len(snv_rows):
        _check_snv_refs(ucsc, pos, snv_rows, ref_snv, reference, bases, chrom_index)
    snv_keys = (code_of[snv_rows] << (POSITION_BITS + ALLELE_BITS)) | (pos[snv_rows] << ALLELE_BITS) \
        | (_BASE_CODE[ref_snv] << 21) | (_BASE_CODE[alt_snv] << 19)
    letters = np.array(list(_SNV_BASES), dtype=object)
    ref_obj, alt_obj = letters[_BASE_CODE[ref_snv]], letters[_BASE_CODE[alt_snv]]

    # everything else on primary contigs, one record at a time (their REFs checked here at once when possible)
    other_rows = np.flatnonzero(primary & ~snv)
    refs_checked = bases is not None and _check_long_refs(ucsc, pos, other_rows, ref_col, bases, chrom_index)
    other = _other_records(other_rows, table, ucsc, pos, genotypes, filter_pass, reference, bases, refs_checked)

    out = []
    for i, (called, ploidy, a1, a2, gq, dp, ad) in enumerate(genotypes):
        g_called, g_ploidy = called[snv_rows], ploidy[snv_rows]
        count = np.where(g_called, (a1[snv_rows] == 1).astype(np.int8) + (a2[snv_rows] == 1).astype(np.int8),
                         MISSING).astype(np.int8)
        emit = np.flatnonzero(count != 0)
        rows = snv_rows[emit]
        ad_alt = _ad_values(ad, rows, 1)
        snv_part = _MemberRows(snv_keys[emit], ucsc[rows], pos[rows], ref_obj[emit], alt_obj[emit],
                               _codes(count[emit], g_ploidy[emit]), gq[rows].astype(np.int16),
                               dp[rows].astype(np.int32), ad_alt, filter_pass[rows])
        order_snv = rows * 64
        part, order_other = other[i]
        merged = _MemberRows.concat([snv_part, part])
        order = np.argsort(np.concatenate([order_snv, order_other]), kind="stable")
        out.append(merged.take(order))
    return out


def _first_bytes(column: Any, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:
    """The first byte of each string at ``rows``, read from the Arrow buffers (no Python strings)."""
    import pyarrow as pa

    if not len(rows):
        return np.zeros(0, dtype=np.uint8)
    picked = column.take(pa.array(rows)).combine_chunks()
    _validity, offsets, data = picked.buffers()
    width = np.int64 if pa.types.is_large_string(picked.type) else np.int32
    starts = np.frombuffer(offsets, dtype=width)[picked.offset:picked.offset + len(picked)]
    result: npt.NDArray[np.uint8] = np.frombuffer(data, dtype=np.uint8)[starts]
    return result


def pa_bool(values: npt.NDArray[np.bool_]) -> Any:
    import pyarrow as pa

    return pa.array(values, type=pa.bool_())


def pa_strings(values: Sequence[str]) -> Any:
    import pyarrow as pa

    return pa.array(list(values), type=pa.string())


def _numbers(table: Any, name: str, n: int, present: bool) -> npt.NDArray[np.int64]:
    """A numeric FORMAT column with absent and negative values as -1."""
    if not present:
        return np.full(n, -1, dtype=np.int64)
    values = table.column(name).fill_null(-1).to_numpy().astype(np.int64)
    result: npt.NDArray[np.int64] = np.where(values < 0, -1, values)
    return result


def _ad_values(ad: Any, rows: npt.NDArray[np.int64], allele: int) -> npt.NDArray[np.int32]:
    """The ``allele``-th depth of AD at each row (-1 where absent)."""
    import pyarrow.compute as pc

    if ad is None or not len(rows):
        return np.full(len(rows), -1, dtype=np.int32)
    parts = pc.split_pattern(ad.take(rows), ",")
    long_enough = (pc.list_value_length(parts).to_numpy(zero_copy_only=False) > allele)
    out = np.full(len(rows), -1, dtype=np.int64)
    if long_enough.any():
        picked = pc.list_element(parts.filter(pa_bool(long_enough)), allele)
        numeric = pc.if_else(pc.equal(picked, "."), "-1", picked)
        try:
            out[long_enough] = pc.cast(numeric, "int64").to_numpy(zero_copy_only=False)
        except Exception as exc:  # pyarrow.ArrowInvalid: not a number
            raise _UnsureError("AD") from exc
    return np.where(out < 0, -1, out).astype(np.int32)


def _chrom_groups(ucsc: npt.NDArray[np.object_], rows: npt.NDArray[np.int64],
                  codes: npt.NDArray[np.int64] | None) -> list[tuple[str, npt.NDArray[np.intp]]]:
    """Each chromosome of ``rows`` with the positions (in ``rows``, ascending) of its rows.

    With ``codes`` (an integer per row, one chromosome each) grouped by sorting integers: comparing
    a genome's object array once per chromosome costs a second.
    """
    if codes is None:
        chroms = ucsc[rows]
        return [(str(chrom), np.flatnonzero(chroms == chrom)) for chrom in dict.fromkeys(chroms.tolist())]
    picked = codes[rows]
    order = np.argsort(picked, kind="stable")
    ordered = picked[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if len(ordered) else np.zeros(0, np.intp)
    ends = np.r_[starts[1:], len(ordered)].astype(np.intp)
    return [(str(ucsc[rows[order[a]]]), order[a:b]) for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]


def _check_long_refs(ucsc: npt.NDArray[np.object_], pos: npt.NDArray[np.int64], rows: npt.NDArray[np.int64],
                     ref_col: Any, bases: MappedFasta, codes: npt.NDArray[np.int64] | None = None) -> bool:
    """:func:`genomed.ingest.normalise.check_ref` for every REF of ``rows`` at once; True when it could.

    A REF that does not lie wholly inside one reference record is not checked (as the reader does);
    a mismatch raises :class:`_UnsureError` (the reader then names it). REFs longer than 64 bases
    are left to the per-record check (False).
    """
    import pyarrow as pa

    if not len(rows):
        return True
    picked = ref_col.take(pa.array(rows)).combine_chunks()
    if pa.types.is_large_string(picked.type):
        return False
    _validity, offsets_buffer, data_buffer = picked.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32)[picked.offset:picked.offset + len(picked) + 1]
    lengths = np.diff(offsets).astype(np.int64)
    if lengths.max(initial=0) > 64:
        return False
    data = np.frombuffer(data_buffer, dtype=np.uint8)
    for chrom, mine in _chrom_groups(ucsc, rows, codes):
        start = pos[rows[mine]] - 1
        first, last = bases.bases(str(chrom), start), bases.bases(str(chrom), start + lengths[mine] - 1)
        covered = (first != 0) & (last != 0) & bases.same_record(str(chrom), start, start + lengths[mine] - 1)
        for k in range(int(lengths[mine].max(initial=0))):
            at = mine[covered & (lengths[mine] > k)]
            if not len(at):
                break
            found = bases.bases(str(chrom), pos[rows[at]] - 1 + k)
            given = data[offsets[at] + k]
            given = np.where((given >= 97) & (given <= 122), given - 32, given)
            if ((found != given) & (found != ord("N")) & (given != ord("N"))).any():
                raise _UnsureError("REF mismatch")
    return True


def _check_snv_refs(ucsc: npt.NDArray[np.object_], pos: npt.NDArray[np.int64], rows: npt.NDArray[np.int64],
                    ref: npt.NDArray[np.uint8], reference: ReferenceGenome, bases: MappedFasta | None,
                    codes: npt.NDArray[np.int64] | None = None) -> None:
    """Every SNV's REF against the reference (N there matches anything); a mismatch is the reader's to report."""
    if bases is None:
        for j, row in enumerate(rows.tolist()):
            chrom, p = str(ucsc[row]), int(pos[row])
            if reference.has(chrom, p - 1, p):
                found = reference.fetch(chrom, p - 1, p)
                if found not in (chr(ref[j]), "N"):
                    raise _UnsureError("REF mismatch")
        return
    for chrom, mine in _chrom_groups(ucsc, rows, codes):
        known = bases.bases(str(chrom), pos[rows[mine]] - 1)
        if ((known != 0) & (known != ref[mine]) & (known != ord("N"))).any():
            raise _UnsureError("REF mismatch")


# Normalised form and key of the indels of the case being read (its members share most of them), keyed by
# (chrom, pos, REF, ALT) as written. Cleared before each case; only used with a :class:`MappedFasta`.
_NORMALISED: dict[tuple[str, int, str, str], tuple[int, str, str, int]] = {}
_ALLELE_CODES: dict[tuple[str, str], int] = {}   # the allele part of the keys of short alleles, computed once


def _other_records(rows: npt.NDArray[np.int64], table: Any, ucsc: npt.NDArray[np.object_],
                   pos: npt.NDArray[np.int64], genotypes: list[tuple[Any, ...]],
                   filter_pass: npt.NDArray[np.bool_], reference: ReferenceGenome | None,
                   bases: MappedFasta | None,
                   refs_checked: bool = False) -> list[tuple[_MemberRows, npt.NDArray[np.int64]]]:
    """Indels, MNVs, multi-allelic and symbolic records: the reader's per-record rules (split, trim, left-align)."""
    import re

    from genomed.errors import ReferenceMismatchError, ReferenceSequenceError
    from genomed.ingest.decode import GVCF_SYMBOLIC
    from genomed.ingest.normalise import check_ref, normalise
    from genomed.store.keys import ALLELE_BITS, MAX_POSITION, POSITION_BITS, allele_code, contig_code

    allele_pattern = re.compile(r"^[ACGTNacgtn]+$")
    shifted: dict[str, int] = {}

    def contig_shifted(chrom: str) -> int:
        """The contig's part of a key (computed once per contig, not per record)."""
        found = shifted.get(chrom)
        if found is None:
            found = shifted[chrom] = contig_code(chrom) << (POSITION_BITS + ALLELE_BITS)
        return found

    genome: ReferenceGenome | None = bases if bases is not None else reference
    normalised = _NORMALISED if genome is not None and genome is bases else {}
    n_samples = len(genotypes)
    collected: list[list[tuple[int, int, str, int, str, str, int, int, int, int, bool]]] = [[] for _ in genotypes]
    refs = table.column("ref").take(rows).to_pylist()
    alts = table.column("alt").take(rows).to_pylist()
    ads = [g[6].take(rows).to_pylist() if g[6] is not None else None for g in genotypes]
    # per sample, the complex rows' genotype columns as Python values (numpy scalars are slow one by one)
    columns = [tuple(column[rows].tolist() for column in g[:6]) for g in genotypes]
    chroms, positions, passes = ucsc[rows].tolist(), pos[rows].tolist(), filter_pass[rows].tolist()
    for k, row in enumerate(rows.tolist()):
        chrom, p, ref = str(chroms[k]), positions[k], refs[k].upper()
        kept: list[tuple[int, str]] = []
        for index, alt in enumerate(alts[k].split(",") if alts[k] != "." else [], start=1):
            if alt in GVCF_SYMBOLIC:
                continue
            if allele_pattern.match(alt):
                kept.append((index, alt.upper()))
            elif not (alt == "*" or alt.startswith("<") or "[" in alt or "]" in alt):
                raise _UnsureError("invalid ALT")
        if not kept:
            continue
        if not refs_checked and genome is not None and genome.has(chrom, p - 1, p - 1 + len(ref)):
            try:
                check_ref(chrom, p, ref, genome)
            except ReferenceMismatchError as exc:
                raise _UnsureError("REF mismatch") from exc
            except ReferenceSequenceError:
                pass
        for index, alt in kept:
            if ref == alt:
                raise _UnsureError("ALT equals REF")
            known = normalised.get((chrom, p, ref, alt))
            if known is None:
                n_pos, n_ref, n_alt = p, ref, alt
                # An anchored indel whose last bases differ is already trimmed and cannot shift left:
                # normalise would return it unchanged (most indels are written so), so skip it.
                if (len(ref) != 1 or len(alt) != 1) and not (
                        (len(ref) == 1 or len(alt) == 1) and ref[0] == alt[0] and ref[-1] != alt[-1]):
                    use = genome if genome is not None and genome.has(chrom, p - 1, p) else None
                    result = normalise(chrom, p, ref, alt, use)
                    n_pos, n_ref, n_alt = result.pos, result.ref, result.alt
                allele = _ALLELE_CODES.get((n_ref, n_alt))
                if allele is None:
                    allele = allele_code(n_ref, n_alt)
                    if len(n_ref) + len(n_alt) <= 6:
                        _ALLELE_CODES[(n_ref, n_alt)] = allele
                if not 1 <= n_pos <= MAX_POSITION:
                    raise _UnsureError("position")
                known = normalised[(chrom, p, ref, alt)] = (
                    n_pos, n_ref, n_alt, contig_shifted(chrom) | (n_pos << ALLELE_BITS)
                    | allele)
            n_pos, n_ref, n_alt, key = known
            for i in range(n_samples):
                called, ploidy, a1, a2, gq, dp = columns[i]
                if called[k]:
                    count = (a1[k] == index) + (a2[k] == index)
                    if count == 0:
                        continue
                else:
                    count = MISSING
                sample_ads = ads[i]
                depths = sample_ads[k] if sample_ads is not None else None
                values = depths.split(",") if depths else []
                ad_alt = -1
                if len(values) > index and values[index] != ".":
                    try:
                        ad_alt = max(int(values[index]), -1)
                    except ValueError as exc:
                        raise _UnsureError("AD") from exc
                collected[i].append((row * 64 + index, key, chrom, n_pos, n_ref, n_alt,
                                     _genotype_code(count, ploidy[k]), gq[k], dp[k], ad_alt, passes[k]))
    out = []
    for items in collected:
        if not items:
            out.append((_MemberRows.concat([]), np.zeros(0, dtype=np.int64)))
            continue
        order, keys, chrom_l, pos_l, ref_l, alt_l, code, gq_l, dp_l, ad_l, fp = zip(*items, strict=True)
        out.append((_MemberRows(np.array(keys, dtype=np.int64), np.array(chrom_l, dtype=object),
                                np.array(pos_l, dtype=np.int64), np.array(ref_l, dtype=object),
                                np.array(alt_l, dtype=object), np.array(code, dtype=np.int8),
                                np.array(gq_l, dtype=np.int16), np.array(dp_l, dtype=np.int32),
                                np.array(ad_l, dtype=np.int32), np.array(fp, dtype=bool)),
                    np.array(order, dtype=np.int64)))
    return out


# A forked worker's view of the files being decoded (set by the parent only around the fork).
_FORKED: tuple[dict[Path, _Extraction], str, ReferenceGenome | None, MappedFasta | None] | None = None


def _decode(extraction: _Extraction, build: str, reference: ReferenceGenome | None,
            bases: MappedFasta | None) -> list[_MemberRows] | None:
    """One file's calls from its extraction, or None when the reader's streaming must read it."""
    table = extraction.table()
    if table is None:
        return None
    try:
        return _fast_rows(table, len(extraction.samples), extraction.fields, build, reference, bases)
    except _UnsureError:
        return None


def _decode_forked(job: tuple[str, int, int]) -> list[_MemberRows] | None:
    """A forked worker's share of one file: its ``part``-th of ``parts`` row ranges (None: stream the file).

    The columns come back pickled (numpy arrays, cheap); the worker keeps the file for its siblings.
    """
    if _FORKED is None:  # never: the parent sets it before forking
        raise RuntimeError("no files to decode in this worker")
    path, part, parts = job
    extractions, build, reference, bases = _FORKED
    extraction = extractions[Path(path)]
    table = extraction.table(keep=True)
    if table is None:
        return None
    bounds = np.linspace(0, table.num_rows, parts + 1).astype(np.int64).tolist()
    table = table.slice(bounds[part], bounds[part + 1] - bounds[part])
    try:
        return _fast_rows(table, len(extraction.samples), extraction.fields, build, reference, bases)
    except _UnsureError:
        return None


def _decode_files(extractions: Mapping[Path, _Extraction], build: str, reference: ReferenceGenome | None,
                  bases: MappedFasta | None) -> dict[Path, list[_MemberRows] | None]:
    """Every extracted file's calls (None: not decodable, stream it), decoded in parallel.

    Why: decoding a genome file's output takes seconds of numpy and per-indel Python on one core;
    files, and row ranges of a file, are independent (a record's calls depend on that record alone,
    and row ranges joined in order keep the file's order), so forked workers (Linux), one per core,
    decode each file in ``_PARTS`` row ranges — small pieces keep the cores evenly busy. Only when
    that is safe: the reference is absent or a memory map (a pysam handle shares its file offset
    across a fork), and every extraction has finished first (a forked copy cannot wait for its
    parent's child process). If any range is not decodable, the whole file is streamed.
    """
    import multiprocessing
    import os

    paths = list(extractions)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    safe = reference is None or bases is not None
    if len(paths) < 2 or cores < 2 or not safe or "fork" not in multiprocessing.get_all_start_methods():
        return {path: _decode(extractions[path], build, reference, bases) for path in paths}
    for extraction in extractions.values():
        extraction.wait()
    jobs = [(str(path), part, _PARTS) for path in paths for part in range(_PARTS)]
    global _FORKED
    _FORKED = (dict(extractions), build, reference, bases)
    try:
        with multiprocessing.get_context("fork").Pool(cores) as pool:
            results = pool.map(_decode_forked, jobs, chunksize=1)
    finally:
        _FORKED = None
    out: dict[Path, list[_MemberRows] | None] = {}
    for index, path in enumerate(paths):
        pieces = results[index * _PARTS:(index + 1) * _PARTS]
        if any(piece is None for piece in pieces):
            out[path] = None
        else:
            out[path] = [_MemberRows.concat([piece[i] for piece in pieces if piece is not None])
                         for i in range(len(extractions[path].samples))]
    return out


_PARTS = 2  # row ranges per file decoded in parallel


# ----------------------------------------------------------------------------- joining the members

def _surrogate_keys(members: list[_MemberRows]) -> None:
    """Replace hashed keys (long alleles: two variants could share one) by per-case surrogates."""
    from genomed.store.keys import ALLELE_BITS

    hashed_bit = np.int64(1 << 29)
    surrogate: dict[tuple[str, int, str, str], int] = {}
    for rows in members:
        hashed = np.flatnonzero((rows.key & ((1 << ALLELE_BITS) - 1) & hashed_bit) != 0)
        for j in hashed.tolist():
            identity = (str(rows.chrom[j]), int(rows.pos[j]), str(rows.ref[j]), str(rows.alt[j]))
            rows.key[j] = surrogate.setdefault(identity, -1 - len(surrogate))


def _first_occurrences(rows: _MemberRows) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp],
                                                   npt.NDArray[np.int8]]:
    """Sorted unique keys, the row of each key's first occurrence, and its strongest call (split records
    or duplicates of one variant keep the stronger call, the first one's qualities)."""
    order = np.argsort(rows.key, kind="stable")
    keys = rows.key[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.zeros(0, dtype=np.intp)
    best = np.maximum.reduceat(rows.code[order], starts) if len(keys) else np.zeros(0, dtype=np.int8)
    return keys[starts], order[starts], best.astype(np.int8)


def _join(members: Sequence[Member], per_member: list[_MemberRows], notes: list[str]) -> CaseCalls:
    """The proband's called variants (first-occurrence order) and every member's call there."""
    _surrogate_keys(per_member)
    unique = [_first_occurrences(rows) for rows in per_member]
    p_keys, p_first, p_code = unique[0]
    carried = np.flatnonzero(np.isin(p_code, (HET, HOM)))
    rows_in_file = p_first[carried]
    order = np.argsort(rows_in_file, kind="stable")
    carried, rows_in_file = carried[order], rows_in_file[order]
    keys = p_keys[carried]
    n, m = len(keys), len(members)
    genotype = np.zeros((n, m), dtype=np.int8)
    gq = np.full((n, m), -1, dtype=np.int16)
    dp = np.full((n, m), -1, dtype=np.int32)
    for col, (m_keys, m_first, m_code) in enumerate(unique):
        rows = per_member[col]
        at = np.searchsorted(m_keys, keys)
        found = at < len(m_keys)
        found[found] = m_keys[at[found]] == keys[found]
        hit = at[found]
        genotype[found, col] = m_code[hit]
        gq[found, col] = rows.gq[m_first[hit]]
        dp[found, col] = rows.dp[m_first[hit]]
    proband = per_member[0]
    return CaseCalls(
        members=tuple(members), chrom=proband.chrom[rows_in_file].tolist(),
        pos=proband.pos[rows_in_file].astype(np.int64),
        ref=proband.ref[rows_in_file].tolist(), alt=proband.alt[rows_in_file].tolist(), genotype=genotype, gq=gq,
        dp=dp, ad_alt=proband.ad_alt[rows_in_file].astype(np.int32),
        filter_pass=proband.filter_pass[rows_in_file].astype(bool), notes=notes)


def read_case_vcfs(members: Sequence[Member], files: Mapping[str, Path], *, build: str,
                   reference: ReferenceGenome | None = None, fast: bool = True) -> CaseCalls:
    """Read the members' calls from VCF files (one multi-sample file, or one file per member).

    ``files`` maps each member's sample name to the file holding its column; several members may
    share a file (read once). Only the proband's called variants become rows.

    Every file is opened and checked by the ingest reader (:func:`genomed.ingest.reader.read_vcf`).
    With ``fast`` (the default), the records of a bgzipped VCF are then extracted by ``bcftools
    query`` in child processes — all files at once — and decoded in numpy; anything unusual in a
    file (a malformed or mismatching record, an undeclared or non-integer FORMAT field, a gVCF)
    sends that file through the reader's own streaming instead, which reports problems with
    their line numbers. Both ways give the same calls (the tests compare them).
    """
    from genomed.ingest.reader import read_vcf
    from genomed.ingest.vcfheader import is_bgzf

    _check_members(members)
    column: dict[str, int] = {m.sample: i for i, m in enumerate(members)}
    missing = [m.sample for m in members if m.sample not in files]
    if missing:
        raise InputError(f"no VCF file given for case member(s) {', '.join(missing)}")
    by_file: dict[Path, list[str]] = {}
    for sample, path in files.items():
        if sample in column:
            by_file.setdefault(Path(path), []).append(sample)
    notes: list[str] = []
    streams = {}
    for path, samples in by_file.items():
        stream = read_vcf(path, expected_build=build, reference=reference)
        names = [s.name for s in stream.samples]
        absent = [s for s in samples if s not in names]
        if absent:
            raise InputError(f"{path} has no sample column(s) {', '.join(absent)}; it has {', '.join(names)}")
        streams[path] = stream
    extractions: dict[Path, _Extraction] = {}
    try:
        if fast:
            for path, stream in streams.items():
                if not stream.is_gvcf and is_bgzf(path):
                    wanted = [s.name for s in stream.samples if s.name in by_file[path]]
                    extractions[path] = _Extraction(path, wanted, [s.name for s in stream.samples],
                                                    stream.header.format_types)
        bases = MappedFasta.of(reference) if extractions else None
        _NORMALISED.clear()
        decoded = _decode_files(extractions, build, reference, bases)
        parts: list[list[_MemberRows]] = [[] for _ in members]
        for path, stream in streams.items():
            samples = by_file[path]
            done = False
            extraction = extractions.get(path)
            rows = decoded.pop(path, None)
            if extraction is not None and rows is not None:
                for sample, sample_rows in zip(extraction.samples, rows, strict=True):
                    parts[column[sample]].append(sample_rows)
                done = True
            del rows
            if not done:
                index_of = {s.name: s.index for s in stream.samples}
                column_of = {index_of[s]: column[s] for s in samples}
                for chunk in stream:
                    if isinstance(chunk, RecordChunk):
                        for member, member_rows in enumerate(_rows_from_chunk(chunk, column_of, len(members))):
                            if len(member_rows.key):
                                parts[member].append(member_rows)
            if len(by_file) > 1:
                notes.append(f"{', '.join(samples)}: a genotype absent from {path.name} is read as a reference call")
            if stream.counts.left_alignment_skipped:
                notes.append(f"{path.name}: no reference FASTA, indels were trimmed but not left-aligned")
    finally:
        _NORMALISED.clear()
        for extraction in extractions.values():
            extraction.close()
    return _join(members, [_MemberRows.concat(p) for p in parts], notes)
