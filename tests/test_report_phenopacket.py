"""Phenopacket v2 export: strict round trip, required fields, and the shape of published phenopackets.

The reference is phenopacket-store (monarch-initiative, BSD-3) in the shared data: 7,976 published
rare-disease cases. Our export must use the same keys for the same concepts (variant descriptor,
VCF record, allelic state, ACMG class, resources) and our validator must accept those real files.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import pytest

from genomed.data import data_file
from genomed.errors import InputError
from genomed.report.content import AcmgClass, Conclusion, Outcome, Term, Zygosity
from genomed.report.example import SCN2A_VARIANT, example_content
from genomed.report.phenopacket import (
    SubjectInfo,
    build_phenopacket,
    phenopacket_json,
    reported_hgvs,
    validate_phenopacket_json,
)
from genomed.report.refseq import REFSEQ_CHROMOSOMES

STORE = "phenopackets/phenopacket-store-train.jsonl.gz"


@dataclasses.dataclass
class StoreShape:
    """Key sets and values observed over the published phenopackets, concept by concept."""

    keys: dict[str, set[str]] = dataclasses.field(default_factory=lambda: defaultdict(set))
    descriptor_keysets: Counter[frozenset[str]] = dataclasses.field(default_factory=Counter)
    allelic_states: set[tuple[str, str]] = dataclasses.field(default_factory=set)
    syntaxes: set[str] = dataclasses.field(default_factory=set)
    resources: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    accessions: dict[str, Counter[str]] = dataclasses.field(default_factory=lambda: defaultdict(Counter))
    lines: list[str] = dataclasses.field(default_factory=list)


def _walk(packet: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(concept, object) pairs: the objects whose keys we compare."""
    yield "phenopacket", packet
    yield "subject", packet["subject"]
    yield "metaData", packet["metaData"]
    for feature in packet.get("phenotypicFeatures", []):
        yield "phenotypicFeature", feature
        yield "ontologyClass", feature["type"]
    for disease in packet.get("diseases", []):
        yield "disease", disease
    for resource in packet["metaData"]["resources"]:
        yield "resource", resource
    for interpretation in packet.get("interpretations", []):
        yield "interpretation", interpretation
        yield "diagnosis", interpretation["diagnosis"]
        yield "ontologyClass", interpretation["diagnosis"]["disease"]
        for genomic in interpretation["diagnosis"].get("genomicInterpretations", []):
            yield "genomicInterpretation", genomic
            variant = genomic.get("variantInterpretation")
            if variant:
                yield "variantInterpretation", variant
                descriptor = variant["variationDescriptor"]
                if "vcfRecord" in descriptor:  # small variants: the kind a report carries
                    yield "variationDescriptor", descriptor
                    yield "vcfRecord", descriptor["vcfRecord"]
                    yield "ontologyClass", descriptor["allelicState"]
                    if "geneContext" in descriptor:
                        yield "geneContext", descriptor["geneContext"]
                    for expression in descriptor.get("expressions", []):
                        yield "expression", expression


@pytest.fixture(scope="module")
def store() -> StoreShape:
    shape = StoreShape()
    with gzip.open(data_file(STORE), "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            packet = json.loads(line)
            if number % 10 == 0:
                shape.lines.append(line)
            for concept, obj in _walk(packet):
                shape.keys[concept].update(obj)
                if concept == "variationDescriptor":
                    shape.descriptor_keysets[frozenset(obj)] += 1
                    shape.allelic_states.add((obj["allelicState"]["id"], obj["allelicState"]["label"]))
                    vcf = obj["vcfRecord"]
                    for expression in obj.get("expressions", []):
                        shape.syntaxes.add(expression["syntax"])
                        if expression["syntax"] == "hgvs.g" and vcf["genomeAssembly"] == "hg38":
                            shape.accessions[vcf["chrom"]][expression["value"].split(":")[0]] += 1
                elif concept == "resource":
                    shape.resources.setdefault(obj["id"], obj)
    return shape


# Schema fields a signed report fills and published literature cases have no use for: who signed
# (``submittedBy``), which version this one supersedes (``updates``), the conclusion (``summary``).
BEYOND_PUBLISHED = {"metaData": {"submittedBy", "updates"}, "interpretation": {"summary"}}


def test_fields_beyond_the_published_cases_are_schema_fields() -> None:
    from phenopackets import Interpretation, MetaData  # type: ignore[import-untyped]  # no stubs

    for concept, message in (("metaData", MetaData), ("interpretation", Interpretation)):
        assert BEYOND_PUBLISHED[concept] <= {f.json_name for f in message.DESCRIPTOR.fields}


def _ours(content: Any = None) -> dict[str, Any]:
    packet: dict[str, Any] = json.loads(phenopacket_json(content or example_content(), SubjectInfo("P29Y", "XX")))
    return packet


def test_export_parses_back_strictly_to_the_same_message() -> None:
    content = example_content()
    text = phenopacket_json(content, SubjectInfo("P29Y", "XX"))
    packet = validate_phenopacket_json(text)
    assert packet == build_phenopacket(content, SubjectInfo("P29Y", "XX"))
    assert packet.id == "CASE-2025-0042-v2" and packet.subject.id == "PSN-7F3K-Q9ZD"
    assert reported_hgvs(packet) == ["NM_001040142.2:c.304C>T"]


def test_export_carries_the_report() -> None:
    ours = _ours()
    assert ours["subject"] == {"id": "PSN-7F3K-Q9ZD", "timeAtLastEncounter": {"age": {"iso8601duration": "P29Y"}},
                               "sex": "FEMALE", "karyotypicSex": "XX"}
    features = {f["type"]["id"]: f.get("excluded", False) for f in ours["phenotypicFeatures"]}
    assert features == {"HP:0001250": False, "HP:0010864": False, "HP:0011344": False, "HP:0002283": False,
                        "HP:0031826": True, "HP:0003470": True, "HP:0003808": True}
    [interpretation] = ours["interpretations"]
    assert interpretation["progressStatus"] == "SOLVED"
    assert interpretation["diagnosis"]["disease"] == {"id": "OMIM:613721",
                                                      "label": "Developmental and epileptic encephalopathy 11"}
    [genomic] = interpretation["diagnosis"]["genomicInterpretations"]
    assert genomic["interpretationStatus"] == "CAUSATIVE"
    variant = genomic["variantInterpretation"]
    assert variant["acmgPathogenicityClassification"] == "PATHOGENIC"
    descriptor = variant["variationDescriptor"]
    assert descriptor["vcfRecord"] == {"genomeAssembly": "GRCh38", "chrom": "chr2", "pos": "165297053",
                                       "ref": "C", "alt": "T"}
    assert {e["syntax"]: e["value"] for e in descriptor["expressions"]} == {
        "hgvs.c": "NM_001040142.2:c.304C>T", "hgvs.g": "NC_000002.12:g.165297053C>T", "hgvs.p": "p.(Arg102Ter)"}
    assert descriptor["allelicState"] == {"id": "GENO:0000135", "label": "heterozygous"}
    assert ours["diseases"] == [{"term": interpretation["diagnosis"]["disease"]}]
    versions = {r["id"]: r["version"] for r in ours["metaData"]["resources"]}
    assert versions == {"geno": "2022-03-05", "hgnc": "2025-03-04", "hp": "2025-11-24", "omim": "2025-03-01"}
    assert ours["metaData"]["created"] == "2025-03-15T16:05:00Z"
    assert ours["metaData"]["submittedBy"] == "Dr Bernard Leroy (clinical geneticist)"


def test_an_unsolved_case_keeps_its_vus_as_a_candidate_under_the_indication() -> None:
    vus = dataclasses.replace(SCN2A_VARIANT, acmg_class=AcmgClass.UNCERTAIN_SIGNIFICANCE, disease=None,
                              hgvs_c="c.305G>A", ref="G", alt="A", pos=165297054, zygosity=Zygosity.HOMOZYGOUS)
    content = dataclasses.replace(example_content(), variants=(vus,),
                                  conclusion=Conclusion(Outcome.UNSOLVED, "No diagnosis; one VUS."))
    ours = json.loads(phenopacket_json(content))
    [interpretation] = ours["interpretations"]
    assert interpretation["progressStatus"] == "UNSOLVED"
    assert interpretation["diagnosis"]["disease"] == {"id": "R59", "label": "Early onset or syndromic epilepsy"}
    [genomic] = interpretation["diagnosis"]["genomicInterpretations"]
    assert genomic["interpretationStatus"] == "CANDIDATE"
    descriptor = genomic["variantInterpretation"]["variationDescriptor"]
    assert descriptor["allelicState"]["id"] == "GENO:0000136"
    assert "diseases" not in ours  # no diagnosis made
    validate_phenopacket_json(json.dumps(ours))


def test_dual_diagnosis_gives_one_interpretation_per_disease() -> None:
    second = dataclasses.replace(SCN2A_VARIANT, gene_symbol="KCNQ2", gene_id="HGNC:6296", transcript="NM_172107.4",
                                 hgvs_c="c.1A>G", hgvs_p="p.(Met1?)", chrom="chr20", pos=63439708, ref="T", alt="C",
                                 disease=Term("MONDO:0013420", "developmental and epileptic encephalopathy 7"))
    ours = json.loads(phenopacket_json(dataclasses.replace(example_content(), variants=(SCN2A_VARIANT, second))))
    assert [i["diagnosis"]["disease"]["id"] for i in ours["interpretations"]] == ["OMIM:613721", "MONDO:0013420"]
    assert {r["namespacePrefix"] for r in ours["metaData"]["resources"]} == {"GENO", "HGNC", "HP", "OMIM", "MONDO"}


def test_unknown_ontology_prefix_is_refused() -> None:
    odd = dataclasses.replace(SCN2A_VARIANT, disease=Term("DOID:0050709", "epileptic encephalopathy"))
    with pytest.raises(InputError, match="prefix.*DOID"):
        phenopacket_json(dataclasses.replace(example_content(), variants=(odd,)))


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda p: p.update(bogus=1), "bogus"),
    (lambda p: p["subject"].update(sex="WOMAN"), "WOMAN"),
    (lambda p: p["metaData"].pop("createdBy"), "createdBy is empty"),
    (lambda p: p["metaData"].pop("created"), "created is missing"),
    (lambda p: p["metaData"].update(resources=[r for r in p["metaData"]["resources"] if r["id"] != "omim"]),
     "no metaData resource for prefix.*OMIM"),
    (lambda p: p["metaData"]["resources"][0].pop("version"), "lacks version"),
    (lambda p: p["interpretations"][0]["diagnosis"]["genomicInterpretations"][0]["variantInterpretation"]
     ["variationDescriptor"]["vcfRecord"].pop("ref"), "incomplete VCF record"),
    (lambda p: p.pop("id"), "id is empty"),
])
def test_validation_names_what_is_wrong(mutate: Any, message: str) -> None:
    packet = _ours()
    mutate(packet)
    with pytest.raises(InputError, match=message):
        validate_phenopacket_json(json.dumps(packet))


def test_validator_accepts_published_phenopackets(store: StoreShape) -> None:
    assert len(store.lines) > 700
    for line in store.lines:
        validate_phenopacket_json(line)


def test_same_keys_as_published_phenopackets_for_the_same_concepts(store: StoreShape) -> None:
    # Karyotypic sex is in the schema but no published case states it: compared without it.
    ours = json.loads(phenopacket_json(example_content(), SubjectInfo("P29Y")))
    for concept, obj in _walk(ours):
        extra = set(obj) - store.keys[concept] - BEYOND_PUBLISHED.get(concept, set())
        assert not extra, f"{concept}: keys {extra} never used by phenopacket-store"
    # A small variant is described exactly as the store describes one.
    descriptor = ours["interpretations"][0]["diagnosis"]["genomicInterpretations"][0]["variantInterpretation"][
        "variationDescriptor"]
    typical, _ = store.descriptor_keysets.most_common(1)[0]
    assert set(descriptor) == typical
    assert set(descriptor["vcfRecord"]) == store.keys["vcfRecord"]
    assert set(descriptor["geneContext"]) == store.keys["geneContext"]
    assert {e["syntax"] for e in descriptor["expressions"]} <= store.syntaxes
    assert (descriptor["allelicState"]["id"], descriptor["allelicState"]["label"]) in store.allelic_states
    for resource in ours["metaData"]["resources"]:
        published = store.resources[resource["id"]]
        assert set(resource) == set(published)
        assert {k: v for k, v in resource.items() if k != "version"} == {
            k: v for k, v in published.items() if k != "version"}


def test_allelic_state_codes_match_published_ones(store: StoreShape) -> None:
    from genomed.report.phenopacket import ALLELIC_STATES

    published = dict(store.allelic_states)
    for zygosity in (Zygosity.HETEROZYGOUS, Zygosity.HOMOZYGOUS, Zygosity.HEMIZYGOUS):
        code, label = ALLELIC_STATES[zygosity]
        assert published[code] == label


def test_refseq_chromosome_accessions_match_published_hgvs(store: StoreShape) -> None:
    checked = 0
    for chrom, counts in store.accessions.items():
        if not chrom.startswith("chr") and chrom != "MT":
            continue  # a few curated records name the contig without "chr"; one of them has a typo
        accession, _ = counts.most_common(1)[0]
        name = "MT" if chrom in ("chrM", "MT") else chrom.removeprefix("chr")
        assert REFSEQ_CHROMOSOMES["GRCh38"][name] == accession, chrom
        checked += 1
    assert checked >= 23


def test_secondary_findings_are_a_separate_interpretation_not_a_diagnosis() -> None:
    from genomed.report.content import SecondaryFindings

    brca = dataclasses.replace(SCN2A_VARIANT, gene_symbol="BRCA2", gene_id="HGNC:1101", transcript="NM_000059.4",
                               hgvs_c="c.5946del", hgvs_p="p.(Ser1982ArgfsTer22)", chrom="chr13", pos=32340300,
                               ref="GT", alt="G", inheritance="", acmg_criteria=("PVS1", "PS4", "PM2_Supporting"),
                               disease=Term("OMIM:612555", "Breast-ovarian cancer, familial, susceptibility to, 2"))
    content = dataclasses.replace(example_content(), secondary_findings=SecondaryFindings(True, (brca,)))
    ours = json.loads(phenopacket_json(content))
    assert [i["diagnosis"]["disease"]["id"] for i in ours["interpretations"]] == ["OMIM:613721", "OMIM:612555"]
    secondary = ours["interpretations"][1]
    assert secondary["summary"].startswith("Secondary finding")
    genomic = secondary["diagnosis"]["genomicInterpretations"][0]
    assert genomic.get("interpretationStatus", "UNKNOWN_STATUS") == "UNKNOWN_STATUS"
    assert "hgvs.g" not in {e["syntax"] for e in genomic["variantInterpretation"]["variationDescriptor"]["expressions"]}
    assert [d["term"]["id"] for d in ours["diseases"]] == ["OMIM:613721"]  # not a diagnosis of the patient
