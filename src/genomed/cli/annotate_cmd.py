"""``genomed annotate variant CHROM-POS-REF-ALT [--reference FA] [--gene-models FILE] [--all]``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from genomed.cli.common import console
from genomed.errors import InputError

annotate = typer.Typer(help="Consequences of variants on transcripts (SO terms, impact, HGVS).", no_args_is_help=True)



@annotate.callback()
def _group() -> None:
    """Consequences of variants on MANE Select (or any GFF3/GTF) transcripts."""


_NAME = re.compile(r"^(?P<chrom>[^\s:-]+)[-:](?P<pos>\d+)[-:](?P<ref>[ACGTNacgtn]+)[-:](?P<alt>[ACGTNacgtn]+)$")


def parse_variant_name(text: str) -> tuple[str, int, str, str]:
    """``chr17-7675088-C-T`` (or colon-separated) as (chrom, pos, ref, alt); an InputError otherwise.

    >>> parse_variant_name("chr17-7675088-c-T")
    ('chr17', 7675088, 'C', 'T')
    """
    match = _NAME.match(text.strip())
    if match is None:
        raise InputError(f"not a variant name CHROM-POS-REF-ALT: {text!r} (e.g. chr17-7675088-C-T)")
    return match["chrom"], int(match["pos"]), match["ref"].upper(), match["alt"].upper()


@annotate.command("variant")
def annotate_variant(
    variant: Annotated[str, typer.Argument(help="CHROM-POS-REF-ALT, 1-based as in VCF, e.g. chr17-7675088-C-T")],
    reference: Annotated[Path | None, typer.Option(help="Indexed GRCh38 FASTA: codon-level consequences and "
                                                        "HGVS p. (without it: coordinates only)")] = None,
    gene_models: Annotated[Path | None, typer.Option(help="GFF3/GTF instead of MANE Select")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="Also up/downstream effects")] = False,
) -> None:
    """Print each transcript's consequence, impact, HGVS c./p., exon/intron and NMD escape."""
    from genomed.annotate.annotator import Annotator
    from genomed.annotate.model import Variant
    from genomed.genome.builds import GRCH38
    from genomed.genome.reference import open_reference

    chrom, pos, ref, alt = parse_variant_name(variant)
    genome = open_reference(reference, GRCH38) if reference is not None else None
    annotator = Annotator.from_gene_models(gene_models, genome) if gene_models else Annotator.from_mane(genome)
    result = annotator.annotate(Variant(chrom, pos, ref, alt))
    effects = [e for e in result.effects if show_all or e.impact > 0 or not e.consequences[0].endswith("gene_variant")]
    if not result.effects:
        console.print(f"{result.variant.name}: intergenic (no transcript within 5 kb)", highlight=False)
        return
    table = Table("gene", "transcript", "consequence", "impact", "HGVS c.", "HGVS p.", "exon", "intron", "NMD escape")
    for e in effects or result.effects:
        table.add_row(e.gene_symbol, e.transcript_id + (" (MANE)" if e.mane_select else ""), ",".join(e.consequences),
                      e.impact.name, (e.hgvs_c or "-").split(":", 1)[-1], (e.hgvs_p or "-").split(":", 1)[-1],
                      f"{e.exon[0]}/{e.exon[1]}" if e.exon else "-",
                      f"{e.intron[0]}/{e.intron[1]}" if e.intron else "-",
                      "-" if e.nmd_escape is None else ("yes" if e.nmd_escape else "no"))
    console.print(f"{result.variant.name}" + ("" if genome else "  (no reference: coordinates only, no HGVS p.)"),
                  highlight=False)
    console.print(table)
