"""What a Beacon document can be filtered on: its ontology terms and its alphanumeric fields.

Beacon v2 filters name ontology terms by CURIE (``NCIT:C20197``, ``HP:0001250``) wherever they
occur in a document (``sex``, ``diseases[].diseaseCode``, ``phenotypicFeatures[].featureType``...),
or an alphanumeric field by its dotted path (``libraryStrategy``,
``diseases.ageOfOnset.iso8601duration``) with an operator. So one walk over each document yields
both: every nested object whose ``id`` is a CURIE is a term, and every text or number leaf is the
value of the dotted path leading to it (list positions do not appear in paths).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# The CURIE pattern of beaconCommonComponents.json (prefix, a colon, a local part), without spaces.
CURIE = re.compile(r"^\w[^:\s]*:\S+$")
_DURATION = re.compile(r"^P(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?$")


@dataclass(frozen=True)
class DocumentFacts:
    """The terms (id → label) and alphanumeric values (path → values) of one document."""

    terms: dict[str, str]
    values: dict[str, set[str]]


def is_curie(value: object) -> bool:
    """Whether ``value`` is a CURIE such as ``NCIT:C20197``.

    >>> is_curie("HP:0001250"), is_curie("HG00096"), is_curie("a b:c")
    (True, False, False)
    """
    return isinstance(value, str) and bool(CURIE.match(value))


def facts_of(document: dict[str, Any]) -> DocumentFacts:
    """Every ontology term and alphanumeric leaf value of a document.

    >>> facts = facts_of({"id": "I1", "sex": {"id": "NCIT:C20197", "label": "male"},
    ...                   "diseases": [{"ageOfOnset": {"iso8601duration": "P40Y"}}]})
    >>> facts.terms
    {'NCIT:C20197': 'male'}
    >>> sorted(facts.values)
    ['diseases.ageOfOnset.iso8601duration', 'id', 'sex.id', 'sex.label']
    """
    terms: dict[str, str] = {}
    values: dict[str, set[str]] = {}
    for path, value in _leaves(document, "", depth=0, terms=terms):
        values.setdefault(path, set()).add(value)
    return DocumentFacts(terms, values)


def _leaves(value: Any, path: str, *, depth: int, terms: dict[str, str]) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        if depth > 0 and is_curie(value.get("id")):
            label = value.get("label")
            terms.setdefault(value["id"], label if isinstance(label, str) else "")
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else str(key), depth=depth + 1, terms=terms)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item, path, depth=depth + 1, terms=terms)
    elif isinstance(value, str):
        yield path, value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield path, repr(value) if isinstance(value, float) and not value.is_integer() else str(int(value))


def comparable(value: str) -> float | str:
    """A value as a number when it reads as one (ISO 8601 durations in days), else as text.

    >>> comparable("179.3"), comparable("P1Y6M"), comparable("WGS")
    (179.3, 547.5, 'WGS')
    """
    try:
        return float(value)
    except ValueError:
        pass
    match = _DURATION.match(value)
    if match and any(match.groups()):
        years, months, weeks, days = (float(g) if g else 0.0 for g in match.groups())
        return years * 365.0 + months * 30.5 + weeks * 7.0 + days
    return value


def wildcard_pattern(value: str) -> re.Pattern[str]:
    """A Beacon alphanumeric value with ``%`` wildcards as a case-insensitive full-match pattern.

    >>> bool(wildcard_pattern("%WGS%").fullmatch("Short read Illumina WGS sequencing"))
    True
    """
    return re.compile(".*".join(re.escape(part) for part in value.split("%")), re.IGNORECASE | re.DOTALL)
