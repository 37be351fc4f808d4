"""Reading records with htslib (cyvcf2) and decoding their genotypes, vectorised over samples.

This is the reader's worker side: it runs in threads, one per file segment being read (see
:mod:`genomed.ingest.bgzf`), and it never touches shared state — each batch comes back as a
:class:`Decoded` value that the iterating thread applies in file order. Only these threads touch
cyvcf2 objects: htslib adds undeclared tags to its header while parsing, and the header is not
thread-safe.

How a batch is decoded: the raw htslib genotype integers of a few hundred records are copied into
one ``(records, samples, 2)`` array. Almost every genotype of a cohort is a diploid hom-ref call,
so one pass over the batch (each genotype's two int32 copies read as one int64, phase bits masked)
finds the others — the *exceptions* — and all further work (ploidy, no-calls, allele numbers,
multi-allelic splitting, FORMAT values) runs on the exceptions alone.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from genomed.errors import GenomedError, MalformedVCFError, TruncatedFileError, WrongBuildError
from genomed.genome.builds import canonical_name, ucsc_name
from genomed.ingest.chunks import MISSING, NormalisationCounts
from genomed.store.keys import MAX_POSITION, contig_code

VECTOR_END = -2147483647       # htslib bcf_int32_vector_end: a haploid call's absent second copy
INT32_MISSING = -2147483648    # htslib bcf_int32_missing
# A genotype's two int32 copies read as one little-endian int64: phase bits masked, 0/0 is 2 | 2 << 32.
_PHASE_MASK = ~np.int64(1 | (1 << 32))
_HOMREF_WORD = np.int64(2 | (2 << 32))
GVCF_SYMBOLIC = frozenset({"<NON_REF>", "<*>", "<X>"})
_ALLELE = re.compile(r"^[ACGTNacgtn]+$")
_REF = re.compile(r"^[A-Za-z]+$")
WHERE = "\x00where\x00"        # stands for "<file> line <n>" until the line number is known
LINE = "\x00line\x00"          # stands for "line <n>"


# ----------------------------------------------------------------------------- htslib's stderr

class HtslibMessages:
    """Captures what htslib writes on file descriptor 2 while records are read.

    htslib has no error callback: it prints ``[E::func] ...`` and ``[W::func] ...`` lines and
    returns a code. Redirecting fd 2 to a temporary file while a file is read turns those lines into
    data: errors go into our exception messages, warnings into the ingest notes. Anything else that
    reaches fd 2 meanwhile (another thread's logging) is passed on to the real stderr at the next
    :meth:`collect`, a few milliseconds late. Thread-safe: the reading threads share one instance.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._file: IO[bytes] | None = None
        self._saved: int | None = None
        self._depth = 0
        self.errors: list[str] = []
        self.warnings: Counter[str] = Counter()

    def __enter__(self) -> HtslibMessages:
        with self._lock:
            self._depth += 1
            if self._depth == 1:
                if self._file is None:
                    self._file = tempfile.TemporaryFile()  # reused until close()
                try:
                    self._saved = os.dup(2)
                    os.dup2(self._file.fileno(), 2)
                except OSError:  # no usable fd 2: nothing to capture
                    self._saved = None
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth > 0 or self._saved is None:
                return
            os.dup2(self._saved, 2)
            os.close(self._saved)
            self._saved = None
            self.collect()

    def collect(self) -> None:
        """Sort what was captured so far into errors and warnings (and pass anything else on)."""
        with self._lock:
            if self._file is None or self._file.tell() == 0:
                return
            self._file.seek(0)
            text = self._file.read().decode("utf-8", "replace")
            self._file.seek(0)
            self._file.truncate()
            other = []
            for line in text.splitlines():
                if line.startswith("[E::"):
                    self.errors.append(line)
                elif line.startswith("[W::"):
                    self.warnings[line] += 1
                elif line.strip():
                    other.append(line)
            if other:
                os.write(self._saved if self._saved is not None else 2, ("\n".join(other) + "\n").encode())

    def add_warnings(self, text: str) -> None:
        """Keep the warnings another process (a bcftools child) wrote; its errors are left out, because
        the reader that takes over after a failed child reports the same damage with a line number."""
        with self._lock:
            for line in text.splitlines():
                if line.startswith("[W::"):
                    self.warnings[line] += 1

    def take_errors(self) -> str:
        with self._lock:
            self.collect()
            text = "; ".join(dict.fromkeys(self.errors))
            self.errors.clear()
            return text

    def notes(self) -> list[str]:
        """The warnings, one note per kind (htslib function), with an example and a count."""
        with self._lock:
            grouped: dict[str, list[str]] = {}
            for warning in self.warnings:
                tag, _, text = warning.partition("] ")
                grouped.setdefault(tag + "]", []).append(text)
            notes = []
            for tag, texts in grouped.items():
                total = sum(self.warnings[f"{tag} {t}"] for t in texts)
                more = f" ({total} warnings of this kind)" if total > 1 else ""
                notes.append(f"htslib {tag} {texts[0]}{more}")
            return notes

    def close(self) -> None:
        with self._lock:
            if self._file is not None and self._depth == 0:
                self._file.close()
                self._file = None


# ----------------------------------------------------------------------------- values passed between threads

class LocatedError(Exception):
    """An error at a record of a segment, waiting for that record's line number in the whole file."""

    def __init__(self, ordinal: int, kind: type[GenomedError], template: str) -> None:
        super().__init__(template)
        self.ordinal = ordinal       # 0-based record number within the segment
        self.kind = kind
        self.template = template     # the message, with WHERE where "<file> line <n>" goes

    def resolve(self, location: str, line: int) -> GenomedError:
        return self.kind(self.template.replace(WHERE, f"{location} line {line}").replace(LINE, f"line {line}"))


@dataclass(slots=True)
class Pending:
    """One input record of a batch, as Python values."""

    ordinal: int        # 0-based record number within the segment
    chrom: str          # UCSC name
    pos: int
    ref: str
    alts: list[tuple[int, str]]   # (allele index, ALT) of the sequence alleles
    filter_pass: bool
    end: int


@dataclass(frozen=True)
class ReaderConfig:
    """What every segment reader of one file shares (read-only)."""

    n_samples: int
    is_gvcf: bool
    contig_lengths: dict[str, int]      # canonical name → length, of the node's build
    build: str
    par: dict[str, tuple[tuple[int, int], ...]]   # "chrX"/"chrY" → PAR intervals
    format_types: dict[str, str | None]           # GQ, DP, AD, MIN_DP → VCF Type, or None if undeclared
    batch_records: int


@dataclass
class Decoded:
    """A decoded batch: its records, the biallelic outputs to keep, and their sparse genotype rows."""

    pending: list[Pending | None]
    counts: NormalisationCounts
    notes: Counter[str]
    src: list[int]                      # per output: index into pending
    which: list[int]                    # per output: ALT allele index
    keep: npt.NDArray[np.bool_]         # per output: kept (False: a gVCF output nobody carries)
    an: npt.NDArray[np.int32]           # per kept output
    gt: tuple[npt.NDArray[Any], ...]    # rows: kept-output index, sample, alt count, ploidy, GQ, DP, AD ref, AD alt
    blocks: BlockRows | None = None
    snvs: SnvRecords | None = None      # outputs decoded at once (``src`` -1), in output order
    x_haploid: npt.NDArray[np.int64] | None = None
    x_diploid: npt.NDArray[np.int64] | None = None
    y_evidence: npt.NDArray[np.int64] | None = None


@dataclass
class SnvRecords:
    """Plain biallelic SNV outputs of a gVCF batch, decoded at once: their final columns, in output order.

    Such an output has no :class:`Pending` (its ``src`` is -1); an SNV needs no normalisation, so its
    key is computed with the rest. ``ordinal`` is its line's record number, for messages.
    """

    chrom: npt.NDArray[np.object_]
    pos: npt.NDArray[np.int64]
    ref: npt.NDArray[np.object_]
    alt: npt.NDArray[np.object_]
    key: npt.NDArray[np.int64]
    filter_pass: npt.NDArray[np.bool_]
    ordinal: npt.NDArray[np.int64]


@dataclass
class BlockRows:
    """Reference blocks of a batch, as columns (the chunk's ``chrom`` becomes a list only when cut)."""

    chrom: npt.NDArray[np.object_]
    start: npt.NDArray[np.int64]
    end: npt.NDArray[np.int64]
    min_dp: npt.NDArray[np.int64]
    gq: npt.NDArray[np.int64]


@dataclass
class _Batch:
    pending: list[Pending | None]
    raw: npt.NDArray[np.int32]                  # (records, samples, 2) htslib GT integers
    gq: npt.NDArray[np.int32]
    dp: npt.NDArray[np.int32]
    min_dp: npt.NDArray[np.int32] | None
    ad: npt.NDArray[np.int32] | None            # (records, samples, alleles)
    counts: NormalisationCounts
    notes: Counter[str]


_PRIMARY_CACHE: dict[str, str | None] = {}


def primary_ucsc(chrom: str) -> str | None:
    """The UCSC name of a primary contig (``1`` → ``chr1``), or None for alt/decoy/unplaced contigs."""
    try:
        return _PRIMARY_CACHE[chrom]
    except KeyError:
        pass
    try:
        contig_code(chrom if chrom != "MT" else "M")
        name: str | None = ucsc_name(chrom)
    except GenomedError:
        name = None
    _PRIMARY_CACHE[chrom] = name
    return name


_EMPTY = np.zeros((0, 0), dtype=np.int32)
_SKIPPED = np.full((1, 2), 4, dtype=np.int32)   # placeholder GT of a skipped record: any non-hom-ref value


def _stack_gt(values: list[npt.NDArray[np.int32] | None], size: int, n_samples: int) -> npt.NDArray[np.int32]:
    """GT arrays of a batch as one ``(records, samples, 2)`` array: haploid records padded with vector
    ends, records without GT as diploid no-calls, skipped records as hom-ref (they are never output)."""
    if size and all(v is not None and v.shape == (n_samples, 2) for v in values):
        return np.stack(values)  # type: ignore[arg-type]
    raw = np.full((size, n_samples, 2), 2, dtype=np.int32)
    for j, v in enumerate(values):
        if v is _SKIPPED:
            continue
        if v is None:
            raw[j] = 0
        elif v.shape[1] == 1:
            raw[j, :, 0] = v[:, 0]
            raw[j, :, 1] = VECTOR_END
        else:
            raw[j] = v
    return raw


def _stack_column(values: list[npt.NDArray[np.int32] | None], size: int, n_samples: int) -> npt.NDArray[np.int32]:
    """A Number=1 FORMAT field of a batch as ``(records, samples)``; absent values stay htslib's missing."""
    present = [v for v in values if v is not None and v is not _SKIPPED and v.shape == (n_samples, 1)]
    if size and len(present) == size:
        return np.stack(present).reshape(size, n_samples)
    column = np.full((size, n_samples), INT32_MISSING, dtype=np.int32)
    for j, v in enumerate(values):
        if v is not None and v is not _SKIPPED:
            column[j] = v[:, 0]
    return column


def absent_to_minus_one(values: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
    """htslib's missing and vector-end sentinels (and any negative value) as the chunks' -1."""
    return np.where(values < 0, -1, values).astype(np.int32, copy=False)


# ----------------------------------------------------------------------------- the segment reader

class SegmentReader:
    """Reads one segment (or the whole file) with cyvcf2 and yields :class:`Decoded` batches."""

    def __init__(self, config: ReaderConfig, vcf: Any, messages: HtslibMessages, location: str, *,
                 skip: int = 0) -> None:
        self.config = config
        self.vcf = vcf
        self._iter = iter(vcf)
        self.messages = messages
        self.location = location       # the input file, for messages
        self.records = 0               # records read into batches so far in this segment
        self._parsed = 0               # records htslib has parsed (ahead of ``records`` within a batch)
        self._last: Any = None
        self._contigs: dict[str, tuple[str | None, int]] = {}
        for _ in range(skip):          # records another reader already handed out
            if self._next_variant() is None:
                break
        self.records = self._parsed

    def batches(self, stop: threading.Event) -> Iterator[Decoded]:
        while not stop.is_set():
            batch, finished = self._read_batch()
            if batch.pending:
                yield self.decode(batch)
            if finished:
                return

    # -- reading ---------------------------------------------------------------------------------

    def _next_variant(self) -> Any:
        try:
            variant = next(self._iter)
        except StopIteration:
            return None
        except Exception as exc:  # cyvcf2 raises a bare Exception for every htslib read error
            raise self._read_error(exc) from exc
        self._last = variant
        self._parsed += 1
        return variant

    def _read_error(self, exc: Exception) -> LocatedError:
        detail = self.messages.take_errors() or str(exc)
        after = f" (after {self._last.CHROM}:{self._last.POS})" if self._last is not None else ""
        if "bgzf" in detail.lower() or "truncated" in detail.lower() or "inflate" in detail.lower():
            return LocatedError(self._parsed, TruncatedFileError,
                                f"{self.location}: the compressed data is truncated or corrupt near {LINE}{after}: "
                                f"{detail}")
        return LocatedError(self._parsed, MalformedVCFError, f"{WHERE}{after}: cannot parse this record: {detail}")

    def _read_batch(self) -> tuple[_Batch, bool]:
        """Up to ``batch_records`` records: their Python values and raw FORMAT arrays.

        Per record, cyvcf2's arrays are only collected in lists; they are stacked into the batch
        arrays at the end in one numpy call each (a numpy assignment per record costs more than
        the record's own work in a single-sample gVCF).
        """
        config = self.config
        variants: list[Any] = []
        finished = False
        for _ in range(config.batch_records):
            variant = self._next_variant()
            if variant is None:
                finished = True
                break
            variants.append(variant)
        batch = _Batch([], np.zeros((0, config.n_samples, 2), dtype=np.int32), _EMPTY, _EMPTY, None, None,
                       NormalisationCounts(), Counter())
        columns: dict[str, list[npt.NDArray[np.int32] | None]] = {"GT": [], "GQ": [], "DP": [], "MIN_DP": [],
                                                                   "AD": []}
        for variant in variants:
            batch.counts.records_read += 1
            batch.pending.append(self._read_record(variant, batch, columns))
            self.records += 1
        size, n_samples = len(variants), config.n_samples
        batch.raw = _stack_gt(columns["GT"], size, n_samples)
        batch.gq = _stack_column(columns["GQ"], size, n_samples)
        batch.dp = _stack_column(columns["DP"], size, n_samples)
        if config.is_gvcf:
            batch.min_dp = _stack_column(columns["MIN_DP"], size, n_samples)
        depths = columns["AD"]
        if any(a is not None and a is not _SKIPPED for a in depths):
            shapes = {a.shape for a in depths if a is not None and a is not _SKIPPED}
            if len(shapes) == 1 and all(a is not None and a is not _SKIPPED for a in depths):
                batch.ad = np.stack(depths)  # type: ignore[arg-type]  # all present, one width: one copy
            else:
                width = max(max(shape[1] for shape in shapes), 2)
                ad = np.full((size, n_samples, width), INT32_MISSING, dtype=np.int32)
                for j, values in enumerate(depths):
                    if values is not None and values is not _SKIPPED:
                        ad[j, :, :values.shape[1]] = values
                batch.ad = ad
        return batch, finished

    def _fail(self, kind: type[GenomedError], message: str) -> LocatedError:
        return LocatedError(self.records, kind, f"{WHERE}: {message}")

    def _contig(self, chrom_raw: str) -> tuple[str | None, int]:
        """UCSC name (None: not a primary contig) and length in the node's build, cached per name."""
        known = self._contigs.get(chrom_raw)
        if known is None:
            chrom = primary_ucsc(chrom_raw)
            length = self.config.contig_lengths.get(canonical_name(chrom), MAX_POSITION) if chrom else 0
            known = self._contigs[chrom_raw] = (chrom, length)
        return known

    def _read_record(self, variant: Any, batch: _Batch,
                     columns: dict[str, list[npt.NDArray[np.int32] | None]]) -> Pending | None:
        config = self.config
        chrom_raw = variant.CHROM
        pos = variant.POS
        chrom, length = self._contig(chrom_raw)
        if chrom is None:
            batch.counts.skipped_other_contigs += 1
            self._skip(columns)
            return None
        if not 1 <= pos <= length:
            if pos < 1:
                raise self._fail(MalformedVCFError, f"{chrom_raw} position {pos} is not a 1-based position")
            raise self._fail(WrongBuildError, f"{chrom_raw}:{pos} lies beyond the end of {chrom} in {config.build} "
                                              f"({length:,} bp); the file was not called on {config.build}")
        ref = variant.REF
        alt_list = variant.ALT
        if not _REF.match(ref):
            raise self._fail(MalformedVCFError, f"{chrom_raw}:{pos} has an invalid REF {ref!r}")
        alts: list[tuple[int, str]] = []
        dropped = 0
        for index, alt in enumerate(alt_list, start=1):
            if alt in GVCF_SYMBOLIC:
                continue
            if _ALLELE.match(alt):
                alts.append((index, alt.upper()))
            elif alt == "*" or alt.startswith("<") or "[" in alt or "]" in alt:
                dropped += 1
            else:
                raise self._fail(MalformedVCFError, f"{chrom_raw}:{pos} has an invalid ALT allele {alt!r}")
        if dropped and alts:
            batch.notes["symbolic or spanning-deletion ALT alleles dropped beside sequence ALTs (their carriers "
                        "still count as called at the other alleles)"] += dropped
        if not alts and not config.is_gvcf:
            if alt_list:
                batch.counts.skipped_symbolic += 1
            else:
                batch.notes["records without an ALT allele (monomorphic sites) skipped"] += 1
            self._skip(columns)
            return None
        gt = variant.format("GT", int)
        if gt is None:
            batch.notes["records without a GT field read as no-calls"] += 1
        elif gt.shape[1] > 2:
            raise self._fail(MalformedVCFError, f"{chrom_raw}:{pos} has a ploidy {gt.shape[1]} genotype; genomed "
                                                "reads haploid and diploid calls")
        columns["GT"].append(gt)
        columns["GQ"].append(self._format(variant, "GQ"))
        columns["DP"].append(self._format(variant, "DP"))
        if config.is_gvcf:
            columns["MIN_DP"].append(self._format(variant, "MIN_DP"))
        columns["AD"].append(self._format(variant, "AD") if alts else None)
        return Pending(self.records, chrom, pos, ref.upper(), alts, variant.FILTER is None, variant.end)

    def _skip(self, columns: dict[str, list[npt.NDArray[np.int32] | None]]) -> None:
        """A record that is not read further: placeholders in every column."""
        for values in columns.values():
            values.append(_SKIPPED)

    def _format(self, variant: Any, name: str) -> npt.NDArray[np.int32] | None:
        """A FORMAT field as htslib's int32 values (absent ones stay htslib's sentinels), or None.

        The sentinels are turned into -1 later, on the few values the chunks keep.
        """
        ftype = self.config.format_types.get(name)
        if ftype is None:
            return None
        values = variant.format(name, float if ftype == "Float" else int)
        if values is None:
            return None
        if values.dtype.kind == "f":  # e.g. a Float GQ: rare, converted here
            return np.where(np.isnan(values), INT32_MISSING, np.rint(values)).astype(np.int32)
        result: npt.NDArray[np.int32] = values
        return result

    # -- decoding ---------------------------------------------------------------------------------

    def decode(self, batch: _Batch) -> Decoded:
        """Genotypes of the batch decoded at once: outputs, sparse rows, blocks and ploidy evidence."""
        config = self.config
        pending, raw = batch.pending, batch.raw
        n_records, n_samples = len(pending), config.n_samples
        words = raw.view(np.int64).reshape(n_records, n_samples)
        exc_rec, exc_sample = np.nonzero((words & _PHASE_MASK) != _HOMREF_WORD)
        r0 = raw[exc_rec, exc_sample, 0]
        r1 = raw[exc_rec, exc_sample, 1]
        g0, g1 = r0 >> 1, r1 >> 1                      # allele + 1; 0 for a no-call copy
        haploid = r1 == VECTOR_END
        called = (g0 != 0) & (g1 != 0) & (r0 != VECTOR_END)
        ploidy = (2 - haploid).astype(np.int8)
        n_half = int(np.count_nonzero(~haploid & ((g0 == 0) != (g1 == 0))))
        if n_half:
            batch.notes["half-missing genotypes (such as 0/.) read as no-calls"] += n_half
        # called alleles per record: 2 per sample, corrected by every exception
        shortfall = np.bincount(exc_rec, weights=2 - np.where(called, ploidy, 0), minlength=n_records)
        an = (2 * n_samples - shortfall).astype(np.int32)
        decoded = Decoded(pending, batch.counts, batch.notes, [], [], np.zeros(0, dtype=bool),
                          np.zeros(0, dtype=np.int32), ())
        self._observe_ploidy(decoded, exc_rec, exc_sample, haploid, called, (g0 > 1) | (g1 > 1))
        if config.is_gvcf:
            homref = np.ones(n_records, dtype=bool)
            homref[exc_rec] = called & (g0 == 1) & ((g1 == 1) | haploid)
            self._blocks(batch, homref, decoded)

        # outputs (biallelic records): which input record and which of its alleles
        n_out = np.zeros(n_records, dtype=np.intp)
        src, which = decoded.src, decoded.which
        for j, rec in enumerate(pending):
            if rec is not None and rec.alts:
                n_out[j] = len(rec.alts)
                for index, _alt in rec.alts:
                    src.append(j)
                    which.append(index)
                if len(rec.alts) > 1:
                    batch.counts.multiallelic_split += 1
        if not src:
            return decoded
        src_a = np.asarray(src, dtype=np.intp)
        which_a = np.asarray(which, dtype=np.intp)
        out_start = np.cumsum(n_out) - n_out
        # each exception once per output record of its input record
        reps = n_out[exc_rec]
        e = np.repeat(np.arange(len(exc_rec)), reps)
        offset = np.arange(len(e)) - np.repeat(np.cumsum(reps) - reps, reps)
        out_row = out_start[exc_rec[e]] + offset
        target = which_a[out_row] + 1
        count = (g0[e] == target).astype(np.int8) + (g1[e] == target).astype(np.int8)
        count[~called[e]] = MISSING
        order = np.flatnonzero(count != 0)
        if n_out.max() > 1:  # a multi-allelic record interleaves its outputs: put rows in record order
            order = order[np.argsort(out_row[order], kind="stable")]
        e, out_row, alt_count = e[order], out_row[order], count[order]
        keep = np.ones(len(src), dtype=bool)
        if config.is_gvcf:  # a gVCF record is kept only where the sample carries its ALT
            keep[:] = False
            keep[out_row[alt_count > 0]] = True
            n_dropped = int((~keep).sum())
            if n_dropped:
                batch.notes["gVCF records skipped: the sample is not called there, or carries only <NON_REF>"] += (
                    n_dropped)
            row_keep = keep[out_row]
            e, out_row, alt_count = e[row_keep], out_row[row_keep], alt_count[row_keep]
        kept_index = np.cumsum(keep) - 1
        rec_of_row, sample = exc_rec[e], exc_sample[e]
        gq = absent_to_minus_one(batch.gq[rec_of_row, sample])
        dp = absent_to_minus_one(batch.dp[rec_of_row, sample])
        if batch.ad is not None:
            ad = batch.ad
            allele_col = which_a[out_row]
            inside = allele_col < ad.shape[2]
            ad_ref = absent_to_minus_one(ad[rec_of_row, sample, 0])
            ad_alt = np.where(inside, absent_to_minus_one(ad[rec_of_row, sample, np.where(inside, allele_col, 0)]),
                              -1).astype(np.int32)
        else:
            ad_ref = ad_alt = np.full(len(e), -1, dtype=np.int32)
        decoded.keep = keep
        decoded.an = an[src_a[keep]]
        decoded.gt = (kept_index[out_row].astype(np.int32), sample.astype(np.int32), alt_count, ploidy[e],
                      np.minimum(gq, 32767).astype(np.int16), dp, ad_ref, ad_alt)
        return decoded

    def _blocks(self, batch: _Batch, homref: npt.NDArray[np.bool_], decoded: Decoded) -> None:
        """gVCF rows at which the (single) sample is called homozygous reference, as reference blocks."""
        depth = absent_to_minus_one(batch.dp[:, 0])
        if batch.min_dp is not None:
            min_dp = absent_to_minus_one(batch.min_dp[:, 0])
            depth = np.where(min_dp >= 0, min_dp, depth)
        gq = absent_to_minus_one(batch.gq[:, 0])
        rows: list[int] = []
        for j, rec in enumerate(batch.pending):
            if rec is None:
                continue
            if homref[j]:
                rows.append(j)
                if rec.alts:
                    rec.alts = []  # a hom-ref call at a variant site is coverage, not a variant
            elif not rec.alts:
                batch.notes["gVCF reference blocks skipped: no-call (./.) blocks cover nothing"] += 1
        if rows:
            kept = [batch.pending[j] for j in rows]
            decoded.blocks = BlockRows(np.array([r.chrom for r in kept if r], dtype=object),
                                       np.array([r.pos for r in kept if r], dtype=np.int64),
                                       np.array([r.end for r in kept if r], dtype=np.int64),
                                       depth[rows].astype(np.int64), gq[rows].astype(np.int64))

    def _observe_ploidy(self, decoded: Decoded, exc_rec: npt.NDArray[np.intp], exc_sample: npt.NDArray[np.intp],
                        haploid: npt.NDArray[np.bool_], called: npt.NDArray[np.bool_],
                        nonref: npt.NDArray[np.bool_]) -> None:
        """Per-sample counts of haploid/diploid calls on chrX outside the PARs, and chrY evidence.

        Genotypes that are not exceptions are diploid hom-ref calls, so each such record counts as
        one diploid call for every sample, corrected by the sample's exceptions there.
        """
        n = self.config.n_samples
        for chrom in ("chrX", "chrY"):
            intervals = self.config.par.get(chrom, ())
            rows = np.zeros(len(decoded.pending), dtype=bool)
            for j, rec in enumerate(decoded.pending):
                if rec is not None and rec.chrom == chrom and not any(s <= rec.pos <= e for s, e in intervals):
                    rows[j] = True
            n_rows = int(rows.sum())
            if not n_rows:
                continue
            mine = rows[exc_rec]
            s, h, c = exc_sample[mine], haploid[mine], called[mine]
            if chrom == "chrX":
                decoded.x_haploid = np.bincount(s[c & h], minlength=n)
                decoded.x_diploid = n_rows - np.bincount(s[~(c & ~h)], minlength=n)
            else:  # a Y chromosome shows as haploid or non-reference calls (joint callers write 0/0 for all)
                decoded.y_evidence = np.bincount(s[c & (h | nonref[mine])], minlength=n)
