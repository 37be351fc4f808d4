"""The privacy guard: what a requester below the controlled tier may learn from an answer.

Three mechanisms bound re-identification by membership inference (Shringarpure & Bustamante 2015,
who showed that a few hundred "is this allele here?" queries identify a genome in a beacon):

* **minimum counts** (:meth:`PrivacyGuard.count`, :meth:`PrivacyGuard.exists`, for callers that
  only know a count): a count below ``min_count`` is answered as 0 (and "exists" as false). The
  answer has the same shape as a true absence, so nothing tells the requester that a suppression
  happened: rare alleles, the ones that carry the paper's attack, stop answering;
* **query budgets**: each identity (passport subject, peer node, or address) may ask at most
  ``budget_public``/``budget_registered`` queries per period; the spend is kept in the database so
  that restarting a node does not refill every budget;
* **the donor ledger** (:meth:`PrivacyGuard.answer`, for callers that can name the donors
  carrying the variant): near the threshold the answer is drawn at random with probabilities
  that change by a bounded factor per carrier (:mod:`genomed.share.disclosure`); each answer's
  evidence about its carriers is charged to each of them, and a donor whose charges would exceed
  ``log(membership_odds)`` is left out of the answer (answered as if absent).

Why the ledger, and why suppression and budgets alone are not enough: measured with
:mod:`genomed.share.attack`, an attacker who knows the threshold asks about alleles whose count
it expects near ``min_count``, where a member's own copy still turns "no" into "yes" about one
time in five; a few hundred such answers identify a member as surely as the paper's attack on an
unguarded beacon, and a budget large enough to be useful to a researcher allows them. Evidence
about a donor comes only from answers that the donor's presence makes more likely: bounding their
sum, per donor and for every requester together (so that many identities do not help), bounds
what any attack can learn, however many queries it makes. If every answer's likelihood ratio
for "this donor is in" is charged and the charges stop at ``log(membership_odds)``, any test of
membership has power at most ``membership_odds`` times its false-positive rate (2 x 5% = 10%
with the default). This is the per-donor budget of Raisaro et al. (2017, JAMIA 24:799,
"Addressing Beacon re-identification attacks"), charged with each answer's actual evidence so
that common alleles cost nothing, over answers drawn at random so that no single answer can be
infinitely telling (a deterministic threshold makes the one answer a donor tips certain proof).
No single answer may tell more than the whole cap (the ramp's slope is ``log(membership_odds)``),
so a donor is left out only once earlier answers have spent its evidence, never by construction.
Two approximations are measured by the attack harness rather than proved: evidence is charged
as each answer's own likelihood ratio at the counts it was drawn from; and a donor's presence
changes the *other* carriers' charges, and so which of them later answers leave out. The price
is utility near the threshold: ``min_count`` becomes the count answered "yes" half the time,
fewer carriers are answered "yes" with a probability halving per carrier (even none: 1.6% of
absent alleles with ``min_count`` 5, 0.05% with 10), and a donor out of evidence no longer
counts. Answers are not cached: asking again draws again, and is charged again.

Controlled-tier answers (a grant for the dataset) are neither suppressed nor budgeted nor
ledgered: they are the accountable access a data access committee approved. Every answer is
audited by the caller.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable, Collection
from typing import Literal, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from genomed.db.base import utcnow
from genomed.errors import BudgetExhaustedError, InputError
from genomed.share.disclosure import draw, edges_for, evidence, release_probabilities
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
# The donor ledger lives in the budgets table: identity ``donor:<carrier>``, this period, spent in micro-nats.
LEDGER_PERIOD = "donor-ledger"
DONOR_PREFIX = "donor:"
MICRO = 1_000_000
EVIDENCE_FLOOR = 1e-6  # nats: an answer telling less than this about its carriers is not charged
_CHARGES = (select(_BUDGETS.c.identity, _BUDGETS.c.spent)
            .where(_BUDGETS.c.period == LEDGER_PERIOD, _BUDGETS.c.identity.in_(bindparam("keys", expanding=True))))
_CHARGE = (update(_BUDGETS)
           .where(_BUDGETS.c.period == LEDGER_PERIOD, _BUDGETS.c.identity.in_(bindparam("keys", expanding=True)))
           .values(spent=_BUDGETS.c.spent + bindparam("amount"), updated_at=bindparam("now")))
Granularity = Literal["boolean", "count"]


class PrivacyGuard:
    """Suppression and budgets for one node, as configured in ``sharing.toml``'s ``[guard]``."""

    def __init__(self, settings: GuardSettings, clock: Callable[[], dt.datetime] = utcnow,
                 rng: random.Random | None = None) -> None:
        self.settings = settings
        self.clock = clock
        # Answers near the threshold are drawn from the operating system's generator: an attacker
        # who could predict the draws could tell which answers a member's presence changed.
        self.rng = rng if rng is not None else random.SystemRandom()

    @property
    def slope(self) -> float:
        """Nats one carrier can add to one answer: the whole ledger cap, so that no single answer has
        to leave out a donor with nothing spent (leaving donors out by construction would make the
        answers' real odds steeper than the ones charged)."""
        return math.log(self.settings.membership_odds)

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
        # Core statements on the session's connection (same transaction), without the ORM's per-call overhead.
        return session.connection().execute(_SPEND, {"who": identity, "when": period, "queries": queries,
                                        "budget": budget, "now": self.clock()}).scalar_one_or_none()

    def count(self, requester: Requester, dataset_id: str, true_count: int) -> int:
        """The count this requester may see: exact for a controlled grant, else 0 below ``min_count``."""
        if requester.tier_for(dataset_id) >= Tier.CONTROLLED:
            return true_count
        return true_count if true_count >= self.settings.min_count else 0

    def exists(self, requester: Requester, dataset_id: str, true_count: int) -> bool:
        """Whether to answer "yes": the guarded count is above zero."""
        return self.count(requester, dataset_id, true_count) > 0

    def answer(self, session: Session, requester: Requester, dataset_id: str, carriers: Collection[str],
               granularity: Granularity = "boolean") -> int:
        """The answer about a variant carried by ``carriers``, through the donor ledger: 1/0, or a binned count.

        ``carriers`` are node-wide donor identifiers (sample pseudonyms), the same for a donor in
        every dataset, so that one ledger covers all of them. A count is released as a bin edge
        of :func:`~genomed.share.disclosure.count_bins` (an exact count would tell something
        about every carrier of every allele). Call :meth:`charge` first, as for any answer.

        The charges themselves are atomic, but the check before them is not: two answers about
        the same donors computed at the same moment may both pass it, so the cap can be overrun
        by one answer's evidence per simultaneous request (at most :attr:`slope` nats each).
        """
        donors = set(carriers)
        return self.release(session, requester, dataset_id, len(donors), lambda: donors, granularity)

    def release(self, session: Session, requester: Requester, dataset_id: str, count: int,
                carriers: Callable[[], Collection[str]], granularity: Granularity = "boolean") -> int:
        """:meth:`answer` for a caller that knows the number of carriers and can name them on demand.

        ``carriers()`` (the ``count`` donors' node-wide identifiers) is called only when the answer
        has evidence to charge, so a common allele's answer never lists its thousands of carriers;
        the ledger then works on the donors it returns (the answer is redrawn for their number,
        with the same uniform, should it differ from ``count``).
        """
        if requester.tier_for(dataset_id) >= Tier.CONTROLLED:
            return count if granularity == "count" else int(count > 0)
        boolean = granularity == "boolean"
        slope = self.slope
        edges = edges_for(self.settings.min_count, count, boolean, slope)
        u = self.rng.random()
        released = draw(count, edges, u, slope)
        # "Nothing" is evidence of absence, never of presence; and an answer that tells (almost)
        # nothing about its carriers, such as a common allele's, needs no ledger.
        if released == 0 or self._evidence(released, count, edges) < EVIDENCE_FLOOR:
            return int(released > 0) if boolean else released
        donors = set(carriers())
        if len(donors) != count:
            edges = edges_for(self.settings.min_count, len(donors), boolean, slope)
        budget = round(math.log(self.settings.membership_odds) * MICRO)
        spent = self._spent(session, donors)
        included = set(donors)
        while True:
            released = draw(len(included), edges, u, slope)
            told = self._evidence(released, len(included), edges)
            if told < EVIDENCE_FLOOR:
                break
            cost = math.ceil(told * MICRO)
            over = {donor for donor in included if spent.get(donor, 0) + cost > budget}
            if not over:
                self._charge_donors(session, included, spent, cost)
                break
            included -= over  # answered as if they were absent; the others are reconsidered
        return int(released > 0) if boolean else released

    def release_probabilities(self, carriers: int, granularity: Granularity = "boolean") -> dict[int, float]:
        """P(answer | ``carriers`` counted) below the controlled tier: what an attacker who read this code knows."""
        edges = edges_for(self.settings.min_count, carriers, granularity == "boolean", self.slope)
        probabilities = release_probabilities(carriers, edges, self.slope)
        if granularity == "boolean":
            return {0: probabilities[0], 1: 1.0 - probabilities[0]}
        return probabilities

    def _evidence(self, released: int, carriers: int, edges: list[int]) -> float:
        """The evidence an answer gives about each of ``carriers`` (none when there are none)."""
        return max(0.0, evidence(released, carriers, edges, self.slope)) if carriers else 0.0

    def _spent(self, session: Session, donors: Collection[str]) -> dict[str, int]:
        keys = {(DONOR_PREFIX + donor)[:256]: donor for donor in donors}
        found: dict[str, int] = {}
        for chunk in _chunks(list(keys)):
            rows = session.connection().execute(_CHARGES, {"keys": chunk})
            found.update((keys[identity], spent) for identity, spent in rows)
        return found

    def _charge_donors(self, session: Session, donors: Collection[str], spent: dict[str, int], amount: int) -> None:
        """Add ``amount`` micro-nats to each donor's ledger row (created on a first charge)."""
        now = self.clock()
        for chunk in _chunks([(DONOR_PREFIX + d)[:256] for d in donors if d in spent]):
            session.connection().execute(_CHARGE, {"keys": chunk, "amount": amount, "now": now})
        new = [(DONOR_PREFIX + d)[:256] for d in donors if d not in spent]
        if new:
            session.connection().execute(insert(_BUDGETS), [{"identity": key, "period": LEDGER_PERIOD,
                                                             "spent": amount, "updated_at": now} for key in new])


def _chunks(items: list[str], size: int = 5000) -> list[list[str]]:
    """Bound the parameters of one IN list (PostgreSQL takes at most 65,535 per statement)."""
    return [items[start:start + size] for start in range(0, len(items), size)]
