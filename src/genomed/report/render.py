"""Every rendering of one report version, made together so they cannot disagree.

The HTML, the PDF printed from that same HTML, the Phenopacket and the FHIR bundle are all made
from one :class:`~genomed.report.content.ReportContent`, and all quote its SHA-256 (the HTML/PDF
footer, the FHIR DiagnosticReport identifier); the FHIR bundle also carries the HTML and, when one
was printed, the PDF as its ``presentedForm``. Each export is validated before it is returned.
"""

from __future__ import annotations

from dataclasses import dataclass

from genomed.report.content import ReportContent
from genomed.report.fhir import PresentedForm, fhir_json
from genomed.report.html import render_html
from genomed.report.pdf import find_chromium, html_to_pdf
from genomed.report.phenopacket import SubjectInfo, phenopacket_json, validate_phenopacket_json


@dataclass(frozen=True)
class RenderedReport:
    """The renderings of one report version. ``pdf`` is None when no PDF was asked for or possible."""

    html: str
    pdf: bytes | None
    phenopacket_json: str
    fhir_json: str
    sha256: str

    @property
    def filename_stem(self) -> str:
        """A file name stem naming the digest, e.g. for ``<stem>.pdf`` in the vault."""
        return f"report-{self.sha256[:12]}"


def render_report(content: ReportContent, *, pdf: bool | None = None,
                  subject: SubjectInfo | None = None) -> RenderedReport:
    """Render a report version in every form.

    ``pdf``: True requires a PDF (a :class:`~genomed.errors.ConfigurationError` when Chromium is
    missing); False skips it; None (default) prints one when Chromium is installed.
    ``subject`` adds what the phenopacket says beyond the report (age, karyotype).
    """
    html = render_html(content)
    pdf_bytes: bytes | None = None
    if pdf or (pdf is None and find_chromium() is not None):
        pdf_bytes = html_to_pdf(html)
    label = f"Genomic test report {content.case_reference} v{content.version}"
    forms = [PresentedForm("text/html", html.encode("utf-8"), label)]
    if pdf_bytes is not None:
        forms.append(PresentedForm("application/pdf", pdf_bytes, label))
    packet = phenopacket_json(content, subject)
    validate_phenopacket_json(packet)
    return RenderedReport(html=html, pdf=pdf_bytes, phenopacket_json=packet,
                          fhir_json=fhir_json(content, forms), sha256=content.sha256())
