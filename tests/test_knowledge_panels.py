"""Gene panels from the real PanelApp sample (API JSON) and the ACMG secondary-findings list v3.1."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

from genomed.errors import DuplicateError, InputError, NotFoundError, TruncatedFileError
from genomed.interpret.panels import (
    ACMG_SF_PANEL_ID,
    Confidence,
    Inheritance,
    PanelLibrary,
    load_acmg_sf,
    load_panelapp,
)

PANELS = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "panels"
PANELAPP = PANELS / "panelapp-panels-sample.jsonl"
ACMG = PANELS / "acmg-sf-v3.1.tsv"


def test_panelapp_panels_load_with_ratings_and_inheritance() -> None:
    panels = {p.id: p for p in load_panelapp(PANELAPP)}
    assert {(p.id, p.name, p.version, len(p.genes)) for p in panels.values()} == {
        ("522", "Familial melanoma", "2.5", 8), ("1141", "Acute rhabdomyolysis", "2.8", 69),
        ("399", "Additional findings health related", "0.116", 14)}
    melanoma = panels["522"]
    assert Counter(g.confidence for g in melanoma.genes) == {Confidence.GREEN: 4, Confidence.AMBER: 4}
    bap1 = melanoma.gene("BAP1")
    assert bap1 is not None and bap1.hgnc_id == "HGNC:950" and bap1.green
    assert bap1.inheritance is Inheritance.MONOALLELIC
    assert melanoma.gene("HGNC:950") == bap1
    assert "BAP1" in melanoma and len(melanoma.symbols()) == 4 and len(melanoma.symbols(Confidence.AMBER)) == 8
    rhabdo = panels["1141"]
    assert Counter(g.confidence for g in rhabdo.genes) == {Confidence.GREEN: 52, Confidence.RED: 10,
                                                          Confidence.AMBER: 7}
    assert Counter(g.inheritance for g in rhabdo.genes) == {
        Inheritance.BIALLELIC: 49, Inheritance.BOTH: 9, Inheritance.X_LINKED_RECESSIVE: 3,
        Inheritance.MONOALLELIC: 3, Inheritance.MITOCHONDRIAL: 2, Inheritance.UNKNOWN: 2,
        Inheritance.X_LINKED_DOMINANT: 1}
    assert Counter(g.confidence for g in panels["399"].genes)[Confidence.NOT_RATED] == 1
    release = melanoma.release
    assert (release.name, release.version, release.version_from) == ("PanelApp 522 Familial melanoma", "2.5", "file")


def test_acmg_secondary_findings_as_a_panel() -> None:
    panel = load_acmg_sf(ACMG)
    assert (panel.id, panel.version, panel.release.version_from) == (ACMG_SF_PANEL_ID, "3.1", "file")
    assert len(panel.genes) == 90 and len(panel.symbols()) == 78  # genes listed once per phenotype
    hfe = panel.gene("HFE")
    assert hfe is not None and hfe.inheritance is Inheritance.BIALLELIC and hfe.note == "p.C282Y homozygotes only"
    otc = panel.gene("OTC")
    assert otc is not None and otc.inheritance is Inheritance.X_LINKED
    apc = panel.gene("APC")
    assert apc is not None and apc.mode_of_inheritance == "AD" and apc.inheritance is Inheritance.MONOALLELIC
    assert "BRCA1" in panel and "BAP1" not in panel
    assert load_acmg_sf(ACMG, version="3.1-local").release.version_from == "caller"


def _another_version(panel_line: str, version: str) -> str:
    """A later version of a real panel: the same record with one amber gene promoted to green."""
    record = json.loads(panel_line)
    record["version"] = version
    amber = next(g for g in record["genes"] if g["confidence_level"] == "2")
    amber["confidence_level"] = "3"
    return json.dumps(record)


def test_the_library_keeps_every_version_and_names_them_when_one_is_missing(tmp_path: Path) -> None:
    melanoma_line = next(line for line in PANELAPP.read_text().splitlines() if '"id": 522,' in line)
    newer = tmp_path / "panelapp-522-v2.6.jsonl"
    newer.write_text(_another_version(melanoma_line, "2.6") + "\n" + _another_version(melanoma_line, "2.10") + "\n")
    library = PanelLibrary.from_files([PANELAPP, newer], acmg_sf=ACMG)
    assert len(library) == 4
    assert library.versions(522) == ["2.5", "2.6", "2.10"]
    assert library.get(522).version == "2.10"   # numeric order, not text order
    assert library.get("522", "2.5").symbols() < library.get(522, "2.6").symbols()
    assert library.get("Familial melanoma").id == "522"
    with pytest.raises(NotFoundError, match=r"panel 522 \(Familial melanoma\) has no version 2.4; "
                                            r"versions loaded: 2.5, 2.6, 2.10"):
        library.get(522, "2.4")
    with pytest.raises(NotFoundError, match=r"no panel '9999' in the library \(loaded: ACMG-SF ACMG secondary"):
        library.get(9999)
    assert [p.id for p in library.panels_with_gene("BRCA2")] == ["ACMG-SF", "399"]
    library.add(load_panelapp(PANELAPP)[0])   # the same version again, same genes: accepted
    changed = tmp_path / "changed.jsonl"
    changed.write_text(_another_version(melanoma_line, "2.5"))
    with pytest.raises(DuplicateError, match=r"panel 522 \(Familial melanoma\) version 2.5 loaded twice"):
        library.add(load_panelapp(changed)[0])


def test_files_that_are_not_panels_are_refused(tmp_path: Path) -> None:
    clinvar = PANELS.parent / "clinvar" / "clinvar-subset.GRCh38.jsonl"
    with pytest.raises(InputError, match=r"clinvar-subset.GRCh38.jsonl line 1: not a PanelApp panel: no 'id', "
                                         r"'version', 'genes'"):
        load_panelapp(clinvar)
    with pytest.raises(InputError, match=r"acmg-sf-v3.1.tsv line 1: not JSON"):
        load_panelapp(ACMG)
    with pytest.raises(InputError, match=r"panelapp-panels-sample.jsonl line 1: not the ACMG secondary-findings TSV"):
        load_acmg_sf(PANELAPP)


def test_truncated_gzip_and_missing_columns_are_refused_with_their_line(tmp_path: Path) -> None:
    whole = gzip.compress(PANELAPP.read_bytes())
    cut = tmp_path / "panels.jsonl.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(TruncatedFileError, match=r"panels.jsonl.gz: the compressed file ends"):
        load_panelapp(cut)

    lines = ACMG.read_text().splitlines()
    no_inheritance = tmp_path / "no-inheritance.tsv"
    drop = lines[0].split("\t").index("inheritance")
    no_inheritance.write_text("\n".join("\t".join(v for i, v in enumerate(line.split("\t")) if i != drop)
                                        for line in lines) + "\n")
    with pytest.raises(InputError, match=r"no-inheritance.tsv line 1: .* no column inheritance"):
        load_acmg_sf(no_inheritance)
    short_row = tmp_path / "short-row.tsv"
    short_row.write_text("\n".join([*lines[:5], "\t".join(lines[5].split("\t")[:4]), *lines[6:]]) + "\n")
    with pytest.raises(InputError, match=r"short-row.tsv line 6: 4 columns, the header has 11"):
        load_acmg_sf(short_row)

    record = json.loads(PANELAPP.read_text().splitlines()[1])
    del record["genes"][3]["confidence_level"]
    unrated = tmp_path / "unrated.jsonl"
    unrated.write_text(PANELAPP.read_text().splitlines()[0] + "\n" + json.dumps(record) + "\n")
    with pytest.raises(InputError, match=r"unrated.jsonl line 2: gene \w+ of panel 1141 has no confidence_level"):
        load_panelapp(unrated)
