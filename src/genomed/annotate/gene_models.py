"""Gene models from GFF3 (Ensembl) and GTF (GENCODE/Ensembl) files, as MANE-style transcripts.

The annotator only knows :class:`genomed.annotate.mane.Transcript` (0-based half-open exons and
CDS, the stop codon inside the CDS), so any release a node prefers — all Ensembl or GENCODE
transcripts rather than MANE's one per gene — can back it once read into that shape. The two
formats disagree on one thing that matters: Ensembl GFF3 ``CDS`` features include the stop codon,
while GTF ``CDS`` features stop before it and carry it as a separate ``stop_codon`` feature; both
are folded into ``cds_end`` here so that every loader yields the same coordinates as MANE.
"""

from __future__ import annotations

import functools
import gzip
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from genomed.annotate.mane import PRIMARY_CHROMS, Transcript
from genomed.errors import InputError
from genomed.genome.builds import ucsc_name

# Feature types that hold a transcript's parts in either format.
_CODING_PARTS = ("CDS", "stop_codon")
_PART_KINDS = frozenset({"exon", *_CODING_PARTS})
_INCOMPLETE_START = ("cds_start_NF", "mRNA_start_NF")
_INCOMPLETE_END = ("cds_end_NF", "mRNA_end_NF")


@dataclass
class _Draft:
    """A transcript being assembled from its features, which may come in any order."""

    chrom: str
    strand: str
    transcript_id: str
    gene_id: str = ""
    gene_symbol: str = ""
    protein_id: str = ""
    tags: set[str] = field(default_factory=set)
    exons: list[tuple[int, int]] = field(default_factory=list)
    coding: list[tuple[int, int]] = field(default_factory=list)
    phases: dict[tuple[int, int], str] = field(default_factory=dict)

    def build(self, genes: dict[str, tuple[str, str]]) -> Transcript | None:
        if not self.exons:
            return None
        exons = _merge(self.exons)
        gene_id, symbol = genes.get(self.gene_id, (self.gene_id, self.gene_symbol))
        start, end = exons[0][0], exons[-1][1]
        if self.coding:
            self.coding = _merge(self.coding)
            cds_start = min(s for s, _ in self.coding)
            cds_end = max(e for _, e in self.coding)
        else:
            cds_start = cds_end = start
        status = {"start": "cmpl", "end": "cmpl"}
        # A 5'-most CDS part that does not start in phase 0 begins mid-codon: an incomplete start,
        # whether or not the file tags it; a complete start with a length off the frame then has no stop.
        raw = list(self.phases) or self.coding or [(start, start)]
        first = min(raw) if self.strand == "+" else max(raw, key=lambda part: part[1])
        start_open = bool(self.tags & set(_INCOMPLETE_START)) or self.phases.get(first, "0") not in ("0", ".")
        end_open = bool(self.tags & set(_INCOMPLETE_END)) or (
            not start_open and sum(e - s for s, e in _merge(self.coding)) % 3 != 0)
        if start_open:
            status["start" if self.strand == "+" else "end"] = "incmpl"
        if end_open:
            status["end" if self.strand == "+" else "start"] = "incmpl"
        return Transcript(
            chrom=self.chrom, start=start, end=end, strand=self.strand, exons=tuple(exons), cds_start=cds_start,
            cds_end=cds_end, gene_symbol=symbol or self.gene_symbol or gene_id, gene_id=gene_id,
            ensembl_id=self.transcript_id, refseq_id="", protein_id=self.protein_id, mane_status="",
            cds_start_status=status["start"] if self.coding else "none",
            cds_end_status=status["end"] if self.coding else "none",
        )


def _merge(parts: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(parts):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


@functools.cache
def _chrom(seqid: str) -> str:
    """The UCSC name of a primary chromosome (``21`` -> ``chr21``), other sequence names as they are (cached:
    naming is slower than reading a transcript, and a file names a few dozen sequences)."""
    name = ucsc_name(seqid)
    return name if name in PRIMARY_CHROMS else seqid


def _lines(path: Path) -> Iterator[tuple[int, list[str]]]:
    """Feature lines split into their nine columns, with 1-based line numbers for error messages."""
    if not Path(path).is_file():
        raise InputError(f"gene model file not found: {path}")
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip() or line.startswith("#"):
                    continue
                columns = line.rstrip("\n").split("\t")
                if len(columns) != 9:
                    raise InputError(f"{path}, line {number}: {len(columns)} tab-separated columns, GFF/GTF has 9")
                yield number, columns
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read gene model file {path}: {exc}") from exc


def _interval(path: Path, number: int, columns: list[str]) -> tuple[int, int]:
    try:
        start, end = int(columns[3]) - 1, int(columns[4])
    except ValueError as exc:
        raise InputError(f"{path}, line {number}: start/end are not integers ({columns[3]!r}, {columns[4]!r})") from exc
    if start < 0 or end <= start:
        raise InputError(f"{path}, line {number}: empty or negative interval {columns[3]}-{columns[4]}")
    return start, end


def _versioned(identifier: str, version: str | None) -> str:
    return f"{identifier}.{version}" if version and "." not in identifier else identifier


def load_gff3(path: Path) -> list[Transcript]:
    """Every transcript of an Ensembl-style GFF3 (``ID=transcript:…``, exons and CDS as children).

    Identifiers get their ``version`` attribute appended (``ENST00000624081.1``); gene symbols come
    from the parent gene's ``Name``. Transcripts are returned sorted by chromosome and start.

    Ensembl GFF3 CDS features include the stop codon, which is what :class:`Transcript` expects.
    """
    drafts: dict[str, _Draft] = {}
    genes: dict[str, tuple[str, str]] = {}
    parts: list[tuple[str, str, tuple[int, int], str, str]] = []
    for number, columns in _lines(path):
        kind, strand, text = columns[2], columns[6], columns[8]
        if kind not in _PART_KINDS and "gene:" not in text and "transcript:" not in text:
            # Neither a part nor a gene or transcript (ID=gene:/transcript:...): UTR, region and
            # chromosome lines, a fifth of Ensembl's; only their form is checked, not their values.
            _check_gff3_attributes(path, number, text)
            continue
        if kind in _PART_KINDS and "ID=gene:" not in text and "ID=transcript:" not in text:
            part = _gff3_attributes(path, number, text)
            parents, protein_id = part.get("Parent", ""), part.get("protein_id", "")
            for parent in parents.split(","):
                parts.append((parent, kind, _interval(path, number, columns), protein_id, columns[7]))
            continue
        attributes = _gff3_attributes(path, number, text)
        identifier = attributes.get("ID", "")
        if identifier.startswith("gene:"):
            gene_id = _versioned(attributes.get("gene_id", identifier[5:]), attributes.get("version"))
            genes[identifier] = (gene_id, attributes.get("Name", gene_id))
        elif identifier.startswith("transcript:"):
            if strand not in ("+", "-"):
                raise InputError(f"{path}, line {number}: transcript strand {strand!r} is not + or -")
            drafts[identifier] = _Draft(
                chrom=_chrom(columns[0]), strand=strand,
                transcript_id=_versioned(attributes.get("transcript_id", identifier[11:]), attributes.get("version")),
                gene_id=attributes.get("Parent", ""), tags=set(attributes.get("tag", "").split(",")))
        elif kind == "exon" or kind in _CODING_PARTS:
            for parent in attributes.get("Parent", "").split(","):
                parts.append((parent, kind, _interval(path, number, columns), attributes.get("protein_id", ""),
                              columns[7]))
    for parent, kind, interval, protein_id, phase in parts:
        draft = drafts.get(parent)
        if draft is None:
            continue  # exons of features we do not model (e.g. pseudogenic_transcript without an ID we know)
        if kind == "exon":
            draft.exons.append(interval)
        else:
            draft.coding.append(interval)
            draft.phases[interval] = phase
            draft.protein_id = draft.protein_id or protein_id
    return _finish(drafts.values(), genes)


def _attribute_pairs(path: Path, number: int, text: str) -> Iterator[tuple[str, str]]:
    """The ``key=value`` pairs of a GFF3 attribute column, values unescaped."""
    for item in text.strip().strip(";").split(";"):
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep:
            raise InputError(f"{path}, line {number}: attribute {item!r} is not key=value (is this a GTF file?)")
        yield key.strip(), unquote(value) if "%" in value else value


def _gff3_attributes(path: Path, number: int, text: str) -> dict[str, str]:
    return dict(_attribute_pairs(path, number, text))


def _check_gff3_attributes(path: Path, number: int, text: str) -> None:
    """What :func:`_gff3_attributes` refuses, without building the attributes."""
    for item in text.strip().strip(";").split(";"):
        if item and "=" not in item:
            raise InputError(f"{path}, line {number}: attribute {item!r} is not key=value (is this a GTF file?)")


def load_gtf(path: Path) -> list[Transcript]:
    """Every transcript of a GENCODE/Ensembl GTF, with each ``stop_codon`` folded into its CDS.

    Identifiers are kept as written (GENCODE's carry their version); ``cds_start_NF``/``cds_end_NF``
    tags mark incomplete coding ends. Transcripts are returned sorted by chromosome and start.
    """
    drafts: dict[str, _Draft] = {}
    for number, columns in _lines(path):
        kind = columns[2]
        if kind not in ("transcript", "exon", *_CODING_PARTS):
            continue
        attributes, tags = _gtf_attributes(path, number, columns[8])
        transcript_id = attributes.get("transcript_id")
        if not transcript_id:
            raise InputError(f"{path}, line {number}: {kind} feature without a transcript_id")
        draft = drafts.get(transcript_id)
        if draft is None:
            if columns[6] not in ("+", "-"):
                raise InputError(f"{path}, line {number}: strand {columns[6]!r} is not + or -")
            draft = drafts[transcript_id] = _Draft(
                chrom=_chrom(columns[0]), strand=columns[6],
                transcript_id=_versioned(transcript_id, attributes.get("transcript_version")),
                gene_id=_versioned(attributes.get("gene_id", ""), attributes.get("gene_version")),
                gene_symbol=attributes.get("gene_name", ""))
        draft.tags |= tags
        if kind == "exon":
            draft.exons.append(_interval(path, number, columns))
        elif kind in _CODING_PARTS:
            interval = _interval(path, number, columns)
            draft.coding.append(interval)
            if kind == "CDS":
                draft.phases[interval] = columns[7]
            protein = attributes.get("protein_id", "")
            draft.protein_id = draft.protein_id or _versioned(protein, attributes.get("protein_version"))
    return _finish(drafts.values(), {})


def _gtf_attributes(path: Path, number: int, text: str) -> tuple[dict[str, str], set[str]]:
    attributes: dict[str, str] = {}
    tags: set[str] = set()
    for item in text.strip().strip(";").split(";"):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition(" ")
        if not sep:
            raise InputError(f"{path}, line {number}: attribute {item!r} is not 'key \"value\"' (is this GFF3?)")
        value = value.strip().strip('"')
        if key == "tag":
            tags.add(value)
        else:
            attributes[key] = value
    return attributes, tags


def _finish(drafts: Iterable[_Draft], genes: dict[str, tuple[str, str]]) -> list[Transcript]:
    order = {chrom: i for i, chrom in enumerate(PRIMARY_CHROMS)}
    built = [t for t in (d.build(genes) for d in drafts) if t is not None]
    built.sort(key=lambda t: (order.get(t.chrom, len(order)), t.chrom, t.start, t.end, t.ensembl_id))
    return built


def load_gene_models(path: Path) -> list[Transcript]:
    """Transcripts from a GFF3 or GTF file, told apart by name (``.gff3``/``.gff`` vs ``.gtf``, gzipped or not)."""
    name = Path(path).name.lower().removesuffix(".gz")
    if name.endswith((".gff3", ".gff")):
        return load_gff3(path)
    if name.endswith(".gtf"):
        return load_gtf(path)
    raise InputError(f"cannot tell the format of gene model file {path}: expected .gff3, .gff or .gtf (optionally .gz)")
