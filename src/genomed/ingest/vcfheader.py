"""Checks made on a VCF before any record is read: format, genome build, samples, file integrity.

Why before: a file called on another build, or naming a sample the catalog does not know, must be
refused before anything is staged — and these checks need only the header (and the last 28 bytes
of a bgzip file). The header is read here in Python rather than through htslib so that line
numbers in later error messages are exact and the header's bytes can be handed to file segments
read in parallel (:mod:`genomed.ingest.bgzf`).
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from genomed.errors import InputError, MalformedVCFError, TruncatedFileError, UnknownSampleError, WrongBuildError
from genomed.genome.builds import BUILDS, canonical_name, detect_build
from genomed.ingest.bgzf import BGZF_EOF
from genomed.ingest.chunks import BatchSample
from genomed.ingest.decode import primary_ucsc

_CONTIG_LINE = re.compile(r"^##contig=<(.*)>\s*$")
_COLUMNS = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]


@dataclass
class VCFHeader:
    """What the reader needs from a VCF header."""

    path: Path
    lines: int                                  # header lines, so record i (1-based) is on line lines + i
    fileformat: str
    contigs: dict[str, int | None]              # declared contigs and their lengths, if given
    samples: list[str]
    format_types: dict[str, str] = field(default_factory=dict)
    raw: bytes = b""                            # the header exactly as stored, #CHROM line included


def is_gzip(path: Path) -> bool:
    """Whether the file is gzip-compressed (BGZF or plain gzip, both of which htslib reads)."""
    with path.open("rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


def is_bgzf(path: Path) -> bool:
    """Whether the file is BGZF: gzip whose first member carries the 'BC' extra subfield."""
    with path.open("rb") as handle:
        head = handle.read(16)
    return len(head) == 16 and head[:4] == b"\x1f\x8b\x08\x04" and head[12:14] == b"BC"


def check_bgzf_eof(path: Path) -> None:
    """Refuse a bgzip file that lacks the 28-byte end-of-file block every bgzip writer appends.

    A file cut exactly between two blocks would otherwise read as a shorter, valid file.
    """
    size = path.stat().st_size
    with path.open("rb") as handle:
        handle.seek(max(0, size - len(BGZF_EOF)))
        tail = handle.read()
    if tail != BGZF_EOF:
        raise TruncatedFileError(f"{path}: the bgzip file ends without its end-of-file marker; it is truncated "
                                 "(an interrupted copy?). Send the complete file again.")


def read_header(path: Path) -> VCFHeader:
    """The header of a VCF (plain or gzipped), with its exact bytes and line count."""
    contigs: dict[str, int | None] = {}
    format_types: dict[str, str] = {}
    fileformat = ""
    lines = 0
    raw: list[bytes] = []
    try:
        with _open_binary(path) as handle:
            for data in handle:
                lines += 1
                raw.append(data)
                line = data.decode("utf-8", "replace")
                if lines == 1:
                    if not line.startswith("##fileformat=VCF"):
                        raise MalformedVCFError(f"{path}: line 1 is not '##fileformat=VCFv4.x'; is this a VCF "
                                                f"file? (starts with {line[:40]!r})")
                    fileformat = line.strip().split("=", 1)[1]
                    continue
                if line.startswith("##contig="):
                    _parse_contig(path, lines, line, contigs)
                elif line.startswith("##FORMAT=<"):
                    fid = re.search(r"[<,]ID=([^,>]+)", line)
                    ftype = re.search(r"[<,]Type=([^,>]+)", line)
                    if fid and ftype:
                        format_types[fid.group(1)] = ftype.group(1)
                elif line.startswith("#CHROM"):
                    columns = line.rstrip("\r\n").split("\t")
                    if columns[:8] != _COLUMNS:
                        raise MalformedVCFError(f"{path} line {lines}: the column header is not the VCF one "
                                                "(tab-separated #CHROM POS ID REF ALT QUAL FILTER INFO ...)")
                    samples = columns[9:] if len(columns) > 9 else []
                    return VCFHeader(path, lines, fileformat, contigs, samples, format_types, b"".join(raw))
                elif not line.startswith("##"):
                    raise MalformedVCFError(f"{path} line {lines}: a record before the #CHROM column header")
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise TruncatedFileError(f"{path}: the file ends (or is corrupt) inside its header, at line {lines}: "
                                 f"{exc}") from exc
    if lines == 0:
        raise MalformedVCFError(f"{path}: the file is empty")
    raise MalformedVCFError(f"{path}: no #CHROM column header line after {lines} header lines")


def _open_binary(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if is_gzip(path) else path.open("rb")  # type: ignore[return-value]


def _parse_contig(path: Path, number: int, line: str, contigs: dict[str, int | None]) -> None:
    match = _CONTIG_LINE.match(line.rstrip("\r\n"))
    if match is None:
        raise MalformedVCFError(f"{path} line {number}: malformed ##contig line")
    fields = dict(part.split("=", 1) for part in re.findall(r"(?:^|,)([A-Za-z_]+=[^,]*)", match.group(1)))
    name = fields.get("ID")
    if not name:
        raise MalformedVCFError(f"{path} line {number}: ##contig line without an ID")
    length = fields.get("length")
    if length is not None and not length.isdigit():
        raise MalformedVCFError(f"{path} line {number}: contig {name} has a non-numeric length {length!r}")
    contigs[name] = int(length) if length is not None else None


def check_build(header: VCFHeader, expected_build: str) -> tuple[str, str | None]:
    """The build of a file (from its contig lengths) and a note when it could not be confirmed.

    Raises :class:`WrongBuildError` when the lengths say another build, or no known build. A header
    without primary contig lengths cannot prove its build: it is read as ``expected_build`` (the
    reader then checks every position against that build's contig lengths), and the note says so.
    """
    if expected_build not in BUILDS:
        raise InputError(f"unknown genome build {expected_build!r}; expected one of {', '.join(BUILDS)}")
    declared = {name: length for name, length in header.contigs.items() if length is not None}
    primary = {name: length for name, length in declared.items()
               if primary_ucsc(name) is not None and canonical_name(name) != "MT"}
    if not primary:
        return expected_build, (f"the header declares no primary contig lengths, so the genome build could not "
                                f"be confirmed; read as {expected_build}, with every position checked against "
                                f"its contig lengths")
    found = detect_build(declared)
    if found is None:
        raise WrongBuildError(f"{header.path}: the ##contig lengths match neither GRCh37 nor GRCh38 "
                              f"(this node is {expected_build}); was it called on another reference?")
    if found != expected_build:
        raise WrongBuildError(f"{header.path} was called on {found} (from its ##contig lengths) but this node "
                              f"stores {expected_build}; lift it over or call it again on {expected_build}")
    return found, None


def match_samples(path: Path, columns: list[str], sample_names: Mapping[str, str] | None) -> list[BatchSample]:
    """The file's sample columns as batch samples labelled with catalog sample labels."""
    duplicated = sorted(name for name, count in Counter(columns).items() if count > 1)
    if duplicated:
        raise MalformedVCFError(f"{path}: sample column(s) appear twice: {', '.join(duplicated[:5])}")
    if sample_names is None:
        return [BatchSample(index=i, name=name) for i, name in enumerate(columns)]
    unknown = [name for name in columns if name not in sample_names]
    if unknown:
        shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        raise UnknownSampleError(f"{path}: {len(unknown)} sample column(s) match no catalog sample: {shown}")
    labels = [sample_names[name] for name in columns]
    repeated = sorted(label for label, count in Counter(labels).items() if count > 1)
    if repeated:
        raise UnknownSampleError(f"{path}: several columns map to the same catalog sample: {', '.join(repeated)}")
    return [BatchSample(index=i, name=label) for i, label in enumerate(labels)]
