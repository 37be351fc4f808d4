"""Report content: the checks a rendering cannot fix afterwards, its JSON round trip and its digest."""

from __future__ import annotations

import dataclasses
import doctest
import json
from datetime import UTC, datetime

import pytest

import genomed.report.content
import genomed.report.html
import genomed.report.refseq
from genomed.annotate.model import Variant
from genomed.errors import InputError
from genomed.report.content import (
    AcmgClass,
    Conclusion,
    Outcome,
    QCStatus,
    ReportContent,
    ReportedVariant,
    ReportStatus,
    SampleQC,
    SecondaryFindings,
    Term,
    Zygosity,
)
from genomed.report.example import SCN2A_VARIANT, example_content


@pytest.mark.parametrize("module", [genomed.report.content, genomed.report.html, genomed.report.refseq])
def test_doctests(module: object) -> None:
    result = doctest.testmod(module)  # type: ignore[arg-type]
    assert result.attempted > 0 and result.failed == 0


def test_json_round_trip_keeps_every_field_and_the_digest() -> None:
    for content in (example_content(), example_content(signed=False)):
        again = ReportContent.from_json(content.to_json())
        assert again == content
        assert again.sha256() == content.sha256()
        assert isinstance(again.variants[0].zygosity, Zygosity)
        assert again.signed_at == content.signed_at


def test_digest_is_canonical_and_changes_with_any_field() -> None:
    content = example_content()
    assert len(content.sha256()) == 64
    assert content.sha256() == example_content().sha256()
    reordered = dataclasses.replace(content, provenance=dict(reversed(list(content.provenance.items()))))
    assert reordered.sha256() == content.sha256()  # keys are sorted: insertion order is not content
    changed = dataclasses.replace(content, conclusion=Conclusion(Outcome.SOLVED, content.conclusion.text + " "))
    assert changed.sha256() != content.sha256()
    assert example_content(signed=False).sha256() != content.sha256()


def test_strings_from_json_or_the_catalog_become_enums() -> None:
    data = example_content().to_dict()
    assert data["status"] == "signed" and data["variants"][0]["acmg_class"] == "Pathogenic"
    content = ReportContent.from_dict(data)
    assert content.status is ReportStatus.SIGNED and content.variants[0].acmg_class is AcmgClass.PATHOGENIC
    variant = dataclasses.replace(SCN2A_VARIANT, zygosity="homozygous", acmg_criteria=["PVS1"])  # type: ignore[arg-type]
    assert variant.zygosity is Zygosity.HOMOZYGOUS and variant.acmg_criteria == ("PVS1",)


def test_reported_variant_from_the_shared_variant_type() -> None:
    variant = Variant("chr2", 165297053, "C", "T")
    fields = {f.name: getattr(SCN2A_VARIANT, f.name) for f in dataclasses.fields(SCN2A_VARIANT)
              if f.name not in ("chrom", "pos", "ref", "alt")}
    reported = ReportedVariant.from_variant(variant, **fields)
    assert reported == SCN2A_VARIANT
    assert reported.variant == variant and reported.genomic == "chr2-165297053-C-T"
    assert reported.hgvs_c_full == "NM_001040142.2:c.304C>T"


def _signed_by_author() -> None:
    dataclasses.replace(example_content(), signed_by=example_content().drafted_by)


def _draft_with_signature() -> None:
    dataclasses.replace(example_content(), status=ReportStatus.DRAFT)


def _naive_time() -> None:
    dataclasses.replace(example_content(), drafted_at=datetime(2025, 3, 14, 9, 30))  # naive: the error under test


def _signed_before_drafted() -> None:
    dataclasses.replace(example_content(), signed_at=datetime(2025, 3, 1, tzinfo=UTC))


def _solved_without_pathogenic() -> None:
    vus = dataclasses.replace(SCN2A_VARIANT, acmg_class=AcmgClass.UNCERTAIN_SIGNIFICANCE)
    dataclasses.replace(example_content(), variants=(vus,))


def _findings_without_consent() -> None:
    SecondaryFindings(sought=False, variants=(SCN2A_VARIANT,))


@pytest.mark.parametrize(("build", "message"), [
    (lambda: dataclasses.replace(SCN2A_VARIANT, acmg_criteria=("PVS1", "PM7")), "'PM7'"),
    (lambda: dataclasses.replace(SCN2A_VARIANT, acmg_criteria=("PVS1", "PVS1")), "repeated"),
    (lambda: dataclasses.replace(SCN2A_VARIANT, acmg_class="pathogenic"),  # type: ignore[arg-type]
     "ACMG class 'pathogenic'"),
    (lambda: dataclasses.replace(SCN2A_VARIANT, zygosity="het"), "zygosity 'het'"),  # type: ignore[arg-type]
    (lambda: dataclasses.replace(SCN2A_VARIANT, hgvs_c="304C>T"), "not a c. or n. description"),
    (lambda: dataclasses.replace(SCN2A_VARIANT, hgvs_p="Arg102Ter"), "not a p. description"),
    (lambda: dataclasses.replace(SCN2A_VARIANT, ref="C", alt="C"), "distinct DNA alleles"),
    (lambda: dataclasses.replace(SCN2A_VARIANT, pos=0), "1-based"),
    (lambda: dataclasses.replace(SCN2A_VARIANT, evidence_summary=" "), "evidence summary"),
    (lambda: Term("HP_0001250", "Seizure"), "not a CURIE"),
    (lambda: dataclasses.replace(example_content(), observed_phenotypes=(Term("OMIM:613721", "x"),)),
     "not an HPO identifier"),
    (lambda: dataclasses.replace(example_content(), excluded_phenotypes=(Term("HP:0001250", "Seizure"),)),
     "both observed and excluded: HP:0001250"),
    (lambda: dataclasses.replace(example_content(), qc=(SampleQC("S-9", QCStatus.PASS),)), "S-9"),
    (lambda: SampleQC("S-1", "ok"), "QC status of S-1 'ok'"),  # type: ignore[arg-type]
    (lambda: dataclasses.replace(example_content(), supersedes=2), "cannot supersede"),
    (lambda: dataclasses.replace(example_content(), version=0), "version"),
    (lambda: dataclasses.replace(example_content(), samples=()), "names no sample"),
    (lambda: dataclasses.replace(example_content(), signed_by=None), "names its signer"),
    (_signed_by_author, "second person"),
    (_draft_with_signature, "carries no signature"),
    (_naive_time, "timezone-aware"),
    (_signed_before_drafted, "before it was drafted"),
    (_solved_without_pathogenic, "reports no pathogenic"),
    (_findings_without_consent, "none were sought"),
])
def test_malformed_content_is_refused_with_a_message_naming_it(build: object, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(".", r"\.")):
        build()  # type: ignore[operator]


def test_malformed_json_is_an_input_error() -> None:
    with pytest.raises(InputError, match="not JSON"):
        ReportContent.from_json("{")
    data = example_content().to_dict()
    del data["case_reference"]
    with pytest.raises(InputError, match="malformed"):
        ReportContent.from_json(json.dumps(data))


def test_secondary_findings_sentence() -> None:
    assert "did not consent" in SecondaryFindings(sought=False).text
    assert "no reportable variant" in SecondaryFindings(sought=True).text
    assert SecondaryFindings(sought=True, variants=(SCN2A_VARIANT,)).text == ""
