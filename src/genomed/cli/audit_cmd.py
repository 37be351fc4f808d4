"""``genomed audit verify|checkpoint|show``"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from genomed.catalog import audit_access
from genomed.cli.common import STATE, console, opened_node
from genomed.errors import IntegrityViolationError

audit = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)


@audit.command("verify")
def audit_verify() -> None:
    """Check every entry, link, checkpoint signature and anchor; name the first bad entry."""
    with opened_node() as ctx:
        report = audit_access.verify_audit(ctx, STATE.actor())
    if not report.ok:
        raise IntegrityViolationError(f"audit trail broken at entry {report.first_bad_seq}: {report.problem}")
    console.print(f"audit trail intact: {report.entries_checked} entries, "
                  f"{report.checkpoints_checked} signed checkpoints verified")


@audit.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign a checkpoint at the current end of the trail."""
    with opened_node() as ctx:
        checkpoint = audit_access.checkpoint_audit(ctx, STATE.actor())
    console.print(f"checkpoint signed at entry {checkpoint.seq}" if checkpoint else "the trail is empty")


@audit.command("show")
def audit_show(last: Annotated[int, typer.Option(help="How many of the latest entries.")] = 20,
               object_id: Annotated[str | None, typer.Option("--object", help="Only entries about this object.")]
               = None) -> None:
    """Show audit entries."""
    with opened_node() as ctx:
        entries = audit_access.read_audit(ctx, STATE.actor(), last=last, object_id=object_id)
    table = Table("seq", "time", "actor", "action", "object", "purpose", "outcome")
    for e in entries:
        table.add_row(str(e.seq), e.at.isoformat(timespec="seconds"), e.actor, e.action,
                      f"{e.object_type}:{e.object_id}", e.purpose, e.outcome)
    console.print(table)
