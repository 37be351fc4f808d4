"""The answers of every node as one Beacon v2 resultsets response, with each node's provenance.

A federated answer reuses the Beacon v2 ``beaconResultsetsResponse`` (the shape Beacon networks
use), so any Beacon client reads it; what is federation-specific sits under ``info``::

    {
      "meta": {"beaconId": "<the asked node's beacon id>", "apiVersion": "v2.0.0",
               "returnedGranularity": "count" | "boolean",      # the coarsest any answering node gave
               "receivedRequestSummary": {...}, "returnedSchemas": [{"entityType": "genomicVariant", ...}]},
      "responseSummary": {"exists": <any node exists>, "numTotalResults": <sum of the nodes' counts>},
      "response": {"resultSets": [                            # one per node that answered, this node first
        {"id": "France", "setType": "beacon", "exists": true, "resultsCount": 12, "results": [],
         "info": {"node": "France", "country": "FR", "url": "...", "beaconId": "org.genomed.fr",
                  "local": true, "status": "ok", "latencyMs": 3.1, "returnedGranularity": "count",
                  "datasets": [{"id": "fr-wgs", "exists": true, "resultsCount": 12}]}}, ...]},
      "info": {"federation": {"nodesAsked": 4, "nodesAnswered": 3, "timeoutSeconds": 2.0, "elapsedMs": 41.7},
               "unreachable": [{"node": "UK", "country": "GB", "url": "...", "status": "unreachable",
                                "detail": "ConnectError: ...", "latencyMs": 0.9}]}
    }

``setType`` is ``beacon``: a result set here is a whole node, whose own datasets are listed in its
``info.datasets``. A node that answered only "yes/no" has ``resultsCount`` 0 and
``returnedGranularity`` ``boolean`` (the schema requires a count); the merged summary then has no
``numTotalResults`` and the response's granularity is ``boolean``, never a false total. Nodes that
did not answer are never result sets: they are listed in ``info.unreachable`` with the reason
(``timeout``, ``unreachable``, ``bad_response``, ``error``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from genomed.share.federation.fanout import NodeAnswer

API_VERSION = "v2.0.0"
VARIANT_SCHEMA = {"entityType": "genomicVariant", "schema": "ga4gh-beacon-variant-v2.0.0"}


def _result_set(answer: NodeAnswer) -> dict[str, Any]:
    counted = answer.granularity in ("count", "record") and answer.count is not None
    datasets = [{"id": d.id, "exists": d.exists, **({"resultsCount": d.count} if d.count is not None else {})}
                for d in answer.datasets]
    return {
        "id": answer.node, "setType": "beacon", "exists": bool(answer.exists),
        "resultsCount": answer.count if counted else 0, "results": [],
        "info": {"node": answer.node, "country": answer.country, "url": answer.url, "beaconId": answer.beacon_id,
                 "local": answer.local, "status": answer.status.value, "latencyMs": round(answer.latency_ms, 2),
                 "returnedGranularity": answer.granularity if counted else "boolean", "datasets": datasets},
    }


def _unreachable(answer: NodeAnswer) -> dict[str, Any]:
    return {"node": answer.node, "country": answer.country, "url": answer.url, "status": answer.status.value,
            "detail": answer.detail, "latencyMs": round(answer.latency_ms, 2)}


def merged_response(answers: Sequence[NodeAnswer], *, beacon_id: str, request_summary: Mapping[str, Any],
                    timeout: float, elapsed_ms: float) -> dict[str, Any]:
    """The federated answer (see the module docstring) from every node's part, in the given order."""
    answered = [a for a in answers if a.answered]
    counted = all(a.granularity in ("count", "record") and a.count is not None for a in answered)
    summary: dict[str, Any] = {"exists": any(bool(a.exists) for a in answered)}
    if counted:
        summary["numTotalResults"] = sum(a.count or 0 for a in answered)
    return {
        "meta": {"beaconId": beacon_id, "apiVersion": API_VERSION,
                 "returnedGranularity": "count" if counted else "boolean",
                 "receivedRequestSummary": dict(request_summary), "returnedSchemas": [VARIANT_SCHEMA]},
        "responseSummary": summary,
        "response": {"resultSets": [_result_set(a) for a in answered]},
        "info": {"federation": {"nodesAsked": len(answers), "nodesAnswered": len(answered),
                                "timeoutSeconds": timeout, "elapsedMs": round(elapsed_ms, 2)},
                 "unreachable": [_unreachable(a) for a in answers if not a.answered]},
    }
