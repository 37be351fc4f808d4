"""A node's home directory and its configuration file (``genomed.toml``).

The home holds everything a node owns on local disk::

    HOME/
      genomed.toml          node name and id, country, genome build, database URL, ...
      keys/                 node.sec, node.pub, pseudonym.key.c4gh   (mode 0700)
      vault/                Crypt4GH-encrypted files, two-level fan-out by file id
      audit/anchors.jsonl   signed audit checkpoints, anchored outside the database
      staging/              partial writes, renamed into place when complete
      store/                the variant store (Parquet, see genomed.store.layout)
      catalog.sqlite        the embedded database, unless database_url points elsewhere

The home is found from ``--home``, else ``GENOMED_HOME``.
"""

from __future__ import annotations

import os
import re
import tomllib
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from genomed.errors import ConfigurationError

CONFIG_FILE = "genomed.toml"
HOME_ENV = "GENOMED_HOME"
GENOME_BUILDS = ("GRCh38", "GRCh37")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


@dataclass
class NodeConfig:
    """What a node is and where it keeps things; written once by ``genomed init``."""

    node_name: str
    country: str
    genome_build: str = "GRCh38"
    database_url: str = ""
    node_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    passphrase_env: str = "GENOMED_KEY_PASSPHRASE"  # noqa: S105 - the name of a variable, not a secret
    audit_checkpoint_every: int = 100
    reference_fasta: str = ""   # indexed FASTA of the genome build, for REF checks and left-alignment
    home: Path = field(default=Path("."), compare=False)

    def __post_init__(self) -> None:
        if not self.node_name.strip():
            raise ConfigurationError("node name must not be empty")
        if not _COUNTRY.match(self.country):
            raise ConfigurationError(f"country must be an ISO 3166-1 alpha-2 code such as FR, got {self.country!r}")
        if self.genome_build not in GENOME_BUILDS:
            raise ConfigurationError(
                f"genome build must be one of {', '.join(GENOME_BUILDS)}, got {self.genome_build!r}"
            )
        if self.audit_checkpoint_every < 1:
            raise ConfigurationError("audit_checkpoint_every must be at least 1")

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def vault_dir(self) -> Path:
        return self.home / "vault"

    @property
    def staging_dir(self) -> Path:
        return self.home / "staging"

    @property
    def store_dir(self) -> Path:
        return self.home / "store"

    @property
    def consent_signal(self) -> Path:
        """A file touched after every consent change: a cheap, cross-process "re-read consent" signal."""
        return self.home / "consent.epoch"

    @property
    def audit_dir(self) -> Path:
        return self.home / "audit"

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or the embedded SQLite database inside the home."""
        return self.database_url or f"sqlite:///{(self.home / 'catalog.sqlite').resolve()}"

    @property
    def reference_path(self) -> Path | None:
        """The node's reference FASTA (relative paths are relative to the home), if it has one."""
        if not self.reference_fasta:
            return None
        path = Path(self.reference_fasta)
        return path if path.is_absolute() else self.home / path

    def key_passphrase(self) -> str | None:
        """The key passphrase from the environment; ``None`` when keys are not locked."""
        return os.environ.get(self.passphrase_env) or None

    def to_toml(self) -> str:
        values: dict[str, Any] = asdict(self)
        values.pop("home")
        return "# genomed node configuration (written by `genomed init`)\n" + tomli_w.dumps({"node": values})

    def save(self) -> None:
        (self.home / CONFIG_FILE).write_text(self.to_toml())


def resolve_home(home: str | os.PathLike[str] | None) -> Path:
    """The node home from an explicit path or ``GENOMED_HOME``; a clear error when neither is set."""
    chosen = home if home is not None else os.environ.get(HOME_ENV)
    if not chosen:
        raise ConfigurationError(f"no node home: pass --home DIR or set {HOME_ENV}")
    return Path(chosen).expanduser().resolve()


def load_config(home: Path) -> NodeConfig:
    """Read ``HOME/genomed.toml``, checking every field."""
    path = home / CONFIG_FILE
    if not path.exists():
        raise ConfigurationError(f"{home} is not a genomed node home (no {CONFIG_FILE}); run `genomed init`")
    try:
        document = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path} is not valid TOML: {exc}") from exc
    node = document.get("node")
    if not isinstance(node, dict):
        raise ConfigurationError(f"{path} has no [node] table")
    known = {f for f in NodeConfig.__dataclass_fields__ if f != "home"}
    unknown = set(node) - known
    if unknown:
        raise ConfigurationError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}")
    try:
        config = NodeConfig(**node, home=home)
    except TypeError as exc:
        raise ConfigurationError(f"{path}: {exc}") from exc
    return config
