"""Reading a VCF or gVCF into normalised chunks for the variant store (htslib through cyvcf2).

Why it is built this way:

* **Checked before anything is read** (:mod:`genomed.ingest.vcfheader`). The header must say it is
  VCF; the ``##contig`` lengths say which genome build the file was called on and a file from
  another build is refused (:class:`WrongBuildError`); every sample column must be a catalog sample
  (:class:`UnknownSampleError`); a bgzip file must end with its end-of-file block
  (:class:`TruncatedFileError`), since htslib would read a file cut at a block boundary to its "end".
* **Vectorised over samples** (:mod:`genomed.ingest.decode`). htslib parses each line (the same
  parser ``bcftools`` runs) and the raw genotype integers of a few hundred records are decoded,
  split and reduced to sparse rows in numpy at once. Python touches each *record*, never each
  genotype.
* **Parsed where parsing is cheapest.** htslib's text parser is most of an ingest's time, and the
  htslib that cyvcf2 ships parses VCF text about 1.6 times slower than ``bcftools``. So a large
  multi-sample file is parsed by ``bcftools view`` (the copy pysam bundles) in a child process and
  read back as BCF, which cyvcf2 decodes five times faster than text — and on a machine with a free
  core the two processes overlap. A single-sample gVCF, mostly short block lines, goes through
  ``bcftools query`` and Arrow instead (:mod:`genomed.ingest.gvcf`). Asked for ``segments``, a
  bgzipped file is cut between compressed blocks into pieces that worker threads parse at the same
  time (:mod:`genomed.ingest.bgzf`; cyvcf2 releases the GIL while htslib parses). Whatever the way,
  the iterating thread applies the batches strictly in file order, and the chunks are the same.
* **Errors are ours, raised while streaming.** htslib reports problems on stderr and cyvcf2 turns
  them into a bare ``Exception``; the reader captures htslib's stderr and raises
  :class:`MalformedVCFError` (the file, the line, the last good record and htslib's own words) or
  :class:`TruncatedFileError` from inside the iteration, after the chunks before the damage were
  handed out, so the store can discard the batch it was staging.

Conventions of the chunks (see :mod:`genomed.ingest.chunks`):

* contigs are named the UCSC way (``chr1``, ``chrX``, ``chrM``) whatever the file used, so batches
  from ``1``-style and ``chr1``-style pipelines share keys; records on other contigs (alt, decoy,
  unplaced) are skipped and counted;
* a genotype with any no-call copy (``./.``, ``0/.``) is a no-call: ``MISSING`` in the chunk and
  no contribution to ``an``; a half-call cannot say how many copies the sample carries;
* ``gt_ploidy`` is the number of copies the GT itself has (``1`` for a haploid call such as a male's
  chrX), so hemizygous calls are counted as such without knowing the sample's sex;
* in a gVCF, a reference block (ALT only ``<NON_REF>``/``<*>``/``.``) and any record at which the
  sample is called homozygous reference become :class:`BlockChunk` rows (they are coverage, not
  variants), adjacent ones merged into one row with their least depth and GQ; records at which the
  sample carries a real ALT become :class:`RecordChunk` rows; the rest (no-calls, calls of
  ``<NON_REF>`` only) say nothing about any variant and are counted;
* the samples' ploidy on the sex chromosomes is only known once the file is read: when the
  iteration ends, ``stream.samples`` is updated with the observed ``x_ploidy`` (1 when most of the
  sample's called chrX genotypes outside the PARs are haploid) and ``y_ploidy`` (1 when the sample
  has a haploid or a non-reference call on chrY outside the PARs; joint callers write ``0/0`` on
  chrY for every sample, so a called hom-ref genotype is no evidence of a Y). Callers that call
  males diploid on chrX leave ``x_ploidy`` at 2: inferring sex from heterozygosity is QC's job
  (:mod:`genomed.ingest.qc`), not the reader's.

``stream.counts`` (:class:`NormalisationCounts`): ``records_read`` counts input lines;
``multiallelic_split`` input records with more than one sequence ALT; ``trimmed`` and
``left_aligned`` output records whose spelling trimming changed, and those that moved left;
``skipped_other_contigs`` and ``skipped_symbolic`` input records dropped whole; ``notes`` the rest
in words (half-calls read as no-calls, htslib's warnings, an unconfirmed build, ...).

While a stream is iterated, file descriptor 2 is redirected to capture htslib's messages; other
output written to stderr meanwhile is passed on after each batch, a few milliseconds late.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from queue import Queue
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

from genomed.errors import (
    InputError,
    MalformedVCFError,
    NotFoundError,
    ReferenceMismatchError,
    ReferenceSequenceError,
    StateError,
)
from genomed.genome.builds import PAR, canonical_name, contig_lengths
from genomed.genome.reference import ReferenceGenome
from genomed.ingest.bgzf import BGZF_EOF, Segment, feed, open_pipe, plan_segments, write_prefix
from genomed.ingest.chunks import BatchSample, BlockChunk, NormalisationCounts, RecordChunk
from genomed.ingest.decode import (
    GVCF_SYMBOLIC,
    BlockRows,
    Decoded,
    HtslibMessages,
    LocatedError,
    Pending,
    ReaderConfig,
    SegmentReader,
    SnvRecords,
)
from genomed.ingest.gvcf import extract, read_extracted
from genomed.ingest.normalise import check_ref, normalise
from genomed.ingest.vcfheader import (
    VCFHeader,
    check_bgzf_eof,
    check_build,
    is_bgzf,
    match_samples,
    read_header,
)
from genomed.store.keys import ALLELE_BITS, POSITION_BITS, allele_code, contig_code

__all__ = ["BGZF_EOF", "IngestStream", "VCFHeader", "read_header", "read_vcf"]

_BATCH_GENOTYPES = 1_000_000       # genotypes decoded per batch: bounds the batch buffers (~20 MB)
_PIPE_BYTES = 1024 * 1024
_BCF_PIPE_BYTES = 8 * 1024 * 1024  # multi-sample files from this size are parsed by a bcftools child
_ALLELE_CODES: dict[tuple[str, str], int] = {}   # allele part of the keys of short alleles, computed once
# The child of the BCF pipe: pysam's own bcftools, writing uncompressed BCF to its stdout.
_BCF_CHILD = ("import sys\nfrom pysam import bcftools\n"
              "bcftools.view('-Ou', '-o', '/dev/stdout', sys.argv[1], catch_stdout=False)\n")


# ----------------------------------------------------------------------------- reference cache

class _CachedReference:
    """Reads a reference in 64 kb windows: records arrive in position order, fetches are per record."""

    WINDOW = 65_536

    def __init__(self, reference: ReferenceGenome) -> None:
        self.reference = reference
        self.build = reference.build
        self._chrom = ""
        self._start = 0
        self._seq = ""

    def has(self, chrom: str, start: int, end: int) -> bool:
        if chrom == self._chrom and self._start <= start and end <= self._start + len(self._seq):
            return True
        return self.reference.has(chrom, start, end)

    def fetch(self, chrom: str, start: int, end: int) -> str:
        if not (chrom == self._chrom and self._start <= start and end <= self._start + len(self._seq)):
            w_start = max(0, start - 1024)
            w_end = max(end, w_start + self.WINDOW)
            if self.reference.has(chrom, w_start, w_end):
                self._chrom, self._start, self._seq = chrom, w_start, self.reference.fetch(chrom, w_start, w_end)
            else:
                return self.reference.fetch(chrom, start, end)
        return self._seq[start - self._start:end - self._start]


# ----------------------------------------------------------------------------- chunk assembly

class _RecordAccumulator:
    """Records and their sparse genotypes, gathered batch by batch and cut into chunks of a fixed size."""

    def __init__(self) -> None:
        self.chrom: list[str] = []
        self.pos: list[int] = []
        self.ref: list[str] = []
        self.alt: list[str] = []
        self.key: list[int] = []
        self.an: list[npt.NDArray[np.int32]] = []
        self.filter_pass: list[npt.NDArray[np.bool_]] = []
        self.gt: list[tuple[npt.NDArray[Any], ...]] = []   # record index already offset into this accumulator

    def __len__(self) -> int:
        return len(self.chrom)

    def take(self, n: int) -> RecordChunk:
        """The first ``n`` records (or all) as a chunk; the rest stay."""
        n = min(n, len(self.chrom))
        an = _concat(self.an, np.int32)
        fp = _concat(self.filter_pass, np.bool_)
        cols = [_concat([g[i] for g in self.gt], dtype)
                for i, dtype in enumerate((np.int32, np.int32, np.int8, np.int8, np.int16, np.int32, np.int32,
                                           np.int32))]
        cut = int(np.searchsorted(cols[0], n, side="left"))
        chunk = RecordChunk(
            chrom=self.chrom[:n], pos=np.asarray(self.pos[:n], dtype=np.int32), ref=self.ref[:n], alt=self.alt[:n],
            key=np.asarray(self.key[:n], dtype=np.int64), an=an[:n], filter_pass=fp[:n],
            gt_record=cols[0][:cut], gt_sample=cols[1][:cut], gt_alt_count=cols[2][:cut], gt_ploidy=cols[3][:cut],
            gt_gq=cols[4][:cut], gt_dp=cols[5][:cut], gt_ad_ref=cols[6][:cut], gt_ad_alt=cols[7][:cut])
        del self.chrom[:n], self.pos[:n], self.ref[:n], self.alt[:n], self.key[:n]
        self.an, self.filter_pass = [an[n:]], [fp[n:]]
        rest = tuple(c[cut:] for c in cols)
        self.gt = [(rest[0] - n, *rest[1:])]
        return chunk


class _BlockAccumulator:
    """Reference blocks gathered batch by batch (as columns), adjacent ones merged, cut into chunks of a fixed size.

    Why merged: a gVCF cuts its reference calls into blocks wherever the GQ band or the depth changed,
    hundreds of thousands per exome, while their consumers only ask which positions are covered
    (allele numbers) and how many bases (QC). A block that starts right after the previous one ends,
    on the same contig, extends it; the row keeps the least depth and GQ of its blocks. The last row
    stays open, since the next batch may extend it, until :meth:`close`: so the rows do not depend
    on where batches end (both readers give the same chunks).
    """

    def __init__(self) -> None:
        self.parts: list[BlockRows] = []
        self.rows = 0                       # closed rows, ready to be taken
        self._open: BlockRows | None = None

    def __len__(self) -> int:
        return self.rows

    def add(self, rows: BlockRows) -> None:
        if self._open is not None:
            rows = BlockRows(*(np.concatenate([getattr(self._open, name), getattr(rows, name)])
                               for name in _BLOCK_COLUMNS))
        merged = _merge_adjacent(rows)
        last = len(merged.start) - 1
        self._open = BlockRows(*(getattr(merged, name)[last:] for name in _BLOCK_COLUMNS))
        if last:
            self.parts.append(BlockRows(*(getattr(merged, name)[:last] for name in _BLOCK_COLUMNS)))
            self.rows += last

    def close(self) -> None:
        """The stream has ended: the open row is complete."""
        if self._open is not None:
            self.parts.append(self._open)
            self.rows += 1
            self._open = None

    def take(self, n: int) -> BlockChunk:
        """The first ``n`` rows (or all) as a chunk; only the parts they come from are copied."""
        names = _BLOCK_COLUMNS
        wanted = min(n, self.rows)
        pieces: list[BlockRows] = []
        got = 0
        while got < wanted:
            part = self.parts[0]
            size = len(part.start)
            if got + size <= wanted:
                pieces.append(self.parts.pop(0))
                got += size
            else:
                cut = wanted - got
                pieces.append(BlockRows(*(getattr(part, name)[:cut] for name in names)))
                self.parts[0] = BlockRows(*(getattr(part, name)[cut:] for name in names))
                got = wanted
        self.rows -= wanted
        chrom, start, end, min_dp, gq = (np.concatenate([getattr(p, name) for p in pieces]) if len(pieces) > 1
                                         else getattr(pieces[0], name) for name in names)
        return BlockChunk(sample=np.zeros(wanted, dtype=np.int32), chrom=chrom.tolist(),
                          start=start.astype(np.int32), end=end.astype(np.int32), min_dp=min_dp.astype(np.int32),
                          gq=np.clip(gq, -1, 32767).astype(np.int16))


_BLOCK_COLUMNS = ("chrom", "start", "end", "min_dp", "gq")


def _merge_adjacent(rows: BlockRows) -> BlockRows:
    """Runs of adjacent blocks (same contig, each starting one past the previous end) as one row each, with the
    least known (non-negative) depth and GQ of the run, -1 if none is known."""
    chrom, start, end = rows.chrom, rows.start, rows.end
    if len(start) < 2:
        return rows
    joins = np.zeros(len(start), dtype=bool)
    joins[1:] = (start[1:] == end[:-1] + 1) & (chrom[1:] == chrom[:-1])
    if not joins.any():
        return rows
    heads = np.flatnonzero(~joins)
    tails = np.r_[heads[1:], len(start)] - 1

    def least(values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        lowest = np.minimum.reduceat(np.where(values >= 0, values, _UNKNOWN_DEPTH), heads)
        result: npt.NDArray[np.int64] = np.where(lowest == _UNKNOWN_DEPTH, -1, lowest)
        return result

    return BlockRows(chrom[heads], start[heads], end[tails], least(rows.min_dp), least(rows.gq))


_UNKNOWN_DEPTH = np.iinfo(np.int64).max


def _concat(parts: list[npt.NDArray[Any]], dtype: Any) -> npt.NDArray[Any]:
    if not parts:
        return np.zeros(0, dtype=dtype)
    if len(parts) == 1:
        return parts[0].astype(dtype, copy=False)
    return np.concatenate(parts).astype(dtype, copy=False)


# ----------------------------------------------------------------------------- the stream

@dataclass
class _Job:
    """One segment of the file (or the whole file), read by a worker into an ordered queue."""

    segment: Segment | None
    output: Queue[Decoded | BaseException | None] = field(default_factory=Queue)
    records: int = 0
    gvcf_fast_path: bool = False
    bcf_pipe: bool = False


class IngestStream:
    """An opened, checked VCF/gVCF: its samples, build and kind now; its normalised chunks when iterated.

    Iterate once (``for chunk in stream`` or ``stream.chunks()``); each item is a
    :class:`RecordChunk` or, for a gVCF, a :class:`BlockChunk`. ``counts`` grows while iterating
    and is complete at the end, when ``samples`` also gets the observed ``x_ploidy``/``y_ploidy``.
    """

    def __init__(self, path: Path, header: VCFHeader, samples: list[BatchSample], build: str, *,
                 reference: ReferenceGenome | None, chunk_size: int, is_gvcf: bool,
                 segments: list[Segment] | None, workers: int, gvcf_fast_path: bool = True,
                 bcf_pipe: bool = False) -> None:
        self.path = path
        self.header = header
        self.samples = samples
        self.build = build
        self.is_gvcf = is_gvcf
        self.counts = NormalisationCounts(left_alignment_skipped=reference is None)
        self.chunk_size = chunk_size
        self.segments = len(segments) if segments else 1
        self._segments = segments
        self._workers = workers if segments else 1
        self._gvcf_fast_path = gvcf_fast_path and is_gvcf
        self._bcf_pipe = bcf_pipe and not is_gvcf
        self._reference = _CachedReference(reference) if reference is not None else None
        self._messages = HtslibMessages()
        self._consumed = False
        self._notes: Counter[str] = Counter()
        n = len(samples)
        self._x_haploid = np.zeros(n, dtype=np.int64)
        self._x_diploid = np.zeros(n, dtype=np.int64)
        self._y_evidence = np.zeros(n, dtype=np.int64)
        self._config = ReaderConfig(
            n_samples=n, is_gvcf=is_gvcf, contig_lengths=contig_lengths(build), build=build,
            par={chrom: PAR[build].get(canonical_name(chrom), ()) for chrom in ("chrX", "chrY")},
            format_types={name: header.format_types.get(name) for name in ("GQ", "DP", "AD", "MIN_DP")},
            batch_records=max(16, min(4096, _BATCH_GENOTYPES // max(1, n))))

    @property
    def fork_safe(self) -> bool:
        """Whether a forked process may read this stream instead of this one: it was not read yet, and its
        reference, if any, is a memory map (a pysam handle would share its file offset with the parent's)."""
        return not self._consumed and (self._reference is None
                                       or bool(getattr(self._reference.reference, "fork_safe", False)))

    # -- iterating ---------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[RecordChunk | BlockChunk]:
        return self.chunks()

    def chunks(self) -> Iterator[RecordChunk | BlockChunk]:
        """Normalised record chunks (and block chunks for a gVCF), in file order within each contig."""
        if self._consumed:
            raise StateError(f"the ingest stream of {self.path} was already read; open the file again")
        self._consumed = True
        if self._gvcf_fast_path:
            jobs = [_Job(None, gvcf_fast_path=True)]
        elif self._bcf_pipe:
            jobs = [_Job(None, bcf_pipe=True)]
        else:
            jobs = [_Job(segment) for segment in self._segments] if self._segments else [_Job(None)]
        records, blocks = _RecordAccumulator(), _BlockAccumulator()
        stop = threading.Event()
        tickets = threading.Semaphore(self._workers + 1)       # segments in flight, consumed one included
        claim = iter(range(len(jobs)))
        claim_lock = threading.Lock()
        workers = [threading.Thread(target=self._work, args=(jobs, claim, claim_lock, tickets, stop), daemon=True,
                                    name=f"genomed-vcf-{i}") for i in range(min(self._workers, len(jobs)))]
        self._messages.__enter__()
        try:
            for worker in workers:
                worker.start()
            records_before = 0
            for job in jobs:
                while (item := job.output.get()) is not None:
                    if isinstance(item, LocatedError):
                        raise item.resolve(str(self.path), self.header.lines + records_before + item.ordinal + 1)
                    if isinstance(item, BaseException):
                        raise item
                    self._apply(item, records_before, records, blocks)
                    self._messages.collect()
                    while len(records) >= self.chunk_size:
                        yield records.take(self.chunk_size)
                    while len(blocks) >= self.chunk_size:
                        yield blocks.take(self.chunk_size)
                records_before += job.records
                tickets.release()
            if len(records):
                yield records.take(len(records))
            blocks.close()
            if len(blocks):
                yield blocks.take(len(blocks))
            self._finish()
        finally:
            stop.set()
            for _ in workers:
                tickets.release()
            for worker in workers:
                worker.join()
            self._messages.__exit__(None, None, None)
            self._messages.close()

    def _work(self, jobs: list[_Job], claim: Iterator[int], claim_lock: threading.Lock,
              tickets: threading.Semaphore, stop: threading.Event) -> None:
        """A worker thread: take the next segment in file order, read it, repeat.

        A segment is claimed only with a ticket in hand, and tickets are taken in claim order (under
        the lock): the segment the iterating thread waits for is always being read, never queued
        behind later ones.
        """
        while not stop.is_set():
            with claim_lock:
                while not tickets.acquire(timeout=0.1):
                    if stop.is_set():
                        return
                index = next(claim, None)
                if index is None:
                    tickets.release()
                    return
            self._read_job(jobs[index], stop)

    def _read_job(self, job: _Job, stop: threading.Event) -> None:
        import cyvcf2  # htslib's parser; imported here so that importing genomed stays light

        vcf: Any = None
        feeder: threading.Thread | None = None
        skip = 0
        try:
            if job.gvcf_fast_path and self._read_gvcf(job, stop):
                return
            if job.bcf_pipe:
                done, skip = self._read_bcf_pipe(job, stop)
                if done:
                    return
            if job.segment is None:
                vcf = cyvcf2.VCF(str(self.path))
            else:
                read_fd, write_fd = open_pipe(_PIPE_BYTES)
                try:
                    write_prefix(self.path, job.segment, write_fd)
                    vcf = cyvcf2.VCF(f"/dev/fd/{read_fd}")
                except BaseException:
                    os.close(write_fd)
                    raise
                finally:
                    os.close(read_fd)
                feeder = threading.Thread(target=feed, args=(self.path, job.segment, write_fd), daemon=True,
                                          name="genomed-vcf-feed")
                feeder.start()
            reader = SegmentReader(self._config, vcf, self._messages, str(self.path), skip=skip)
            for decoded in reader.batches(stop):
                job.output.put(decoded)
            job.records = reader.records
            job.output.put(None)
        except LocatedError as exc:
            job.output.put(exc)
        except Exception as exc:  # cyvcf2 raises a bare Exception when htslib cannot open the input
            job.output.put(MalformedVCFError(f"{self.path}: htslib cannot read it: "
                                             f"{self._messages.take_errors() or exc}"))
        finally:
            if vcf is not None:
                vcf.close()
            if feeder is not None:
                feeder.join()

    def _read_bcf_pipe(self, job: _Job, stop: threading.Event) -> tuple[bool, int]:
        """Read the file as BCF that ``bcftools view`` (pysam's, in a child process) parses for us.

        Why: the child's htslib parses VCF text about 1.6 times faster than the one cyvcf2 ships,
        and reading BCF through cyvcf2 costs a fifth of reading text, so this halves the parse —
        and on a machine with a free core the child and this process work at the same time.
        Whatever goes wrong (a malformed record stops the child; one of our checks fails), the
        records handed out so far stand and the rest is read from the text itself, which reports
        the damage with its line number. Returns (done, records already handed out).
        """
        import cyvcf2

        errors = tempfile.TemporaryFile()  # noqa: SIM115  # closed in finally
        child = subprocess.Popen([sys.executable, "-c", _BCF_CHILD, str(self.path)],  # noqa: S603  # our interpreter
                                 stdout=subprocess.PIPE, stderr=errors, stdin=subprocess.DEVNULL)
        vcf: Any = None
        reader: SegmentReader | None = None
        try:
            if child.stdout is None:  # never: stdout=PIPE
                return False, 0
            vcf = cyvcf2.VCF(f"/dev/fd/{child.stdout.fileno()}")
            reader = SegmentReader(self._config, vcf, self._messages, str(self.path))
            for decoded in reader.batches(stop):
                job.output.put(decoded)
            if stop.is_set():
                return True, reader.records
            if child.wait() != 0:
                raise OSError(f"bcftools view exited with {child.returncode}")
            job.records = reader.records
            job.output.put(None)
            return True, reader.records
        except Exception:  # any failure: read the rest from the text, which names the problem
            self._messages.take_errors()        # the BCF stream's complaints say nothing about the input
            return False, reader.records if reader is not None else 0
        finally:
            if vcf is not None:
                vcf.close()
            if child.poll() is None:
                child.kill()
            child.wait()
            errors.seek(0)
            self._messages.add_warnings(errors.read().decode("utf-8", "replace"))
            errors.close()

    def _read_gvcf(self, job: _Job, stop: threading.Event) -> bool:
        """The single-sample gVCF fast path (:mod:`genomed.ingest.gvcf`); False if it could not run."""
        text = extract(self.path, self.header.format_types)
        if text is None:
            return False
        records = 0
        batches = read_extracted(text, self._config, self.header.format_types)
        try:
            for decoded in batches:
                if stop.is_set():
                    return True
                records += decoded.counts.records_read
                job.output.put(decoded)
        finally:
            batches.close()  # deletes the extracted text, also when the consumer stopped early
        job.records = records
        job.output.put(None)
        return True

    # -- applying a batch, in file order -----------------------------------------------------------

    def _apply(self, decoded: Decoded, records_before: int, records: _RecordAccumulator,
               blocks: _BlockAccumulator) -> None:
        counts = decoded.counts
        self.counts.records_read += counts.records_read
        self.counts.skipped_other_contigs += counts.skipped_other_contigs
        self.counts.skipped_symbolic += counts.skipped_symbolic
        self.counts.multiallelic_split += counts.multiallelic_split
        self._notes.update(decoded.notes)
        if decoded.x_haploid is not None and decoded.x_diploid is not None:
            self._x_haploid += decoded.x_haploid
            self._x_diploid += decoded.x_diploid
        if decoded.y_evidence is not None:
            self._y_evidence += decoded.y_evidence
        if decoded.blocks is not None:
            blocks.add(decoded.blocks)
        if not decoded.src:
            return
        base = len(records)
        if decoded.snvs is not None:
            filter_pass = self._append_with_snvs(records, decoded, decoded.snvs, records_before)
        else:
            passes: list[bool] = []
            pending, src, which = decoded.pending, decoded.src, decoded.which
            for r in np.flatnonzero(decoded.keep).tolist():
                rec = pending[src[r]]
                if rec is not None:  # always: src only indexes records that were read
                    self._append_record(records, rec, which[r], records_before)
                    passes.append(rec.filter_pass)
            filter_pass = np.asarray(passes, dtype=np.bool_)
        gt = decoded.gt
        records.gt.append((gt[0] + base, *gt[1:]))
        records.an.append(decoded.an)
        records.filter_pass.append(filter_pass)

    def _append_with_snvs(self, records: _RecordAccumulator, decoded: Decoded, snvs: SnvRecords,
                          records_before: int) -> npt.NDArray[np.bool_]:
        """The kept outputs of a batch some of whose SNVs were decoded at once: those take their columns as they
        are, the others go through :meth:`_normalised`; all in output order (REFs are checked in that order)."""
        src = np.asarray(decoded.src, dtype=np.int64)
        kept = np.flatnonzero(decoded.keep)
        n = len(kept)
        is_snv = src[kept] < 0
        at = np.flatnonzero(is_snv)         # every SNV output is kept: the sample carries it
        chrom, ref, alt = np.empty(n, dtype=object), np.empty(n, dtype=object), np.empty(n, dtype=object)
        pos, key = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
        filter_pass = np.empty(n, dtype=np.bool_)
        chrom[at], pos[at], ref[at], alt[at], key[at] = snvs.chrom, snvs.pos, snvs.ref, snvs.alt, snvs.key
        filter_pass[at] = snvs.filter_pass
        reference = self._reference
        snv_number = np.cumsum(is_snv) - 1
        for j in (range(n) if reference is not None else np.flatnonzero(~is_snv).tolist()):
            if is_snv[j]:
                if reference is not None:
                    k = int(snv_number[j])
                    self._check_ref(Pending(int(snvs.ordinal[k]), str(chrom[j]), int(pos[j]), str(ref[j]),
                                            [(1, str(alt[j]))], bool(filter_pass[j]), int(pos[j])),
                                    reference, records_before)
                continue
            rec = decoded.pending[src[kept[j]]]
            if rec is not None:  # always: src only indexes records that were read
                chrom[j], pos[j], ref[j], alt[j], key[j] = self._normalised(rec, decoded.which[kept[j]],
                                                                            records_before)
                filter_pass[j] = rec.filter_pass
        records.chrom.extend(chrom.tolist())
        records.pos.extend(pos.tolist())
        records.ref.extend(ref.tolist())
        records.alt.extend(alt.tolist())
        records.key.extend(key.tolist())
        return filter_pass

    def _line(self, rec: Pending, records_before: int) -> int:
        return self.header.lines + records_before + rec.ordinal + 1

    def _append_record(self, records: _RecordAccumulator, rec: Pending, allele: int, records_before: int) -> None:
        chrom, pos, ref, alt, key = self._normalised(rec, allele, records_before)
        records.chrom.append(chrom)
        records.pos.append(pos)
        records.ref.append(ref)
        records.alt.append(alt)
        records.key.append(key)

    def _normalised(self, rec: Pending, allele: int, records_before: int) -> tuple[str, int, str, str, int]:
        """One output of a record: its REF checked (first allele), normalised; (chrom, pos, ref, alt, key)."""
        alt = next(a for i, a in rec.alts if i == allele)
        ref, pos = rec.ref, rec.pos
        reference = self._reference
        if reference is not None and allele == rec.alts[0][0]:
            self._check_ref(rec, reference, records_before)
        if ref == alt:
            raise MalformedVCFError(f"{self.path} line {self._line(rec, records_before)}: {rec.chrom}:{pos} "
                                    f"ALT {alt} equals REF")
        if len(ref) != 1 or len(alt) != 1:
            use = reference if reference is not None and reference.has(rec.chrom, pos - 1, pos) else None
            result = normalise(rec.chrom, pos, ref, alt, use)
            pos, ref, alt = result.pos, result.ref, result.alt
            self.counts.trimmed += result.trimmed
            self.counts.left_aligned += result.left_aligned
        return rec.chrom, pos, ref, alt, self._key(rec.chrom, pos, ref, alt)

    @staticmethod
    def _key(chrom: str, pos: int, ref: str, alt: str) -> int:
        """:func:`genomed.store.keys.variant_key`, with the allele part cached (most alleles repeat)."""
        code = _ALLELE_CODES.get((ref, alt))
        if code is None:
            code = allele_code(ref, alt)
            if len(ref) + len(alt) <= 4:
                _ALLELE_CODES[(ref, alt)] = code
        return (contig_code(chrom) << (POSITION_BITS + ALLELE_BITS)) | (pos << ALLELE_BITS) | code

    def _check_ref(self, rec: Pending, reference: _CachedReference, records_before: int) -> None:
        outside = "records outside the reference's sequence: REF not checked, not left-aligned"
        if not reference.has(rec.chrom, rec.pos - 1, rec.pos - 1 + len(rec.ref)):
            self._notes[outside] += 1
            return
        try:
            check_ref(rec.chrom, rec.pos, rec.ref, reference)
        except ReferenceMismatchError as exc:
            raise ReferenceMismatchError(f"{self.path} line {self._line(rec, records_before)}: {exc}") from exc
        except ReferenceSequenceError:
            self._notes[outside] += 1

    def _finish(self) -> None:
        """Observed sex-chromosome ploidy into ``samples``; htslib warnings and counters into the notes."""
        updated = []
        for sample in self.samples:
            i = sample.index
            x = 1 if self._x_haploid[i] > self._x_diploid[i] else 2
            y = 1 if self._y_evidence[i] > 0 else 0
            updated.append(replace(sample, x_ploidy=x, y_ploidy=y))
        self.samples[:] = updated
        for text, count in self._notes.items():
            self.counts.notes.append(f"{count} {text}")
        self.counts.notes.extend(self._messages.notes())

    def close(self) -> None:
        """Nothing stays open between iterations; kept for symmetry with files (and ``with``)."""

    def __enter__(self) -> IngestStream:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


# ----------------------------------------------------------------------------- entry point

def read_vcf(path: Path | str, *, expected_build: str, sample_names: Mapping[str, str] | None = None,
             reference: ReferenceGenome | None = None, chunk_size: int = 20_000,
             segments: int | None = None, gvcf_fast_path: bool = True, bcf_pipe: bool | None = None) -> IngestStream:
    """Open a VCF or gVCF for ingestion: check it now, stream normalised chunks when iterated.

    ``sample_names`` maps each VCF sample column to its catalog sample label; a column missing
    from it is refused (:class:`UnknownSampleError`). Without it, the column names are the labels.
    ``reference``, when the node has one, is used to check every REF and to left-align indels;
    without it, indels are only trimmed and ``counts.left_alignment_skipped`` says so.

    How the file is parsed (the chunks are the same whichever way): a single-sample gVCF through
    ``bcftools query`` and Arrow (``gvcf_fast_path``, :mod:`genomed.ingest.gvcf`); a multi-sample
    bgzipped VCF of 8 MB or more as BCF from a ``bcftools view`` child process (``bcf_pipe``,
    default: automatic); anything else directly through cyvcf2, cut into ``segments`` parsed in
    parallel threads when asked (:mod:`genomed.ingest.bgzf`).
    """
    path = Path(path)
    if chunk_size < 1:
        raise InputError(f"chunk_size must be positive, got {chunk_size}")
    if not path.is_file():
        raise NotFoundError(f"VCF file not found: {path}")
    bgzf = is_bgzf(path)
    if bgzf:
        check_bgzf_eof(path)
    header = read_header(path)
    build, note = check_build(header, expected_build)
    if not header.samples:
        raise InputError(f"{path} has no sample columns (a sites-only VCF); there are no genotypes to ingest")
    samples = match_samples(path, header.samples, sample_names)
    is_gvcf = _detect_gvcf(path, len(samples))
    if is_gvcf and len(samples) != 1:
        raise InputError(f"{path} is a gVCF with {len(samples)} samples; genomed ingests gVCFs one sample per file "
                         "(a combined gVCF has no per-sample reference blocks)")
    plan = None
    if bgzf and segments is not None and segments > 1 and _pipes_work():
        plan = plan_segments(path, header.raw, segments, max_prefix=_PIPE_BYTES // 2)
    if bcf_pipe is None:
        bcf_pipe = (segments is None and bgzf and len(samples) > 1 and path.stat().st_size >= _BCF_PIPE_BYTES
                    and os.path.isdir("/dev/fd"))
    stream = IngestStream(path, header, samples, build, reference=reference, chunk_size=chunk_size, is_gvcf=is_gvcf,
                          segments=plan, workers=max(1, min(2, os.cpu_count() or 1)), gvcf_fast_path=gvcf_fast_path,
                          bcf_pipe=bcf_pipe)
    if note:
        stream.counts.notes.append(note)
    return stream


def _detect_gvcf(path: Path, n_samples: int) -> bool:
    """Whether the file is a gVCF: one of its first records is a reference block.

    A header is no proof (multi-sample VCFs merged from gVCFs keep ``##ALT=<ID=NON_REF>`` and
    ``##GVCFBlock`` lines), so the first records are looked at: up to 1,000 in a single-sample
    file, 50 in a multi-sample one (a combined gVCF starts with blocks). Problems are left for the
    streaming read to report with their line numbers.
    """
    import cyvcf2

    messages = HtslibMessages()
    try:
        with messages:
            vcf = cyvcf2.VCF(str(path))
            try:
                for count, variant in enumerate(vcf):
                    alts = variant.ALT
                    if ((alts and all(a in GVCF_SYMBOLIC for a in alts))
                            or (not alts and variant.end - variant.POS + 1 > len(variant.REF))):
                        return True
                    if count >= (1000 if n_samples == 1 else 50):
                        break
            finally:
                vcf.close()
    except Exception as exc:  # cyvcf2's bare Exception: the header or an early record is broken
        detail = messages.take_errors() or str(exc)
        if "header" in str(exc).lower():
            raise MalformedVCFError(f"{path}: htslib cannot read the header: {detail}") from exc
    finally:
        messages.close()
    return False


_PIPES: list[bool] = []


def _pipes_work() -> bool:
    """Whether this system gives pipes large enough to hand segments to htslib (Linux does)."""
    if not _PIPES:
        try:
            read_fd, write_fd = open_pipe(_PIPE_BYTES)
        except OSError:
            _PIPES.append(False)
        else:
            os.close(read_fd)
            os.close(write_fd)
            _PIPES.append(os.path.exists(f"/dev/fd/{read_fd}") or os.path.isdir("/dev/fd"))
    return _PIPES[0]
