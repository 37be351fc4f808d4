"""Who may do what on a node.

Roles follow the people of a genomic medicine programme: a *prescriber* (clinical geneticist,
oncologist) includes patients, records consent and prescribes; a *biologist* (clinical laboratory
scientist) registers samples, interprets, curates variant classifications and signs reports; a
*bioinformatician* runs pipelines (interpretation included) and handles sequencing files; a *data
steward* governs consent, audit and sharing (and decides researchers' access requests); a *researcher*
sees only what research consent and access grants allow, and may request controlled access to a
dataset (a steward decides; nobody decides their own request); an *admin* runs the node (users, reference
catalogues, audit checkpoints) but reads no patient data.

Least privilege: no role has every permission, and an admin cannot read genomes.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    PRESCRIBER = "prescriber"
    BIOLOGIST = "biologist"
    BIOINFORMATICIAN = "bioinformatician"
    DATA_STEWARD = "data_steward"
    RESEARCHER = "researcher"
    ADMIN = "admin"


class Permission(StrEnum):
    MANAGE_USERS = "manage_users"
    MANAGE_INDICATIONS = "manage_indications"
    VIEW_INDICATIONS = "view_indications"
    INCLUDE_PATIENT = "include_patient"
    VIEW_PATIENT = "view_patient"
    MANAGE_PEDIGREE = "manage_pedigree"
    RECORD_CONSENT = "record_consent"
    WITHDRAW_CONSENT = "withdraw_consent"
    PRESCRIBE = "prescribe"
    VIEW_CASE = "view_case"
    ADVANCE_CASE = "advance_case"
    CANCEL_CASE = "cancel_case"
    REGISTER_SAMPLE = "register_sample"
    STORE_FILE = "store_file"
    READ_FILE = "read_file"
    SHARE_FILE = "share_file"
    RECORD_ANALYSIS = "record_analysis"
    INTERPRET_CASE = "interpret_case"
    CURATE_VARIANT = "curate_variant"
    DRAFT_REPORT = "draft_report"
    SIGN_REPORT = "sign_report"
    VIEW_AUDIT = "view_audit"
    VERIFY_AUDIT = "verify_audit"
    CHECKPOINT_AUDIT = "checkpoint_audit"
    QUERY_AGGREGATE = "query_aggregate"
    REQUEST_ACCESS = "request_access"    # ask for controlled access to a dataset; hold a passport of this node
    DECIDE_ACCESS = "decide_access"      # approve, reject or revoke researchers' access requests
    LOAD_SHARED_DOCUMENTS = "load_shared_documents"  # load Beacon documents a node serves beside its cohort


P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.PRESCRIBER: frozenset({
        P.VIEW_INDICATIONS, P.INCLUDE_PATIENT, P.VIEW_PATIENT, P.MANAGE_PEDIGREE, P.RECORD_CONSENT,
        P.WITHDRAW_CONSENT, P.PRESCRIBE, P.VIEW_CASE, P.CANCEL_CASE, P.REGISTER_SAMPLE,
    }),
    Role.BIOLOGIST: frozenset({
        P.VIEW_INDICATIONS, P.VIEW_PATIENT, P.MANAGE_PEDIGREE, P.VIEW_CASE, P.ADVANCE_CASE,
        P.REGISTER_SAMPLE, P.STORE_FILE, P.READ_FILE, P.RECORD_ANALYSIS, P.INTERPRET_CASE, P.CURATE_VARIANT,
        P.DRAFT_REPORT, P.SIGN_REPORT, P.QUERY_AGGREGATE,
    }),
    Role.BIOINFORMATICIAN: frozenset({
        P.VIEW_INDICATIONS, P.VIEW_CASE, P.ADVANCE_CASE, P.STORE_FILE, P.READ_FILE, P.RECORD_ANALYSIS,
        P.INTERPRET_CASE, P.QUERY_AGGREGATE,
    }),
    Role.DATA_STEWARD: frozenset({
        P.VIEW_INDICATIONS, P.VIEW_PATIENT, P.WITHDRAW_CONSENT, P.VIEW_CASE, P.CANCEL_CASE, P.SHARE_FILE,
        P.VIEW_AUDIT, P.VERIFY_AUDIT, P.QUERY_AGGREGATE, P.DECIDE_ACCESS, P.LOAD_SHARED_DOCUMENTS,
    }),
    Role.RESEARCHER: frozenset({P.VIEW_INDICATIONS, P.QUERY_AGGREGATE, P.REQUEST_ACCESS}),
    Role.ADMIN: frozenset({
        P.MANAGE_USERS, P.MANAGE_INDICATIONS, P.VIEW_INDICATIONS, P.VIEW_AUDIT, P.VERIFY_AUDIT,
        P.CHECKPOINT_AUDIT, P.LOAD_SHARED_DOCUMENTS,
    }),
}


def permissions_of(role_names: frozenset[str] | set[str]) -> frozenset[Permission]:
    """The union of the permissions granted by ``role_names`` (unknown names grant nothing)."""
    granted: set[Permission] = set()
    for name in role_names:
        try:
            granted |= ROLE_PERMISSIONS[Role(name)]
        except ValueError:
            continue
    return frozenset(granted)
