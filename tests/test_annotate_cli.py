"""``genomed annotate variant`` through Typer's runner (the sub-app on its own, as app.py will mount it)."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from genomed.annotate.mane import load_mane
from genomed.cli.annotate_cmd import annotate, parse_variant_name
from genomed.errors import InputError
from genomed.simulate.regions import close_regions
from genomed.simulate.sequence import build_reference


def test_variant_without_reference() -> None:
    result = CliRunner().invoke(annotate, ["variant", "chr1-10475012-G-A"])
    assert result.exit_code == 0, result.output
    assert "PEX14" in result.output and "c.36+10G>A" in result.output and "intron_variant" in result.output
    assert "no reference" in result.output


def test_variant_with_synthetic_reference(tmp_path) -> None:  # type: ignore[no-untyped-def]
    mane = load_mane(chroms=["chr17"])
    tp53 = next(t for t in mane if t.gene_symbol == "TP53")
    regions = close_regions([tp53], mane, mode="genes", flank=100)
    reference, _ = build_reference(regions.regions, regions.transcripts, np.random.default_rng(5))
    fasta = reference.write_fasta(tmp_path / "ref.fa")
    start = tp53.cds_end - 1  # c.1, minus strand
    base = reference.fetch("chr17", start, start + 1)
    result = CliRunner().invoke(annotate, ["variant", f"chr17-{start + 1}-{base}-G", "--reference", str(fasta)])
    assert result.exit_code == 0, result.output
    assert "start_lost" in result.output and "p.(Met1?)" in result.output and "HIGH" in result.output


def test_intergenic_and_bad_names() -> None:
    result = CliRunner().invoke(annotate, ["variant", "chr1-1-A-G"])
    assert result.exit_code == 0 and "intergenic" in result.output
    with pytest.raises(InputError, match="CHROM-POS-REF-ALT"):
        parse_variant_name("chr1:100")
