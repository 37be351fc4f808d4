"""``genomed data path|check|fetch``: the reference data directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from genomed.cli.common import console
from genomed.data import DATA_ENV, data_dir
from genomed.errors import IntegrityViolationError
from genomed.reference_data import check_data_dir, fetch_reference_data

data = typer.Typer(help="The reference data directory (GENOMED_DATA).", no_args_is_help=True)


@data.command("path")
def data_path() -> None:
    """Print the data directory in use."""
    console.print(str(data_dir()))


@data.command("check")
def data_check() -> None:
    """Verify every reference file genomed reads against its recorded SHA-256."""
    root = data_dir()
    states = check_data_dir(root)
    for path, state in states.items():
        console.print(f"{state:<18} {path}", highlight=False)
    bad = [p for p, s in states.items() if s != "ok"]
    if bad:
        raise IntegrityViolationError(f"{len(bad)} reference file(s) missing or altered in {root}")


@data.command("fetch")
def data_fetch(dest: Annotated[Path | None, typer.Option(help=f"Directory to fill (default: ${DATA_ENV}).")] = None
               ) -> None:
    """Download the reference files from their upstream sources, once, checking each checksum."""
    root = dest or data_dir()
    count = fetch_reference_data(root, say=lambda line: console.print(line, highlight=False))
    console.print(f"{count} file(s) fetched into {root}")
