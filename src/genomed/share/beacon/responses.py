"""The response documents of the Beacon v2 framework, as plain dictionaries.

Each function builds one document of ``framework/json/responses`` (informational responses,
boolean, count, result sets, collections, errors) or ``framework/json/configuration``
(configuration, map, entry types). Plain dictionaries rather than models: an answer is built and
serialised thousands of times a second, and the official JSON Schemas, not a model of ours, are
what the tests validate every document against.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from genomed import __version__
from genomed.share.beacon.model import API_VERSION, ENTRY_TYPES, SCHEMA_VERSION, SPECIFICATION, EntryType
from genomed.share.beacon.requests import BeaconRequest, summary
from genomed.share.settings import BeaconSettings

SCHEMA_BASE = "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/models/json/beacon-v2-default-model"
ENTRY_SCHEMA_FILES = {"analysis": "analyses", "biosample": "biosamples", "cohort": "cohorts", "dataset": "datasets",
                      "genomicVariant": "genomicVariations", "individual": "individuals", "run": "runs"}


def informational_meta(beacon: BeaconSettings, schemas: Sequence[dict[str, str]] = ()) -> dict[str, Any]:
    """``beaconInformationalResponseMeta`` of the framework endpoints."""
    return {"beaconId": beacon.id, "apiVersion": API_VERSION, "returnedSchemas": list(schemas)}


def response_meta(beacon: BeaconSettings, entry: EntryType | None, request: BeaconRequest,
                  returned: str) -> dict[str, Any]:
    """``beaconResponseMeta``: the beacon, the schemas and granularity returned, the request understood."""
    return {"beaconId": beacon.id, "apiVersion": API_VERSION,
            "returnedSchemas": [entry.returned_schema()] if entry is not None else [],
            "returnedGranularity": returned, "receivedRequestSummary": summary(request)}


def boolean_response(meta: dict[str, Any], exists: bool, info: Mapping[str, Any] | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {"meta": meta, "responseSummary": {"exists": exists}}
    if info:
        document["info"] = dict(info)
    return document


def count_response(meta: dict[str, Any], exists: bool, count: int,
                   info: Mapping[str, Any] | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {"meta": meta, "responseSummary": {"exists": exists, "numTotalResults": count}}
    if info:
        document["info"] = dict(info)
    return document


def result_set(dataset_id: str, exists: bool, count: int, results: list[dict[str, Any]],
               granularity: str) -> dict[str, Any]:
    """One ``ResultsetInstance``; ``info.returnedGranularity`` says whether its records were withheld."""
    return {"id": dataset_id, "setType": "dataset", "exists": exists, "resultsCount": count, "results": results,
            "info": {"returnedGranularity": granularity}}


def resultsets_response(meta: dict[str, Any], exists: bool, count: int, result_sets: list[dict[str, Any]],
                        info: Mapping[str, Any] | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {"meta": meta, "responseSummary": {"exists": exists, "numTotalResults": count},
                                "response": {"resultSets": result_sets}}
    if info:
        document["info"] = dict(info)
    return document


def collections_response(meta: dict[str, Any], count: int, collections: list[dict[str, Any]],
                         info: Mapping[str, Any] | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {"meta": meta, "responseSummary": {"exists": count > 0, "numTotalResults": count},
                                "response": {"collections": collections}}
    if info:
        document["info"] = dict(info)
    return document


def error_response(beacon: BeaconSettings, status: int, message: str,
                   request: BeaconRequest | None = None) -> dict[str, Any]:
    """``beaconErrorResponse``: the error code is the HTTP status of the response."""
    return {"meta": response_meta(beacon, None, request or BeaconRequest(), "boolean"),
            "error": {"errorCode": status, "errorMessage": message}}


# -- framework endpoints -----------------------------------------------------------------------------------

def _organization(beacon: BeaconSettings) -> dict[str, Any]:
    organization: dict[str, Any] = {"id": beacon.id, "name": beacon.organisation, "contactUrl": beacon.contact_url}
    if beacon.welcome_url:
        organization["welcomeUrl"] = beacon.welcome_url
    return organization


def info_response(beacon: BeaconSettings, node_name: str, datasets: Iterable[str]) -> dict[str, Any]:
    """``beaconInfoResponse`` (``/`` and ``/info``)."""
    results: dict[str, Any] = {
        "id": beacon.id, "name": beacon.name, "apiVersion": API_VERSION, "environment": "prod",
        "organization": _organization(beacon), "version": f"genomed {__version__}",
        "description": f"Beacon v2 of the genomed node {node_name}: the node's consented cohort and loaded datasets.",
        "info": {"datasets": list(datasets)},
    }
    if beacon.welcome_url:
        results["welcomeUrl"] = beacon.welcome_url
    return {"meta": informational_meta(beacon, [{"entityType": "info", "schema": "beacon-info-v2.0.0"}]),
            "response": results}


def service_info(beacon: BeaconSettings) -> dict[str, Any]:
    """GA4GH service-info 1.0 (``/service-info``)."""
    document: dict[str, Any] = {
        "id": beacon.id, "name": beacon.name,
        "type": {"group": "org.ga4gh", "artifact": "beacon", "version": API_VERSION},
        "description": "GA4GH Beacon v2 of a genomed node",
        "organization": {"name": beacon.organisation, "url": beacon.welcome_url or beacon.public_url},
        "version": __version__, "environment": "prod",
    }
    if beacon.contact_url:
        document["contactUrl"] = beacon.contact_url
    return document


def _entry_definition(entry: EntryType) -> dict[str, Any]:
    definition: dict[str, Any] = {
        "id": entry.id, "name": entry.name, "description": entry.description,
        "ontologyTermForThisType": {"id": entry.term[0], "label": entry.term[1]},
        "partOfSpecification": SPECIFICATION,
        "defaultSchema": {"id": entry.schema, "name": f"Default schema for {entry.name.lower()}",
                          "referenceToSchemaDefinition":
                              f"{SCHEMA_BASE}/{ENTRY_SCHEMA_FILES[entry.id]}/defaultSchema.json",
                          "schemaVersion": SCHEMA_VERSION},
        "additionallySupportedSchemas": [],
        "nonFilteredQueriesAllowed": True,
    }
    if entry.collection_of is not None:
        collected = next(e for e in ENTRY_TYPES if e.id == entry.collection_of)
        definition["aCollectionOf"] = [{"id": collected.id, "name": collected.name}]
    return definition


def entry_types() -> dict[str, Any]:
    return {"entryTypes": {entry.id: _entry_definition(entry) for entry in ENTRY_TYPES}}


def configuration(beacon: BeaconSettings) -> dict[str, Any]:
    """``beaconConfiguration``: maturity, security levels and entry types."""
    return {"$schema": "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/framework/json/configuration/"
                       "beaconConfigurationSchema.json",
            "maturityAttributes": {"productionStatus": "PROD"},
            "securityAttributes": {"defaultGranularity": "boolean",
                                   "securityLevels": ["PUBLIC", "REGISTERED", "CONTROLLED"]},
            **entry_types()}


def beacon_map(beacon: BeaconSettings) -> dict[str, Any]:
    """``beaconMap``: where each entry type and its related lookups are served."""
    root = beacon.public_url.rstrip("/")
    sets: dict[str, Any] = {}
    for entry in ENTRY_TYPES:
        endpoints = {}
        for lookup in entry.lookups:
            target = next(e for e in ENTRY_TYPES if e.path == lookup)
            endpoints[f"{target.id}Lookup"] = {"returnedEntryType": target.id,
                                               "url": f"{root}/{entry.path}/{{id}}/{lookup}"}
        endpoint_set: dict[str, Any] = {"entryType": entry.id, "rootUrl": f"{root}/{entry.path}",
                                        "singleEntryUrl": f"{root}/{entry.path}/{{id}}",
                                        "openAPIEndpointsDefinition": f"{root}/openapi.json",
                                        "endpoints": endpoints}
        if entry.path in ("individuals",) or entry.is_collection:
            endpoint_set["filteringTermsUrl"] = f"{root}/{entry.path}" + \
                ("/filtering_terms" if not entry.is_collection else "/{id}/filtering_terms")
        sets[f"{entry.id}Endpoints"] = endpoint_set
    return {"$schema": "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/framework/json/configuration/"
                       "beaconMapSchema.json", "endpointSets": sets}


def filtering_terms_response(beacon: BeaconSettings, terms: list[dict[str, Any]],
                             resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {"meta": informational_meta(beacon, [{"entityType": "filteringTerm", "schema": "beacon-filtering-terms"}]),
            "response": {"filteringTerms": terms, "resources": resources}}
