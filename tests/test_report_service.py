"""The clinical report of an interpreted catalog case: drafted, signed by a second person, sealed, exported."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from sqlalchemy import select

from genomed.catalog.models import Report, StoredFile
from genomed.context import NodeContext
from genomed.errors import AccessDeniedError, NotFoundError, StateError
from genomed.interpret.service import interpret_case
from genomed.report.content import ReportContent
from genomed.report.fhir import validate_fhir_json
from genomed.report.phenopacket import validate_phenopacket_json
from genomed.report.service import draft_clinical_report, export_report, report_content, sign_clinical_report
from test_interpret_service import GENE, Family, ingested_family, knowledge
from test_interpret_service import family as family  # the module-scoped simulated family fixture


def test_report_of_an_interpreted_case_is_sealed_when_signed(node: NodeContext, family: Family) -> None:
    case = ingested_family(node, family)
    interpret_case(node, "bio", case_reference=case.reference, **knowledge(family))  # type: ignore[arg-type]
    with pytest.raises(NotFoundError, match="not among"):
        draft_clinical_report(node, "bio", case_reference=case.reference, conclusion="x",
                              variants=["chr1-1-A-G"])
    draft_clinical_report(node, "bio", case_reference=case.reference, outcome="solved",
                          conclusion=f"A de novo truncating {GENE} variant explains the phenotype.",
                          variants=[family.spike.name])
    draft = report_content(node, case_reference=case.reference)
    assert draft.status == "draft" and draft.signed_by is None
    [reported] = draft.variants
    assert reported.gene_symbol == GENE and reported.genomic == family.spike.name
    assert reported.acmg_class == "Pathogenic" and "PVS1" in reported.acmg_criteria
    assert draft.patient_pseudonym == case.child and draft.observed_phenotypes
    assert "HPO" in draft.provenance or any("hpo" in k.lower() for k in draft.provenance)

    with pytest.raises(AccessDeniedError, match="second person"):
        sign_clinical_report(node, "bio", case_reference=case.reference)
    sign_clinical_report(node, "bio2", case_reference=case.reference)
    signed = report_content(node, case_reference=case.reference)
    assert signed.status == "signed" and signed.signed_by == "bio2"
    with node.transaction() as session:
        report = session.scalars(select(Report).where(Report.version == 1)).one()
        assert report.content_sha256 == ReportContent.from_dict(report.content or {}).sha256()
        stored = session.get(StoredFile, report.file_id)
        assert stored is not None and stored.kind == "report"
        vault_id, sha, size = stored.vault_id, stored.plaintext_sha256, stored.plaintext_size
    rendered = io.BytesIO()
    node.vault.read(vault_id, sha, size, rendered)
    assert hashlib.sha256(rendered.getvalue()).hexdigest() == sha
    assert rendered.getvalue()[:5] in (b"%PDF-", b"<!DOC")

    # The exports of the signed version parse back and name the variant.
    validate_phenopacket_json(export_report(node, case_reference=case.reference, fmt="phenopacket").decode())
    fhir = export_report(node, case_reference=case.reference, fmt="fhir").decode()
    validate_fhir_json(fhir)
    assert reported.hgvs_c.split(":")[-1] in fhir
    assert json.loads(export_report(node, case_reference=case.reference, fmt="json"))["status"] == "signed"

    # Signed means immutable; a correction is a new version that supersedes it.
    with pytest.raises(StateError), node.transaction() as session:
        session.scalars(select(Report)).one().conclusion = "edited"
    draft_clinical_report(node, "bio", case_reference=case.reference, outcome="solved", conclusion="Corrected.",
                          variants=[family.spike.name])
    second = report_content(node, case_reference=case.reference)
    assert (second.version, second.supersedes, second.status) == (2, 1, "draft")
    assert report_content(node, case_reference=case.reference, version=1).status == "signed"
