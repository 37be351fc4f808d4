"""Peers in sharing.toml through the CLI, and the identity card a node hands to its peers."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from genomed.cli import main
from genomed.errors import ConfigurationError, DuplicateError, NotFoundError
from genomed.node import open_node
from genomed.share.federation.signing import RequestSigner, RequestVerifier, verify_key_id
from genomed.share.settings import load_sharing


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def node_home(capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, country: str) -> Path:
    home = tmp_path / name
    assert run(capsys, "init", "--home", str(home), "--node-name", name, "--country", country)[0] == 0
    return home


def test_two_nodes_exchange_identity_cards_and_trust_each_others_signatures(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    france, sweden = node_home(capsys, tmp_path, "France", "FR"), node_home(capsys, tmp_path, "Sweden", "SE")
    code, card_toml, _ = run(capsys, "--home", str(sweden), "federation", "identity")
    assert code == 0
    card = tomllib.loads(card_toml)["peers"][0]
    assert (card["name"], card["country"]) == ("Sweden", "SE")
    code, out, err = run(capsys, "--home", str(france), "federation", "peer", "add", card["name"], "--country",
                         card["country"], "--url", "http://127.0.0.1:8082", "--public-key", card["public_key"])
    assert code == 0, err

    code, out, _ = run(capsys, "--home", str(france), "federation", "peer", "list", "--json")
    listed = json.loads(out)
    with open_node(sweden) as sweden_ctx, open_node(france) as france_ctx:
        assert listed == [{"name": "Sweden", "country": "SE", "url": "http://127.0.0.1:8082",
                           "key_id": sweden_ctx.keys.signing_key_id}]
        # what Sweden signs with its node key, France now verifies with the key from the card
        verifier = RequestVerifier(france_ctx.keys.signing_key_id, load_sharing(france).peers)
        headers = RequestSigner(sweden_ctx.keys.signing_key).headers(
            method="GET", path="/info", query="", body=b"", audience=verify_key_id(france_ctx.keys.verify_key))
        peer = verifier.verify(method="GET", path="/info", query="", body=b"", headers=headers)
        assert peer is not None and peer.name == "Sweden"


def test_peer_edits_refuse_duplicates_bad_keys_and_unknown_names(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = node_home(capsys, tmp_path, "France", "FR")
    code, out, _ = run(capsys, "--home", str(home), "federation", "identity", "--json")
    own_key = json.loads(out)["public_key"]
    base = ["--home", str(home), "federation", "peer"]
    assert run(capsys, *base, "add", "Denmark", "--country", "dk", "--url", "http://127.0.0.1:8083",
               "--public-key", own_key)[0] == 0
    code, _, err = run(capsys, *base, "add", "Denmark", "--country", "DK", "--url", "http://127.0.0.1:8084")
    assert code == DuplicateError.exit_code and "already exists" in err
    code, _, err = run(capsys, *base, "add", "Other", "--country", "DK", "--url", "http://x", "--public-key", own_key)
    assert code == DuplicateError.exit_code and "already has this public key" in err
    code, _, err = run(capsys, *base, "add", "Bad", "--country", "DK", "--url", "http://x", "--public-key", "AAAA")
    assert code == ConfigurationError.exit_code and "32 bytes" in err
    code, _, err = run(capsys, *base, "add", "Bad", "--country", "Denmark", "--url", "http://x")
    assert code == ConfigurationError.exit_code and "alpha-2" in err
    assert [p.country for p in load_sharing(home).peers] == ["DK"]

    assert run(capsys, *base, "remove", "Denmark")[0] == 0
    assert load_sharing(home).peers == ()
    code, _, err = run(capsys, *base, "remove", "Denmark")
    assert code == NotFoundError.exit_code and "no peer named" in err
    assert tomllib.loads((home / "sharing.toml").read_text())["guard"]["min_count"] == 5  # the rest is kept
