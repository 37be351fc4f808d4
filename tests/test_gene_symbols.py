"""Renamed genes: HPO's current HGNC symbols tied to the gene model's by NCBI Gene id."""

from __future__ import annotations

from genomed.interpret.gene_symbols import default_model_symbols
from genomed.interpret.hpo import gene_inheritance_modes
from genomed.interpret.phenotype import default_scorer

# Seckel syndrome 4 / primary microcephaly 6 (CENPJ, renamed CPAP by HGNC): microcephaly, short stature,
# intellectual disability, receding forehead, prominent nose.
MICROCEPHALY = ["HP:0000252", "HP:0004322", "HP:0001249", "HP:0000350", "HP:0000448"]


def test_renamed_genes_map_onto_the_model_symbols() -> None:
    renames = default_model_symbols()
    assert renames["CPAP"] == "CENPJ" and renames["CIROZ"] == "C1orf127"
    assert "FBN1" not in renames  # same symbol on both sides: nothing to map


def test_a_renamed_gene_keeps_its_diseases_and_modes_under_the_model_symbol() -> None:
    scorer = default_scorer()
    scores = scorer.score_genes(MICROCEPHALY)
    assert "CENPJ" in scores and "CPAP" not in scores
    assert scores["CENPJ"].adjusted_similarity > 0
    assert scorer.hpo_symbol("CENPJ") == "CPAP" and scorer.model_symbol("CPAP") == "CENPJ"
    assert "AR" in {str(m) for m in gene_inheritance_modes(scorer.hpo_symbol("CENPJ"))}
