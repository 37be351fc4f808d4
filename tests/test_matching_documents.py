"""MME documents, media-type negotiation, gene identity and the patient score, without a node.

Every malformed field gets an error that names it (partners fix their exporters from those
messages); the scoring tests assert orderings a clinician expects (an exact shared variant beats a
shared gene, which beats a similar phenotype alone) on real HPO terms and real MANE genes.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from genomed.errors import InputError
from genomed.share.matching.benchmark import disorder_ids, evaluate, in_memory_search
from genomed.share.matching.documents import MmeDocumentError, parse_patient, parse_request
from genomed.share.matching.genes import default_resolver
from genomed.share.matching.media import ApiVersion, NotAcceptable, UnsupportedMediaType, negotiate
from genomed.share.matching.scoring import Matcher
from genomed.share.matching.store import parse_all
from mme_support import BENCHMARK

CONTACT = {"name": "Dr A", "href": "mailto:a@example.org"}


def patient(**fields: Any) -> dict[str, Any]:
    return {"id": "q1", "contact": CONTACT, **fields}


@pytest.mark.parametrize(("document", "field", "words"), [
    ({"id": "q1", "features": [{"id": "HP:0001250"}]}, "patient.contact", "is mandatory"),
    (patient(contact={"name": "Dr A", "href": "not a url"}, features=[{"id": "HP:0001250"}]),
     "patient.contact.href", "not a url"),
    (patient(), "patient", "at least one of features, genomicFeatures"),
    (patient(features=[{"id": "HP:1250"}]), "patient.features[0].id", "HP:1250"),
    (patient(features=[{"id": "HP:0001250", "observed": "maybe"}]), "patient.features[0].observed", "maybe"),
    (patient(genomicFeatures=[{"gene": {}}]), "patient.genomicFeatures[0].gene.id", "is mandatory"),
    (patient(genomicFeatures=[{"gene": {"id": "SNRPB"}, "variant": {"assembly": "GRCh37", "referenceName": "25",
                                                                   "start": 1}}]),
     "patient.genomicFeatures[0].variant.referenceName", "chromosome"),
    (patient(genomicFeatures=[{"gene": {"id": "SNRPB"}, "variant": {"assembly": "GRCh37", "referenceName": "20",
                                                                   "start": -3}}]),
     "patient.genomicFeatures[0].variant.start", "greater than or equal to 0"),
    (patient(genomicFeatures=[{"gene": {"id": "SNRPB"}, "variant": {"assembly": "GRCh37", "referenceName": "20",
                                                                   "start": "12"}}]),
     "patient.genomicFeatures[0].variant.start", "integer"),
    (patient(genomicFeatures=[{"gene": {"id": "SNRPB"}, "variant": {"assembly": "GRCh37", "referenceName": "20",
                                                                   "start": 5, "referenceBases": "G",
                                                                   "alternateBases": "X"}}]),
     "patient.genomicFeatures[0].variant.alternateBases", "'X'"),
    (patient(genomicFeatures=[{"gene": {"id": "SNRPB"}, "zygosity": 3}]), "patient.genomicFeatures[0].zygosity",
     "1 or 2"),
    (patient(genomicFeatures=[{"gene": {"id": "SNRPB"}, "type": {"id": "STOPGAIN"}}]),
     "patient.genomicFeatures[0].type.id", "STOPGAIN"),
    (patient(sex="M", features=[{"id": "HP:0001250"}]), "patient.sex", "'M'"),
    (patient(id="x" * 256, features=[{"id": "HP:0001250"}]), "patient.id", "255"),
])
def test_each_malformed_field_is_named(document: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(MmeDocumentError) as caught:
        parse_patient(document)
    assert field in caught.value.fields
    assert isinstance(caught.value, InputError)
    message = str(caught.value)
    assert f"{field}:" in message and words in message


def test_every_error_of_a_document_is_reported_at_once() -> None:
    document = patient(features=[{"id": "HP:0001250"}, {"id": "bad"}],
                       genomicFeatures=[{"gene": {"id": "SNRPB"}, "zygosity": 0}])
    with pytest.raises(MmeDocumentError) as caught:
        parse_patient(document)
    assert set(caught.value.fields) == {"patient.features[1].id", "patient.genomicFeatures[0].zygosity"}


def test_a_request_without_a_patient_names_it() -> None:
    with pytest.raises(MmeDocumentError, match="patient: is mandatory"):
        parse_request({"patients": []})


def test_only_spec_fields_are_kept_and_written_back() -> None:
    document = patient(features=[{"id": "HP:0001250", "_internal": "x"}], _secret="pseudonym P-123",
                       genomicFeatures=[{"gene": {"id": "ENSG00000125835", "_geneName": "SNRPB"},
                                         "variant": {"assembly": "GRCh38.p13", "referenceName": "chr20",
                                                     "start": 2463, "referenceBases": "g", "alternateBases": "a"}}])
    parsed = parse_patient(document)
    written = parsed.to_json()
    assert "_secret" not in json.dumps(written) and "_geneName" not in json.dumps(written)
    variant = written["genomicFeatures"][0]["variant"]
    assert (variant["referenceName"], variant["referenceBases"], variant["alternateBases"]) == ("20", "G", "A")
    assert parsed.genomicFeatures[0].variant is not None and parsed.genomicFeatures[0].variant.build == "GRCh38"
    assert "test" not in written  # only written when true
    assert parse_patient(written) == parsed  # what we write, we read back unchanged


def test_the_official_benchmark_file_parses_and_two_unplaced_variants_become_genes() -> None:
    patients, notes = parse_all(json.loads(BENCHMARK.read_text()), "benchmark")
    assert len(patients) == 50 and all(p.test for p in patients)
    assert len(notes) == 2 and all("LAMA1" in n for n in notes)


# ------------------------------------------------------------------------------------------------- versions

V10, V11, V20 = (f"application/vnd.ga4gh.matchmaker.v{v}+json" for v in ("1.0", "1.1", "2.0"))


@pytest.mark.parametrize(("content_type", "accept", "answer"), [
    (V10, None, ApiVersion(1, 0)),
    (V11, None, ApiVersion(1, 1)),
    (V10 + "; charset=utf-8", "*/*", ApiVersion(1, 0)),
    ("application/vnd.ga4gh.matchmaker.v1.4+json", None, ApiVersion(1, 1)),  # same major: answered in ours
    (V11, V10, ApiVersion(1, 0)),  # the caller's Accept picks the minor version
    (V10, "application/json", ApiVersion(1, 0)),
])
def test_compatible_versions_are_answered(content_type: str, accept: str | None, answer: ApiVersion) -> None:
    assert negotiate(content_type, accept) == answer


@pytest.mark.parametrize(("content_type", "accept", "error"), [
    (None, None, UnsupportedMediaType),
    ("application/json", None, UnsupportedMediaType),
    ("text/plain", None, UnsupportedMediaType),
    (V20, None, NotAcceptable),
    ("application/vnd.ga4gh.matchmaker.v0.1+json", None, NotAcceptable),
    (V10, V20, NotAcceptable),
    (V10, "text/html", NotAcceptable),
])
def test_incompatible_versions_are_refused(content_type: str | None, accept: str | None,
                                           error: type[Exception]) -> None:
    with pytest.raises(error):
        negotiate(content_type, accept)


# ------------------------------------------------------------------------------------------------ genes, score

def test_ensembl_entrez_and_symbol_are_one_gene() -> None:
    resolver = default_resolver()
    assert {resolver.identity(g) for g in ("SNRPB", "snrpb", "ENSG00000125835", "ENSG00000125835.20", "6628",
                                           "GeneID:6628")} == {"SNRPB"}
    assert resolver.identity("KARS") == "KARS"  # an old symbol MANE does not know keeps its own identity
    assert resolver.identity("KARS") != resolver.identity("KARS1")


def _with(genes: list[dict[str, Any]], terms: list[str], pid: str = "x") -> Any:
    return parse_patient({"id": pid, "contact": CONTACT, "features": [{"id": t} for t in terms],
                          "genomicFeatures": genes})


EFTUD2_STOP = {"gene": {"id": "EFTUD2"}, "variant": {"assembly": "GRCh37", "referenceName": "17",
                                                      "start": 42929130, "referenceBases": "G",
                                                      "alternateBases": "A"}}
FACE = ["HP:0000347", "HP:0008551", "HP:0000453", "HP:0011451"]  # micrognathia, microtia, choanal atresia, ...
EPILEPSY = ["HP:0001250", "HP:0002133"]


def test_exact_variant_beats_shared_gene_beats_phenotype_alone() -> None:
    matcher = Matcher()
    query = matcher.prepare(_with([EFTUD2_STOP], FACE))
    same_variant = matcher.prepare(_with([{**EFTUD2_STOP, "gene": {"id": "ENSG00000108883"}}], FACE[:2], "a"))
    same_gene = matcher.prepare(_with([{"gene": {"id": "9343"}}], FACE[:2], "b"))
    other_gene = matcher.prepare(_with([{"gene": {"id": "SCN1A"}}], FACE, "c"))
    unrelated = matcher.prepare(_with([{"gene": {"id": "SCN1A"}}], EPILEPSY, "d"))
    ranked = matcher.rank(query, [(p.patient.id, p) for p in (unrelated, other_gene, same_gene, same_variant)])
    assert [m.key for m in ranked] == ["a", "b", "c", "d"]
    scores = {m.key: m.score for m in ranked}
    assert scores["a"].genotype == 1.0 and scores["a"].shared_variants == 1
    assert scores["b"].genotype == 0.5 and scores["b"].shared_genes == ("EFTUD2",)
    assert scores["c"].genotype == 0.0 and scores["c"].phenotype == pytest.approx(1.0)
    assert all(0.0 <= m.score.patient <= 1.0 for m in ranked)


def test_a_variant_on_another_assembly_is_only_a_shared_gene() -> None:
    matcher = Matcher()
    query = matcher.prepare(_with([EFTUD2_STOP], FACE))
    grch38 = {**EFTUD2_STOP, "variant": {**EFTUD2_STOP["variant"], "assembly": "GRCh38"}}
    assert matcher.score(query, matcher.prepare(_with([grch38], FACE))).genotype == 0.5


def test_phenotype_similarity_is_symmetric_and_one_for_the_same_terms() -> None:
    matcher = Matcher()
    a, b = (matcher.prepare(_with([], terms)) for terms in (FACE, FACE[1:] + EPILEPSY))
    sim = matcher.similarity
    assert sim.similarity(a.phenotype, a.phenotype) == pytest.approx(1.0)
    assert sim.similarity(a.phenotype, b.phenotype) == pytest.approx(sim.similarity(b.phenotype, a.phenotype))
    assert 0.0 < sim.similarity(a.phenotype, b.phenotype) < 1.0


def test_unknown_and_obsolete_terms_do_not_fail_a_query() -> None:
    matcher = Matcher()
    prepared = matcher.prepare(_with([], ["HP:9999999", "HP:0001388", "HP:0000006"]))  # unknown, obsolete, AD
    assert prepared.phenotype.terms == ("HP:0001382",)  # joint laxity -> joint hypermobility
    assert set(prepared.phenotype.ignored) == {"HP:9999999", "HP:0000006"}


def test_disorder_namespaces_are_read_as_one() -> None:
    a = parse_patient(patient(features=[{"id": "HP:0001250"}], disorders=[{"id": "MIM:117650"}]))
    b = parse_patient(patient(features=[{"id": "HP:0001250"}], disorders=[{"id": "OMIM:117650"}]))
    assert disorder_ids(a) == disorder_ids(b) == {"OMIM:117650"}


def test_benchmark_in_memory_reaches_every_reachable_same_disorder_patient() -> None:
    """30 of the 50 benchmark patients have a same-disorder partner; measured: all 30 find one first."""
    patients, _ = parse_all(json.loads(BENCHMARK.read_text()), "benchmark")
    outcome = evaluate(patients, in_memory_search(patients))
    assert outcome.with_partner == 30
    assert outcome.top5 >= 30 and outcome.top1 >= 30
    assert all(rank is None for pid, rank in outcome.ranks if pid in {"P0000079", "P0001106"})  # singletons
