"""The OpenAPI description of the Beacon endpoints' parameters and bodies.

The endpoints read their parameters themselves (:mod:`.requests`), so that GET and POST are read
by the same rules and every mistake gets a Beacon error; these fragments only describe them, in
the terms of the Beacon v2 default model's ``endpoints.json``, for clients and for the
property-based tests that generate requests from the description.
"""

from __future__ import annotations

from typing import Any

from genomed.share.beacon.model import GRANULARITIES
from genomed.share.beacon.requests import INCLUDES

_STRING: dict[str, Any] = {"type": "string"}
_COUNT: dict[str, Any] = {"type": "integer", "minimum": 0}
_INTEGERS: dict[str, Any] = {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 1,
                             "maxItems": 2}


def _query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    parameter: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        parameter["description"] = description
    return parameter


COMMON: list[dict[str, Any]] = [
    _query("requestedSchema", _STRING),
    _query("skip", _COUNT, "Pages of `limit` records to skip."),
    _query("limit", _COUNT, "Records per page (at most 100; 0 means the most allowed)."),
    _query("includeResultsetResponses", {"type": "string", "enum": list(INCLUDES)}),
    _query("requestedGranularity", {"type": "string", "enum": list(GRANULARITIES)}),
    _query("filters", {"type": "array", "items": _STRING},
           "Ontology term ids (CURIEs), comma-separated or repeated; combined with AND."),
    _query("testMode", {"type": "boolean"}),
]
VARIANT: list[dict[str, Any]] = [
    _query("referenceName", _STRING, "Chromosome: 1..22, X, Y, MT, with or without chr, or a RefSeq accession."),
    _query("start", _INTEGERS, "0-based start; two values for a bracket query."),
    _query("end", _INTEGERS, "0-based exclusive end; two values for a bracket query."),
    _query("referenceBases", _STRING),
    _query("alternateBases", _STRING),
    _query("variantType", _STRING),
    _query("assemblyId", _STRING),
    _query("geneId", _STRING, "HGNC symbol or Ensembl gene id."),
    _query("variantMinLength", _COUNT),
    _query("variantMaxLength", _COUNT),
    _query("genomicAlleleShortForm", _STRING, "HGVS g. substitution, e.g. NC_000017.11:g.43045712G>A."),
    _query("aminoacidChange", _STRING, "Not supported: answered with an error."),
]

_FILTER: dict[str, Any] = {"anyOf": [
    _STRING,
    {"type": "object", "required": ["id"], "properties": {
        "id": _STRING, "operator": {"type": "string", "enum": ["=", "<", ">", "!", ">=", "<="]},
        "value": _STRING, "includeDescendantTerms": {"type": "boolean"}, "scope": _STRING,
        "similarity": {"type": "string", "enum": ["exact", "high", "medium", "low"]}}},
]}


def request_body(variant: bool) -> dict[str, Any]:
    """A ``beaconRequestBody`` (``requestParameters`` only for variant queries)."""
    parameters: dict[str, Any] = {"type": "object", "properties": {
        p["name"]: p["schema"] for p in VARIANT}} if variant else {"type": "object", "maxProperties": 0}
    schema = {"type": "object", "properties": {
        "meta": {"type": "object", "properties": {
            "apiVersion": _STRING,
            "requestedSchemas": {"type": "array", "items": {"type": "object", "properties": {
                "entityType": _STRING, "schema": _STRING}}}}},
        "query": {"type": "object", "properties": {
            "requestParameters": parameters,
            "filters": {"type": "array", "items": _FILTER},
            "includeResultsetResponses": {"type": "string", "enum": list(INCLUDES)},
            "pagination": {"type": "object", "properties": {"skip": _COUNT, "limit": _COUNT}},
            "requestedGranularity": {"type": "string", "enum": list(GRANULARITIES)},
            "testMode": {"type": "boolean"}}},
    }}
    return {"requestBody": {"required": False, "content": {"application/json": {"schema": schema}}}}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": description} for status, description in (
        (400, "Beacon error: a malformed request, an unknown parameter or filter"),
        (404, "Beacon error: no such record or collection"),
        (413, "Beacon error: the request body is too large"),
        (429, "Beacon error: the requester's query budget is spent"),
    )
}
