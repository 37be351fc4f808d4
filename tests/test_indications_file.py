"""The demo catalogue of clinical indications (src/genomed/demo/indications.toml) is well formed.

The file is read as package data, the way the node loads it, so a file left out of the wheel's
package data or a typo in a key fails here rather than at a demo.
"""

from __future__ import annotations

import re
import tomllib
from importlib.resources import files
from typing import Any

import pytest

CATALOGUE = files("genomed").joinpath("demo/indications.toml")

CODE = re.compile(r"^[A-Z0-9]+(?:-[A-Z0-9]+)*$")
HPO_ID = re.compile(r"^HP:\d{7}$")
CATEGORIES = {"rare_disease", "cancer"}
CODE_PREFIX = {"rare_disease": "RD-", "cancer": "CA-"}
FAMILY_STRUCTURES = {"trio", "duo", "singleton", "tumour_normal"}

REQUIRED_KEYS = {
    "code",
    "name",
    "category",
    "description",
    "required_prior_tests",
    "min_hpo_terms",
    "suggested_hpo_terms",
    "family_structure",
    "sample_types",
    "turnaround_days",
    "criteria",
}
OPTIONAL_KEYS = {"min_age_years", "max_age_years", "gene_panel"}


def _load() -> dict[str, Any]:
    with CATALOGUE.open("rb") as f:
        return tomllib.load(f)


DATA = _load()
INDICATIONS: list[dict[str, Any]] = DATA["indication"]


def _by_code() -> list[Any]:
    return [pytest.param(ind, id=str(ind.get("code", "?"))) for ind in INDICATIONS]


def test_catalogue_header() -> None:
    assert set(DATA) == {"catalogue", "indication"}
    assert DATA["catalogue"]["version"] == "2026.1"
    assert isinstance(DATA["catalogue"]["description"], str) and DATA["catalogue"]["description"].strip()


def test_catalogue_covers_both_pathways() -> None:
    categories = [ind["category"] for ind in INDICATIONS]
    assert categories.count("rare_disease") >= 12
    assert categories.count("cancer") >= 5


def test_codes_and_names_unique() -> None:
    codes = [ind["code"] for ind in INDICATIONS]
    names = [ind["name"] for ind in INDICATIONS]
    assert len(codes) == len(set(codes)), sorted(c for c in codes if codes.count(c) > 1)
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


@pytest.mark.parametrize("ind", _by_code())
def test_keys(ind: dict[str, Any]) -> None:
    missing = REQUIRED_KEYS - set(ind)
    unknown = set(ind) - REQUIRED_KEYS - OPTIONAL_KEYS
    assert not missing, f"missing: {sorted(missing)}"
    assert not unknown, f"unknown (a typo?): {sorted(unknown)}"
    for key in ("code", "name", "description"):
        assert isinstance(ind[key], str) and ind[key].strip(), key


@pytest.mark.parametrize("ind", _by_code())
def test_code_well_formed(ind: dict[str, Any]) -> None:
    assert CODE.match(ind["code"]), ind["code"]
    assert ind["category"] in CATEGORIES
    assert ind["code"].startswith(CODE_PREFIX[ind["category"]])


@pytest.mark.parametrize("ind", _by_code())
def test_hpo_terms(ind: dict[str, Any]) -> None:
    terms = ind["suggested_hpo_terms"]
    assert isinstance(terms, list)
    bad = [t for t in terms if not (isinstance(t, str) and HPO_ID.match(t))]
    assert not bad, bad
    assert len(terms) == len(set(terms)), "duplicate suggested HPO term"
    assert isinstance(ind["min_hpo_terms"], int) and not isinstance(ind["min_hpo_terms"], bool)
    if ind["category"] == "rare_disease":
        assert ind["min_hpo_terms"] >= 1
        assert terms, "a rare-disease indication suggests HPO terms"
    else:
        assert ind["min_hpo_terms"] == 0


@pytest.mark.parametrize("ind", _by_code())
def test_samples_match_category(ind: dict[str, Any]) -> None:
    assert ind["family_structure"] in FAMILY_STRUCTURES
    if ind["category"] == "cancer":
        assert ind["family_structure"] == "tumour_normal"
        assert sorted(ind["sample_types"]) == ["normal", "tumour"]
    else:
        assert ind["family_structure"] != "tumour_normal"
        assert ind["sample_types"] == ["germline"]


@pytest.mark.parametrize("ind", _by_code())
def test_ages(ind: dict[str, Any]) -> None:
    low = ind.get("min_age_years")
    high = ind.get("max_age_years")
    for age in (low, high):
        assert age is None or (isinstance(age, int) and not isinstance(age, bool) and 0 <= age <= 120)
    if low is not None and high is not None:
        assert low <= high


@pytest.mark.parametrize("ind", _by_code())
def test_turnaround(ind: dict[str, Any]) -> None:
    tat = ind["turnaround_days"]
    assert set(tat) == {"routine", "urgent"}
    assert all(isinstance(v, int) and v > 0 for v in tat.values())
    assert tat["urgent"] < tat["routine"]


@pytest.mark.parametrize("ind", _by_code())
def test_criteria_and_prior_tests(ind: dict[str, Any]) -> None:
    criteria = ind["criteria"]
    assert 2 <= len(criteria) <= 4
    assert all(isinstance(c, str) and c.strip() for c in criteria)
    prior = ind["required_prior_tests"]
    assert isinstance(prior, list)
    assert all(isinstance(t, str) and t.strip() for t in prior)
    assert len(prior) == len(set(prior))
    if "gene_panel" in ind:
        assert isinstance(ind["gene_panel"], str) and ind["gene_panel"].strip()
