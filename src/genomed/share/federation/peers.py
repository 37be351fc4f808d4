"""The peers a node federates with, as the operator edits them, and the card a node hands to its peers.

Peers live in ``HOME/sharing.toml`` (``[[peers]]``, see :mod:`genomed.share.settings`) so that a
data steward reads them beside the rest of the sharing policy. These functions change that file
without touching the other sections; a running node reads it again when it is restarted.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import tomli_w

from genomed.context import NodeContext
from genomed.errors import DuplicateError, NotFoundError
from genomed.share.federation.signing import encode_verify_key, parse_verify_key
from genomed.share.settings import Peer, SharingSettings, load_sharing


def add_peer(home: Path, peer: Peer) -> SharingSettings:
    """Add ``peer`` to the node's sharing settings; its key is checked, its name and key must be new."""
    settings = load_sharing(home)
    if peer.public_key:
        key = parse_verify_key(peer.public_key, peer.name)
        peer = dataclasses.replace(peer, public_key=encode_verify_key(key))
    for known in settings.peers:
        if known.name == peer.name:
            raise DuplicateError(f"a peer named {peer.name!r} already exists; remove it first to change it")
        if peer.public_key and known.public_key and known.public_key.strip() == peer.public_key:
            raise DuplicateError(f"peer {known.name!r} already has this public key")
    updated = dataclasses.replace(settings, peers=(*settings.peers, peer))
    updated.save(home)
    return updated


def remove_peer(home: Path, name: str) -> SharingSettings:
    """Remove the peer named ``name``: the node stops asking it and stops trusting its signatures."""
    settings = load_sharing(home)
    kept = tuple(p for p in settings.peers if p.name != name)
    if len(kept) == len(settings.peers):
        known = ", ".join(p.name for p in settings.peers) or "none"
        raise NotFoundError(f"no peer named {name!r}; known peers: {known}")
    updated = dataclasses.replace(settings, peers=kept)
    updated.save(home)
    return updated


@dataclass(frozen=True)
class NodeIdentity:
    """What a peer's operator needs to add this node: the fields of one ``[[peers]]`` entry."""

    name: str
    country: str
    url: str
    public_key: str

    def as_peer_toml(self) -> str:
        """The ``[[peers]]`` entry to paste into a peer's ``sharing.toml``."""
        return tomli_w.dumps({"peers": [dataclasses.asdict(self)]})


def node_identity(ctx: NodeContext, settings: SharingSettings | None = None) -> NodeIdentity:
    """This node's card: name, country, public URL (``[beacon] public_url``) and signing verify key."""
    chosen = settings if settings is not None else load_sharing(ctx.config.home)
    return NodeIdentity(name=ctx.config.node_name, country=ctx.config.country, url=chosen.beacon.public_url,
                        public_key=encode_verify_key(ctx.keys.verify_key))
