"""Genomic positions mapped onto a transcript: exon and intron numbers and HGVS c./n. positions.

HGVS numbers a coding transcript from the A of the ATG (``c.1``), counts the 5' UTR backwards
(``c.-15``), the 3' UTR after the stop codon with a star (``c.*20``), and names an intronic base by
the nearest exon base and its distance (``c.36+10``, ``c.37-2``; the middle base of an odd-length
intron takes the ``+``). Positions beyond the transcript ends continue the same counts. A
:class:`TranscriptMap` is built once per transcript and answers these for any genomic base, with
``bisect`` on the exon bounds, so that the annotator's hot path stays a few microseconds.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from genomed.annotate.mane import Transcript


@dataclass(frozen=True, slots=True)
class TxPosition:
    """One HGVS position: ``base`` on the c. (or n.) scale, ``offset`` into an intron, ``utr3`` for ``*``.

    ``base`` is negative in the 5' UTR (``-15``), 1-based in the CDS, and counts from the stop
    codon when ``utr3`` is set.

    >>> str(TxPosition(36, 10)), str(TxPosition(-15, -2)), str(TxPosition(20, 0, True)), str(TxPosition(7))
    ('36+10', '-15-2', '*20', '7')
    """

    base: int
    offset: int = 0
    utr3: bool = False

    def __str__(self) -> str:
        text = f"*{self.base}" if self.utr3 else str(self.base)
        return f"{text}{self.offset:+d}" if self.offset else text


@dataclass(frozen=True, slots=True)
class Location:
    """Where one genomic base falls on a transcript.

    ``kind`` is ``exon``, ``intron``, ``upstream`` or ``downstream``; ``tx`` is the 0-based spliced
    transcript position of an exonic base (or of the exon base an intronic one is numbered from);
    ``index`` is the 0-based exon or intron number in transcript order; ``offset`` the signed distance
    into the intron (``+`` from the donor side, ``-`` from the acceptor side) or beyond the ends.
    """

    kind: str
    tx: int
    index: int = -1
    offset: int = 0


class TranscriptMap:
    """Coordinate arithmetic for one transcript (genomic <-> spliced transcript <-> HGVS)."""

    __slots__ = (
        "cds_tx_end",
        "cds_tx_start",
        "coding",
        "ends",
        "exon_tx_bounds",
        "length",
        "n_exons",
        "plus",
        "starts",
        "transcript",
        "tx_starts",
    )

    def __init__(self, transcript: Transcript) -> None:
        self.transcript = transcript
        self.plus = transcript.strand == "+"
        self.starts = [s for s, _ in transcript.exons]
        self.ends = [e for _, e in transcript.exons]
        self.n_exons = len(transcript.exons)
        sizes = [e - s for s, e in transcript.exons]
        order = range(self.n_exons) if self.plus else range(self.n_exons - 1, -1, -1)
        self.tx_starts = [0] * self.n_exons  # by ascending genomic exon index
        running = 0
        bounds: list[tuple[int, int]] = []  # (tx start, tx end) in transcript order
        for i in order:
            self.tx_starts[i] = running
            bounds.append((running, running + sizes[i]))
            running += sizes[i]
        self.exon_tx_bounds = bounds
        self.length = running
        self.coding = transcript.coding
        if self.coding:
            first, last = (transcript.cds_start, transcript.cds_end - 1)
            a, b = self.tx_of(first), self.tx_of(last)
            if a is None or b is None:
                self.coding = False
                self.cds_tx_start = self.cds_tx_end = 0
            else:
                lo, hi = min(a, b), max(a, b)
                self.cds_tx_start, self.cds_tx_end = lo, hi + 1
        else:
            self.cds_tx_start = self.cds_tx_end = 0

    def exon_number(self, ascending_index: int) -> int:
        """0-based transcript-order number of the exon with this ascending genomic index."""
        return ascending_index if self.plus else self.n_exons - 1 - ascending_index

    def tx_of(self, g: int) -> int | None:
        """0-based spliced transcript position of genomic base ``g``, or None if it is not exonic."""
        i = bisect.bisect_right(self.starts, g) - 1
        if i < 0 or g >= self.ends[i]:
            return None
        return self.tx_starts[i] + (g - self.starts[i] if self.plus else self.ends[i] - 1 - g)

    def genomic_of(self, tx: int) -> int:
        """Genomic base of a 0-based spliced transcript position (inside the transcript)."""
        for number, (lo, hi) in enumerate(self.exon_tx_bounds):
            if lo <= tx < hi:
                i = number if self.plus else self.n_exons - 1 - number
                return self.starts[i] + (tx - lo) if self.plus else self.ends[i] - 1 - (tx - lo)
        raise IndexError(f"transcript position {tx} outside {self.transcript.ensembl_id} (length {self.length})")

    def locate(self, g: int) -> Location:
        """Where genomic base ``g`` falls: exon, intron (numbered from the nearer exon), or beyond an end."""
        t = self.transcript
        if g < t.start or g >= t.end:
            before = g < t.start
            distance = (t.start - g) if before else (g - t.end + 1)
            upstream = before == self.plus
            if upstream:
                return Location("upstream", -distance, -1, 0)
            return Location("downstream", self.length - 1 + distance, -1, 0)
        i = bisect.bisect_right(self.starts, g) - 1
        if g < self.ends[i]:
            tx = self.tx_starts[i] + (g - self.starts[i] if self.plus else self.ends[i] - 1 - g)
            return Location("exon", tx, self.exon_number(i))
        # Intron between ascending exons i and i+1.
        left_last, right_first = self.ends[i] - 1, self.starts[i + 1]
        from_left, from_right = g - left_last, right_first - g
        if self.plus:
            d5, d3 = from_left, from_right
            up_tx = self.tx_starts[i] + (self.ends[i] - 1 - self.starts[i])
            down_tx = self.tx_starts[i + 1]
            intron = i
        else:
            d5, d3 = from_right, from_left
            up_tx = self.tx_starts[i + 1] + (self.ends[i + 1] - 1 - self.starts[i + 1])
            down_tx = self.tx_starts[i]
            intron = self.n_exons - 2 - i
        if d5 <= d3:
            return Location("intron", up_tx, intron, d5)
        return Location("intron", down_tx, intron, -d3)

    def position(self, g: int) -> TxPosition:
        """The HGVS c. position (n. for a non-coding transcript) of genomic base ``g``."""
        where = self.locate(g)
        return self.tx_position(where.tx, where.offset if where.kind == "intron" else 0)

    def tx_position(self, tx: int, offset: int = 0) -> TxPosition:
        """The HGVS position of a 0-based spliced transcript position (may lie beyond either end)."""
        if not self.coding:
            if tx >= self.length:
                return TxPosition(tx - self.length + 1, offset, True)
            return TxPosition(tx + 1 if tx >= 0 else tx, offset)
        if tx < self.cds_tx_start:
            return TxPosition(tx - self.cds_tx_start, offset)
        if tx < self.cds_tx_end:
            return TxPosition(tx - self.cds_tx_start + 1, offset)
        return TxPosition(tx - self.cds_tx_end + 1, offset, True)

    @property
    def prefix(self) -> str:
        """``c.`` for a coding transcript, ``n.`` for a non-coding one."""
        return "c." if self.coding else "n."
