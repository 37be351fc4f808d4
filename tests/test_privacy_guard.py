"""The privacy guard's budgets and suppression, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from genomed.db.base import Base
from genomed.db.engine import make_engine
from genomed.errors import BudgetExhaustedError, InputError
from genomed.share.guard import PrivacyGuard
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
