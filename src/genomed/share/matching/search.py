"""Matching one query patient against the cases this node offers now.

The consent check happens here, on every search, in the database (:func:`.store.matchable_cases`),
so a withdrawal counts from the next query. What is cached across queries is only the *prepared*
form of each stored document (gene identities, variant keys, HPO ancestors): keyed by the row and
the moment its document was stored, so a re-imported document is prepared again, and pruned of
rows that are no longer offered.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass

from sqlalchemy.orm import Session

from genomed.share.matching.documents import MmePatient, parse_patient
from genomed.share.matching.scoring import DEFAULT_LIMIT, Match, Matcher, PreparedPatient
from genomed.share.matching.store import matchable_cases
from genomed.share.models import MatchCase


@dataclass(frozen=True)
class SearchSettings:
    limit: int = DEFAULT_LIMIT
    min_score: float = 0.0
    """Results must score above this (0: any case that shares something)."""


class CaseIndex:
    """Prepared match cases, cached per row version (thread-safe: the endpoint runs in a thread pool)."""

    def __init__(self, matcher: Matcher | None = None) -> None:
        self.matcher = matcher or Matcher()
        self._prepared: dict[int, tuple[dt.datetime, PreparedPatient]] = {}
        self._lock = threading.Lock()

    def prepared(self, row: MatchCase) -> PreparedPatient:
        with self._lock:
            cached = self._prepared.get(row.id)
        if cached is not None and cached[0] == row.created_at:
            return cached[1]
        prepared = self.matcher.prepare(parse_patient(row.document, where=f"match case {row.case_id}"))
        with self._lock:
            self._prepared[row.id] = (row.created_at, prepared)
        return prepared

    def prune(self, live: set[int]) -> None:
        with self._lock:
            for stale in set(self._prepared) - live:
                del self._prepared[stale]


def search(session: Session, index: CaseIndex, query: MmePatient, settings: SearchSettings | None = None, *,
           exclude: str | None = None, at: dt.datetime | None = None) -> list[Match]:
    """The best matches for ``query`` among the cases matchable at ``at`` (now); ``exclude`` skips one case id."""
    chosen = settings or SearchSettings()
    offered = matchable_cases(session, at)
    index.prune({row.id for row in offered})
    rows = [row for row in offered if row.case_id != exclude]
    prepared_query = index.matcher.prepare(query)
    return index.matcher.rank(prepared_query, ((row.case_id, index.prepared(row)) for row in rows),
                              limit=chosen.limit, min_score=chosen.min_score)


__all__ = ["CaseIndex", "SearchSettings", "search"]
