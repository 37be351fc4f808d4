"""Loading Beacon v2 documents (a synthetic cohort, a partner's export) into ``beacon_documents``.

A documents directory holds one JSON array per entry type, named as the Beacon v2 reference tools
name them (``individuals.json``, ``biosamples.json``, ``runs.json``, ``analyses.json``,
``datasets.json``, ``cohorts.json``, ``genomicVariations.json``) and optionally
``filtering_terms.json``. A load is all or nothing: every file is read and checked before anything
is written, and the documents replace, in one transaction, every document of the datasets they
belong to, so loading the same directory twice leaves the database as loading it once did.

Checks, each naming the file and the document: the file is a JSON array of objects; each document
has a non-empty string id (``variantInternalId`` for genomic variations) and a dataset (its
``datasetId``, or the directory's only dataset); ids fit their columns; a document id repeated in
one dataset is accepted only when both copies are identical (the CINECA export repeats one
variant verbatim). The ``_id`` field of the source database is dropped: it identifies nothing here.

After the commit the node's ``beacon.epoch`` file is touched, so that a serving node rebuilds its
index at once (the same cross-process signal consent changes use).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert

from genomed.access.purpose import Purpose
from genomed.access.roles import Permission
from genomed.catalog.guard import authorize
from genomed.context import NodeContext
from genomed.db.base import utcnow
from genomed.errors import InputError
from genomed.share.beacon.model import DATASETS, ENTRY_TYPES, VARIANTS, EntryType
from genomed.share.models import BeaconDocument

FILTERING_TERMS_FILE = "filtering_terms.json"
FILTERING_TERM = "filteringTerm"  # entry_type of the alphanumeric filters a directory declares
SIGNAL_FILE = "beacon.epoch"
MAX_ID = 200
MAX_DATASET_ID = 128
# Who may load documents: data stewards (they govern sharing) and administrators (they load the
# node's reference catalogues; synthetic or partner cohorts hold no patient of this node).
LOAD_PERMISSION = Permission.LOAD_SHARED_DOCUMENTS


@dataclass
class LoadSummary:
    """What a load wrote: documents per entry type, the datasets replaced, identical repeats dropped."""

    datasets: list[str]
    counts: dict[str, int] = field(default_factory=dict)
    repeats_dropped: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def signal_path(ctx: NodeContext) -> Path:
    """The file touched after every load: a serving node compares its mtime to rebuild its index."""
    return ctx.config.home / SIGNAL_FILE


def document_id(entry: EntryType, document: dict[str, Any]) -> object:
    """The id a document is known by in its entry type (genomic variations use ``variantInternalId``)."""
    return document.get("variantInternalId") if entry is VARIANTS else document.get("id")


def _read_array(path: Path) -> list[Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(f"{path.name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"{path.name}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    if not isinstance(value, list):
        raise InputError(f"{path.name}: expected a JSON array of documents, found a {type(value).__name__}")
    return value


def _checked_documents(path: Path, entry: EntryType, default_dataset: str | None
                       ) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(dataset id, document id, body) for every document of one file, or InputError naming the problem."""
    for number, document in enumerate(_read_array(path), start=1):
        where = f"{path.name}: document {number}"
        if not isinstance(document, dict):
            raise InputError(f"{where} is a {type(document).__name__}, not a JSON object")
        ident = document_id(entry, document)
        if not isinstance(ident, str) or not ident.strip():
            key = "variantInternalId" if entry is VARIANTS else "id"
            raise InputError(f"{where} has no {key} (a non-empty string)")
        if len(ident) > MAX_ID:
            raise InputError(f"{where}: id {ident[:40]!r}... is longer than {MAX_ID} characters")
        dataset = ident if entry is DATASETS else document.get("datasetId", default_dataset)
        if not isinstance(dataset, str) or not dataset.strip():
            raise InputError(f"{where} ({ident}) names no datasetId, and the directory does not hold exactly "
                             "one dataset to assign it to")
        if len(dataset) > MAX_DATASET_ID:
            raise InputError(f"{where} ({ident}): datasetId is longer than {MAX_DATASET_ID} characters")
        body = {k: v for k, v in document.items() if k != "_id"}
        yield dataset, ident, body


def _filtering_terms(path: Path) -> list[dict[str, Any]]:
    terms = []
    for number, term in enumerate(_read_array(path), start=1):
        if not isinstance(term, dict) or not isinstance(term.get("id"), str) or not term["id"].strip():
            raise InputError(f"{path.name}: filtering term {number} has no id")
        if term.get("type") not in ("alphanumeric", "ontologyTerm", "ontology", "custom"):
            raise InputError(f"{path.name}: filtering term {term['id']!r} has unknown type {term.get('type')!r}")
        if len(term["id"]) > MAX_ID:
            raise InputError(f"{path.name}: filtering term id {term['id'][:40]!r}... is too long")
        terms.append(term)
    return terms


def read_directory(directory: Path, *, assembly: str | None = None, reserved: frozenset[str] = frozenset()
                   ) -> tuple[list[dict[str, Any]], LoadSummary]:
    """Every document of a directory as rows for ``beacon_documents``, checked; nothing is written.

    ``assembly`` is recorded in each dataset document's ``info.assemblyId`` (the genome build the
    variants' coordinates are on, which Beacon v2 dataset documents do not otherwise state);
    ``reserved`` are dataset ids the directory may not use (the node's own cohort).
    """
    if not directory.is_dir():
        raise InputError(f"{directory} is not a directory of Beacon v2 documents")
    present = [entry for entry in ENTRY_TYPES if (directory / entry.file).is_file()]
    if not present:
        names = ", ".join(entry.file for entry in ENTRY_TYPES)
        raise InputError(f"{directory} holds none of the Beacon v2 document files ({names})")
    dataset_ids: list[str] = []
    if (directory / DATASETS.file).is_file():
        dataset_ids = [d for d, _, _ in _checked_documents(directory / DATASETS.file, DATASETS, None)]
    default_dataset = dataset_ids[0] if len(set(dataset_ids)) == 1 else None
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    summary = LoadSummary(datasets=[])
    for entry in present:
        path = directory / entry.file
        for dataset, ident, body in _checked_documents(path, entry, default_dataset):
            if dataset in reserved:
                raise InputError(f"{path.name}: dataset id {dataset!r} is this node's own cohort; "
                                 "choose another datasetId")
            if entry is DATASETS and assembly:
                info: dict[str, Any] = body["info"] if isinstance(body.get("info"), dict) else {}
                body["info"] = {**info, "assemblyId": assembly}
            key = (entry.id, dataset, ident)
            if key in rows:
                if rows[key]["body"] != body:
                    raise InputError(f"{path.name}: {ident!r} appears twice in dataset {dataset!r} with "
                                     "different content")
                summary.repeats_dropped += 1
                continue
            rows[key] = {"entry_type": entry.id, "dataset_id": dataset, "document_id": ident, "body": body}
            summary.counts[entry.id] = summary.counts.get(entry.id, 0) + 1
            if dataset not in summary.datasets:
                summary.datasets.append(dataset)
    if (directory / FILTERING_TERMS_FILE).is_file() and summary.datasets:
        for term in _filtering_terms(directory / FILTERING_TERMS_FILE):
            for dataset in summary.datasets:
                rows[(FILTERING_TERM, dataset, term["id"])] = {
                    "entry_type": FILTERING_TERM, "dataset_id": dataset, "document_id": term["id"], "body": term}
        summary.counts[FILTERING_TERM] = len({k[2] for k in rows if k[0] == FILTERING_TERM})
    return list(rows.values()), summary


def load_documents(ctx: NodeContext, actor: str, directory: Path, *, assembly: str | None = None,
                   reserved: frozenset[str] = frozenset()) -> LoadSummary:
    """Replace the documents of the datasets ``directory`` holds, in one audited transaction.

    Only a user with :data:`LOAD_PERMISSION` (data stewards, administrators) may load; a refusal
    is audited. Files are read and checked before the transaction opens, so a malformed file
    loads nothing.
    """
    rows, summary = read_directory(directory, assembly=assembly, reserved=reserved)
    now = utcnow()
    for row in rows:
        row["loaded_at"] = now
    with ctx.transaction() as session:
        authorize(ctx, session, actor, LOAD_PERMISSION, object_type="beacon_dataset",
                  object_id=",".join(summary.datasets)[:128], purpose=Purpose.SHARING)
        session.execute(delete(BeaconDocument).where(BeaconDocument.dataset_id.in_(summary.datasets)))
        for start in range(0, len(rows), 1000):
            session.execute(insert(BeaconDocument), rows[start:start + 1000])
        ctx.audit.record(session, actor=actor, action="beacon.load", object_type="beacon_dataset",
                         object_id=",".join(summary.datasets)[:128], purpose=Purpose.SHARING,
                         details={"directory": directory.name, "documents": summary.total,
                                  "repeats_dropped": summary.repeats_dropped,
                                  **{f"n_{k}": v for k, v in sorted(summary.counts.items())}})
    signal_path(ctx).touch()
    return summary
