"""Variant consequences on transcripts: SO terms, VEP impact, HGVS c. and p., exon/intron and NMD.

An :class:`Annotator` holds a set of gene models (MANE Select by default; any GFF3/GTF release
through :mod:`genomed.annotate.gene_models`) indexed per chromosome with numpy, and optionally the
node's reference genome.

*With a reference*, coding consequences are read from codons: the transcript's spliced sequence is
taken from the reference, the variant applied, and both translated, so missense, synonymous,
stop_gained, stop_lost, start_lost and in-frame changes are decided by the protein they make, and
HGVS p. is written from the same comparison. Indels are shifted 3' on each transcript before HGVS
c. is written, and insertions that repeat the preceding bases become ``dup``.

*Without a reference* only what coordinates decide is reported: frameshift versus in-frame (by
length), splice donor/acceptor/region, UTR, intron, up/downstream, and start_lost for any change of
the start codon (every complete CDS starts with ATG). Whether a substitution elsewhere in a CDS is
missense, synonymous or stop_gained cannot be known from positions, so it is reported as
``coding_sequence_variant`` (VEP's term for exactly that, MODIFIER) with no HGVS p. HGVS c. is still
written; 3' shifting and dup detection then use only the bases the VCF record states
(:class:`genomed.annotate.alleles.AlleleContext`), so an indel in a longer repeat keeps the position
it was given.

*Many variants at once* (:meth:`Annotator.annotate_many`, what interpretation and the benchmarks
use) run the same rules on arrays of (variant, transcript) pairs: SNVs in
:mod:`genomed.annotate.snv_batch`, short insertions and deletions in
:mod:`genomed.annotate.indel_batch`, over the exon tables of
:mod:`genomed.annotate.transcript_table`. Only what those leave (changes across exon boundaries,
start and stop codons compared as proteins, delins) goes through :meth:`Annotator.annotate`'s
per-pair rules, which stay the reference: a test compares both on thousands of random changes.
"""

from __future__ import annotations

import bisect
import gc
import itertools
import logging
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from genomed.annotate.alleles import AlleleContext, Edit, check_variant, duplicated, repeat_reach, shift, trim
from genomed.annotate.consequence import BIT, IMPACT, NMD_WINDOW, RANK, TRUNCATING, from_bits, impact_of, ordered
from genomed.annotate.genetic_code import reverse_complement, translate
from genomed.annotate.hgvs import c_description, protein_change
from genomed.annotate.indel_batch import Indels, ProteinFacts, indel_effects
from genomed.annotate.mane import SELECT, Transcript
from genomed.annotate.model import Impact, TranscriptEffect, Variant, VariantAnnotation, build_effect
from genomed.annotate.snv_batch import snv_effects
from genomed.annotate.transcript_map import TranscriptMap
from genomed.annotate.transcript_table import TranscriptTable
from genomed.errors import InputError, ReferenceSequenceError
from genomed.genome.mapped_fasta import MappedFasta, mapped_reference
from genomed.genome.reference import ReferenceGenome

log = logging.getLogger(__name__)

FLANK = 5_000  # up/downstream distance, as VEP's default
_MRNA_CACHE = 4_096
_FIRST_READ = 192  # bases after a frameshift translated before the rest of the transcript (most meet a stop)
_WINDOW = 48  # bases read either side of an indel to learn how far it repeats (longer repeats: per-variant rules)
# A batch is shared with forked workers from this many variants on (below, forking costs more than it
# saves), and only when there are on average two transcripts or more near each variant. The parent turns
# the workers' answers back into objects (a microsecond and a half a variant): for sparse batches that
# is all the work there was (1,000,000 random GRCh38 positions on MANE, 2 cores: no faster, 50% more CPU;
# 200,000 chr21 variants on every Ensembl isoform, five effects each: the parent's CPU 4.7 -> 2.7 s).
_PARALLEL_MIN = 20_000
_PARALLEL_DENSITY = 3  # expected work per variant: 1 + the transcripts near it (see Annotator._work)
_FORKED: tuple[Annotator, list[Variant]] | None = None  # what a forked worker inherits (set only around the fork)


_EFFECT_FIELDS = tuple(f.name for f in fields(TranscriptEffect))
_IMPACT_FIELD = _EFFECT_FIELDS.index("impact")
_IMPACTS = {impact.value: impact for impact in Impact}


def _annotate_forked(piece: tuple[int, int]) -> list[tuple[tuple[Any, ...], ...]]:
    """A forked worker's share of :meth:`Annotator.annotate_many` (a slice of the inherited batch), as plain tuples.

    Why tuples: unpickling frozen dataclasses and enums costs the parent about as much as
    annotating them; tuples of strings and numbers come back several times faster.
    """
    if _FORKED is None:  # never: the parent sets it before forking
        raise RuntimeError("no annotator inherited by this worker")
    annotator, batch = _FORKED
    return [tuple(tuple(e.impact.value if name == "impact" else getattr(e, name) for name in _EFFECT_FIELDS)
                  for e in annotation.effects)
            for annotation in annotator._annotate_many(batch[piece[0]:piece[1]])]


def _effects_from_tuples(rows: tuple[tuple[Any, ...], ...]) -> tuple[TranscriptEffect, ...]:
    """The effects :func:`_annotate_forked` sent, rebuilt."""
    return tuple(build_effect(*row[:_IMPACT_FIELD], _IMPACTS[row[_IMPACT_FIELD]], *row[_IMPACT_FIELD + 1:])  # type: ignore[call-arg]  # the fields, in order
                 for row in rows)


@dataclass(frozen=True)
class _ChromIndex:
    """Elementary segments of one chromosome and the transcripts (with flanks) covering each."""

    bounds: npt.NDArray[np.int64]  # sorted segment boundaries; segment k is [bounds[k], bounds[k+1])
    members: tuple[tuple[int, ...], ...]  # transcript numbers covering each segment
    occupied: npt.NDArray[np.bool_]  # members[k] is non-empty
    bounds_list: list[int]
    member_start: npt.NDArray[np.int64]  # members[k] is member_flat[member_start[k]:member_start[k + 1]]
    member_flat: npt.NDArray[np.int64]


def _build_index(spans: Sequence[tuple[int, int, int]]) -> _ChromIndex:
    """Sweep the padded spans (start, end, number) into segments with their covering transcripts."""
    points = sorted({p for s, e, _ in spans for p in (s, e)})
    starts_at: dict[int, list[int]] = {}
    ends_at: dict[int, list[int]] = {}
    for s, e, number in spans:
        starts_at.setdefault(s, []).append(number)
        ends_at.setdefault(e, []).append(number)
    active: set[int] = set()
    members: list[tuple[int, ...]] = []
    for point in points[:-1]:
        active.difference_update(ends_at.get(point, ()))
        active.update(starts_at.get(point, ()))
        members.append(tuple(sorted(active)))
    bounds = np.array(points, dtype=np.int64)
    sizes = np.fromiter((len(m) for m in members), dtype=np.int64, count=len(members))
    member_start = np.zeros(len(members) + 1, dtype=np.int64)
    np.cumsum(sizes, out=member_start[1:])
    flat = np.fromiter((n for m in members for n in m), dtype=np.int64, count=int(member_start[-1]))
    return _ChromIndex(bounds, tuple(members), sizes > 0, points, member_start, flat)


class Annotator:
    """Consequences of variants on a set of transcripts; see the module docstring for what a reference adds."""

    def __init__(self, transcripts: Iterable[Transcript], reference: ReferenceGenome | None = None, *,
                 flank: int = FLANK) -> None:
        self.transcripts: list[Transcript] = list(transcripts)
        self.reference = reference
        # Bases are read through a memory map when the reference is a plain indexed FASTA: the same
        # answers, faster per read, and safe to share with forked workers (a pysam handle is not).
        self._bases: ReferenceGenome | None = None if reference is None else mapped_reference(reference)
        self.flank = flank
        self._maps: dict[int, TranscriptMap] = {}
        self._mrna: OrderedDict[int, str | None] = OrderedDict()
        self._proteins: dict[int, str] = {}  # reference protein of the transcripts whose mRNA is cached
        self._valid_alleles: set[tuple[str, str]] = set()  # short (ref, alt) pairs check_variant accepted
        self._table: TranscriptTable | None = None  # built on the first annotate_many
        spans: dict[str, list[tuple[int, int, int]]] = {}
        for number, t in enumerate(self.transcripts):
            spans.setdefault(t.chrom, []).append((max(0, t.start - flank), t.end + flank, number))
        self._index = {chrom: _build_index(chrom_spans) for chrom, chrom_spans in spans.items()}
        self._aliases = {name: chrom for chrom in self._index for name in (chrom, chrom.removeprefix("chr"))}
        if "chrM" in self._index:
            self._aliases["MT"] = "chrM"

    @classmethod
    def from_mane(cls, reference: ReferenceGenome | None = None, *, select_only: bool = True,
                  flank: int = FLANK) -> Annotator:
        """An annotator on MANE Select (plus MANE Plus Clinical when ``select_only`` is False)."""
        from genomed.annotate.mane import load_mane

        return cls(load_mane(select_only=select_only), reference, flank=flank)

    @classmethod
    def from_gene_models(cls, path: Path, reference: ReferenceGenome | None = None, *,
                         flank: int = FLANK) -> Annotator:
        """An annotator on every transcript of a GFF3 or GTF file."""
        from genomed.annotate.gene_models import load_gene_models

        return cls(load_gene_models(path), reference, flank=flank)

    # -- look-ups -------------------------------------------------------------------------------

    def _map(self, number: int) -> TranscriptMap:
        found = self._maps.get(number)
        if found is None:
            found = self._maps[number] = TranscriptMap(self.transcripts[number])
        return found

    def _candidates(self, chrom: str, lo: int, hi: int) -> tuple[int, ...]:
        """Transcripts whose flanked span overlaps genomic ``[lo, hi)``."""
        index = self._index.get(chrom)
        if index is None:
            return ()
        first = bisect.bisect_right(index.bounds_list, lo) - 1
        last = bisect.bisect_left(index.bounds_list, hi)
        first = max(first, 0)
        last = min(last, len(index.members))
        if last - first == 1:
            return index.members[first]
        found: set[int] = set()
        for k in range(first, last):
            found.update(index.members[k])
        return tuple(sorted(found))

    # -- public API -----------------------------------------------------------------------------

    def annotate(self, variant: Variant) -> VariantAnnotation:
        """Every transcript effect of one variant, most severe first (empty effects when intergenic)."""
        check_variant(variant)
        chrom = self._aliases.get(variant.chrom, variant.chrom)
        edit = trim(variant)
        if chrom != edit.chrom:
            edit = Edit(chrom, edit.start, edit.end, edit.ref, edit.alt)
        lo, hi = (edit.start - 1, edit.start + 1) if edit.start == edit.end else (edit.start, edit.end)
        numbers = self._candidates(chrom, lo, hi)
        if not numbers:
            return VariantAnnotation(variant)
        return self._annotate_edit(variant, edit, numbers)

    def annotate_many(self, variants: Iterable[Variant], *, workers: int = 1) -> list[VariantAnnotation]:
        """:meth:`annotate` for many variants, in input order, decided on arrays where possible.

        Positions are located in the per-chromosome segment index with one ``searchsorted`` per
        chromosome, so variants that no transcript's flanked span touches cost a numpy comparison
        and one small object. SNVs and pure insertions or deletions near genes are decided on arrays
        of (variant, transcript) pairs (:func:`genomed.annotate.snv_batch.snv_effects`,
        :func:`genomed.annotate.indel_batch.indel_effects`); what those leave goes through the
        per-transcript rules of :meth:`annotate`.

        With ``workers`` > 1, a batch of 20,000 variants or more with on average two transcripts or
        more near each is shared with ``workers - 1`` forked processes (Linux), when that is safe: the
        annotator has no reference, or reads it through a memory map (a plain indexed FASTA; a pysam
        handle shares its file offset across a fork). The answers are the same; only the wall time
        changes.

        The garbage collector is paused meanwhile: the results are up to millions of small acyclic
        objects, and the collections their allocation triggers cost nearly as much as building them
        (160,000 SNVs on chr21 isoforms: 6.1 -> 3.9 s of CPU).
        """
        collecting = gc.isenabled()
        gc.disable()
        try:
            batch = list(variants)
            if workers > 1 and len(batch) >= _PARALLEL_MIN and self._fork_safe():
                work = self._work(batch)
                if int(work.sum()) >= _PARALLEL_DENSITY * len(batch):
                    return self._annotate_shared(batch, np.cumsum(work), workers)
            return self._annotate_many(batch)
        finally:
            if collecting:
                gc.enable()

    def _fork_safe(self) -> bool:
        """Whether forked workers may read this annotator's reference (and the platform can fork)."""
        import multiprocessing

        return ((self._bases is None or bool(getattr(self._bases, "fork_safe", False)))
                and "fork" in multiprocessing.get_all_start_methods())

    def _annotate_shared(self, batch: list[Variant], work: npt.NDArray[np.int64],
                         workers: int) -> list[VariantAnnotation]:
        """:meth:`_annotate_many` on contiguous slices of the batch, the first half here, the rest in forked workers.

        Workers inherit the batch (only slice bounds are sent) and send back plain tuples, which
        the parent turns into effects as they arrive; that costs it about a quarter of annotating
        them, so it keeps half the batch for itself.
        """
        import multiprocessing

        # Cut where the expected work (``work``, cumulated) is shared evenly: variants are not (a
        # gene-dense stretch of chr21 has three times the effects of another).
        cuts = np.searchsorted(work, work[-1] * np.arange(1, 4 * workers) / (4 * workers), side="right")
        bounds = [0, *sorted(set(cuts.tolist()) - {0, len(batch)}), len(batch)]
        pieces = list(itertools.pairwise(bounds))
        mine, theirs = pieces[:len(pieces) // workers], pieces[len(pieces) // workers:]
        global _FORKED
        _FORKED = (self, batch)
        try:
            with multiprocessing.get_context("fork").Pool(workers - 1) as pool:
                pending = pool.imap(_annotate_forked, theirs)
                out = self._annotate_many(batch[mine[0][0]:mine[-1][1]])
                for (lo, _), part in zip(theirs, pending, strict=True):
                    out.extend(VariantAnnotation(batch[lo + k], _effects_from_tuples(rows))
                               for k, rows in enumerate(part))
        finally:
            _FORKED = None
        return out

    def _work(self, batch: list[Variant]) -> npt.NDArray[np.int64]:
        """Expected cost of annotating each variant: 1, plus the transcripts covering its position."""
        chroms = [self._aliases.get(v.chrom, v.chrom) for v in batch]
        positions = np.fromiter((v.pos - 1 for v in batch), dtype=np.int64, count=len(batch))
        work = np.ones(len(batch), dtype=np.int64)
        for chrom in set(chroms):
            index = self._index.get(chrom)
            if index is None:
                continue
            rows = np.flatnonzero(np.array([c == chrom for c in chroms], dtype=bool))
            segment = np.searchsorted(index.bounds, positions[rows], side="right") - 1
            inside = (segment >= 0) & (segment < len(index.occupied))
            segment = np.where(inside, segment, 0)
            work[rows] += np.where(inside, np.diff(index.member_start)[segment], 0)
        return work

    def _annotate_many(self, batch: list[Variant]) -> list[VariantAnnotation]:
        results: list[VariantAnnotation | None] = [None] * len(batch)
        near: list[tuple[int, str, tuple[int, ...] | None]] = []
        by_chrom: dict[str, list[int]] = {}
        for i, variant in enumerate(batch):
            by_chrom.setdefault(self._aliases.get(variant.chrom, variant.chrom), []).append(i)
        for chrom, rows in by_chrom.items():
            index = self._index.get(chrom)
            if index is None:
                for i in rows:
                    check_variant(batch[i])
                    results[i] = VariantAnnotation(batch[i])
                continue
            starts = np.fromiter((batch[i].pos - 1 for i in rows), dtype=np.int64, count=len(rows))
            ends = np.fromiter((batch[i].pos - 1 + len(batch[i].ref) for i in rows), dtype=np.int64, count=len(rows))
            # The VCF span (anchor base included) touches at least the bases the edit touches.
            first = np.searchsorted(index.bounds, starts - 1, side="right") - 1
            last = np.searchsorted(index.bounds, ends + 1, side="left")
            single = last - first == 1
            free = np.zeros(len(rows), dtype=bool)
            inside = (first >= 0) & (first < len(index.occupied))
            free[single & inside] = ~index.occupied[first[single & inside]]
            free[single & ~inside] = True
            snvs: list[int] = []
            indels: list[int] = []
            for j, i in enumerate(rows):
                if free[j]:
                    self._check(batch[i])
                    results[i] = VariantAnnotation(batch[i])
                elif len(batch[i].ref) == 1 and len(batch[i].alt) == 1:
                    snvs.append(i)
                else:
                    indels.append(i)
            if snvs:
                near.extend(self._annotate_snvs(batch, snvs, chrom, index, results))
            if indels:
                near.extend(self._annotate_indels(batch, indels, chrom, results))
        for i, chrom, numbers in sorted(near):
            results[i] = self._annotate_job(batch[i], chrom, numbers)
        return [r for r in results if r is not None]

    def _annotate_snvs(self, batch: list[Variant], rows: list[int], chrom: str, index: _ChromIndex,
                       results: list[VariantAnnotation | None]) -> list[tuple[int, str, tuple[int, ...] | None]]:
        """SNVs of one chromosome through :func:`snv_effects`; returns those left to the per-variant rules.

        An SNV's transcripts are those of the index segment holding its base (what ``annotate``
        finds). An SNV whose REF the reference contradicts goes to the per-variant rules, which
        refuse it with their usual error.
        """
        for i in rows:
            self._check(batch[i])
        refs = [batch[i].ref.upper() for i in rows]
        alts = [batch[i].alt.upper() for i in rows]
        positions = np.fromiter((batch[i].pos - 1 for i in rows), dtype=np.int64, count=len(rows))
        segment = np.searchsorted(index.bounds, positions, side="right") - 1
        inside = (segment >= 0) & (segment < len(index.occupied))
        segment = np.where(inside, segment, 0)
        covered = inside & index.occupied[segment]
        contradicted = self._contradicted(chrom, positions, refs)
        todo = np.flatnonzero(covered & ~contradicted)
        left: list[tuple[int, str, tuple[int, ...] | None]] = [
            (rows[j], chrom, index.members[int(segment[j])]) for j in np.flatnonzero(covered & contradicted)]
        for j in np.flatnonzero(~covered).tolist():
            results[rows[j]] = VariantAnnotation(batch[rows[j]])
        if not len(todo):
            return left
        first, last = index.member_start[segment[todo]], index.member_start[segment[todo] + 1]
        counts = last - first
        pair_snv = np.repeat(np.arange(len(todo), dtype=np.int64), counts)
        within = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
        pair_number = index.member_flat[np.repeat(first, counts) + within]
        chosen = todo.tolist()
        effects, slow = snv_effects(self._transcript_table(), pair_snv, pair_number, positions[todo],
                                    [refs[j] for j in chosen], [alts[j] for j in chosen], self.flank,
                                    self._comparable_cds)
        for k, (j, found, later) in enumerate(zip(chosen, effects, slow.tolist(), strict=True)):
            if later:
                left.append((rows[j], chrom, index.members[int(segment[todo[k]])]))
            else:
                results[rows[j]] = VariantAnnotation(batch[rows[j]], found)
        return left

    def _annotate_indels(self, batch: list[Variant], rows: list[int], chrom: str,
                         results: list[VariantAnnotation | None]) -> list[tuple[int, str, tuple[int, ...] | None]]:
        """Pure insertions and deletions of one chromosome through :func:`indel_effects`; returns the rest.

        Each indel is trimmed and its candidates found as ``annotate`` does; then the bases around it
        are read once (a window of the reference, or the VCF record's own bases without one) to
        learn how far it repeats either way. A delins, an indel whose REF the reference contradicts
        or whose repeat runs past the window goes to the per-variant rules.
        """
        left: list[tuple[int, str, tuple[int, ...] | None]] = []
        kept: list[int] = []
        edits: list[Edit] = []
        numbers: list[tuple[int, ...]] = []
        starts: list[int] = []
        rights: list[int] = []
        lefts: list[int] = []
        origins: list[int] = []
        windows: list[str] = []
        reference = self._bases
        for i in rows:
            variant = batch[i]
            self._check(variant)
            edit = trim(variant)
            if edit.ref and edit.alt:
                left.append((i, chrom, None))
                continue
            lo, hi = (edit.start - 1, edit.start + 1) if edit.start == edit.end else (edit.start, edit.end)
            found = self._candidates(chrom, lo, hi)
            if not found:
                results[i] = VariantAnnotation(variant)
                continue
            moved = edit.ref or edit.alt
            if reference is not None:
                origin = max(0, edit.start - _WINDOW - len(moved))
                stop = edit.end + _WINDOW + len(moved)
                if not reference.has(chrom, origin, stop):
                    left.append((i, chrom, None))
                    continue
                window = reference.fetch(chrom, origin, stop)
                if edit.ref and window[edit.start - origin:edit.end - origin] != edit.ref:
                    left.append((i, chrom, None))  # the per-variant rules refuse it
                    continue
            else:  # only the bases the record states (AlleleContext), and only under the record's own name
                origin, window = variant.pos - 1, variant.ref.upper() if variant.chrom == chrom else ""
            right, ahead = repeat_reach(window, origin, edit.end, moved, forward=True)
            back, behind = repeat_reach(window, origin, edit.start, moved, forward=False)
            if reference is not None and (ahead or (behind and origin > 0)):
                left.append((i, chrom, None))  # the repeat may go on past the bases read
                continue
            kept.append(i)
            edits.append(Edit(chrom, edit.start, edit.end, edit.ref, edit.alt))
            numbers.append(found)
            starts.append(edit.start)
            rights.append(right)
            lefts.append(back)
            origins.append(origin)
            windows.append(window)
        if not kept:
            return left
        counts = np.fromiter((len(n) for n in numbers), dtype=np.int64, count=len(numbers))
        pair_row = np.repeat(np.arange(len(kept), dtype=np.int64), counts)
        pair_number = np.fromiter((n for found in numbers for n in found), dtype=np.int64, count=int(counts.sum()))
        start = np.array(starts, dtype=np.int64)
        indels = Indels(start, start + np.fromiter((len(e.ref) for e in edits), dtype=np.int64, count=len(edits)),
                        [e.ref or e.alt for e in edits], np.array(rights, dtype=np.int64),
                        np.array(lefts, dtype=np.int64), origins, windows)

        def protein(row: int, number: int, tx_first: int, first: int, last: int, start_codon: bool,
                    stop_codon: bool, mask: int) -> ProteinFacts:
            coding = _Coding(tx_first=tx_first, first=first, last=last, clean=True, cds_position=first + 1,
                             protein_position=first // 3 + 1, start_codon=start_codon, stop_codon=stop_codon)
            terms = set(from_bits(mask)[0])
            self._protein(number, self._map(number), edits[row], coding, terms)
            return (sum(BIT[term] for term in terms), coding.hgvs_p, coding.protein_position, coding.ref_aa,
                    coding.alt_aa, coding.stop_tx)

        effects, slow = indel_effects(self._transcript_table(), pair_row, pair_number, indels, self.flank, protein)
        for i, decided, later in zip(kept, effects, slow.tolist(), strict=True):
            if later:
                left.append((i, chrom, None))
            else:
                results[i] = VariantAnnotation(batch[i], decided)
        return left

    def _contradicted(self, chrom: str, positions: npt.NDArray[np.int64], refs: list[str]) -> npt.NDArray[np.bool_]:
        """Which one-base REFs the reference knows and contradicts (read in one gather when it is a mapped FASTA)."""
        out = np.zeros(len(positions), dtype=bool)
        reference = self._bases
        if reference is None:
            return out
        if isinstance(reference, MappedFasta):
            found = reference.bases(chrom, positions)
            expected = np.frombuffer("".join(refs).encode("ascii", "replace"), dtype=np.uint8)
            out[:] = (found != 0) & (found != expected)
            return out
        for j, (p, ref) in enumerate(zip(positions.tolist(), refs, strict=True)):
            out[j] = reference.has(chrom, p, p + 1) and reference.fetch(chrom, p, p + 1) != ref
        return out

    def _transcript_table(self) -> TranscriptTable:
        if self._table is None:
            self._table = TranscriptTable(self.transcripts)
        return self._table

    def _comparable_cds(self, number: int) -> str | None:
        """The reference CDS (5' to 3') of a transcript whose protein :meth:`_protein` compares, else None."""
        t = self.transcripts[number]
        tm = self._map(number)
        if self._bases is None or not t.cds_complete or (tm.cds_tx_end - tm.cds_tx_start) % 3:
            return None
        mrna = self._spliced(number, tm)
        if mrna is None:
            return None
        protein = self._reference_protein(number, tm, mrna)
        if protein.find("*") != len(protein) - 1:
            return None
        return mrna[tm.cds_tx_start:tm.cds_tx_end]

    def _check(self, variant: Variant) -> None:
        """:func:`check_variant`, remembering the short allele pairs it accepted (a genome repeats a few dozen)."""
        alleles = (variant.ref, variant.alt)
        if alleles not in self._valid_alleles or variant.pos < 1:
            check_variant(variant)
            if len(alleles[0]) + len(alleles[1]) <= 4:
                self._valid_alleles.add(alleles)

    def _annotate_job(self, variant: Variant, chrom: str, numbers: tuple[int, ...] | None) -> VariantAnnotation:
        """:meth:`annotate`, told the transcripts when annotate_many already knows them (an SNV)."""
        if numbers is None:
            return self.annotate(variant)
        self._check(variant)
        ref, alt = variant.ref.upper(), variant.alt.upper()
        return self._annotate_edit(variant, Edit(chrom, variant.pos - 1, variant.pos, ref, alt), numbers)

    # -- per transcript -------------------------------------------------------------------------

    def _annotate_edit(self, variant: Variant, edit: Edit, numbers: Sequence[int]) -> VariantAnnotation:
        context: ReferenceGenome = self._bases if self._bases is not None else AlleleContext(variant)
        if self._bases is not None and edit.ref and self._bases.has(edit.chrom, edit.start, edit.end):
            found = self._bases.fetch(edit.chrom, edit.start, edit.end)
            if found != edit.ref:
                raise InputError(f"variant {variant.name}: reference allele {edit.ref} does not match the reference "
                                 f"genome ({found} at {edit.chrom}:{edit.start + 1})")
        shifted: dict[tuple[bool, int | None], Edit] = {}
        effects: list[TranscriptEffect] = []
        for number in numbers:
            tm = self._map(number)
            hgvs_edit = edit
            if not (edit.ref and edit.alt):
                key = (tm.plus, _shift_bound(tm, edit))
                if key not in shifted:
                    shifted[key] = shift(edit, context, right=tm.plus, bound=key[1])
                hgvs_edit = shifted[key]
            effect = self._effect(number, tm, edit, hgvs_edit, context)
            if effect is not None:
                effects.append(effect)
        effects.sort(key=lambda e: (RANK[e.consequences[0]], not e.mane_select, e.transcript_id))
        return VariantAnnotation(variant, tuple(effects))

    def _effect(self, number: int, tm: TranscriptMap, edit: Edit, hgvs_edit: Edit,
                context: ReferenceGenome) -> TranscriptEffect | None:
        t = tm.transcript
        s, e = edit.start, edit.end
        if e - s == 1 and len(edit.alt) == 1:
            fast = self._deep_intronic_snv(tm, edit)
            if fast is not None:
                return fast
        insertion = s == e
        terms: set[str] = set()
        exon: tuple[int, int] | None = None
        intron: tuple[int, int] | None = None
        coding: _Coding | None = None
        outside = (s <= t.start or s >= t.end) if insertion else (e <= t.start or s >= t.end)
        if outside:
            before = (s <= t.start) if insertion else (e <= t.start)
            distance = (t.start - (s if insertion else e - 1)) if before else (s - t.end + 1)
            if distance > self.flank:
                return None
            terms.add("upstream_gene_variant" if before == tm.plus else "downstream_gene_variant")
        else:
            if not insertion and s <= t.start and e >= t.end:
                terms.add("transcript_ablation")
            exon, intron = self._structure(tm, edit, terms)
            coding = self._exonic(tm, edit, terms)
        if coding is not None and coding.clean:
            self._protein(number, tm, edit, coding, terms)
        consequences = ordered(terms)
        hgvs_c = self._hgvs_c(tm, hgvs_edit, context)
        nmd: bool | None = None
        if coding is not None and terms & TRUNCATING:
            nmd = self._escapes_nmd(tm, coding)
        return TranscriptEffect(
            transcript_id=t.ensembl_id if not t.refseq_id else t.refseq_id,
            gene_symbol=t.gene_symbol, gene_id=t.gene_id, consequences=consequences,
            impact=impact_of(consequences), mane_select=t.mane_status == SELECT, hgvs_c=hgvs_c,
            hgvs_p=coding.hgvs_p if coding is not None else (
                f"{_protein_accession(t)}:p.?" if tm.coding and terms & {"splice_donor_variant",
                                                                         "splice_acceptor_variant"} else None),
            exon=exon, intron=intron,
            cds_position=coding.cds_position if coding is not None else None,
            protein_position=coding.protein_position if coding is not None else None,
            protein_length=(tm.cds_tx_end - tm.cds_tx_start) // 3 - 1 if tm.coding else None,
            ref_amino_acids=coding.ref_aa if coding is not None else None,
            alt_amino_acids=coding.alt_aa if coding is not None else None,
            nmd_escape=nmd,
        )

    def _deep_intronic_snv(self, tm: TranscriptMap, edit: Edit) -> TranscriptEffect | None:
        """The common case, an SNV more than 8 nt inside an intron, without the general rules."""
        where = tm.locate(edit.start)
        if where.kind != "intron" or -9 < where.offset < 9:
            return None
        t = tm.transcript
        ref, alt = (edit.ref, edit.alt) if tm.plus else (reverse_complement(edit.ref), reverse_complement(edit.alt))
        position = tm.tx_position(where.tx, where.offset)
        terms = ("intron_variant",) if tm.coding else ("intron_variant", "non_coding_transcript_variant")
        return TranscriptEffect(
            transcript_id=t.refseq_id or t.ensembl_id, gene_symbol=t.gene_symbol, gene_id=t.gene_id,
            consequences=terms, impact=IMPACT["intron_variant"], mane_select=t.mane_status == SELECT,
            hgvs_c=f"{t.refseq_id or t.ensembl_id}:{tm.prefix}{position}{ref}>{alt}",
            intron=(where.index + 1, tm.n_exons - 1),
            protein_length=(tm.cds_tx_end - tm.cds_tx_start) // 3 - 1 if tm.coding else None)

    def _structure(self, tm: TranscriptMap, edit: Edit, terms: set[str]) -> tuple[tuple[int, int] | None,
                                                                                  tuple[int, int] | None]:
        """Splice and intron terms, and the (first, in transcript order) exon and intron touched."""
        s, e = edit.start, edit.end
        insertion = s == e
        starts, ends, n = tm.starts, tm.ends, tm.n_exons
        lo, hi = (s - 1, s + 1) if insertion else (s, e)
        a = bisect.bisect_right(ends, lo)  # first exon ending after lo
        b = bisect.bisect_left(starts, hi)  # first exon starting at or after hi
        exons_hit = [i for i in range(a, min(b, n))
                     if (starts[i] < s < ends[i] if insertion else starts[i] < e and ends[i] > s)]
        introns_hit: list[int] = []

        def touch(x: int, y: int) -> bool:
            return x <= s <= y if insertion else (s < y and e > x)

        def inside(x: int, y: int) -> bool:
            return x + 1 <= s <= y - 1 if insertion else (s < y and e > x)

        for k in range(max(0, a - 1), min(b, n - 1)):
            x, y = ends[k], starts[k + 1]  # the intron, ascending index k
            if not touch(x - 3, y + 3):
                continue
            left_site, right_site = inside(x, x + 2), inside(y - 2, y)
            if left_site or right_site:
                donor, acceptor = (left_site, right_site) if tm.plus else (right_site, left_site)
                if donor:
                    terms.add("splice_donor_variant")
                if acceptor:
                    terms.add("splice_acceptor_variant")
            if touch(x + 2, x + 8) or touch(y - 8, y - 2) or touch(x - 3, x) or touch(y, y + 3):
                terms.add("splice_region_variant")
            if inside(x, y):
                introns_hit.append(k)
                if inside(x + 2, y - 2):
                    terms.add("intron_variant")
        if introns_hit and not tm.coding:
            terms.add("non_coding_transcript_variant")
        exon = intron = None
        if exons_hit:
            numbers = [tm.exon_number(i) for i in exons_hit]
            exon = (min(numbers) + 1, n)
        if introns_hit:
            numbers = [k if tm.plus else n - 2 - k for k in introns_hit]
            intron = (min(numbers) + 1, n - 1)
        return exon, intron

    def _exonic(self, tm: TranscriptMap, edit: Edit, terms: set[str]) -> _Coding | None:
        """UTR/non-coding exon terms; for a change touching the CDS, the coding facts coordinates give."""
        t = tm.transcript
        s, e = edit.start, edit.end
        insertion = s == e
        if insertion:
            left, right = tm.tx_of(s - 1), tm.tx_of(s)
            if left is None or right is None or abs(left - right) != 1:
                return None  # not between two adjacent exonic bases of this transcript
            tx_first = min(left, right) + 1  # the insertion goes before this transcript position
            exonic_tx: list[int] = []
        else:
            exonic_tx = [tx for g in range(s, e) if (tx := tm.tx_of(g)) is not None] if e - s <= 10_000 else \
                self._exonic_tx_bulk(tm, s, e)
            if not exonic_tx:
                return None
            tx_first = min(exonic_tx)
        if not tm.coding:
            terms.add("non_coding_transcript_exon_variant")
            return None
        cs, ce = tm.cds_tx_start, tm.cds_tx_end
        if insertion:
            if tx_first <= cs:
                terms.add("5_prime_UTR_variant")
                return None
            if tx_first >= ce:
                terms.add("3_prime_UTR_variant")
                return None
            in_cds = [tx_first]
            clean = True
        else:
            in_cds = [tx for tx in exonic_tx if cs <= tx < ce]
            if any(tx < cs for tx in exonic_tx):
                terms.add("5_prime_UTR_variant")
            if any(tx >= ce for tx in exonic_tx):
                terms.add("3_prime_UTR_variant")
            if not in_cds:
                return None
            clean = len(in_cds) == e - s and max(in_cds) - min(in_cds) == e - s - 1
        first_cds = min(in_cds) - cs  # 0-based CDS offset, transcript order
        last_cds = max(in_cds) - cs
        cds_length = ce - cs
        coding = _Coding(tx_first=tx_first, first=first_cds, last=last_cds, clean=clean,
                         cds_position=first_cds + 1, protein_position=first_cds // 3 + 1)
        start_codon = first_cds < 3 and t.cds_start_status == "cmpl" and not (insertion and first_cds == 0)
        stop_codon = last_cds >= cds_length - 3 and t.cds_end_status == "cmpl"
        if not clean:
            terms.add("coding_sequence_variant")
            if start_codon:
                terms.add("start_lost")
            if stop_codon and edit.is_deletion:
                terms.add("stop_lost")
            return coding
        if edit.net % 3:
            terms.add("frameshift_variant")
        elif edit.net > 0:
            terms.add("inframe_insertion")
        elif edit.net < 0:
            terms.add("inframe_deletion")
        elif not start_codon:  # a changed ATG is start_lost whatever the bases; elsewhere unknown
            terms.add("coding_sequence_variant")
        if start_codon:
            terms.add("start_lost")
        coding.start_codon, coding.stop_codon = start_codon, stop_codon
        return coding

    @staticmethod
    def _exonic_tx_bulk(tm: TranscriptMap, s: int, e: int) -> list[int]:
        out: list[int] = []
        for start, end in tm.transcript.exons:
            lo, hi = max(s, start), min(e, end)
            for g in (lo, hi - 1) if lo < hi else ():
                tx = tm.tx_of(g)
                if tx is not None:
                    out.append(tx)
        return out

    def forget_sequences(self) -> None:
        """Drop the cached transcript sequences: call it when the reference's bases change under the annotator."""
        self._mrna.clear()
        self._proteins.clear()

    def _spliced(self, number: int, tm: TranscriptMap) -> str | None:
        """The transcript's spliced sequence (5' to 3') from the reference, cached; None if not covered."""
        if number in self._mrna:
            self._mrna.move_to_end(number)
            return self._mrna[number]
        reference = self._bases
        sequence: str | None = None
        if reference is not None:
            t = tm.transcript
            try:
                parts = [reference.fetch(t.chrom, s, e) for s, e in t.exons]
                joined = "".join(parts)
                sequence = joined if tm.plus else reverse_complement(joined)
            except ReferenceSequenceError:
                sequence = None
        self._mrna[number] = sequence
        if len(self._mrna) > _MRNA_CACHE:
            dropped, _ = self._mrna.popitem(last=False)
            self._proteins.pop(dropped, None)
        return sequence

    def _reference_protein(self, number: int, tm: TranscriptMap, mrna: str) -> str:
        """The translation of the reference CDS, cached with the transcript's mRNA (every coding variant needs it)."""
        protein = self._proteins.get(number)
        if protein is None:
            protein = self._proteins[number] = translate(mrna[tm.cds_tx_start:tm.cds_tx_end])
        return protein

    def _protein(self, number: int, tm: TranscriptMap, edit: Edit, coding: _Coding, terms: set[str]) -> None:
        """Replace the coordinate terms with those the codons give, and write HGVS p."""
        t = tm.transcript
        if self._bases is None or not t.cds_complete or (tm.cds_tx_end - tm.cds_tx_start) % 3:
            return
        mrna = self._spliced(number, tm)
        if mrna is None:
            return
        ref_tx = edit.ref if tm.plus else reverse_complement(edit.ref)
        alt_tx = edit.alt if tm.plus else reverse_complement(edit.alt)
        at = coding.tx_first
        if mrna[at:at + len(ref_tx)] != ref_tx:
            return  # the reference disagrees with the gene model here (checked against the variant earlier)
        cs = tm.cds_tx_start
        ref_protein = self._reference_protein(number, tm, mrna)
        if ref_protein.find("*") != len(ref_protein) - 1:
            # A stop inside the reference CDS (a selenocysteine UGA, or a reference that contradicts the
            # model): the protein cannot be compared codon by codon, so keep the coordinate terms, no p.
            return
        first_codon, end_codon = (at - cs) // 3, (at + len(ref_tx) - 1 - cs) // 3 + 1
        # The codons before the change translate as the reference's: only the rest is translated.
        head = mrna[cs + 3 * first_codon:at] + alt_tx
        if (len(alt_tx) - len(ref_tx)) % 3 == 0 and end_codon < len(ref_protein):
            # An in-frame change before the stop codon changes only its own codons, and the reference
            # stop still ends the protein: translate those codons alone (the same as translating it all).
            codons = head + mrna[at + len(ref_tx):cs + 3 * end_codon]
            alt_protein = ref_protein[:first_codon] + translate(codons) + ref_protein[end_codon:]
            alt_protein = alt_protein[:alt_protein.index("*") + 1]
        else:
            # A frameshift usually meets a stop within a few dozen codons: read those first.
            after = at + len(ref_tx)
            tail = translate(head + mrna[after:after + _FIRST_READ], to_stop=True)
            if not tail.endswith("*"):
                tail = translate(head + mrna[after:], to_stop=True)
            alt_protein = ref_protein[:first_codon] + tail
        change = protein_change(ref_protein, alt_protein, frameshift=edit.net % 3 != 0,
                                codon=coding.first // 3 + 1, touches_stop=coding.stop_codon,
                                same_before=first_codon)
        for term in ("frameshift_variant", "inframe_insertion", "inframe_deletion", "coding_sequence_variant",
                     "start_lost"):
            terms.discard(term)
        terms.update(change.terms)
        if edit.net and edit.net % 3 == 0 and change.terms[0] in ("stop_gained", "stop_lost"):
            terms.add("inframe_insertion" if edit.net > 0 else "inframe_deletion")
        coding.hgvs_p = f"{_protein_accession(t)}:{change.hgvs}"
        coding.protein_position = change.position
        coding.ref_aa, coding.alt_aa = change.ref, change.alt
        if change.stop_index is not None:
            # The new stop, in reference transcript coordinates (positions after the change move by -net).
            coding.stop_tx = cs + 3 * change.stop_index - (edit.net if cs + 3 * change.stop_index > at else 0)
        elif "frameshift_variant" in change.terms:
            coding.stop_tx = -1  # no stop codon before the transcript ends: nonstop, not NMD

    def _escapes_nmd(self, tm: TranscriptMap, coding: _Coding) -> bool:
        """A premature stop in the last exon, or within 50 nt of the last exon-exon junction, escapes NMD."""
        if tm.n_exons == 1 or coding.stop_tx == -1:
            return True
        stop = coding.stop_tx if coding.stop_tx is not None else coding.tx_first
        last_junction = tm.exon_tx_bounds[-1][0]
        return stop >= last_junction - NMD_WINDOW

    def _hgvs_c(self, tm: TranscriptMap, edit: Edit, context: ReferenceGenome) -> str:
        t = tm.transcript
        accession = t.refseq_id or t.ensembl_id
        s, e = edit.start, edit.end
        oriented = (lambda seq: seq) if tm.plus else reverse_complement
        if edit.ref and edit.alt:
            first, last = (tm.position(s), tm.position(e - 1)) if tm.plus else (tm.position(e - 1), tm.position(s))
            kind = "sub" if len(edit.ref) == 1 and len(edit.alt) == 1 else "delins"
            text = c_description(kind, first, last, oriented(edit.ref), oriented(edit.alt))
        elif edit.ref:
            first, last = (tm.position(s), tm.position(e - 1)) if tm.plus else (tm.position(e - 1), tm.position(s))
            text = c_description("del", first, last)
        else:
            dup = duplicated(edit, context, plus=tm.plus)
            if dup is not None:
                x, y = dup
                first, last = (tm.position(x), tm.position(y - 1)) if tm.plus else (tm.position(y - 1), tm.position(x))
                text = c_description("dup", first, last)
            else:
                left, right = tm.position(s - 1), tm.position(s)
                first, last = (left, right) if tm.plus else (right, left)
                text = c_description("ins", first, last, alt=oriented(edit.alt))
        return f"{accession}:{tm.prefix}{text}"


@dataclass
class _Coding:
    """What the annotator learns about a change that touches a CDS (mutable while it is worked out)."""

    tx_first: int
    first: int
    last: int
    clean: bool
    cds_position: int
    protein_position: int
    start_codon: bool = False
    stop_codon: bool = False
    hgvs_p: str | None = None
    ref_aa: str | None = None
    alt_aa: str | None = None
    stop_tx: int | None = None


def _shift_bound(tm: TranscriptMap, edit: Edit) -> int | None:
    """How far 3' an indel may be shifted on this transcript: to the end of its exon or intron.

    None when the change spans a boundary or lies outside the transcript (no limit applies then).
    """
    t = tm.transcript
    lo, hi = (edit.start - 1, edit.start + 1) if edit.start == edit.end else (edit.start, edit.end)
    if lo < t.start or hi > t.end:
        return None
    i = bisect.bisect_right(tm.starts, lo) - 1
    # in exon i, or else in the intron after it
    region = (tm.starts[i], tm.ends[i]) if lo < tm.ends[i] else (tm.ends[i], tm.starts[i + 1])
    if not (region[0] <= lo and hi <= region[1]):
        return None
    return region[1] if tm.plus else region[0]


def _protein_accession(t: Transcript) -> str:
    return t.refseq_protein_id or t.protein_id or t.ensembl_id


def genomic_to_c(transcript: Transcript, kind: str, start: int, end: int, ref: str = "", alt: str = "") -> str:
    """HGVS c. of a genomic change given as HGVS g. states it (0-based ``[start, end)``, bases on the + strand).

    ``kind`` is sub, del, dup, ins (``start == end``: between ``start - 1`` and ``start``) or delins.
    No shifting is done: this is the plain coordinate mapping, what a g. to c. projection is when
    the g. description is already normalised.

    >>> t = Transcript("chr1", 100, 200, "-", ((100, 200),), 110, 190, "G", "ENSG1", "ENST1", "NM_1.1", "ENSP1", SELECT)
    >>> genomic_to_c(t, "sub", 180, 181, "A", "G"), genomic_to_c(t, "del", 185, 187)
    ('NM_1.1:c.10T>C', 'NM_1.1:c.4_5del')
    """
    tm = TranscriptMap(transcript)
    if kind not in ("sub", "del", "dup", "ins", "delins"):
        raise InputError(f"unknown kind of change {kind!r}: expected sub, del, dup, ins or delins")
    oriented = (lambda seq: seq) if tm.plus else reverse_complement
    if kind == "ins":
        left, right = tm.position(start - 1), tm.position(start)
        first, last = (left, right) if tm.plus else (right, left)
    else:
        first, last = (tm.position(start), tm.position(end - 1)) if tm.plus else \
            (tm.position(end - 1), tm.position(start))
    return f"{transcript.refseq_id or transcript.ensembl_id}:{tm.prefix}" + c_description(
        kind, first, last, oriented(ref), oriented(alt))

