"""The in-memory index of loaded Beacon documents that filters and lookups run against.

Built once from ``beacon_documents`` when the node starts serving, and again after each load
(:mod:`.documents` touches a signal file the service watches). A query then never touches the
database: a filter is a set lookup in postings (term → rows, field → value → rows), and a lookup
across entry types (the biosamples of an individual, the individuals carrying a variant) follows
link keys, which are (dataset, individual id) and (dataset, biosample id) pairs.

HPO terms are indexed with their ancestors too (from the node's HPO release, the one
interpretation uses), so that a filter on ``HP:0001250`` (Seizure) finds an individual annotated
with its descendant ``HP:0007359`` (Focal-onset seizure), as ``includeDescendantTerms`` asks.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from genomed.share.beacon.documents import FILTERING_TERM, document_id
from genomed.share.beacon.model import BIOSAMPLES, ENTRY_TYPES, VARIANTS, EntryType
from genomed.share.beacon.terms import facts_of
from genomed.share.models import BeaconDocument

LOG = logging.getLogger(__name__)
HPO_PREFIX = "HP:"
LinkKey = tuple[str, str]  # (dataset id, individual or biosample id)


@dataclass
class EntryIndex:
    """One entry type's documents and postings; a row is a position in ``documents``."""

    entry: EntryType
    documents: list[dict[str, Any]] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    ids: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_dataset: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    terms: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    descendants: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    labels: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, set[int]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(set)))
    individuals: list[frozenset[LinkKey]] = field(default_factory=list)
    biosamples: list[frozenset[LinkKey]] = field(default_factory=list)
    rows_of_individual: dict[LinkKey, set[int]] = field(default_factory=lambda: defaultdict(set))
    rows_of_biosample: dict[LinkKey, set[int]] = field(default_factory=lambda: defaultdict(set))

    def __len__(self) -> int:
        return len(self.documents)

    def add(self, dataset: str, body: dict[str, Any]) -> None:
        row = len(self.documents)
        self.documents.append(body)
        self.datasets.append(dataset)
        ident = document_id(self.entry, body)
        if isinstance(ident, str):
            self.ids[ident].append(row)
        self.by_dataset[dataset].append(row)
        facts = facts_of(body)
        for term, label in facts.terms.items():
            self.terms[term].add(row)
            if label and term not in self.labels:
                self.labels[term] = label
        for path, values in facts.values.items():
            for value in values:
                self.values[path][value].add(row)
        individuals, biosamples = _links(self.entry, dataset, body)
        self.individuals.append(individuals)
        self.biosamples.append(biosamples)

    def finish(self, individual_of_biosample: Mapping[LinkKey, LinkKey]) -> None:
        """Complete the links (a variant's individuals through its biosamples) and their reverse maps."""
        for row, biosamples in enumerate(self.biosamples):
            extra = {individual_of_biosample[b] for b in biosamples if b in individual_of_biosample}
            if extra - self.individuals[row]:
                self.individuals[row] = self.individuals[row] | extra
        for row, keys in enumerate(self.individuals):
            for key in keys:
                self.rows_of_individual[key].add(row)
        for row, keys in enumerate(self.biosamples):
            for key in keys:
                self.rows_of_biosample[key].add(row)

    def expand_hpo(self, closure: Mapping[str, frozenset[str]]) -> None:
        """Post each HPO term's rows under every ancestor too (``includeDescendantTerms``)."""
        for term, rows in list(self.terms.items()):
            for ancestor in closure.get(term, frozenset({term})) if term.startswith(HPO_PREFIX) else (term,):
                self.descendants[ancestor] |= rows

    def rows_with_term(self, term: str, descendants: bool) -> set[int]:
        if descendants and term.startswith(HPO_PREFIX) and self.descendants:
            return self.descendants.get(term, set())
        return self.terms.get(term, set())

    def knows_term(self, term: str) -> bool:
        return term in self.terms or term in self.descendants

    def rows_linked_to(self, other: EntryIndex, rows: Iterable[int]) -> set[int]:
        """Rows of this entry type that share an individual or a biosample with ``rows`` of ``other``.

        Biosample links are used when both types have them (a run and a variant meet on the sample
        sequenced), individual links otherwise (an individual and a run meet on the person).
        """
        rows = list(rows)
        by_biosample = bool(self.rows_of_biosample) and any(other.biosamples[r] for r in rows)
        reverse = self.rows_of_biosample if by_biosample else self.rows_of_individual
        links = other.biosamples if by_biosample else other.individuals
        found: set[int] = set()
        for r in rows:
            for key in links[r]:
                found |= reverse.get(key, set())
        return found


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _links(entry: EntryType, dataset: str, body: dict[str, Any]) -> tuple[frozenset[LinkKey], frozenset[LinkKey]]:
    """The individuals and biosamples a document is about."""
    individuals: set[str] = set()
    biosamples: set[str] = set()
    if entry.id == "individual":
        individuals.add(str(body.get("id")))
    elif entry.id == "biosample":
        biosamples.add(str(body.get("id")))
        if (i := _text(body.get("individualId"))) is not None:
            individuals.add(i)
    elif entry.id in ("run", "analysis"):
        if (i := _text(body.get("individualId"))) is not None:
            individuals.add(i)
        if (b := _text(body.get("biosampleId"))) is not None:
            biosamples.add(b)
    elif entry is VARIANTS:
        cases = body.get("caseLevelData")
        for case in cases if isinstance(cases, list) else []:
            if isinstance(case, dict):
                if (b := _text(case.get("biosampleId"))) is not None:
                    biosamples.add(b)
                if (i := _text(case.get("individualId"))) is not None:
                    individuals.add(i)
    return (frozenset((dataset, i) for i in individuals), frozenset((dataset, b) for b in biosamples))


@dataclass
class DocumentIndex:
    """Every entry type's :class:`EntryIndex`, plus the alphanumeric filters the loads declared."""

    entries: dict[str, EntryIndex]
    declared_filters: list[dict[str, Any]]
    dataset_assembly: dict[str, str | None]

    def entry(self, entry: EntryType) -> EntryIndex:
        return self.entries[entry.id]

    @property
    def dataset_ids(self) -> list[str]:
        return list(self.dataset_assembly)


def build_index(session: Session, hpo_closure: Mapping[str, frozenset[str]] | None = None) -> DocumentIndex:
    """The index of every document in ``beacon_documents``, in load order.

    ``hpo_closure`` maps each HPO term to itself and its ancestors; when it is not given and some
    document carries an HPO term, the node's HPO release is loaded (about 1.5 s, once per process).
    """
    entries = {entry.id: EntryIndex(entry) for entry in ENTRY_TYPES}
    declared: dict[str, dict[str, Any]] = {}
    rows = session.execute(select(BeaconDocument.entry_type, BeaconDocument.dataset_id, BeaconDocument.body)
                           .order_by(BeaconDocument.id))
    for entry_type, dataset, body in rows:
        if entry_type == FILTERING_TERM:
            declared.setdefault(str(body.get("id")), dict(body))
        elif entry_type in entries and isinstance(body, dict):
            entries[entry_type].add(dataset, body)
    individual_of_biosample: dict[LinkKey, LinkKey] = {}
    biosample_index = entries[BIOSAMPLES.id]
    for row, keys in enumerate(biosample_index.biosamples):
        individuals = biosample_index.individuals[row]
        for key in keys:
            for individual in individuals:
                individual_of_biosample[key] = individual
    for index in entries.values():
        index.finish(individual_of_biosample)
    if any(t.startswith(HPO_PREFIX) for index in entries.values() for t in index.terms):
        closure = hpo_closure if hpo_closure is not None else hpo_ancestors()
        for index in entries.values():
            index.expand_hpo(closure)
    assembly: dict[str, str | None] = {}
    dataset_index = entries["dataset"]
    for dataset in dict.fromkeys(d for index in entries.values() for d in index.datasets):
        info = next((dataset_index.documents[r].get("info") for r in dataset_index.ids.get(dataset, [])), None)
        found = info.get("assemblyId") if isinstance(info, dict) else None
        assembly[dataset] = str(found) if found else None
    LOG.info("beacon index: %s", ", ".join(f"{k} {len(v)}" for k, v in entries.items()))
    return DocumentIndex(entries, list(declared.values()), assembly)


def hpo_ancestors() -> Mapping[str, frozenset[str]]:
    """Each HPO term with its ancestors, from the release interpretation uses."""
    from genomed.interpret.hpo import load_release

    return load_release().closure
