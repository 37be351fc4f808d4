"""How a node shares: ``HOME/sharing.toml``.

One file holds what the operator decides about sharing, so that a data steward can read it in one
place::

    [beacon]
    id = "org.genomed.fr"              # reverse-domain Beacon id
    name = "genomed France"
    organisation = "Plan France Médecine Génomique"
    public_url = "http://127.0.0.1:8081"

    [guard]
    min_count = 5                      # counts below this are answered as 0 below the controlled tier
                                       # (the donor ledger's answers say "yes" half the time at it)
    budget_public = 200                # queries per identity per budget period
    budget_registered = 1000
    period = "day"                     # "day" or "hour"
    membership_odds = 2.0              # donor ledger: how far all answers together may raise the odds that a
                                       # donor is in (a membership test's power <= this x its false-positive rate)

    [[brokers]]                        # passport brokers whose visas this node trusts
    issuer = "https://broker.example.org"
    public_key = "-----BEGIN PUBLIC KEY-----..."   # PEM (Ed25519, RSA or EC)
    country = "SE"                     # optional: the country of a national broker's users

    [[peers]]                          # other nodes of the federation
    name = "Sweden"
    country = "SE"
    url = "http://127.0.0.1:8082"
    public_key = "base64 of the peer's raw Ed25519 verify key"
    mme_token_out = "the X-Auth-Token we send to this peer's /match"
    mme_token_in_sha256 = "sha256 hex of the X-Auth-Token this peer sends us"

A node without the file shares under safe defaults: no trusted broker, no peer, min count 5.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import tomli_w

from genomed.errors import ConfigurationError

SHARING_FILE = "sharing.toml"
_COUNTRY = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True)
class BeaconSettings:
    id: str = "org.genomed.node"
    name: str = "genomed node"
    organisation: str = "genomed"
    public_url: str = "http://127.0.0.1:8080"
    welcome_url: str = ""
    contact_url: str = "mailto:datasteward@example.org"


@dataclass(frozen=True)
class GuardSettings:
    min_count: int = 5
    budget_public: int = 200
    budget_registered: int = 1000
    period: str = "day"
    membership_odds: float = 2.0

    def __post_init__(self) -> None:
        if self.min_count < 1:
            raise ConfigurationError("guard.min_count must be at least 1")
        if not 1 < self.membership_odds <= 1e6:
            raise ConfigurationError("guard.membership_odds must be above 1 (and at most 1e6)")
        if self.budget_public < 1 or self.budget_registered < 1:
            raise ConfigurationError("guard budgets must be at least 1 query")
        if self.period not in ("day", "hour"):
            raise ConfigurationError(f"guard.period must be 'day' or 'hour', got {self.period!r}")


@dataclass(frozen=True)
class TrustedBroker:
    """A passport broker or visa issuer this node trusts; ``country`` is where its users are, if national."""

    issuer: str
    public_key: str
    country: str = ""


@dataclass(frozen=True)
class Peer:
    name: str
    country: str
    url: str
    public_key: str = ""
    mme_token_out: str = ""
    mme_token_in_sha256: str = ""

    def __post_init__(self) -> None:
        if not _COUNTRY.match(self.country):
            raise ConfigurationError(f"peer {self.name!r}: country must be an ISO 3166-1 alpha-2 code")
        if not self.url.startswith(("http://", "https://")):
            raise ConfigurationError(f"peer {self.name!r}: url must start with http:// or https://")

    def accepts_token(self, token: str) -> bool:
        """Whether ``token`` is the MME token this peer was given (compared by hash, never stored plain)."""
        if not self.mme_token_in_sha256:
            return False
        return hashlib.sha256(token.encode()).hexdigest() == self.mme_token_in_sha256


@dataclass(frozen=True)
class SharingSettings:
    beacon: BeaconSettings = field(default_factory=BeaconSettings)
    guard: GuardSettings = field(default_factory=GuardSettings)
    brokers: tuple[TrustedBroker, ...] = ()
    peers: tuple[Peer, ...] = ()

    def peer(self, name: str) -> Peer:
        for peer in self.peers:
            if peer.name == name:
                return peer
        raise ConfigurationError(f"no peer named {name!r}; known peers: {', '.join(p.name for p in self.peers)}")

    def to_toml(self) -> str:
        document: dict[str, Any] = {"beacon": asdict(self.beacon), "guard": asdict(self.guard)}
        if self.brokers:
            document["brokers"] = [asdict(b) for b in self.brokers]
        if self.peers:
            document["peers"] = [asdict(p) for p in self.peers]
        return "# how this node shares (see genomed.share.settings)\n" + tomli_w.dumps(document)

    def save(self, home: Path) -> None:
        (home / SHARING_FILE).write_text(self.to_toml())


def _section(path: Path, cls: type, values: object, name: str) -> Any:
    if not isinstance(values, dict):
        raise ConfigurationError(f"{path}: [{name}] must be a table")
    known = {f.name for f in fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise ConfigurationError(f"{path}: unknown setting(s) in [{name}]: {', '.join(sorted(unknown))}")
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigurationError(f"{path}: [{name}]: {exc}") from exc


def load_sharing(home: Path) -> SharingSettings:
    """The node's sharing settings, checked; safe defaults when ``sharing.toml`` does not exist."""
    path = home / SHARING_FILE
    if not path.exists():
        return SharingSettings()
    try:
        document = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path} is not valid TOML: {exc}") from exc
    unknown = set(document) - {"beacon", "guard", "brokers", "peers"}
    if unknown:
        raise ConfigurationError(f"{path}: unknown section(s) {', '.join(sorted(unknown))}")
    return SharingSettings(
        beacon=_section(path, BeaconSettings, document.get("beacon", {}), "beacon"),
        guard=_section(path, GuardSettings, document.get("guard", {}), "guard"),
        brokers=tuple(_section(path, TrustedBroker, b, "brokers") for b in document.get("brokers", [])),
        peers=tuple(_section(path, Peer, p, "peers") for p in document.get("peers", [])),
    )
