"""Who is asking: the requester a sharing answer is shaped for.

Every request to a node's sharing API is resolved, before anything else, into a :class:`Requester`:
an identity (for budgets and the audit trail), an access tier, the requester's country (for the
national/international sharing consent) and the datasets the requester holds a controlled-access
grant for. Resolution never fails: a missing, malformed, expired, unsigned (``alg=none``) or
untrusted passport yields the public tier, so a bad token can cost the requester access but never
cause an error page that tells an attacker which check failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class Tier(IntEnum):
    """Access tiers of the Beacon v2 security model, ordered so that ``>=`` means "at least"."""

    PUBLIC = 0       # anyone: boolean or guarded counts
    REGISTERED = 1   # a valid passport from a trusted broker (a known researcher): guarded counts
    CONTROLLED = 2   # a ControlledAccessGrants visa for the dataset: records, under the donors' consent

    @property
    def beacon_name(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Requester:
    """One resolved requester.

    ``identity`` is what budgets are charged to and what the audit trail names: the passport's
    ``iss#sub`` for a registered or controlled requester, ``node:<peer>`` for a federation peer,
    ``anonymous:<address>`` otherwise.
    """

    identity: str
    tier: Tier = Tier.PUBLIC
    country: str | None = None
    controlled_datasets: frozenset[str] = field(default_factory=frozenset)
    # Visa ids (``jti``) the grants came from, so that the audit trail can name them.
    visa_ids: tuple[str, ...] = ()

    def tier_for(self, dataset_id: str) -> Tier:
        """The tier this requester has on one dataset: controlled only where a grant names it."""
        if dataset_id in self.controlled_datasets:
            return Tier.CONTROLLED
        return min(self.tier, Tier.REGISTERED)

    @classmethod
    def anonymous(cls, address: str = "unknown") -> Requester:
        return cls(identity=f"anonymous:{address}")
