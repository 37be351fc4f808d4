"""Staff accounts and their roles."""

from __future__ import annotations

import re

from sqlalchemy import select

from genomed.access.purpose import Purpose
from genomed.access.roles import Permission, Role
from genomed.catalog.guard import authorize
from genomed.catalog.models import User
from genomed.context import NodeContext
from genomed.errors import DuplicateError, InputError, NotFoundError

_USERNAME = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")


def _parse_roles(roles: list[str]) -> str:
    if not roles:
        raise InputError("a user needs at least one role")
    known = {r.value for r in Role}
    unknown = [r for r in roles if r not in known]
    if unknown:
        raise InputError(f"unknown role(s) {', '.join(unknown)}; known roles: {', '.join(sorted(known))}")
    return ",".join(sorted(set(roles)))


def add_user(ctx: NodeContext, actor: str, username: str, roles: list[str], display_name: str = "") -> User:
    """Create a staff account (admin only)."""
    if not _USERNAME.match(username):
        raise InputError(f"username {username!r} must be 2-64 lowercase letters, digits, '.', '_' or '-'")
    role_text = _parse_roles(roles)
    with ctx.transaction() as session:
        authorize(ctx, session, actor, Permission.MANAGE_USERS, object_type="user", object_id=username,
                  purpose=Purpose.ADMINISTRATION)
        if session.scalar(select(User).where(User.username == username)) is not None:
            raise DuplicateError(f"user {username!r} already exists")
        user = User(username=username, display_name=display_name, roles=role_text, active=True)
        session.add(user)
        ctx.audit.record(session, actor=actor, action="user.add", object_type="user", object_id=username,
                         purpose=Purpose.ADMINISTRATION, details={"roles": role_text})
    return user


def set_user_active(ctx: NodeContext, actor: str, username: str, active: bool) -> User:
    """Deactivate (or reactivate) an account; accounts are never deleted, the audit trail names them."""
    with ctx.transaction() as session:
        authorize(ctx, session, actor, Permission.MANAGE_USERS, object_type="user", object_id=username,
                  purpose=Purpose.ADMINISTRATION)
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFoundError(f"no user {username!r}")
        user.active = active
        ctx.audit.record(session, actor=actor, action="user.activate" if active else "user.deactivate",
                         object_type="user", object_id=username, purpose=Purpose.ADMINISTRATION)
    return user


def list_users(ctx: NodeContext, actor: str) -> list[User]:
    with ctx.transaction() as session:
        authorize(ctx, session, actor, Permission.MANAGE_USERS, object_type="user", object_id="*",
                  purpose=Purpose.ADMINISTRATION)
        return list(session.scalars(select(User).order_by(User.username)))
