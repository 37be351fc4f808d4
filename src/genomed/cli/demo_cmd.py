"""``genomed demo``: the demonstration journey, ending with a summary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from genomed.cli.common import console


def demo(home: Annotated[Path, typer.Option("--home", help="Where to create the demo node.")] = Path("demo-node"),
         fresh: Annotated[bool, typer.Option("--fresh", help="Delete an earlier demo node there first.")] = False,
         families: Annotated[int, typer.Option("--families", min=1, max=3,
                                               help="How many published families to carry to a signed report.")] = 3,
         ) -> None:
    """Create a demo node and walk it from patient inclusion to signed reports."""
    from genomed.cli.ingest_cmd import print_outcome
    from genomed.demo.journey import run_demo

    summary = run_demo(home, fresh=fresh, families=families,
                       say=lambda line: console.print(f"• {line}", highlight=False))
    if summary.qc is not None:
        console.rule("QC of the first ingested family")
        print_outcome(summary.qc)
    console.rule("summary")
    for line in summary.lines:
        console.print(line, highlight=False)
