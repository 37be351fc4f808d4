"""MANE transcripts (one agreed transcript per protein-coding gene) from the UCSC bigGenePred file.

MANE Select is the transcript that NCBI and EMBL-EBI agree to report a gene's variants on, and
MANE Plus Clinical adds the few more that clinical reporting needs. Reading it from the bigBed
that the data directory ships (``gene-models/mane.GRCh38.bb``) is quick (~0.1 s for all ~19,300
transcripts: the file is indexed and compressed per chromosome) and keeps the exon and CDS
structure that consequence annotation and the synthetic reference both need.

Coordinates are 0-based half-open throughout, like BED, so that ``end - start`` is a length and
adjacent intervals share a boundary.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from genomed.errors import InputError

MANE_FILE = "gene-models/mane.GRCh38.bb"
SELECT = "MANE Select"
PLUS_CLINICAL = "MANE Plus Clinical"

# Primary assembly only: MANE also places transcripts on alt and fix patches, which would duplicate
# genes for anyone iterating over "all transcripts".
PRIMARY_CHROMS: tuple[str, ...] = (*(f"chr{i}" for i in range(1, 23)), "chrX", "chrY", "chrM")

# Columns of the tab-separated "rest" that pyBigWig returns after (start, end), per the file's autoSql.
_NAME, _STRAND, _THICK_START, _THICK_END = 0, 2, 3, 4
_BLOCK_COUNT, _BLOCK_SIZES, _BLOCK_STARTS = 6, 7, 8
_CDS_START_STAT, _CDS_END_STAT = 10, 11
_GENE_ID, _GENE_SYMBOL, _PROTEIN_ID, _REFSEQ_ID, _MANE_STATUS = 14, 15, 17, 18, 21
_NCBI_GENE = 19
_REFSEQ_PROTEIN_ID = 20
_N_FIELDS = 22


@dataclass(frozen=True)
class Transcript:
    """One MANE transcript on the genome: exons and coding part, with its identifiers.

    ``cds_start``/``cds_end`` are the genomic bounds of the coding part including the stop codon
    (bigGenePred ``thickStart``/``thickEnd``); they are equal for a non-coding transcript.
    """

    chrom: str
    start: int
    end: int
    strand: str
    exons: tuple[tuple[int, int], ...]
    cds_start: int
    cds_end: int
    gene_symbol: str
    gene_id: str
    ensembl_id: str
    refseq_id: str
    protein_id: str
    mane_status: str
    cds_start_status: str = "cmpl"
    cds_end_status: str = "cmpl"
    refseq_protein_id: str = ""  # NP_ accession with version (HGVS p. is written on it); "" when unknown
    ncbi_gene: str = ""  # the NCBI (Entrez) gene as MANE writes it, e.g. "GeneID:1234"; "" when unknown

    @property
    def coding(self) -> bool:
        """Whether the transcript has a coding sequence."""
        return self.cds_end > self.cds_start

    @property
    def cds_complete(self) -> bool:
        """Whether both ends of the CDS are annotated as complete (a real start and stop codon)."""
        return self.coding and self.cds_start_status == "cmpl" and self.cds_end_status == "cmpl"

    @property
    def cds_length(self) -> int:
        """Length of the spliced coding sequence, stop codon included."""
        return sum(end - start for start, end in self.cds_exons())

    def cds_exons(self) -> tuple[tuple[int, int], ...]:
        """The parts of the exons inside the CDS, in ascending genomic order.

        >>> t = Transcript("chr1", 0, 100, "+", ((0, 10), (20, 40), (60, 100)), 5, 70,
        ...                "G", "ENSG1", "ENST1", "NM_1", "ENSP1", SELECT)
        >>> t.cds_exons(), t.cds_length
        (((5, 10), (20, 40), (60, 70)), 35)
        """
        parts = []
        for start, end in self.exons:
            lo, hi = max(start, self.cds_start), min(end, self.cds_end)
            if lo < hi:
                parts.append((lo, hi))
        return tuple(parts)

    def introns(self) -> tuple[tuple[int, int], ...]:
        """The gaps between consecutive exons, in ascending genomic order."""
        return tuple((a_end, b_start) for (_, a_end), (b_start, _) in zip(self.exons, self.exons[1:], strict=False))


def _parse_ints(field: str) -> list[int]:
    return [int(value) for value in field.rstrip(",").split(",") if value]


def parse_entry(chrom: str, start: int, end: int, rest: str) -> Transcript:
    """One bigGenePred entry as a :class:`Transcript`; an :class:`InputError` names a malformed one."""
    fields = rest.split("\t")
    if len(fields) < _N_FIELDS:
        raise InputError(f"MANE entry {chrom}:{start}-{end} has {len(fields)} fields, expected {_N_FIELDS}")
    try:
        sizes = _parse_ints(fields[_BLOCK_SIZES])
        offsets = _parse_ints(fields[_BLOCK_STARTS])
        count = int(fields[_BLOCK_COUNT])
        cds_start, cds_end = int(fields[_THICK_START]), int(fields[_THICK_END])
    except ValueError as exc:
        raise InputError(f"MANE entry {chrom}:{start}-{end} ({fields[_NAME]}): {exc}") from exc
    if not (count == len(sizes) == len(offsets)) or fields[_STRAND] not in ("+", "-"):
        raise InputError(f"MANE entry {chrom}:{start}-{end} ({fields[_NAME]}) has inconsistent exon blocks")
    exons = tuple(sorted((start + offset, start + offset + size) for offset, size in zip(offsets, sizes, strict=True)))
    if cds_start >= cds_end:  # non-coding: normalise to an empty CDS at the transcript start
        cds_start = cds_end = start
    return Transcript(
        chrom=chrom, start=start, end=end, strand=fields[_STRAND], exons=exons, cds_start=cds_start,
        cds_end=cds_end, gene_symbol=fields[_GENE_SYMBOL], gene_id=fields[_GENE_ID], ensembl_id=fields[_NAME],
        refseq_id=fields[_REFSEQ_ID], protein_id=fields[_PROTEIN_ID], mane_status=fields[_MANE_STATUS],
        cds_start_status=fields[_CDS_START_STAT], cds_end_status=fields[_CDS_END_STAT],
        refseq_protein_id=fields[_REFSEQ_PROTEIN_ID] if fields[_REFSEQ_PROTEIN_ID] != "none" else "",
        ncbi_gene=fields[_NCBI_GENE] if fields[_NCBI_GENE] != "none" else "",
    )


def load_mane(path: Path | None = None, *, select_only: bool = True,
              chroms: Iterable[str] | None = None) -> list[Transcript]:
    """All MANE transcripts of the primary assembly, in karyotype order (chr1..chr22, X, Y) then start.

    ``select_only`` keeps the one MANE Select transcript per gene (drop it to add Plus Clinical);
    ``chroms`` restricts to some chromosomes (UCSC names, ``chr1``...). The whole file is read
    chromosome by chromosome in one call each, which is what keeps loading under a second.
    """
    import pyBigWig  # imported here: only annotation and simulation need the bigBed reader

    from genomed.data import data_file

    source = path if path is not None else data_file(MANE_FILE)
    if not Path(source).is_file():
        raise InputError(f"MANE file not found: {source}")
    try:
        bb = pyBigWig.open(str(source))
    except RuntimeError as exc:
        raise InputError(f"cannot open MANE bigBed {source}: {exc}") from exc
    if bb is None or not bb.isBigBed():
        raise InputError(f"{source} is not a bigBed file")
    wanted = set(PRIMARY_CHROMS if chroms is None else chroms) & set(PRIMARY_CHROMS)
    transcripts: list[Transcript] = []
    try:
        for chrom, length in bb.chroms().items():
            if chrom not in wanted:
                continue
            for start, end, rest in bb.entries(chrom, 0, length) or ():
                transcript = parse_entry(chrom, start, end, rest)
                if select_only and transcript.mane_status != SELECT:
                    continue
                transcripts.append(transcript)
    finally:
        bb.close()
    order = {chrom: i for i, chrom in enumerate(PRIMARY_CHROMS)}
    transcripts.sort(key=lambda t: (order[t.chrom], t.start, t.end, t.ensembl_id))
    return transcripts
