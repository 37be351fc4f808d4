"""Releases: what an analysis records of the knowledge it used, from the real loaders' files."""

from __future__ import annotations

import doctest
import hashlib
import importlib
import json
from pathlib import Path

import pytest

from genomed.annotate.clinvar import ClinVar
from genomed.annotate.population import GnomadSites
from genomed.annotate.releases import KnowledgeRelease, KnowledgeSource, ReleaseSet, read_lines
from genomed.errors import InputError, TruncatedFileError
from genomed.interpret.panels import load_acmg_sf, load_panelapp

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
CLINVAR = DATA / "clinvar" / "clinvar-subset.GRCh38.jsonl"
GNOMAD = DATA / "population" / "gnomad-fixtures" / "gnomad-exomes-grch38-v4.0.vcf"


def test_an_analysis_records_the_releases_it_used_as_json() -> None:
    clinvar = ClinVar.load(CLINVAR, version="2024-05")
    gnomad = GnomadSites(GNOMAD)
    melanoma = next(p for p in load_panelapp(DATA / "panels" / "panelapp-panels-sample.jsonl") if p.id == "522")
    acmg = load_acmg_sf(DATA / "panels" / "acmg-sf-v3.1.tsv")
    assert isinstance(clinvar, KnowledgeSource) and isinstance(gnomad, KnowledgeSource)
    used = ReleaseSet()
    used.extend([clinvar, gnomad, melanoma.release, acmg.release])
    stored = json.loads(json.dumps(used.as_dict()))
    assert list(stored) == ["ACMG SF", "ClinVar", "PanelApp 522 Familial melanoma", "gnomAD exomes"]
    assert stored["ClinVar"]["sha256"] == hashlib.sha256(CLINVAR.read_bytes()).hexdigest()
    assert stored["ClinVar"]["records"] == 10 and stored["ClinVar"]["build"] == "GRCh38"
    assert (stored["gnomAD exomes"]["version"], stored["gnomAD exomes"]["version_from"]) == ("4.0", "file name")
    assert stored["PanelApp 522 Familial melanoma"]["version"] == "2.5"
    assert stored["ACMG SF"]["version"] == "3.1"
    assert ReleaseSet.from_dict(stored).as_dict() == used.as_dict()
    assert ReleaseSet.from_dict(stored).changed_since(used) == []


def test_two_releases_of_one_resource_are_refused_and_changes_are_found(tmp_path: Path) -> None:
    first = ClinVar.load(CLINVAR, version="2024-05").release
    used = ReleaseSet()
    used.add(first)
    used.add(first)  # the same release twice is fine
    later_file = tmp_path / "clinvar-later.jsonl"
    later_file.write_text(CLINVAR.read_text().splitlines()[0] + "\n")
    later = ClinVar.load(later_file, version="2024-06").release
    with pytest.raises(InputError, match=r"two releases of ClinVar in one analysis: 2024-05 .* and 2024-06"):
        used.add(later)
    newer = ReleaseSet({"ClinVar": later})
    assert newer.changed_since(used) == ["ClinVar"]
    assert KnowledgeRelease.from_dict(later.as_dict()) == later
    with pytest.raises(InputError, match="not a knowledge release record"):
        KnowledgeRelease.from_dict({"name": "ClinVar"})


def test_read_lines_refuses_binary_and_missing_files(tmp_path: Path) -> None:
    binary = tmp_path / "weights.bin"
    binary.write_bytes(b"text line\n\xff\xfe\x00\x01\n")
    with pytest.raises(InputError, match=r"weights.bin line 2: not text; is this a PanelApp file\?"):
        list(read_lines(binary, "a PanelApp file"))
    with pytest.raises(InputError, match=r"absent.vcf: no such file \(expected a gnomAD sites VCF\)"):
        list(read_lines(tmp_path / "absent.vcf", "a gnomAD sites VCF"))
    gz = tmp_path / "cut.gz"
    gz.write_bytes(b"\x1f\x8b\x08\x00" + b"\x00" * 6)
    with pytest.raises(TruncatedFileError, match="after line 0"):
        list(read_lines(gz, "a ClinVar VCF"))


@pytest.mark.parametrize("module", ["genomed.annotate.releases", "genomed.annotate.clinvar",
                                    "genomed.annotate.population", "genomed.interpret.panels"])
def test_doctests(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0
