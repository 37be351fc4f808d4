"""Consequences of many SNVs on their transcripts at once: the annotator's rules on arrays of pairs.

Most of an exome's or a genome's (variant, transcript) pairs are single-base substitutions in
introns, flanks, UTRs, non-coding exons or ordinary codons. For each, :class:`Annotator` walks its
general rules one pair at a time (tens of microseconds, mostly interpreter overhead). Here the same
rules run on whole arrays of pairs with a :class:`~genomed.annotate.transcript_table.TranscriptTable`:
exon or intron by one ``searchsorted``, splice terms by comparisons with both neighbouring introns,
UTR/CDS by spliced positions, and the amino acid by looking up the reference and changed codon in
the genetic code. Only writing the strings and building the effects stays per pair.

What is *not* decided here is sent back to the per-variant rules (``slow``): a change of the start
or the stop codon of a transcript whose protein can be compared (start_lost, stop_lost,
stop_retained and their HGVS p. need the whole protein), and transcripts of a single base. The
answers are those of :meth:`Annotator.annotate`, field for field; a test compares both on many
random variants.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter

import numpy as np
import numpy.typing as npt

from genomed.annotate.consequence import BIT, NMD_WINDOW, from_bits
from genomed.annotate.genetic_code import COMPLEMENT_CODE, THREE_LETTER, codon_amino_acids, encode
from genomed.annotate.model import TranscriptEffect, build_effect
from genomed.annotate.transcript_table import TranscriptTable, splice_windows

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

_COMPLEMENT = {"A": "T", "C": "G", "G": "C", "T": "A", "N": "N"}
_NONE, _SYNONYMOUS, _MISSENSE, _STOP_GAINED = 0, 1, 2, 3
_PROTEIN_BIT = {_SYNONYMOUS: BIT["synonymous_variant"], _MISSENSE: BIT["missense_variant"],
                _STOP_GAINED: BIT["stop_gained"]}


def snv_effects(table: TranscriptTable, pair_snv: Ints, pair_number: Ints, positions: Ints, refs: Sequence[str],
                alts: Sequence[str], flank: int, cds_of: Callable[[int], str | None],
                ) -> tuple[list[tuple[TranscriptEffect, ...]], Bools]:
    """The effects of SNVs (0-based ``positions``, upper-case one-base ``refs``/``alts``) on their candidates.

    ``pair_snv``/``pair_number`` list every (SNV row, transcript number) pair to consider, grouped
    by SNV row in ascending order, transcript numbers ascending within a row. ``cds_of(number)``
    gives the reference CDS (5' to 3', stop included) of a transcript whose protein the annotator
    compares, else None. Returns the effects of each SNV (most severe first, as ``annotate``
    orders them) and which SNVs must go through the per-variant rules instead (their effects here
    are empty).
    """
    n_snv = len(positions)
    t = pair_number
    g = positions[pair_snv]
    start, end, plus = table.start[t], table.end[t], table.plus[t]
    n_exons = table.n_exons[t]
    coding = table.coding[t]
    cs, ce = table.cds_tx_start[t], table.cds_tx_end[t]
    mask = np.zeros(len(t), dtype=np.int64)

    # Beyond the transcript: up- or downstream within the flank.
    before = g < start
    outside = before | (g >= end)
    distance = np.where(before, start - g, g - end + 1)
    keep = ~outside | (distance <= flank)
    upstream = before == plus
    mask[outside & upstream] |= BIT["upstream_gene_variant"]
    mask[outside & ~upstream] |= BIT["downstream_gene_variant"]

    # Inside: the exon at or before g, and whether g is in it.
    row = np.maximum(table.exon_row(t, g), 0)
    local = row - table.first_exon[t]
    nxt = np.minimum(row + 1, len(table.exon_start) - 1)
    prv = np.maximum(row - 1, 0)
    exonic = ~outside & (g < table.exon_end[row])
    intronic = ~outside & ~exonic
    substitution = np.zeros(len(t), dtype=bool)
    # The intron after the exon (intronic g lies in it; exonic g may touch its splice region) ...
    after = (exonic | intronic) & (local <= n_exons - 2)
    left, right, near, _, deep = splice_windows(table.exon_end[row], table.exon_start[nxt], g, g + 1, substitution)
    donor = after & np.where(plus, left, right)
    acceptor = after & np.where(plus, right, left)
    region = after & near
    mask[intronic & deep] |= BIT["intron_variant"]
    # ... and, for exonic g, the intron before it.
    previous = exonic & (local >= 1)
    left, right, near, _, _ = splice_windows(table.exon_end[prv], table.exon_start[row], g, g + 1, substitution)
    donor |= previous & np.where(plus, left, right)
    acceptor |= previous & np.where(plus, right, left)
    region |= previous & near
    mask[donor] |= BIT["splice_donor_variant"]
    mask[acceptor] |= BIT["splice_acceptor_variant"]
    mask[region] |= BIT["splice_region_variant"]
    mask[intronic & ~coding] |= BIT["non_coding_transcript_variant"]
    exon_number = np.where(plus, local, n_exons - 1 - local) + 1
    intron_number = np.where(plus, local, n_exons - 2 - local) + 1
    hgvs_tx, hgvs_offset = table.locate(t, g, row)

    # Exonic: non-coding exon, UTRs, or the CDS.
    tx = table.exon_tx[row] + np.where(plus, g - table.exon_start[row], table.exon_end[row] - 1 - g)
    mask[exonic & ~coding] |= BIT["non_coding_transcript_exon_variant"]
    mask[exonic & coding & (tx < cs)] |= BIT["5_prime_UTR_variant"]
    mask[exonic & coding & (tx >= ce)] |= BIT["3_prime_UTR_variant"]
    in_cds = exonic & coding & (tx >= cs) & (tx < ce)
    first = tx - cs
    start_codon = in_cds & (first < 3) & table.start_complete[t]
    mask[start_codon] |= BIT["start_lost"]
    mask[in_cds & ~start_codon] |= BIT["coding_sequence_variant"]

    # Codons: the reference and changed amino acid, where the protein is compared.
    kind = np.zeros(len(t), dtype=np.int64)
    ref_aa = np.zeros(len(t), dtype=np.uint8)
    alt_aa = np.zeros(len(t), dtype=np.uint8)
    codon = first // 3
    slow = end - start <= 1
    candidates = np.flatnonzero(in_cds)
    if len(candidates):
        offsets = np.full(table.count, -1, dtype=np.int64)
        pieces: list[npt.NDArray[np.uint8]] = []
        size = 0
        for number in np.unique(t[candidates]).tolist():
            sequence = cds_of(number)
            if sequence is not None:
                offsets[number] = size
                pieces.append(encode(sequence))
                size += len(sequence)
        where = offsets[t[candidates]]
        compared = where >= 0
        cds_codons = (ce - cs)[candidates] // 3
        c = codon[candidates]
        ordinary = compared & (c >= 1) & (c < cds_codons - 1)
        slow[candidates[compared & ~ordinary]] = True
        chosen = candidates[ordinary]
        if len(chosen):
            buffer = np.concatenate(pieces)
            base = where[ordinary] + 3 * c[ordinary]
            codes = np.stack([buffer[base], buffer[base + 1], buffer[base + 2]])
            reference = codon_amino_acids(codes[0], codes[1], codes[2])
            alt_code = encode("".join(alts[i] for i in pair_snv[chosen].tolist()))
            alt_code = np.where(plus[chosen], alt_code, COMPLEMENT_CODE[alt_code])
            codes[first[chosen] % 3, np.arange(len(chosen))] = alt_code
            changed = codon_amino_acids(codes[0], codes[1], codes[2])
            kind[chosen] = np.where(changed == reference, _SYNONYMOUS,
                                    np.where(changed == ord("*"), _STOP_GAINED, _MISSENSE))
            ref_aa[chosen], alt_aa[chosen] = reference, changed
            mask[chosen] &= ~BIT["coding_sequence_variant"]
            for value, bit in _PROTEIN_BIT.items():
                mask[chosen[kind[chosen] == value]] |= bit
    escapes = (n_exons == 1) | (cs + 3 * codon >= table.last_junction[t] - NMD_WINDOW)

    # HGVS c. positions on the c. (or n.) scale.
    base, utr3 = table.c_position(t, hgvs_tx)
    # intron | exon | outside as one code, for the fields each carries
    place = np.where(exonic, 1, np.where(intronic, 2, 0))
    splice_p = coding & (donor | acceptor)

    # Order as annotate does: by variant, most severe term, MANE Select first, transcript id.
    slow_snv = np.zeros(n_snv, dtype=bool)
    slow_snv[pair_snv[slow]] = True
    wanted = keep & ~slow_snv[pair_snv]
    order = effect_order(table, pair_snv, t, mask, wanted)
    return _build(table, order, pair_snv, t, mask, refs, alts, plus, place, base, hgvs_offset, utr3, exon_number,
                  intron_number, n_exons, in_cds, first, kind, ref_aa, alt_aa, escapes, splice_p, n_snv), slow_snv


def effect_order(table: TranscriptTable, rows: Ints, number: Ints, mask: Ints, wanted: Bools) -> Ints:
    """The wanted pairs in the order ``annotate`` gives effects: by row, most severe term, MANE Select first, id.

    One integer key per pair, sorted once (pairs come grouped by row, so the sort has little to do).
    """
    chosen = np.flatnonzero(wanted)
    low = mask[chosen] & -mask[chosen]
    severity = np.frexp(low.astype(np.float64))[1]  # 1 + the rank of the most severe term, below 32
    t = number[chosen]
    if table.count >= 1 << 22:  # too many transcripts to share one key: sort on each part
        order: Ints = chosen[np.lexsort((table.id_rank[t], table.not_mane[t], severity, rows[chosen]))]
        return order
    key = (rows[chosen] << 28) | (severity.astype(np.int64) << 23) | (table.not_mane[t].astype(np.int64) << 22) \
        | table.id_rank[t]
    order = chosen[np.argsort(key, kind="stable")]
    return order


def grouped(rows: Ints, flat: list[TranscriptEffect], count: int) -> list[tuple[TranscriptEffect, ...]]:
    """``flat`` (effects sorted by ``rows``, ascending) as one tuple per row, empty for rows without any."""
    out: list[tuple[TranscriptEffect, ...]] = [()] * count
    if not len(rows):
        return out
    starts = np.concatenate(([0], np.flatnonzero(np.diff(rows)) + 1))
    bounds = [*starts.tolist(), len(flat)]
    for k, row in enumerate(rows[starts].tolist()):
        out[row] = tuple(flat[bounds[k]:bounds[k + 1]])
    return out


def number_pairs(number: Ints, total: Ints, wanted: Bools) -> list[tuple[int, int] | None]:
    """``(number, total)`` where wanted (one tuple object per distinct pair, shared), else None.

    >>> number_pairs(np.array([3, 1, 3]), np.array([12, 4, 12]), np.array([True, False, True]))
    [(3, 12), None, (3, 12)]
    """
    keys = np.where(wanted, (number << 32) | total, -1)
    distinct, inverse = np.unique(keys, return_inverse=True)
    shared = [None if key < 0 else (key >> 32, key & 0xFFFFFFFF) for key in distinct.tolist()]
    return [shared[i] for i in inverse.tolist()]


ProteinColumns = tuple[list[str | None], list[int | None], list[int | None], list[str | None], list[str | None],
                       list[bool | None]]


def protein_columns(proteins: Sequence[str], numbers: Sequence[int], protein_unknown: Bools) -> ProteinColumns:
    """Empty per-pair protein fields (HGVS p., CDS and protein positions, residues, NMD), filled in by the caller.

    Pairs in ``protein_unknown`` (a splice change outside the CDS) already read ``p.?``.
    """
    n = len(numbers)
    hgvs_p: list[str | None] = [None] * n
    for k in np.flatnonzero(protein_unknown).tolist():
        hgvs_p[k] = f"{proteins[numbers[k]]}:p.?"
    return hgvs_p, [None] * n, [None] * n, [None] * n, [None] * n, [None] * n


def position_texts(base: Ints, offset: Ints, star: Bools) -> list[str]:
    """HGVS positions as text: ``36``, ``-15``, ``*20``, ``36+10``, ``-15-2``, ``*20+3``.

    >>> position_texts(np.array([36, -15, 20, 36, 20]), np.array([0, -2, 0, 10, 3]),
    ...                np.array([False, False, True, False, True]))
    ['36', '-15-2', '*20', '36+10', '*20+3']
    """
    texts: list[str] = list(map(str, base.tolist()))
    for form, chosen in (("%d%+d", ~star & (offset != 0)), ("*%d", star & (offset == 0)),
                         ("*%d%+d", star & (offset != 0))):
        rows = np.flatnonzero(chosen)
        if not len(rows):
            continue
        values = zip(base[rows].tolist(), offset[rows].tolist(), strict=True) if "+" in form else base[rows].tolist()
        for k, text in zip(rows.tolist(), map(form.__mod__, values), strict=True):
            texts[k] = text
    return texts


def _build(table: TranscriptTable, order: Ints, pair_snv: Ints, t: Ints, mask: Ints, refs: Sequence[str],
           alts: Sequence[str], plus: Bools, place: Ints, base: Ints, offset: Ints, utr3: Bools, exon_number: Ints,
           intron_number: Ints, n_exons: Ints, in_cds: Bools, first: Ints, kind: Ints, ref_aa: npt.NDArray[np.uint8],
           alt_aa: npt.NDArray[np.uint8], escapes: Bools, splice_p: Bools, n_snv: int,
           ) -> list[tuple[TranscriptEffect, ...]]:
    """The effects, one Python object per kept pair, grouped per SNV.

    Each field is first made a column (a list in the final order), then ``map`` builds the effects
    from the columns: the per-pair work left to the interpreter is the effect's own constructor.
    """
    ids, genes, gene_ids, mane = table.ids, table.genes, table.gene_ids, table.mane
    proteins, heads, lengths = table.proteins, table.heads, table.protein_lengths
    rows, numbers = pair_snv[order], t[order].tolist()
    bits = mask[order]
    bits_list = bits.tolist()
    terms = {m: from_bits(m) for m in set(bits_list)}
    consequences = [terms[m] for m in bits_list]
    substitutions = [f"{r}>{a}" for r, a in zip(refs, alts, strict=True)]
    substitutions += [f"{_COMPLEMENT[r]}>{_COMPLEMENT[a]}" for r, a in zip(refs, alts, strict=True)]
    changes = np.where(plus[order], rows, rows + len(refs)).tolist()
    texts = position_texts(base[order], offset[order], utr3[order])
    hgvs_c = [heads[x] + text + substitutions[c] for x, text, c in zip(numbers, texts, changes, strict=True)]
    cds = in_cds[order]
    hgvs_p, cds_position, protein_position, ref_amino, alt_amino, nmd = protein_columns(
        proteins, numbers, splice_p[order] & ~cds)
    chosen = np.flatnonzero(cds)
    for k, cds_first, change, ref_code, alt_code, escape in zip(
            chosen.tolist(), *(column[order][chosen].tolist() for column in (first, kind, ref_aa, alt_aa, escapes)),
            strict=True):
        codon = cds_first // 3 + 1
        cds_position[k], protein_position[k] = cds_first + 1, codon
        if change:
            ref_amino[k], alt_amino[k] = ref, alt = chr(ref_code), chr(alt_code)
            protein = proteins[numbers[k]]
            if change == _SYNONYMOUS:
                hgvs_p[k] = f"{protein}:p.({THREE_LETTER[ref]}{codon}=)"
            elif change == _MISSENSE:
                hgvs_p[k] = f"{protein}:p.({THREE_LETTER[ref]}{codon}{THREE_LETTER[alt]})"
            else:
                hgvs_p[k] = f"{protein}:p.({THREE_LETTER[ref]}{codon}Ter)"
                nmd[k] = escape
    flat = list(map(
        build_effect, map(ids.__getitem__, numbers), map(genes.__getitem__, numbers),
        map(gene_ids.__getitem__, numbers), map(itemgetter(0), consequences), map(itemgetter(1), consequences),
        map(mane.__getitem__, numbers), hgvs_c, hgvs_p,
        number_pairs(exon_number[order], n_exons[order], place[order] == 1),
        number_pairs(intron_number[order], n_exons[order] - 1, place[order] == 2),
        cds_position, protein_position, map(lengths.__getitem__, numbers), ref_amino, alt_amino, nmd))
    return grouped(rows, flat, n_snv)
