"""Loading Beacon v2 documents: permissions, all-or-nothing, idempotence, and what filters then find."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from beacon_support import CINECA, assert_beacon_answer
from genomed.audit.models import AuditEntry
from genomed.catalog.users import add_user
from genomed.cli import main
from genomed.context import NodeContext
from genomed.data import data_dir
from genomed.errors import AccessDeniedError, InputError
from genomed.share.beacon.documents import load_documents
from genomed.share.models import BeaconDocument
from genomed.share.node import SharingNode
from genomed.share.server import create_app
from genomed.share.settings import BeaconSettings, GuardSettings, SharingSettings

DIRECTORY = data_dir() / "beacon" / CINECA


def documents(ctx: NodeContext) -> int:
    with ctx.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(BeaconDocument)) or 0)


@pytest.fixture
def steward(sqlite_node: NodeContext) -> NodeContext:
    add_user(sqlite_node, "admin", "steward", ["data_steward"])
    add_user(sqlite_node, "admin", "res", ["researcher"])
    return sqlite_node


def copy_of(tmp_path: Path) -> Path:
    target = tmp_path / "documents"
    shutil.copytree(DIRECTORY, target)
    for path in target.iterdir():
        path.chmod(0o644)
    return target


def test_the_cli_loads_the_cineca_cohort_and_reloading_changes_nothing(
        steward: NodeContext, capsys: pytest.CaptureFixture[str]) -> None:
    home = str(steward.config.home)
    code = main(["--home", home, "--user", "steward", "beacon", "load", str(DIRECTORY), "--assembly", "GRCh37"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "2,504 individual" in out and "1 identical repeat(s) dropped" in out
    first = documents(steward)
    assert main(["--home", home, "--user", "steward", "beacon", "load", str(DIRECTORY)]) == 0
    assert documents(steward) == first == 2504 * 4 + 1004 + 1 + 1 + 3
    assert main(["--home", home, "--user", "steward", "beacon", "datasets"]) == 0
    assert CINECA in capsys.readouterr().out


def test_a_researcher_may_not_load_and_the_refusal_is_audited(steward: NodeContext) -> None:
    with pytest.raises(AccessDeniedError):
        load_documents(steward, "res", DIRECTORY)
    assert documents(steward) == 0
    with steward.transaction() as session:
        refusal = session.scalars(select(AuditEntry).where(AuditEntry.outcome == "denied")).one()
    assert refusal.actor == "res"


@pytest.mark.parametrize(("file", "corrupt", "message"), [
    ("runs.json", lambda text: text[: len(text) // 2], r"runs.json: not valid JSON"),
    ("biosamples.json", lambda text: json.dumps({"not": "an array"}), r"biosamples.json: expected a JSON array"),
    ("individuals.json", lambda text: json.dumps([{"sex": {"id": "NCIT:C20197"}}]),
     r"individuals.json: document 1 has no id"),
    ("analyses.json", lambda text: json.dumps([{"id": "A1", "datasetId": "x" * 200}]),
     r"analyses.json: document 1 \(A1\): datasetId is longer"),
    ("genomicVariations.json", lambda text: json.dumps([{"variantInternalId": "v1", "datasetId": CINECA, "a": 1},
                                                        {"variantInternalId": "v1", "datasetId": CINECA, "a": 2}]),
     r"genomicVariations.json: 'v1' appears twice"),
])
def test_a_malformed_file_loads_nothing_and_is_named(steward: NodeContext, tmp_path: Path, file: str,
                                                     corrupt: Any, message: str) -> None:
    directory = copy_of(tmp_path)
    (directory / file).write_text(corrupt((directory / file).read_text()))
    with pytest.raises(InputError, match=message):
        load_documents(steward, "steward", directory)
    assert documents(steward) == 0


def test_a_load_cannot_take_the_node_cohorts_id(steward: NodeContext, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="this node's own cohort"):
        load_documents(steward, "steward", DIRECTORY, reserved=frozenset({CINECA}))


def _phenotyped(tmp_path: Path) -> Path:
    """A tiny dataset whose individuals carry HPO terms: seizure subtypes and one intellectual disability."""
    directory = tmp_path / "pheno"
    directory.mkdir()
    features = {"P1": ["HP:0007359"], "P2": ["HP:0002069"], "P3": ["HP:0001250"], "P4": ["HP:0001249"],
                "P5": ["HP:0007359", "HP:0001249"], "P6": ["HP:0011097"]}
    individuals = [{"id": ident, "sex": {"id": "NCIT:C16576", "label": "female"},
                    "phenotypicFeatures": [{"featureType": {"id": t, "label": t}} for t in terms]}
                   for ident, terms in features.items()]
    (directory / "datasets.json").write_text(json.dumps([{"id": "PHENO", "name": "Phenotyped"}]))
    (directory / "individuals.json").write_text(json.dumps(individuals))
    return directory


def test_hpo_filters_include_descendant_terms(steward: NodeContext, tmp_path: Path) -> None:
    load_documents(steward, "steward", _phenotyped(tmp_path))
    settings = SharingSettings(beacon=BeaconSettings(id="org.genomed.pheno"), guard=GuardSettings(min_count=1))
    with TestClient(create_app(SharingNode.open(steward, settings))) as client:

        def count(filters: list[Any]) -> int:
            body = client.post("/individuals", json={"query": {"requestedGranularity": "count",
                                                               "filters": filters}}).json()
            assert_beacon_answer(body)
            total: int = body["responseSummary"]["numTotalResults"]
            return total

        # Seizure (HP:0001250) has the descendants Focal-onset seizure (HP:0007359), Generalized
        # tonic-clonic seizures (HP:0002069) and Epileptic spasm (HP:0011097).
        assert count(["HP:0001250"]) == 5
        assert count([{"id": "HP:0001250", "includeDescendantTerms": False}]) == 1
        assert count(["HP:0001250", "HP:0001249"]) == 1  # AND
        assert count(["HP:0000118"]) == 6  # Phenotypic abnormality: every term here descends from it
        assert count(["HP:0001631"]) == 0  # a real HPO term nobody here carries
        assert client.post("/individuals", json={"query": {"filters": ["HP:9999999"]}}).status_code == 400


def test_a_serving_node_sees_a_new_load(steward: NodeContext, tmp_path: Path) -> None:
    settings = SharingSettings(beacon=BeaconSettings(id="org.genomed.pheno"), guard=GuardSettings(min_count=1))
    with TestClient(create_app(SharingNode.open(steward, settings))) as client:
        empty = client.get("/individuals?requestedGranularity=count").json()
        assert empty["responseSummary"]["numTotalResults"] == 0
        load_documents(steward, "steward", _phenotyped(tmp_path))
        import time

        time.sleep(0.6)  # the service looks at the load signal at most twice a second
        assert client.get("/individuals?requestedGranularity=count").json()["responseSummary"][
            "numTotalResults"] == 6


def test_load_and_filter_on_each_database(node: NodeContext) -> None:
    """The documents' JSON goes through SQLite and PostgreSQL alike (the ``node`` fixture runs both)."""
    add_user(node, "admin", "steward", ["data_steward"])
    load_documents(node, "steward", DIRECTORY)
    assert documents(node) == 2504 * 4 + 1004 + 1 + 1 + 3
    settings = SharingSettings(beacon=BeaconSettings(id="org.genomed.db"), guard=GuardSettings(min_count=5))
    with TestClient(create_app(SharingNode.open(node, settings))) as client:
        males = client.get("/individuals?filters=NCIT:C20197&requestedGranularity=count").json()
    expected = sum(1 for d in json.loads((DIRECTORY / "individuals.json").read_text())
                   if d["sex"]["id"] == "NCIT:C20197")
    assert males["responseSummary"]["numTotalResults"] == expected
