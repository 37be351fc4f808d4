"""A synthetic reference sequence for the simulated regions, consistent with the real gene models.

There is no GRCh38 FASTA in the project's data (3 GB), yet annotation needs one that makes
biological sense: a coding transcript must start with ATG, end on a stop codon, have no stop codon
before that in frame, and every intron must start with GT and end with AG. We draw a random
background (seeded), then impose those bases for every coding transcript held by the regions,
then break each premature in-frame stop by changing one base that no gene model pins. Changing a
base can create a stop in another transcript that overlaps (other frame or other strand), so the
repair runs until a pass changes nothing.

:func:`check_gene_models` verifies the same properties through the :class:`ReferenceGenome`
interface, with plain strings: the slow obvious oracle that tests run against the FASTA written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from genomed.annotate.mane import Transcript
from genomed.errors import InputError, ReferenceSequenceError
from genomed.genome.builds import GRCH38
from genomed.genome.reference import ReferenceGenome, Region
from genomed.simulate.regions import merge_regions, transcripts_within

BASES = "ACGT"
_CODE = {base: code for code, base in enumerate(BASES)}
_ASCII = np.frombuffer(BASES.encode("ascii"), dtype=np.uint8)
_LOOKUP = np.full(256, 255, dtype=np.uint8)
for _code, _base in enumerate(BASES.encode("ascii")):
    _LOOKUP[_base] = _code
    _LOOKUP[ord(chr(_base).lower())] = _code

# Codons as 16*b0 + 4*b1 + b2 with A=0 C=1 G=2 T=3.
START = 16 * _CODE["A"] + 4 * _CODE["T"] + _CODE["G"]
STOP_CODONS = ("TAA", "TAG", "TGA")
STOPS = np.array([16 * _CODE[c[0]] + 4 * _CODE[c[1]] + _CODE[c[2]] for c in STOP_CODONS], dtype=np.int64)
_COMPLEMENT = str.maketrans("ACGTN", "TGCAN")
# Human genome base composition (about 41% GC).
BACKGROUND = (0.295, 0.205, 0.205, 0.295)

Codes = npt.NDArray[np.uint8]
Index = npt.NDArray[np.int64]


def reverse_complement(sequence: str) -> str:
    """The other strand, read 5' to 3'.

    >>> reverse_complement("ATGCCN")
    'NGGCAT'
    """
    return sequence.translate(_COMPLEMENT)[::-1]


def encode(sequence: str) -> Codes:
    """Bases as codes 0-3 (A, C, G, T); anything else is an error.

    >>> encode("ACgt").tolist()
    [0, 1, 2, 3]
    """
    codes = _LOOKUP[np.frombuffer(sequence.encode("ascii"), dtype=np.uint8)]
    if codes.size and int(codes.max()) == 255:
        raise InputError(f"not a nucleotide sequence: {sequence[:40]!r}")
    return codes


class SyntheticReference:
    """Bases of a set of regions, held as one array of codes; a :class:`ReferenceGenome`."""

    def __init__(self, regions: Sequence[Region], codes: Codes, build: str = GRCH38) -> None:
        self.build = build
        self.regions = tuple(regions)
        lengths = np.array([r.length for r in self.regions], dtype=np.int64)
        if int(lengths.sum()) != codes.size:
            raise ReferenceSequenceError("synthetic reference: sequence length does not match its regions")
        self.codes = codes
        self.offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        self._by_chrom: dict[str, tuple[Index, Index, Index]] = {}
        for chrom in dict.fromkeys(r.chrom for r in self.regions):
            ids = np.array([i for i, r in enumerate(self.regions) if r.chrom == chrom], dtype=np.int64)
            starts = np.array([self.regions[i].start for i in ids], dtype=np.int64)
            ends = np.array([self.regions[i].end for i in ids], dtype=np.int64)
            self._by_chrom[chrom] = (ids, starts, ends)

    def index(self, chrom: str, positions: npt.ArrayLike) -> Index:
        """Indices into :attr:`codes` of 0-based genomic positions; an error for any outside the regions."""
        pos = np.asarray(positions, dtype=np.int64)
        if chrom not in self._by_chrom:
            raise ReferenceSequenceError(f"{chrom} is not in the synthetic reference")
        ids, starts, ends = self._by_chrom[chrom]
        slot = np.searchsorted(starts, pos, side="right") - 1
        inside = (slot >= 0) & (pos < ends[np.maximum(slot, 0)])
        if not bool(np.all(inside)):
            bad = int(pos[~inside][0])
            raise ReferenceSequenceError(f"{chrom}:{bad} is outside the synthetic reference regions")
        region_ids = ids[slot]
        result: Index = self.offsets[region_ids] + (pos - starts[slot])
        return result

    def region_of(self, chrom: str, start: int, end: int) -> int | None:
        """Index of the region holding ``[start, end)`` whole, or None."""
        found = self._by_chrom.get(chrom)
        if found is None:
            return None
        ids, starts, ends = found
        slot = int(np.searchsorted(starts, start, side="right")) - 1
        if slot < 0 or end > int(ends[slot]) or start > end:
            return None
        return int(ids[slot])

    def has(self, chrom: str, start: int, end: int) -> bool:
        return self.region_of(chrom, start, end) is not None

    def fetch(self, chrom: str, start: int, end: int) -> str:
        region = self.region_of(chrom, start, end)
        if region is None:
            raise ReferenceSequenceError(f"{chrom}:{start}-{end} is outside the synthetic reference regions")
        offset = int(self.offsets[region]) + start - self.regions[region].start
        return _ASCII[self.codes[offset:offset + end - start]].tobytes().decode("ascii")

    def write_fasta(self, path: Path, line_width: int = 60) -> Path:
        """Write a regional FASTA (records named ``chrom:start-end``) and its ``.fai`` index."""
        import pysam

        with open(path, "wb") as out:
            for number, region in enumerate(self.regions):
                out.write(f">{region.name}\n".encode("ascii"))
                seq = _ASCII[self.codes[self.offsets[number]:self.offsets[number + 1]]].tobytes()
                out.write(b"\n".join(seq[i:i + line_width] for i in range(0, len(seq), line_width)))
                out.write(b"\n")
        pysam.faidx(str(path))
        return path


def _cds_index(reference: SyntheticReference, transcript: Transcript) -> Index:
    """Indices of the CDS bases in transcript order (5' to 3' on the transcript's strand)."""
    parts = [np.arange(start, end, dtype=np.int64) for start, end in transcript.cds_exons()]
    genomic = reference.index(transcript.chrom, np.concatenate(parts))
    return genomic[::-1].copy() if transcript.strand == "-" else genomic


def _strand_codes(codes: Codes, strand: str) -> Codes:
    return (3 - codes).astype(np.uint8) if strand == "-" else codes


class _Builder:
    def __init__(self, reference: SyntheticReference, rng: np.random.Generator) -> None:
        self.ref = reference
        self.rng = rng
        self.fixed = np.zeros(reference.codes.size, dtype=bool)
        self.dirty = np.zeros(reference.codes.size, dtype=bool)
        self.conflicts: list[str] = []

    def pin(self, index: Index, transcript_bases: str | Sequence[str], strand: str, why: str) -> None:
        """Fix bases (given on the transcript's strand, in its order); with several options, one
        that agrees with the bases other models already fixed there, drawn at random."""
        options = [transcript_bases] if isinstance(transcript_bases, str) else list(transcript_bases)
        fitting = []
        for option in options:
            codes = _strand_codes(encode(option), strand)
            if not bool((self.fixed[index] & (self.ref.codes[index] != codes)).any()):
                fitting.append(codes)
        if not fitting:
            self.conflicts.append(why)
            codes = _strand_codes(encode(options[0]), strand)
            keep = ~self.fixed[index]
            index, codes = index[keep], codes[keep]
        else:
            codes = fitting[int(self.rng.integers(len(fitting)))] if len(fitting) > 1 else fitting[0]
        self.ref.codes[index] = codes
        self.fixed[index] = True

    def pin_starts(self, t: Transcript, cds: Index) -> None:
        if t.cds_start_status == "cmpl":
            self.pin(cds[:3], "ATG", t.strand, f"{t.gene_symbol} {t.ensembl_id} start codon")

    def pin_stops(self, t: Transcript, cds: Index) -> None:
        # Any of the three stops, preferring one that fits bases already fixed: a stop codon can
        # share bases with the next gene's start codon (bicistronic CHTF8/DERPC: ...ATGA...).
        if t.cds_end_status == "cmpl":
            self.pin(cds[-3:], STOP_CODONS, t.strand, f"{t.gene_symbol} {t.ensembl_id} stop codon")

    def pin_splice_sites(self, t: Transcript) -> None:
        """GT..AG at every intron, all introns of a transcript at once (genomic strand: CT..AC on -)."""
        introns = np.array([(s, e) for s, e in t.introns() if e - s >= 4], dtype=np.int64).reshape(-1, 2)
        if not introns.size:  # shorter introns would overlap donor and acceptor: nothing sensible to impose
            return
        starts, ends = introns[:, 0], introns[:, 1]
        genomic = np.stack([starts, starts + 1, ends - 2, ends - 1], axis=1)
        index = self.ref.index(t.chrom, genomic.ravel()).reshape(-1, 4)
        want = encode("GTAG" if t.strand == "+" else "CTAC")[None, :].repeat(len(introns), axis=0)
        clash = (self.fixed[index] & (self.ref.codes[index] != want)).any(axis=1)
        for number in np.flatnonzero(clash).tolist():
            self.conflicts.append(f"{t.gene_symbol} {t.ensembl_id} splice sites of intron {number + 1}")
        free = ~self.fixed[index]
        self.ref.codes[index[free]] = want[free]
        self.fixed[index] = True

    def break_stops(self, t: Transcript, cds: Index) -> int:
        """Change one free base of each premature in-frame stop; the number changed."""
        codons = _strand_codes(self.ref.codes[cds], t.strand).astype(np.int64).reshape(-1, 3)
        values = codons[:, 0] * 16 + codons[:, 1] * 4 + codons[:, 2]
        stops = np.flatnonzero(np.isin(values[:-1], STOPS))
        for codon in stops.tolist():
            for offset, choices in ((0, (0, 1, 2)), (1, (1, 3)), (2, (1, 3))):
                # any first base but T, or C/T second or third, and the codon is no longer a stop
                position = int(cds[3 * codon + offset])
                if not self.fixed[position]:
                    base = choices[int(self.rng.integers(len(choices)))]
                    self.ref.codes[position] = 3 - base if t.strand == "-" else base
                    self.dirty[position] = True
                    break
            else:
                self.conflicts.append(f"{t.gene_symbol} {t.ensembl_id}: codon {codon + 1} is a stop made of "
                                      "bases other gene models fix")
        return int(stops.size)


def build_reference(regions: Sequence[Region], transcripts: Iterable[Transcript], rng: np.random.Generator, *,
                    build: str = GRCH38, pinned: Mapping[tuple[str, int], str] | None = None,
                    max_rounds: int = 50) -> tuple[SyntheticReference, list[str]]:
    """A random sequence for ``regions`` honouring every coding transcript they hold entirely.

    ``pinned`` fixes given bases first ((chrom, 0-based position) -> bases), e.g. the reference
    allele of real variants at their real positions. Returns the reference and the conflicts met
    (gene models that demand different bases at one position; empty for MANE regions in practice).
    """
    merged = merge_regions(regions)
    total = sum(r.length for r in merged)
    draw = rng.random(total, dtype=np.float32)
    codes = np.zeros(total, dtype=np.uint8)
    for threshold in np.cumsum(BACKGROUND)[:-1]:  # base = number of thresholds the draw passes
        codes += draw >= threshold
    reference = SyntheticReference(merged, codes, build)
    builder = _Builder(reference, rng)
    for (chrom, position), bases in (pinned or {}).items():
        index = reference.index(chrom, np.arange(position, position + len(bases)))
        builder.pin(index, bases.upper(), "+", f"pinned {chrom}:{position + 1}")
    held = transcripts_within(merged, transcripts)
    coding = [(t, _cds_index(reference, t)) for t in held if t.coding and t.cds_length % 3 == 0]
    # Fixed start codons first, then splice sites, then stop codons, which can pick whichever of
    # TAA/TAG/TGA fits what is already there.
    for t, cds in coding:
        builder.pin_starts(t, cds)
    for t in held:
        builder.pin_splice_sites(t)
    for t, cds in coding:
        builder.pin_stops(t, cds)
    for round_number in range(max_rounds):
        # After the first pass only transcripts with a base changed by the previous pass can have
        # gained a stop; checking just those keeps a whole-exome reference to seconds.
        dirty, builder.dirty = builder.dirty, np.zeros_like(builder.dirty)
        todo = [(t, cds) for t, cds in coding if round_number == 0 or bool(dirty[cds].any())]
        if sum(builder.break_stops(t, cds) for t, cds in todo) == 0:
            break
    else:
        builder.conflicts.append(f"premature stops remain after {max_rounds} rounds of repair")
    return reference, builder.conflicts


def check_gene_models(reference: ReferenceGenome, transcripts: Iterable[Transcript]) -> list[str]:
    """Every way the reference contradicts a coding transcript's model; empty when it honours them all.

    Checks, on the transcript's strand: ATG start (complete CDS starts only), a stop codon at the
    CDS end, no stop codon earlier in frame, GT at each intron start and AG at its end. Written
    with plain strings through ``fetch``, so that it is an independent oracle for the builder.
    """
    problems: list[str] = []
    for t in transcripts:
        if not t.coding:
            continue
        name = f"{t.gene_symbol} {t.ensembl_id} ({t.strand})"
        try:
            cds = "".join(reference.fetch(t.chrom, start, end) for start, end in t.cds_exons())
            introns = [(reference.fetch(t.chrom, s, s + 2), reference.fetch(t.chrom, e - 2, e))
                       for s, e in t.introns() if e - s >= 4]
        except ReferenceSequenceError as exc:
            problems.append(f"{name}: not covered by the reference ({exc})")
            continue
        if t.strand == "-":
            cds = reverse_complement(cds)
            introns = [(reverse_complement(b), reverse_complement(a)) for a, b in reversed(introns)]
        if len(cds) % 3:
            problems.append(f"{name}: CDS length {len(cds)} is not a multiple of 3")
            continue
        codons = [cds[i:i + 3] for i in range(0, len(cds), 3)]
        if t.cds_start_status == "cmpl" and codons[0] != "ATG":
            problems.append(f"{name}: starts with {codons[0]}, not ATG")
        if t.cds_end_status == "cmpl" and codons[-1] not in STOP_CODONS:
            problems.append(f"{name}: ends with {codons[-1]}, not a stop codon")
        premature = [i + 1 for i, codon in enumerate(codons[:-1]) if codon in STOP_CODONS]
        if premature:
            problems.append(f"{name}: premature stop codon(s) at codon {premature[:5]}")
        for number, (donor, acceptor) in enumerate(introns, start=1):
            if donor != "GT" or acceptor != "AG":
                problems.append(f"{name}: intron {number} is {donor}..{acceptor}, not GT..AG")
    return problems
