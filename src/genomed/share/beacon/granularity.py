"""What a requester may see of a dataset: the granularity ceiling and the consent scope.

Records (individual documents, variants with their carriers) need a controlled-access grant for
the dataset (a ``ControlledAccessGrants`` visa naming it); anyone else gets at most counts, which
the privacy guard suppresses below its minimum. A request for more than the ceiling is answered
at the ceiling, and the response says so in ``returnedGranularity``.

The node's own cohort is answered under the donors' sharing consents: a requester from the
node's country under the national sharing scope, anyone else (a foreign requester, or one whose
country is unknown) under the international scope, which is the narrower promise.
"""

from __future__ import annotations

from genomed.catalog.consent_rules import Scope
from genomed.share.beacon.model import GRANULARITIES
from genomed.share.identity import Requester, Tier
from genomed.share.settings import SharingSettings


def node_dataset_id(settings: SharingSettings) -> str:
    """The id of the node's own cohort as a Beacon dataset: the beacon's id (``[beacon] id``).

    The beacon id is already the node's stable, reverse-domain public name, and it is what a data
    access committee's visa for "this node's cohort" names (``<public_url>/datasets/<beacon id>``).
    """
    return settings.beacon.id


def ceiling(requester: Requester, dataset_id: str) -> str:
    """The highest granularity ``requester`` may get on ``dataset_id``."""
    return "record" if requester.tier_for(dataset_id) >= Tier.CONTROLLED else "count"


def lower(first: str, second: str) -> str:
    """The coarser of two granularities.

    >>> lower("record", "count"), lower("boolean", "record")
    ('count', 'boolean')
    """
    return first if GRANULARITIES.index(first) <= GRANULARITIES.index(second) else second


def sharing_scope(requester: Requester, node_country: str) -> Scope:
    """The consent scope an answer to ``requester`` is given under."""
    if requester.country is not None and requester.country.upper() == node_country.upper():
        return Scope.NATIONAL_SHARING
    return Scope.INTERNATIONAL_SHARING
