"""Permission checks for service functions, with refusals written to the audit trail.

A refusal must be audited even though the action it refused rolls back; it is therefore recorded
in a transaction of its own.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from genomed.access.roles import Permission, permissions_of
from genomed.catalog.models import User
from genomed.context import NodeContext
from genomed.errors import AccessDeniedError

LOG = logging.getLogger(__name__)


def record_refusal(ctx: NodeContext, *, actor: str, action: str, object_type: str, object_id: str,
                   purpose: str, outcome: str, reason: str) -> None:
    """Audit a refused action in its own transaction, so the refusal outlives the rollback."""
    LOG.info("refused %s by %s on %s:%s: %s", action, actor, object_type, object_id, reason)
    with ctx.transaction() as session:
        ctx.audit.record(session, actor=actor[:64] or "?", action=action, object_type=object_type,
                         object_id=object_id, purpose=purpose, outcome=outcome, details={"reason": reason[:500]})


def authorize(ctx: NodeContext, session: Session, username: str, permission: Permission, *,
              object_type: str, object_id: str, purpose: str) -> User:
    """The acting user, if active and granted ``permission``; else audit the refusal and raise."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        reason = f"unknown user {username!r}" if user is None else f"user {username!r} is deactivated"
        record_refusal(ctx, actor=username, action=permission.value, object_type=object_type,
                       object_id=object_id, purpose=purpose, outcome="denied", reason=reason)
        raise AccessDeniedError(reason)
    if permission not in permissions_of(user.role_names):
        roles = ", ".join(sorted(user.role_names)) or "no role"
        reason = f"user {username!r} ({roles}) lacks the permission {permission.value!r}"
        record_refusal(ctx, actor=username, action=permission.value, object_type=object_type,
                       object_id=object_id, purpose=purpose, outcome="denied", reason=reason)
        raise AccessDeniedError(reason)
    LOG.debug("%s granted %s on %s:%s for %s", username, permission.value, object_type, object_id, purpose)
    return user
