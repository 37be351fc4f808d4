"""``genomed reanalyse``: re-interpret the cases whose knowledge releases changed, and list what changed.

The knowledge options are those of ``genomed case interpret`` (:mod:`genomed.cli.knowledge_options`),
so a monthly cron job sets ``GENOMED_CLINVAR``, ``GENOMED_GNOMAD`` and ``GENOMED_PANELS`` once for both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from genomed.cli.common import STATE, console, opened_node
from genomed.cli.knowledge_options import ClinvarOption, GnomadOption, PanelsOption, load_knowledge

if TYPE_CHECKING:
    from genomed.interpret.reanalysis import ReanalysisSummary

def _print(summary: ReanalysisSummary) -> None:
    console.print("releases: " + ", ".join(f"{name} {version}" for name, version in sorted(summary.releases.items())),
                  markup=False, highlight=False)
    if summary.dry_run:
        table = Table("case", "state", "interpretation", "releases changed")
        for planned in summary.planned:
            table.add_row(planned.case_reference, planned.state, str(planned.analysis_id),
                          escape("; ".join(planned.release_changes)))
        if summary.planned:
            console.print(table)
    else:
        table = Table("case", "state", "releases changed", f"top {summary.top} before", f"top {summary.top} after",
                      "class changes", "new P/LP", "review")
        for change in summary.changed:
            classes = "; ".join(f"{c.variant} {c.gene}: {c.before or 'not a candidate'} → "
                                f"{c.after or 'not a candidate'}" for c in change.class_changes)
            table.add_row(change.case_reference, change.state, ", ".join(change.releases_changed),
                          ", ".join(change.top_before), ", ".join(change.top_after), escape(classes) or "-",
                          ", ".join(f"{n.gene} ({n.acmg_class})" for n in change.new_candidates) or "-",
                          "[bold red]yes[/]" if change.needs_review else "no")
        if summary.changed:
            console.print(table)
        for change in summary.changed:
            console.print(change.summary, markup=False, highlight=False)
    for skipped in summary.skipped:
        if skipped.kind != "unchanged":
            console.print(f"{skipped.kind}: {skipped.case_reference} ({skipped.state}): {skipped.reason}",
                          markup=False, highlight=False)
    console.print(summary.line(), markup=False, highlight=False)


def reanalyse(
    case: Annotated[list[str] | None, typer.Option("--case", help="Only this case reference (repeat).")] = None,
    clinvar: ClinvarOption = None,
    gnomad: GnomadOption = None,
    panels: PanelsOption = None,
    top: Annotated[int, typer.Option(help="How many top genes to compare between the runs.")] = 5,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list the cases that would be re-run.")] = False,
) -> None:
    """Re-interpret the cases whose knowledge releases changed; list those whose candidates or classes changed."""
    from genomed.interpret.reanalysis import reanalyse as run

    with opened_node() as ctx:
        known_clinvar, known_gnomad, library = load_knowledge(ctx.config.genome_build, clinvar, gnomad, panels)
        summary = run(ctx, STATE.actor(), clinvar=known_clinvar, gnomad=known_gnomad, panel_library=library,
                      cases=case or None, top=top, dry_run=dry_run)
    _print(summary)


__all__ = ["reanalyse"]
