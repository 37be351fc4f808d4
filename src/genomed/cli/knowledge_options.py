"""The knowledge options shared by ``genomed case interpret`` and ``genomed reanalyse``.

Declared once, with their environment variables (``GENOMED_CLINVAR``, ``GENOMED_GNOMAD``,
``GENOMED_PANELS``), so both commands read the same releases and a cron job sets them once.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from genomed.annotate.clinvar import ClinVar
    from genomed.annotate.population import GnomadSites
    from genomed.interpret.panels import PanelLibrary

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


