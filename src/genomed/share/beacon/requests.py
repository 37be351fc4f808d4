"""Reading a Beacon request, GET or POST, into one :class:`BeaconRequest`.

A GET request carries everything as query parameters (``filters`` comma-separated, ``start``
possibly ``123,456``); a POST request carries a ``beaconRequestBody`` (``meta`` and ``query``
with ``requestParameters``, ``filters``, ``pagination``, ``requestedGranularity``...). Both end up
in the same structure, so that the answer never depends on the method.

Anything the beacon does not understand is an error naming it (an unknown parameter, a malformed
body, a value of the wrong type), never silently ignored: a client that misspells ``referenceName``
must not get an answer to a different question. Pagination is capped at :data:`MAX_LIMIT`
records per page; a body larger than :data:`MAX_BODY_BYTES` is refused before it is parsed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from genomed.errors import InputError
from genomed.share.beacon.filters import Filter, parse_filters
from genomed.share.beacon.model import API_VERSION, GRANULARITIES

MAX_LIMIT = 100
DEFAULT_LIMIT = 10
MAX_SKIP = 1_000_000
MAX_BODY_BYTES = 64 * 1024
MAX_PARAMETER_LENGTH = 2000
INCLUDES = ("ALL", "HIT", "MISS", "NONE")
# Query parameters every entry type's GET endpoint takes (framework endpoints.json components).
COMMON_PARAMETERS = ("requestedSchema", "skip", "limit", "includeResultsetResponses", "filters",
                     "requestedGranularity", "testMode")
# Parameters that may be repeated in a GET query (their values are joined as a list).
_LIST_PARAMETERS = ("start", "end", "filters")


class OversizedRequestError(InputError):
    """A request body larger than the beacon reads (HTTP 413)."""


@dataclass(frozen=True)
class BeaconRequest:
    """What a client asked, whichever the method."""

    granularity: str = "boolean"
    skip: int = 0
    limit: int = DEFAULT_LIMIT
    include: str = "HIT"
    filters: tuple[Filter, ...] = ()
    parameters: dict[str, object] = field(default_factory=dict)
    test_mode: bool = False
    api_version: str = API_VERSION
    requested_schemas: tuple[dict[str, str], ...] = ()
    granularity_given: bool = False

    @property
    def offset(self) -> int:
        """Records to skip: Beacon's ``skip`` counts pages of ``limit`` records."""
        return self.skip * self.limit


def _granularity(value: object) -> str:
    if value not in GRANULARITIES:
        raise InputError(f"requestedGranularity must be one of {', '.join(GRANULARITIES)}, got {str(value)[:40]!r}")
    return str(value)


def _include(value: object) -> str:
    if not isinstance(value, str) or value.upper() not in INCLUDES:
        raise InputError(f"includeResultsetResponses must be one of {', '.join(INCLUDES)}")
    return value.upper()


def _count(value: object, name: str, maximum: int) -> int:
    if isinstance(value, bool):
        raise InputError(f"{name} must be a non-negative integer")
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 12:
        value = int(value)
    if not isinstance(value, int) or value < 0:
        raise InputError(f"{name} must be a non-negative integer, got {str(value)[:40]!r}")
    if value > maximum:
        raise InputError(f"{name} may be at most {maximum}")
    return value


def _limit(value: object) -> int:
    """A page size: 0 means "as many as allowed" (the spec's default reading), larger pages are capped."""
    asked = _count(value, "limit", 1 << 31)
    return MAX_LIMIT if asked == 0 else min(asked, MAX_LIMIT)


def _boolean(value: object, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise InputError(f"{name} must be true or false")


def _schemas(value: object) -> tuple[dict[str, str], ...]:
    if isinstance(value, str):
        return ({"schema": value},)
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise InputError("requestedSchemas must be a list of {entityType, schema} objects")
    return tuple({str(k): str(v) for k, v in item.items() if k in ("entityType", "schema")} for item in value)


def from_query(items: Iterable[tuple[str, str]], entry_parameters: Iterable[str],
               aliases: Mapping[str, str] | None = None) -> BeaconRequest:
    """A GET request from its query parameters (``entry_parameters``: those of the entry type queried).

    ``aliases`` maps other names of a parameter to its own (the default model's OpenAPI calls
    ``geneId`` ``geneid`` and ``genomicAlleleShortForm`` ``allele`` in GET requests).
    """
    allowed = set(COMMON_PARAMETERS) | set(entry_parameters)
    values: dict[str, str] = {}
    for key, value in items:
        key = (aliases or {}).get(key, key)
        if key not in allowed:
            raise InputError(f"unknown query parameter {key!r}; this endpoint takes {', '.join(sorted(allowed))}")
        if len(value) > MAX_PARAMETER_LENGTH:
            raise InputError(f"query parameter {key} is longer than {MAX_PARAMETER_LENGTH} characters")
        if key in values:
            if key not in _LIST_PARAMETERS:
                raise InputError(f"query parameter {key} is given twice")
            values[key] = f"{values[key]},{value}"
        else:
            values[key] = value
    request: dict[str, Any] = {}
    if "requestedGranularity" in values:
        request["granularity"] = _granularity(values["requestedGranularity"])
        request["granularity_given"] = True
    if "skip" in values:
        request["skip"] = _count(values["skip"], "skip", MAX_SKIP)
    if "limit" in values:
        request["limit"] = _limit(values["limit"])
    if "includeResultsetResponses" in values:
        request["include"] = _include(values["includeResultsetResponses"])
    if "testMode" in values:
        request["test_mode"] = _boolean(values["testMode"], "testMode")
    if "requestedSchema" in values:
        request["requested_schemas"] = _schemas(values["requestedSchema"])
    filters = parse_filters(values["filters"]) if "filters" in values else ()
    parameters: dict[str, object] = {k: v for k, v in values.items() if k not in COMMON_PARAMETERS}
    return replace(BeaconRequest(filters=filters, parameters=parameters), **request)


def from_body(body: bytes, entry_parameters: Iterable[str]) -> BeaconRequest:
    """A POST request from its ``beaconRequestBody`` (an empty body asks the defaults)."""
    if len(body) > MAX_BODY_BYTES:
        raise OversizedRequestError(f"the request body is larger than {MAX_BODY_BYTES} bytes")
    if not body.strip():
        return BeaconRequest()
    try:
        document = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"the request body is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise InputError("the request body must be a JSON object (a beaconRequestBody)")
    unknown = set(document) - {"$schema", "meta", "query"}
    if unknown:
        raise InputError(f"unknown field(s) in the request body: {', '.join(sorted(map(str, unknown)))}; "
                         "a beaconRequestBody has meta and query")
    request: dict[str, Any] = {}
    meta = document.get("meta", {})
    if not isinstance(meta, dict):
        raise InputError("meta must be an object")
    if "apiVersion" in meta:
        if not isinstance(meta["apiVersion"], str) or len(meta["apiVersion"]) > 32:
            raise InputError("meta.apiVersion must be a short string such as v2.0.0")
        request["api_version"] = meta["apiVersion"]
    if "requestedSchemas" in meta:
        request["requested_schemas"] = _schemas(meta["requestedSchemas"])
    query = document.get("query", {})
    if not isinstance(query, dict):
        raise InputError("query must be an object")
    known = {"requestParameters", "filters", "includeResultsetResponses", "pagination", "requestedGranularity",
             "testMode", "$schema"}
    unknown = set(query) - known
    if unknown:
        raise InputError(f"unknown field(s) in query: {', '.join(sorted(map(str, unknown)))}; "
                         f"a query has {', '.join(sorted(known - {'$schema'}))}")
    if "requestedGranularity" in query:
        request["granularity"] = _granularity(query["requestedGranularity"])
        request["granularity_given"] = True
    if "includeResultsetResponses" in query:
        request["include"] = _include(query["includeResultsetResponses"])
    if "testMode" in query:
        request["test_mode"] = _boolean(query["testMode"], "testMode")
    pagination = query.get("pagination", {})
    if not isinstance(pagination, dict):
        raise InputError("pagination must be an object with skip and limit")
    if "skip" in pagination:
        request["skip"] = _count(pagination["skip"], "pagination.skip", MAX_SKIP)
    if "limit" in pagination:
        request["limit"] = _limit(pagination["limit"])
    parameters = query.get("requestParameters", {})
    if not isinstance(parameters, dict):
        raise InputError("requestParameters must be an object")
    allowed = set(entry_parameters)
    unknown = set(parameters) - allowed - {"$schema"}
    if unknown:
        names = ", ".join(sorted(allowed)) or "none"
        raise InputError(f"unknown request parameter(s) {', '.join(sorted(map(str, unknown)))}; "
                         f"this endpoint takes: {names}")
    filters = parse_filters(query.get("filters"))
    return replace(BeaconRequest(filters=filters, parameters={k: v for k, v in parameters.items() if k != "$schema"}),
                   **request)


def summary(request: BeaconRequest) -> dict[str, object]:
    """``receivedRequestSummary``: the request as the beacon understood it."""
    received: dict[str, object] = {
        "apiVersion": request.api_version,
        "requestedSchemas": list(request.requested_schemas),
        "pagination": {"skip": request.skip, "limit": request.limit},
        "requestedGranularity": request.granularity,
        "includeResultsetResponses": request.include,
        "testMode": request.test_mode,
    }
    if request.filters:
        received["filters"] = [f.as_request() for f in request.filters]
    return received
