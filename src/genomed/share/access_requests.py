"""Researcher access requests: request, decide, grant as a time-limited visa, revoke at once.

A researcher asks for controlled access to one dataset, for a stated purpose, from a country (the
country decides whether the donors' national or international sharing consent applies). A data
steward approves it for a number of days, or rejects it with a reason; nobody decides their own
request. Approval issues a GA4GH ``ControlledAccessGrants`` visa (:mod:`genomed.share.visas`) whose
``jti`` is the request's visa id. The verifier asks :func:`live_visas` about every visa this
node issued, on every request, straight from the database: a revocation (or the researcher's
account being deactivated) takes effect on the very next query, with no cache to go stale.

Every decision is audited in the transaction that makes it; refusals are audited on their own.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, and_, select, update
from sqlalchemy.orm import Session

from genomed.access.purpose import Purpose
from genomed.access.roles import Permission, permissions_of
from genomed.catalog.guard import authorize, record_refusal
from genomed.catalog.models import User
from genomed.context import NodeContext
from genomed.db.base import utcnow
from genomed.errors import AccessDeniedError, DuplicateError, GenomedError, InputError, NotFoundError, StateError
from genomed.share.models import AccessRequest, BeaconDocument
from genomed.share.passports import DATASET_ID, OwnVisa, PassportVerifier, country_code
from genomed.share.settings import SharingSettings, load_sharing
from genomed.share.visas import VisaGrant, own_issuer, sign_passport, sign_visa

OBJECT_TYPE = "access_request"
MAX_DAYS = 365
MAX_PURPOSE_CHARS = 4000
AUDITED_PURPOSE_CHARS = 500


DONE = {"access.approve": "approved", "access.reject": "rejected", "access.revoke": "revoked"}


class Status(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    REVOKED = "revoked"


@dataclass(frozen=True)
class IssuedVisa:
    """The visa an approval issued: its token and what it grants, to whom, until when."""

    request_id: int
    visa_id: str
    subject: str
    dataset_id: str
    expires_at: dt.datetime
    token: str


def _settings(ctx: NodeContext, settings: SharingSettings | None) -> SharingSettings:
    return settings if settings is not None else load_sharing(ctx.config.home)


def _refuse(ctx: NodeContext, actor: str, action: str, request_id: int | str, outcome: str,
            error: GenomedError) -> GenomedError:
    """Audit a refused decision in its own transaction; the error to raise."""
    record_refusal(ctx, actor=actor, action=action, object_type=OBJECT_TYPE, object_id=str(request_id),
                   purpose=Purpose.SHARING, outcome=outcome, reason=str(error))
    return error


def known_datasets(session: Session, settings: SharingSettings) -> set[str]:
    """The datasets this node answers for: its own cohort (the beacon id) and every loaded Beacon dataset."""
    return {settings.beacon.id, *session.scalars(select(BeaconDocument.dataset_id).distinct())}


def request_access(ctx: NodeContext, actor: str, dataset_id: str, purpose: str, country: str,
                   settings: SharingSettings | None = None) -> AccessRequest:
    """File a researcher's request for controlled access to ``dataset_id``; it waits for a steward."""
    dataset = dataset_id.strip()
    if not DATASET_ID.match(dataset) or dataset in (".", ".."):
        raise InputError(f"dataset id {dataset_id!r} must be 1-128 letters, digits, '.', '_' or '-'")
    stated = purpose.strip()
    if not stated:
        raise InputError("an access request needs a purpose (the research question the data will serve)")
    if len(stated) > MAX_PURPOSE_CHARS:
        raise InputError(f"the purpose is longer than {MAX_PURPOSE_CHARS} characters; summarise it")
    code = country_code(country)
    if code is None:
        raise InputError(f"country must be an ISO 3166-1 alpha-2 code such as SE, got {country!r}")
    with ctx.transaction() as session:
        user = authorize(ctx, session, actor, Permission.REQUEST_ACCESS, object_type="dataset", object_id=dataset,
                         purpose=Purpose.SHARING)
        known = known_datasets(session, _settings(ctx, settings))
        if dataset not in known:
            raise NotFoundError(f"no dataset {dataset!r} on this node; its datasets: {', '.join(sorted(known))}")
        pending = session.scalar(select(AccessRequest.id).where(
            AccessRequest.requester_id == user.id, AccessRequest.dataset_id == dataset,
            AccessRequest.status == Status.PENDING.value))
        if pending is None:
            row = AccessRequest(requester_id=user.id, dataset_id=dataset, purpose=stated, country=code,
                                status=Status.PENDING.value, requested_at=utcnow())
            session.add(row)
            session.flush()
            ctx.audit.record(session, actor=actor, action="access.request", object_type=OBJECT_TYPE,
                             object_id=str(row.id), purpose=Purpose.SHARING,
                             details={"dataset": dataset, "country": code,
                                      "purpose": stated[:AUDITED_PURPOSE_CHARS]})
    if pending is not None:
        raise _refuse(ctx, actor, "access.request", pending, "failed", DuplicateError(
            f"{actor} already has request {pending} pending for dataset {dataset}; wait for its decision"))
    return row


def _request(session: Session, request_id: int) -> AccessRequest:
    row = session.get(AccessRequest, request_id)
    if row is None:
        raise NotFoundError(f"no access request {request_id}")
    return row


def _username(session: Session, user_id: int) -> str:
    name = session.scalar(select(User.username).where(User.id == user_id))
    if name is None:  # a foreign key makes this impossible short of a damaged database
        raise NotFoundError(f"no user with id {user_id}")
    return name


def _grant(row: AccessRequest, subject: str) -> VisaGrant:
    if row.visa_id is None or row.decided_at is None or row.expires_at is None:
        raise StateError(f"access request {row.id} was approved without a visa")
    return VisaGrant(visa_id=row.visa_id, subject=subject, dataset_id=row.dataset_id, asserted=row.decided_at,
                     expires=row.expires_at)


def _decide(ctx: NodeContext, session: Session, actor: str, action: str, request_id: int,
            expected: Status) -> tuple[User, AccessRequest, GenomedError | None]:
    """The deciding steward and the request, or the reason the decision cannot be made."""
    user = authorize(ctx, session, actor, Permission.DECIDE_ACCESS, object_type=OBJECT_TYPE,
                     object_id=str(request_id), purpose=Purpose.SHARING)
    row = _request(session, request_id)
    if row.requester_id == user.id:
        return user, row, AccessDeniedError(f"{actor} cannot decide their own access request {request_id}")
    if row.status != expected.value:
        article = "an" if expected.value[0] in "aeiou" else "a"
        return user, row, StateError(f"access request {request_id} is {row.status}; only {article} "
                                     f"{expected.value} request can be {DONE[action]}")
    return user, row, None


def _transition(session: Session, row: AccessRequest, expected: Status, **values: object) -> bool:
    """Move the request out of ``expected`` atomically: a concurrent decision makes this one fail."""
    result = cast(CursorResult[Any], session.execute(
        update(AccessRequest).where(AccessRequest.id == row.id, AccessRequest.status == expected.value)
        .values(**values).execution_options(synchronize_session=False)))
    session.refresh(row)
    return result.rowcount == 1


def approve_access(ctx: NodeContext, actor: str, request_id: int, days: int,
                   settings: SharingSettings | None = None) -> IssuedVisa:
    """Approve a pending request for ``days`` days; the visa it issues (a steward's, not the requester's)."""
    if not 1 <= days <= MAX_DAYS:
        raise InputError(f"an access grant lasts 1 to {MAX_DAYS} days, not {days}")
    chosen = _settings(ctx, settings)
    with ctx.transaction() as session:
        user, row, problem = _decide(ctx, session, actor, "access.approve", request_id, Status.PENDING)
        if problem is None:
            now = utcnow()
            if not _transition(session, row, Status.PENDING, status=Status.APPROVED.value, decided_by=user.id,
                               decided_at=now, expires_at=now + dt.timedelta(days=days),
                               visa_id=uuid.uuid4().hex):
                problem = StateError(f"access request {request_id} was decided meanwhile")
        if problem is None:
            subject = _username(session, row.requester_id)
            grant = _grant(row, subject)
            ctx.audit.record(session, actor=actor, action="access.approve", object_type=OBJECT_TYPE,
                             object_id=str(row.id), purpose=Purpose.SHARING,
                             details={"dataset": row.dataset_id, "requester": subject, "visa": grant.visa_id,
                                      "days": days, "expires": grant.expires.isoformat(timespec="seconds")})
    if problem is not None:
        raise _refuse(ctx, actor, "access.approve", request_id,
                      "denied" if isinstance(problem, AccessDeniedError) else "failed", problem)
    return IssuedVisa(request_id=row.id, visa_id=grant.visa_id, subject=subject, dataset_id=row.dataset_id,
                      expires_at=grant.expires, token=sign_visa(ctx.keys, chosen, grant))


def reject_access(ctx: NodeContext, actor: str, request_id: int, reason: str) -> AccessRequest:
    """Reject a pending request, with the reason the researcher will read."""
    if not reason.strip():
        raise InputError("a rejection needs a reason the researcher can act on")
    with ctx.transaction() as session:
        user, row, problem = _decide(ctx, session, actor, "access.reject", request_id, Status.PENDING)
        if problem is None and not _transition(session, row, Status.PENDING, status=Status.REJECTED.value,
                                               decided_by=user.id, decided_at=utcnow(),
                                               decision_note=reason.strip()):
            problem = StateError(f"access request {request_id} was decided meanwhile")
        if problem is None:
            ctx.audit.record(session, actor=actor, action="access.reject", object_type=OBJECT_TYPE,
                             object_id=str(row.id), purpose=Purpose.SHARING,
                             details={"dataset": row.dataset_id, "reason": reason.strip()[:AUDITED_PURPOSE_CHARS]})
    if problem is not None:
        raise _refuse(ctx, actor, "access.reject", request_id,
                      "denied" if isinstance(problem, AccessDeniedError) else "failed", problem)
    return row


def revoke_access(ctx: NodeContext, actor: str, request_id: int, reason: str = "") -> AccessRequest:
    """Revoke an approved grant: its visa stops granting anything on the next query."""
    with ctx.transaction() as session:
        user, row, problem = _decide(ctx, session, actor, "access.revoke", request_id, Status.APPROVED)
        if problem is None and not _transition(session, row, Status.APPROVED, status=Status.REVOKED.value,
                                               revoked_by=user.id, revoked_at=utcnow(),
                                               decision_note=reason.strip() or row.decision_note):
            problem = StateError(f"access request {request_id} changed meanwhile")
        if problem is None:
            ctx.audit.record(session, actor=actor, action="access.revoke", object_type=OBJECT_TYPE,
                             object_id=str(row.id), purpose=Purpose.SHARING,
                             details={"dataset": row.dataset_id, "visa": row.visa_id,
                                      "reason": reason.strip()[:AUDITED_PURPOSE_CHARS]})
    if problem is not None:
        raise _refuse(ctx, actor, "access.revoke", request_id,
                      "denied" if isinstance(problem, AccessDeniedError) else "failed", problem)
    return row


@dataclass(frozen=True)
class ListedRequest:
    """A request as a listing shows it: the row, with its requester and decider named."""

    request: AccessRequest
    requester: str
    decided_by: str | None


def list_requests(ctx: NodeContext, actor: str, status: str | None = None) -> list[ListedRequest]:
    """Requests a steward may decide (all of them), or a researcher's own, newest first."""
    if status is not None and status not in {s.value for s in Status}:
        raise InputError(f"status must be one of {', '.join(s.value for s in Status)}, got {status!r}")
    with ctx.transaction() as session:
        known = session.scalar(select(User).where(User.username == actor))
        steward = known is not None and Permission.DECIDE_ACCESS in permissions_of(known.role_names)
        user = authorize(ctx, session, actor, Permission.DECIDE_ACCESS if steward else Permission.REQUEST_ACCESS,
                         object_type=OBJECT_TYPE, object_id="*", purpose=Purpose.SHARING)
        query = select(AccessRequest).order_by(AccessRequest.id.desc())
        if not steward:
            query = query.where(AccessRequest.requester_id == user.id)
        if status is not None:
            query = query.where(AccessRequest.status == status)
        rows = list(session.scalars(query))
        named = {r.requester_id for r in rows} | {r.decided_by for r in rows if r.decided_by}
        names = {user_id: name for user_id, name in
                 session.execute(select(User.id, User.username).where(User.id.in_(named)))}
    return [ListedRequest(request=r, requester=names[r.requester_id],
                          decided_by=names[r.decided_by] if r.decided_by else None) for r in rows]


def _live(now: dt.datetime) -> ColumnElement[bool]:
    """The condition a live grant meets: approved, unrevoked, unexpired, its researcher's account active."""
    return and_(AccessRequest.status == Status.APPROVED.value, AccessRequest.revoked_at.is_(None),
                AccessRequest.expires_at > now, User.active.is_(True))


def live_visas(ctx: NodeContext, visas: Sequence[OwnVisa]) -> set[str]:
    """The ids of those of this node's ``visas`` that still grant what they say, as of now.

    Live means: its request is approved, not revoked, not expired, for that dataset and that
    researcher, whose account is active. Read from the database on every call, so that nothing can
    serve a revoked grant from memory. It runs before every answer to a passport holding our visas,
    hence one plain read for the whole passport, on a pooled connection, without an ORM session.
    """
    wanted = {(visa.visa_id, visa.subject, visa.dataset_id) for visa in visas}
    if not wanted:
        return set()
    query = (select(AccessRequest.visa_id, User.username, AccessRequest.dataset_id)
             .join(User, User.id == AccessRequest.requester_id)
             .where(AccessRequest.visa_id.in_({visa_id for visa_id, _, _ in wanted}), _live(utcnow())))
    with ctx.engine.connect() as connection:
        return {str(row[0]) for row in connection.execute(query) if tuple(row) in wanted}


def visa_is_live(ctx: NodeContext, visa_id: str, subject: str, dataset_id: str) -> bool:
    """Whether one visa of this node still grants ``dataset_id`` to ``subject`` (see :func:`live_visas`)."""
    return visa_id in live_visas(ctx, [OwnVisa(visa_id=visa_id, subject=subject, dataset_id=dataset_id)])


def live_grants(session: Session, user: User, now: dt.datetime) -> Sequence[AccessRequest]:
    return list(session.scalars(select(AccessRequest).join(User, User.id == AccessRequest.requester_id)
                                .where(AccessRequest.requester_id == user.id, _live(now))
                                .order_by(AccessRequest.id)))


def issue_passport(ctx: NodeContext, actor: str, settings: SharingSettings | None = None) -> str:
    """A short-lived passport for the acting researcher, wrapping the visas of their live grants.

    The passport states the researcher's country from their grants: if their requests name
    several, one other than this node's country is chosen, so that the stricter (international)
    sharing consent applies. Without grants the passport still makes them a registered requester.
    """
    chosen = _settings(ctx, settings)
    now = utcnow()
    with ctx.transaction() as session:
        user = authorize(ctx, session, actor, Permission.REQUEST_ACCESS, object_type="passport", object_id=actor,
                         purpose=Purpose.SHARING)
        grants = live_grants(session, user, now)
        countries = {row.country for row in grants}
        foreign = sorted(countries - {ctx.config.country})
        country = foreign[0] if foreign else (ctx.config.country if countries else None)
        visas = [sign_visa(ctx.keys, chosen, _grant(row, user.username)) for row in grants]
        ctx.audit.record(session, actor=actor, action="access.passport", object_type="passport", object_id=actor,
                         purpose=Purpose.SHARING,
                         details={"visas": ",".join(str(row.visa_id) for row in grants), "country": country})
    return sign_passport(ctx.keys, chosen, user.username, visas, country=country, now=now)


def node_verifier(ctx: NodeContext, settings: SharingSettings) -> PassportVerifier:
    """The verifier of a serving node: its trusted brokers, and itself as issuer with live-grant checks."""
    return PassportVerifier.from_brokers(
        settings.brokers, own=own_issuer(ctx.keys, settings), node_url=settings.beacon.public_url,
        live_visas=lambda visas: live_visas(ctx, visas))
