"""``genomed reanalyse``: re-interpret the cases whose knowledge releases changed, and list what changed.

The knowledge options are declared once here (:data:`ClinvarOption`, :data:`GnomadOption`,
:data:`PanelsOption`, with the environment variables ``GENOMED_CLINVAR``, ``GENOMED_GNOMAD`` and
``GENOMED_PANELS`` that ``genomed case interpret`` reads too) and loaded by :func:`load_knowledge`,
so a monthly cron job can set the variables once for both commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from genomed.cli.common import STATE, console, opened_node

if TYPE_CHECKING:
    from genomed.annotate.clinvar import ClinVar
    from genomed.annotate.population import GnomadSites
    from genomed.interpret.panels import PanelLibrary
    from genomed.interpret.reanalysis import ReanalysisSummary

ClinvarOption = Annotated[Path | None, typer.Option("--clinvar", envvar="GENOMED_CLINVAR",
                                                    help="ClinVar release (VCF or JSONL).")]
GnomadOption = Annotated[Path | None, typer.Option("--gnomad", envvar="GENOMED_GNOMAD",
                                                   help="gnomAD sites VCF (bgzipped and indexed for a real one).")]
PanelsOption = Annotated[list[Path] | None, typer.Option("--panels", envvar="GENOMED_PANELS",
                                                         help="PanelApp panel JSON file (repeat).")]


def load_knowledge(build: str, clinvar: Path | None, gnomad: Path | None, panels: list[Path] | None
                   ) -> tuple[ClinVar | None, GnomadSites | None, PanelLibrary | None]:
    """The ClinVar release, gnomAD sites and panel library named by the knowledge options (None when not given)."""
    from genomed.annotate.clinvar import ClinVar
    from genomed.annotate.population import GnomadSites
    from genomed.interpret.panels import PanelLibrary

    return (ClinVar.load(clinvar, build=build) if clinvar else None,
            GnomadSites(gnomad, build=build) if gnomad else None,
            PanelLibrary.from_files(panels) if panels else None)


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


__all__ = ["ClinvarOption", "GnomadOption", "PanelsOption", "load_knowledge", "reanalyse"]
