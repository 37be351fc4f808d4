"""Turn simulated mutations into VCF alleles consistent with the synthetic reference.

msprime decides *where* mutations fall and *who* carries them; this module decides what they
are. REF is always the synthetic reference's base, so every record checks against the FASTA.
The first ALT of a site is a transition with probability 0.71 (Ti/Tv about 2.4, between a
genome's ~2.0 and an exome's ~3.0, since the regions are exons with their flanks). About one site
in ten that was hit by one mutation becomes a short indel instead (1-10 bp, mostly 1-2, slightly
more deletions than insertions, as in real call sets), written left-aligned and trimmed as a
normaliser would. Sites hit by two or more mutations stay SNVs and become multi-allelic records.

With ``messy=True`` some records are written the way callers and merges often leave them: indels
shifted right within a repeat or padded with a shared base, SNVs padded into a two-base REF. Their
normalised forms are kept (:attr:`SiteTable.messy`) so an ingest test can check it recovers them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from genomed.genome.builds import GRCH38, PAR
from genomed.simulate.ancestry import Ancestry
from genomed.simulate.sequence import BASES, SyntheticReference
from genomed.simulate.writers import ABSENT, MISSING

SNV, INSERTION, DELETION = 0, 1, 2
TRANSITION_FRACTION = 0.71
INDEL_FRACTION = 0.10
DELETION_SHARE = 0.55
# Indel lengths 1..10 bp, roughly as in human call sets (most are 1-2 bp).
INDEL_LENGTH_WEIGHTS = np.array([0.45, 0.18, 0.10, 0.08, 0.05, 0.04, 0.03, 0.03, 0.02, 0.02])
MESSY_INDEL_FRACTION = 0.3
MESSY_SNV_FRACTION = 0.02
DIPLOID, X_HAPLOID, Y_ONLY = 0, 1, 2
_SECOND = np.array([1])
_BOTH = np.array([0, 1])

Ints = npt.NDArray[np.int64]
Calls = npt.NDArray[np.int8]


@dataclass
class SiteTable:
    """Every simulated site in genomic order: its record position and alleles.

    ``alts[i][k - 1]`` is the ALT of msprime allele index ``k`` at site ``i``.
    """

    locus: Ints
    region: Ints  # index into the reference's regions
    pos: Ints  # 0-based position of the record (shifted for a left-aligned or messy indel)
    ref: list[str]
    alts: list[tuple[str, ...]]
    kind: Ints
    messy: dict[int, tuple[int, str, str]] = field(default_factory=dict)  # site -> normalised (pos, ref, alt)

    @property
    def size(self) -> int:
        return int(self.pos.size)


def _alt_orders(ref_codes: Ints, rng: np.random.Generator) -> Ints:
    """Per site, the three other bases in the order ALT alleles take them (transition first, mostly)."""
    n = ref_codes.size
    transition = ref_codes ^ 2  # A<->G, C<->T with A=0 C=1 G=2 T=3
    flip = rng.random(n) < 0.5
    tv_a = np.where(flip, ref_codes ^ 1, ref_codes ^ 3)
    tv_b = np.where(flip, ref_codes ^ 3, ref_codes ^ 1)
    first_is_transition = rng.random(n) < TRANSITION_FRACTION
    return np.where(first_is_transition[:, None], np.stack([transition, tv_a, tv_b], axis=1),
                    np.stack([tv_a, transition, tv_b], axis=1))


def _design_indel(seq: str, p: int, lo: int, hi: int, rng: np.random.Generator
                  ) -> tuple[int, str, str, int] | None:
    """(pos, REF, ALT, kind) of a left-aligned indel anchored near ``p`` within [lo, hi), or None.

    ``seq`` holds the bases of [0, hi + something) of the region in local coordinates; ``lo`` is
    where the previous record ends, ``hi`` where the next begins (or the region's end).
    """
    length = int(rng.choice(INDEL_LENGTH_WEIGHTS.size, p=INDEL_LENGTH_WEIGHTS)) + 1
    if rng.random() < DELETION_SHARE:
        if p + length + 1 > hi:
            return None
        anchor = p
        while anchor - 1 >= lo and seq[anchor] == seq[anchor + length]:
            anchor -= 1
        if seq[anchor] == seq[anchor + length]:  # stopped by a neighbour, not by the sequence
            return None
        return anchor, seq[anchor:anchor + length + 1], seq[anchor], DELETION
    inserted = "".join(BASES[int(b)] for b in rng.integers(0, 4, length))
    anchor = p
    while anchor - 1 >= lo and seq[anchor] == inserted[-1]:
        inserted = seq[anchor] + inserted[:-1]
        anchor -= 1
    if seq[anchor] == inserted[-1]:
        return None
    return anchor, seq[anchor], seq[anchor] + inserted, INSERTION


def _messy_indel(seq: str, pos: int, ref: str, alt: str, kind: int, hi: int) -> tuple[int, str, str] | None:
    """The same indel shifted right within its repeat, or padded with the next base; None if no room."""
    if kind == DELETION:
        length = len(ref) - 1
        anchor = pos
        while anchor + 1 + length + 1 <= hi and seq[anchor + 1] == seq[anchor + length + 1]:
            anchor += 1
        if anchor != pos:
            return anchor, seq[anchor:anchor + length + 1], seq[anchor]
        if pos + length + 2 <= hi:
            return pos, seq[pos:pos + length + 2], seq[pos] + seq[pos + length + 1]
        return None
    inserted = alt[1:]
    anchor = pos
    while anchor + 2 <= hi and seq[anchor + 1] == inserted[0]:
        inserted = inserted[1:] + seq[anchor + 1]
        anchor += 1
    if anchor != pos:
        return anchor, seq[anchor], seq[anchor] + inserted
    if pos + 2 <= hi:
        return pos, seq[pos:pos + 2], seq[pos] + inserted + seq[pos + 1]
    return None


def design_sites(ancestry: Ancestry, reference: SyntheticReference, rng: np.random.Generator, *,
                 indel_fraction: float = INDEL_FRACTION, messy: bool = False) -> SiteTable:
    """REF/ALT text and position of every simulated site (see the module docstring)."""
    loci, regions, positions, mutations = [], [], [], []
    first_region = 0
    for number, locus in enumerate(ancestry.loci):
        tables = locus.ts.tables
        x = tables.sites.position.astype(np.int64)
        local, genomic = locus.layout.to_genome(x)
        loci.append(np.full(x.size, number, dtype=np.int64))
        regions.append(local + first_region)
        positions.append(genomic)
        mutations.append(np.bincount(tables.mutations.site, minlength=x.size).astype(np.int64))
        first_region += len(locus.layout.regions)
    locus_of = np.concatenate(loci) if loci else np.zeros(0, np.int64)
    region = np.concatenate(regions) if regions else np.zeros(0, np.int64)
    pos = np.concatenate(positions) if positions else np.zeros(0, np.int64)
    n_mut = np.concatenate(mutations) if mutations else np.zeros(0, np.int64)
    n = pos.size
    packed = reference.offsets[region] + pos - np.array([r.start for r in reference.regions], dtype=np.int64)[region]
    ref_codes = reference.codes[packed].astype(np.int64)
    orders = _alt_orders(ref_codes, rng)
    letters = np.array(list(BASES))
    ref = letters[ref_codes].tolist()
    order_text = letters[orders]
    # A site hit once has one ALT; the other bases are there for sites hit again (multi-allelic).
    alts: list[tuple[str, ...]] = [tuple(row) if hits > 1 else (row[0],)
                                   for row, hits in zip(order_text.tolist(), n_mut.tolist(), strict=True)]
    kind = np.zeros(n, dtype=np.int64)
    table = SiteTable(locus=locus_of, region=region, pos=pos.copy(), ref=ref, alts=alts, kind=kind)

    single = n_mut == 1
    indel_candidates = single & (rng.random(n) < indel_fraction)
    snv_messy = single & ~indel_candidates & (rng.random(n) < MESSY_SNV_FRACTION) if messy else np.zeros(n, bool)
    indel_messy = rng.random(n) < MESSY_INDEL_FRACTION
    record_end = pos + 1
    sequences: dict[int, str] = {}
    for site in np.flatnonzero(indel_candidates | snv_messy).tolist():
        r = int(region[site])
        bounds = reference.regions[r]
        if r not in sequences:
            sequences[r] = reference.fetch(bounds.chrom, bounds.start, bounds.end)
        seq = sequences[r]
        p = int(pos[site]) - bounds.start
        lo = (int(record_end[site - 1]) - bounds.start) if site > 0 and region[site - 1] == r else 0
        hi = (int(pos[site + 1]) - bounds.start) if site + 1 < n and region[site + 1] == r else bounds.length
        if indel_candidates[site]:
            design = _design_indel(seq, p, lo, hi, rng)
            if design is None:
                continue
            anchor, ref_text, alt_text, what = design
            table.pos[site] = bounds.start + anchor
            table.ref[site], table.alts[site], table.kind[site] = ref_text, (alt_text,), what
            record_end[site] = bounds.start + anchor + len(ref_text)
            if messy and indel_messy[site]:
                shifted = _messy_indel(seq, anchor, ref_text, alt_text, what, hi)
                if shifted is not None:
                    table.messy[site] = (int(table.pos[site]), ref_text, alt_text)
                    table.pos[site] = bounds.start + shifted[0]
                    table.ref[site], table.alts[site] = shifted[1], (shifted[2],)
                    record_end[site] = bounds.start + shifted[0] + len(shifted[1])
        elif p + 2 <= hi:  # a padded SNV: REF and ALT share the next base
            table.messy[site] = (int(pos[site]), table.ref[site], table.alts[site][0])
            table.ref[site] = seq[p:p + 2]
            table.alts[site] = tuple(a + seq[p + 1] for a in table.alts[site])
            record_end[site] = pos[site] + 2
    return table


def iter_haplotypes(ancestry: Ancestry, chunk_sites: int) -> Iterator[tuple[Ints, Calls]]:
    """(site indices, haplotype alleles (sites, 2 x individuals)) in chunks, in genomic order."""
    n_hap = 2 * ancestry.n_individuals
    buffer = np.empty((chunk_sites, n_hap), dtype=np.int8)
    filled = 0
    first = 0
    for locus in ancestry.loci:
        for variant in locus.ts.variants():
            buffer[filled] = variant.genotypes
            filled += 1
            if filled == chunk_sites:
                yield np.arange(first, first + filled, dtype=np.int64), buffer.copy()
                first += filled
                filled = 0
    if filled:
        yield np.arange(first, first + filled, dtype=np.int64), buffer[:filled].copy()


def ploidy_classes(chroms: list[str], pos: Ints, build: str = GRCH38) -> Ints:
    """Per site: DIPLOID, X_HAPLOID (chrX outside the PAR: one copy in males) or Y_ONLY (chrY)."""
    result = np.zeros(len(chroms), dtype=np.int64)
    names = np.array(chroms, dtype=object)
    on_x = (names == "chrX") | (names == "X")
    if on_x.any():
        one_based = pos[on_x] + 1
        par = np.zeros(one_based.size, dtype=bool)
        for start, end in PAR[build]["X"]:
            par |= (one_based >= start) & (one_based <= end)
        result[np.flatnonzero(on_x)[~par]] = X_HAPLOID
    result[(names == "chrY") | (names == "Y")] = Y_ONLY
    return result


def diploid_calls(haplotypes: Calls, classes: Ints, male: npt.NDArray[np.bool_]) -> Calls:
    """(sites, individuals, 2) calls with the missing copies of sex chromosomes marked ABSENT.

    A male keeps his first haplotype on chrX outside the PAR and on chrY (hemizygous); a female
    has no chrY. (The simulation gave everyone two copies of everything; dropping one is the
    usual simplification, at the cost of chrX diversity being that of an autosome.)
    """
    calls = haplotypes.reshape(haplotypes.shape[0], -1, 2).copy()
    x_rows = np.flatnonzero(classes == X_HAPLOID)
    y_rows = np.flatnonzero(classes == Y_ONLY)
    males, females = np.flatnonzero(male), np.flatnonzero(~male)
    if x_rows.size and males.size:
        calls[np.ix_(x_rows, males, _SECOND)] = ABSENT
    if y_rows.size:
        if males.size:
            calls[np.ix_(y_rows, males, _SECOND)] = ABSENT
        if females.size:
            calls[np.ix_(y_rows, females, _BOTH)] = ABSENT
    return calls


def set_missing(calls: Calls, mask: npt.NDArray[np.bool_]) -> None:
    """Mark the calls under ``mask`` (sites, individuals) as no-calls, keeping absent copies absent."""
    first, second = calls[..., 0], calls[..., 1]
    first[mask & (first != ABSENT)] = MISSING
    second[mask & (second != ABSENT)] = MISSING
