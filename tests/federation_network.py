"""A small federation on this machine: real node homes, each served by its own ``genomed serve`` process.

Used by ``tests/test_federation_nodes.py`` and ``benchmarks/federated_query.py``. Each node gets a
handful of consented patients and a tiny cohort written straight into its variant store (the way
``tests/test_store.py`` feeds the store, without VCF parsing), with a known number of carriers of
each variant, so that every count a test reads has an expected value.
"""

from __future__ import annotations

import contextlib
import hashlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

from genomed.catalog import consents, patients, prescriptions, samples
from genomed.node import init_node, open_node
from genomed.share.federation.peers import node_identity
from genomed.share.settings import BeaconSettings, GuardSettings, Peer, SharingSettings
from genomed.store.writer import BatchWriter
from test_catalog import ID_HPO, ID_TESTS, staff
from test_store import DenseCohort, as_chunk, batch_samples

SAMPLES_PER_NODE = 8
SCOPES = ["diagnosis", "research", "national_sharing", "international_sharing", "case_matching"]
# chr1 variants and how many (heterozygous) carriers each node has. The network's guard (MIN_COUNT 3,
# MEMBERSHIP_ODDS 1e6) draws its answers from a ramp so steep that 5 or more carriers are answered "yes"
# and 1 or none "no" but for one time in ~10^12, and their answers tell the donor ledger nothing: these
# tests are about federation, and the guard's randomised release is tested in test_privacy_guard.py and
# test_beacon_guard.py. (A realistic ramp, ln 2 a carrier, answers 6 carriers "yes" 3 times in 4.)
COMMON = ("chr1", 1_000_100, "A", "G")
RARE = ("chr1", 1_000_200, "C", "T")
SWEDISH = ("chr1", 1_000_300, "G", "A")
ABSENT = ("chr1", 1_000_400, "T", "C")
CARRIERS: dict[str, dict[tuple[str, int, str, str], int]] = {
    "France": {COMMON: 6, RARE: 1},
    "Sweden": {COMMON: 7, SWEDISH: 6},
    "Denmark": {COMMON: 5},
    "UK": {COMMON: 8},
}
MIN_COUNT = 3
MEMBERSHIP_ODDS = 1e6
COUNTRIES = {"France": "FR", "Sweden": "SE", "Denmark": "DK", "UK": "GB"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cohort(sample_ids: list[int], carriers: Mapping[tuple[str, int, str, str], int]) -> DenseCohort:
    sites = sorted(v for v, n in carriers.items() if n > 0)
    alt_count = np.zeros((len(sites), len(sample_ids)), dtype=np.int8)
    for row, site in enumerate(sites):
        alt_count[row, : carriers[site]] = 1
    return DenseCohort(chrom=[s[0] for s in sites], pos=np.array([s[1] for s in sites]), ref=[s[2] for s in sites],
                       alt=[s[3] for s in sites], alt_count=alt_count,
                       ploidy=np.full(alt_count.shape, 2, dtype=np.int8), sample_ids=sample_ids,
                       x_ploidy=[2] * len(sample_ids), y_ploidy=[0] * len(sample_ids))


def build_home(home: Path, name: str, country: str) -> None:
    """A node with ``SAMPLES_PER_NODE`` consented patients whose genotypes give ``CARRIERS[name]``."""
    ctx = init_node(home, node_name=name, country=country)
    try:
        staff(ctx)
        sample_ids = []
        for k in range(SAMPLES_PER_NODE):
            pseudonym = patients.include_patient(ctx, "presc", national_id=f"{country}-{k:08d}",
                                                 birth_date=f"2015-02-{k + 1:02d}", sex="female").pseudonym
            consents.give_consent(ctx, "presc", pseudonym=pseudonym, scopes=SCOPES, form_version="v4")
            case = prescriptions.prescribe(ctx, "presc", pseudonym=pseudonym, indication_code="RD-ID",
                                           hpo_terms=ID_HPO, prior_tests=ID_TESTS)
            sample_ids.append(samples.add_sample(ctx, "presc", case_reference=case.reference, kind="germline").id)
        cohort = _cohort(sample_ids, CARRIERS[name])
        writer = BatchWriter(ctx.config.store_dir, source="vcf", genome_build="GRCh38", sample_ids=sample_ids,
                             input_sha256=[hashlib.sha256(name.encode()).hexdigest()])
        writer.add_records(as_chunk(cohort, np.arange(len(cohort.chrom))))
        writer.finish(batch_samples(cohort)).commit()
    finally:
        ctx.close()


@dataclass
class Member:
    name: str
    country: str
    home: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Network:
    members: dict[str, Member] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Member:
        return self.members[name]

    def kill(self, name: str) -> None:
        """SIGKILL one node's server, as a crash would."""
        process = self.members[name].process
        assert process is not None
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)


def build_homes(root: Path, names: tuple[str, ...] = tuple(CARRIERS)) -> dict[str, Path]:
    """One home per node under ``root`` (reused when it already holds a node)."""
    homes = {}
    for name in names:
        home = root / name.lower()
        if not (home / "genomed.toml").exists():
            build_home(home, name, COUNTRIES[name])
        homes[name] = home
    return homes


def configure(homes: Mapping[str, Path], ports: Mapping[str, int], *, min_count: int = MIN_COUNT,
              budget: int = 10_000) -> None:
    """Write each node's sharing.toml: its Beacon on its port, and every other node as a peer.

    ``budget`` is every identity's daily query budget (public and registered alike).
    """
    cards = {}
    for name, home in homes.items():
        with open_node(home) as ctx:  # the keys only: a sharing.toml left by an older run is not read
            cards[name] = node_identity(ctx, SharingSettings())
    for name, home in homes.items():
        peers = tuple(Peer(name=other, country=cards[other].country, url=f"http://127.0.0.1:{ports[other]}",
                           public_key=cards[other].public_key) for other in homes if other != name)
        SharingSettings(beacon=BeaconSettings(id=f"org.genomed.{COUNTRIES[name].lower()}", name=f"genomed {name}",
                                              organisation=f"genomed {name}",
                                              public_url=f"http://127.0.0.1:{ports[name]}"),
                        guard=GuardSettings(min_count=min_count, budget_public=budget, budget_registered=budget,
                                            membership_odds=MEMBERSHIP_ODDS),
                        peers=peers).save(home)


def _wait_until_serving(member: Member, deadline: float) -> None:
    while time.monotonic() < deadline:
        assert member.process is not None
        if member.process.poll() is not None:
            log = (member.home / "serve.log").read_text()[-2000:]
            raise RuntimeError(f"genomed serve for {member.name} exited with {member.process.returncode}:\n{log}")
        try:
            httpx.get(f"{member.url}/openapi.json", timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{member.name} did not start serving on {member.url}")


@contextlib.contextmanager
def running(homes: Mapping[str, Path], *, min_count: int = MIN_COUNT, budget: int = 10_000,
            start_timeout: float = 90.0) -> Iterator[Network]:
    """Every node configured with the others as peers and served by its own process; all stopped after."""
    ports = {name: free_port() for name in homes}
    configure(homes, ports, min_count=min_count, budget=budget)
    genomed = str(Path(sys.executable).with_name("genomed"))
    network = Network({name: Member(name, COUNTRIES[name], home, ports[name]) for name, home in homes.items()})
    try:
        for member in network.members.values():
            with (member.home / "serve.log").open("ab") as log:
                member.process = subprocess.Popen(
                    [genomed, "--home", str(member.home), "serve", "--port", str(member.port)],
                    stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + start_timeout
        for member in network.members.values():
            _wait_until_serving(member, deadline)
        yield network
    finally:
        for member in network.members.values():
            if member.process is not None and member.process.poll() is None:
                member.process.terminate()
        for member in network.members.values():
            if member.process is not None:
                try:
                    member.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    member.process.kill()
                    member.process.wait()
