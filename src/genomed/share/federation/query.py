"""A federated variant query: this node's own Beacon answer, and every peer's, merged.

The requester is resolved at the node they ask, and that node answers them under its own privacy
guard: their query is charged to their budget and audited here like any Beacon query, *before* any
peer is asked, so that a requester cannot spend this node's standing with its peers beyond their
own budget. Peers are then asked as ``node:<this node>`` (a signed request, the registered tier),
each under its own guard and consent rules; what they return is counts at most, whatever the
requester holds here (federation never moves records or genotypes). The federated answer and which
peers failed are audited as ``federation.query`` before it is sent.

Granularity: ``count`` unless the request asks for ``boolean``; ``record`` is answered as ``count``.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from starlette.concurrency import run_in_threadpool

from genomed.audit.trail import DetailValue
from genomed.share.beacon.granularity import lower
from genomed.share.beacon.ledger import Entry
from genomed.share.beacon.model import API_VERSION, VARIANTS
from genomed.share.beacon.requests import BeaconRequest, summary
from genomed.share.beacon.service import BeaconService, Target
from genomed.share.federation.fanout import (
    DEFAULT_TIMEOUT_SECONDS,
    FederationClient,
    NodeAnswer,
    Status,
    answer_of,
    read_beacon_answer,
)
from genomed.share.federation.merge import merged_response
from genomed.share.federation.signing import RequestSigner
from genomed.share.identity import Requester
from genomed.share.node import SharingNode

EXTENSION = "genomed.share.federation"
AUDIT_ACTION = "federation.query"
PEER_PATH = "/g_variants"
MIN_TIMEOUT_SECONDS = 0.05
MAX_TIMEOUT_SECONDS = 30.0


def client_of(node: SharingNode) -> FederationClient:
    """The node's federation client, created on first use (inside the serving event loop) and kept."""
    client = node.extensions.get(EXTENSION)
    if not isinstance(client, FederationClient):
        client = FederationClient(RequestSigner(node.ctx.keys.signing_key), node.settings.peers)
        node.extensions[EXTENSION] = client
    return client


async def close_client(node: SharingNode) -> None:
    client = node.extensions.pop(EXTENSION, None)
    if isinstance(client, FederationClient):
        await client.aclose()


def bounded_timeout(value: float | None) -> float:
    """The per-peer deadline asked for, kept within [MIN_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS]."""
    if value is None:
        return DEFAULT_TIMEOUT_SECONDS
    return min(max(value, MIN_TIMEOUT_SECONDS), MAX_TIMEOUT_SECONDS)


def federated_granularity(request: BeaconRequest) -> str:
    """``count`` unless the requester asked for less."""
    return lower(request.granularity, "count") if request.granularity_given else "count"


def peer_request_body(request: BeaconRequest, granularity: str) -> dict[str, Any]:
    """The ``beaconRequestBody`` each peer's ``POST /g_variants`` receives."""
    query: dict[str, Any] = {"requestParameters": dict(request.parameters), "requestedGranularity": granularity}
    if request.filters:
        query["filters"] = [f.as_request() for f in request.filters]
    if request.test_mode:
        query["testMode"] = True
    return {"meta": {"apiVersion": API_VERSION}, "query": query}


async def _local_answer(node: SharingNode, requester: Requester, request: BeaconRequest) -> tuple[NodeAnswer, str]:
    """This node's Beacon answer, computed in process, charged to the requester and audited as a Beacon query."""
    service = BeaconService.of(node)
    target = Target(VARIANTS)
    started = time.perf_counter()
    query = service.variant_query(target, request)  # an InputError here refuses the whole query
    if query.exact and not request.filters:
        answer = service.answer(target, request, requester, query)  # in-memory lookups only
    else:
        answer = await run_in_threadpool(service.answer, target, request, requester, query)
    await service.ledger.record(Entry(requester, "beacon.query", VARIANTS.path, answer.object_id[:128],
                                      details={**answer.details, "via": "federated"}, charge=answer.charge,
                                      release=answer.release))
    beacon = read_beacon_answer(answer.body if query.exact and not request.filters
                                else await run_in_threadpool(lambda: answer.body))
    settings = node.settings.beacon
    return answer_of(node.ctx.config.node_name, node.ctx.config.country, settings.public_url, beacon,
                     1000 * (time.perf_counter() - started), local=True), answer.object_id[:128]


async def federated_variants(node: SharingNode, requester: Requester, request: BeaconRequest, *,
                             timeout: float = DEFAULT_TIMEOUT_SECONDS,
                             client: FederationClient | None = None) -> dict[str, Any]:
    """The merged answer of this node and its peers (see :mod:`.merge` for its shape).

    Raises :class:`~genomed.errors.InputError` for a query the Beacon refuses and
    :class:`~genomed.errors.BudgetExhaustedError` when the requester's budget here is spent; in
    both cases no peer is asked.
    """
    started = time.perf_counter()
    granularity = federated_granularity(request)
    asked = dataclasses.replace(request, granularity=granularity, granularity_given=True)
    local, object_id = await _local_answer(node, requester, asked)
    peers = await (client or client_of(node)).ask_all(PEER_PATH, peer_request_body(asked, granularity),
                                                      timeout=timeout)
    answers = [local, *peers]
    elapsed_ms = 1000 * (time.perf_counter() - started)
    body = merged_response(answers, beacon_id=node.settings.beacon.id, request_summary=summary(asked),
                           timeout=timeout, elapsed_ms=elapsed_ms)
    details: dict[str, DetailValue] = {
        "granularity": granularity, "exists": body["responseSummary"]["exists"],
        "answered": ",".join(a.node for a in answers if a.status is Status.OK)[:500],
        "unreachable": ",".join(f"{a.node}:{a.status.value}" for a in answers if a.status is not Status.OK)[:500],
    }
    await BeaconService.of(node).ledger.record(Entry(requester, AUDIT_ACTION, VARIANTS.path,
                                                     object_id, details=details, charge=False))
    return body
