"""What a running node hands to every service function: configuration, database, keys, vault, audit."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from genomed.audit.trail import AuditTrail
from genomed.config import NodeConfig
from genomed.db.engine import transaction
from genomed.store.query import VariantStore
from genomed.vault.keys import NodeKeys
from genomed.vault.store import Vault


@dataclass
class NodeContext:
    """An opened node. Build it with :func:`genomed.node.open_node`; close it with :meth:`close`."""

    config: NodeConfig
    engine: Engine
    keys: NodeKeys
    vault: Vault
    audit: AuditTrail
    store: VariantStore

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work on the node database (see :func:`genomed.db.engine.transaction`)."""
        with transaction(self.engine) as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> NodeContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
