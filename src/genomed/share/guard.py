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
from typing import cast

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from genomed.db.base import utcnow
from genomed.errors import BudgetExhaustedError, InputError
from genomed.share.identity import Requester, Tier
from genomed.share.models import PrivacyBudget
from genomed.share.settings import GuardSettings

_BUDGETS = cast(Table, PrivacyBudget.__table__)
# Built once: constructing the statement costs far more than running it, and every answer runs it.
_SPEND = (update(_BUDGETS)
          .where(_BUDGETS.c.identity == bindparam("who"), _BUDGETS.c.period == bindparam("when"),
                 _BUDGETS.c.spent + bindparam("queries") <= bindparam("budget"))
          .values(spent=_BUDGETS.c.spent + bindparam("queries"), updated_at=bindparam("now"))
          .returning(_BUDGETS.c.spent))


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

        The spend is one conditional ``UPDATE ... SET spent = spent + n WHERE spent + n <= budget``,
        not a read followed by a write: two requests of one identity answered at the same time
        (two workers, or a PostgreSQL node under load) cannot both read the same ``spent`` and
        write back one increment, which would let a scripted attacker overrun its budget.
        """
        if queries < 0:
            raise InputError("a query charge cannot be negative")
        budget = self.budget_of(requester)
        if budget is None:
            return None
        identity, period = requester.identity[:256], self.period()
        spent = self._spend(session, identity, period, queries, budget)
        if spent is None and queries <= budget:
            try:
                with session.begin_nested():  # first query of the period: create the row
                    session.execute(insert(_BUDGETS), {"identity": identity, "period": period, "spent": queries,
                                                       "updated_at": self.clock()})
                return budget - queries
            except IntegrityError:  # another request of this identity created it first
                spent = self._spend(session, identity, period, queries, budget)
        if spent is None:
            raise BudgetExhaustedError(
                f"query budget of {budget} per {self.settings.period} spent for {requester.identity}; "
                f"try again next {self.settings.period} or request controlled access")
        return budget - spent

    def _spend(self, session: Session, identity: str, period: str, queries: int, budget: int) -> int | None:
        """The new ``spent`` of an existing row that had room for ``queries``; ``None`` if no such row."""
        return session.execute(_SPEND, {"who": identity, "when": period, "queries": queries,
                                        "budget": budget, "now": self.clock()}).scalar_one_or_none()

    def count(self, requester: Requester, dataset_id: str, true_count: int) -> int:
        """The count this requester may see: exact for a controlled grant, else 0 below ``min_count``."""
        if requester.tier_for(dataset_id) >= Tier.CONTROLLED:
            return true_count
        return true_count if true_count >= self.settings.min_count else 0

    def exists(self, requester: Requester, dataset_id: str, true_count: int) -> bool:
        """Whether to answer "yes": the guarded count is above zero."""
        return self.count(requester, dataset_id, true_count) > 0
