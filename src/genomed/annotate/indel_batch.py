"""Consequences of many short insertions and deletions at once: the annotator's rules on arrays of pairs.

The companion of :mod:`genomed.annotate.snv_batch` for pure insertions and deletions (after
trimming). Each (indel, transcript) pair whose change lies wholly beyond the transcript, inside one
exon, or inside one intron is placed, given its splice, UTR and coding terms, and 3'-shifted for
HGVS c. on arrays; the shift of each indel is worked out once per indel (how far its bases repeat
either way, :class:`Indels`) and then bounded per pair by the exon or intron it lies in, which is
what ``shift(..., bound=...)`` does pair by pair. The protein of a change inside a CDS is still read
codon by codon by the annotator (``protein``), pair by pair.

A pair the arrays do not decide (a change across an exon-intron boundary or a transcript end, a
deletion from a UTR into the CDS, a transcript removed whole) sends its indel back to the
per-variant rules (``slow``). The answers are those of :meth:`Annotator.annotate`, field for field.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter

import numpy as np
import numpy.typing as npt

from genomed.annotate.consequence import BIT, NMD_WINDOW, from_bits
from genomed.annotate.genetic_code import reverse_complement
from genomed.annotate.model import TranscriptEffect, build_effect
from genomed.annotate.snv_batch import effect_order, grouped, number_pairs, position_texts, protein_columns
from genomed.annotate.transcript_table import TranscriptTable, splice_windows

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

# What the annotator's protein comparison returns for one pair: the terms (as BIT mask), HGVS p.,
# protein position, reference and changed amino acids, and the spliced position of the new stop
# (None: none found or not compared; -1: no stop before the transcript ends).
ProteinFacts = tuple[int, str | None, int, str | None, str | None, int | None]
# protein(indel row, transcript number, tx_first, first CDS offset, last CDS offset, start codon, stop codon, mask)
ProteinOf = Callable[[int, int, int, int, int, bool, bool, int], ProteinFacts]
_TRUNCATING = BIT["stop_gained"] | BIT["frameshift_variant"]


@dataclass(frozen=True)
class Indels:
    """Trimmed pure insertions and deletions, with the bases around each that HGVS placement reads.

    ``start``/``end`` are 0-based, half-open (``start == end`` for an insertion, placed between
    ``start - 1`` and ``start``); ``moved`` the deleted or inserted bases (+ strand). ``right`` and
    ``left`` are how far each would shift 3' on a plus- or minus-strand transcript with no bound
    (what :func:`genomed.annotate.alleles.shift` does without ``bound``). ``window_start``/``window``
    hold bases the reference (or the VCF record) knows around it, enough for the duplication test
    wherever the shift ends; a base outside is one the context does not know.
    """

    start: Ints
    end: Ints
    moved: list[str]
    right: Ints
    left: Ints
    window_start: list[int]
    window: list[str]


def _rotate(bases: str, steps: int) -> str:
    """The bases after shifting ``steps`` to the right (negative: left) through their repeat.

    >>> _rotate("CAG", 1), _rotate("CAG", -1), _rotate("CAG", 3)
    ('AGC', 'GCA', 'CAG')
    """
    k = steps % len(bases)
    return bases[k:] + bases[:k]


def indel_effects(table: TranscriptTable, pair_row: Ints, pair_number: Ints, indels: Indels, flank: int,
                  protein: ProteinOf) -> tuple[list[tuple[TranscriptEffect, ...]], Bools]:
    """The effects of indels on their candidate transcripts; which indels need the per-variant rules instead.

    ``pair_row``/``pair_number`` list every (indel row, transcript number) pair, grouped by row in
    ascending order, transcript numbers ascending within a row. Effects come most severe first, as
    ``annotate`` orders them; an indel flagged slow gets none here.
    """
    n_rows = len(indels.start)
    t, r = pair_number, pair_row
    s, e = indels.start[r], indels.end[r]
    insertion = s == e
    lengths = np.fromiter((len(m) for m in indels.moved), dtype=np.int64, count=n_rows)
    net = np.where(insertion, 1, -1) * lengths[r]
    start, end, plus = table.start[t], table.end[t], table.plus[t]
    n_exons, coding = table.n_exons[t], table.coding[t]
    cs, ce = table.cds_tx_start[t], table.cds_tx_end[t]
    mask = np.zeros(len(t), dtype=np.int64)
    slow = ~insertion & (s <= start) & (e >= end)  # transcript_ablation

    # Beyond the transcript, up- or downstream within the flank.
    before = np.where(insertion, s <= start, e <= start)
    outside = before | (s >= end)
    distance = np.where(before, start - np.where(insertion, s, e - 1), s - end + 1)
    keep = ~outside | (distance <= flank)
    upstream = before == plus
    mask[outside & upstream] |= BIT["upstream_gene_variant"]
    mask[outside & ~upstream] |= BIT["downstream_gene_variant"]

    # Inside one exon or one intron (an insertion strictly between two of its bases), or else slow.
    found = table.exon_row(t, np.where(insertion, s - 1, s))
    row = np.where(found >= 0, found, table.first_exon[t])
    local = row - table.first_exon[t]
    nxt = np.minimum(row + 1, len(table.exon_start) - 1)
    prv = np.maximum(row - 1, 0)
    x_start, x_end, y_start = table.exon_start[row], table.exon_end[row], table.exon_start[nxt]
    has_next = local <= n_exons - 2
    exonic = ~outside & (found >= 0) & np.where(insertion, (x_start < s) & (s < x_end), e <= x_end) & (s < x_end)
    intronic = (~outside & (found >= 0) & has_next & (s >= x_end)
                & np.where(insertion, (x_end < s) & (s < y_start), e <= y_start))
    slow |= ~outside & ~exonic & ~intronic

    after = (exonic | intronic) & has_next
    left, right, near, _, deep = splice_windows(x_end, y_start, s, e, insertion)
    donor = after & np.where(plus, left, right)
    acceptor = after & np.where(plus, right, left)
    region = after & near
    mask[intronic & deep] |= BIT["intron_variant"]
    previous = exonic & (local >= 1)
    left, right, near, _, _ = splice_windows(table.exon_end[prv], x_start, s, e, insertion)
    donor |= previous & np.where(plus, left, right)
    acceptor |= previous & np.where(plus, right, left)
    region |= previous & near
    mask[donor] |= BIT["splice_donor_variant"]
    mask[acceptor] |= BIT["splice_acceptor_variant"]
    mask[region] |= BIT["splice_region_variant"]
    mask[intronic & ~coding] |= BIT["non_coding_transcript_variant"]
    exon_number = np.where(plus, local, n_exons - 1 - local) + 1
    intron_number = np.where(plus, local, n_exons - 2 - local) + 1

    # Exonic: spliced positions of the change, then non-coding exon, UTRs or CDS.
    def tx(g: Ints) -> Ints:
        result: Ints = table.exon_tx[row] + np.where(plus, g - x_start, x_end - 1 - g)
        return result

    ends = np.where(insertion, s - 1, e - 1)
    tx_s, tx_e = tx(s), tx(ends)
    tx_lo, tx_hi = np.minimum(tx_s, tx_e), np.maximum(tx_s, tx_e)
    tx_first = np.where(insertion, tx_lo + 1, tx_lo)
    tx_last = np.where(insertion, tx_first, tx_hi)
    mask[exonic & ~coding] |= BIT["non_coding_transcript_exon_variant"]
    exonic_coding = exonic & coding
    utr5 = exonic_coding & np.where(insertion, tx_first <= cs, tx_last < cs)
    utr3 = exonic_coding & (tx_first >= ce)
    in_cds = exonic_coding & ~utr5 & ~utr3
    slow |= in_cds & ((tx_first < cs) | (tx_last >= ce))  # a deletion from a UTR into the CDS
    in_cds &= ~slow
    mask[utr5] |= BIT["5_prime_UTR_variant"]
    mask[utr3] |= BIT["3_prime_UTR_variant"]
    first, last = tx_first - cs, tx_last - cs
    start_codon = in_cds & (first < 3) & table.start_complete[t] & ~(insertion & (first == 0))
    stop_codon = in_cds & (last >= ce - cs - 3) & table.end_complete[t]
    frame = net % 3 != 0
    mask[in_cds & frame] |= BIT["frameshift_variant"]
    mask[in_cds & ~frame & (net > 0)] |= BIT["inframe_insertion"]
    mask[in_cds & ~frame & (net < 0)] |= BIT["inframe_deletion"]
    mask[start_codon] |= BIT["start_lost"]

    # The 3' shift for HGVS: as far as the repeat goes, within the exon or intron the change is in.
    bounded = exonic | intronic
    limit_right = np.where(exonic, x_end, y_start) - e
    limit_left = s - x_end * intronic - x_start * exonic
    steps = np.where(plus, np.where(bounded, np.minimum(indels.right[r], limit_right), indels.right[r]),
                     np.where(bounded, np.minimum(indels.left[r], limit_left), indels.left[r]))
    shift = np.where(plus, steps, -steps)
    s2, e2 = s + shift, e + shift

    slow_row = np.zeros(n_rows, dtype=bool)
    slow_row[r[slow]] = True
    wanted = keep & ~slow_row[r]

    # Insertions that repeat the bases 5' of them on the transcript are duplications.
    dup = np.zeros(len(t), dtype=bool)
    moved_text: list[str | None] = [None] * len(t)
    for p in np.flatnonzero(wanted & insertion).tolist():
        row_p = int(r[p])
        bases = _rotate(indels.moved[row_p], int(shift[p]))
        moved_text[p] = bases
        n = len(bases)
        at = int(s2[p])
        lo, hi = (at - n, at) if plus[p] else (at, at + n)
        origin = indels.window_start[row_p]
        if lo >= 0 and origin <= lo and hi <= origin + len(indels.window[row_p]):
            dup[p] = indels.window[row_p][lo - origin:hi - origin] == bases
    n_moved = lengths[r]
    one = np.where(insertion, np.where(dup, np.where(plus, s2 - n_moved, s2), s2 - 1), s2)
    other = np.where(insertion, np.where(dup, np.where(plus, s2 - 1, s2 + n_moved - 1), s2), e2 - 1)
    g_first, g_last = np.where(plus, one, other), np.where(plus, other, one)
    first_tx, first_offset = table.locate(t, g_first)
    last_tx, last_offset = table.locate(t, g_last)
    first_base, first_star = table.c_position(t, first_tx)
    last_base, last_star = table.c_position(t, last_tx)
    escapes_at = table.last_junction[t] - NMD_WINDOW
    single_exon = n_exons == 1
    place = np.where(exonic, 1, np.where(intronic, 2, 0))
    splice_p = coding & (donor | acceptor)

    # The protein of changes in a CDS, read by the annotator: it may change the terms, hence the order.
    facts: dict[int, ProteinFacts] = {}
    chosen = np.flatnonzero(wanted & in_cds)
    for p, row_p, number, at, cds_first, cds_last, start_p, stop_p, bits in zip(
            chosen.tolist(), *(column[chosen].tolist() for column in (r, t, tx_first, first, last, start_codon,
                                                                      stop_codon, mask)), strict=True):
        facts[p] = protein(row_p, number, at, cds_first, cds_last, start_p, stop_p, bits)
        mask[p] = facts[p][0]
    order = effect_order(table, r, t, mask, wanted)
    return _build(table, order, r, t, mask, insertion, dup, moved_text, plus, place, first_base, first_offset,
                  first_star, last_base, last_offset, last_star, exon_number, intron_number, n_exons, in_cds,
                  tx_first, first, escapes_at, single_exon, splice_p, facts, n_rows), slow_row


def _build(table: TranscriptTable, order: Ints, r: Ints, t: Ints, mask: Ints, insertion: Bools, dup: Bools,
           moved_text: Sequence[str | None], plus: Bools, place: Ints, first_base: Ints, first_offset: Ints,
           first_star: Bools, last_base: Ints, last_offset: Ints, last_star: Bools, exon_number: Ints,
           intron_number: Ints, n_exons: Ints, in_cds: Bools, tx_first: Ints, first: Ints, escapes_at: Ints,
           single_exon: Bools, splice_p: Bools, facts: dict[int, ProteinFacts],
           n_rows: int) -> list[tuple[TranscriptEffect, ...]]:
    """The effects, one Python object per kept pair, grouped per indel (columns first, then ``map``)."""
    ids, genes, gene_ids, mane = table.ids, table.genes, table.gene_ids, table.mane
    proteins, heads, lengths = table.proteins, table.heads, table.protein_lengths
    numbers, bits = t[order].tolist(), mask[order].tolist()
    terms = {m: from_bits(m) for m in set(bits)}
    consequences = [terms[m] for m in bits]
    ones = position_texts(first_base[order], first_offset[order], first_star[order])
    twos = position_texts(last_base[order], last_offset[order], last_star[order])
    same = ((first_base == last_base) & (first_offset == last_offset) & (first_star == last_star))[order].tolist()
    hgvs_c: list[str] = []
    for p, number, inserted, duplicate, forward, one, two, alike in zip(
            order.tolist(), numbers, insertion[order].tolist(), dup[order].tolist(), plus[order].tolist(), ones,
            twos, same, strict=True):
        if not inserted or duplicate:
            hgvs_c.append(f"{heads[number]}{one if alike else f'{one}_{two}'}{'dup' if inserted else 'del'}")
        else:
            bases = moved_text[p] or ""
            hgvs_c.append(f"{heads[number]}{one}_{two}ins{bases if forward else reverse_complement(bases)}")
    cds = in_cds[order]
    hgvs_p, cds_position, protein_position, ref_amino, alt_amino, nmd = protein_columns(
        proteins, numbers, splice_p[order] & ~cds)
    chosen = np.flatnonzero(cds)
    for k, p, at, cds_first, escape_from, alone in zip(
            chosen.tolist(), order[chosen].tolist(),
            *(column[order][chosen].tolist() for column in (tx_first, first, escapes_at, single_exon)), strict=True):
        _, hgvs_p[k], protein_position[k], ref_amino[k], alt_amino[k], stop_tx = facts[p]
        cds_position[k] = cds_first + 1
        if bits[k] & _TRUNCATING:
            nmd[k] = alone or stop_tx == -1 or (stop_tx if stop_tx is not None else at) >= escape_from
    flat = list(map(
        build_effect, map(ids.__getitem__, numbers), map(genes.__getitem__, numbers),
        map(gene_ids.__getitem__, numbers), map(itemgetter(0), consequences), map(itemgetter(1), consequences),
        map(mane.__getitem__, numbers), hgvs_c, hgvs_p,
        number_pairs(exon_number[order], n_exons[order], place[order] == 1),
        number_pairs(intron_number[order], n_exons[order] - 1, place[order] == 2),
        cds_position, protein_position, map(lengths.__getitem__, numbers), ref_amino, alt_amino, nmd))
    return grouped(r[order], flat, n_rows)
