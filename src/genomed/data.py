"""Where the public reference data lives: the configured data directory.

genomed never downloads at run time (a hospital network often has no internet). The operator
points ``GENOMED_DATA`` at a directory of reference files; in a source checkout the default is
``../shared/data`` beside the project, where it exists.
"""

from __future__ import annotations

import os
from pathlib import Path

from genomed.errors import ConfigurationError

DATA_ENV = "GENOMED_DATA"


def _candidates() -> list[Path]:
    project_root = Path(__file__).resolve().parents[2]  # src/genomed/data.py -> project root
    return [Path.cwd() / ".." / "shared" / "data", project_root / ".." / "shared" / "data"]


def data_dir() -> Path:
    """The reference data directory, from ``GENOMED_DATA`` or the default beside the project."""
    configured = os.environ.get(DATA_ENV)
    if configured:
        path = Path(configured).expanduser()
        if not path.is_dir():
            raise ConfigurationError(f"{DATA_ENV}={configured} is not a directory")
        return path.resolve()
    for candidate in _candidates():
        if candidate.is_dir():
            return candidate.resolve()
    raise ConfigurationError(f"no reference data directory: set {DATA_ENV} to a copy of genomed's reference data")


def data_file(relative: str) -> Path:
    """A file inside the data directory, with a clear error naming it when it is missing."""
    path = data_dir() / relative
    if not path.is_file():
        raise ConfigurationError(f"reference data file missing: {relative} (looked in {data_dir()})")
    return path
