"""Our consequences against bcftools csq, an established annotator, on the same synthetic chr21.

The benchmark (``benchmarks/annotation.py``, figure ``consequence_concordance_bcftools_csq``) runs
~200,000 variants; this runs a few hundred in one gene-rich megabase so that a change to the
annotator that breaks agreement with csq fails here, in seconds. Both tools read the same files:
a whole-chromosome synthetic reference that honours the Ensembl chr21 gene models (csq needs whole
chromosomes) and the Ensembl GFF3 from the shared data.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from genomed.annotate.annotator import Annotator
from genomed.annotate.gene_models import load_gff3
from genomed.genome.reference import open_reference

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import annotation as bench  # the benchmark module is the oracle: one definition of agreement

pytestmark = pytest.mark.skipif(shutil.which("bcftools") is None,
                                reason="bcftools is not installed (make bench-deps installs it)")

REGION = (44_000_000, 45_000_000)  # 0-based; the megabase of chr21 with the most genes in the GFF3 subset
# Measured on this region (bcftools 1.16, seed 21, 400 variants): 0.923 of the pairs on transcripts
# the reference honours, 0.998 on complete CDSs, HGVS p. 0.974 there (csq 1.16 misframes some
# deletions: see the benchmark's report). The floors leave room for another csq release.
FLOOR_ALL, FLOOR_CONSISTENT, FLOOR_HGVS_P = 0.88, 0.97, 0.93


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    directory = tmp_path_factory.mktemp("csq")
    inputs = bench.csq_inputs(directory, n=400, region=REGION)
    out = directory / "csq.vcf"
    bench.bcftools_csq(inputs, out)
    transcripts = load_gff3(inputs.gff3)
    reference = open_reference(inputs.fasta, "GRCh38")
    annotations = Annotator(transcripts, reference).annotate_many(inputs.variants)
    classes = bench.transcript_classes(transcripts, reference)
    return {"inputs": inputs, "result": bench.csq_concordance(annotations, bench.parse_bcsq(out), classes)}


def test_inputs_are_what_csq_needs(compared: dict[str, Any]) -> None:
    inputs = compared["inputs"]
    assert bench.gff3_seqids(inputs.gff3) == {"21"}
    assert Path(f"{inputs.fasta}.fai").read_text().split("\t")[:2] == ["21", str(bench.CHR21_LENGTH)]
    assert 300 <= len(inputs.variants) <= 400
    assert all(REGION[0] < v.pos <= REGION[1] and v.chrom == "21" for v in inputs.variants)
    reference = open_reference(inputs.fasta, "GRCh38")
    assert all(reference.fetch("chr21", v.pos - 1, v.pos - 1 + len(v.ref)) == v.ref for v in inputs.variants)


def test_most_severe_consequence_agrees_with_csq(compared: dict[str, Any]) -> None:
    result = compared["result"]
    assert result["pairs"] >= 400, result["pairs"]  # many variants hit several transcripts
    assert result["concordance"] >= FLOOR_ALL, result["confusion"]
    assert result["concordance_complete_consistent"] >= FLOOR_CONSISTENT, result["examples"]
    assert result["gene_level_pairs"] >= 50
    assert result["gene_level_concordance"] >= FLOOR_CONSISTENT


def test_hgvs_p_agrees_with_csq_amino_acid_changes(compared: dict[str, Any]) -> None:
    result = compared["result"]
    consistent = result["hgvs_p_per_transcript_class"]["complete, consistent"]
    agree, total = (int(x) for x in consistent.split(" = ")[0].split("/"))
    assert total >= 100
    assert agree / total >= FLOOR_HGVS_P, result["hgvs_p_examples"]


def test_csq_names_map_to_our_terms() -> None:
    assert bench.csq_most_severe([("splice_region", ""), ("missense", "14L>14R")]) == "missense_variant"
    assert bench.csq_most_severe([("stop_gained&frameshift", "5Q>5*")]) == "stop_gained"
    assert bench.csq_most_severe([("inframe_altering", "")]) == "protein_altering_variant"
    assert bench.csq_hgvs_p("frameshift", "15VSVIK*>15VDPL*") == "p.(Ser16AspfsTer4)"
    assert bench.csq_hgvs_p("inframe_deletion", "21CDR>21G") is None  # needs protein context: not compared
