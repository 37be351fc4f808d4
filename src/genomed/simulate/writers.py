"""VCF and gVCF text for simulated genotypes, rendered with numpy and written as BGZF with a tabix index.

Scale is the constraint: 2,000 samples x 100,000 sites is 200 million genotype fields, ~3 GB of
text. A Python loop over genotypes would take many minutes; instead every possible genotype field
(``\\t0/1:14,16:30:99``) is pre-rendered once in a table indexed by (genotype class, depth, alt
reads), a whole chunk of sites is turned into table indices with array arithmetic, and the bytes
are joined in C. Only multi-allelic sites (a fraction of a percent) take a slower path.

What the records look like follows what GATK writes: ``GT:AD:DP:GQ`` in the cohort VCF with
AC/AN/DP in INFO; haploid calls (``0``, ``1``) for males on chrX outside the PAR and on chrY;
``./.`` for a missing call and ``.`` for a chromosome the sample lacks (chrY in females); in a
gVCF, reference blocks ``<NON_REF>`` with ``END``, ``GT:DP:GQ:MIN_DP:PL`` and GATK's GQ bands, and
variant records carrying the ``<NON_REF>`` allele too.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import numpy as np
import numpy.typing as npt

from genomed.simulate.bgzf import DEFAULT_LEVEL, BgzfWriter, TabixIndexBuilder
from genomed.simulate.coverage import (
    MAX_DEPTH,
    Blocks,
    DepthModel,
    Intervals,
    genotype_pls,
    genotype_quality,
    hom_ref_pls,
    subtract,
)
from genomed.simulate.sequence import SyntheticReference

VCF_VERSION = "VCFv4.2"
MISSING = -1  # no call for this haplotype's genotype
ABSENT = -2  # the haplotype does not exist (second X of a male, both Y of a female)

# Genotype classes of a biallelic call, the first index of the field table.
HOM_REF, HET, HOM_ALT, NO_CALL, HAP_REF, HAP_ALT, HAP_NO_CALL = range(7)
_GT_TEXT = (b"0/0", b"0/1", b"1/1", b"./.", b"0", b"1", b".")
_SIDE = MAX_DEPTH + 1
_LINES_PER_WRITE = 50_000

Ints = npt.NDArray[np.int64]
Calls = npt.NDArray[np.int8]


def _class_of_pair() -> Ints:
    """Genotype class of every (first, second) allele pair with alleles in -2..3 (biallelic use 0, 1)."""
    table = np.full(36, NO_CALL, dtype=np.int64)
    for first in range(-2, 4):
        for second in range(-2, 4):
            if second == ABSENT:
                code = HAP_NO_CALL if first < 0 else HAP_REF + min(first, 1)
            else:
                code = NO_CALL if first < 0 or second < 0 else min(first, 1) + min(second, 1)
            table[(first + 2) * 6 + second + 2] = code
    return table


_CLASS_OF_PAIR = _class_of_pair()


@functools.cache
def _field_table() -> tuple[npt.NDArray[np.object_], Ints]:
    """Every biallelic ``\\tGT:AD:DP:GQ`` field, indexed by (class * 128 + depth) * 128 + alt reads."""
    size = len(_GT_TEXT) * _SIDE * _SIDE
    table = np.full(size, b"", dtype=object)
    lengths = np.zeros(size, dtype=np.int64)
    codes, depths, alts = [], [], []
    for code in range(len(_GT_TEXT)):
        for depth in range(_SIDE):
            for alt in range(depth + 1):
                codes.append(code)
                depths.append(depth)
                alts.append(alt)
    code_a, depth_a, alt_a = (np.array(x, dtype=np.int64) for x in (codes, depths, alts))
    called = (code_a != NO_CALL) & (code_a != HAP_NO_CALL)
    gq = np.zeros(code_a.size, dtype=np.int64)
    gq[called] = genotype_quality(code_a[called], depth_a[called], alt_a[called])
    for code, depth, alt, quality in zip(codes, depths, alts, gq.tolist(), strict=True):
        key = (code * _SIDE + depth) * _SIDE + alt
        if code in (NO_CALL, HAP_NO_CALL):
            text = b"\t" + _GT_TEXT[code]
        else:
            text = b"\t%s:%d,%d:%d:%d" % (_GT_TEXT[code], depth - alt, alt, depth, quality)
        table[key] = text
        lengths[key] = len(text)
    return table, lengths


def vcf_header(samples: Sequence[str], *, contigs: Sequence[tuple[str, int]], build: str, reference: str,
               source: str, meta: Mapping[str, str] | None = None, gvcf: bool = False) -> bytes:
    """The header of a VCF (or GATK-style gVCF) with real contig lengths and the assembly named."""
    lines = [f"##fileformat={VCF_VERSION}",
             '##FILTER=<ID=PASS,Description="All filters passed">']
    if gvcf:
        lines += ['##ALT=<ID=NON_REF,Description="Represents any possible alternative allele not already '
                  'represented at this location by REF and ALT">',
                  '##INFO=<ID=END,Number=1,Type=Integer,Description="Stop position of the interval">',
                  '##INFO=<ID=DP,Number=1,Type=Integer,Description="Approximate read depth">',
                  '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
                  '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths for the ref and alt alleles '
                  'in the order listed">',
                  '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Approximate read depth">',
                  '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype Quality">',
                  '##FORMAT=<ID=MIN_DP,Number=1,Type=Integer,Description="Minimum DP observed within the GVCF '
                  'block">',
                  '##FORMAT=<ID=PL,Number=G,Type=Integer,Description="Normalized, Phred-scaled likelihoods for '
                  'genotypes as defined in the VCF specification">']
        edges = [*range(0, 61), 70, 80, 90, 99, 100]
        lines += [f"##GVCFBlock{lo}-{hi}=minGQ={lo}(inclusive),maxGQ={hi}(exclusive)"
                  for lo, hi in itertools.pairwise(edges)]
    else:
        lines += ['##INFO=<ID=AC,Number=A,Type=Integer,Description="Allele count in genotypes, for each ALT '
                  'allele, in the same order as listed">',
                  '##INFO=<ID=AN,Number=1,Type=Integer,Description="Total number of alleles in called genotypes">',
                  '##INFO=<ID=DP,Number=1,Type=Integer,Description="Approximate read depth summed over samples">',
                  '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
                  '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths for the ref and alt alleles '
                  'in the order listed">',
                  '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Approximate read depth">',
                  '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype Quality">']
    lines += [f"##contig=<ID={name},length={length},assembly={build}>" for name, length in contigs]
    lines.append(f"##reference={reference}")
    lines.append(f"##source={source}")
    for key, value in (meta or {}).items():
        lines.append(f"##{key}={value}")
    lines.append("\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples]))
    return ("\n".join(lines) + "\n").encode("ascii")


@dataclass
class SiteBatch:
    """Consecutive sites and their calls, ready to write.

    ``alts[i][k - 1]`` is the ALT text of allele index ``k`` in ``calls``; alleles nobody carries
    are dropped when written, and a site nobody carries an ALT at is not written at all.
    """

    chrom: list[str]
    pos: Ints  # 0-based
    ref: list[str]
    alts: list[tuple[str, ...]]
    calls: Calls  # (sites, samples, 2): allele index, MISSING or ABSENT


@dataclass(frozen=True, slots=True)
class Call:
    """One sample's non-reference call as written, kept to write the same call in its gVCF."""

    chrom: str
    pos: int  # 0-based
    ref: str
    alts: tuple[str, ...]
    alleles: tuple[int, ...]  # one (haploid) or two, sorted
    depths: tuple[int, ...]  # AD, REF first
    depth: int
    gq: int


def _recode(calls: Calls, n_alleles: int) -> tuple[Calls, list[int]]:
    """Renumber a site's alleles to those present (REF stays 0); the old indices kept, in order."""
    present = [k for k in range(1, n_alleles + 1) if bool((calls == k).any())]
    if present == list(range(1, len(present) + 1)):
        return calls, present
    recoded = calls.copy()
    for new, old in enumerate(present, start=1):
        recoded[calls == old] = new
    return recoded, present


class VcfWriter:
    """A bgzipped, tabix-indexed multi-sample VCF written one :class:`SiteBatch` at a time."""

    def __init__(self, path: Path, samples: Sequence[str], header: bytes, depth: DepthModel,
                 rng: np.random.Generator, *, level: int = DEFAULT_LEVEL, threads: int = 2,
                 capture: Sequence[int] = ()) -> None:
        self.path = Path(path)
        self.samples = list(samples)
        self.depth = depth
        self.rng = rng
        self.records = 0
        self.multiallelic = 0
        self.captured: dict[int, list[Call]] = {int(j): [] for j in capture}
        self._capture = np.array(sorted(self.captured), dtype=np.int64)
        self._out = BgzfWriter(self.path, level=level, threads=threads)
        self._index = TabixIndexBuilder()
        self._out.write(header)

    def write(self, batch: SiteBatch) -> int:
        """Write the sites of a batch that carry an ALT allele; returns how many were written."""
        lines: list[tuple[int, bytes]] = []
        n_alleles = np.array([len(a) for a in batch.alts], dtype=np.int64)
        simple = np.flatnonzero(n_alleles == 1)
        others = np.flatnonzero(n_alleles > 1)
        recoded: dict[int, tuple[Calls, list[int]]] = {}
        for site in others.tolist():  # a lost allele can leave a biallelic site among them
            recoded[site] = _recode(batch.calls[site], int(n_alleles[site]))
        biallelic = np.sort(np.concatenate([simple, [s for s, (_, p) in recoded.items() if len(p) == 1]])).astype(
            np.int64)
        lines += self._biallelic(batch, biallelic, recoded)
        for site, (calls, present) in recoded.items():
            if len(present) > 1:
                lines.append((site, self._multiallelic(batch, site, calls, present)))
        lines.sort(key=lambda item: item[0])
        if not lines:
            return 0
        text = [line for _, line in lines]
        sites = np.array([site for site, _ in lines], dtype=np.int64)
        lengths = np.fromiter(map(len, text), dtype=np.int64, count=len(text))
        begin = self._out.tell() + np.concatenate([[0], np.cumsum(lengths)[:-1]])
        tids = np.array([self._index.contig_id(batch.chrom[s]) for s in sites.tolist()], dtype=np.int64)
        spans = np.array([len(batch.ref[s]) for s in sites.tolist()], dtype=np.int64)
        self._index.add(tids, batch.pos[sites], batch.pos[sites] + spans, begin, begin + lengths)
        self._out.write(b"".join(text))
        self.records += len(text)
        return len(text)

    def _biallelic(self, batch: SiteBatch, sites: Ints, recoded: Mapping[int, tuple[Calls, list[int]]]
                   ) -> list[tuple[int, bytes]]:
        if not sites.size:
            return []
        calls = batch.calls[sites]
        alt_text = []
        for row, site in enumerate(sites.tolist()):
            if site in recoded:
                calls[row], present = recoded[site][0], recoded[site][1]
                alt_text.append(batch.alts[site][present[0] - 1])
            else:
                alt_text.append(batch.alts[site][0])
        # (first, second) allele -> genotype class through a 6 x 6 table: one gather, no branches.
        pair = (calls[..., 0].astype(np.intp) + 2) * 6 + (calls[..., 1].astype(np.intp) + 2)
        code = _CLASS_OF_PAIR[pair]
        carried = ((code == HET) | (code == HOM_ALT) | (code == HAP_ALT)).any(axis=1)
        if not bool(carried.all()):
            keep = np.flatnonzero(carried)
            sites, code = sites[keep], code[keep]
            alt_text = [alt_text[i] for i in keep.tolist()]
        if not sites.size:
            return []
        depth = self.depth.draw(sites.size, self.rng)
        het = code == HET
        depth[het] = np.maximum(depth[het], 2)
        alt = np.zeros_like(depth)
        alt[het] = np.clip(self.rng.binomial(depth[het], 0.5), 1, depth[het] - 1)
        full = (code == HOM_ALT) | (code == HAP_ALT)
        alt[full] = depth[full]
        called = (code != NO_CALL) & (code != HAP_NO_CALL)
        table, _ = _field_table()
        fields = table[(code * _SIDE + depth) * _SIDE + alt]
        ac = (het | (code == HAP_ALT)).sum(axis=1) + 2 * (code == HOM_ALT).sum(axis=1)
        an = 2 * (code <= HOM_ALT).sum(axis=1) + ((code == HAP_REF) | (code == HAP_ALT)).sum(axis=1)
        total_depth = np.where(called, depth, 0).sum(axis=1)
        qual = np.minimum(alt.sum(axis=1) * 3 + 10, 99_999)
        rows = np.empty((sites.size, fields.shape[1] + 2), dtype=object)
        rows[:, 1:-1] = fields
        rows[:, -1] = b"\n"
        for row, site in enumerate(sites.tolist()):
            rows[row, 0] = (f"{batch.chrom[site]}\t{int(batch.pos[site]) + 1}\t.\t{batch.ref[site]}\t{alt_text[row]}\t"
                            f"{int(qual[row])}\tPASS\tAC={int(ac[row])};AN={int(an[row])};DP={int(total_depth[row])}"
                            f"\tGT:AD:DP:GQ").encode("ascii")
        if self._capture.size:
            self._capture_biallelic(batch, sites, alt_text, code, depth, alt)
        return [(site, b"".join(row)) for site, row in zip(sites.tolist(), rows.tolist(), strict=True)]

    def _capture_biallelic(self, batch: SiteBatch, sites: Ints, alt_text: list[str], code: Ints, depth: Ints,
                           alt: Ints) -> None:
        sub = code[:, self._capture]
        rows, cols = np.nonzero((sub == HET) | (sub == HOM_ALT) | (sub == HAP_ALT))
        samples = self._capture[cols]
        kinds, depths, alts = sub[rows, cols], depth[rows, samples], alt[rows, samples]
        qualities = genotype_quality(kinds, depths, alts)
        alleles_of = {HET: (0, 1), HOM_ALT: (1, 1), HAP_ALT: (1,)}
        for row, sample, c, dp, a, gq in zip(rows.tolist(), samples.tolist(), kinds.tolist(), depths.tolist(),
                                             alts.tolist(), qualities.tolist(), strict=True):
            site = int(sites[row])
            self.captured[sample].append(Call(batch.chrom[site], int(batch.pos[site]), batch.ref[site],
                                              (alt_text[row],), alleles_of[c], (dp - a, a), dp, gq))

    def _multiallelic(self, batch: SiteBatch, site: int, calls: Calls, present: list[int]) -> bytes:
        """One multi-allelic record: numbers vectorised, text per sample only for the few non-REF calls."""
        self.multiallelic += 1
        m = len(present)
        depth = self.depth.draw(1, self.rng)[0]
        first, second = calls[:, 0].astype(np.int64), calls[:, 1].astype(np.int64)
        missing = first < 0
        haploid = second == ABSENT
        low = np.where(haploid, first, np.minimum(first, second))
        high = np.where(haploid, first, np.maximum(first, second))
        het = ~missing & (low != high)
        depth[het] = np.maximum(depth[het], 2)
        alt = np.zeros_like(depth)
        alt[het] = np.clip(self.rng.binomial(depth[het], 0.5), 1, depth[het] - 1)
        hom_alt = ~missing & ~het & (low > 0)
        alt[hom_alt] = depth[hom_alt]
        code = np.where(het, HET, np.where(low > 0, HOM_ALT, HOM_REF)) + np.where(haploid & ~het, HAP_REF, 0)
        called = ~missing
        gq = np.zeros_like(depth)
        gq[called] = genotype_quality(code[called], depth[called], alt[called])
        ac = [int((first == k).sum() + (second == k).sum()) for k in range(1, m + 1)]
        an = int(called.sum() + (called & ~haploid).sum())
        hom_ref = called & (low == 0) & (high == 0)
        zeros = "0," * (m - 1) + "0"
        fields = np.empty(depth.size, dtype=object)
        fields[missing] = np.where(haploid[missing], b"\t.", b"\t./.")
        for sample in np.flatnonzero(hom_ref).tolist():  # the same text as biallelic, with more zero depths
            gt = "0" if haploid[sample] else "0/0"
            fields[sample] = f"\t{gt}:{depth[sample]},{zeros}:{depth[sample]}:{gq[sample]}".encode("ascii")
        alts = tuple(batch.alts[site][k - 1] for k in present)
        for sample in np.flatnonzero(called & ~hom_ref).tolist():
            reads = [0] * (m + 1)
            dp, a = int(depth[sample]), int(alt[sample])
            lo, hi = int(low[sample]), int(high[sample])
            reads[lo] += dp - a
            reads[hi] += a
            alleles = (lo,) if haploid[sample] else (lo, hi)
            text = "/".join(map(str, alleles))
            fields[sample] = f"\t{text}:{','.join(map(str, reads))}:{dp}:{gq[sample]}".encode("ascii")
            if sample in self.captured:
                self.captured[sample].append(Call(batch.chrom[site], int(batch.pos[site]), batch.ref[site], alts,
                                                  alleles, tuple(reads), dp, int(gq[sample])))
        qual = min(int(alt.sum()) * 3 + 10, 99_999)
        prefix = (f"{batch.chrom[site]}\t{int(batch.pos[site]) + 1}\t.\t{batch.ref[site]}\t{','.join(alts)}\t{qual}\t"
                  f"PASS\tAC={','.join(map(str, ac))};AN={an};DP={int(depth[called].sum())}\tGT:AD:DP:GQ"
                  ).encode("ascii")
        return prefix + b"".join(fields.tolist()) + b"\n"

    def close(self) -> Path:
        """Finish the file and write its ``.tbi``; returns the index path."""
        self._out.close()
        return self._index.write(Path(f"{self.path}.tbi"), self._out)

    def abort(self) -> None:
        self._out.abort()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


@functools.cache
def _block_table(haploid: bool) -> tuple[npt.NDArray[np.object_], Ints]:
    """The sample column of every reference block, indexed by depth * 128 + min depth."""
    table = np.full(_SIDE * _SIDE, b"", dtype=object)
    lengths = np.zeros(_SIDE * _SIDE, dtype=np.int64)
    min_depths = np.arange(_SIDE)
    gq = genotype_quality(np.full(_SIDE, HAP_REF if haploid else HOM_REF), min_depths, np.zeros(_SIDE))
    het_pl, hom_pl = hom_ref_pls(min_depths)
    for depth in range(_SIDE):
        for low in range(depth + 1):
            pl = f"0,{hom_pl[low]}" if haploid else f"0,{het_pl[low]},{hom_pl[low]}"
            text = f"{'0' if haploid else '0/0'}:{depth}:{gq[low]}:{low}:{pl}\n".encode("ascii")
            table[depth * _SIDE + low] = text
            lengths[depth * _SIDE + low] = len(text)
    return table, lengths


def _digits(values: Ints) -> tuple[npt.NDArray[np.object_], Ints]:
    text = values.astype("S20")
    return text.astype(object), np.char.str_len(text).astype(np.int64)


def write_gvcf(path: Path, header: bytes, reference: SyntheticReference, blocks: Blocks, gaps: Intervals,
               calls: Sequence[Call], haploid: npt.NDArray[np.bool_], *, level: int = DEFAULT_LEVEL,
               threads: int = 2) -> tuple[int, int]:
    """One sample's gVCF: its variant calls, reference blocks elsewhere, nothing in coverage gaps.

    ``blocks`` tile the packed regions (see :func:`~genomed.simulate.coverage.reference_blocks`);
    the spans of ``calls`` and the ``gaps`` are cut out of them here. ``haploid`` says, per block,
    whether the sample has one copy there (male chrX outside the PAR, chrY). Returns the number of
    (block, variant) records written.
    """
    call_start = np.zeros(len(calls), dtype=np.int64)
    by_chrom: dict[str, list[int]] = {}
    for number, call in enumerate(calls):
        by_chrom.setdefault(call.chrom, []).append(number)
    for chrom, numbers in by_chrom.items():
        call_start[numbers] = reference.index(chrom, [calls[i].pos for i in numbers])
    call_end = call_start + np.array([len(c.ref) for c in calls], dtype=np.int64)
    holes = Intervals.union(np.concatenate([call_start, gaps.start]), np.concatenate([call_end, gaps.end]))
    pieces = subtract(blocks, holes)
    piece_haploid = haploid[np.searchsorted(blocks.start, pieces.start, side="right") - 1]
    region = np.searchsorted(reference.offsets, pieces.start, side="right") - 1
    region_start = np.array([r.start for r in reference.regions], dtype=np.int64)
    chrom_text = np.array([f"{r.chrom}\t".encode("ascii") for r in reference.regions], dtype=object)
    genomic_start = region_start[region] + pieces.start - reference.offsets[region]
    genomic_end = genomic_start + (pieces.end - pieces.start)
    bases = np.array([b"\t.\tA\t", b"\t.\tC\t", b"\t.\tG\t", b"\t.\tT\t"], dtype=object)
    pos_text, pos_len = _digits(genomic_start + 1)
    end_text, end_len = _digits(genomic_end)
    depth = np.minimum(pieces.depth, MAX_DEPTH)
    low = np.minimum(pieces.min_depth, depth)
    sample_key = depth * _SIDE + low
    dip_table, dip_len = _block_table(False)
    hap_table, hap_len = _block_table(True)
    sample_text = np.where(piece_haploid, hap_table[sample_key], dip_table[sample_key])
    sample_len = np.where(piece_haploid, hap_len[sample_key], dip_len[sample_key])
    middle = b"<NON_REF>\t.\t.\tEND="
    tail = b"\tGT:DP:GQ:MIN_DP:PL\t"
    n = pieces.start.size
    rows = np.empty((n + len(calls), 8), dtype=object)
    rows[:n, 0] = chrom_text[region]
    rows[:n, 1] = pos_text
    rows[:n, 2] = bases[reference.codes[pieces.start]]
    rows[:n, 3] = middle
    rows[:n, 4] = end_text
    rows[:n, 5] = tail
    rows[:n, 6] = sample_text
    rows[:n, 7] = b""
    lengths = np.zeros(n + len(calls), dtype=np.int64)
    lengths[:n] = (np.array([len(c) for c in chrom_text], dtype=np.int64)[region] + pos_len + 5 + len(middle)
                   + end_len + len(tail) + sample_len)
    for number, call in enumerate(calls):
        line = _gvcf_variant_line(call)
        rows[n + number, :] = b""
        rows[n + number, 0] = line
        lengths[n + number] = len(line)
    starts = np.concatenate([pieces.start, call_start])
    order = np.argsort(starts, kind="stable")
    rows, lengths = rows[order], lengths[order]
    begin_genomic = np.concatenate([genomic_start, np.array([c.pos for c in calls], dtype=np.int64)])[order]
    end_genomic = np.concatenate([genomic_end, np.array([c.pos + len(c.ref) for c in calls], dtype=np.int64)])[order]
    chroms = np.concatenate([region, np.searchsorted(reference.offsets, call_start, side="right") - 1])[order]
    index = TabixIndexBuilder()
    with BgzfWriter(path, level=level, threads=threads) as out:
        out.write(header)
        base = out.tell()
        region_tid = np.array([index.contig_id(r.chrom) for r in reference.regions], dtype=np.int64)
        tids = region_tid[chroms]
        begin = base + np.concatenate([[0], np.cumsum(lengths)[:-1]])
        index.add(tids, begin_genomic, end_genomic, begin, begin + lengths)
        for first in range(0, len(rows), _LINES_PER_WRITE):  # in slices: bounded memory per sample
            out.write(b"".join(rows[first:first + _LINES_PER_WRITE].ravel().tolist()))
    index.write(Path(f"{path}.tbi"), out)
    return n, len(calls)


def _gvcf_variant_line(call: Call) -> bytes:
    """A variant record as HaplotypeCaller writes it in a gVCF: the ALTs plus ``<NON_REF>``."""
    reads = (*call.depths, 0)
    pls = genotype_pls(reads, len(call.alleles))
    gt = "/".join(map(str, call.alleles))
    qual = max(pls[0], 0)
    alts = ",".join([*call.alts, "<NON_REF>"])
    return (f"{call.chrom}\t{call.pos + 1}\t.\t{call.ref}\t{alts}\t{qual}.00\t.\tDP={call.depth}\tGT:AD:DP:GQ:PL\t"
            f"{gt}:{','.join(map(str, reads))}:{call.depth}:{call.gq}:{','.join(map(str, pls))}\n").encode("ascii")
