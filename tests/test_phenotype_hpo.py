"""The HPO release as genomed sees it: term validation, gene–disease links, inheritance modes."""

from __future__ import annotations

import re

import pytest

from genomed.errors import InputError
from genomed.interpret import hpo


@pytest.fixture(scope="module")
def release() -> hpo.HpoRelease:
    return hpo.load_release()


def test_release_is_versioned_for_provenance(release: hpo.HpoRelease) -> None:
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", hpo.hpo_version())
    assert release.provenance()["hpo_release"] == hpo.hpo_version()
    assert release.provenance()["hpo_library"].startswith("hpo3 ")
    assert hpo.load_release() is release  # loaded once per process


def test_known_terms_pass_in_order_without_duplicates() -> None:
    checked = hpo.validate_terms(["HP:0001166", "HP:0001083", "HP:0001166"])
    assert checked.terms == ("HP:0001166", "HP:0001083")
    assert checked.replaced == {} and checked.warnings == ()


def test_unknown_and_malformed_terms_are_named_together() -> None:
    with pytest.raises(InputError) as caught:
        hpo.validate_terms(["HP:0001166", "HP:9999999", "HP:123", "Arachnodactyly"], role="observed")
    message = str(caught.value)
    assert "HP:9999999" in message and "'HP:123'" in message and "'Arachnodactyly'" in message
    assert "observed" in message and hpo.hpo_version() in message


def test_obsolete_term_is_replaced_and_the_swap_reported(release: hpo.HpoRelease) -> None:
    assert release.terms["HP:0000057"].obsolete
    checked = hpo.validate_terms(["HP:0000057"])
    assert checked.terms == (release.terms["HP:0000057"].replaced_by,) == ("HP:0008665",)
    assert checked.replaced == {"HP:0000057": "HP:0008665"}
    assert "HP:0000057" in checked.warnings[0] and "HP:0008665" in checked.warnings[0]


def test_obsolete_term_without_successor_is_refused(release: hpo.HpoRelease) -> None:
    dead = next(t for t in sorted(release.terms) if release.terms[t].obsolete and release.terms[t].replaced_by is None)
    with pytest.raises(InputError, match=f"obsolete .*{dead}"):
        hpo.validate_terms([dead])


def test_term_lookup_and_ancestors(release: hpo.HpoRelease) -> None:
    arachnodactyly = release.term("HP:0001166")
    assert arachnodactyly.name == "Arachnodactyly"
    assert hpo.PHENOTYPIC_ABNORMALITY in release.ancestors("HP:0001166")
    assert "HP:0001166" in release.ancestors("HP:0001166")
    with pytest.raises(InputError, match="HP:9999999"):
        release.term("HP:9999999")


def test_inheritance_modes_of_genes() -> None:
    assert hpo.gene_inheritance_modes("FBN1") == {"AD"}
    assert {"XLR", "XL"} <= hpo.gene_inheritance_modes("DMD")
    assert "AD" not in hpo.gene_inheritance_modes("DMD")
    assert {"AD", "AR"} <= hpo.gene_inheritance_modes("CFTR")  # hereditary pancreatitis and cystic fibrosis
    assert hpo.gene_inheritance_modes("MT-ND1") == {"MT"}
    assert hpo.gene_inheritance_modes("NOT-A-GENE") == frozenset()  # no annotation: no known mode


def test_inheritance_modes_of_a_disease() -> None:
    assert hpo.disease_inheritance_modes("OMIM:154700") == {"AD"}  # Marfan syndrome
    assert hpo.disease_inheritance_modes("OMIM:219700") == {"AR"}  # cystic fibrosis
    with pytest.raises(InputError, match="OMIM:0"):
        hpo.disease("OMIM:0")


def test_gene_disease_links_known_pairs() -> None:
    assert "OMIM:154700" in {d.id for d in hpo.gene_diseases("FBN1")}
    assert "OMIM:219700" in {d.id for d in hpo.gene_diseases("CFTR")}
    assert "CFTR" in hpo.disease("OMIM:219700").genes
    assert hpo.gene_diseases("NOT-A-GENE") == ()


def test_gene_disease_links_are_consistent_with_annotations(release: hpo.HpoRelease) -> None:
    """The deduction's premise, checked on the whole release: a linked disease's terms are the gene's terms."""
    linked = 0
    for gene, disease_ids in release.gene_diseases.items():
        # Every gene with a phenotype has a disease; a few carry nothing but an inheritance term.
        assert disease_ids or release.gene_terms[gene] <= set(hpo.INHERITANCE_TERMS), gene
        for did in disease_ids:
            assert release.diseases[did].terms <= release.gene_terms[gene], (gene, did)
            assert gene in release.diseases[did].genes
            linked += not did.startswith(hpo.GENE_LEVEL_PREFIX)
    assert linked > 11_000  # OMIM + Orphanet pairs recovered (12,000 in HPO 2025-11)
    assert len(hpo.annotated_genes()) > 5_000
