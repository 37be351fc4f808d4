"""FHIR Genomics Reporting export: parsed back with fhir.resources, compared with the IG's own examples.

The reference is the HL7 Genomics Reporting IG package (hl7.fhir.uv.genomics-reporting 3.0.0, the
FHIR R4 STU3 release, CC0), fetched once with ``npm pack`` from the npm registry into
``$XDG_CACHE_HOME/genomed/fhir-ig`` (default ``~/.cache``), never into the repository. When the
package is not cached and npm cannot fetch it, the comparison tests are skipped with that reason.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import tarfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

from genomed.errors import InputError
from genomed.report.content import AcmgClass, Conclusion, Outcome
from genomed.report.example import SCN2A_VARIANT, example_content
from genomed.report.fhir import (
    ACMG_ANSWERS,
    PROFILE_IMPLICATION,
    PROFILE_REPORT,
    PROFILE_VARIANT,
    PresentedForm,
    build_bundle,
    fhir_json,
    validate_fhir_json,
)
from genomed.report.refseq import LOINC_CHROMOSOMES

IG_PACKAGE, IG_VERSION = "hl7.fhir.uv.genomics-reporting", "3.0.0"
REGISTRY = "https://registry.npmjs.org/"
IG_BASE = "http://hl7.org/fhir/uv/genomics-reporting"

# The IG's variant slices the brief names, by LOINC code.
REQUIRED_VARIANT_COMPONENTS = {
    "48018-6": "gene-studied", "48013-7": "genomic-ref-seq", "51958-7": "transcript-ref-seq",
    "48004-6": "coding-hgvs", "48005-3": "protein-hgvs", "53034-5": "allelic-state",
    "48002-0": "genomic-source-class", "69547-8": "ref-allele", "69551-0": "alt-allele",
    "81254-5": "exact-start-end", "48000-4": "chromosome-identifier",
}


def _cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "genomed" / "fhir-ig"


@pytest.fixture(scope="module")
def ig() -> Path:
    """The unpacked IG package directory, fetched with npm when it is not cached yet."""
    cache = _cache_dir()
    target = cache / f"{IG_PACKAGE}-{IG_VERSION}"
    if (target / "package" / "package.json").is_file():
        return target / "package"
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip(f"npm is not installed, so the {IG_PACKAGE} package cannot be fetched for comparison")
    cache.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run([npm, "pack", f"{IG_PACKAGE}@{IG_VERSION}", "--registry", REGISTRY,
                               "--pack-destination", str(cache)], capture_output=True, text=True, timeout=180,
                              cwd=cache, check=False)
    except subprocess.TimeoutExpired:
        pytest.skip(f"npm could not fetch {IG_PACKAGE}@{IG_VERSION} from {REGISTRY} within 180 s")
    archive = cache / f"{IG_PACKAGE}-{IG_VERSION}.tgz"
    if done.returncode != 0 or not archive.is_file():
        errors = [line for line in done.stderr.splitlines() if line.strip() and "complete log" not in line]
        reason = " | ".join(errors[:2]) or "no archive written"
        pytest.skip(f"npm could not fetch {IG_PACKAGE}@{IG_VERSION} from {REGISTRY}: {reason}")
    partial = cache / f".{target.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    with tarfile.open(archive) as tar:
        tar.extractall(partial, filter="data")
    partial.rename(target)
    return target / "package"


@dataclasses.dataclass
class ProfileShape:
    """What the IG's examples of one profile use: top-level keys, component codes and their values."""

    examples: int = 0
    keys: set[str] = dataclasses.field(default_factory=set)
    codes: set[tuple[str, str]] = dataclasses.field(default_factory=set)
    categories: set[tuple[str, str]] = dataclasses.field(default_factory=set)
    component_value_keys: dict[str, set[str]] = dataclasses.field(default_factory=lambda: defaultdict(set))
    component_value_systems: dict[str, set[str]] = dataclasses.field(default_factory=lambda: defaultdict(set))
    component_answers: dict[str, set[str]] = dataclasses.field(default_factory=lambda: defaultdict(set))


def _codings(concept: dict[str, Any]) -> list[dict[str, Any]]:
    return list(concept.get("coding", []))


def _add(shape: ProfileShape, resource: dict[str, Any]) -> None:
    shape.examples += 1
    shape.keys.update(resource)
    shape.codes.update((c.get("system", ""), c.get("code", "")) for c in _codings(resource.get("code", {})))
    for category in resource.get("category", []):
        shape.categories.update((c.get("system", ""), c.get("code", "")) for c in _codings(category))
    for component in resource.get("component", []):
        code = component["code"]["coding"][0]["code"]
        value_keys = {k for k in component if k.startswith("value")}
        shape.component_value_keys[code].update(value_keys)
        for coding in _codings(component.get("valueCodeableConcept", {})):
            shape.component_value_systems[code].add(coding.get("system", ""))
            shape.component_answers[code].add(coding.get("code", ""))


@pytest.fixture(scope="module")
def ig_shapes(ig: Path) -> dict[str, ProfileShape]:
    """Shapes of the IG's example resources, by profile, from standalone files and bundle entries."""
    shapes: dict[str, ProfileShape] = defaultdict(ProfileShape)
    for path in sorted((ig / "example").glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        resources = ([e["resource"] for e in document.get("entry", [])] if document["resourceType"] == "Bundle"
                     else [document])
        for resource in resources:
            if resource["resourceType"] not in ("Observation", "DiagnosticReport"):
                continue
            for profile in resource.get("meta", {}).get("profile", []):
                _add(shapes[profile], resource)
    return shapes


def _profile_chain(ig: Path, profile: str) -> list[dict[str, Any]]:
    """A profile's StructureDefinition and those it derives from, within the IG."""
    chain = []
    while profile.startswith(f"{IG_BASE}/StructureDefinition/"):
        path = ig / f"StructureDefinition-{profile.rsplit('/', 1)[-1]}.json"
        definition = json.loads(path.read_text(encoding="utf-8"))
        chain.append(definition)
        profile = definition["baseDefinition"]
    return chain


def _slice_codes(ig: Path, profile: str) -> set[str]:
    """Codes of the component slices a profile defines or inherits (variant ← finding ← genomic-base)."""
    return {coding["code"] for definition in _profile_chain(ig, profile)
            for element in definition["differential"]["element"]
            if element["id"].startswith("Observation.component:") and element["id"].endswith(".code")
            for coding in element.get("patternCodeableConcept", {}).get("coding", [])}


def _profile_elements(ig: Path, profile: str) -> set[str]:
    """Top-level elements a profile (or one it derives from) constrains, e.g. ``note`` in genomic-base."""
    return {element["path"].split(".")[1] for definition in _profile_chain(ig, profile)
            for element in definition["differential"]["element"] if element["path"].count(".") == 1}


@pytest.fixture(scope="module")
def ig_loinc_displays(ig: Path) -> dict[str, set[str]]:
    """Every LOINC code used anywhere in the IG's examples, with the displays it is given there."""
    displays: dict[str, set[str]] = defaultdict(set)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("system") == "http://loinc.org" and "code" in node:
                displays[node["code"]].add(_normal(node.get("display", "")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for path in sorted((ig / "example").glob("*.json")):
        walk(json.loads(path.read_text(encoding="utf-8")))
    return displays


def _normal(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _resources(bundle: dict[str, Any], profile: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
    found = [e["resource"] for e in bundle["entry"]]
    if kind:
        found = [r for r in found if r["resourceType"] == kind]
    if profile:
        found = [r for r in found if profile in r.get("meta", {}).get("profile", [])]
    return found


def _component_codes(resource: dict[str, Any]) -> list[str]:
    return [c["code"]["coding"][0]["code"] for c in resource["component"]]


def _component(resource: dict[str, Any], code: str) -> dict[str, Any]:
    return next(c for c in resource["component"] if c["code"]["coding"][0]["code"] == code)


# --- the export on its own ---------------------------------------------------------------------


def test_bundle_parses_with_fhir_resources_and_resolves_its_references() -> None:
    content = example_content()
    text = fhir_json(content, [PresentedForm("text/html", b"<html></html>", "report")])
    bundle = validate_fhir_json(text)
    assert bundle.type == "collection"
    kinds = [entry.resource.__class__.__name__ for entry in bundle.entry]
    assert kinds == ["DiagnosticReport", "Patient", "Organization", "Specimen", "Specimen", "Specimen",
                     "Observation", "Observation"]
    report = bundle.entry[0].resource
    assert report.status == "amended" and report.code.coding[0].code == "51969-4"
    assert report.identifier[1].value == content.sha256()
    assert report.presentedForm[0].contentType == "text/html"
    assert fhir_json(content) == fhir_json(example_content())  # deterministic ids and order


def test_variant_observation_says_what_the_report_says() -> None:
    bundle = build_bundle(example_content())
    [variant] = _resources(bundle, PROFILE_VARIANT)
    values = {c["code"]["coding"][0]["code"]: c for c in variant["component"]}
    assert set(REQUIRED_VARIANT_COMPONENTS) <= set(values)

    def coded(code: str) -> tuple[str, str]:
        coding = values[code]["valueCodeableConcept"]["coding"][0]
        return coding["system"], coding["code"]

    assert coded("48018-6") == ("http://www.genenames.org", "HGNC:10588")
    assert coded("48013-7") == ("http://www.ncbi.nlm.nih.gov/refseq", "NC_000002.12")
    assert coded("51958-7") == ("http://www.ncbi.nlm.nih.gov/refseq", "NM_001040142.2")
    assert coded("48004-6") == ("http://varnomen.hgvs.org", "NM_001040142.2:c.304C>T")
    assert coded("48005-3") == ("http://varnomen.hgvs.org", "p.(Arg102Ter)")
    assert coded("81290-9") == ("http://varnomen.hgvs.org", "NC_000002.12:g.165297053C>T")
    assert coded("48000-4") == ("http://loinc.org", LOINC_CHROMOSOMES["2"])
    assert coded("62374-4") == ("http://loinc.org", "LA26806-2")  # GRCh38
    assert coded("53034-5") == ("http://loinc.org", "LA6706-1")  # heterozygous
    assert coded("48002-0") == ("http://loinc.org", "LA6683-2")  # germline
    assert coded("48019-4") == ("http://www.sequenceontology.org", "SO:0001483")  # SNV
    assert values["81254-5"]["valueRange"] == {"low": {"value": 165297053}, "high": {"value": 165297053}}
    assert values["69547-8"]["valueString"] == "C" and values["69551-0"]["valueString"] == "T"
    assert "de novo" in variant["note"][0]["text"]
    [implication] = _resources(bundle, PROFILE_IMPLICATION)
    assert implication["derivedFrom"] == [{"reference": f"urn:uuid:{variant['id']}"}]
    assert _component(implication, "53037-8")["valueCodeableConcept"]["coding"][0]["code"] == "LA6668-3"
    assert _component(implication, "81259-4")["valueCodeableConcept"]["coding"][0] == {
        "system": "http://www.omim.org", "code": "OMIM:613721",
        "display": "Developmental and epileptic encephalopathy 11"}
    assert "PVS1, PS2, PM2_Supporting" in implication["note"][0]["text"]


def test_an_indel_has_no_genomic_hgvs_and_its_change_type() -> None:
    deletion = dataclasses.replace(SCN2A_VARIANT, hgvs_c="c.304del", hgvs_p="p.(Arg102GlyfsTer5)", ref="AC", alt="A",
                                   pos=165297052)
    bundle = build_bundle(dataclasses.replace(example_content(), variants=(deletion,)))
    [variant] = _resources(bundle, PROFILE_VARIANT)
    assert "81290-9" not in _component_codes(variant)  # 3' shifting needs the reference: not guessed
    assert _component(variant, "48019-4")["valueCodeableConcept"]["coding"][0]["code"] == "SO:0000159"
    assert _component(variant, "81254-5")["valueRange"]["high"] == {"value": 165297053}


def test_patient_is_a_pseudonym_only() -> None:
    [patient] = _resources(build_bundle(example_content()), kind="Patient")
    assert set(patient) == {"resourceType", "id", "identifier", "gender"}
    assert [i["value"] for i in patient["identifier"]] == ["PSN-7F3K-Q9ZD"]


def test_statuses_follow_the_report_version() -> None:
    draft = build_bundle(example_content(signed=False))
    [report] = _resources(draft, kind="DiagnosticReport")
    assert report["status"] == "preliminary" and "resultsInterpreter" not in report
    assert {o["status"] for o in _resources(draft, kind="Observation")} == {"preliminary"}
    first = dataclasses.replace(example_content(), version=1, supersedes=None)
    [report] = _resources(build_bundle(first), kind="DiagnosticReport")
    assert report["status"] == "final" and report["resultsInterpreter"] == [
        {"display": "Dr Bernard Leroy (clinical geneticist)"}]
    # The same patient and laboratory keep their ids across versions; the report gets a new one.
    ids = {r["resourceType"]: r["id"] for r in _resources(build_bundle(first)) if r["resourceType"] != "Observation"}
    again = {r["resourceType"]: r["id"] for r in _resources(build_bundle(example_content()))
             if r["resourceType"] != "Observation"}
    assert ids["Patient"] == again["Patient"] and ids["Organization"] == again["Organization"]
    assert ids["DiagnosticReport"] != again["DiagnosticReport"]


def test_conclusion_codes() -> None:
    vus = dataclasses.replace(SCN2A_VARIANT, acmg_class=AcmgClass.UNCERTAIN_SIGNIFICANCE)
    unsolved = dataclasses.replace(example_content(), variants=(vus,),
                                   conclusion=Conclusion(Outcome.UNSOLVED, "No diagnosis."))
    negative = dataclasses.replace(unsolved, variants=())
    for content, code in ((example_content(), "LA6576-8"), (unsolved, "LA9663-1"), (negative, "LA6577-6")):
        [report] = _resources(build_bundle(content), kind="DiagnosticReport")
        assert report["conclusionCode"][0]["coding"][0]["code"] == code
    [report] = _resources(build_bundle(negative), kind="DiagnosticReport")
    assert "result" not in report


def test_every_acmg_class_has_its_loinc_answer() -> None:
    assert {c for c, _ in ACMG_ANSWERS.values()} == {"LA6668-3", "LA26332-9", "LA26333-7", "LA26334-5", "LA6675-8"}
    assert set(ACMG_ANSWERS) == set(AcmgClass)


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda b: b["entry"][0]["resource"].update(bogus=1), "bogus"),
    (lambda b: b["entry"][0]["resource"].pop("code"), "code"),
    (lambda b: b["entry"].pop(1), "does not contain: urn:uuid:"),
    (lambda b: b["entry"][0]["resource"].update(status="signed"), "DiagnosticReport .* status 'signed'"),
    (lambda b: b["entry"][-1]["resource"].update(status="draft"), "Observation .* status 'draft'"),
])
def test_validation_names_what_is_wrong(mutate: Any, message: str) -> None:
    bundle = build_bundle(example_content())
    mutate(bundle)
    with pytest.raises(InputError, match=message):
        validate_fhir_json(json.dumps(bundle))


# --- against the Genomics Reporting IG's own examples -----------------------------------------------


def test_ig_examples_parse_with_the_r4b_models_we_validate_with(ig: Path) -> None:
    parsed = 0
    for path in sorted((ig / "example").glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        if document["resourceType"] in ("Observation", "DiagnosticReport", "Bundle", "Patient", "Specimen"):
            get_fhir_model_class(document["resourceType"]).model_validate(document)
            parsed += 1
    assert parsed > 100


def test_variant_observation_is_shaped_like_the_ig_examples(ig: Path, ig_shapes: dict[str, ProfileShape]) -> None:
    shape = ig_shapes[PROFILE_VARIANT]
    assert shape.examples > 20
    variant_slice_codes = _slice_codes(ig, PROFILE_VARIANT)
    assert set(REQUIRED_VARIANT_COMPONENTS) <= variant_slice_codes  # the brief's slices are the IG's
    [ours] = _resources(build_bundle(example_content()), PROFILE_VARIANT)
    assert set(ours) <= shape.keys, set(ours) - shape.keys
    assert {(c["system"], c["code"]) for c in ours["code"]["coding"]} <= shape.codes
    assert {(c["system"], c["code"]) for cat in ours["category"] for c in cat["coding"]} == shape.categories
    for component in ours["component"]:
        code = component["code"]["coding"][0]["code"]
        assert code in variant_slice_codes, f"{code} is not a component slice of the IG's variant profile"
        value_keys = {k for k in component if k.startswith("value")}
        assert value_keys <= shape.component_value_keys[code], (code, value_keys)
        for coding in component.get("valueCodeableConcept", {}).get("coding", []):
            assert coding["system"] in shape.component_value_systems[code], (code, coding["system"])
    for code in ("53034-5", "48002-0", "92822-6"):  # answers the IG's variant examples use themselves
        answer = _component(ours, code)["valueCodeableConcept"]["coding"][0]["code"]
        assert answer in shape.component_answers[code], (code, answer)
    chromosome = _component(ours, "48000-4")["valueCodeableConcept"]["coding"][0]["code"]
    assert chromosome.startswith("LA212")
    assert {c for c in shape.component_answers["48000-4"]} <= set(LOINC_CHROMOSOMES.values())


def test_diagnostic_implication_is_shaped_like_the_ig_examples(ig: Path, ig_shapes: dict[str, ProfileShape]) -> None:
    shape = ig_shapes[PROFILE_IMPLICATION]
    assert shape.examples > 5
    [ours] = _resources(build_bundle(example_content()), PROFILE_IMPLICATION)
    # ``note`` (our ACMG criteria and evidence) is constrained by the IG's genomic-base profile.
    allowed = shape.keys | _profile_elements(ig, PROFILE_IMPLICATION)
    assert set(ours) <= allowed, set(ours) - allowed
    assert "note" in _profile_elements(ig, PROFILE_IMPLICATION)
    assert set(_component_codes(ours)) <= _slice_codes(ig, PROFILE_IMPLICATION)
    assert {(c["system"], c["code"]) for c in ours["code"]["coding"]} <= shape.codes
    assert set(_component_codes(ours)) <= set(shape.component_value_keys)
    for component in ours["component"]:
        code = component["code"]["coding"][0]["code"]
        assert {k for k in component if k.startswith("value")} <= shape.component_value_keys[code]
    assert "LA6668-3" in shape.component_answers["53037-8"]
    seen = shape.component_answers["53037-8"]
    assert {"LA6668-3", "LA26332-9", "LA26333-7", "LA6675-8"} <= seen | {c for c, _ in ACMG_ANSWERS.values()}


def test_diagnostic_report_is_shaped_like_the_ig_examples(ig_shapes: dict[str, ProfileShape]) -> None:
    shape = ig_shapes[PROFILE_REPORT]
    assert shape.examples >= 3
    content = example_content()
    [ours] = _resources(build_bundle(content, [PresentedForm("application/pdf", b"%PDF-1.4", "r")]),
                        kind="DiagnosticReport")
    assert set(ours) <= shape.keys, set(ours) - shape.keys
    assert {(c["system"], c["code"]) for c in ours["code"]["coding"]} <= shape.codes
    assert {(c["system"], c["code"]) for cat in ours["category"] for c in cat["coding"]} == shape.categories


def test_every_loinc_code_the_ig_also_uses_means_the_same_there(ig_loinc_displays: dict[str, set[str]]) -> None:
    """Our LOINC codes and displays agree with the IG's wherever it uses the same code (GRCh38, Present…)."""
    ours: dict[str, str] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("system") == "http://loinc.org" and node.get("display"):
                ours[node["code"]] = node["display"]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(build_bundle(example_content()))
    shared = {code: display for code, display in ours.items() if code in ig_loinc_displays}
    assert len(shared) >= 15 and "LA26806-2" in shared  # GRCh38, used by the IG's genomic-study examples
    for code, display in shared.items():
        known = ig_loinc_displays[code] - {""}
        assert not known or _normal(display) in known, (code, display, known)
