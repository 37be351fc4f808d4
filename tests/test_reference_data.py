"""The reference data registry: the shared data matches its checksums; fetch installs only verified files."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from genomed.data import data_dir
from genomed.errors import IntegrityViolationError
from genomed.reference_data import REFERENCE_FILES, check_data_dir, fetch_reference_data


def test_the_data_directory_matches_the_recorded_checksums() -> None:
    assert set(check_data_dir(data_dir()).values()) == {"ok"}


def test_fetch_installs_missing_files_and_refuses_altered_ones(tmp_path: Path) -> None:
    upstream = data_dir()
    local = tuple(dataclasses.replace(f, url=(upstream / f.path).as_uri()) for f in REFERENCE_FILES)
    target = tmp_path / "data"
    assert fetch_reference_data(target, local, say=lambda _: None) == len(local)
    assert set(check_data_dir(target, local).values()) == {"ok"}
    assert fetch_reference_data(target, local, say=lambda _: None) == 0  # nothing to do the second time
    (target / local[0].path).write_bytes(b"tampered")
    tampered_source = tmp_path / "evil.vcf.gz"
    tampered_source.write_bytes(b"not the real file")
    evil = (dataclasses.replace(local[0], url=tampered_source.as_uri()),)
    with pytest.raises(IntegrityViolationError, match="has sha256 .* expected"):
        fetch_reference_data(target, evil, say=lambda _: None)
    assert (target / local[0].path).read_bytes() == b"tampered"  # nothing installed over it
    assert not list((target / local[0].path).parent.glob(".fetch-*"))
