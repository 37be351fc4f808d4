"""Signed inter-node requests: a peer is recognised only by a fresh, untampered request signed for us."""

from __future__ import annotations

import asyncio
import doctest
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Request

from genomed.context import NodeContext
from genomed.errors import ConfigurationError
from genomed.node import init_node
from genomed.share.federation.signing import (
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    NonceCache,
    RequestSigner,
    RequestVerifier,
    encode_verify_key,
    verify_key_id,
)
from genomed.share.identity import Tier
from genomed.share.node import SharingNode
from genomed.share.server import create_app
from genomed.share.settings import Peer, SharingSettings

NOW = 1_800_000_000.0
BODY = json.dumps({"query": {"requestParameters": {"referenceName": "1", "start": [122]}}}).encode()


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def sweden_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def france_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def peer(name: str, country: str, key: Ed25519PrivateKey) -> Peer:
    return Peer(name=name, country=country, url="http://127.0.0.1:9", public_key=encode_verify_key(key.public_key()))


def signed(signer: RequestSigner, audience: str, *, method: str = "POST", path: str = "/g_variants",
           query: str = "limit=10", body: bytes = BODY) -> dict[str, str]:
    return signer.headers(method=method, path=path, query=query, body=body, audience=audience)


def verify(verifier: RequestVerifier, headers: dict[str, str], *, method: str = "POST", path: str = "/g_variants",
           query: str = "limit=10", body: bytes = BODY) -> Peer | None:
    return verifier.verify(method=method, path=path, query=query, body=body, headers=headers)


@pytest.fixture
def pair(sweden_key: Ed25519PrivateKey, france_key: Ed25519PrivateKey) -> tuple[RequestSigner, RequestVerifier, Clock]:
    """Sweden signs; France verifies with Sweden's key from its sharing settings."""
    clock = Clock()
    signer = RequestSigner(sweden_key, clock=clock)
    verifier = RequestVerifier(verify_key_id(france_key.public_key()), [peer("Sweden", "SE", sweden_key)], clock=clock)
    return signer, verifier, clock


def test_a_fresh_signed_request_names_its_peer(pair: tuple[RequestSigner, RequestVerifier, Clock]) -> None:
    signer, verifier, _ = pair
    found = verify(verifier, signed(signer, verifier.own_key_id))
    assert found is not None and (found.name, found.country) == ("Sweden", "SE")
    # the query is compared in its canonical spelling, whatever order the client sent
    headers = signed(signer, verifier.own_key_id, query="b=2&a=x%20y")
    assert verify(verifier, headers, query="a=x+y&b=2") is not None


@pytest.mark.parametrize("tampered", [
    {"body": BODY.replace(b"122", b"123")},
    {"body": b""},
    {"path": "/individuals"},
    {"query": "limit=1000"},
    {"method": "GET"},
])
def test_tampering_with_any_signed_part_is_refused(pair: tuple[RequestSigner, RequestVerifier, Clock],
                                                  tampered: dict[str, object]) -> None:
    signer, verifier, _ = pair
    headers = signed(signer, verifier.own_key_id)
    assert verify(verifier, headers, **tampered) is None  # type: ignore[arg-type]
    assert verify(verifier, headers) is not None  # the refusal did not burn the nonce


def test_a_changed_timestamp_or_nonce_header_breaks_the_signature(
        pair: tuple[RequestSigner, RequestVerifier, Clock]) -> None:
    signer, verifier, _ = pair
    headers = signed(signer, verifier.own_key_id)
    assert verify(verifier, {**headers, HEADER_TIMESTAMP: str(int(NOW) + 1)}) is None
    assert verify(verifier, {**headers, HEADER_NONCE: "another-nonce-of-length"}) is None
    assert verify(verifier, {**headers, HEADER_SIGNATURE: "not base64!"}) is None
    assert verify(verifier, {**headers, HEADER_TIMESTAMP: "-5"}) is None


def test_timestamps_outside_the_skew_window_are_refused(pair: tuple[RequestSigner, RequestVerifier, Clock]) -> None:
    signer, verifier, clock = pair
    headers = signed(signer, verifier.own_key_id)
    clock.now = NOW + verifier.skew_seconds + 1
    assert verify(verifier, headers) is None            # too old
    clock.now = NOW - verifier.skew_seconds - 1
    assert verify(verifier, headers) is None            # from the future
    clock.now = NOW + verifier.skew_seconds
    assert verify(verifier, headers) is not None        # the edge of the window still counts


def test_a_replayed_request_is_refused(pair: tuple[RequestSigner, RequestVerifier, Clock]) -> None:
    signer, verifier, clock = pair
    headers = signed(signer, verifier.own_key_id)
    assert verify(verifier, headers) is not None
    assert verify(verifier, headers) is None
    clock.now += verifier.skew_seconds  # still refused at the last second the timestamp is accepted
    assert verify(verifier, headers) is None
    assert verify(verifier, signed(signer, verifier.own_key_id)) is not None  # a new nonce is fine


def test_unknown_nodes_and_requests_meant_for_another_node_are_refused(
        pair: tuple[RequestSigner, RequestVerifier, Clock], france_key: Ed25519PrivateKey) -> None:
    signer, verifier, clock = pair
    stranger = RequestSigner(Ed25519PrivateKey.generate(), clock=clock)
    assert verify(verifier, signed(stranger, verifier.own_key_id)) is None
    # what Sweden signed for Denmark cannot be replayed to France
    denmark = verify_key_id(Ed25519PrivateKey.generate().public_key())
    assert verify(verifier, signed(signer, denmark)) is None
    assert verify(verifier, {}) is None


def test_the_nonce_cache_refuses_when_full_and_forgets_after_its_lifetime() -> None:
    cache = NonceCache(lifetime_seconds=10, max_size=2)
    assert cache.add("s", "n1", 0) and cache.add("s", "n2", 1)
    assert not cache.add("s", "n3", 2)   # full: refuse rather than forget an unexpired nonce
    assert not cache.add("s", "n1", 5)   # replay
    assert cache.add("s", "n3", 10.5)    # n1 expired and was dropped
    assert len(cache) == 2


def test_a_malformed_peer_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="32 bytes"):
        RequestVerifier("me", [Peer(name="Bad", country="SE", url="http://x", public_key="AAAA")])
    with pytest.raises(ConfigurationError, match="base64"):
        RequestVerifier("me", [Peer(name="Bad", country="SE", url="http://x", public_key="no base64!")])


# -- the node resolves the requester of a real HTTP request ---------------------------------------

@pytest.fixture
def france(tmp_path: Path) -> Iterator[NodeContext]:
    ctx = init_node(tmp_path / "fr", node_name="France", country="FR")
    try:
        yield ctx
    finally:
        ctx.close()


def test_the_node_resolves_a_signed_request_to_a_registered_peer_and_anything_else_to_public(
        france: NodeContext, sweden_key: Ed25519PrivateKey) -> None:
    asyncio.run(_resolve_requests(france, sweden_key))


async def _resolve_requests(france: NodeContext, sweden_key: Ed25519PrivateKey) -> None:
    node = SharingNode.open(france, SharingSettings(peers=(peer("Sweden", "SE", sweden_key),)))
    app = create_app(node)

    @app.post("/whoami")
    async def whoami(request: Request) -> dict[str, object]:
        requester = await node.requester(request)
        return {"identity": requester.identity, "tier": int(requester.tier), "country": requester.country,
                "body": (await request.body()).decode()}

    signer = RequestSigner(sweden_key)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://france") as client:
        def request(body: bytes) -> httpx.Request:
            return client.build_request("POST", "/whoami", params={"q": "1"}, content=body)

        good = request(BODY)
        good.headers.update(signed(signer, france.keys.signing_key_id, path="/whoami", query="q=1"))
        answer = (await client.send(good)).json()
        assert answer == {"identity": "node:Sweden", "tier": int(Tier.REGISTERED), "country": "SE",
                          "body": BODY.decode()}  # the endpoint still reads the body the check consumed
        assert (await client.send(good)).json()["identity"].startswith("anonymous:")  # replayed

        tampered = request(BODY + b" ")
        tampered.headers.update(signed(signer, france.keys.signing_key_id, path="/whoami", query="q=1"))
        refused = (await client.send(tampered)).json()
        assert refused["identity"].startswith("anonymous:") and refused["tier"] == int(Tier.PUBLIC)

        unsigned = (await client.send(request(BODY))).json()
        assert unsigned["tier"] == int(Tier.PUBLIC) and unsigned["country"] is None


def test_doctests() -> None:
    from genomed.share.federation import fanout, signing

    for module in (signing, fanout):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__
