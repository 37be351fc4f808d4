"""Reference sequences behind one small interface, whatever file holds them.

Normalisation (left-aligning indels), annotation and the simulator only ever ask two questions of
a reference: "what are the bases of chrom:[start, end)?" and "do you know them?". Putting those
behind :class:`ReferenceGenome` lets a node use the real GRCh38 FASTA it was given, while tests and
the demo use the synthetic *regional* FASTA the simulator writes (only the simulated gene regions,
each a record named like ``chr1:1001-2000``), without the callers knowing which.

Coordinates are 0-based half-open; sequences come back upper-case (soft-masking is not information
any caller here needs).
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable

from genomed.errors import ReferenceSequenceError
from genomed.genome.builds import canonical_name, detect_build, ucsc_name

_REGION_NAME = re.compile(r"^(?P<chrom>[^:\s]+):(?P<start>[0-9,]+)-(?P<end>[0-9,]+)$")


@runtime_checkable
class ReferenceGenome(Protocol):
    """The bases of a genome build, or of the parts of it that a file holds."""

    build: str

    def fetch(self, chrom: str, start: int, end: int) -> str:
        """Upper-case bases of ``chrom:[start, end)``; :class:`ReferenceSequenceError` if unknown."""
        ...

    def has(self, chrom: str, start: int, end: int) -> bool:
        """Whether every base of ``chrom:[start, end)`` is known."""
        ...


@dataclass(frozen=True, order=True)
class Region:
    """A 0-based half-open interval of a chromosome."""

    chrom: str
    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end:
            raise ReferenceSequenceError(f"empty or negative region {self.chrom}:{self.start}-{self.end}")

    @property
    def length(self) -> int:
        return self.end - self.start

    @property
    def name(self) -> str:
        """The samtools-style name (1-based inclusive) that a regional FASTA record carries.

        >>> Region("chr1", 1000, 2000).name
        'chr1:1001-2000'
        """
        return f"{self.chrom}:{self.start + 1}-{self.end}"

    @classmethod
    def parse(cls, name: str) -> Region:
        """The region a samtools-style name denotes.

        >>> Region.parse("chr7:117,480,025-117,668,665")
        Region(chrom='chr7', start=117480024, end=117668665)
        """
        match = _REGION_NAME.match(name)
        if match is None:
            raise ReferenceSequenceError(f"not a region name (chrom:start-end): {name!r}")
        start, end = int(match["start"].replace(",", "")), int(match["end"].replace(",", ""))
        if start < 1 or end < start:
            raise ReferenceSequenceError(f"region {name!r} has no bases (1-based inclusive bounds expected)")
        return cls(match["chrom"], start - 1, end)


def is_region_name(name: str) -> bool:
    """Whether a FASTA record name looks like ``chrom:start-end``.

    >>> is_region_name("chr1:1001-2000"), is_region_name("chr1"), is_region_name("HLA-A*01:01:01:01")
    (True, False, False)
    """
    return _REGION_NAME.match(name) is not None


def _open_fasta(path: Path) -> Any:  # a pysam.FastaFile (pysam ships no type information)
    import pysam  # htslib: reads plain and bgzipped FASTA through the .fai (and .gzi) index

    if not Path(path).is_file():
        raise ReferenceSequenceError(f"reference FASTA not found: {path}")
    try:
        return pysam.FastaFile(str(path))
    except (OSError, ValueError) as exc:
        raise ReferenceSequenceError(f"cannot open reference FASTA {path} (is it indexed with samtools faidx?): "
                                     f"{exc}") from exc


class _FastaBacked:
    """Shared plumbing: the pysam handle, closing, and the context-manager protocol."""

    def __init__(self, path: Path, build: str) -> None:
        self.path = Path(path)
        self.build = build
        self._fasta = _open_fasta(self.path)

    def _read(self, name: str, start: int, end: int) -> str:
        try:
            text: str = self._fasta.fetch(name, start, end)
        except (OSError, ValueError, KeyError) as exc:
            raise ReferenceSequenceError(f"cannot read {name}:{start}-{end} from {self.path}: {exc}") from exc
        if len(text) != end - start:
            raise ReferenceSequenceError(f"{self.path} returned {len(text)} bases for {name}:{start}-{end} "
                                         "(truncated file or stale index?)")
        return text.upper()

    def close(self) -> None:
        self._fasta.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class FastaReference(_FastaBacked):
    """A whole-genome (or whole-contig) indexed FASTA, plain or bgzipped, read with pysam.

    Contig names are matched with or without the "chr" prefix (and chrM/MT), because callers
    name chromosomes the way their input file did.
    """

    def __init__(self, path: Path, build: str) -> None:
        super().__init__(path, build)
        names: list[str] = list(self._fasta.references)
        sizes: list[int] = list(self._fasta.lengths)
        self.lengths: dict[str, int] = dict(zip(names, sizes, strict=True))
        self._alias: dict[str, str] = {}
        for name in names:
            for alias in (canonical_name(name), ucsc_name(name)):
                self._alias.setdefault(alias, name)
        for name in names:  # exact names win over aliases
            self._alias[name] = name

    def _resolve(self, chrom: str) -> str | None:
        return self._alias.get(chrom) or self._alias.get(canonical_name(chrom))

    def has(self, chrom: str, start: int, end: int) -> bool:
        name = self._resolve(chrom)
        return name is not None and 0 <= start <= end <= self.lengths[name]

    def fetch(self, chrom: str, start: int, end: int) -> str:
        name = self._resolve(chrom)
        if name is None:
            raise ReferenceSequenceError(f"contig {chrom} is not in reference {self.path}")
        if not 0 <= start <= end <= self.lengths[name]:
            raise ReferenceSequenceError(f"{chrom}:{start}-{end} is outside {name} (length {self.lengths[name]}) "
                                         f"in {self.path}")
        return self._read(name, start, end)


class RegionalFastaReference(_FastaBacked):
    """A FASTA whose records are regions of a genome, named ``chrom:start-end`` (1-based inclusive).

    This is what the simulator writes: only the simulated gene regions, in real coordinates. A
    query is answered when it lies wholly inside one record; anything else is unknown sequence.
    """

    def __init__(self, path: Path, build: str) -> None:
        super().__init__(path, build)
        names: list[str] = list(self._fasta.references)
        sizes: list[int] = list(self._fasta.lengths)
        by_chrom: dict[str, list[tuple[Region, str]]] = {}
        for name, size in zip(names, sizes, strict=True):
            region = Region.parse(name)
            if region.length != size:
                raise ReferenceSequenceError(f"record {name} in {self.path} holds {size} bases, "
                                             f"its name says {region.length}")
            by_chrom.setdefault(canonical_name(region.chrom), []).append((region, name))
        self._starts: dict[str, list[int]] = {}
        self._records: dict[str, list[tuple[Region, str]]] = {}
        for chrom, records in by_chrom.items():
            records.sort()
            for (left, _), (right, _) in itertools.pairwise(records):
                if right.start < left.end:
                    raise ReferenceSequenceError(f"overlapping records {left.name} and {right.name} in {self.path}")
            self._records[chrom] = records
            self._starts[chrom] = [region.start for region, _ in records]

    @property
    def regions(self) -> list[Region]:
        """The regions the file holds, per chromosome in ascending order."""
        return [region for records in self._records.values() for region, _ in records]

    def _locate(self, chrom: str, start: int, end: int) -> tuple[Region, str] | None:
        key = canonical_name(chrom)
        starts = self._starts.get(key)
        if starts is None or start > end or start < 0:
            return None
        index = bisect.bisect_right(starts, start) - 1
        if index < 0:
            return None
        region, name = self._records[key][index]
        return (region, name) if end <= region.end else None

    def has(self, chrom: str, start: int, end: int) -> bool:
        return self._locate(chrom, start, end) is not None

    def fetch(self, chrom: str, start: int, end: int) -> str:
        found = self._locate(chrom, start, end)
        if found is None:
            raise ReferenceSequenceError(f"{chrom}:{start}-{end} is not inside any region of {self.path}")
        region, name = found
        return self._read(name, start - region.start, end - region.start)


def open_reference(path: Path, build: str, *, verify_build: bool = True) -> ReferenceGenome:
    """The right reader for a FASTA, chosen from its record names.

    Records all named ``chrom:start-end`` make a :class:`RegionalFastaReference`; anything else is a
    :class:`FastaReference`. With ``verify_build``, a whole-genome FASTA whose primary contig
    lengths contradict ``build`` is refused: left-aligning GRCh38 calls against a GRCh37 FASTA
    would silently corrupt every indel.
    """
    fasta = _open_fasta(Path(path))
    try:
        names: list[str] = list(fasta.references)
        sizes: list[int] = list(fasta.lengths)
    finally:
        fasta.close()
    if not names:
        raise ReferenceSequenceError(f"reference FASTA {path} has no sequences")
    if all(is_region_name(name) for name in names):
        return RegionalFastaReference(Path(path), build)
    if verify_build:
        declared = dict(zip(names, sizes, strict=True))
        found = detect_build(declared)
        if found is not None and found != build:
            raise ReferenceSequenceError(f"reference FASTA {path} is {found}, but {build} was expected")
        if found is None and any(canonical_name(n) in {str(i) for i in range(1, 23)} | {"X", "Y"} for n in names):
            raise ReferenceSequenceError(f"reference FASTA {path}: contig lengths match no known build "
                                         f"(expected {build})")
    return FastaReference(Path(path), build)
