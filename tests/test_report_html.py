"""The printable report: golden HTML files, escaping, draft watermark, signature block and the PDF.

Golden files live in tests/golden/report/. After a deliberate change to the template or the example
content, regenerate them with ``GENOMED_REGENERATE_GOLDEN=1 pytest tests/test_report_html.py`` and
review the diff like any other code change.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from genomed.errors import ConfigurationError
from genomed.report.content import Conclusion, Outcome
from genomed.report.example import SCN2A_VARIANT, example_content
from genomed.report.html import WATERMARK, render_html
from genomed.report.pdf import CHROMIUM_ENV, find_chromium, html_to_pdf, require_chromium
from genomed.report.render import render_report

GOLDEN = Path(__file__).parent / "golden" / "report"
REGENERATE = os.environ.get("GENOMED_REGENERATE_GOLDEN") == "1"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install -y chromium); PDF not tested")


@pytest.mark.parametrize("signed", [True, False], ids=["signed", "draft"])
def test_html_matches_golden_file(signed: bool) -> None:
    html = render_html(example_content(signed=signed))
    golden = GOLDEN / f"{'signed' if signed else 'draft'}.html"
    if REGENERATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(html, encoding="utf-8")
    assert golden.is_file(), f"{golden} missing: run with GENOMED_REGENERATE_GOLDEN=1 to create it"
    assert html == golden.read_text(encoding="utf-8"), (
        f"rendering differs from {golden}; if the change is intended, regenerate with GENOMED_REGENERATE_GOLDEN=1")


def test_rendering_is_deterministic() -> None:
    assert render_html(example_content()) == render_html(example_content())


class _Balance(HTMLParser):
    """Counts open/close tags of non-void elements: a broken template leaves them unbalanced."""

    VOID = frozenset({"meta", "br", "col", "img", "hr", "input", "link"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else '-'}>")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.mark.parametrize("signed", [True, False], ids=["signed", "draft"])
def test_html_is_balanced_and_carries_every_section(signed: bool) -> None:
    content = example_content(signed=signed)
    parser = _Balance()
    parser.feed(render_html(content))
    assert parser.errors == [] and parser.stack == []
    text = " ".join(" ".join(parser.text).split())
    for expected in ("CASE-2025-0042", "PSN-7F3K-Q9ZD", "R59 — Early onset or syndromic epilepsy",
                     "Dr Claire Martin", "S-0003", "GRCh38", "genomed 0.1.0", "NM_001040142.2", "c.304C>T",
                     "p.(Arg102Ter)", "chr2-165297053-C-T", "heterozygous", "de novo", "Pathogenic",
                     "PVS1, PS2, PM2_Supporting", "OMIM:613721", "did not consent", "Seizure HP:0001250",
                     "Paralysis HP:0003470", "WARN", "mean coverage: 27.2 x", "reanalysis may be requested",
                     "Coverage of the father's sample", "clinvar 2025-03-02", "supersedes version 1",
                     content.sha256()):
        assert expected in text, expected
    assert (WATERMARK in text) is (not signed)
    assert ("Dr Bernard Leroy" in text) is signed
    assert ("Not signed." in text) is (not signed)


def test_values_are_escaped_in_the_page_and_in_the_stylesheet() -> None:
    hostile = "<script>alert(1)</script> & </style>"
    content = dataclasses.replace(example_content(), case_reference='CASE-"1"</style>',
                                  conclusion=Conclusion(Outcome.SOLVED, hostile),
                                  variants=(dataclasses.replace(SCN2A_VARIANT, evidence_summary=hostile),))
    html = render_html(content)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;/style&gt;" in html
    style = html[html.index("<style>"):html.index("</style>")]
    assert "CASE-\\22 1\\22 \\3c /style\\3e " in style  # the CSS string escapes the quote and the tag
    assert html.count("</style>") == 1


def test_page_is_a4_with_margin_boxes() -> None:
    html = render_html(example_content())
    assert "size: A4" in html and "counter(pages)" in html and "@bottom-left" in html


def _page_count(pdf: bytes) -> int:
    """Pages of a Chromium PDF: its page objects are plain dictionaries (``/Type /Page``)."""
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


@needs_chromium
@pytest.mark.parametrize("signed", [True, False], ids=["signed", "draft"])
def test_pdf_prints_the_report(tmp_path: Path, signed: bool) -> None:
    content = example_content(signed=signed)
    pdf = html_to_pdf(render_html(content))
    assert pdf.startswith(b"%PDF-")
    pages = _page_count(pdf)
    assert pages >= 1
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed (Debian: apt-get install -y poppler-utils): PDF text not checked")
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    assert int(info.split("Pages:")[1].split()[0]) == pages  # poppler agrees with our page count
    assert "(A4)" in next(line for line in info.splitlines() if line.startswith("Page size:"))
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    flat = " ".join(text.split())
    assert "CASE-2025-0042" in flat
    assert "c.304C>T" in flat and "p.(Arg102Ter)" in flat
    assert f"Content SHA-256 {content.sha256()}" in flat  # the margin box, on every page
    assert flat.count("Content SHA-256") == pages
    assert ("not for clinical use" in flat) is (not signed)
    assert ("Dr Bernard Leroy" in flat) is signed


@needs_chromium
def test_render_report_makes_every_form_from_one_content() -> None:
    content = example_content()
    rendered = render_report(content)
    assert rendered.sha256 == content.sha256()
    assert rendered.pdf is not None and rendered.pdf.startswith(b"%PDF-")
    assert content.sha256() in rendered.html and content.sha256() in rendered.fhir_json
    assert '"hgvs.c"' in rendered.phenopacket_json and "NM_001040142.2:c.304C>T" in rendered.phenopacket_json
    assert '"application/pdf"' in rendered.fhir_json and '"text/html"' in rendered.fhir_json


def test_no_chromium_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(CHROMIUM_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no browser on PATH
    assert find_chromium() is None
    with pytest.raises(ConfigurationError, match="apt-get install -y chromium"):
        require_chromium()
    with pytest.raises(ConfigurationError, match="no Chromium"):
        render_report(example_content(), pdf=True)
    rendered = render_report(example_content())  # optional PDF: the other forms are still made
    assert rendered.pdf is None and '"application/pdf"' not in rendered.fhir_json


def test_configured_chromium_must_be_executable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(CHROMIUM_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(ConfigurationError, match=f"{CHROMIUM_ENV}=.*not an executable"):
        find_chromium()


def test_a_browser_that_prints_nothing_is_a_configuration_error(tmp_path: Path) -> None:
    fake = tmp_path / "false-browser"
    fake.write_text("#!/bin/sh\necho 'cannot print' >&2\nexit 1\n")
    fake.chmod(0o755)
    with pytest.raises(ConfigurationError, match=r"failed to print the report \(exit 1\): cannot print"):
        html_to_pdf("<html></html>", chromium=fake)


def test_secondary_findings_and_an_unsolved_case_are_printed() -> None:
    from genomed.report.content import AcmgClass, SecondaryFindings

    finding = dataclasses.replace(SCN2A_VARIANT, gene_symbol="BRCA2", transcript="NM_000059.4", hgvs_c="c.5946del",
                                  hgvs_p="p.(Ser1982ArgfsTer22)", chrom="chr13", pos=32340300, ref="GT", alt="G")
    vus = dataclasses.replace(SCN2A_VARIANT, acmg_class=AcmgClass.UNCERTAIN_SIGNIFICANCE, acmg_criteria=("PM2",),
                              disease=None)
    content = dataclasses.replace(example_content(), variants=(vus,),
                                  conclusion=Conclusion(Outcome.UNSOLVED, "No diagnosis was made."),
                                  secondary_findings=SecondaryFindings(True, (finding,)))
    parser = _Balance()
    parser.feed(render_html(content))
    text = " ".join(" ".join(parser.text).split())
    assert parser.errors == [] and parser.stack == []
    assert "UNSOLVED" not in text and "unsolved" in text  # the template upper-cases it with CSS only
    assert "Uncertain significance" in text and "did not consent" not in text
    assert "BRCA2" in text and "NM_000059.4:c.5946del" in text and "chr13-32340300-GT-G" in text
