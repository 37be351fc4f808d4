"""The ``X-Auth-Token`` of each matchmaking peer: issued once, kept only as a hash.

MME nodes authenticate each other with a shared secret per pair, sent as ``X-Auth-Token``. The
token a peer sends *us* is generated here (256 random bits), shown once to the operator, who
passes it to the peer's operator, and only its SHA-256 is written to ``sharing.toml``
(``mme_token_in_sha256``): a copy of the configuration does not let anyone query the node. The
token *we* send a peer was issued by that peer and must be kept as it is (``mme_token_out``).

Changing the file is an administrator's act (permission ``manage_users``: a peer's token is a
credential like a user account) and is audited, without the token.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets

from genomed.access.purpose import Purpose
from genomed.access.roles import Permission
from genomed.catalog.guard import authorize
from genomed.context import NodeContext
from genomed.errors import InputError
from genomed.share.settings import SharingSettings, load_sharing

TOKEN_BYTES = 32


def token_digest(token: str) -> str:
    """The SHA-256 hex digest ``sharing.toml`` keeps of a token (what :meth:`Peer.accepts_token` compares).

    >>> token_digest("secret")[:16]
    '2bb80d537b1da3e3'
    """
    return hashlib.sha256(token.encode()).hexdigest()


def _replace_peer(settings: SharingSettings, name: str, **changes: str) -> SharingSettings:
    settings.peer(name)  # a ConfigurationError naming the known peers if there is none
    peers = tuple(dataclasses.replace(p, **changes) if p.name == name else p for p in settings.peers)
    return dataclasses.replace(settings, peers=peers)


def issue_token(ctx: NodeContext, actor: str, peer_name: str) -> str:
    """A new token for ``peer_name`` to query us with; its hash replaces the previous one. Returned once."""
    with ctx.transaction() as session:
        authorize(ctx, session, actor, Permission.MANAGE_USERS, object_type="peer", object_id=peer_name,
                  purpose=Purpose.ADMINISTRATION)
        home = ctx.config.home
        settings = load_sharing(home)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        _replace_peer(settings, peer_name, mme_token_in_sha256=token_digest(token)).save(home)
        ctx.audit.record(session, actor=actor, action="match.token.issue", object_type="peer", object_id=peer_name,
                         purpose=Purpose.ADMINISTRATION, details={"digest_prefix": token_digest(token)[:8]})
    return token


def store_outgoing_token(ctx: NodeContext, actor: str, peer_name: str, token: str) -> None:
    """Keep the token ``peer_name`` issued us (sent as our ``X-Auth-Token`` to its ``/match``)."""
    cleaned = token.strip()
    if len(cleaned) < 16 or any(c.isspace() for c in cleaned):
        raise InputError("a peer's MME token is one word of at least 16 characters")
    with ctx.transaction() as session:
        authorize(ctx, session, actor, Permission.MANAGE_USERS, object_type="peer", object_id=peer_name,
                  purpose=Purpose.ADMINISTRATION)
        home = ctx.config.home
        _replace_peer(load_sharing(home), peer_name, mme_token_out=cleaned).save(home)
        ctx.audit.record(session, actor=actor, action="match.token.store", object_type="peer", object_id=peer_name,
                         purpose=Purpose.ADMINISTRATION, details={"digest_prefix": token_digest(cleaned)[:8]})


__all__ = ["TOKEN_BYTES", "issue_token", "store_outgoing_token", "token_digest"]
