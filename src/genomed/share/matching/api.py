"""``POST /match``: the Matchmaker Exchange search endpoint of a node.

Checks, in this order, each answered with the status the MME search API assigns and a JSON body
with a ``message``:

1. ``X-Auth-Token`` must be the token one of our peers was given (``sharing.toml`` keeps only its
   SHA-256): else **401**, whatever else is wrong and before its body is read, so an unknown caller
   learns nothing and costs little;
2. ``Content-Type`` must be an MME media type (**415**) of a version we speak (**406**, with our
   newest version in the response's ``Content-Type`` and ``supportedVersions`` in the body);
   ``Accept`` must allow one (**406**); see :mod:`.media`;
3. the body must be JSON (**400**) holding a ``patient`` object (**422**: the request body is
   missing or is not a match request), and that patient must be a valid MME patient (**400**,
   naming the fields); a body over 1 MiB is **413** (not read further);
4. the answer: the best matches among the cases matchable *now* (consent read at query time),
   in the negotiated version's media type.

Every request, answered or refused, is audited through :meth:`SharingNode.audit` with the peer
(or the anonymous address) it came from. Other methods on ``/match`` get **405**.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from genomed.share.identity import Requester, Tier
from genomed.share.matching.documents import MmeDocumentError, parse_patient
from genomed.share.matching.media import LATEST, NotAcceptable, UnsupportedMediaType, negotiate, supported_versions
from genomed.share.matching.search import CaseIndex, SearchSettings, search
from genomed.share.node import SharingNode
from genomed.share.settings import Peer

EXTENSION = "matching"
ACTION = "mme.match"
MAX_BODY_BYTES = 1 << 20
"""Largest request body read (an MME patient is a few kB): bounds what one peer can make us parse and score."""
TOKEN_HEADER = "x-auth-token"  # noqa: S105 - a header name, not a secret
LOG = logging.getLogger(__name__)


class MatchingState:
    """What the endpoint keeps between requests: prepared cases and the answer settings."""

    def __init__(self, index: CaseIndex | None = None, settings: SearchSettings | None = None) -> None:
        self.index = index or CaseIndex()
        self.settings = settings or SearchSettings()


_STATE_LOCK = threading.Lock()


def matching_state(node: SharingNode) -> MatchingState:
    """The node's matching state, created once (the HPO and MANE set-up takes a few seconds)."""
    with _STATE_LOCK:
        state = node.extensions.get(EXTENSION)
        if not isinstance(state, MatchingState):
            state = MatchingState()
            node.extensions[EXTENSION] = state
        return state


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Set up the scoring before the server takes requests, so that no peer's first query waits for it."""
    node = app.state.sharing
    if isinstance(node, SharingNode):
        await run_in_threadpool(matching_state, node)
    yield


router = APIRouter(tags=["Matchmaker Exchange"], lifespan=_lifespan)


def peer_for_token(node: SharingNode, token: str | None) -> Peer | None:
    """The peer whose MME token this is; None for a missing or unknown token."""
    if not token:
        return None
    return next((peer for peer in node.settings.peers if peer.accepts_token(token)), None)


def peer_requester(peer: Peer) -> Requester:
    return Requester(identity=f"node:{peer.name}", tier=Tier.REGISTERED, country=peer.country)


def _error(status: int, message: str, media_type: str = "application/json", **extra: Any) -> JSONResponse:
    return JSONResponse({"message": message, **extra}, status_code=status, media_type=media_type)


def _audit(node: SharingNode, requester: Requester, outcome: str, object_id: str, **details: str | int) -> None:
    with node.ctx.transaction() as session:
        node.audit(session, requester, action=ACTION, object_type="match_query", object_id=object_id or "-",
                   outcome=outcome, details=details)


def answer(node: SharingNode, headers: Mapping[str, str], address: str, body: bytes) -> Response:
    """The whole answer to one ``POST /match`` (synchronous: run in a worker thread)."""
    headers = {name.lower(): value for name, value in headers.items()}
    peer = peer_for_token(node, headers.get(TOKEN_HEADER))
    if peer is None:
        reason = "missing X-Auth-Token" if not headers.get(TOKEN_HEADER) else "unknown X-Auth-Token"
        _audit(node, Requester.anonymous(address), "denied", "-", reason=reason)
        return _error(401, f"not authorised: {reason}")
    requester = peer_requester(peer)
    try:
        version = negotiate(headers.get("content-type"), headers.get("accept"))
    except UnsupportedMediaType as exc:
        _audit(node, requester, "failed", "-", peer=peer.name, status=415, reason=str(exc))
        return _error(415, str(exc))
    except NotAcceptable as exc:
        _audit(node, requester, "failed", "-", peer=peer.name, status=406, reason=str(exc))
        return _error(406, str(exc), LATEST.media_type, supportedVersions=supported_versions())
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        _audit(node, requester, "failed", "-", peer=peer.name, status=400, reason="malformed JSON")
        return _error(400, f"malformed JSON: {exc}")
    if not isinstance(document, dict) or not isinstance(document.get("patient"), dict):
        _audit(node, requester, "failed", "-", peer=peer.name, status=422, reason="no patient object")
        return _error(422, "the request body must be a JSON object with a 'patient' object (MME search request)")
    try:
        query = parse_patient(document["patient"])
    except MmeDocumentError as exc:
        query_id = document["patient"].get("id")
        _audit(node, requester, "failed", str(query_id) if isinstance(query_id, str) else "-", peer=peer.name,
               status=400, reason=str(exc)[:500])
        return _error(400, str(exc), fields=list(exc.fields))
    state = matching_state(node)
    with node.ctx.transaction() as session:
        matches = search(session, state.index, query, state.settings)
        node.audit(session, requester, action=ACTION, object_type="match_query", object_id=query.id,
                   details={"peer": peer.name, "version": str(version), "results": len(matches),
                            "cases": ",".join(m.key for m in matches)[:500], "test": int(query.test)})
    return JSONResponse({"results": [m.to_json() for m in matches]}, media_type=version.media_type)


async def _body(request: Request, limit: int) -> bytes | None:
    """The request body, or None as soon as it grows past ``limit`` bytes (read no further)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/match", summary="Find patients like this one (MME search API)")
async def match(request: Request) -> Response:
    node: SharingNode = request.app.state.sharing
    address = request.client.host if request.client is not None else "unknown"
    peer = peer_for_token(node, request.headers.get(TOKEN_HEADER))
    if peer is None:  # refused before its body is read: an unknown caller costs us nothing more
        return await run_in_threadpool(answer, node, request.headers, address, b"")
    body = await _body(request, MAX_BODY_BYTES)
    if body is None:
        await run_in_threadpool(_audit, node, peer_requester(peer), "failed", "-", peer=peer.name, status=413,
                                reason=f"body over {MAX_BODY_BYTES} bytes")
        return _error(413, f"request body over {MAX_BODY_BYTES} bytes: an MME patient is a few kilobytes")
    try:
        return await run_in_threadpool(answer, node, request.headers, address, body)
    except Exception:  # the spec's 500, as JSON with a message; the cause goes to our log, not to the peer
        LOG.exception("match request from peer %s failed", peer.name)
        return _error(500, "the matchmaker failed to answer; the failure is logged")


@router.api_route("/match", methods=["GET", "PUT", "PATCH", "DELETE"], include_in_schema=False)
async def wrong_method(request: Request) -> Response:
    node: SharingNode = request.app.state.sharing
    address = request.client.host if request.client is not None else "unknown"
    peer = peer_for_token(node, request.headers.get(TOKEN_HEADER))
    requester = peer_requester(peer) if peer is not None else Requester.anonymous(address)
    await run_in_threadpool(_audit, node, requester, "failed", "-", status=405, method=request.method)
    response = _error(405, f"{request.method} is not allowed on /match: POST a match request")
    response.headers["Allow"] = "POST"
    return response


__all__ = ["ACTION", "MatchingState", "answer", "matching_state", "peer_for_token", "router"]
