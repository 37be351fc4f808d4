"""Creating and opening a node: configuration, keys (optionally passphrase-locked), database checks."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from genomed.config import load_config
from genomed.errors import ConfigurationError, CryptoKeyError
from genomed.node import init_node, open_node


def test_init_creates_config_keys_database_and_folders(tmp_path: Path) -> None:
    home = tmp_path / "node"
    ctx = init_node(home, node_name="PFMG Lyon", country="fr", genome_build="GRCh38")
    ctx.close()
    config = load_config(home)
    assert (config.node_name, config.country, config.genome_build) == ("PFMG Lyon", "FR", "GRCh38")
    assert config.effective_database_url.startswith("sqlite:///")
    for name in ("node.sec", "node.pub", "pseudonym.key.c4gh"):
        assert (home / "keys" / name).is_file()
    assert stat.S_IMODE((home / "keys" / "node.sec").stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "keys").stat().st_mode) == 0o700
    assert all((home / d).is_dir() for d in ("vault", "staging", "audit"))
    reopened = open_node(home)
    assert reopened.keys.public_key == ctx.keys.public_key
    assert reopened.keys.pseudonym_key == ctx.keys.pseudonym_key
    reopened.close()


def test_the_node_key_pair_is_usable_by_the_reference_tool(tmp_path: Path) -> None:
    home = tmp_path / "node"
    init_node(home, node_name="n", country="DK").close()
    tool = Path(sys.executable).parent / "crypt4gh"
    encrypted = subprocess.run([str(tool), "encrypt", "--recipient_pk", str(home / "keys" / "node.pub")],
                               input=b"hello", capture_output=True, check=True, timeout=60).stdout
    clear = subprocess.run([str(tool), "decrypt", "--sk", str(home / "keys" / "node.sec")], input=encrypted,
                           capture_output=True, check=True, timeout=60, env={**os.environ, "C4GH_PASSPHRASE": ""})
    assert clear.stdout == b"hello"


def test_locked_keys_need_the_right_passphrase(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "node"
    init_node(home, node_name="n", country="SE", passphrase="correct horse battery staple").close()
    monkeypatch.delenv("GENOMED_KEY_PASSPHRASE", raising=False)
    with pytest.raises(CryptoKeyError, match="is locked and no passphrase was given"):
        open_node(home)
    monkeypatch.setenv("GENOMED_KEY_PASSPHRASE", "wrong")
    with pytest.raises(CryptoKeyError, match="wrong passphrase"):
        open_node(home)
    monkeypatch.setenv("GENOMED_KEY_PASSPHRASE", "correct horse battery staple")
    open_node(home).close()


def test_a_database_of_another_node_is_refused(tmp_path: Path) -> None:
    first = init_node(tmp_path / "a", node_name="a", country="FR")
    first.close()
    second = init_node(tmp_path / "b", node_name="b", country="FR")
    second.close()
    config_b = (tmp_path / "b" / "genomed.toml").read_text()
    (tmp_path / "b" / "genomed.toml").write_text(
        config_b.replace('database_url = ""', f'database_url = "sqlite:///{tmp_path / "a" / "catalog.sqlite"}"'))
    with pytest.raises(ConfigurationError, match="belongs to another node"):
        open_node(tmp_path / "b")


def test_init_on_a_non_empty_database_fails_and_leaves_no_half_node(tmp_path: Path, database_url: str) -> None:
    init_node(tmp_path / "a", node_name="a", country="FR", database_url=database_url).close()
    with pytest.raises(ConfigurationError, match="database is not empty"):
        init_node(tmp_path / "b", node_name="b", country="FR", database_url=database_url)
    assert not (tmp_path / "b").exists()


def test_a_corrupt_configuration_names_the_problem(tmp_path: Path) -> None:
    home = tmp_path / "node"
    init_node(home, node_name="n", country="FR").close()
    (home / "genomed.toml").write_text("[node]\nnode_name = 'n'\ncountry = 'FR'\ncolour = 'blue'\n")
    with pytest.raises(ConfigurationError, match="unknown setting\\(s\\) colour"):
        open_node(home)
    (home / "genomed.toml").write_text("not toml [")
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        open_node(home)


def test_a_wrong_genome_build_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="GRCh38, GRCh37"):
        init_node(tmp_path / "n", node_name="n", country="FR", genome_build="hg19")
