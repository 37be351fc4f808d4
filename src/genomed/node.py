"""Creating and opening a node: its home, configuration, keys, database and storage folders."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from sqlalchemy import inspect, select

from genomed.access.roles import Role
from genomed.audit.trail import AuditTrail
from genomed.catalog.models import NodeSetting, User
from genomed.config import CONFIG_FILE, NodeConfig, load_config
from genomed.context import NodeContext
from genomed.db.engine import make_engine, transaction
from genomed.db.migrate import current_revision, head_revision, upgrade_to_head
from genomed.errors import ConfigurationError
from genomed.store.query import VariantStore
from genomed.vault.keys import generate_node_keys, load_node_keys
from genomed.vault.store import Vault

ANCHOR_FILE = "anchors.jsonl"


def init_node(home: Path, *, node_name: str, country: str, genome_build: str = "GRCh38",
              database_url: str = "", admin: str = "admin", passphrase: str | None = None) -> NodeContext:
    """Create a node in ``home``: configuration, keys, database at the newest schema, folders.

    The first user, ``admin``, is created with the admin role so that the node can be run; every
    later user is added by an admin. A home that already holds a node is refused, never overwritten.
    """
    home = home.resolve()
    if (home / CONFIG_FILE).exists():
        raise ConfigurationError(f"{home} already holds a genomed node; refusing to overwrite it")
    config = NodeConfig(node_name=node_name, country=country.upper(), genome_build=genome_build,
                        database_url=database_url, home=home)
    created_home = not home.exists()
    home.mkdir(parents=True, exist_ok=True)
    try:
        for folder in (config.vault_dir, config.staging_dir, config.audit_dir, config.store_dir):
            folder.mkdir(parents=True, exist_ok=True)
            os.chmod(folder, 0o700)
        keys = generate_node_keys(config.keys_dir, passphrase, node_name)
        engine = make_engine(config.effective_database_url)
        if inspect(engine).get_table_names():
            engine.dispose()
            raise ConfigurationError("the database is not empty; a new node needs an empty database")
        upgrade_to_head(engine)
        audit = AuditTrail(config.node_id, keys, config.audit_dir / ANCHOR_FILE, config.audit_checkpoint_every)
        with transaction(engine) as session:
            audit.initialise(session)
            session.add_all([
                NodeSetting(key="node_id", value=config.node_id),
                NodeSetting(key="genome_build", value=config.genome_build),
            ])
            session.add(User(username=admin, display_name="Node administrator", roles=Role.ADMIN.value))
            audit.record(session, actor=admin, action="node.init", object_type="node", object_id=config.node_id,
                         purpose="administration",
                         details={"node_name": node_name, "country": config.country,
                                  "genome_build": genome_build})
        config.save()
    except BaseException:
        # Leave no half-made node behind: the keys and folders of a failed init are useless.
        if created_home:
            shutil.rmtree(home, ignore_errors=True)
        else:
            for name in ("keys", "vault", "staging", "audit", "store", "catalog.sqlite", "catalog.sqlite-wal",
                         "catalog.sqlite-shm"):
                target = home / name
                if target.is_dir():
                    shutil.rmtree(target, ignore_errors=True)
                elif target.exists():
                    target.unlink()
        raise
    vault = Vault(config.vault_dir, config.staging_dir, keys)
    return NodeContext(config=config, engine=engine, keys=keys, vault=vault, audit=audit,
                       store=VariantStore(config.store_dir, config.genome_build))


def open_node(home: Path, *, migrate: bool = True) -> NodeContext:
    """Open an existing node: unlock its keys, check its database belongs to it and is up to date."""
    config = load_config(home)
    keys = load_node_keys(config.keys_dir, config.key_passphrase())
    engine = make_engine(config.effective_database_url)
    revision = current_revision(engine)
    if revision is None:
        engine.dispose()
        raise ConfigurationError(f"the database of node {config.node_name} is empty; was it initialised?")
    if revision != head_revision():
        if not migrate:
            engine.dispose()
            raise ConfigurationError(f"database schema {revision} is older than {head_revision()}; run migrations")
        upgrade_to_head(engine)
    with transaction(engine) as session:
        stored_id = session.scalar(select(NodeSetting.value).where(NodeSetting.key == "node_id"))
    if stored_id != config.node_id:
        engine.dispose()
        raise ConfigurationError(
            f"the database at {config.effective_database_url.split('@')[-1]} belongs to another node "
            f"({stored_id}), not {config.node_id}"
        )
    audit = AuditTrail(config.node_id, keys, config.audit_dir / ANCHOR_FILE, config.audit_checkpoint_every)
    vault = Vault(config.vault_dir, config.staging_dir, keys)
    config.store_dir.mkdir(exist_ok=True)
    return NodeContext(config=config, engine=engine, keys=keys, vault=vault, audit=audit,
                       store=VariantStore(config.store_dir, config.genome_build))
