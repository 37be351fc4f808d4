"""The catalog's service functions on SQLite and PostgreSQL: inclusion, consent, cases, permissions.

Each bad input named in the foundation issue gets its own test asserting the exception type, the
message, and that nothing was half-written.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from genomed.access.purpose import Purpose
from genomed.audit.models import AuditEntry
from genomed.catalog import analyses, consents, families, files, patients, prescriptions, reports, samples
from genomed.catalog.cases import CaseState
from genomed.catalog.indications import demo_indications_path, load_indications
from genomed.catalog.models import CaseEvent, Consent, Patient, Prescription, Report, Sample, StoredFile
from genomed.catalog.users import add_user, set_user_active
from genomed.context import NodeContext
from genomed.errors import (
    AccessDeniedError,
    ConsentError,
    DuplicateError,
    EligibilityError,
    IllegalTransitionError,
    InputError,
    NotFoundError,
    StateError,
)
from genomed.vault.keys import public_key_from_secret

ALL_SCOPES = ["diagnosis", "research", "national_sharing", "international_sharing", "case_matching",
              "secondary_findings"]
CHILD = {"national_id": "2 15 03 69 123 456 78", "birth_date": "2015-03-14", "sex": "female"}
ADULT = {"national_id": "1 61 05 75 111 222 33", "birth_date": "1961-05-09", "sex": "male"}
ID_TESTS = ["Chromosomal microarray", "FMR1 repeat analysis"]
ID_HPO = ["HP:0001249", "HP:0001263"]


def staff(ctx: NodeContext) -> None:
    for name, role in [("presc", "prescriber"), ("bio", "biologist"), ("bio2", "biologist"),
                       ("bix", "bioinformatician"), ("steward", "data_steward"), ("res", "researcher")]:
        add_user(ctx, "admin", name, [role])
    load_indications(ctx, "admin", demo_indications_path())


@pytest.fixture
def ctx(node: NodeContext) -> NodeContext:
    staff(node)
    return node


def count(ctx: NodeContext, model: type) -> int:
    with ctx.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def audit_actions(ctx: NodeContext) -> list[tuple[str, str, str]]:
    with ctx.transaction() as session:
        return [(e.actor, e.action, e.outcome) for e in session.scalars(select(AuditEntry).order_by(AuditEntry.seq))]


def stored_file(ctx: NodeContext, case: Prescription, path: Path, content: str) -> tuple[Sample, StoredFile]:
    """A germline sample of the case, and ``content`` stored in the vault for it."""
    sample = samples.add_sample(ctx, "presc", case_reference=case.reference, kind="germline")
    path.write_text(content)
    return sample, files.store_file(ctx, "bix", sample_label=sample.label, path=path)


def consented_child_case(ctx: NodeContext) -> tuple[str, Prescription]:
    pseudonym = patients.include_patient(ctx, "presc", **CHILD).pseudonym
    consents.give_consent(ctx, "presc", pseudonym=pseudonym, scopes=ALL_SCOPES, form_version="v4")
    case = prescriptions.prescribe(ctx, "presc", pseudonym=pseudonym, indication_code="RD-ID", hpo_terms=ID_HPO,
                                   prior_tests=ID_TESTS)
    return pseudonym, case


# --- inclusion ------------------------------------------------------------------------------------

def test_duplicate_inclusion_gets_the_same_pseudonym_and_a_clear_error(ctx: NodeContext) -> None:
    first = patients.include_patient(ctx, "presc", **CHILD)
    with pytest.raises(DuplicateError, match=f"already included, as patient {first.pseudonym}"):
        patients.include_patient(ctx, "presc", **{**CHILD, "national_id": "215036912345678"})
    assert count(ctx, Patient) == 1
    assert ("presc", "patient.include", "failed") in audit_actions(ctx)


def test_clear_identifier_is_stored_nowhere(ctx: NodeContext) -> None:
    patients.include_patient(ctx, "presc", **CHILD)
    with ctx.transaction() as session:
        dump = " ".join(str(row) for table in ("patients", "audit_entries", "consents")
                        for row in session.execute(text(f"select * from {table}")))
    assert "215036912345678" not in dump.replace(" ", "")
    assert "2015-03-14" not in dump


def test_lookup_finds_the_pseudonym_from_identity(ctx: NodeContext) -> None:
    pseudonym = patients.include_patient(ctx, "presc", **CHILD).pseudonym
    assert patients.find_pseudonym(ctx, "presc", national_id=CHILD["national_id"],
                                   birth_date=CHILD["birth_date"]) == pseudonym
    with pytest.raises(NotFoundError):
        patients.find_pseudonym(ctx, "presc", national_id="999999999", birth_date="2000-01-01")


# --- permissions ----------------------------------------------------------------------------------

def test_a_role_without_the_permission_is_refused_and_the_refusal_audited(ctx: NodeContext) -> None:
    with pytest.raises(AccessDeniedError, match="'res' \\(researcher\\) lacks the permission 'include_patient'"):
        patients.include_patient(ctx, "res", **CHILD)
    assert count(ctx, Patient) == 0
    assert ("res", "include_patient", "denied") in audit_actions(ctx)


def test_admin_reads_no_patient_data(ctx: NodeContext) -> None:
    with pytest.raises(AccessDeniedError):
        patients.list_patients(ctx, "admin")


def test_unknown_and_deactivated_users_are_refused(ctx: NodeContext) -> None:
    with pytest.raises(AccessDeniedError, match="unknown user 'mallory'"):
        patients.list_patients(ctx, "mallory")
    set_user_active(ctx, "admin", "presc", False)
    with pytest.raises(AccessDeniedError, match="deactivated"):
        patients.include_patient(ctx, "presc", **CHILD)


def test_only_admins_manage_users(ctx: NodeContext) -> None:
    with pytest.raises(AccessDeniedError):
        add_user(ctx, "steward", "eve", ["admin"])
    with pytest.raises(InputError, match="unknown role"):
        add_user(ctx, "admin", "eve", ["overlord"])
    with pytest.raises(DuplicateError):
        add_user(ctx, "admin", "presc", ["prescriber"])


# --- consent --------------------------------------------------------------------------------------

def test_consent_moves_a_prescribed_case_to_consented(ctx: NodeContext) -> None:
    pseudonym = patients.include_patient(ctx, "presc", **CHILD).pseudonym
    case = prescriptions.prescribe(ctx, "presc", pseudonym=pseudonym, indication_code="RD-ID", hpo_terms=ID_HPO,
                                   prior_tests=ID_TESTS)
    assert case.state == "prescribed"
    consents.give_consent(ctx, "presc", pseudonym=pseudonym, scopes=["diagnosis"], form_version="v4")
    assert prescriptions.view_case(ctx, "presc", case.reference).state == "consented"


def test_a_sample_needs_the_diagnosis_consent(ctx: NodeContext) -> None:
    pseudonym = patients.include_patient(ctx, "presc", **CHILD).pseudonym
    consents.give_consent(ctx, "presc", pseudonym=pseudonym, scopes=["research"], form_version="v4")
    case = prescriptions.prescribe(ctx, "presc", pseudonym=pseudonym, indication_code="RD-ID", hpo_terms=ID_HPO,
                                   prior_tests=ID_TESTS)
    with pytest.raises(ConsentError, match="diagnosis consent of patient .* was never given"):
        samples.add_sample(ctx, "presc", case_reference=case.reference, kind="germline")
    assert count(ctx, Sample) == 0


def test_withdrawn_consent_blocks_at_once_and_rewrites_nothing(ctx: NodeContext, tmp_path: Path) -> None:
    pseudonym, case = consented_child_case(ctx)
    _, stored = stored_file(ctx, case, tmp_path / "calls.vcf", "##fileformat=VCFv4.2\n")
    withdrawn = consents.withdraw_consent(ctx, "steward", pseudonym=pseudonym, scopes=["research"],
                                          reason="patient request")
    assert withdrawn == ["research"]
    with pytest.raises(ConsentError, match="research consent .* was withdrawn on"):
        files.read_file(ctx, "bio", vault_id=stored.vault_id, destination=tmp_path / "r.vcf", purpose=Purpose.RESEARCH)
    assert not (tmp_path / "r.vcf").exists()
    files.read_file(ctx, "bio", vault_id=stored.vault_id, destination=tmp_path / "c.vcf", purpose=Purpose.CARE)
    assert (tmp_path / "c.vcf").read_text() == "##fileformat=VCFv4.2\n"
    consents.withdraw_consent(ctx, "steward", pseudonym=pseudonym, scopes=None, reason="patient request")
    with pytest.raises(ConsentError, match="diagnosis consent"):
        files.read_file(ctx, "bio", vault_id=stored.vault_id, destination=tmp_path / "d.vcf")
    with pytest.raises(ConsentError, match="no consent in force to withdraw"):
        consents.withdraw_consent(ctx, "steward", pseudonym=pseudonym, scopes=None, reason="again")
    # The case cannot move on, only be cancelled; the stored file and consent rows are all still there.
    with pytest.raises(ConsentError, match="no diagnosis consent in force"):
        prescriptions.advance_case(ctx, "bio", case.reference, CaseState.ANALYSED)
    assert prescriptions.advance_case(ctx, "presc", case.reference, CaseState.CANCELLED).state == "cancelled"
    assert count(ctx, StoredFile) == 1
    assert count(ctx, Consent) == 1
    assert ("bio", "file.read", "denied") in audit_actions(ctx)


def test_consent_in_the_future_or_without_scope_is_refused(ctx: NodeContext) -> None:
    pseudonym = patients.include_patient(ctx, "presc", **CHILD).pseudonym
    with pytest.raises(InputError, match="future"):
        consents.give_consent(ctx, "presc", pseudonym=pseudonym, scopes=["diagnosis"], form_version="v4",
                              given_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
    with pytest.raises(InputError, match="unknown consent scope 'marketing'"):
        consents.give_consent(ctx, "presc", pseudonym=pseudonym, scopes=["marketing"], form_version="v4")
    assert count(ctx, Consent) == 0


def test_sharing_needs_the_consent_for_the_recipients_country(ctx: NodeContext, tmp_path: Path) -> None:
    pseudonym = patients.include_patient(ctx, "presc", **CHILD).pseudonym
    consents.give_consent(ctx, "presc", pseudonym=pseudonym, scopes=["diagnosis", "national_sharing"],
                          form_version="v4")
    case = prescriptions.prescribe(ctx, "presc", pseudonym=pseudonym, indication_code="RD-ID", hpo_terms=ID_HPO,
                                   prior_tests=ID_TESTS)
    sample = samples.add_sample(ctx, "presc", case_reference=case.reference, kind="germline")
    source = tmp_path / "calls.vcf"
    source.write_bytes(b"x" * 70000)
    stored = files.store_file(ctx, "bix", sample_label=sample.label, path=source)
    recipient = public_key_from_secret(bytes(range(32)))
    with (tmp_path / "fr.c4gh").open("wb") as out:
        files.share_file(ctx, "steward", vault_id=stored.vault_id, recipient_public_key=recipient,
                         recipient_country="fr", destination=out)
    with (tmp_path / "se.c4gh").open("wb") as out, pytest.raises(ConsentError, match="international_sharing"):
        files.share_file(ctx, "steward", vault_id=stored.vault_id, recipient_public_key=recipient,
                         recipient_country="SE", destination=out)
    assert (tmp_path / "se.c4gh").stat().st_size == 0


# --- prescriptions, eligibility and the case state machine ----------------------------------------

def test_ineligible_prescription_is_refused_with_reasons_unless_justified(ctx: NodeContext) -> None:
    adult = patients.include_patient(ctx, "presc", **ADULT).pseudonym
    with pytest.raises(EligibilityError, match="above the maximum of 17.*FMR1 repeat analysis"):
        prescriptions.prescribe(ctx, "presc", pseudonym=adult, indication_code="RD-ID", hpo_terms=ID_HPO,
                                prior_tests=["Chromosomal microarray"])
    assert count(ctx, Prescription) == 0
    case = prescriptions.prescribe(ctx, "presc", pseudonym=adult, indication_code="RD-ID", hpo_terms=ID_HPO,
                                   prior_tests=["Chromosomal microarray"],
                                   justification="MDT of 2026-11-20: adult with childhood-onset ID, never tested")
    assert case.eligibility["eligible"] is False
    assert case.justification is not None
    assert case.due_date == dt.datetime.now(dt.UTC).date() + dt.timedelta(days=84)


def test_malformed_hpo_term_and_unknown_indication_are_input_errors(ctx: NodeContext) -> None:
    child = patients.include_patient(ctx, "presc", **CHILD).pseudonym
    with pytest.raises(InputError, match="not HPO identifiers: HP:12"):
        prescriptions.prescribe(ctx, "presc", pseudonym=child, indication_code="RD-ID", hpo_terms=["HP:12"],
                                prior_tests=ID_TESTS)
    with pytest.raises(NotFoundError, match="no clinical indication 'RD-NOPE'"):
        prescriptions.prescribe(ctx, "presc", pseudonym=child, indication_code="RD-NOPE")


def test_a_case_walks_from_prescription_to_report_with_timestamped_events(ctx: NodeContext, tmp_path: Path) -> None:
    _, case = consented_child_case(ctx)
    sample = samples.add_sample(ctx, "presc", case_reference=case.reference, kind="germline")
    source = tmp_path / "calls.vcf.gz"
    source.write_bytes(b"\x1f\x8b" + bytes(1000))
    files.store_file(ctx, "bix", sample_label=sample.label, path=source)
    analyses.record_analysis(ctx, "bix", case_reference=case.reference, kind="ingest", pipeline="ingest")
    analyses.record_analysis(ctx, "bio", case_reference=case.reference, kind="interpretation", pipeline="interpret")
    reports.draft_report(ctx, "bio", case_reference=case.reference, conclusion="Negative.")
    with pytest.raises(AccessDeniedError, match="second person"):
        reports.sign_report(ctx, "bio", case_reference=case.reference)
    reports.sign_report(ctx, "bio2", case_reference=case.reference)
    seen = prescriptions.view_case(ctx, "bio", case.reference)
    assert [e.to_state for e in seen.events] == ["prescribed", "consented", "sampled", "sequenced", "analysed",
                                                 "interpreted", "reported"]
    times = [e.at for e in seen.events]
    assert times == sorted(times) and all(t.tzinfo is not None for t in times)
    # Reanalysis, then a corrected report version; the signed version 1 is untouched.
    analyses.record_analysis(ctx, "bio", case_reference=case.reference, kind="reanalysis", pipeline="interpret")
    assert prescriptions.view_case(ctx, "bio", case.reference).state == "reanalysed"
    with pytest.raises(IllegalTransitionError, match="no report signed since"):
        prescriptions.advance_case(ctx, "bio", case.reference, CaseState.REPORTED)
    second = reports.draft_report(ctx, "bio", case_reference=case.reference, conclusion="Corrected.")
    assert second.version == 2 and second.supersedes_id is not None
    reports.sign_report(ctx, "bio2", case_reference=case.reference)
    assert prescriptions.view_case(ctx, "bio", case.reference).state == "reported"


@pytest.mark.parametrize("target", [CaseState.REPORTED, CaseState.SEQUENCED, CaseState.PRESCRIBED])
def test_illegal_transition_names_states_and_changes_nothing(ctx: NodeContext, target: CaseState) -> None:
    _, case = consented_child_case(ctx)
    with pytest.raises(IllegalTransitionError, match=f"cannot go from consented to {target.value}; allowed: "
                                                     "cancelled, sampled"):
        prescriptions.advance_case(ctx, "bio", case.reference, target)
    with ctx.transaction() as session:
        assert session.scalar(select(Prescription.state)) == "consented"
        assert session.scalar(select(func.count(CaseEvent.id))) == 2


def test_guard_refuses_a_step_whose_work_is_not_done(ctx: NodeContext) -> None:
    _, case = consented_child_case(ctx)
    with pytest.raises(IllegalTransitionError, match="samples missing: germline"):
        prescriptions.advance_case(ctx, "bio", case.reference, CaseState.SAMPLED)


def test_cancelled_is_final(ctx: NodeContext) -> None:
    _, case = consented_child_case(ctx)
    prescriptions.advance_case(ctx, "presc", case.reference, CaseState.CANCELLED)
    with pytest.raises(IllegalTransitionError, match="none \\(final state\\)"):
        prescriptions.advance_case(ctx, "presc", case.reference, CaseState.CANCELLED)


def test_report_needs_an_interpreted_case(ctx: NodeContext) -> None:
    _, case = consented_child_case(ctx)
    with pytest.raises(StateError, match="is consented"):
        reports.draft_report(ctx, "bio", case_reference=case.reference, conclusion="Too early.")


def test_cancer_case_needs_tumour_and_normal(ctx: NodeContext) -> None:
    adult = patients.include_patient(ctx, "presc", **ADULT).pseudonym
    consents.give_consent(ctx, "presc", pseudonym=adult, scopes=["diagnosis"], form_version="CA-v3")
    case = prescriptions.prescribe(ctx, "presc", pseudonym=adult, indication_code="CA-CRC", priority="urgent",
                                   prior_tests=["Mismatch repair immunohistochemistry or MSI testing"])
    with pytest.raises(InputError, match="takes normal, tumour samples, not germline"):
        samples.add_sample(ctx, "presc", case_reference=case.reference, kind="germline")
    samples.add_sample(ctx, "presc", case_reference=case.reference, kind="tumour", tumour_cellularity=0.4)
    assert prescriptions.view_case(ctx, "presc", case.reference).state == "consented"
    samples.add_sample(ctx, "presc", case_reference=case.reference, kind="normal")
    assert prescriptions.view_case(ctx, "presc", case.reference).state == "sampled"


# --- families ---------------------------------------------------------------------------------------

def test_pedigree_round_trip_and_parents_samples(ctx: NodeContext) -> None:
    child, case = consented_child_case(ctx)
    mother = patients.include_patient(ctx, "presc", national_id="284076912378912", birth_date="1984-07-02",
                                      sex="female").pseudonym
    father = patients.include_patient(ctx, "presc", national_id="182116945612345", birth_date="1982-11-23",
                                      sex="male").pseudonym
    ped = f"F1 {child} {father} {mother} 2 2\nF1 {father} 0 0 1 1\nF1 {mother} 0 0 2 1\n"
    assert families.import_pedigree(ctx, "presc", ped, "trio.ped") == ["F1"]
    exported = families.export_pedigree(ctx, "presc", "F1")
    assert f"F1\t{child}\t{father}\t{mother}\t2\t2" in exported
    with pytest.raises(DuplicateError, match="already belongs to a family"):
        families.import_pedigree(ctx, "presc", f"F2 {child} 0 0 2 2\n", "again.ped")
    # A parent's sample needs the parent's own consent.
    with pytest.raises(ConsentError, match=f"patient {father}"):
        samples.add_sample(ctx, "presc", case_reference=case.reference, kind="germline", relative=father)
    consents.give_consent(ctx, "presc", pseudonym=father, scopes=["diagnosis"], form_version="v4")
    assert samples.add_sample(ctx, "presc", case_reference=case.reference, kind="germline", relative=father)


def test_pedigree_sex_must_match_the_catalog(ctx: NodeContext) -> None:
    child = patients.include_patient(ctx, "presc", **CHILD).pseudonym
    with pytest.raises(InputError, match="male in the PED file but female in the catalog"):
        families.import_pedigree(ctx, "presc", f"F1 {child} 0 0 1 2\n", "bad.ped")


# --- files ------------------------------------------------------------------------------------------

def test_same_file_twice_for_a_sample_is_refused_and_leaves_no_vault_file(ctx: NodeContext, tmp_path: Path) -> None:
    _, case = consented_child_case(ctx)
    source = tmp_path / "calls.vcf"
    sample, _ = stored_file(ctx, case, source, "##fileformat=VCFv4.2\n")
    vault_files = sorted(p for p in ctx.config.vault_dir.rglob("*") if p.is_file())
    with pytest.raises(DuplicateError, match="already stored for sample"):
        files.store_file(ctx, "bix", sample_label=sample.label, path=source)
    assert sorted(p for p in ctx.config.vault_dir.rglob("*") if p.is_file()) == vault_files
    assert list(ctx.config.staging_dir.iterdir()) == []
    assert count(ctx, StoredFile) == 1


def test_store_is_refused_before_encrypting_when_permission_is_missing(ctx: NodeContext, tmp_path: Path) -> None:
    _, case = consented_child_case(ctx)
    sample = samples.add_sample(ctx, "presc", case_reference=case.reference, kind="germline")
    source = tmp_path / "calls.vcf"
    source.write_text("x")
    with pytest.raises(AccessDeniedError):
        files.store_file(ctx, "presc", sample_label=sample.label, path=source)
    assert [p for p in ctx.config.vault_dir.rglob("*") if p.is_file()] == []


def test_a_signed_report_cannot_be_changed_by_any_code_path(ctx: NodeContext, tmp_path: Path) -> None:
    _, case = consented_child_case(ctx)
    stored_file(ctx, case, tmp_path / "calls.vcf", "x")
    analyses.record_analysis(ctx, "bio", case_reference=case.reference, kind="interpretation", pipeline="p")
    reports.draft_report(ctx, "bio", case_reference=case.reference, conclusion="Negative.")
    signed = reports.sign_report(ctx, "bio2", case_reference=case.reference)
    with pytest.raises(StateError, match="is signed and cannot change"), ctx.transaction() as session:
        report = session.get(Report, signed.id)
        assert report is not None
        report.conclusion = "Positive."
    with pytest.raises(StateError, match="is signed"), ctx.transaction() as session:
        session.delete(session.get(Report, signed.id))
    with ctx.transaction() as session:
        assert session.get(Report, signed.id).conclusion == "Negative."  # type: ignore[union-attr]


def test_one_patient_in_two_families_of_one_file_is_refused(ctx: NodeContext) -> None:
    child = patients.include_patient(ctx, "presc", **CHILD).pseudonym
    with pytest.raises(InputError, match="appears in more than one family"):
        families.import_pedigree(ctx, "presc", f"F1 {child} 0 0 2 2\nF2 {child} 0 0 2 2\n", "two.ped")
