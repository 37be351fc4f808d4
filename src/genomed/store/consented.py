"""The variant store as the rest of the node sees it: every answer leaves out samples without consent.

Which samples to leave out depends on why the question is asked: counts for care use the
diagnosis consent, research queries the research consent, answers to other nodes the sharing
consents. The set is read from the catalog and cached; it is read again as soon as any process of
the node signals a consent change (a file touched after the commit), and at least every
``recheck_seconds`` in case a signal was lost, so a withdrawal takes effect at once.
"""

from __future__ import annotations

import time
from collections.abc import Collection

import pyarrow as pa

from genomed.access.purpose import Purpose
from genomed.catalog.consent_rules import Scope, samples_without_scope
from genomed.context import NodeContext
from genomed.store.query import AlleleCounts, Carriers

SCOPE_FOR_PURPOSE = {
    Purpose.CARE: Scope.DIAGNOSIS,
    Purpose.QUALITY: Scope.DIAGNOSIS,
    Purpose.RESEARCH: Scope.RESEARCH,
    Purpose.SHARING: Scope.NATIONAL_SHARING,
}


class ConsentedCohort:
    """Consent-aware queries over the node's variant store, for one purpose."""

    def __init__(self, ctx: NodeContext, purpose: Purpose = Purpose.CARE, recheck_seconds: float = 1.0,
                 scope: Scope | None = None) -> None:
        self.ctx = ctx
        self.scope = scope or SCOPE_FOR_PURPOSE.get(purpose, Scope.RESEARCH)
        self.recheck_seconds = recheck_seconds
        self._excluded: frozenset[int] = frozenset()
        self._signal_mtime = -1
        self._checked_at = -1e18

    def excluded(self) -> frozenset[int]:
        """Samples whose consent does not cover this purpose, as of now."""
        signal = self.ctx.config.consent_signal
        mtime = signal.stat().st_mtime_ns if signal.exists() else 0
        now = time.monotonic()
        if mtime != self._signal_mtime or now - self._checked_at > self.recheck_seconds:
            with self.ctx.transaction() as session:
                self._excluded = frozenset(samples_without_scope(session, self.scope))
            self._signal_mtime, self._checked_at = mtime, now
        return self._excluded

    def variant(self, chrom: str, pos: int, ref: str, alt: str) -> AlleleCounts:
        return self.ctx.store.variant(chrom, pos, ref, alt, exclude=self.excluded())

    def carriers(self, chrom: str, pos: int, ref: str, alt: str) -> Carriers:
        return self.ctx.store.carriers(chrom, pos, ref, alt, exclude=self.excluded())

    def region(self, chrom: str, start: int, end: int) -> list[AlleleCounts]:
        return self.ctx.store.region(chrom, start, end, exclude=self.excluded())

    def subcohort_frequencies(self, samples: Collection[int]) -> pa.Table:
        return self.ctx.store.subcohort_frequencies(set(samples) - self.excluded())
