"""Answering Beacon requests: one :class:`BeaconService` per serving node.

The service holds what must not be rebuilt per request: the document index (rebuilt when a load
touches the signal file), the consent-aware cohorts of the node's store for the national and the
international sharing scope, and the :class:`~genomed.share.beacon.ledger.Ledger` that charges
budgets, draws guarded answers through the donor ledger and audits them. An answer is computed
from those in memory; the only writes are the ledger's.

The node's own cohort is a dataset too, with id :func:`~.granularity.node_dataset_id` (the beacon
id). It answers variant queries (from the variant store) and appears in ``/datasets``; it has no
individual, biosample, run or analysis documents, and it cannot apply filters (its samples carry
no Beacon documents), so a filtered query leaves it out and says so in ``info.warnings``.

Counting, per dataset: for variants, below the controlled tier each variant is reported or not as
the privacy guard's donor ledger draws it (:meth:`~genomed.share.guard.PrivacyGuard.release`, over
the variant's carriers: the consented store's samples, or the individuals a loaded document links
to), and a count is the number of variants reported; an allele asked exactly is drawn even when
nobody carries it, so a "yes" is never proof. The draw reads and charges the ledger, so it runs
in the ledger writer's transaction with the answer's audit entry (:meth:`Answer.release`, see
:mod:`.ledger`); an unreported variant looks exactly like an absent one. For documents, the
number of matching documents passes the guard's minimum count. Records are listed only for
datasets the requester holds a controlled grant for, and controlled answers are exact.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from genomed.access.purpose import Purpose
from genomed.audit.trail import DetailValue
from genomed.catalog.consent_rules import Scope
from genomed.catalog.models import Patient, Sample
from genomed.errors import InputError, NotFoundError, StateError
from genomed.share.beacon import responses
from genomed.share.beacon.documents import signal_path
from genomed.share.beacon.filters import apply_filters
from genomed.share.beacon.granularity import ceiling, lower, node_dataset_id, sharing_scope
from genomed.share.beacon.index import DocumentIndex, build_index
from genomed.share.beacon.ledger import Ledger
from genomed.share.beacon.model import COHORTS, DATASETS, VARIANTS, EntryType
from genomed.share.beacon.records import parse_variant_id, variant_id, variant_record
from genomed.share.beacon.requests import BeaconRequest
from genomed.share.beacon.terms import is_curie
from genomed.share.beacon.variants import (
    DocumentVariants,
    VariantQuery,
    carriers_of,
    parse_variant_query,
    stored_variants,
)
from genomed.share.identity import Requester
from genomed.share.node import SharingNode
from genomed.store.consented import ConsentedCohort
from genomed.store.query import AlleleCounts

EXTENSION = "genomed.share.beacon"
SIGNAL_CHECK_SECONDS = 0.5
RESOURCES = {
    "HP": ("Human Phenotype Ontology", "http://purl.obolibrary.org/obo/HP_"),
    "NCIT": ("NCI Thesaurus", "http://purl.obolibrary.org/obo/NCIT_"),
    "ICD10": ("International Classification of Diseases, 10th revision", "https://icd.who.int/browse10/2019/en#/"),
    "OPCS4": ("OPCS Classification of Interventions and Procedures", "https://www.datadictionary.nhs.uk/"),
    "LOINC": ("Logical Observation Identifiers Names and Codes", "https://loinc.org/"),
    "GAZ": ("Gazetteer", "http://purl.obolibrary.org/obo/GAZ_"),
    "UBERON": ("Uber-anatomy ontology", "http://purl.obolibrary.org/obo/UBERON_"),
    "EFO": ("Experimental Factor Ontology", "http://www.ebi.ac.uk/efo/EFO_"),
    "OBI": ("Ontology for Biomedical Investigations", "http://purl.obolibrary.org/obo/OBI_"),
    "GENEPIO": ("Genomic Epidemiology Ontology", "http://purl.obolibrary.org/obo/GENEPIO_"),
    "GENO": ("Genotype Ontology", "http://purl.obolibrary.org/obo/GENO_"),
    "DUO": ("Data Use Ontology", "http://purl.obolibrary.org/obo/DUO_"),
    "ENSGLOSSARY": ("Ensembl Glossary", "http://ensembl.org/glossary/ENSGLOSSARY_"),
    "MONDO": ("Mondo Disease Ontology", "http://purl.obolibrary.org/obo/MONDO_"),
    "OMIM": ("Online Mendelian Inheritance in Man", "https://omim.org/entry/"),
    "ORPHA": ("Orphanet", "https://www.orpha.net/ORDO/Orphanet_"),
}


@dataclass(frozen=True)
class Target:
    """What a path asks for: an entry type, maybe one record of it, maybe linked to another record."""

    entry: EntryType
    record_id: str | None = None
    source: EntryType | None = None
    source_id: str | None = None

    def describe(self) -> str:
        if self.source is not None:
            return f"/{self.source.path}/{self.source_id}/{self.entry.path}"
        return f"/{self.entry.path}" + (f"/{self.record_id}" if self.record_id is not None else "")


class Answer:
    """A computed answer: the audit entry's contents, then (once released) the response document.

    An entry answer below the controlled tier is not final when computed: which variants it
    reports is drawn through the donor ledger (:meth:`~genomed.share.guard.PrivacyGuard.release`)
    in the ledger writer's transaction, by :meth:`release`, which also completes ``details``. The
    body can be read only after that. Pass :meth:`release` as the ledger entry's ``release``.
    """

    def __init__(self, object_id: str, details: dict[str, DetailValue], charge: bool = True,
                 body: dict[str, Any] | None = None,
                 draw: Callable[[Session], dict[str, DetailValue]] | None = None,
                 render: Callable[[], dict[str, Any]] | None = None) -> None:
        self.object_id = object_id
        self.details = details
        self.charge = charge
        self._body = body
        self._draw = draw
        self._render = render
        self.released = draw is None

    def release(self, session: Session) -> dict[str, DetailValue]:
        """Draw the guarded answer in ``session`` (the ledger's transaction); the details it adds."""
        added = self._draw(session) if self._draw is not None else {}
        self.details.update(added)
        self.released = True
        return added

    @property
    def body(self) -> dict[str, Any]:
        if self._body is None:
            if not self.released or self._render is None:
                raise StateError("an answer's body exists only once the ledger has released it")
            self._body = self._render()
        return self._body


@dataclass
class _Candidate:
    """A variant that may be reported: its carriers, counted now, named only if the ledger needs them."""

    count: int
    carriers: Callable[[], Collection[str]]
    row: int | None = None
    variant: AlleleCounts | None = None


@dataclass
class _Hits:
    """One dataset's matches: document rows or stored variants, with the guarded count.

    Variant hits start as ``candidates`` and get their ``rows``/``variants`` and ``count`` when
    the answer is released (:meth:`BeaconService.release_hits`); other hits are final at once.
    """

    dataset: str
    rows: list[int] = field(default_factory=list)
    variants: list[AlleleCounts] = field(default_factory=list)
    count: int = 0
    ceiling: str = "count"
    candidates: list[_Candidate] | None = None


@dataclass
class _Documents:
    index: DocumentIndex
    variants: DocumentVariants


class BeaconService:
    """The Beacon of one serving node (see the module docstring)."""

    def __init__(self, node: SharingNode) -> None:
        self.node = node
        self.ctx = node.ctx
        self.beacon = node.settings.beacon
        self.dataset_id = node_dataset_id(node.settings)
        self.build = node.ctx.config.genome_build
        self.country = node.ctx.config.country
        self.cohorts = {scope: ConsentedCohort(node.ctx, Purpose.SHARING, scope=scope)
                        for scope in (Scope.NATIONAL_SHARING, Scope.INTERNATIONAL_SHARING)}
        self.ledger = Ledger(node)
        self._documents: _Documents | None = None
        self._signal_mtime = -2
        self._checked_at = -1e18
        self._lock = threading.Lock()
        self.settled = False

    @classmethod
    def of(cls, node: SharingNode) -> BeaconService:
        """The service of a node, created on first use and kept in ``node.extensions``."""
        service = node.extensions.get(EXTENSION)
        if not isinstance(service, BeaconService):
            service = cls(node)
            node.extensions[EXTENSION] = service
        return service

    def warm(self) -> None:
        """Build what the first queries would otherwise wait for: the document index, the variant
        store's in-memory index and the consent exclusions of both sharing scopes."""
        self.documents()
        self.ctx.store.index()
        for cohort in self.cohorts.values():
            cohort.excluded()

    def settle(self) -> None:
        """Once, at the first query: put what exists by then out of the garbage collector's sight.

        By the first query every router's startup work is done (the Beacon's indexes, the HPO
        release and gene records another module loads): some hundred thousand objects that live
        as long as the server. Left to the collector, each full collection walks them all, a pause
        of 100-300 ms that every answer in flight waits out; frozen, they are never walked again.
        """
        if not self.settled:
            self.settled = True
            gc.collect()
            gc.freeze()

    def close(self) -> None:
        self.ledger.close()

    # -- the document index ----------------------------------------------------------------------------

    def documents(self) -> _Documents:
        """The index of loaded documents, rebuilt when a load has signalled since it was built."""
        now = time.monotonic()
        current = self._documents
        if current is not None and now - self._checked_at < SIGNAL_CHECK_SECONDS:
            return current
        signal = signal_path(self.ctx)
        mtime = signal.stat().st_mtime_ns if signal.exists() else -1
        if current is None or mtime != self._signal_mtime:
            with self._lock:
                if self._documents is None or mtime != self._signal_mtime:
                    with self.ctx.transaction() as session:
                        index = build_index(session)
                    self._documents = _Documents(index, DocumentVariants(index.entry(VARIANTS)))
                    self._signal_mtime = mtime
                    gc.freeze()  # long-lived: keep full collections from walking it (see settle)
        self._checked_at = now
        return self._documents if self._documents is not None else self.documents()

    def dataset_ids(self) -> list[str]:
        return [self.dataset_id, *self.documents().index.dataset_ids]

    # -- framework -------------------------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        return responses.info_response(self.beacon, self.ctx.config.node_name, self.dataset_ids())

    def filtering_terms(self, requester: Requester, entry: EntryType | None = None,
                        dataset: str | None = None) -> dict[str, Any]:
        """The terms a requester may filter on: those carried by enough documents to pass the guard.

        A term that only one or two documents carry would itself tell who is in a dataset, so below
        the controlled tier a term is listed only when the guard lets its count through.
        """
        index = self.documents().index
        scopes: dict[str, set[str]] = {}
        labels: dict[str, str] = {}
        entries = [index.entry(entry)] if entry is not None else list(index.entries.values())
        for entry_index in entries:
            for term, rows in entry_index.terms.items():
                per_dataset: dict[str, int] = {}
                for row in rows:
                    per_dataset[entry_index.datasets[row]] = per_dataset.get(entry_index.datasets[row], 0) + 1
                if dataset is not None:
                    per_dataset = {dataset: per_dataset.get(dataset, 0)}
                if any(self.node.guard.count(requester, ds, n) > 0 for ds, n in per_dataset.items()):
                    scopes.setdefault(term, set()).add(entry_index.entry.path)
                    if term in entry_index.labels:
                        labels.setdefault(term, entry_index.labels[term])
        terms: list[dict[str, Any]] = []
        for term in sorted(scopes):
            item: dict[str, Any] = {"type": "ontologyTerm", "id": term, "scopes": sorted(scopes[term])}
            if labels.get(term):
                item["label"] = labels[term]
            terms.append(item)
        for declared in sorted(index.declared_filters, key=lambda d: str(d.get("id"))):
            declared_scopes = declared.get("scopes")
            names = [str(s) for s in declared_scopes] if isinstance(declared_scopes, list) else []
            terms.append({"type": "alphanumeric", "id": str(declared["id"]), "scopes": names})
        prefixes = sorted({t.split(":")[0] for t in scopes if is_curie(t)})
        resources = [{"id": p, "name": RESOURCES[p][0], "iriPrefix": RESOURCES[p][1], "nameSpacePrefix": p}
                     if p in RESOURCES else {"id": p, "nameSpacePrefix": p} for p in prefixes]
        return responses.filtering_terms_response(self.beacon, terms, resources)

    def node_dataset(self) -> dict[str, Any]:
        """The node's cohort as a ``dataset`` document."""
        return {
            "id": self.dataset_id, "name": f"{self.beacon.name}: consented cohort",
            "description": (f"Germline variants of the samples stored at the genomed node {self.ctx.config.node_name} "
                            f"({self.country}), counted over the donors whose sharing consent covers the requester "
                            "(national sharing for requesters from the node's country, international otherwise)."),
            "info": {"assemblyId": self.build, "source": "genomed variant store", "country": self.country},
        }

    # -- entry queries ---------------------------------------------------------------------------------

    def variant_query(self, target: Target, request: BeaconRequest) -> VariantQuery:
        """The variant query a g_variants request asks (read before anything else: it may be refused)."""
        if target.record_id is not None:
            allele = parse_variant_id(target.record_id)
            if allele is not None:
                return VariantQuery("sequence", chrom=allele.chrom, start=(allele.pos - 1,), ref=allele.ref,
                                    alt=allele.alt)
            return VariantQuery("all")
        return parse_variant_query(request.parameters, self.build)

    def answer(self, target: Target, request: BeaconRequest, requester: Requester,
               query: VariantQuery | None = None) -> Answer:
        """The response to an entry query, and the audit entry's contents."""
        if target.entry.is_collection and target.source is None:
            return self._collections(target, request)
        if target.entry is not VARIANTS and request.parameters:
            raise InputError(f"/{target.entry.path} takes no request parameters; filter it with filters")
        documents = self.documents()
        warnings: list[str] = []
        if target.entry is VARIANTS:
            query = query if query is not None else self.variant_query(target, request)
            hits = self._variant_hits(documents, target, request, requester, query, warnings)
            described = target.record_id or query.describe()
        else:
            hits = self._document_hits(documents, target, request, requester, warnings)
            described = target.record_id or ",".join(f.as_request() for f in request.filters) or "all"
        return self._respond(documents, target, request, requester, hits, warnings, described)

    def _scoped_datasets(self, index: DocumentIndex, target: Target, entry: EntryType) -> list[str]:
        """The datasets a query runs over (a /datasets/{id} or /cohorts/{id} source narrows them)."""
        if target.source is DATASETS:
            if target.source_id != self.dataset_id and target.source_id not in index.dataset_assembly:
                raise NotFoundError(f"no dataset {target.source_id!r} in this beacon")
            return [target.source_id]
        if target.source is COHORTS:
            rows = index.entry(COHORTS).ids.get(str(target.source_id), [])
            if not rows:
                raise NotFoundError(f"no cohort {target.source_id!r} in this beacon")
            return sorted({index.entry(COHORTS).datasets[r] for r in rows})
        present = [d for d, rows in index.entry(entry).by_dataset.items() if rows]
        return [self.dataset_id, *present] if entry is VARIANTS else present

    def _source_rows(self, index: DocumentIndex, target: Target, entry: EntryType) -> set[int] | None:
        """Rows of ``entry`` linked to the source record of a /{source}/{id}/{entry} path (None: no source)."""
        if target.source is None or target.source in (DATASETS, COHORTS):
            return None
        source = index.entry(target.source)
        rows = source.ids.get(str(target.source_id), [])
        return index.entry(entry).rows_linked_to(source, rows) if rows else set()

    def _candidate_rows(self, index: DocumentIndex, target: Target, request: BeaconRequest, dataset: str,
                        warnings: list[str]) -> list[int]:
        entry = index.entry(target.entry)
        rows = entry.by_dataset.get(dataset, [])
        if target.record_id is not None:
            wanted = set(entry.ids.get(target.record_id, []))
            rows = [r for r in rows if r in wanted]
        linked = self._source_rows(index, target, target.entry)
        if linked is not None:
            rows = [r for r in rows if r in linked]
        if request.filters and rows:
            result = apply_filters(index, target.entry, request.filters, rows)
            warnings.extend(w for w in result.warnings if w not in warnings)
            rows = sorted(result.rows)
        return rows

    def _document_hits(self, documents: _Documents, target: Target, request: BeaconRequest, requester: Requester,
                       warnings: list[str]) -> list[_Hits]:
        index = documents.index
        if request.filters:
            apply_filters(index, target.entry, request.filters, [])  # unknown filters fail even on no rows
        hits = []
        for dataset in self._scoped_datasets(index, target, target.entry):
            if dataset == self.dataset_id:
                continue
            rows = self._candidate_rows(index, target, request, dataset, warnings)
            hits.append(_Hits(dataset, rows=rows, count=self.node.guard.count(requester, dataset, len(rows)),
                              ceiling=ceiling(requester, dataset)))
        return hits

    def _variant_hits(self, documents: _Documents, target: Target, request: BeaconRequest, requester: Requester,
                      query: VariantQuery, warnings: list[str]) -> list[_Hits]:
        index = documents.index
        if request.filters:
            apply_filters(index, VARIANTS, request.filters, [])
        hits = []
        for dataset in self._scoped_datasets(index, target, VARIANTS):
            if dataset == self.dataset_id:
                if target.source not in (None, DATASETS) or (target.record_id is not None and query.kind == "all"):
                    continue
                if request.filters:
                    warnings.append(f"dataset {dataset} (the node's cohort) cannot apply filters and was not queried")
                    continue
                if query.assembly is not None and query.assembly != self.build:
                    continue
                if query.kind == "all":
                    warnings.append(f"dataset {dataset} (the node's cohort) answers sequence, range and gene queries "
                                    "only and was not queried")
                    continue
                cohort = self.cohorts[sharing_scope(requester, self.country)]
                excluded = cohort.excluded()
                hits.append(_Hits(dataset, ceiling=ceiling(requester, dataset),
                                  candidates=[_Candidate(carriers_of(v), self._sample_carriers(v, excluded), variant=v)
                                              for v in self._node_variants(cohort, query)]))
                continue
            declared = index.dataset_assembly.get(dataset)
            if query.assembly is not None and declared is not None and declared != query.assembly:
                continue
            if query.kind == "gene" and declared is not None and declared != self.build:
                continue
            rows = self._candidate_rows(index, target, request, dataset, warnings)
            rows = documents.variants.rows(query, rows) if target.record_id is None or query.kind != "all" else rows
            candidates = [_Candidate(documents.variants.carriers(r), self._document_carriers(documents, r), row=r)
                          for r in rows]
            if not candidates and query.exact and target.source is None and target.record_id is None:
                # An allele no document carries is drawn like one carried by nobody, as the node's is.
                candidates.append(_Candidate(0, list))
            hits.append(_Hits(dataset, ceiling=ceiling(requester, dataset), candidates=candidates))
        return hits

    def _node_variants(self, cohort: ConsentedCohort, query: VariantQuery) -> list[AlleleCounts]:
        """The node's variants a query may report; an exact allele even when nobody (consented) carries it.

        Drawing an absent allele like any other keeps a "yes" from ever being certain proof that
        someone carries it (see :mod:`genomed.share.disclosure`).
        """
        if query.exact and query.chrom is not None and query.ref is not None and query.alt is not None:
            return [cohort.variant(query.chrom, query.start[0] + 1, query.ref, query.alt)]
        return stored_variants(cohort, query)

    def _sample_carriers(self, variant: AlleleCounts, excluded: frozenset[int]) -> Callable[[], list[str]]:
        """The donors of the node's cohort carrying ``variant`` (as counted: the same consent exclusions)."""
        def named() -> list[str]:
            found = self.ctx.store.carriers(variant.chrom, variant.pos, variant.ref, variant.alt, exclude=excluded)
            return [f"sample:{sample}" for sample in found.samples.tolist()]
        return named

    @staticmethod
    def _document_carriers(documents: _Documents, row: int) -> Callable[[], list[str]]:
        """The individuals (else biosamples) a loaded variant document links to, as the count counts them."""
        def named() -> list[str]:
            entry = documents.variants.entry
            kind, links = ("individual", entry.individuals[row]) if entry.individuals[row] \
                else ("biosample", entry.biosamples[row])
            return [f"{kind}:{dataset}:{link}" for dataset, link in links]
        return named

    def release_hits(self, session: Session, requester: Requester, hits: Sequence[_Hits]) -> None:
        """Draw which candidates each variant hit reports, through the donor ledger, in ``session``.

        Each candidate is one boolean release (a variant is reported or not): a count-granularity
        answer counts the reported variants, so it is released through the same draws.
        """
        guard = self.node.guard
        for hit in hits:
            if hit.candidates is None:
                continue
            hit.rows, hit.variants, hit.count = [], [], 0
            for candidate in hit.candidates:
                if guard.release(session, requester, hit.dataset, candidate.count, candidate.carriers) <= 0:
                    continue
                hit.count += 1
                if candidate.row is not None:
                    hit.rows.append(candidate.row)
                if candidate.variant is not None:
                    hit.variants.append(candidate.variant)

    def _records(self, documents: _Documents, entry: EntryType, hit: _Hits, request: BeaconRequest,
                 requester: Requester) -> list[dict[str, Any]]:
        start, stop = request.offset, request.offset + request.limit
        if hit.dataset != self.dataset_id:
            page = hit.rows[start:stop]
            return [documents.index.entry(entry).documents[r] for r in page]
        page_variants = hit.variants[start:stop]
        cohort = self.cohorts[sharing_scope(requester, self.country)]
        carriers = {variant_id(v): cohort.carriers(v.chrom, v.pos, v.ref, v.alt) for v in page_variants}
        sample_ids = sorted({int(s) for c in carriers.values() for s in c.samples})
        labels: dict[int, tuple[str, str]] = {}
        if sample_ids:
            with self.ctx.transaction() as session:
                named = select(Sample.id, Sample.label, Patient.pseudonym) \
                    .join(Patient, Patient.id == Sample.patient_id).where(Sample.id.in_(sample_ids))
                for sample_id, label, pseudonym in session.execute(named):
                    labels[sample_id] = (label, pseudonym)
        source_url = self.beacon.public_url.rstrip("/")
        return [variant_record(v, self.build, self.dataset_id, self.beacon.name, source_url,
                               carriers[variant_id(v)], labels) for v in page_variants]

    def _respond(self, documents: _Documents, target: Target, request: BeaconRequest, requester: Requester,
                 hits: Sequence[_Hits], warnings: list[str], described: str) -> Answer:
        """The answer, drawn when the ledger releases it (at once when no hit needs drawing)."""
        entry = target.entry
        per_dataset = {h.dataset: lower(request.granularity, h.ceiling) for h in hits}
        if request.granularity == "record":
            returned = "record" if any(g == "record" for g in per_dataset.values()) else "count"
        else:
            returned = request.granularity
        details: dict[str, DetailValue] = {
            "endpoint": target.describe()[:200], "requested": request.granularity, "returned": returned,
            "datasets": len(hits),
        }
        if request.filters:
            details["filters"] = ",".join(f.as_request() for f in request.filters)[:500]
        if entry is VARIANTS:
            details["scope"] = sharing_scope(requester, self.country).value

        def draw(session: Session) -> dict[str, DetailValue]:
            self.release_hits(session, requester, hits)
            total = sum(h.count for h in hits)
            return {"exists": total > 0, "count": total}

        def render() -> dict[str, Any]:
            return self._body(documents, entry, request, requester, hits, warnings, returned, per_dataset)

        if not any(h.candidates is not None for h in hits):
            total = sum(h.count for h in hits)
            details.update({"exists": total > 0, "count": total})
            return Answer(described, details, render=render)
        return Answer(described, details, draw=draw, render=render)

    def _body(self, documents: _Documents, entry: EntryType, request: BeaconRequest, requester: Requester,
              hits: Sequence[_Hits], warnings: list[str], returned: str, per_dataset: dict[str, str]) -> dict[str, Any]:
        total = sum(h.count for h in hits)
        exists = total > 0
        meta = responses.response_meta(self.beacon, entry, request, returned)
        info: dict[str, Any] = {"warnings": warnings} if warnings else {}
        if returned == "boolean":
            return responses.boolean_response(meta, exists, info)
        if returned == "count":
            return responses.count_response(meta, exists, total, info)
        sets = []
        for hit in hits:
            hit_exists = hit.count > 0
            if request.include == "NONE" or (request.include == "HIT" and not hit_exists) \
                    or (request.include == "MISS" and hit_exists):
                continue
            granted = per_dataset[hit.dataset] == "record"
            records = self._records(documents, entry, hit, request, requester) if granted and hit_exists else []
            sets.append(responses.result_set(hit.dataset, hit_exists, hit.count, records,
                                             "record" if granted else "count"))
        return responses.resultsets_response(meta, exists, total, sets, info)

    def _collections(self, target: Target, request: BeaconRequest) -> Answer:
        """/datasets and /cohorts: descriptions of collections, public whatever the requester."""
        if request.parameters:
            raise InputError(f"/{target.entry.path} takes no request parameters")
        index = self.documents().index
        entry_index = index.entry(target.entry)
        rows = list(range(len(entry_index)))
        if target.record_id is not None:
            rows = list(entry_index.ids.get(target.record_id, []))
        warnings: list[str] = []
        if request.filters:
            result = apply_filters(index, target.entry, request.filters, rows)
            rows, warnings = sorted(result.rows), list(result.warnings)
        collections = [entry_index.documents[r] for r in rows]
        if target.entry is DATASETS and not request.filters and target.record_id in (None, self.dataset_id):
            collections.insert(0, self.node_dataset())
        if target.record_id is not None and not collections:
            raise NotFoundError(f"no {target.entry.id} {target.record_id!r} in this beacon")
        page = collections[request.offset:request.offset + request.limit]
        meta = responses.response_meta(self.beacon, target.entry, request, "record")
        body = responses.collections_response(meta, len(collections), page,
                                              {"warnings": warnings} if warnings else None)
        details: dict[str, DetailValue] = {"endpoint": target.describe()[:200], "count": len(collections)}
        return Answer(target.record_id or "all", details, charge=False, body=body)
