"""Run the attacks against a raw beacon and against the real privacy guard, and measure their power.

Three beacons (:data:`BEACONS`): ``raw`` answers the truth; ``threshold`` answers through
:meth:`PrivacyGuard.count`/:meth:`PrivacyGuard.exists` on the true count (suppression below
``min_count`` and the query budget); ``ledger`` through :meth:`PrivacyGuard.answer` with the
carriers' identities (suppression, budget and the donor ledger). The guarded beacons are the
production path, not a model of it: every answer is first charged with :meth:`PrivacyGuard.charge`
in a real SQLAlchemy session on a SQLite database holding the ``privacy_budgets`` table (where the
ledger lives too). Each attack is one attacker identity with a fresh budget and a fresh ledger
(the most favourable case for the attacker: a real one spends one identity's budget across all
its targets, and meets the evidence that everyone else's queries already charged to its target);
:class:`BudgetExhaustedError` ends the attack where a node would. An attack's answers are
committed together (the session sees its own charges, so the budget binds exactly as with one
transaction per request, only faster).

Power is the fraction of member targets called members by the most powerful test at a fixed
false-positive rate on outsider targets (a randomised Neyman-Pearson test, so that tied scores,
e.g. when a guard answers "no" to everything, give exactly that rate and not less: a guard cannot
look better than it is because of ties).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt
from sqlalchemy import create_engine, delete
from sqlalchemy.orm import Session

from genomed.db.base import Base, utcnow
from genomed.errors import BudgetExhaustedError, InputError
from genomed.share.attack.lrt import Floats, InformedAttacker, Ints, ShringarpureBustamante, deterministic
from genomed.share.attack.population import BeaconPopulation
from genomed.share.guard import LEDGER_PERIOD, PrivacyGuard
from genomed.share.identity import Requester, Tier
from genomed.share.models import PrivacyBudget
from genomed.share.settings import GuardSettings

CHECKPOINTS = (10, 50, 100, 300, 1000)
# raw: no guard; threshold: PrivacyGuard.count/exists on the true count (suppression + budget);
# ledger: PrivacyGuard.answer on the carriers (suppression + budget + donor ledger).
BEACONS = ("raw", "threshold", "ledger")
DATASET_ID = "simulated-beacon"
FPR = 0.05


class Beacon(Protocol):
    """What an attacker talks to: one answer per allele, or :class:`BudgetExhaustedError`."""

    def ask(self, allele: int) -> int: ...


@dataclass
class RawBeacon:
    """The beacon without a guard: the true count, or presence (1/0) when ``counts`` is false."""

    population: BeaconPopulation
    counts: bool = False

    def ask(self, allele: int) -> int:
        true_count = int(self.population.member_count[allele])
        return true_count if self.counts else int(true_count > 0)


@dataclass
class GuardedBeacon:
    """The beacon behind the real guard: charge the requester, then answer what the guard allows.

    With ``ledger`` the answer comes from :meth:`PrivacyGuard.answer` with the carriers' ids
    (the donor ledger); without, from :meth:`PrivacyGuard.count`/``exists`` with the true count.
    """

    population: BeaconPopulation
    guard: PrivacyGuard
    session: Session
    requester: Requester
    counts: bool = False
    ledger: bool = False

    def ask(self, allele: int) -> int:
        self.guard.charge(self.session, self.requester)
        if self.ledger:
            carriers = [f"member-{m}" for m in self.population.member_carriers(allele).tolist()]
            answer = self.guard.answer(self.session, self.requester, DATASET_ID, carriers,
                                       "count" if self.counts else "boolean")
        else:
            true_count = int(self.population.member_count[allele])
            answer = (self.guard.count(self.requester, DATASET_ID, true_count) if self.counts
                      else int(self.guard.exists(self.requester, DATASET_ID, true_count)))
        return answer


class Attacker(Protocol):
    def plan(self, knowledge: Ints, limit: int) -> npt.NDArray[np.int64]: ...

    def scores(self, knowledge: Ints, answers: Ints) -> Floats: ...


@dataclass(frozen=True)
class Strategy:
    """One attacker against one kind of beacon: what it knows per allele and whether it reads counts."""

    name: str
    attacker: Attacker
    knowledge: Callable[[BeaconPopulation], Ints]
    counts: bool


def power_at_fpr(members: Sequence[float] | Floats, outsiders: Sequence[float] | Floats, fpr: float = FPR) -> float:
    """Power of the randomised most-powerful test calling "member" above a threshold, at false-positive rate ``fpr``.

    >>> power_at_fpr([5, 6, 7, 8], list(range(100)))  # every member below the top 5% of outsiders
    0.0
    >>> power_at_fpr([90, 95, 200, 300], list(range(100)))  # the threshold is 94: three of four members above
    0.75
    >>> power_at_fpr([1, 1, 1], [1] * 20)  # all tied: power equals the false-positive rate
    0.05
    """
    m, o = np.asarray(members, dtype=np.float64), np.asarray(outsiders, dtype=np.float64)
    if m.size == 0 or o.size == 0:
        raise InputError("power needs member and outsider scores")
    descending = np.sort(o)[::-1]
    allowed = math.floor(fpr * o.size)
    threshold = descending[allowed] if allowed < o.size else -np.inf
    above, tied = float(np.mean(o > threshold)), float(np.mean(o == threshold))
    gamma = (fpr - above) / tied if tied > 0 else 0.0
    return float(np.mean(m > threshold) + gamma * np.mean(m == threshold))


@dataclass
class Curve:
    """Power of one strategy on one beacon after each checkpoint's number of queries."""

    strategy: str
    beacon: str
    power: dict[int, float]
    mean_queries: float  # answers the attacker got per target (fewer than asked when the budget ended it)
    budget_stops: float  # fraction of attacks ended by the budget

    def to_dict(self) -> dict[str, object]:
        return {"strategy": self.strategy, "beacon": self.beacon,
                "power": {str(k): round(v, 4) for k, v in self.power.items()},
                "mean_queries": round(self.mean_queries, 1), "budget_stops": round(self.budget_stops, 4)}


@dataclass
class AttackReport:
    population: dict[str, object]
    queries: int
    fpr: float
    tier: str
    guard: dict[str, object]
    targets: tuple[int, int]  # (members, outsiders) attacked
    curves: list[Curve] = field(default_factory=list)
    seconds: float = 0.0

    def curve(self, strategy: str, beacon: str) -> Curve:
        for curve in self.curves:
            if curve.strategy == strategy and curve.beacon == beacon:
                return curve
        raise InputError(f"no curve for {strategy} on {beacon}")

    def power(self, strategy: str, beacon: str) -> float:
        curve = self.curve(strategy, beacon)
        return curve.power[max(curve.power)]

    @property
    def power_unguarded(self) -> float:
        return self.power("shringarpure-bustamante", "raw")

    @property
    def power_guarded(self) -> float:
        return self.power("shringarpure-bustamante", "ledger")

    def to_dict(self) -> dict[str, object]:
        return {"members": self.population["members"], "queries": self.queries, "fpr": self.fpr,
                "power_unguarded": round(self.power_unguarded, 4), "power_guarded": round(self.power_guarded, 4),
                "tier": self.tier, "guard": self.guard, "targets": {"members": self.targets[0],
                                                                    "outsiders": self.targets[1]},
                "population": self.population, "seconds": round(self.seconds, 1),
                "curve": [c.to_dict() for c in self.curves]}


def _attack(beacon: Beacon, strategy: Strategy, population: BeaconPopulation, person: int, queries: int,
            knowledge: Ints) -> tuple[Floats, int, bool]:
    """(cumulative score after each answer, answers got, whether the budget ended the attack)."""
    carried = population.carried_by(person)
    known = knowledge[carried]
    order = strategy.attacker.plan(known, queries)
    answers: list[int] = []
    stopped = False
    for position in order.tolist():
        try:
            answers.append(beacon.ask(int(carried[position])))
        except BudgetExhaustedError:
            stopped = True
            break
    asked = order[:len(answers)]
    scores = strategy.attacker.scores(known[asked], np.asarray(answers, dtype=np.int32))
    return np.cumsum(scores), len(answers), stopped


def _at(cumulative: Floats, checkpoint: int) -> float:
    """The score after ``checkpoint`` queries, or after the last answer when there were fewer."""
    if cumulative.size == 0:
        return 0.0
    return float(cumulative[min(checkpoint, cumulative.size) - 1])


def strategies(population: BeaconPopulation, release_boolean: Sequence[Mapping[int, float]],
               release_counts: Sequence[Mapping[int, float]]) -> dict[str, Strategy]:
    """The attackers, built for a beacon whose answers follow ``release_*`` (true count -> answer probabilities)."""
    n, r = population.n_members, population.n_reference
    return {
        "shringarpure-bustamante": Strategy("shringarpure-bustamante", ShringarpureBustamante.build(n, r),
                                            lambda p: p.reference_copies, counts=False),
        "informed-boolean": Strategy("informed-boolean", InformedAttacker.build(n, r, release_boolean),
                                     lambda p: p.reference_carriers, counts=False),
        "informed-rarest": Strategy("informed-rarest",
                                    InformedAttacker.build(n, r, release_boolean, rarest_first=True),
                                    lambda p: p.reference_carriers, counts=False),
        "informed-counts": Strategy("informed-counts", InformedAttacker.build(n, r, release_counts),
                                    lambda p: p.reference_carriers, counts=True),
    }


def run_membership_attack(population: BeaconPopulation, *, queries: int = 1000, targets: int = 500,
                          fpr: float = FPR, settings: GuardSettings | None = None, tier: Tier = Tier.REGISTERED,
                          checkpoints: Sequence[int] = CHECKPOINTS, seed: int = 1,
                          only: Sequence[str] | None = None, beacons: Sequence[str] = BEACONS,
                          progress: Callable[[int, int], None] | None = None) -> AttackReport:
    """Attack ``targets`` members and ``targets`` outsiders with every strategy, on every beacon of :data:`BEACONS`.

    ``settings`` defaults to the node defaults (:class:`GuardSettings`); ``tier`` is the
    attacker's (registered, a passport holder, has the larger budget). ``only`` and ``beacons``
    restrict the strategies and the beacons (by name).
    """
    if tier >= Tier.CONTROLLED:
        raise InputError("a controlled-tier requester is answered exactly by design; attack a lower tier")
    started = time.perf_counter()
    guard_settings = settings if settings is not None else GuardSettings()
    now = utcnow()
    # One budget period for the whole run; the ledger's draws seeded, so that a run can be repeated.
    guard = PrivacyGuard(guard_settings, clock=lambda: now, rng=random.Random(seed))  # noqa: S311 (no attacker sees it)
    rng = np.random.default_rng(seed)
    members = np.sort(rng.choice(population.n_members, min(targets, population.n_members), replace=False))
    outsiders = population.n_members + np.sort(rng.choice(population.n_outsiders,
                                                          min(targets, population.n_outsiders), replace=False))
    people = [(int(p), True) for p in members] + [(int(p), False) for p in outsiders]
    marks = sorted({min(c, queries) for c in checkpoints} | {queries})

    probe = Requester(identity="attacker:probe", tier=tier)
    n = population.n_members
    # What each beacon answers for c carriers: the attackers know it (the guard's code is public).
    release = {
        "raw": (deterministic([int(c > 0) for c in range(n + 1)]), deterministic(list(range(n + 1)))),
        "threshold": (deterministic([int(guard.exists(probe, DATASET_ID, c)) for c in range(n + 1)]),
                      deterministic([guard.count(probe, DATASET_ID, c) for c in range(n + 1)])),
        "ledger": ([guard.release_probabilities(c, "boolean") for c in range(n + 1)],
                   [guard.release_probabilities(c, "count") for c in range(n + 1)]),
    }
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine, tables=[PrivacyBudget.__table__])  # type: ignore[list-item]
    report = AttackReport(population=population.parameters(), queries=queries, fpr=fpr, tier=tier.beacon_name,
                          guard={"min_count": guard_settings.min_count, "budget": guard.budget_of(probe),
                                 "period": guard_settings.period, "membership_odds": guard_settings.membership_odds},
                          targets=(int(members.size), int(outsiders.size)))
    jobs = [(beacon, s) for beacon in beacons for s in strategies(population, *release[beacon]).values()
            if only is None or s.name in only]
    total, done = len(jobs) * len(people), 0
    with Session(engine) as session:
        for beacon_name, strategy in jobs:
            knowledge = strategy.knowledge(population)
            scores: dict[bool, list[list[float]]] = {True: [], False: []}
            answered, stops = [], 0
            for person, is_member in people:
                beacon: Beacon
                if beacon_name == "raw":
                    beacon = RawBeacon(population, counts=strategy.counts)
                else:
                    requester = Requester(identity=f"attacker:{beacon_name}:{strategy.name}:{person}", tier=tier)
                    beacon = GuardedBeacon(population, guard, session, requester, counts=strategy.counts,
                                           ledger=beacon_name == "ledger")
                cumulative, got, stopped = _attack(beacon, strategy, population, person, queries, knowledge)
                if beacon_name == "ledger":  # each attack meets a fresh ledger: the attacker's best case
                    session.execute(delete(PrivacyBudget).where(PrivacyBudget.period == LEDGER_PERIOD))
                session.commit()
                scores[is_member].append([_at(cumulative, mark) for mark in marks])
                answered.append(got)
                stops += stopped
                done += 1
                if progress is not None and done % 50 == 0:
                    progress(done, total)
            m, o = np.asarray(scores[True]), np.asarray(scores[False])
            report.curves.append(Curve(strategy=strategy.name, beacon=beacon_name,
                                       power={mark: power_at_fpr(m[:, j], o[:, j], fpr)
                                              for j, mark in enumerate(marks)},
                                       mean_queries=float(np.mean(answered)), budget_stops=stops / len(people)))
    engine.dispose()
    report.seconds = time.perf_counter() - started
    return report

