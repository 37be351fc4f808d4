"""Beacon v2 filters: reading them from a request and applying them to the document index.

A filter is an ontology term (``NCIT:C20197``; by default with its descendants), a custom term, or
an alphanumeric condition on a field (``{"id": "libraryStrategy", "operator": "=", "value":
"%WGS%"}``). Several filters combine with AND (framework ``filteringTerms.json``). A filter whose
term lives on another entry type than the one queried (the sex of an individual, when querying
biosamples or variants) is followed through the individuals and biosamples the documents share.

A filter this beacon knows nothing of (no document carries the term or field, and it is no HPO
term) is an error naming it: answering as if it were absent would return more than was asked, and
answering "nothing" would look like a real negative.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from genomed.errors import InputError
from genomed.share.beacon.index import HPO_PREFIX, DocumentIndex, EntryIndex
from genomed.share.beacon.model import BY_ID, SCOPE_NAMES, EntryType
from genomed.share.beacon.terms import comparable, wildcard_pattern

MAX_FILTERS = 50
MAX_FILTER_LENGTH = 200
OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge,
}
SIMILARITIES = ("exact", "high", "medium", "low")
_HPO_ID = re.compile(r"^HP:\d{7}$")
# Where a filter on another entry type is looked for first, when it names no scope.
_SCOPE_ORDER = ("individual", "biosample", "run", "analysis", "genomicVariant", "cohort", "dataset")


@dataclass(frozen=True)
class Filter:
    """One filter as requested; ``operator``/``value`` are set for alphanumeric filters only."""

    id: str
    operator: str | None = None
    value: str | None = None
    include_descendants: bool = True
    scope: str | None = None    # an entry type id
    similarity: str = "exact"

    @property
    def alphanumeric(self) -> bool:
        return self.operator is not None

    def as_request(self) -> str:
        """How the filter is echoed in ``receivedRequestSummary.filters`` (a list of strings there)."""
        return f"{self.id}{self.operator}{self.value}" if self.alphanumeric else self.id


@dataclass(frozen=True)
class FilterResult:
    rows: set[int]
    warnings: tuple[str, ...] = ()


def _text(value: object, what: str, limit: int = MAX_FILTER_LENGTH) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{what} must be a non-empty string")
    if len(value) > limit:
        raise InputError(f"{what} is longer than {limit} characters")
    return value.strip()


def _scope(value: object) -> str | None:
    if value is None:
        return None
    name = _text(value, "a filter scope")
    scope = SCOPE_NAMES.get(name.lower())
    if scope is None:
        raise InputError(f"unknown filter scope {name!r}; scopes are entry types such as individuals, biosamples")
    return scope


def parse_filter(item: object) -> Filter:
    """One filter of a POST body: a term id, or an object with ``id`` and options."""
    if isinstance(item, str):
        return Filter(_text(item, "a filter"))
    if not isinstance(item, dict):
        raise InputError(f"a filter must be a term id or an object, not {type(item).__name__}")
    known = {"id", "operator", "value", "includeDescendantTerms", "scope", "similarity"}
    unknown = set(item) - known
    if unknown:
        raise InputError(f"unknown filter field(s) {', '.join(sorted(map(str, unknown)))}; "
                         f"a filter has {', '.join(sorted(known))}")
    ident = _text(item.get("id"), "a filter id")
    scope = _scope(item.get("scope"))
    if "operator" in item or "value" in item:
        op = item.get("operator", "=")
        if op not in ("=", "!", *OPERATORS):
            raise InputError(f"filter {ident}: unknown operator {op!r}; one of =, !, <, >, <=, >=")
        if isinstance(item.get("value"), int | float) and not isinstance(item.get("value"), bool):
            value = str(item["value"])
        else:
            value = _text(item.get("value"), f"the value of filter {ident}")
        return Filter(ident, operator=str(op), value=value, scope=scope)
    descendants = item.get("includeDescendantTerms", True)
    if not isinstance(descendants, bool):
        raise InputError(f"filter {ident}: includeDescendantTerms must be true or false")
    similarity = item.get("similarity", "exact")
    if similarity not in SIMILARITIES:
        raise InputError(f"filter {ident}: similarity must be one of {', '.join(SIMILARITIES)}")
    return Filter(ident, include_descendants=descendants, scope=scope, similarity=str(similarity))


def parse_filters(value: object) -> tuple[Filter, ...]:
    """The filters of a request: a comma-separated string (GET) or a list (POST)."""
    if value is None:
        return ()
    items: list[object]
    if isinstance(value, str):
        items = [part for part in (p.strip() for p in value.split(",")) if part]
    elif isinstance(value, list):
        items = list(value)
    else:
        raise InputError("filters must be a list (or, in a GET request, comma-separated term ids)")
    if len(items) > MAX_FILTERS:
        raise InputError(f"at most {MAX_FILTERS} filters per request, got {len(items)}")
    return tuple(parse_filter(item) for item in items)


@cache
def _hpo_terms() -> frozenset[str]:
    from genomed.share.beacon.index import hpo_ancestors

    return frozenset(hpo_ancestors())


def _known_somewhere(index: DocumentIndex, f: Filter) -> bool:
    if f.alphanumeric:
        return any(f.id in e.values for e in index.entries.values()) or \
            any(d.get("id") == f.id for d in index.declared_filters)
    if any(e.knows_term(f.id) for e in index.entries.values()):
        return True
    return bool(_HPO_ID.match(f.id)) and f.id in _hpo_terms()


def _rows_matching(entry: EntryIndex, f: Filter) -> set[int]:
    if not f.alphanumeric:
        return set(entry.rows_with_term(f.id, f.include_descendants))
    values: Mapping[str, set[int]] = entry.values.get(f.id, {})
    rows: set[int] = set()
    if f.value is None:
        return rows
    if f.operator in ("=", "!"):
        pattern = wildcard_pattern(f.value)
        for value, posted in values.items():
            if bool(pattern.fullmatch(value)) == (f.operator == "="):
                rows |= posted
        return rows
    compare = OPERATORS[str(f.operator)]
    wanted = comparable(f.value)
    for value, posted in values.items():
        have = comparable(value)
        if type(have) is type(wanted) and compare(have, wanted):
            rows |= posted
    return rows


def _in_entry(entry: EntryIndex, f: Filter) -> bool:
    return f.id in entry.values if f.alphanumeric else entry.knows_term(f.id)


def apply_filters(index: DocumentIndex, entry_type: EntryType, filters: Iterable[Filter],
                  rows: Iterable[int]) -> FilterResult:
    """The rows (of ``entry_type``, among ``rows``) every filter keeps, with warnings for the client.

    Raises :class:`InputError` naming the filters no document knows.
    """
    target = index.entry(entry_type)
    kept = set(rows)
    filters = list(filters)
    unknown = [f.as_request() for f in filters if not _known_somewhere(index, f)]
    if unknown:
        raise InputError(f"unknown filter(s): {', '.join(unknown)}; see /filtering_terms for the terms this "
                         "beacon can filter on")
    warnings: list[str] = []
    for f in filters:
        if f.similarity != "exact":
            warnings.append(f"filter {f.id}: similarity {f.similarity!r} is answered as exact")
        if f.scope is not None:
            scopes = [f.scope]
        elif _in_entry(target, f):
            scopes = [entry_type.id]
        else:
            scopes = [s for s in _SCOPE_ORDER if _in_entry(index.entries[s], f)]
        matched: set[int] = set()
        for scope in scopes:
            source = index.entries[scope]
            hits = _rows_matching(source, f)
            matched |= hits if source is target else target.rows_linked_to(source, hits)
        if not scopes and f.id.startswith(HPO_PREFIX):
            matched = set()  # a real HPO term no document carries: nothing matches
        kept &= matched
        if not kept:
            break
    return FilterResult(kept, tuple(warnings))


def scope_name(entry_id: str) -> str:
    """The endpoint path an entry type id is served at, used in filtering term ``scopes``."""
    return BY_ID[entry_id].path
