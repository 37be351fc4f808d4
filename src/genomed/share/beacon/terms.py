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
    # An explicit stack rather than recursion: this runs over every document at every load.
    stack: list[tuple[Any, str, bool]] = [(document, "", True)]
    while stack:
        value, path, top = stack.pop()
        if isinstance(value, dict):
            ident = value.get("id")
            if not top and isinstance(ident, str) and CURIE.match(ident):
                label = value.get("label")
                terms.setdefault(ident, label if isinstance(label, str) else "")
            prefix = f"{path}." if path else ""
            stack.extend((item, prefix + str(key), False) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend((item, path, False) for item in value)
        elif isinstance(value, str):
            values.setdefault(path, set()).add(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            text = repr(value) if isinstance(value, float) and not value.is_integer() else str(int(value))
            values.setdefault(path, set()).add(text)
    return DocumentFacts(terms, values)


def comparable(value: str) -> float | str:
    """A value as a number when it reads as one (ISO 8601 durations in days), else as text.

    >>> comparable("179.3"), comparable("P1Y6M"), comparable("WGS")
    (179.3, 548.0, 'WGS')
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
