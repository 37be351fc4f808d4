"""``/federated/g_variants``: a Beacon v2 variant query answered by this node and all its peers.

``GET /federated/g_variants?referenceName=1&start=1000099&referenceBases=A&alternateBases=G`` or
``POST /federated/g_variants`` with a ``beaconRequestBody``, exactly as ``/g_variants`` takes them;
``?timeout=S`` (query string, both methods) sets the per-peer deadline in seconds (default
:data:`~genomed.share.federation.fanout.DEFAULT_TIMEOUT_SECONDS`). The answer is a Beacon v2
resultsets response with one result set per node (see :mod:`.merge`); failures are
``beaconErrorResponse`` documents (400 malformed query, 429 budget spent) and no peer is asked then.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from genomed.errors import InputError, NotFoundError
from genomed.share.beacon.ledger import Entry
from genomed.share.beacon.model import VARIANTS
from genomed.share.beacon.requests import MAX_BODY_BYTES, BeaconRequest, OversizedRequestError, from_body, from_query
from genomed.share.beacon.router import BeaconRoute, error, status_of
from genomed.share.beacon.service import BeaconService
from genomed.share.beacon.variants import GET_ALIASES, PARAMETERS
from genomed.share.federation.query import AUDIT_ACTION, bounded_timeout, close_client, federated_variants
from genomed.share.node import SharingNode

TIMEOUT_PARAMETER = "timeout"


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Close the pooled connections to the peers when the node stops serving."""
    try:
        yield
    finally:
        node = app.state.sharing
        if isinstance(node, SharingNode):
            await close_client(node)


router = APIRouter(route_class=BeaconRoute, lifespan=_lifespan, tags=["Federation"])


def _timeout(request: Request) -> float:
    values = request.query_params.getlist(TIMEOUT_PARAMETER)
    if not values:
        return bounded_timeout(None)
    try:
        seconds = float(values[-1])
    except ValueError as exc:
        raise InputError(f"timeout must be a number of seconds, got {values[-1][:40]!r}") from exc
    if not math.isfinite(seconds) or seconds <= 0:
        raise InputError("timeout must be a positive number of seconds")
    return bounded_timeout(seconds)


async def _read(request: Request) -> BeaconRequest:
    if request.method == "GET":
        items = [(k, v) for k, v in request.query_params.multi_items() if k != TIMEOUT_PARAMETER]
        return from_query(items, PARAMETERS, GET_ALIASES)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise OversizedRequestError(f"the request body is larger than {MAX_BODY_BYTES} bytes")
    return from_body(await request.body(), PARAMETERS)


async def federated_g_variants(request: Request) -> Response:
    """Ask this node and every peer; merge their answers with each node's provenance."""
    node = request.app.state.sharing
    requester = await node.requester(request)
    beacon_request: BeaconRequest | None = None
    try:
        timeout = _timeout(request)
        beacon_request = await _read(request)
        body = await federated_variants(node, requester, beacon_request, timeout=timeout)
    except (InputError, NotFoundError) as exc:
        status = status_of(exc)
        await BeaconService.of(node).ledger.record(Entry(
            requester, AUDIT_ACTION, VARIANTS.path, "federated/g_variants", outcome="failed", charge=False,
            details={"status": status, "error": str(exc)[:300]}))
        return error(request, status, str(exc), beacon_request)
    return JSONResponse(body)


for _method in ("GET", "POST"):
    router.add_api_route("/federated/g_variants", federated_g_variants, methods=[_method],
                         summary="A variant query answered by every node of the federation",
                         name=f"federated_g_variants_{_method.lower()}")
