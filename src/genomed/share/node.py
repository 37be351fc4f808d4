"""What every sharing endpoint shares: the opened node, its sharing settings, the guard and the verifier.

One :class:`SharingNode` lives for as long as ``genomed serve`` runs. Endpoints resolve the
requester through it (passport → tier), charge budgets and audit each answer through it, so that
no endpoint can forget either.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session
from starlette.requests import Request

from genomed.access.purpose import Purpose
from genomed.audit.trail import DetailValue
from genomed.context import NodeContext
from genomed.share.access_requests import node_verifier
from genomed.share.federation.signing import HEADER_SIGNATURE, RequestVerifier
from genomed.share.guard import PrivacyGuard
from genomed.share.identity import Requester, Tier
from genomed.share.passports import PassportVerifier
from genomed.share.settings import SharingSettings, load_sharing

AUDIT_ACTOR_LENGTH = 64


@dataclass
class SharingNode:
    ctx: NodeContext
    settings: SharingSettings
    guard: PrivacyGuard
    passports: PassportVerifier
    # Per-module state (document indexes, peer clients, ...) keyed by the owning module's name.
    extensions: dict[str, object] = field(default_factory=dict)
    # Verifies requests signed by federation peers; ``None``: no peer is trusted.
    peer_signatures: RequestVerifier | None = None

    @classmethod
    def open(cls, ctx: NodeContext, settings: SharingSettings | None = None) -> SharingNode:
        """The sharing side of an opened node, with ``HOME/sharing.toml`` unless settings are given."""
        chosen = settings if settings is not None else load_sharing(ctx.config.home)
        return cls(ctx=ctx, settings=chosen, guard=PrivacyGuard(chosen.guard),
                   passports=node_verifier(ctx, chosen),
                   peer_signatures=RequestVerifier(ctx.keys.signing_key_id, chosen.peers))

    async def requester(self, request: Request) -> Requester:
        """Who sent ``request``: a signing peer node, else a passport's holder, else an anonymous address.

        Never an error. Async because a signed inter-node request is verified over its body, which is
        read here (Starlette keeps it for the endpoint). A verified peer is a registered requester
        named ``node:<peer name>``, from the peer's country; a signature that does not verify is
        ignored, so the request is judged on its passport, if any, else as public.
        """
        if self.peer_signatures is not None and HEADER_SIGNATURE in request.headers:
            peer = self.peer_signatures.verify(method=request.method, path=request.url.path,
                                               query=request.url.query, body=await request.body(),
                                               headers=request.headers)
            if peer is not None:
                return Requester(identity=f"node:{peer.name}", tier=Tier.REGISTERED, country=peer.country)
        address = request.client.host if request.client is not None else "unknown"
        return self.passports.resolve(request.headers.get("authorization"), address)

    def audit(self, session: Session, requester: Requester, *, action: str, object_type: str, object_id: str,
              outcome: str = "ok", details: Mapping[str, DetailValue] | None = None) -> None:
        """Audit one answer in ``session``: who asked (full identity in the details), what, and the result."""
        merged: dict[str, DetailValue] = {"requester": requester.identity, "tier": requester.tier.beacon_name}
        if requester.country:
            merged["country"] = requester.country
        if requester.visa_ids:
            merged["visas"] = ",".join(requester.visa_ids)
        merged.update(details or {})
        self.ctx.audit.record(session, actor=requester.identity[:AUDIT_ACTOR_LENGTH], action=action,
                              object_type=object_type, object_id=object_id[:128], purpose=Purpose.SHARING,
                              outcome=outcome, details=merged)
