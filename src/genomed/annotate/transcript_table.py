"""Every transcript's exons as concatenated numpy arrays, so that many (variant, transcript) pairs are placed at once.

:class:`genomed.annotate.transcript_map.TranscriptMap` answers for one transcript and one base with
``bisect``, a few microseconds a call; an exome or a genome asks that millions of times. Here the
exons of all transcripts sit end to end in one sorted array keyed by ``(transcript number << 32) |
genomic start``, so one ``searchsorted`` finds the exon (or the intron after it) of every pair, and
the spliced-transcript and HGVS arithmetic of ``TranscriptMap`` runs on whole arrays. The numbers
are the same as ``TranscriptMap``'s; only the loop moved into numpy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from genomed.annotate.mane import SELECT, Transcript

_SHIFT = 32  # transcript number in the high bits of a key, genomic position (< 2**32) in the low bits

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


class TranscriptTable:
    """Exon and CDS coordinates of a list of transcripts (by their number in that list), as arrays.

    Per transcript: ``start``/``end``, ``plus``, ``n_exons``, ``first_exon`` (its first row in the exon
    arrays), ``length`` (spliced), ``coding``/``cds_tx_start``/``cds_tx_end`` as
    :class:`~genomed.annotate.transcript_map.TranscriptMap` defines them (a CDS whose ends are not
    exonic counts as non-coding), ``start_complete``/``end_complete`` and ``last_junction`` (the
    spliced start of the last exon, for the NMD rule). Per exon, ascending within each transcript:
    ``exon_start``, ``exon_end``, ``exon_tx`` (spliced position of the exon's 5' base, i.e.
    ``TranscriptMap.tx_starts``), ``exon_owner`` and the search key. The Python values an effect
    carries (identifiers, gene, HGVS prefix, protein length) are lists indexed by transcript number.
    """

    def __init__(self, transcripts: Sequence[Transcript]) -> None:
        count = len(transcripts)
        self.count = count
        self.start = np.fromiter((t.start for t in transcripts), dtype=np.int64, count=count)
        self.end = np.fromiter((t.end for t in transcripts), dtype=np.int64, count=count)
        self.plus: Bools = np.fromiter((t.strand == "+" for t in transcripts), dtype=bool, count=count)
        self.n_exons = np.fromiter((len(t.exons) for t in transcripts), dtype=np.int64, count=count)
        flat = np.fromiter((x for t in transcripts for exon in t.exons for x in exon), dtype=np.int64,
                           count=2 * int(self.n_exons.sum()))
        self.exon_start, self.exon_end = flat[0::2].copy(), flat[1::2].copy()
        self.first_exon = np.zeros(count, dtype=np.int64)
        np.cumsum(self.n_exons[:-1], out=self.first_exon[1:])
        owner = np.repeat(np.arange(count, dtype=np.int64), self.n_exons)
        self.exon_owner = owner
        self.exon_key = (owner << _SHIFT) | self.exon_start
        sizes = self.exon_end - self.exon_start
        running = np.concatenate((np.zeros(1, dtype=np.int64), np.cumsum(sizes)))
        before = running[:-1] - running[self.first_exon][owner]  # bases of the transcript's earlier exons
        self.length = np.zeros(count, dtype=np.int64)
        np.add.at(self.length, owner, sizes)
        self.exon_tx = np.where(self.plus[owner], before, self.length[owner] - before - sizes)
        last_ascending = self.first_exon + self.n_exons - 1
        self.last_junction = np.where(self.plus, self.exon_tx[last_ascending], self.exon_tx[self.first_exon])
        # The CDS in spliced coordinates, as TranscriptMap works it out (both ends must be exonic).
        cds_start = np.fromiter((t.cds_start for t in transcripts), dtype=np.int64, count=count)
        cds_end = np.fromiter((t.cds_end for t in transcripts), dtype=np.int64, count=count)
        numbers = np.arange(count, dtype=np.int64)
        has_cds = cds_end > cds_start
        a = self.tx_of(numbers, cds_start)
        b = self.tx_of(numbers, cds_end - 1)
        self.coding: Bools = has_cds & (a >= 0) & (b >= 0)
        self.cds_tx_start = np.where(self.coding, np.minimum(a, b), 0)
        self.cds_tx_end = np.where(self.coding, np.maximum(a, b) + 1, 0)
        self.start_complete: Bools = np.fromiter((t.cds_start_status == "cmpl" for t in transcripts), dtype=bool,
                                                 count=count)
        self.end_complete: Bools = np.fromiter((t.cds_end_status == "cmpl" for t in transcripts), dtype=bool,
                                               count=count)
        # What every effect on a transcript repeats, as Python values.
        self.ids = [t.refseq_id or t.ensembl_id for t in transcripts]
        self.genes = [t.gene_symbol for t in transcripts]
        self.gene_ids = [t.gene_id for t in transcripts]
        self.mane = [t.mane_status == SELECT for t in transcripts]
        self.proteins = [t.refseq_protein_id or t.protein_id or t.ensembl_id for t in transcripts]
        coding = self.coding.tolist()
        self.prefixes = ["c." if c else "n." for c in coding]
        self.heads = [f"{accession}:{prefix}" for accession, prefix in zip(self.ids, self.prefixes, strict=True)]
        lengths = ((self.cds_tx_end - self.cds_tx_start) // 3 - 1).tolist()
        self.protein_lengths: list[int | None] = [n if c else None for n, c in zip(lengths, coding, strict=True)]
        order = np.argsort(np.array(self.ids, dtype=object), kind="stable")
        self.id_rank = np.empty(count, dtype=np.int64)
        self.id_rank[order] = np.arange(count, dtype=np.int64)
        self.not_mane = ~np.array(self.mane, dtype=bool)

    def exon_row(self, number: Ints, g: Ints) -> Ints:
        """The row of the last exon of each transcript starting at or before ``g`` (-1 when ``g`` precedes them all)."""
        row = np.searchsorted(self.exon_key, (number << _SHIFT) | g, side="right") - 1
        result: Ints = np.where((row >= 0) & (self.exon_owner[np.maximum(row, 0)] == number), row, -1)
        return result

    def tx_of(self, number: Ints, g: Ints) -> Ints:
        """0-based spliced position of genomic base ``g`` on each transcript, -1 where it is not exonic."""
        row = self.exon_row(number, g)
        safe = np.maximum(row, 0)
        exonic = (row >= 0) & (g < self.exon_end[safe])
        tx = self.exon_tx[safe] + np.where(self.plus[number], g - self.exon_start[safe], self.exon_end[safe] - 1 - g)
        result: Ints = np.where(exonic, tx, -1)
        return result

    def locate(self, number: Ints, g: Ints, row: Ints | None = None) -> tuple[Ints, Ints]:
        """HGVS placement of genomic base ``g`` on each transcript: (spliced position, intron offset).

        As :meth:`TranscriptMap.locate`: an exonic base has offset 0; an intronic one is counted
        from the nearer exon base (the 5' one on a tie), ``+`` into the intron from the donor side,
        ``-`` from the acceptor side; beyond the transcript the spliced position runs on (negative
        upstream, past the length downstream) with offset 0.
        """
        plus = self.plus[number]
        start, end = self.start[number], self.end[number]
        before = g < start
        outside = before | (g >= end)
        distance = np.where(before, start - g, g - end + 1)
        beyond = np.where(before == plus, -distance, self.length[number] - 1 + distance)
        if row is None:  # the caller may have it: max(exon_row(number, g), 0)
            row = np.maximum(self.exon_row(number, g), 0)
        nxt = np.minimum(row + 1, len(self.exon_start) - 1)
        exonic = g < self.exon_end[row]
        tx = self.exon_tx[row] + np.where(plus, g - self.exon_start[row], self.exon_end[row] - 1 - g)
        from_left = g - (self.exon_end[row] - 1)
        from_right = self.exon_start[nxt] - g
        d5, d3 = np.where(plus, from_left, from_right), np.where(plus, from_right, from_left)
        left_tx = self.exon_tx[row] + np.where(plus, self.exon_end[row] - 1 - self.exon_start[row], 0)
        right_tx = self.exon_tx[nxt] + np.where(plus, 0, self.exon_end[nxt] - 1 - self.exon_start[nxt])
        five = d5 <= d3
        intron_tx = np.where(five, np.where(plus, left_tx, right_tx), np.where(plus, right_tx, left_tx))
        position: Ints = np.where(outside, beyond, np.where(exonic, tx, intron_tx))
        offset: Ints = np.where(outside | exonic, 0, np.where(five, d5, -d3))
        return position, offset

    def c_position(self, number: Ints, tx: Ints) -> tuple[Ints, Bools]:
        """The HGVS c. (n. on a non-coding transcript) number of spliced positions, and whether it is a ``*`` one.

        As :meth:`TranscriptMap.tx_position`: negative in the 5' UTR, 1-based in the CDS, counted
        from the stop codon (``*``) in the 3' UTR; on a non-coding transcript 1-based, ``*`` past its end.
        """
        coding = self.coding[number]
        cs, ce, length = self.cds_tx_start[number], self.cds_tx_end[number], self.length[number]
        base: Ints = np.where(coding, np.where(tx < cs, tx - cs, np.where(tx < ce, tx - cs + 1, tx - ce + 1)),
                              np.where(tx >= length, tx - length + 1, np.where(tx >= 0, tx + 1, tx)))
        star: Bools = np.where(coding, tx >= ce, tx >= length)
        return base, star


def splice_windows(x: Ints, y: Ints, s: Ints, e: Ints, insertion: Bools) -> tuple[Bools, Bools, Bools, Bools, Bools]:
    """Where a change ``[s, e)`` (an insertion when ``s == e``: between ``s - 1`` and ``s``) falls by intron ``[x, y)``.

    Returns the left splice site (two intronic bases after ``x``), the right one (two before
    ``y``), the splice region (the next six intronic bases, three exonic bases either side), whether
    the change is in the intron, and whether it is in its inner part (``intron_variant``): the
    windows of ``Annotator._structure``. An insertion touches a window when it lies between two of
    its bases or at its edges, is inside one only strictly between its bases; nothing counts more
    than three bases from the intron (a short intron's six-base windows reach past its other end).
    """

    some, every = bool(insertion.any()), bool(insertion.all())

    def touch(a: Ints, b: Ints) -> Bools:
        if not some:
            changes: Bools = (s < b) & (e > a)
            return changes
        result: Bools = np.where(insertion, (a <= s) & (s <= b), True if every else (s < b) & (e > a))
        return result

    def inside(a: Ints, b: Ints) -> Bools:
        if not some:
            changes: Bools = (s < b) & (e > a)
            return changes
        result: Bools = np.where(insertion, (a + 1 <= s) & (s <= b - 1), True if every else (s < b) & (e > a))
        return result

    near = touch(x - 3, y + 3)
    left = inside(x, x + 2) & near
    right = inside(y - 2, y) & near
    region = (touch(x + 2, x + 8) | touch(y - 8, y - 2) | touch(x - 3, x) | touch(y, y + 3)) & near
    return left, right, region, inside(x, y) & near, inside(x + 2, y - 2) & near
