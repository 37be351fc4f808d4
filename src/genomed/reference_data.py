"""The public reference files genomed reads, with their upstream sources and checksums.

A node in a hospital network usually has no internet, so nothing is downloaded at run time: the
operator supplies a data directory (``GENOMED_DATA``). ``genomed data check`` verifies one against
the checksums below; ``genomed data fetch`` fills one, once, from the upstream sources (on a machine
that can reach them) and refuses any file whose checksum differs. Each entry is added by the
change that starts reading the file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from genomed.errors import ConfigurationError, IntegrityViolationError


@dataclass(frozen=True)
class ReferenceFile:
    """One file of the data directory: where it goes, where it comes from, what it must hash to."""

    path: str
    url: str
    sha256: str
    licence: str


REFERENCE_FILES: tuple[ReferenceFile, ...] = (
    ReferenceFile(
        path="truth-sets/PG_NA12878_hg38-chr21.vcf.gz",
        url="https://raw.githubusercontent.com/Illumina/hap.py/ab109b8ec6fd1b071b877c4f1a39f4b3a893a7c8/"
            "example/happy/PG_NA12878_hg38-chr21.vcf.gz",
        sha256="25e6b19ea7447e37bab5648bf6f037b6a05f3e15b43493e7b46b464ed9bff834",
        licence="Illumina Platinum Genomes via Illumina/hap.py (BSD)",
    ),
    ReferenceFile(
        path="cancer/tumours/T001-COAD.grch38.vcf.gz",
        url="https://raw.githubusercontent.com/sigven/pcgr/dfeefc2f6d55d599535df3b1b73fce2e28a9be62/"
            "examples/T001-COAD.grch38.vcf.gz",
        sha256="db767a94046689cf7021376a4d89c2ffc3f5c93ddca8abb7a0f9e7728afb390a",
        licence="TCGA open data via sigven/pcgr (MIT)",
    ),
)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_data_dir(root: Path, files: tuple[ReferenceFile, ...] = REFERENCE_FILES) -> dict[str, str]:
    """The state of each file under ``root``: ``ok``, ``missing`` or ``checksum mismatch``."""
    states: dict[str, str] = {}
    for item in files:
        target = root / item.path
        if not target.is_file():
            states[item.path] = "missing"
        elif sha256_of(target) != item.sha256:
            states[item.path] = "checksum mismatch"
        else:
            states[item.path] = "ok"
    return states


def fetch_reference_data(root: Path, files: tuple[ReferenceFile, ...] = REFERENCE_FILES,
                         opener: Callable[[str], object] = urllib.request.urlopen,
                         say: Callable[[str], None] = print) -> int:
    """Download every missing or damaged file into ``root``; returns how many were fetched.

    Each download goes to a temporary file and is moved into place only when its SHA-256 matches,
    so an interrupted or tampered transfer never leaves a file that looks valid.
    """
    fetched = 0
    for item, state in zip(files, check_data_dir(root, files).values(), strict=True):
        if state == "ok":
            continue
        if not item.url.startswith(("https://", "file://")):
            raise ConfigurationError(f"refusing a non-HTTPS source for {item.path}: {item.url}")
        target = root / item.path
        target.parent.mkdir(parents=True, exist_ok=True)
        say(f"fetching {item.path}")
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".fetch-")
        try:
            with os.fdopen(handle, "wb") as out, opener(item.url) as response:  # type: ignore[attr-defined]
                shutil.copyfileobj(response, out)
            actual = sha256_of(Path(temporary))
            if actual != item.sha256:
                raise IntegrityViolationError(f"{item.path} from {item.url} has sha256 {actual}, expected "
                                              f"{item.sha256}; not installed")
            os.replace(temporary, target)
            fetched += 1
        except OSError as exc:
            raise ConfigurationError(f"cannot fetch {item.path} from {item.url}: {exc}") from exc
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
    return fetched
