"""GFF3 and GTF loaders against MANE: the same transcripts come out with the same coordinates."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from genomed.annotate.annotator import Annotator
from genomed.annotate.gene_models import load_gene_models, load_gff3, load_gtf
from genomed.annotate.mane import load_mane
from genomed.annotate.model import Variant
from genomed.data import data_file
from genomed.errors import InputError

GFF3 = "gene-models/ensembl-chr21-subset.GRCh38.gff3.gz"
GTF = "gene-models/gencode-v29-chr1-subset.GRCh38.gtf.gz"


@pytest.mark.parametrize("name, chrom, minimum_shared", [(GFF3, "chr21", 25), (GTF, "chr1", 3)])
def test_transcripts_shared_with_mane_have_identical_coordinates(name: str, chrom: str, minimum_shared: int) -> None:
    mane = {t.ensembl_id: t for t in load_mane(chroms=[chrom])}
    loaded = load_gene_models(data_file(name))
    shared = [t for t in loaded if t.ensembl_id in mane]
    assert len(shared) >= minimum_shared
    for t in shared:
        m = mane[t.ensembl_id]
        assert (t.chrom, t.strand, t.exons, t.cds_start, t.cds_end) == (m.chrom, m.strand, m.exons, m.cds_start,
                                                                         m.cds_end)
        assert t.gene_symbol == m.gene_symbol


def test_gff3_structure() -> None:
    transcripts = load_gff3(data_file(GFF3))
    assert {t.chrom for t in transcripts} == {"chr21"}
    first = next(t for t in transcripts if t.ensembl_id == "ENST00000624081.1")
    # CDS 5011799..5017100 (1-based, stop codon included in Ensembl GFF3); four exons.
    assert (first.cds_start, first.cds_end, len(first.exons), first.strand) == (5011798, 5017100, 4, "+")
    assert first.protein_id == "ENSP00000485664" and first.gene_id == "ENSG00000279493.1"
    coding = [t for t in transcripts if t.cds_complete]
    assert coding and all(t.cds_length % 3 == 0 for t in coding)


def test_gtf_folds_stop_codon_into_cds() -> None:
    transcripts = load_gtf(data_file(GTF))
    or4f5 = next(t for t in transcripts if t.ensembl_id == "ENST00000641515.2")
    assert or4f5.cds_end == 70008  # GTF CDS ends at 70005, the stop_codon feature at 70008
    assert or4f5.cds_length % 3 == 0 and or4f5.gene_symbol == "OR4F5"
    non_coding = next(t for t in transcripts if t.ensembl_id == "ENST00000456328.2")
    assert not non_coding.coding


def test_any_gene_model_backs_the_annotator() -> None:
    annotator = Annotator.from_gene_models(data_file(GTF))
    # OR4F5 c.1 (chr1:65565, + strand): without a reference, a start-codon change is start_lost.
    effects = {e.transcript_id: e for e in annotator.annotate(Variant("chr1", 65565, "A", "G")).effects}
    effect = effects["ENST00000641515.2"]
    assert effect.consequences == ("start_lost",)
    assert effect.hgvs_c == "ENST00000641515.2:c.1A>G" and not effect.mane_select


def test_bad_files_are_refused_with_their_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_gff3(tmp_path / "missing.gff3")
    broken = tmp_path / "broken.gtf.gz"
    with gzip.open(broken, "wt") as handle:
        handle.write("chr1\tHAVANA\texon\t10\t20\t.\t+\n")
    with pytest.raises(InputError, match="line 1: 7 tab-separated columns"):
        load_gtf(broken)
    wrong = tmp_path / "wrong.gff3"
    wrong.write_text("chr1\tx\texon\t10\t20\t.\t+\t.\tgene_id \"G\"; transcript_id \"T\";\n")
    with pytest.raises(InputError, match="is not key=value"):
        load_gff3(wrong)
    with pytest.raises(InputError, match="cannot tell the format"):
        load_gene_models(tmp_path / "models.txt")
