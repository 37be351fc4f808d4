"""Signed requests between nodes: who sent this request, and was it sent to us, once, just now?

A node signs every request it sends to a peer with its Ed25519 signing key (derived from the node
secret, see :mod:`genomed.vault.keys`). Four headers travel with the request:

=======================  ==========================================================================
``X-Genomed-Node``       the sender's key id: ``sha256(raw verify key)[:32]`` in hex
``X-Genomed-Timestamp``  Unix time in whole seconds when the request was signed
``X-Genomed-Nonce``      16 to 64 characters of ``[A-Za-z0-9_-]``, fresh for each request
``X-Genomed-Signature``  base64 (standard, padded) of the Ed25519 signature of the canonical string
=======================  ==========================================================================

The canonical string is these nine lines joined by ``\\n`` (no trailing newline), UTF-8 encoded::

    genomed-request-v1
    POST                                   method, upper case
    /g_variants                            path, percent-decoded, as the recipient routes it
    a=1&b=x%20y                            query: pairs decoded, sorted, re-encoded (see canonical_query)
    e3b0c442...b855                        sha256 of the body bytes, lower-case hex (of b"" when empty)
    1795740466                             the timestamp header
    5f0c2a...                              the nonce header
    66687aadf862bd776c8fc18b8e9f8e20       the sender's key id (the X-Genomed-Node header)
    0d1f...                                the recipient's key id: the audience

Signing the recipient's key id binds a request to one recipient: a peer cannot replay what we sent
it to a third node. The recipient accepts a request when the sender's key id is the key of a peer
in its ``sharing.toml``, the signature verifies with that key, the timestamp is within
``skew_seconds`` of its clock, and the nonce has not been seen from that sender within the window.
Anything else (no headers, unknown node, bad signature, stale or future timestamp, replay) makes
the request an ordinary anonymous one: like a bad passport, a bad signature costs access, never
raises an error that would tell a prober which check failed.

The replay cache lives in the serving process: a node served by several worker processes would
need a shared cache (one worker is what ``genomed serve`` runs).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from genomed.errors import ConfigurationError
from genomed.share.settings import Peer
from genomed.vault.keys import key_id

LOG = logging.getLogger(__name__)

SCHEME = "genomed-request-v1"
HEADER_NODE = "X-Genomed-Node"
HEADER_TIMESTAMP = "X-Genomed-Timestamp"
HEADER_NONCE = "X-Genomed-Nonce"
HEADER_SIGNATURE = "X-Genomed-Signature"
SKEW_SECONDS = 60
NONCE_CACHE_SIZE = 200_000
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")


def parse_verify_key(encoded: str, owner: str) -> Ed25519PublicKey:
    """A peer's verify key from its base64 raw form (what ``genomed federation identity`` prints).

    >>> key = Ed25519PrivateKey.generate().public_key()
    >>> parse_verify_key(encode_verify_key(key), "test") == key
    True
    """
    try:
        raw = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigurationError(f"peer {owner!r}: public_key is not base64: {exc}") from exc
    if len(raw) != 32:
        raise ConfigurationError(f"peer {owner!r}: public_key must be a raw Ed25519 key of 32 bytes, got {len(raw)}")
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise ConfigurationError(f"peer {owner!r}: public_key is not an Ed25519 key: {exc}") from exc


def encode_verify_key(key: Ed25519PublicKey) -> str:
    """The base64 raw form of a verify key, as peers write it in their ``sharing.toml``."""
    return base64.b64encode(key.public_bytes_raw()).decode()


def verify_key_id(key: Ed25519PublicKey) -> str:
    """The key id that names a node's signing key in the ``X-Genomed-Node`` header."""
    return key_id(key.public_bytes_raw())


def canonical_query(query: str) -> str:
    """A query string in one spelling: pairs decoded, sorted, re-encoded, so that clients agree.

    >>> canonical_query("start=5&referenceName=1&alternateBases=G")
    'alternateBases=G&referenceName=1&start=5'
    >>> canonical_query("q=a%20b&empty=") == canonical_query("empty=&q=a+b")
    True
    """
    return urlencode(sorted(parse_qsl(query, keep_blank_values=True)))


def canonical_request(*, method: str, path: str, query: str, body: bytes, timestamp: str, nonce: str,
                      sender: str, audience: str) -> bytes:
    """The bytes a node signs for one request (see the module docstring for the layout).

    >>> canonical_request(method="get", path="/info", query="", body=b"", timestamp="1", nonce="n" * 16,
    ...                   sender="s", audience="a").decode().splitlines()[:3]
    ['genomed-request-v1', 'GET', '/info']
    """
    lines = [SCHEME, method.upper(), path, canonical_query(query), hashlib.sha256(body).hexdigest(), timestamp,
             nonce, sender, audience]
    return "\n".join(lines).encode()


class RequestSigner:
    """Signs this node's outgoing requests; one per node, shared by every request."""

    def __init__(self, signing_key: Ed25519PrivateKey, clock: Callable[[], float] = time.time) -> None:
        self._key = signing_key
        self.key_id = verify_key_id(signing_key.public_key())
        self.clock = clock

    def headers(self, *, method: str, path: str, query: str, body: bytes, audience: str) -> dict[str, str]:
        """The four signature headers for one request to the node whose key id is ``audience``."""
        timestamp = str(int(self.clock()))
        nonce = secrets.token_urlsafe(18)
        message = canonical_request(method=method, path=path, query=query, body=body, timestamp=timestamp,
                                    nonce=nonce, sender=self.key_id, audience=audience)
        return {HEADER_NODE: self.key_id, HEADER_TIMESTAMP: timestamp, HEADER_NONCE: nonce,
                HEADER_SIGNATURE: base64.b64encode(self._key.sign(message)).decode()}


class NonceCache:
    """Nonces seen within the skew window, per sender; full means "refuse", never "forget one early".

    Only verified requests reach the cache, so only a peer holding its key can fill it; refusing
    when full (those requests fall back to the public tier) keeps replays impossible.
    """

    def __init__(self, lifetime_seconds: float, max_size: int = NONCE_CACHE_SIZE) -> None:
        self.lifetime = lifetime_seconds
        self.max_size = max_size
        self._expiry: dict[tuple[str, str], float] = {}  # insertion order is expiry order
        self._lock = threading.Lock()

    def add(self, sender: str, nonce: str, now: float) -> bool:
        """Record a nonce; ``False`` when it was already seen (a replay) or the cache is full."""
        with self._lock:
            for key, expiry in list(self._expiry.items()):
                if expiry > now:
                    break
                del self._expiry[key]
            if (sender, nonce) in self._expiry or len(self._expiry) >= self.max_size:
                return False
            self._expiry[(sender, nonce)] = now + self.lifetime
            return True

    def __len__(self) -> int:
        return len(self._expiry)


@dataclass(frozen=True)
class KnownPeer:
    peer: Peer
    key: Ed25519PublicKey


class RequestVerifier:
    """Resolves a signed request to the peer that sent it, or to nobody."""

    def __init__(self, own_key_id: str, peers: Sequence[Peer], *, skew_seconds: int = SKEW_SECONDS,
                 clock: Callable[[], float] = time.time, nonce_cache_size: int = NONCE_CACHE_SIZE) -> None:
        self.own_key_id = own_key_id
        self.skew_seconds = skew_seconds
        self.clock = clock
        self.peers: dict[str, KnownPeer] = {}
        for peer in peers:
            if not peer.public_key:
                continue  # a matchmaking-only partner: it cannot sign federation requests
            key = parse_verify_key(peer.public_key, peer.name)
            self.peers[verify_key_id(key)] = KnownPeer(peer, key)
        # a nonce must outlive every timestamp that could still pass the window
        self.nonces = NonceCache(2 * skew_seconds, nonce_cache_size)

    def verify(self, *, method: str, path: str, query: str, body: bytes, headers: Mapping[str, str]) -> Peer | None:
        """The peer that signed this request for us, just now and for the first time; else ``None``."""
        sender = headers.get(HEADER_NODE, "")
        timestamp = headers.get(HEADER_TIMESTAMP, "")
        nonce = headers.get(HEADER_NONCE, "")
        signature = headers.get(HEADER_SIGNATURE, "")
        known = self.peers.get(sender)
        if known is None or not _TIMESTAMP.match(timestamp) or not _NONCE.match(nonce):
            return None
        now = self.clock()
        if abs(now - int(timestamp)) > self.skew_seconds:
            LOG.debug("signed request from %s refused: timestamp outside the window", known.peer.name)
            return None
        try:
            raw_signature = base64.b64decode(signature, validate=True)
            known.key.verify(raw_signature, canonical_request(
                method=method, path=path, query=query, body=body, timestamp=timestamp, nonce=nonce,
                sender=sender, audience=self.own_key_id))
        except (binascii.Error, ValueError, InvalidSignature):
            LOG.debug("signed request from %s refused: signature does not verify", known.peer.name)
            return None
        if not self.nonces.add(sender, nonce, now):
            LOG.debug("signed request from %s refused: nonce replayed (or cache full)", known.peer.name)
            return None
        return known.peer
