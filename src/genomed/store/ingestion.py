"""Ingestion as a node runs it: vault → reader (normalise, QC) → variant store → catalog, all or nothing.

The input is a file already in the vault (so it is encrypted at rest and digest-checked). Its
plaintext is decrypted into the node's private staging folder for htslib to read and deleted as
soon as the batch is written. The batch is committed to the store while the catalog transaction
that records the analysis and the QC is still open; if that transaction then fails, the batch is
reverted, so the store and the catalog never disagree.

The single-sample gVCFs of a batch are read in forked worker processes, one per core (see
:func:`stream_into_batch`): each sends back its sample's QC, variant records and coverage runs.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cyvcf2
from sqlalchemy import select
from sqlalchemy.orm import Session

from genomed import __version__
from genomed.access.purpose import Purpose
from genomed.access.roles import Permission
from genomed.catalog.cases import CaseState
from genomed.catalog.consent_rules import Scope, require_consent
from genomed.catalog.files import FileKind, file_by_vault_id, staged_plaintext
from genomed.catalog.guard import authorize
from genomed.catalog.models import Analysis, FamilyMember, Prescription, QCResult, Sample, StoredFile
from genomed.catalog.prescriptions import advance_and_audit
from genomed.context import NodeContext
from genomed.db.base import utcnow
from genomed.errors import InputError, NotFoundError, UnknownSampleError
from genomed.genome.mapped_fasta import mapped_reference
from genomed.genome.reference import ReferenceGenome, open_reference
from genomed.ingest.chunks import BatchSample, BlockChunk, NormalisationCounts
from genomed.ingest.qc import QCAccumulator, QCThresholds, SampleQC
from genomed.ingest.qc import QCResult as QCOutcome
from genomed.ingest.qc_report import write_qc_report
from genomed.ingest.reader import IngestStream, read_header, read_vcf
from genomed.store.coverage import GvcfSampleCollector, GvcfSampleRows
from genomed.store.layout import read_manifest
from genomed.store.writer import BatchWriter, StagedBatch, check_admissible, revert_batch

LOG = logging.getLogger(__name__)
PIPELINE = "genomed-ingest"


@dataclass
class IngestOutcome:
    """What one ingest did, for the CLI, the demo and the tests."""

    batch_id: str
    source: str
    samples: list[str]
    records: int
    genotypes: int
    normalisation: list[NormalisationCounts]
    qc: list[QCOutcome]
    analyses: list[int]
    qc_reports: list[Path] = field(default_factory=list)

    @property
    def qc_status(self) -> str:
        order = {"pass": 0, "n/a": 0, "warn": 1, "fail": 2}
        return max((q.status for q in self.qc), key=lambda s: order.get(s, 0), default="n/a")

    def sample_qc(self) -> list[SampleQC]:
        return [s for q in self.qc for s in q.samples]


def _plaintext(ctx: NodeContext, stored: StoredFile) -> contextlib.AbstractContextManager[Path]:
    return staged_plaintext(ctx, vault_id=stored.vault_id, sha256=stored.plaintext_sha256,
                            size=stored.plaintext_size, original_name=stored.original_name, job="ingest")


def _samples_by_label(session: Session, labels: list[str], path_name: str) -> dict[str, Sample]:
    found = {s.label: s for s in session.scalars(select(Sample).where(Sample.label.in_(labels)))}
    unknown = [label for label in labels if label not in found]
    if unknown:
        shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        raise UnknownSampleError(f"{path_name}: sample column(s) match no catalog sample: {shown}")
    return found


def _trios(session: Session, samples: dict[str, Sample]) -> list[tuple[str, str, str]]:
    """(child, father, mother) sample labels for every trio wholly present in the file."""
    by_patient = {s.patient_id: s.label for s in samples.values()}
    trios = []
    for member in session.scalars(select(FamilyMember).where(FamilyMember.patient_id.in_(list(by_patient)))):
        if member.father_id in by_patient and member.mother_id in by_patient:
            trios.append((by_patient[member.patient_id], by_patient[member.father_id], by_patient[member.mother_id]))
    return trios


def ingest_files(ctx: NodeContext, actor: str, *, vault_ids: list[str], reference: Path | None = None,
                 thresholds: QCThresholds | None = None) -> IngestOutcome:
    """Ingest one multi-sample VCF, or several single-sample gVCFs as one batch.

    ``reference`` (default: the node's configured FASTA) checks every REF allele and left-aligns
    indels; without one, indels are only trimmed and the analysis's provenance says so.
    """
    if not vault_ids:
        raise InputError("nothing to ingest: give at least one stored file")
    with ctx.transaction() as session:
        authorize(ctx, session, actor, Permission.RECORD_ANALYSIS, object_type="file", object_id=vault_ids[0],
                  purpose=Purpose.CARE)
        stored = [file_by_vault_id(session, v) for v in vault_ids]
        for item in stored:
            if item.kind not in (FileKind.VCF.value, FileKind.GVCF.value):
                raise InputError(f"file {item.vault_id} is a {item.kind}, not a VCF or gVCF")
    check_admissible(read_manifest(ctx.config.store_dir), [s.plaintext_sha256 for s in stored], [],
                     ctx.config.genome_build)
    reference = reference or ctx.config.reference_path
    genome = open_reference(reference, ctx.config.genome_build) if reference is not None else None
    with contextlib.ExitStack() as stack:
        paths = [stack.enter_context(_plaintext(ctx, item)) for item in stored]
        headers = [read_header(p) for p in paths]
        labels = [name for h in headers for name in h.samples]
        with ctx.transaction() as session:
            samples = _samples_by_label(session, labels, stored[0].original_name)
            for sample in samples.values():
                require_consent(session, sample.patient, Scope.DIAGNOSIS, f"ingest sample {sample.label}")
            catalog_sex = {label: s.patient.sex for label, s in samples.items()}
            trios = _trios(session, samples)
        return _ingest(ctx, actor, stored, paths, samples, catalog_sex, trios, genome, thresholds)


def _ingest(ctx: NodeContext, actor: str, stored: list[StoredFile], paths: list[Path], samples: dict[str, Sample],
            catalog_sex: dict[str, str], trios: list[tuple[str, str, str]], genome: ReferenceGenome | None,
            thresholds: QCThresholds | None) -> IngestOutcome:
    # Read through a memory map when the FASTA allows it: faster REF checks, and gVCFs can be read in
    # forked workers (a pysam handle cannot be shared across a fork).
    bases = mapped_reference(genome) if genome is not None else None
    streams = [open_stream(p, ctx.config.genome_build, bases) for p in paths]
    try:
        source = "gvcf" if streams[0].is_gvcf else "vcf"
        if any(s.is_gvcf != streams[0].is_gvcf for s in streams):
            raise InputError("a batch is either one multi-sample VCF or several gVCFs, not a mixture")
        if source == "vcf" and len(streams) > 1:
            raise InputError("ingest multi-sample VCFs one at a time; only gVCFs are batched together")
        order = [s.name for stream in streams for s in stream.samples]
        writer = BatchWriter(ctx.config.store_dir, source=source, genome_build=ctx.config.genome_build,
                             sample_ids=[samples[name].id for name in order],
                             input_sha256=[s.plaintext_sha256 for s in stored],
                             provenance=_provenance(stored, genome, source))
        try:
            qc, batch_samples = stream_into_batch(writer, streams, catalog_sex=catalog_sex, trios=trios,
                                                  thresholds=thresholds)
            staged = writer.finish(batch_samples)
        except BaseException:
            writer.abort()
            raise
    finally:
        for stream in streams:
            stream.close()
    return _publish(ctx, actor, staged, stored, samples, streams, qc)


# Records per chunk shrink as samples grow, so a chunk holds a bounded number of genotype cells
# (the sparse rows of a chunk scale with records × samples): memory stays flat at 10,000 samples.
CHUNK_GENOTYPE_CELLS = 20_000_000


def open_stream(path: Path, build: str, reference: ReferenceGenome | None = None) -> IngestStream:
    """Open a VCF for ingestion with a chunk size suited to its number of samples."""
    samples = max(1, len(read_header(path).samples))
    chunk = max(500, min(20_000, CHUNK_GENOTYPE_CELLS // samples))
    return read_vcf(path, expected_build=build, reference=reference, chunk_size=chunk)


def stream_into_batch(writer: BatchWriter, streams: list[IngestStream], *, catalog_sex: dict[str, str] | None = None,
                      trios: list[tuple[str, str, str]] | None = None, thresholds: QCThresholds | None = None,
                      workers: int | None = None) -> tuple[list[QCOutcome], list[BatchSample]]:
    """Read every stream into the writer, accumulating QC on the way; the batch's samples in order.

    A multi-sample VCF is one stream; a gVCF batch is one stream per single-sample file, each file's
    sample numbered by its place in ``streams``. The files of a gVCF batch are independent, so they
    are read in ``workers`` forked processes (default: one per core) when that is safe; see
    :func:`read_gvcfs`. The result is the same either way.
    """
    if writer.source == "gvcf":
        return _gvcf_batch(writer, streams, catalog_sex or {}, trios or [], thresholds, workers)
    qc: list[QCOutcome] = []
    batch_samples: list[BatchSample] = []
    for stream in streams:
        accumulator = QCAccumulator(stream.samples, stream.build, catalog_sex=catalog_sex or {}, trios=trios or [],
                                    thresholds=thresholds)
        for chunk in stream.chunks():
            accumulator.add(chunk)
            if isinstance(chunk, BlockChunk):
                writer.add_blocks(chunk)    # refused: a VCF batch has no reference blocks
            else:
                writer.add_records(chunk)
        qc.append(accumulator.result(stream.samples))
        batch_samples.extend(stream.samples)
    return qc, batch_samples


@dataclass
class GvcfResult:
    """One gVCF read to the end: what the parent needs of it (pickled back from a forked worker)."""

    qc: QCOutcome
    rows: GvcfSampleRows
    counts: NormalisationCounts
    samples: list[BatchSample]


def _read_gvcf(stream: IngestStream, number: int, catalog_sex: dict[str, str], trios: list[tuple[str, str, str]],
               thresholds: QCThresholds | None) -> GvcfResult:
    """Read one single-sample gVCF: its QC, and its rows with coverage merged (the raw blocks never leave)."""
    accumulator = QCAccumulator(stream.samples, stream.build, catalog_sex=catalog_sex, trios=trios,
                                thresholds=thresholds)
    collector = GvcfSampleCollector(number)
    for chunk in stream.chunks():
        accumulator.add(chunk)
        collector.add(chunk)
    return GvcfResult(accumulator.result(stream.samples), collector.rows(), stream.counts, list(stream.samples))


# What forked workers read (set by the parent only around the fork; see read_gvcfs).
_FORKED: tuple[list[IngestStream], dict[str, str], list[tuple[str, str, str]], QCThresholds | None] | None = None


def _start_worker() -> None:
    """A forked reader's set-up, for a process that reads file after file and then ends with the batch.

    * No cyclic garbage collector: the reading allocates hundreds of thousands of short-lived objects
      per file, for which the collector's passes cost ~5% of the time and reclaim nothing (reference
      counting frees them).
    * glibc's malloc keeps the memory it was given instead of returning it to the system after each
      file (and faulting it back in for the next): each file's arrays are tens of MB, and the page
      faults cost another ~5%. The worker's peak stays what one file needs (~250 MB).
    """
    gc.disable()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: keep its defaults
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 256 << 20)
        libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30)


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3   # glibc's mallopt parameters (malloc.h)


def _read_gvcf_forked(number: int) -> GvcfResult:
    if _FORKED is None:  # never: the parent sets it before forking
        raise RuntimeError("no gVCF streams in this worker")
    streams, catalog_sex, trios, thresholds = _FORKED
    return _read_gvcf(streams[number], number, catalog_sex, trios, thresholds)


def read_gvcfs(streams: list[IngestStream], catalog_sex: dict[str, str] | None = None,
               trios: list[tuple[str, str, str]] | None = None, thresholds: QCThresholds | None = None,
               workers: int | None = None) -> Iterator[GvcfResult]:
    """Every gVCF of a batch read, in order (sample ``n`` is ``streams[n]``'s): in forked workers, one per
    core (or ``workers``), when there are several files and cores.

    Why processes: the reader of one gVCF is mostly one thread holding the GIL (htslib's query runs
    in-process), so threads would not overlap; files are independent, and what a worker sends back
    is small (its sample's variant records and coverage runs, not its blocks). Only on Linux
    (fork), and only when every stream is fork-safe (its reference, if any, is a memory map, not a
    pysam handle whose file offset parent and child would share). An error in a worker (a malformed
    or truncated file) is raised here, as the sequential reader raises it.
    """
    import multiprocessing

    catalog_sex, trios = catalog_sex or {}, trios or []
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    workers = min(workers, len(streams))
    if workers < 2 or "fork" not in multiprocessing.get_all_start_methods() or not all(s.fork_safe for s in streams):
        for number, stream in enumerate(streams):
            yield _read_gvcf(stream, number, catalog_sex, trios, thresholds)
        return
    global _FORKED
    _FORKED = (streams, catalog_sex, trios, thresholds)
    try:
        with multiprocessing.get_context("fork").Pool(workers, initializer=_start_worker) as pool:
            yield from pool.imap(_read_gvcf_forked, range(len(streams)), chunksize=1)
    finally:
        _FORKED = None


def _gvcf_batch(writer: BatchWriter, streams: list[IngestStream], catalog_sex: dict[str, str],
                trios: list[tuple[str, str, str]], thresholds: QCThresholds | None,
                workers: int | None) -> tuple[list[QCOutcome], list[BatchSample]]:
    qc: list[QCOutcome] = []
    batch_samples: list[BatchSample] = []
    results = read_gvcfs(streams, catalog_sex, trios, thresholds, workers)
    for number, (stream, result) in enumerate(zip(streams, results, strict=True)):
        writer.add_gvcf_sample(result.rows)
        stream.counts = result.counts          # a worker's stream is a copy: bring back what it learnt
        stream.samples[:] = result.samples
        qc.append(result.qc)
        batch_samples.extend(BatchSample(index=s.index + number, name=s.name, x_ploidy=s.x_ploidy,
                                         y_ploidy=s.y_ploidy) for s in result.samples)
    return qc, batch_samples


def _provenance(stored: list[StoredFile], genome: ReferenceGenome | None, source: str) -> dict[str, Any]:
    return {
        "pipeline": PIPELINE, "genomed": __version__, "cyvcf2 (htslib)": cyvcf2.__version__,
        "inputs": [{"file": s.vault_id, "name": s.original_name, "sha256": s.plaintext_sha256} for s in stored],
        "reference": str(getattr(genome, "path", "")) or None,
        "source": source,
    }


def _publish(ctx: NodeContext, actor: str, staged: StagedBatch, stored: list[StoredFile], samples: dict[str, Sample],
             streams: list[IngestStream], qc: list[QCOutcome]) -> IngestOutcome:
    """Commit the batch and record analyses and QC in one catalog transaction; revert the batch on failure."""
    committed = False
    analysis_ids: list[int] = []
    try:
        with ctx.transaction() as session:
            user = authorize(ctx, session, actor, Permission.RECORD_ANALYSIS, object_type="file",
                             object_id=stored[0].vault_id, purpose=Purpose.CARE)
            by_case: dict[int, list[Sample]] = {}
            for label in [s.sample for q in qc for s in q.samples]:
                sample = session.get(Sample, samples[label].id)
                if sample is None:
                    raise NotFoundError(f"sample {label} disappeared during the ingest")
                by_case.setdefault(sample.prescription_id, []).append(sample)
            qc_by_label = {s.sample: s for q in qc for s in q.samples}
            for case_id, case_samples in by_case.items():
                case = session.get(Prescription, case_id)
                if case is None:
                    raise NotFoundError(f"case {case_id} disappeared during the ingest")
                analysis = Analysis(
                    prescription_id=case_id, kind="ingest", pipeline=PIPELINE, pipeline_version=__version__,
                    genome_build=ctx.config.genome_build, parameters={"source": staged.entry.source},
                    provenance={**staged.entry.provenance, "batch": staged.entry.batch_id,
                                "normalisation": [vars(s.counts) for s in streams]},
                    status="succeeded", started_at=utcnow(), finished_at=utcnow(), started_by=user.id)
                session.add(analysis)
                session.flush()
                analysis_ids.append(analysis.id)
                for sample in case_samples:
                    result = qc_by_label[sample.label]
                    session.add(QCResult(sample_id=sample.id, analysis_id=analysis.id, status=result.status,
                                         metrics={"metrics": result.metrics,
                                                  "checks": [vars(c) for c in result.checks]}))
                ctx.audit.record(session, actor=actor, action="store.ingest", object_type="case",
                                 object_id=case.reference, purpose=Purpose.CARE,
                                 details={"batch": staged.entry.batch_id, "analysis": analysis.id,
                                          "samples": len(case_samples), "records": staged.entry.records})
                advance_and_audit(ctx, session, actor, case, CaseState.ANALYSED, user)
            staged.commit()
            committed = True
    except BaseException:
        if committed:
            LOG.warning("catalog transaction failed after the store commit; reverting batch %s", staged.entry.batch_id)
            revert_batch(ctx.config.store_dir, staged)
        else:
            staged.discard()
        raise
    reports = [path for n, q in enumerate(qc)
               for path in write_qc_report(q, ctx.config.home / "qc", stem=f"{staged.entry.batch_id}-{n}",
                                           provenance=staged.entry.provenance)]
    return IngestOutcome(batch_id=staged.entry.batch_id, source=staged.entry.source,
                         samples=[s.sample for q in qc for s in q.samples], records=staged.entry.records,
                         genotypes=staged.entry.genotypes, normalisation=[s.counts for s in streams], qc=qc,
                         analyses=analysis_ids, qc_reports=reports)
