"""Which release of each knowledge source an analysis used: ClinVar, gnomAD, PanelApp, the cohort.

A classification is only reproducible if one can say, years later, *which* ClinVar and *which* gnomAD
it was made with: a variant's ClinVar class and its population frequency both change between
releases, and reanalysis is triggered precisely by such changes. So every loader here hands back a
:class:`KnowledgeRelease` naming the resource, its version, the file it came from and that file's
SHA-256, and an analysis keeps the releases it used in a :class:`ReleaseSet` whose
:meth:`ReleaseSet.as_dict` goes into its provenance (plain JSON).

A version is read from the file itself wherever the file states one (ClinVar's ``##fileDate``,
PanelApp's ``version``, the ACMG list's ``sf_list_version``); otherwise from the file name, as
gnomAD names its files (``gnomad.exomes.v4.0.sites.chr1.vcf.bgz``); otherwise the caller's label.
``version_from`` records which, so provenance never passes a guess off as a fact.

This module also holds the one line reader every loader uses, so that a truncated gzip or a binary
file gets the same :class:`~genomed.errors.InputError` naming the file and line whatever the format.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from genomed.errors import InputError, TruncatedFileError

VersionFrom = Literal["file", "file name", "caller", "inferred", "unknown"]

_HASHES: dict[tuple[str, int, int], str] = {}
_HASH_LOCK = threading.Lock()


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, remembered per (path, size, mtime) so a 20 GB gnomAD file is hashed once per run."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _HASH_LOCK:
        known = _HASHES.get(key)
    if known is not None:
        return known
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    value = digest.hexdigest()
    with _HASH_LOCK:
        _HASHES[key] = value
    return value


@dataclass(frozen=True, slots=True)
class KnowledgeRelease:
    """One release of one knowledge resource, as loaded.

    ``name`` is the resource ("ClinVar", "gnomAD exomes", "PanelApp 522 Familial melanoma",
    "ACMG SF", "genomed cohort Lyon"); ``version`` its release ("2024-05-07", "4.0", "2.5");
    ``version_from`` says where the version was read (see module docstring); ``source`` the file
    (or store directory); ``sha256`` the digest of that file (of the store's manifest for a cohort);
    ``loaded_at`` when this process read it (UTC); ``records`` how many records were loaded, when known.
    """

    name: str
    version: str
    source: str
    sha256: str
    loaded_at: datetime
    version_from: VersionFrom = "file"
    build: str | None = None
    records: int | None = None

    @property
    def label(self) -> str:
        """``name version`` as reports print it.

        >>> from datetime import datetime, UTC
        >>> at = datetime(2024, 6, 1, tzinfo=UTC)
        >>> KnowledgeRelease("ClinVar", "2024-05-07", "clinvar.vcf.gz", "0" * 64, at).label
        'ClinVar 2024-05-07'
        """
        return f"{self.name} {self.version}"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able dict (ISO-8601 time), the form kept in an analysis's provenance.

        >>> from datetime import datetime, UTC
        >>> r = KnowledgeRelease("ACMG SF", "3.1", "acmg.tsv", "ab" * 32, datetime(2024, 6, 1, tzinfo=UTC))
        >>> r.as_dict()["loaded_at"], KnowledgeRelease.from_dict(r.as_dict()) == r
        ('2024-06-01T00:00:00+00:00', True)
        """
        return {"name": self.name, "version": self.version, "version_from": self.version_from,
                "source": self.source, "sha256": self.sha256, "loaded_at": self.loaded_at.isoformat(),
                "build": self.build, "records": self.records}

    @staticmethod
    def from_dict(raw: Mapping[str, Any]) -> KnowledgeRelease:
        """Read back :meth:`as_dict` (from a stored analysis's provenance)."""
        try:
            return KnowledgeRelease(
                name=str(raw["name"]), version=str(raw["version"]), source=str(raw["source"]),
                sha256=str(raw["sha256"]), loaded_at=datetime.fromisoformat(str(raw["loaded_at"])),
                version_from=raw.get("version_from", "file"), build=raw.get("build"), records=raw.get("records"))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"not a knowledge release record: {exc}") from exc


@runtime_checkable
class KnowledgeSource(Protocol):
    """Anything loaded from a versioned release: it can say which release it is."""

    @property
    def release(self) -> KnowledgeRelease: ...


def make_release(name: str, path: Path, *, version: str | None, version_from: VersionFrom,
                 build: str | None = None, records: int | None = None) -> KnowledgeRelease:
    """A release record for a file just loaded (hashes it; ``version=None`` is recorded as ``unknown``)."""
    return KnowledgeRelease(name=name, version=version or "unknown", source=str(path), sha256=file_sha256(path),
                            loaded_at=datetime.now(UTC), version_from=version_from if version else "unknown",
                            build=build, records=records)


@dataclass
class ReleaseSet:
    """The releases one analysis used, one per resource name; what goes into its provenance.

    Adding a second, different release of the same resource is refused: an analysis that mixed two
    ClinVar releases could not say which one a classification came from.
    """

    releases: dict[str, KnowledgeRelease] = field(default_factory=dict)

    def add(self, source: KnowledgeRelease | KnowledgeSource) -> KnowledgeRelease:
        """Record a release (or the release of a loaded source); returns it."""
        release = source if isinstance(source, KnowledgeRelease) else source.release
        known = self.releases.get(release.name)
        if known is not None and (known.version, known.sha256) != (release.version, release.sha256):
            raise InputError(f"two releases of {release.name} in one analysis: {known.version} "
                             f"({known.source}) and {release.version} ({release.source})")
        if known is None:
            self.releases[release.name] = release
        return self.releases[release.name]

    def extend(self, sources: Iterable[KnowledgeRelease | KnowledgeSource]) -> None:
        for source in sources:
            self.add(source)

    def as_dict(self) -> dict[str, dict[str, Any]]:
        """``{resource name: release as a dict}``, sorted by name: JSON-able and stable for golden files."""
        return {name: self.releases[name].as_dict() for name in sorted(self.releases)}

    @staticmethod
    def from_dict(raw: Mapping[str, Mapping[str, Any]]) -> ReleaseSet:
        return ReleaseSet({name: KnowledgeRelease.from_dict(value) for name, value in raw.items()})

    def changed_since(self, older: ReleaseSet) -> list[str]:
        """Resources whose release differs from ``older`` (or that ``older`` did not use): reanalysis triggers."""
        return [name for name in sorted(self.releases)
                if name not in older.releases or older.releases[name].sha256 != self.releases[name].sha256]


def read_lines(path: Path, what: str) -> Iterator[tuple[int, str]]:
    """(1-based line number, line without its newline) of a plain or gzipped text file.

    ``what`` names the expected format ("a ClinVar VCF") for the error raised when the bytes are
    not text; a gzip that ends early raises :class:`~genomed.errors.TruncatedFileError` naming the
    last line read, so an interrupted download is never taken for a short release.
    """
    if not path.is_file():
        raise InputError(f"{path}: no such file (expected {what})")
    with path.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    number = 0
    try:
        with gzip.open(path, "rb") if gzipped else path.open("rb") as handle:
            for raw in handle:
                number += 1
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise InputError(f"{path} line {number}: not text; is this {what}?") from exc
                yield number, line.rstrip("\r\n")
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise TruncatedFileError(f"{path}: the compressed file ends or is corrupt after line {number} "
                                 f"({exc}); it is truncated (an interrupted download?)") from exc
