"""The membership-inference harness: its parts against slow oracles, and the guard against its attackers."""

from __future__ import annotations

import doctest
import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from genomed.cli.app import app
from genomed.errors import InputError
from genomed.share.attack import harness, lrt, population
from genomed.share.attack.harness import power_at_fpr, run_membership_attack
from genomed.share.attack.lrt import (
    InformedAttacker,
    ShringarpureBustamante,
    beta_binomial_pmf,
    deterministic,
    log_absence_probability,
)
from genomed.share.attack.population import BeaconPopulation, _extract, _regions, simulate_population
from genomed.share.identity import Tier
from genomed.share.settings import GuardSettings
from genomed.simulate.ancestry import simulate_ancestry


@pytest.fixture(scope="module")
def small_beacon() -> BeaconPopulation:
    """200 members, a 200-genome panel and 200 outsiders over 12 Mb (a few seconds)."""
    return simulate_population(200, 200, 200, megabases=12, seed=7)


def test_doctests() -> None:
    for module in (population, lrt, harness):
        assert doctest.testmod(module).failed == 0


def _dense_oracle(genotypes: np.ndarray, members: int, reference: int, cap: int) -> list[tuple[object, ...]]:
    """Per allele kept, in (site, allele) order, counted one genotype column at a time."""
    n = genotypes.shape[1] // 2
    people = list(range(members)) + list(range(members + reference, n))
    kept = []
    for site in range(genotypes.shape[0]):
        for allele in range(1, int(genotypes[site].max()) + 1):
            carriers = [i for i in range(n) if allele in (genotypes[site, 2 * i], genotypes[site, 2 * i + 1])]
            of_interest = [j for j, i in enumerate(people) if i in carriers]
            if len(carriers) > cap or not of_interest:
                continue
            copies = sum(int(genotypes[site, h] == allele) for h in range(2 * members, 2 * (members + reference)))
            kept.append((sum(i < members for i in carriers),
                         sum(members <= i < members + reference for i in carriers), copies, of_interest))
    return kept


def test_sparse_extraction_matches_a_dense_oracle() -> None:
    ancestry = simulate_ancestry(_regions(0.3), 30, seed=5)
    genotypes = ancestry.loci[0].ts.genotype_matrix()
    count, carriers, copies, allele, person = _extract(genotypes, 10, 8, cap=4)
    people: dict[int, list[int]] = {}
    for a, p in zip(allele.tolist(), person.tolist(), strict=True):
        people.setdefault(a, []).append(p)
    fast = [(int(count[i]), int(carriers[i]), int(copies[i]), sorted(people[i])) for i in range(count.size)]
    oracle = _dense_oracle(genotypes, 10, 8, cap=4)
    assert len(oracle) > 50
    assert fast == oracle


def test_population_saves_and_names_carriers(small_beacon: BeaconPopulation, tmp_path: Path) -> None:
    path = tmp_path / "beacon.npz"
    small_beacon.save(path)
    loaded = BeaconPopulation.load(path)
    assert loaded.parameters() == small_beacon.parameters()
    assert np.array_equal(loaded.alleles, small_beacon.alleles)
    for allele in (0, 17, small_beacon.n_alleles - 1):
        named = small_beacon.member_carriers(allele).tolist()
        assert len(named) == small_beacon.member_count[allele]
        assert named == [m for m in range(small_beacon.n_members) if allele in set(small_beacon.carried_by(m))]
    (tmp_path / "junk.npz").write_bytes(b"not numpy")
    with pytest.raises(InputError):
        BeaconPopulation.load(tmp_path / "junk.npz")
    fewest, median = small_beacon.alleles_per_target
    assert 100 < fewest <= median  # every target has more alleles than the tests ask about


def test_beta_binomial_pmf_matches_the_closed_form() -> None:
    n, a, b = 12, 0.7, 9.3
    direct = [math.comb(n, k) * math.exp(math.lgamma(k + a) + math.lgamma(n - k + b) - math.lgamma(n + a + b)
                                         - math.lgamma(a) - math.lgamma(b) + math.lgamma(a + b)) for k in range(n + 1)]
    assert np.allclose(beta_binomial_pmf(n, np.array([a]), np.array([b]))[0], direct, rtol=1e-9)


def test_absence_probability_is_the_expectation_the_paper_defines() -> None:
    """D_N = E[(1 - f)^(2N)] for f ~ Beta(a, b), checked by Monte Carlo."""
    f = np.random.default_rng(1).beta(2.0, 3.0, size=400_000)
    assert float(np.exp(log_absence_probability(2.0, 3.0, 4))) == pytest.approx(np.mean((1 - f) ** 8), rel=0.01)


def test_the_paper_statistic_rewards_yes_on_rare_alleles_and_punishes_no() -> None:
    test = ShringarpureBustamante.build(1000, 1000)
    copies = np.array([0, 0, 40, 40], dtype=np.int32)
    scores = test.scores(copies, np.array([1, 0, 1, 0], dtype=np.int32))
    assert scores[0] > scores[2] > 0 > scores[3] > scores[1]
    assert scores[1] == pytest.approx(math.log(1e-6), abs=0.1)  # a "no" for a member needs a mismatch (δ)


def test_the_informed_attacker_aims_at_the_threshold() -> None:
    threshold = InformedAttacker.build(200, 200, deterministic([int(c >= 5) for c in range(201)]))
    raw = InformedAttacker.build(200, 200, deterministic([int(c >= 1) for c in range(201)]))
    assert int(np.argmax(raw.information)) == 0  # unguarded: the rarest alleles tell most
    assert 0 < int(np.argmax(threshold.information)) < 10  # guarded: alleles expected near min_count
    with pytest.raises(InputError):
        InformedAttacker.build(200, 200, deterministic([0, 1]))


def test_power_handles_ties_as_a_randomised_test() -> None:
    assert power_at_fpr([1.0] * 50, [1.0] * 50) == pytest.approx(0.05)
    assert power_at_fpr([2.0] * 10, [0.0] * 95 + [1.0] * 5, fpr=0.05) == 1.0
    assert power_at_fpr([0.5] * 10, [0.0] * 90 + [1.0] * 10, fpr=0.05) == 0.0


def test_the_guard_defeats_attacks_that_beat_the_raw_beacon(small_beacon: BeaconPopulation) -> None:
    report = run_membership_attack(small_beacon, queries=50, targets=150, checkpoints=(10, 50),
                                   only=["shringarpure-bustamante", "informed-boolean"])
    sb, informed = "shringarpure-bustamante", "informed-boolean"
    assert report.curve(sb, "raw").power[10] >= 0.95  # the paper's attack, no guard: ten queries suffice
    assert report.power_unguarded >= 0.95
    # Suppression and budget alone: an attacker aiming at min_count still identifies members.
    assert report.power(informed, "threshold") >= 0.15
    # With the donor ledger, every attacker's power stays near the bound (2 x the 5% false-positive rate).
    for strategy in (sb, informed):
        assert max(report.curve(strategy, "ledger").power.values()) <= 0.15
    assert report.power_guarded == report.power(sb, "ledger")
    assert report.curve(sb, "ledger").mean_queries == 50 and report.curve(sb, "ledger").budget_stops == 0


def test_the_budget_ends_an_attack_where_a_node_would(small_beacon: BeaconPopulation) -> None:
    report = run_membership_attack(small_beacon, queries=40, targets=20, checkpoints=(10, 40), tier=Tier.PUBLIC,
                                   settings=GuardSettings(budget_public=15), only=["shringarpure-bustamante"],
                                   beacons=("raw", "ledger"))
    assert report.curve("shringarpure-bustamante", "raw").mean_queries == 40
    ledger = report.curve("shringarpure-bustamante", "ledger")
    assert ledger.mean_queries == 15 and ledger.budget_stops == 1.0
    assert report.to_dict()["guard"] == {"min_count": 5, "budget": 15, "period": "day", "membership_odds": 2.0}
    with pytest.raises(InputError):
        run_membership_attack(small_beacon, tier=Tier.CONTROLLED)


def test_evaluate_membership_attack_command(tmp_path: Path) -> None:
    out = tmp_path / "attack.json"
    result = CliRunner().invoke(app, ["evaluate", "membership-attack", "--members", "40", "--queries", "20",
                                      "--targets", "15", "--megabases", "1", "--seed", "3", "--json", str(out),
                                      "--cache", str(tmp_path / "cache")])
    assert result.exit_code == 0, result.output
    figures = json.loads(out.read_text())
    assert {"members", "queries", "fpr", "power_unguarded", "power_guarded", "curve"} <= set(figures)
    assert figures["members"] == 40 and figures["queries"] == 20 and figures["fpr"] == 0.05
    assert {(c["strategy"], c["beacon"]) for c in figures["curve"]} >= {("shringarpure-bustamante", "raw"),
                                                                         ("shringarpure-bustamante", "ledger")}
    assert list((tmp_path / "cache").glob("beacon-population-m40-*.npz"))
    assert "power without the guard" in result.output
    bad = CliRunner().invoke(app, ["evaluate", "membership-attack", "--tier", "controlled", "--json", str(out)])
    assert bad.exit_code != 0
