"""The MME benchmark: do the 50 published test patients find a patient with the same disorder?

The Matchmaker Exchange published 50 patients compiled from the literature
(``mme/benchmark_patients.json``; Buske et al., Hum Mutat 2015), each with HPO features,
candidate genes and variants, and for most an OMIM disorder. Each patient is sent as a query
against the 49 others; a hit is a result among the top 1 / top 5 that shares one of its disorder
ids (``MIM:``/``OMIM:`` and ``Orphanet:``/``ORPHA:`` read as the same namespaces). Fractions are
of all 50, as the MME papers report them; only 30 of the 50 have a same-disorder partner at all
(7 have no disorder, 13 a disorder nobody else has), so 0.6 is the ceiling.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from genomed.share.matching.documents import MmePatient
from genomed.share.matching.scoring import Matcher

BENCHMARK_FILE = "mme/benchmark_patients.json"
_LEADING_ZEROS = re.compile(r"^0+(?=\d)")
_PREFIXES = {"MIM": "OMIM", "OMIM": "OMIM", "ORPHANET": "ORPHA", "ORPHA": "ORPHA"}


def disorder_ids(patient: MmePatient) -> frozenset[str]:
    """A patient's disorder ids in one spelling per namespace.

    >>> from genomed.share.matching.documents import parse_patient
    >>> p = parse_patient({"id": "p", "contact": {"name": "n", "href": "mailto:n@x.org"},
    ...                    "features": [{"id": "HP:0000001"}],
    ...                    "disorders": [{"id": "MIM:610536"}, {"id": "Orphanet:79"}]})
    >>> sorted(disorder_ids(p))
    ['OMIM:610536', 'ORPHA:79']
    """
    out = set()
    for disorder in patient.disorders:
        prefix, _, local = disorder.id.partition(":")
        number = _LEADING_ZEROS.sub("", local.strip())
        out.add(f"{_PREFIXES.get(prefix.upper(), prefix.upper())}:{number}")
    return frozenset(out)


@dataclass(frozen=True)
class BenchmarkOutcome:
    patients: int
    with_partner: int
    """Patients that share a disorder with at least one other patient (the reachable hits)."""
    top1: int
    top5: int
    ranks: tuple[tuple[str, int | None], ...]
    """Each query's rank of its first same-disorder result (1-based), None when none was returned."""
    latencies: tuple[float, ...]
    top5_recall: float = 0.0
    """Mean, over the patients with a partner, of same-disorder results in the top 5 / min(5, partners):
    finer than top-5 (which one hit fills), it tells whether *all* the similar patients come first."""

    @property
    def top1_fraction(self) -> float:
        return self.top1 / self.patients if self.patients else 0.0

    @property
    def top5_fraction(self) -> float:
        return self.top5 / self.patients if self.patients else 0.0


Search = Callable[[MmePatient], Sequence[MmePatient]]
"""A matchmaker under test: the query → the returned patients, best first."""


def evaluate(patients: Sequence[MmePatient], search: Search) -> BenchmarkOutcome:
    """Send each patient to ``search`` and count same-disorder results in the top 1 and top 5."""
    disorders = {p.id: disorder_ids(p) for p in patients}
    with_partner = sum(1 for p in patients if disorders[p.id] and any(
        disorders[p.id] & disorders[o.id] for o in patients if o.id != p.id))
    ranks: list[tuple[str, int | None]] = []
    latencies: list[float] = []
    recalls: list[float] = []
    for query in patients:
        started = time.perf_counter()
        found = [r for r in search(query) if r.id != query.id]
        latencies.append(time.perf_counter() - started)
        same = [bool(disorders[query.id] & disorder_ids(r)) for r in found]
        ranks.append((query.id, next((i + 1 for i, hit in enumerate(same) if hit), None)))
        partners = sum(1 for o in patients if o.id != query.id and disorders[query.id] & disorders[o.id])
        if partners:
            recalls.append(sum(same[:5]) / min(5, partners))
    return BenchmarkOutcome(len(patients), with_partner, sum(1 for _, r in ranks if r == 1),
                            sum(1 for _, r in ranks if r is not None and r <= 5), tuple(ranks), tuple(latencies),
                            sum(recalls) / len(recalls) if recalls else 0.0)


def in_memory_search(patients: Iterable[MmePatient], matcher: Matcher | None = None, limit: int = 5) -> Search:
    """Our scoring over the patients themselves (each query leaves itself out), with no database or HTTP."""
    chosen = matcher or Matcher()
    prepared = [(p.id, chosen.prepare(p)) for p in patients]

    def search(query: MmePatient) -> list[MmePatient]:
        others = [(key, case) for key, case in prepared if key != query.id]
        return [m.case.patient for m in chosen.rank(chosen.prepare(query), others, limit=limit)]

    return search


__all__ = ["BENCHMARK_FILE", "BenchmarkOutcome", "Search", "disorder_ids", "evaluate", "in_memory_search"]
