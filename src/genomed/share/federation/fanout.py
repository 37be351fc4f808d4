"""Asking every peer at once: one pooled HTTP client, signed requests, a deadline per peer.

A federated query costs the slowest answering peer, not the sum of all peers: every peer is asked
concurrently, each under its own deadline, so a dead or slow peer costs at most that deadline and
is reported instead of failing the query. One :class:`httpx.AsyncClient` lives as long as the node
serves, so that connections to peers stay open between queries (a TCP handshake per peer per query
would dominate a loopback query's latency).

Peers are ordinary Beacon v2 servers: a peer is asked ``POST <peer url>/g_variants`` with a
``beaconRequestBody`` and answers with a Beacon v2 count or resultsets response, from which
:func:`read_beacon_answer` keeps what the merged answer shows.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import httpx

from genomed.share.federation.signing import RequestSigner, parse_verify_key, verify_key_id
from genomed.share.settings import Peer

DEFAULT_TIMEOUT_SECONDS = 2.0
MAX_ANSWER_BYTES = 1 << 20


class Status(StrEnum):
    """How a node's part of a federated query went."""

    OK = "ok"
    TIMEOUT = "timeout"                  # no complete answer before the deadline
    UNREACHABLE = "unreachable"          # connection refused or dropped, name not resolved
    BAD_RESPONSE = "bad_response"        # an HTTP error status, or a body that is not a Beacon answer
    ERROR = "error"                      # the local node failed to answer


@dataclass(frozen=True)
class DatasetAnswer:
    id: str
    exists: bool
    count: int | None = None


@dataclass(frozen=True)
class NodeAnswer:
    """One node's part of a federated answer, with its provenance."""

    node: str
    country: str
    url: str
    status: Status
    latency_ms: float
    local: bool = False
    beacon_id: str | None = None
    exists: bool | None = None
    count: int | None = None
    granularity: str | None = None
    datasets: tuple[DatasetAnswer, ...] = ()
    detail: str = ""

    @property
    def answered(self) -> bool:
        return self.status is Status.OK


@dataclass(frozen=True)
class BeaconAnswer:
    """What a Beacon v2 response says, read defensively (a peer's body is untrusted input)."""

    beacon_id: str | None
    exists: bool
    count: int | None
    granularity: str
    datasets: tuple[DatasetAnswer, ...] = field(default_factory=tuple)


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def read_beacon_answer(document: object) -> BeaconAnswer:
    """The summary of a Beacon v2 boolean, count or resultsets response; ``ValueError`` if it is none.

    >>> read_beacon_answer({"meta": {"beaconId": "org.x", "returnedGranularity": "count"},
    ...                     "responseSummary": {"exists": True, "numTotalResults": 7}}).count
    7
    """
    if not isinstance(document, dict):
        raise ValueError("the answer is not a JSON object")
    meta, summary = document.get("meta"), document.get("responseSummary")
    if not isinstance(meta, dict) or not isinstance(summary, dict) or not isinstance(summary.get("exists"), bool):
        raise ValueError("the answer has no Beacon meta and responseSummary.exists")
    granularity = meta.get("returnedGranularity")
    if granularity not in ("boolean", "count", "record"):
        raise ValueError(f"unknown returnedGranularity {granularity!r}")
    count = _count(summary.get("numTotalResults")) if granularity != "boolean" else None
    datasets: list[DatasetAnswer] = []
    response = document.get("response")
    result_sets = response.get("resultSets") if isinstance(response, dict) else None
    for result_set in result_sets if isinstance(result_sets, list) else []:
        if isinstance(result_set, dict) and isinstance(result_set.get("exists"), bool):
            datasets.append(DatasetAnswer(id=str(result_set.get("id", ""))[:128], exists=result_set["exists"],
                                          count=None if granularity == "boolean"
                                          else _count(result_set.get("resultsCount"))))
    beacon_id = meta.get("beaconId")
    return BeaconAnswer(beacon_id=str(beacon_id)[:256] if beacon_id is not None else None, exists=summary["exists"],
                        count=count, granularity=str(granularity), datasets=tuple(datasets))


def answer_of(node: str, country: str, url: str, beacon: BeaconAnswer, latency_ms: float, *,
              local: bool = False) -> NodeAnswer:
    return NodeAnswer(node=node, country=country, url=url, status=Status.OK, latency_ms=latency_ms, local=local,
                      beacon_id=beacon.beacon_id, exists=beacon.exists, count=beacon.count,
                      granularity=beacon.granularity, datasets=beacon.datasets)


@dataclass(frozen=True)
class _Target:
    peer: Peer
    audience: str   # the peer's key id, signed into each request; "" when its key is unknown
    base_path: str  # the path part of the peer's URL, e.g. "/beacon" behind a reverse proxy


class FederationClient:
    """Asks this node's peers; one per served node (see :func:`genomed.share.federation.router`)."""

    def __init__(self, signer: RequestSigner, peers: Sequence[Peer], *,
                 client: httpx.AsyncClient | None = None) -> None:
        self.signer = signer
        self.targets = [_Target(p, verify_key_id(parse_verify_key(p.public_key, p.name)) if p.public_key else "",
                                urlsplit(p.url).path.rstrip("/")) for p in peers]
        # Keep-alive connections to every peer; the per-peer deadline is enforced around each request.
        self.client = client or httpx.AsyncClient(
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32, keepalive_expiry=60),
            timeout=httpx.Timeout(30.0), follow_redirects=False)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def ask_peer(self, target: _Target, path: str, body: bytes, timeout: float) -> NodeAnswer:
        """One peer's answer to ``POST <url><path>``, or why there is none; never raises for the peer's faults."""
        peer = target.peer
        request = self.client.build_request("POST", peer.url.rstrip("/") + path, content=body,
                                            headers={"content-type": "application/json", "accept": "application/json"})
        request.headers.update(self.signer.headers(method="POST", path=request.url.path,
                                                   query=request.url.query.decode(), body=body,
                                                   audience=target.audience))
        started = time.perf_counter()

        def failed(status: Status, detail: str) -> NodeAnswer:
            return NodeAnswer(node=peer.name, country=peer.country, url=peer.url, status=status,
                              latency_ms=1000 * (time.perf_counter() - started), detail=detail)

        try:
            async with asyncio.timeout(timeout):
                response = await self.client.send(request)
                content = await response.aread()
        except TimeoutError:
            return failed(Status.TIMEOUT, f"no answer within {timeout:g} s")
        except httpx.TimeoutException as exc:
            return failed(Status.TIMEOUT, type(exc).__name__)
        except httpx.TransportError as exc:
            return failed(Status.UNREACHABLE, f"{type(exc).__name__}: {exc}"[:200])
        latency_ms = 1000 * (time.perf_counter() - started)
        if response.status_code != 200:
            return failed(Status.BAD_RESPONSE, f"HTTP {response.status_code}")
        if len(content) > MAX_ANSWER_BYTES:
            return failed(Status.BAD_RESPONSE, f"answer larger than {MAX_ANSWER_BYTES} bytes")
        try:
            beacon = read_beacon_answer(json.loads(content))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            return failed(Status.BAD_RESPONSE, str(exc)[:200])
        return answer_of(peer.name, peer.country, peer.url, beacon, latency_ms)

    async def ask_all(self, path: str, payload: Mapping[str, Any], *, timeout: float = DEFAULT_TIMEOUT_SECONDS,
                      local: Callable[[], Awaitable[NodeAnswer]] | None = None) -> list[NodeAnswer]:
        """Every peer's answer to ``payload`` at ``path`` (and the local node's, first, when given), concurrently.

        Each peer has ``timeout`` seconds from the moment the query starts; the local answer is
        awaited without a deadline (it is this node's own work).
        """
        body = json.dumps(payload, separators=(",", ":")).encode()
        started = time.perf_counter()
        tasks: list[Awaitable[NodeAnswer]] = [self.ask_peer(t, path, body, timeout) for t in self.targets]
        if local is not None:
            tasks.insert(0, _timed_local(local, started))
        return list(await asyncio.gather(*tasks))


async def _timed_local(local: Callable[[], Awaitable[NodeAnswer]], started: float) -> NodeAnswer:
    answer = await local()
    return replace(answer, latency_ms=1000 * (time.perf_counter() - started), local=True)
