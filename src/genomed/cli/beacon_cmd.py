"""``genomed beacon load|datasets``: Beacon v2 documents a node serves beside its own cohort."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import func, select

from genomed.cli.common import STATE, console, opened_node

beacon = typer.Typer(help="Beacon v2 documents served by this node's Beacon.", no_args_is_help=True)


@beacon.command("load")
def beacon_load(
    directory: Annotated[Path, typer.Argument(help="Directory of Beacon v2 JSON arrays (individuals.json, ...).")],
    assembly: Annotated[str | None, typer.Option(help="Genome build of the variants' coordinates, e.g. GRCh37; "
                                                       "recorded in the datasets' info.")] = None,
) -> None:
    """Load (or reload) the documents of a directory, replacing those of the datasets it holds.

    Data stewards and administrators only; all or nothing; audited.
    """
    from genomed.share.beacon.coordinates import assembly as parse_assembly
    from genomed.share.beacon.documents import load_documents
    from genomed.share.beacon.granularity import node_dataset_id
    from genomed.share.settings import load_sharing

    with opened_node() as ctx:
        reserved = frozenset({node_dataset_id(load_sharing(ctx.config.home))})
        summary = load_documents(ctx, STATE.actor(), directory, reserved=reserved,
                                 assembly=parse_assembly(assembly) if assembly else None)
    counts = ", ".join(f"{n:,} {kind}" for kind, n in summary.counts.items())
    console.print(f"loaded {summary.total:,} documents of dataset(s) {', '.join(summary.datasets)}: {counts}"
                  + (f" ({summary.repeats_dropped} identical repeat(s) dropped)" if summary.repeats_dropped else ""),
                  highlight=False)


@beacon.command("datasets")
def beacon_datasets() -> None:
    """The loaded datasets and how many documents of each entry type they hold."""
    from genomed.share.models import BeaconDocument

    with opened_node() as ctx, ctx.transaction() as session:
        rows = session.execute(select(BeaconDocument.dataset_id, BeaconDocument.entry_type, func.count())
                               .group_by(BeaconDocument.dataset_id, BeaconDocument.entry_type)
                               .order_by(BeaconDocument.dataset_id, BeaconDocument.entry_type)).all()
    table = Table("dataset", "entry type", "documents")
    for dataset, entry_type, count in rows:
        table.add_row(dataset, entry_type, f"{count:,}")
    console.print(table)
