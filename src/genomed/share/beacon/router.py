"""The Beacon v2 HTTP endpoints of a node: framework, entry types, records and lookups.

Paths follow the default model's ``endpoints.json``: ``/``, ``/info``, ``/service-info``,
``/configuration``, ``/map``, ``/entry_types``, ``/filtering_terms``; for each entry type
``/{type}``, ``/{type}/{id}`` and the lookups ``/{type}/{id}/{other}`` it lists; GET with query
parameters and POST with a ``beaconRequestBody``.

Every failure is a ``beaconErrorResponse`` with the HTTP status it names: 400 for a malformed
request, an unknown parameter or filter, 404 for an unknown collection or path under an entry
type, 405 for another method, 413 for an oversized body, 429 for a spent budget, 403 for a
refusal, 503 when the database is unavailable; the route class turns any exception left into one
too, so no client ever sees a bare framework error from these paths. Every entry answer, error
or refusal included, is audited before it is sent (:mod:`.ledger`).
"""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from genomed.errors import (
    AccessDeniedError,
    BudgetExhaustedError,
    ConfigurationError,
    ConsentError,
    GenomedError,
    InputError,
    NotFoundError,
)
from genomed.share.beacon import openapi, responses
from genomed.share.beacon.ledger import Entry
from genomed.share.beacon.model import ENTRY_TYPES, VARIANTS, EntryType, entry_by_path
from genomed.share.beacon.requests import MAX_BODY_BYTES, BeaconRequest, OversizedRequestError, from_body, from_query
from genomed.share.beacon.service import BeaconService, Target
from genomed.share.beacon.variants import GET_ALIASES, PARAMETERS
from genomed.share.identity import Requester
from genomed.share.node import SharingNode

LOG = logging.getLogger(__name__)
AUDIT_ACTION = "beacon.query"
OTHER_METHODS = ["PUT", "DELETE", "PATCH"]
SWITCH_INTERVAL_SECONDS = 0.0005


def status_of(exc: BaseException) -> int:
    """The HTTP status a failure is answered with."""
    if isinstance(exc, OversizedRequestError):
        return 413
    if isinstance(exc, InputError | RequestValidationError):
        return 400
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, BudgetExhaustedError):
        return 429
    if isinstance(exc, AccessDeniedError | ConsentError):
        return 403
    if isinstance(exc, ConfigurationError):
        return 503
    if isinstance(exc, GenomedError):
        return 400
    return 500


def _node(request: Request) -> SharingNode:
    node = request.app.state.sharing
    if not isinstance(node, SharingNode):
        raise ConfigurationError("the application serves no node (app.state.sharing is not set)")
    return node


def _service(request: Request) -> BeaconService:
    return BeaconService.of(_node(request))


def error(request: Request, status: int, message: str, beacon_request: BeaconRequest | None = None) -> JSONResponse:
    """A ``beaconErrorResponse``."""
    beacon = _node(request).settings.beacon
    return JSONResponse(responses.error_response(beacon, status, message, beacon_request), status_code=status)


class BeaconRoute(APIRoute):
    """A route whose every failure becomes a Beacon error response (the app's handlers are not ours to set)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def beacon_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                problems = "; ".join(f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg')}" for e in exc.errors())
                return error(request, 400, f"malformed request: {problems}"[:1000])
            except GenomedError as exc:
                return error(request, status_of(exc), str(exc))
            except Exception:
                LOG.exception("beacon endpoint %s failed", request.url.path)
                return error(request, 500, "the beacon failed to answer; the failure is logged")

        return beacon_handler


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Build the indexes before the first request, and write the ledger out at shutdown."""
    node = app.state.sharing
    service = BeaconService.of(node) if isinstance(node, SharingNode) else None
    # The ledger thread holds the GIL while it hashes a group of entries, and each time the event
    # loop lets go of it (a socket write, a stat) the loop then waits up to the switch interval to
    # get it back: 5 ms by default, a tenth of a Beacon answer's latency budget.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, SWITCH_INTERVAL_SECONDS))
    if service is not None:
        await run_in_threadpool(service.warm)
    try:
        yield
    finally:
        if service is not None:
            await run_in_threadpool(service.close)
        gc.unfreeze()
        sys.setswitchinterval(interval)


RecordId = Annotated[str, Path(description="The id of a record or collection")]
router = APIRouter(route_class=BeaconRoute, lifespan=_lifespan, tags=["Beacon v2"])


async def _read(request: Request, entry: EntryType | None) -> BeaconRequest:
    parameters = PARAMETERS if entry is VARIANTS else ()
    if request.method == "GET":
        return from_query(request.query_params.multi_items(), parameters,
                          GET_ALIASES if entry is VARIANTS else None)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise OversizedRequestError(f"the request body is larger than {MAX_BODY_BYTES} bytes")
    return from_body(await request.body(), parameters)


async def _audit_failure(service: BeaconService, requester: Requester, target: Target, status: int,
                         message: str) -> None:
    await service.ledger.record(Entry(requester, AUDIT_ACTION, target.entry.path, target.describe()[:128],
                                      outcome="failed", charge=False,
                                      details={"endpoint": target.describe()[:200], "status": status,
                                               "error": message[:300]}))


async def _answer(request: Request, target: Target) -> Response:
    """Read, answer, charge and audit one entry request."""
    node = _node(request)
    service = BeaconService.of(node)
    if not service.settled:
        service.settle()
    requester = await node.requester(request)
    beacon_request: BeaconRequest | None = None
    try:
        beacon_request = await _read(request, target.entry)
        query = service.variant_query(target, beacon_request) if target.entry is VARIANTS else None
        in_memory = query is not None and query.exact and beacon_request.granularity != "record" \
            and not beacon_request.filters
        if in_memory:
            answer = service.answer(target, beacon_request, requester, query)  # in-memory lookups only
        else:
            answer = await run_in_threadpool(service.answer, target, beacon_request, requester, query)
    except (InputError, NotFoundError) as exc:
        status = status_of(exc)
        await _audit_failure(service, requester, target, status, str(exc))
        return error(request, status, str(exc), beacon_request)
    try:  # the ledger writer draws the guarded answer (donor ledger) in the transaction of its audit entry
        await service.ledger.record(Entry(requester, AUDIT_ACTION, target.entry.path, answer.object_id[:128],
                                          details=answer.details, charge=answer.charge, release=answer.release))
    except BudgetExhaustedError as exc:
        return error(request, 429, str(exc), beacon_request)
    body = answer.body if in_memory else await run_in_threadpool(lambda: answer.body)  # records read the catalog
    if requester.identity.startswith("anonymous:") and request.headers.get("authorization"):
        info = body.setdefault("info", {})
        info.setdefault("warnings", []).append(
            "the Authorization token was not accepted; the request was answered at the public tier")
    return JSONResponse(body)


async def _filtering_terms(request: Request, entry: EntryType | None, dataset: Target | None) -> Response:
    node = _node(request)
    service = BeaconService.of(node)
    requester = await node.requester(request)
    await _read(request, None)
    target = dataset or Target(entry or VARIANTS)
    dataset_id: str | None = None
    if dataset is not None:
        index = (await run_in_threadpool(service.documents)).index
        if dataset.entry.path == "datasets":
            dataset_id = str(dataset.record_id)
            if dataset_id not in index.dataset_assembly and dataset_id != service.dataset_id:
                raise NotFoundError(f"no dataset {dataset_id!r} in this beacon")
        else:
            rows = index.entries["cohort"].ids.get(str(dataset.record_id), [])
            if not rows:
                raise NotFoundError(f"no cohort {dataset.record_id!r} in this beacon")
            dataset_id = index.entries["cohort"].datasets[rows[0]]
    body = await run_in_threadpool(service.filtering_terms, requester, entry, dataset_id)
    await service.ledger.record(Entry(requester, "beacon.filtering_terms", "filtering_terms",
                                      target.describe()[:128], charge=False,
                                      details={"terms": len(body["response"]["filteringTerms"])}))
    return JSONResponse(body)


# -- framework endpoints ----------------------------------------------------------------------------------

def _informational(build: Callable[[BeaconService], dict[str, Any]]) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return JSONResponse(build(_service(request)))
    return endpoint


def _wrap(beacon: BeaconService, key: str, response: dict[str, Any]) -> dict[str, Any]:
    return {"meta": responses.informational_meta(beacon.beacon, [{"entityType": key, "schema": f"beacon-{key}"}]),
            "response": response}


_FRAMEWORK: list[tuple[str, str, Callable[[BeaconService], dict[str, Any]]]] = [
    ("/", "Information about the beacon", lambda s: s.info()),
    ("/info", "Information about the beacon", lambda s: s.info()),
    ("/service-info", "GA4GH service-info", lambda s: responses.service_info(s.beacon)),
    ("/configuration", "The beacon's configuration",
     lambda s: _wrap(s, "configuration", responses.configuration(s.beacon))),
    ("/map", "Where the beacon serves what", lambda s: _wrap(s, "map", responses.beacon_map(s.beacon))),
    ("/entry_types", "The entry types the beacon serves",
     lambda s: _wrap(s, "entryType", responses.entry_types())),
]
for _path, _summary, _build in _FRAMEWORK:
    router.add_api_route(_path, _informational(_build), methods=["GET"], summary=_summary,
                         name=f"beacon{_path.replace('/', '_').replace('-', '_') or '_root'}")


def _parameters(entry: EntryType | None) -> dict[str, Any]:
    parameters = list(openapi.COMMON) + (list(openapi.VARIANT) if entry is VARIANTS else [])
    return {"parameters": parameters}


async def _all_filtering_terms(request: Request) -> Response:
    return await _filtering_terms(request, None, None)


async def _individual_filtering_terms(request: Request) -> Response:
    return await _filtering_terms(request, entry_by_path("individuals"), None)


def _collection_filtering_terms(entry: EntryType) -> Callable[..., Awaitable[Response]]:
    async def endpoint(request: Request, id: RecordId) -> Response:
        return await _filtering_terms(request, None, Target(entry, record_id=id))
    return endpoint


for _methods, _extra in ((["GET"], {}), (["POST"], openapi.request_body(False))):
    router.add_api_route("/filtering_terms", _all_filtering_terms, methods=_methods, openapi_extra=_extra or None,
                         summary="Every term the beacon can filter on", name=f"beacon_filtering_terms_{_methods[0]}")
    router.add_api_route("/individuals/filtering_terms", _individual_filtering_terms, methods=_methods,
                         openapi_extra=_extra or None, summary="Terms individuals can be filtered on",
                         name=f"beacon_individual_filtering_terms_{_methods[0]}")
    for _collection in ("datasets", "cohorts"):
        router.add_api_route(f"/{_collection}/{{id}}/filtering_terms",
                             _collection_filtering_terms(entry_by_path(_collection)), methods=_methods,
                             openapi_extra=_extra or None, summary=f"Terms the {_collection[:-1]}'s records carry",
                             name=f"beacon_{_collection}_filtering_terms_{_methods[0]}")


# -- entry types ----------------------------------------------------------------------------------------

def _entries(entry: EntryType) -> Callable[..., Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return await _answer(request, Target(entry))
    return endpoint


def _record(entry: EntryType) -> Callable[..., Awaitable[Response]]:
    async def endpoint(request: Request, id: RecordId) -> Response:
        return await _answer(request, Target(entry, record_id=id))
    return endpoint


def _lookup(source: EntryType, entry: EntryType) -> Callable[..., Awaitable[Response]]:
    async def endpoint(request: Request, id: RecordId) -> Response:
        return await _answer(request, Target(entry, source=source, source_id=id))
    return endpoint


async def _not_allowed(request: Request) -> Response:
    return error(request, 405, f"{request.method} is not allowed here; Beacon endpoints answer GET and POST")


async def _no_such_path(request: Request) -> Response:
    return error(request, 404, f"no Beacon endpoint at {request.url.path}; see /map")


for _entry in ENTRY_TYPES:
    for _methods, _extra in ((["GET"], _parameters(_entry)),
                             (["POST"], openapi.request_body(_entry is VARIANTS and not _entry.is_collection))):
        _verb = _methods[0].lower()
        router.add_api_route(f"/{_entry.path}", _entries(_entry), methods=_methods, openapi_extra=_extra,
                             responses=openapi.ERROR_RESPONSES, summary=f"Query {_entry.name.lower()}",
                             name=f"beacon_{_entry.path}_{_verb}")
        router.add_api_route(f"/{_entry.path}/{{id}}", _record(_entry), methods=_methods, openapi_extra=_extra,
                             responses=openapi.ERROR_RESPONSES, summary=f"One {_entry.id}",
                             name=f"beacon_{_entry.path}_record_{_verb}")
        for _lookup_path in _entry.lookups:
            _target = entry_by_path(_lookup_path)
            _lookup_extra = _parameters(_target) if _verb == "get" else openapi.request_body(_target is VARIANTS)
            router.add_api_route(f"/{_entry.path}/{{id}}/{_lookup_path}", _lookup(_entry, _target), methods=_methods,
                                 openapi_extra=_lookup_extra, responses=openapi.ERROR_RESPONSES,
                                 summary=f"The {_target.name.lower()} of one {_entry.id}",
                                 name=f"beacon_{_entry.path}_{_lookup_path}_{_verb}")
for _entry in ENTRY_TYPES:
    for _path in (f"/{_entry.path}", f"/{_entry.path}/{{id}}",
                  *(f"/{_entry.path}/{{id}}/{lookup}" for lookup in _entry.lookups)):
        router.add_api_route(_path, _not_allowed, methods=OTHER_METHODS, include_in_schema=False,
                             name=f"beacon_not_allowed{_path}")
    router.add_api_route(f"/{_entry.path}/{{id}}/{{rest:path}}", _no_such_path, methods=["GET", "POST"],
                         include_in_schema=False, name=f"beacon_no_such_path_{_entry.path}")
for _framework_path, _summary, _build in _FRAMEWORK:
    router.add_api_route(_framework_path, _not_allowed, methods=["POST", *OTHER_METHODS], include_in_schema=False,
                         name=f"beacon_not_allowed{_framework_path}")
# The allele query is the hot path, and Starlette tries routes in order: it goes first.
router.routes.sort(key=lambda route: getattr(route, "path", "") != "/g_variants")
