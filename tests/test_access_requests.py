"""Researcher access requests on SQLite and PostgreSQL: request, decide, visa, passport, revoke at once.

The passports are the node's real ones (signed with its derived Ed25519 key) and they are resolved
by the node's real verifier, whose liveness check reads the access requests table.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from sqlalchemy import select, update

from genomed.audit.models import AuditEntry
from genomed.catalog.users import add_user, set_user_active
from genomed.cli import main
from genomed.context import NodeContext
from genomed.db.base import utcnow
from genomed.errors import AccessDeniedError, DuplicateError, InputError, NotFoundError, StateError
from genomed.node import init_node
from genomed.share import access_requests as access
from genomed.share.identity import Requester, Tier
from genomed.share.models import AccessRequest, BeaconDocument
from genomed.share.node import SharingNode
from genomed.share.passports import PassportVerifier
from genomed.share.settings import BeaconSettings, SharingSettings, TrustedBroker
from genomed.share.visas import public_key_pem

URL = "https://genomed.node.fr"
SETTINGS = SharingSettings(beacon=BeaconSettings(id="org.genomed.fr", public_url=URL + "/"))
PURPOSE = "Penetrance of TTN truncating variants in dilated cardiomyopathy"


def staff(node: NodeContext) -> NodeContext:
    """Users of every role concerned, and two datasets loaded beside the node's own cohort."""
    with node.transaction() as session:
        session.add_all([BeaconDocument(entry_type="dataset", dataset_id=name, document_id=name,
                                        body={"id": name, "name": f"Dataset {name}"}) for name in ("DS1", "DS2")])
    for name, roles in [("steward", ["data_steward"]), ("steward2", ["data_steward"]), ("res", ["researcher"]),
                        ("res2", ["researcher"]), ("dual", ["data_steward", "researcher"]),
                        ("bio", ["biologist"])]:
        add_user(node, "admin", name, roles)
    return node


@pytest.fixture
def ctx(node: NodeContext) -> NodeContext:
    """Staff on a node on each database."""
    return staff(node)


@pytest.fixture
def sqlite_ctx(sqlite_node: NodeContext) -> NodeContext:
    """Staff on an SQLite node, for checks of input that never reaches the database."""
    return staff(sqlite_node)


@pytest.fixture
def verifier(ctx: NodeContext) -> PassportVerifier:
    return access.node_verifier(ctx, SETTINGS)


@pytest.fixture
def sqlite_verifier(sqlite_ctx: NodeContext) -> PassportVerifier:
    return access.node_verifier(sqlite_ctx, SETTINGS)


def resolve(verifier: PassportVerifier, token: str) -> Requester:
    return verifier.resolve(f"Bearer {token}", "10.0.0.9")


def audit_log(ctx: NodeContext) -> list[tuple[str, str, str, str, dict[str, object]]]:
    with ctx.transaction() as session:
        return [(e.actor, e.action, e.object_id, e.outcome, json.loads(e.details))
                for e in session.scalars(select(AuditEntry).where(AuditEntry.purpose == "sharing")
                                         .order_by(AuditEntry.seq))]


def approved(ctx: NodeContext, researcher: str = "res", dataset: str = "DS1", days: int = 30,
             country: str = "FR") -> access.IssuedVisa:
    row = access.request_access(ctx, researcher, dataset, PURPOSE, country)
    return access.approve_access(ctx, "steward", row.id, days, SETTINGS)


# --- the whole flow -----------------------------------------------------------------------------------

def test_request_approve_passport_controlled_then_revoked_at_once(ctx: NodeContext,
                                                                  verifier: PassportVerifier) -> None:
    row = access.request_access(ctx, "res", "DS1", PURPOSE, "fr")
    assert (row.status, row.country, row.dataset_id) == ("pending", "FR", "DS1")
    assert resolve(verifier, access.issue_passport(ctx, "res", SETTINGS)).tier is Tier.REGISTERED

    visa = access.approve_access(ctx, "steward", row.id, 30, SETTINGS)
    passport = access.issue_passport(ctx, "res", SETTINGS)
    requester = resolve(verifier, passport)
    assert requester.tier is Tier.CONTROLLED
    assert requester.controlled_datasets == frozenset({"DS1"})
    assert requester.tier_for("DS2") is Tier.REGISTERED
    assert requester.identity == f"{URL}#res"
    assert requester.visa_ids == (visa.visa_id,)
    assert requester.country == "FR"

    access.revoke_access(ctx, "steward", row.id, "publication of data outside the agreement")
    after = resolve(verifier, passport)  # the very same token, the very next request
    assert after.tier is Tier.REGISTERED
    assert after.controlled_datasets == frozenset()
    assert resolve(verifier, access.issue_passport(ctx, "res", SETTINGS)).tier is Tier.REGISTERED


def test_the_serving_node_trusts_itself_and_checks_liveness(sqlite_ctx: NodeContext) -> None:
    served = SharingNode.open(sqlite_ctx, SETTINGS)
    visa = approved(sqlite_ctx)
    passport = access.issue_passport(sqlite_ctx, "res", SETTINGS)
    assert served.passports.resolve(f"Bearer {passport}").controlled_datasets == frozenset({"DS1"})
    access.revoke_access(sqlite_ctx, "steward", visa.request_id)
    assert served.passports.resolve(f"Bearer {passport}").tier is Tier.REGISTERED


def test_the_visa_is_a_ga4gh_controlled_access_grant_signed_by_the_node(sqlite_ctx: NodeContext) -> None:
    visa = approved(sqlite_ctx, days=30)
    key = load_pem_public_key(public_key_pem(sqlite_ctx.keys).encode())
    header = jwt.get_unverified_header(visa.token)
    claims = jwt.decode(visa.token, key, algorithms=["EdDSA"])  # type: ignore[arg-type]
    assert header["alg"] == "EdDSA"
    assert claims["iss"] == URL
    assert claims["sub"] == "res"
    assert claims["jti"] == visa.visa_id
    assert claims["exp"] == int(visa.expires_at.timestamp())
    assert 30 * 86400 - 60 < claims["exp"] - claims["iat"] <= 30 * 86400
    assert claims["ga4gh_visa_v1"] == {"type": "ControlledAccessGrants", "value": f"{URL}/datasets/DS1",
                                       "source": URL, "by": "dac", "asserted": claims["iat"]}
    with sqlite_ctx.transaction() as session:
        row = session.get(AccessRequest, visa.request_id)
        assert row is not None and row.visa_id == visa.visa_id and row.decided_by is not None
    passport = jwt.decode(access.issue_passport(sqlite_ctx, "res", SETTINGS), key, algorithms=["EdDSA"])  # type: ignore[arg-type]
    assert passport["ga4gh_passport_v1"] == [visa.token]  # signed again from the row: the same token
    assert passport["exp"] - passport["iat"] == 3600


def test_an_expired_grant_no_longer_counts(ctx: NodeContext, verifier: PassportVerifier) -> None:
    visa = approved(ctx, days=1)
    passport = access.issue_passport(ctx, "res", SETTINGS)
    assert resolve(verifier, passport).tier is Tier.CONTROLLED
    with ctx.transaction() as session:  # a day passes, as far as the grant is concerned
        session.execute(update(AccessRequest).where(AccessRequest.id == visa.request_id)
                        .values(expires_at=utcnow()))
    assert resolve(verifier, passport).tier is Tier.REGISTERED
    assert jwt.decode(access.issue_passport(ctx, "res", SETTINGS),
                      options={"verify_signature": False})["ga4gh_passport_v1"] == []


def test_a_deactivated_researcher_loses_the_grant(ctx: NodeContext, verifier: PassportVerifier) -> None:
    approved(ctx)
    passport = access.issue_passport(ctx, "res", SETTINGS)
    set_user_active(ctx, "admin", "res", False)
    assert resolve(verifier, passport).tier is Tier.REGISTERED
    with pytest.raises(AccessDeniedError, match="deactivated"):
        access.issue_passport(ctx, "res", SETTINGS)


def test_a_grant_is_for_its_researcher_and_dataset_only(ctx: NodeContext, verifier: PassportVerifier) -> None:
    approved(ctx, "res", "DS1")
    approved(ctx, "res2", "DS2")
    assert resolve(verifier, access.issue_passport(ctx, "res", SETTINGS)).controlled_datasets == {"DS1"}
    assert resolve(verifier, access.issue_passport(ctx, "res2", SETTINGS)).controlled_datasets == {"DS2"}


def test_liveness_checks_the_grant_behind_the_visa_id(ctx: NodeContext) -> None:
    """A visa of ours is honoured only for the researcher and dataset its request names."""
    visa = approved(ctx, "res", "DS1")
    assert access.visa_is_live(ctx, visa.visa_id, "res", "DS1")
    assert not access.visa_is_live(ctx, visa.visa_id, "res2", "DS1")
    assert not access.visa_is_live(ctx, visa.visa_id, "res", "DS2")
    assert not access.visa_is_live(ctx, "0" * 32, "res", "DS1")


def test_another_nodes_passport_for_the_same_username_gets_nothing_here(sqlite_ctx: NodeContext, tmp_path: Path,
                                                                        sqlite_verifier: PassportVerifier) -> None:
    other = init_node(tmp_path / "other", node_name="Other node", country="SE")
    try:
        add_user(other, "admin", "res", ["researcher"])
        forged = access.issue_passport(other, "res", SETTINGS)  # claims our URL as issuer, signed with its key
        assert resolve(sqlite_verifier, forged).tier is Tier.PUBLIC
        trusting = PassportVerifier.from_brokers([TrustedBroker(URL, public_key_pem(sqlite_ctx.keys))],
                                                 node_url="https://other.se")
        ours = access.issue_passport(sqlite_ctx, "res", SETTINGS)
        assert resolve(trusting, ours).tier is Tier.REGISTERED  # a peer trusting us as a broker
    finally:
        other.close()


# --- countries ----------------------------------------------------------------------------------------

def test_the_passport_states_the_researchers_country(sqlite_ctx: NodeContext,
                                                     sqlite_verifier: PassportVerifier) -> None:
    approved(sqlite_ctx, "res", "DS1", country="SE")
    approved(sqlite_ctx, "res", "DS2", country="FR")
    requester = resolve(sqlite_verifier, access.issue_passport(sqlite_ctx, "res", SETTINGS))
    assert requester.country == "SE"  # the stricter, international reading
    assert requester.controlled_datasets == {"DS1", "DS2"}
    assert resolve(sqlite_verifier, access.issue_passport(sqlite_ctx, "res2", SETTINGS)).country is None


# --- who decides ------------------------------------------------------------------------------------

def test_a_researcher_cannot_approve(ctx: NodeContext) -> None:
    row = access.request_access(ctx, "res", "DS1", PURPOSE, "FR")
    with pytest.raises(AccessDeniedError, match="'res2' \\(researcher\\) lacks the permission 'decide_access'"):
        access.approve_access(ctx, "res2", row.id, 30, SETTINGS)
    with pytest.raises(AccessDeniedError, match="lacks the permission 'decide_access'"):
        access.approve_access(ctx, "res", row.id, 30, SETTINGS)
    assert ("res2", "decide_access", str(row.id), "denied") in [e[:4] for e in audit_log(ctx)]
    assert [r.request.status for r in access.list_requests(ctx, "steward")] == ["pending"]


def test_other_roles_cannot_request(sqlite_ctx: NodeContext) -> None:
    with pytest.raises(AccessDeniedError, match="lacks the permission 'request_access'"):
        access.request_access(sqlite_ctx, "bio", "DS1", PURPOSE, "FR")
    with pytest.raises(AccessDeniedError, match="lacks the permission 'request_access'"):
        access.issue_passport(sqlite_ctx, "steward", SETTINGS)


def test_nobody_decides_their_own_request(ctx: NodeContext) -> None:
    row = access.request_access(ctx, "dual", "DS1", PURPOSE, "FR")
    with pytest.raises(AccessDeniedError, match="cannot decide their own access request"):
        access.approve_access(ctx, "dual", row.id, 30, SETTINGS)
    with pytest.raises(AccessDeniedError, match="cannot decide their own"):
        access.reject_access(ctx, "dual", row.id, "conflict of interest")
    assert ("dual", "access.approve", str(row.id), "denied") in [e[:4] for e in audit_log(ctx)]
    visa = access.approve_access(ctx, "steward", row.id, 10, SETTINGS)
    with pytest.raises(AccessDeniedError, match="cannot decide their own"):
        access.revoke_access(ctx, "dual", row.id)
    assert visa.subject == "dual"


def test_only_a_pending_request_is_decided_and_only_an_approved_one_revoked(ctx: NodeContext) -> None:
    row = access.request_access(ctx, "res", "DS1", PURPOSE, "FR")
    with pytest.raises(StateError, match="is pending; only an approved request can be revoked"):
        access.revoke_access(ctx, "steward", row.id)
    access.approve_access(ctx, "steward", row.id, 30, SETTINGS)
    with pytest.raises(StateError, match="is approved; only a pending request can be approved"):
        access.approve_access(ctx, "steward2", row.id, 30, SETTINGS)
    with pytest.raises(StateError, match="is approved; only a pending request can be rejected"):
        access.reject_access(ctx, "steward2", row.id, "too late")
    access.revoke_access(ctx, "steward2", row.id)
    with pytest.raises(StateError, match="is revoked"):
        access.revoke_access(ctx, "steward", row.id)
    with pytest.raises(StateError, match="is revoked"):
        access.approve_access(ctx, "steward", row.id, 30, SETTINGS)
    with pytest.raises(NotFoundError, match="no access request 999"):
        access.approve_access(ctx, "steward", 999, 30, SETTINGS)
    assert ("steward2", "access.approve", str(row.id), "failed") in [e[:4] for e in audit_log(ctx)]


def test_a_rejected_request_keeps_its_reason_and_grants_nothing(ctx: NodeContext,
                                                                 verifier: PassportVerifier) -> None:
    row = access.request_access(ctx, "res", "DS1", PURPOSE, "FR")
    with pytest.raises(InputError, match="needs a reason"):
        access.reject_access(ctx, "steward", row.id, "  ")
    rejected = access.reject_access(ctx, "steward", row.id, "the purpose needs ethics approval; attach it")
    assert (rejected.status, rejected.decision_note, rejected.visa_id) == (
        "rejected", "the purpose needs ethics approval; attach it", None)
    assert resolve(verifier, access.issue_passport(ctx, "res", SETTINGS)).tier is Tier.REGISTERED
    access.request_access(ctx, "res", "DS1", PURPOSE + " (with ethics approval)", "FR")  # may ask again


# --- inputs -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("dataset", "purpose", "country", "message"), [
    ("DS/../x", PURPOSE, "FR", "dataset id"),
    ("", PURPOSE, "FR", "dataset id"),
    ("DS1", "   ", "FR", "needs a purpose"),
    ("DS1", "x" * 4001, "FR", "longer than"),
    ("DS1", PURPOSE, "France", "ISO 3166-1"),
    ("DS1", PURPOSE, "", "ISO 3166-1"),
])
def test_a_malformed_request_is_refused(sqlite_ctx: NodeContext, dataset: str, purpose: str, country: str,
                                        message: str) -> None:
    with pytest.raises(InputError, match=message):
        access.request_access(sqlite_ctx, "res", dataset, purpose, country)
    assert access.list_requests(sqlite_ctx, "steward") == []


def test_a_request_names_a_dataset_of_this_node(sqlite_ctx: NodeContext) -> None:
    with pytest.raises(NotFoundError, match="no dataset 'DS9' on this node; its datasets: DS1, DS2, org.genomed.fr"):
        access.request_access(sqlite_ctx, "res", "DS9", PURPOSE, "FR", SETTINGS)
    own = access.request_access(sqlite_ctx, "res", "org.genomed.fr", PURPOSE, "FR", SETTINGS)
    assert own.dataset_id == "org.genomed.fr"


def test_a_second_pending_request_for_the_same_dataset_is_a_duplicate(ctx: NodeContext) -> None:
    first = access.request_access(ctx, "res", "DS1", PURPOSE, "FR")
    with pytest.raises(DuplicateError, match=f"request {first.id} pending"):
        access.request_access(ctx, "res", "DS1", PURPOSE, "FR")
    access.request_access(ctx, "res2", "DS1", PURPOSE, "FR")
    access.request_access(ctx, "res", "DS2", PURPOSE, "FR")
    assert len(access.list_requests(ctx, "steward")) == 3


def test_a_grant_lasts_one_day_to_a_year(sqlite_ctx: NodeContext) -> None:
    row = access.request_access(sqlite_ctx, "res", "DS1", PURPOSE, "FR")
    for days in (0, -3, 366):
        with pytest.raises(InputError, match="1 to 365 days"):
            access.approve_access(sqlite_ctx, "steward", row.id, days, SETTINGS)
    assert access.list_requests(sqlite_ctx, "steward", "pending")[0].request.id == row.id


def test_researchers_list_their_own_requests_stewards_all(ctx: NodeContext) -> None:
    first = access.request_access(ctx, "res", "DS1", PURPOSE, "FR")
    access.request_access(ctx, "res2", "DS1", PURPOSE, "SE")
    access.approve_access(ctx, "steward", first.id, 30, SETTINGS)
    assert [(r.requester, r.request.dataset_id) for r in access.list_requests(ctx, "res")] == [("res", "DS1")]
    everything = access.list_requests(ctx, "steward")
    assert [r.requester for r in everything] == ["res2", "res"]
    assert [r.decided_by for r in access.list_requests(ctx, "steward", "approved")] == ["steward"]
    assert [r.requester for r in access.list_requests(ctx, "steward", "pending")] == ["res2"]
    with pytest.raises(InputError, match="status must be one of"):
        access.list_requests(ctx, "steward", "granted")
    with pytest.raises(AccessDeniedError):
        access.list_requests(ctx, "bio")


# --- the audit trail ----------------------------------------------------------------------------------

def test_every_decision_is_audited(ctx: NodeContext) -> None:
    kept = access.request_access(ctx, "res", "DS1", PURPOSE, "SE")
    dropped = access.request_access(ctx, "res", "DS2", PURPOSE, "SE")
    visa = access.approve_access(ctx, "steward", kept.id, 7, SETTINGS)
    access.reject_access(ctx, "steward", dropped.id, "no such dataset on this node")
    access.issue_passport(ctx, "res", SETTINGS)
    access.revoke_access(ctx, "steward2", kept.id, "end of project")
    entries = {(actor, action, object_id, outcome): details for actor, action, object_id, outcome, details
               in audit_log(ctx)}
    assert entries[("res", "access.request", str(kept.id), "ok")] == {"dataset": "DS1", "country": "SE",
                                                                      "purpose": PURPOSE}
    approval = entries[("steward", "access.approve", str(kept.id), "ok")]
    assert (approval["dataset"], approval["requester"], approval["visa"], approval["days"]) == (
        "DS1", "res", visa.visa_id, 7)
    assert entries[("steward", "access.reject", str(dropped.id), "ok")]["reason"] == "no such dataset on this node"
    assert entries[("res", "access.passport", "res", "ok")] == {"visas": visa.visa_id, "country": "SE"}
    assert entries[("steward2", "access.revoke", str(kept.id), "ok")] == {
        "dataset": "DS1", "visa": visa.visa_id, "reason": "end of project"}


# --- the command line ------------------------------------------------------------------------------------

@pytest.fixture
def cli_home(sqlite_node: NodeContext, monkeypatch: pytest.MonkeyPatch) -> Iterator[NodeContext]:
    staff(sqlite_node)
    SETTINGS.save(sqlite_node.config.home)
    monkeypatch.setenv("GENOMED_HOME", str(sqlite_node.config.home))
    yield sqlite_node


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_access_commands(cli_home: NodeContext, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--user", "res", "access", "request", "--dataset", "DS1", "--purpose", PURPOSE,
                         "--country", "se")
    assert code == 0, err
    request_id = out.split()[2]
    assert out.strip() == f"access request {request_id} for dataset DS1 is pending"
    code, _, err = run(capsys, "--user", "res", "access", "approve", request_id, "--days", "30")
    assert code == 7 and "lacks the permission 'decide_access'" in err
    code, out, err = run(capsys, "--user", "steward", "access", "approve", request_id, "--days", "30")
    assert code == 0, err
    assert f"access request {request_id} approved: res may read dataset DS1 until" in out
    code, out, _ = run(capsys, "--user", "steward", "access", "list", "--status", "approved")
    assert "DS1" in out and "res" in out and "steward" in out and "SE" in out
    code, out, err = run(capsys, "--user", "res", "access", "passport")
    assert code == 0, err
    verifier = access.node_verifier(cli_home, SETTINGS)
    assert resolve(verifier, out.strip()).controlled_datasets == {"DS1"}
    code, pem, _ = run(capsys, "access", "public-key")
    assert code == 0 and pem == public_key_pem(cli_home.keys)
    code, entry, _ = run(capsys, "access", "public-key", "--toml")
    assert code == 0 and f'issuer = "{URL}"' in entry and "BEGIN PUBLIC KEY" in entry
    assert run(capsys, "--user", "steward", "access", "revoke", request_id, "--reason", "ended")[0] == 0
    assert resolve(verifier, out.strip()).tier is Tier.REGISTERED
    code, _, err = run(capsys, "--user", "steward", "access", "reject", request_id, "--reason", "x")
    assert code == 13 and "is revoked" in err
    code, _, err = run(capsys, "--user", "steward", "access", "list", "--status", "granted")
    assert code == 5 and "status must be one of" in err
