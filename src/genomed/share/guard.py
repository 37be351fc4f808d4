"""The privacy guard: what a requester below the controlled tier may learn from an answer.

Two mechanisms bound re-identification by membership inference (Shringarpure & Bustamante 2015,
who showed that a few hundred "is this allele here?" queries identify a genome in a beacon):

* **minimum counts**: a count below ``min_count`` is answered as 0 (and "exists" as false). The
  answer has the same shape as a true absence, so nothing tells the requester that a suppression
  happened: rare alleles, the ones that carry the attack, stop answering;
* **query budgets**: each identity (passport subject, peer node, or address) may ask at most
  ``budget_public``/``budget_registered`` queries per period; the spend is kept in the database so
  that restarting a node does not refill every budget.

Controlled-tier answers (a grant for the dataset) are neither suppressed nor budgeted: they are
the accountable access a data access committee approved. Every answer is audited by the caller.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from genomed.db.base import utcnow
from genomed.errors import BudgetExhaustedError
from genomed.share.identity import Requester, Tier
from genomed.share.models import PrivacyBudget
from genomed.share.settings import GuardSettings


class PrivacyGuard:
    """Suppression and budgets for one node, as configured in ``sharing.toml``'s ``[guard]``."""

    def __init__(self, settings: GuardSettings, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.settings = settings
        self.clock = clock

    def period(self) -> str:
        """The current budget period, e.g. ``2026-11-27`` (day) or ``2026-11-27T13`` (hour)."""
        now = self.clock()
        return now.strftime("%Y-%m-%d") if self.settings.period == "day" else now.strftime("%Y-%m-%dT%H")

    def budget_of(self, requester: Requester) -> int | None:
        """Queries per period for this requester; ``None`` when unbudgeted (controlled tier)."""
        if requester.tier >= Tier.CONTROLLED:
            return None
        if requester.tier is Tier.REGISTERED:
            return self.settings.budget_registered
        return self.settings.budget_public

    def charge(self, session: Session, requester: Requester, queries: int = 1) -> int | None:
        """Spend ``queries`` of the requester's budget in ``session``; the remaining budget, or ``None``.

        Raises :class:`BudgetExhaustedError` (and spends nothing) when the budget would be exceeded.
        """
        budget = self.budget_of(requester)
        if budget is None:
            return None
        period = self.period()
        row = session.scalar(select(PrivacyBudget).where(PrivacyBudget.identity == requester.identity[:256],
                                                         PrivacyBudget.period == period))
        spent = row.spent if row is not None else 0
        if spent + queries > budget:
            raise BudgetExhaustedError(
                f"query budget of {budget} per {self.settings.period} spent for {requester.identity}; "
                f"try again next {self.settings.period} or request controlled access")
        if row is None:
            session.add(PrivacyBudget(identity=requester.identity[:256], period=period, spent=queries,
                                      updated_at=self.clock()))
        else:
            row.spent = spent + queries
            row.updated_at = self.clock()
        return budget - spent - queries

    def count(self, requester: Requester, dataset_id: str, true_count: int) -> int:
        """The count this requester may see: exact for a controlled grant, else 0 below ``min_count``."""
        if requester.tier_for(dataset_id) >= Tier.CONTROLLED:
            return true_count
        return true_count if true_count >= self.settings.min_count else 0

    def exists(self, requester: Requester, dataset_id: str, true_count: int) -> bool:
        """Whether to answer "yes": the guarded count is above zero."""
        return self.count(requester, dataset_id, true_count) > 0
