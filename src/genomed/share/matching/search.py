"""Matching one query patient against the cases this node offers now.

The consent check happens here, on every search, in the database (:func:`.store.matchable_cases`),
so a withdrawal counts from the next query. What is cached across queries is only the *prepared*
form of each stored document (gene identities, variant keys, HPO ancestors): keyed by the row and
the moment its document was stored, so a re-imported document is prepared again, and pruned of
rows that are no longer offered. A stored document that no longer parses (edited outside genomed)
is left out and logged, rather than failing every answer.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from genomed.share.matching.documents import MmeDocumentError, MmePatient, parse_patient
from genomed.share.matching.scoring import DEFAULT_LIMIT, Match, Matcher, PreparedPatient
from genomed.share.matching.store import CaseVersion, documents_of, matchable_versions

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchSettings:
    limit: int = DEFAULT_LIMIT
    min_score: float = 0.0
    """Results must score above this (0: any case that shares something)."""


class CaseIndex:
    """Prepared match cases, cached per row version (thread-safe: the endpoint runs in a thread pool)."""

    def __init__(self, matcher: Matcher | None = None) -> None:
        self.matcher = matcher or Matcher()
        # None: a stored document that does not parse (edited outside genomed); skipped, logged once per version.
        self._prepared: dict[int, tuple[dt.datetime, PreparedPatient | None]] = {}
        self._lock = threading.Lock()

    def prepared(self, session: Session, versions: Sequence[CaseVersion]) -> list[tuple[str, PreparedPatient]]:
        """The prepared form of each version, reading and preparing only those not cached yet; prunes the rest."""
        with self._lock:
            cached = dict(self._prepared)
        missing = [v for v in versions if (hit := cached.get(v.row_id)) is None or hit[0] != v.stored_at]
        documents = documents_of(session, [v.row_id for v in missing])
        for version in missing:
            try:
                patient = parse_patient(documents[version.row_id], where=f"match case {version.case_id}")
            except MmeDocumentError as exc:
                LOG.error("match case %s is left out of matching until it is stored again: %s", version.case_id, exc)
                cached[version.row_id] = (version.stored_at, None)
                continue
            cached[version.row_id] = (version.stored_at, self.matcher.prepare(patient))
        live = {v.row_id for v in versions}
        with self._lock:
            self._prepared = {row_id: entry for row_id, entry in cached.items() if row_id in live}
        out = []
        for version in versions:
            prepared = cached[version.row_id][1]
            if prepared is not None:
                out.append((version.case_id, prepared))
        return out


def search(session: Session, index: CaseIndex, query: MmePatient, settings: SearchSettings | None = None, *,
           exclude: str | None = None, at: dt.datetime | None = None) -> list[Match]:
    """The best matches for ``query`` among the cases matchable at ``at`` (now); ``exclude`` skips one case id."""
    chosen = settings or SearchSettings()
    cases = index.prepared(session, matchable_versions(session, at))
    prepared_query = index.matcher.prepare(query)
    return index.matcher.rank(prepared_query, ((key, case) for key, case in cases if key != exclude),
                              limit=chosen.limit, min_score=chosen.min_score)


__all__ = ["CaseIndex", "SearchSettings", "search"]
