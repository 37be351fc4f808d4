"""The privacy guard's budgets, suppression and donor ledger, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import doctest
import math
import random
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from genomed.db.base import Base
from genomed.db.engine import make_engine
from genomed.errors import BudgetExhaustedError, ConfigurationError, InputError
from genomed.share import disclosure
from genomed.share.disclosure import count_bins
from genomed.share.guard import DONOR_PREFIX, LEDGER_PERIOD, MICRO, PrivacyGuard
from genomed.share.identity import Requester, Tier
from genomed.share.models import PrivacyBudget
from genomed.share.settings import GuardSettings

NOON = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    Base.metadata.create_all(engine, tables=[PrivacyBudget.__table__])  # type: ignore[list-item]
    yield engine
    engine.dispose()


def guard(budget: int = 3, clock: dt.datetime = NOON) -> PrivacyGuard:
    return PrivacyGuard(GuardSettings(budget_public=budget, budget_registered=10 * budget), clock=lambda: clock)


def test_a_budget_is_spent_then_refused_without_spending(engine: Engine) -> None:
    anonymous = Requester.anonymous("10.0.0.1")
    with Session(engine) as session:
        assert [guard().charge(session, anonymous) for _ in range(3)] == [2, 1, 0]
        with pytest.raises(BudgetExhaustedError, match="budget of 3 per day"):
            guard().charge(session, anonymous)
        session.commit()
        row = session.scalar(select(PrivacyBudget).where(PrivacyBudget.identity == anonymous.identity))
        assert row is not None and row.spent == 3  # the refused query spent nothing


def test_a_charge_larger_than_what_is_left_is_refused_whole(engine: Engine) -> None:
    registered = Requester(identity="https://broker#alice", tier=Tier.REGISTERED)
    with Session(engine) as session:
        assert guard().charge(session, registered, queries=25) == 5
        with pytest.raises(BudgetExhaustedError):
            guard().charge(session, registered, queries=6)
        assert guard().charge(session, registered, queries=5) == 0
        with pytest.raises(InputError):
            guard().charge(session, registered, queries=-1)  # a negative charge would refill the budget


def test_budgets_survive_a_restart_and_refill_next_period(engine: Engine) -> None:
    anonymous = Requester.anonymous("10.0.0.2")
    with Session(engine) as session:
        guard().charge(session, anonymous, queries=3)
        session.commit()
    with Session(engine) as session, pytest.raises(BudgetExhaustedError):
        guard().charge(session, anonymous)  # a new guard (a restarted node) reads the spend back
    with Session(engine) as session:
        assert guard(clock=NOON + dt.timedelta(days=1)).charge(session, anonymous) == 2
    hourly = PrivacyGuard(GuardSettings(period="hour"), clock=lambda: NOON)
    assert hourly.period() == "2026-03-01T12"


def test_controlled_requesters_are_neither_budgeted_nor_suppressed(engine: Engine) -> None:
    controlled = Requester(identity="https://broker#bob", tier=Tier.CONTROLLED, controlled_datasets=frozenset({"d1"}))
    with Session(engine) as session:
        assert guard().charge(session, controlled, queries=1000) is None
        assert session.scalar(select(PrivacyBudget)) is None
    assert guard().count(controlled, "d1", 2) == 2
    assert guard().count(controlled, "other", 2) == 0  # a grant is for one dataset
    assert not guard().exists(Requester.anonymous(), "d1", 4)
    assert guard().count(Requester.anonymous(), "d1", 5) == 5


def test_concurrent_charges_never_overspend(engine: Engine) -> None:
    """Regression: a read-then-write charge let simultaneous requests of one identity overrun its budget."""
    budget = 60
    anonymous = Requester.anonymous("10.0.0.3")
    granted, failures = [], []
    lock = threading.Lock()

    def spend() -> None:
        for _ in range(budget):
            try:
                with Session(engine) as session:
                    guard(budget=budget).charge(session, anonymous)
                    session.commit()
                with lock:
                    granted.append(1)
            except BudgetExhaustedError:
                pass
            except Exception as exc:  # a lost update or a lock error would show here
                failures.append(exc)

    threads = [threading.Thread(target=spend) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(granted) == budget
    with Session(engine) as session:
        assert session.scalar(select(PrivacyBudget.spent)) == budget


def ledger_guard(min_count: int = 5, seed: int = 1, **settings: float) -> PrivacyGuard:
    return PrivacyGuard(GuardSettings(min_count=min_count, **settings), clock=lambda: NOON,  # type: ignore[arg-type]
                        rng=random.Random(seed))


def ledger(session: Session) -> dict[str, int]:
    rows = session.execute(select(PrivacyBudget.identity, PrivacyBudget.spent)
                           .where(PrivacyBudget.period == LEDGER_PERIOD))
    return {identity.removeprefix(DONOR_PREFIX): spent for identity, spent in rows}


def test_answers_near_the_threshold_stop_once_their_carriers_have_told_enough(engine: Engine) -> None:
    guard, anonymous = ledger_guard(), Requester.anonymous()
    budget = math.log(2) * MICRO
    carriers = [f"s{i}" for i in range(6)]
    with Session(engine) as session:
        answers = [guard.answer(session, anonymous, "d1", carriers) for _ in range(40)]
        charged = ledger(session)
        session.commit()
    # Six carriers: "yes" with probability 3/4, telling ln 1.5 = 0.41 nats about each. After one
    # such answer no carrier can afford another, so they are left out and the allele reads as
    # absent ("yes" one time in 64).
    first = answers.index(1)
    assert answers[first + 1:].count(1) <= 3
    assert set(charged) == set(carriers)
    assert all(spent == math.ceil(math.log(1.5) * MICRO) <= budget for spent in charged.values())
    with Session(engine) as session:  # the ledger is in the database: a restarted node keeps it
        assert ledger(session) == charged
        assert sum(ledger_guard(seed=2).answer(session, anonymous, "d2", carriers) for _ in range(40)) <= 3


def test_common_alleles_cost_their_carriers_nothing(engine: Engine) -> None:
    guard, registered = ledger_guard(), Requester(identity="iss#sub", tier=Tier.REGISTERED)
    carriers = [f"c{i}" for i in range(40)]
    with Session(engine) as session:
        assert {guard.answer(session, registered, "d1", carriers) for _ in range(50)} == {1}
        assert {guard.answer(session, registered, "d1", carriers, "count") for _ in range(50)} == {25}
        assert guard.answer(session, registered, "d1", []) == 0  # an absent allele tells about no one
        assert ledger(session) == {}


def test_the_released_answers_follow_the_published_probabilities(engine: Engine) -> None:
    """Rare, spread-out carriers (never charged twice) answer as release_probabilities says."""
    guard, anonymous = ledger_guard(seed=3), Requester.anonymous()
    draws = 400
    with Session(engine) as session:
        for count, granularity in ((7, "boolean"), (12, "count")):
            expected = guard.release_probabilities(count, granularity)  # type: ignore[arg-type]
            seen: dict[int, int] = {}
            for n in range(draws):
                donors = [f"{count}-{n}-{i}" for i in range(count)]
                answer = guard.answer(session, anonymous, "d1", donors, granularity)  # type: ignore[arg-type]
                seen[answer] = seen.get(answer, 0) + 1
            for answer, probability in expected.items():
                if probability > 0.02:
                    assert abs(seen.get(answer, 0) / draws - probability) < 4 * math.sqrt(probability / draws)
            assert set(seen) <= set(expected)


def test_controlled_answers_are_exact_and_leave_the_ledger_alone(engine: Engine) -> None:
    controlled = Requester(identity="iss#c", tier=Tier.CONTROLLED, controlled_datasets=frozenset({"d1"}))
    with Session(engine) as session:
        assert ledger_guard().answer(session, controlled, "d1", ["a", "b"], "count") == 2
        assert ledger_guard().answer(session, controlled, "d1", ["a", "a"], "boolean") == 1
        assert ledger_guard().answer(session, controlled, "d2", ["a"] * 3, "count") in (0, 5)  # no grant there
        assert ledger(session) == {}


def test_guard_settings_are_checked() -> None:
    with pytest.raises(ConfigurationError, match="membership_odds"):
        GuardSettings(membership_odds=1.0)
    with pytest.raises(ConfigurationError, match="membership_odds"):
        GuardSettings(membership_odds=float("nan"))
    assert count_bins(3, 100) == [3, 6, 15, 30, 60]


def test_doctests() -> None:
    assert doctest.testmod(disclosure).failed == 0
