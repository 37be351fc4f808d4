"""``genomed match …`` end to end on a real node home: load, list, publish, query a served peer, withdraw, tokens."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from genomed.cli import main
from genomed.context import NodeContext
from genomed.node import init_node
from genomed.share.matching.store import import_patients, read_patients_file
from genomed.share.settings import Peer, SharingSettings, load_sharing
from mme_support import BENCHMARK, TOKEN_TO_PEER, add_steward, interpreted_case, serve_node, sha256, sharing_settings


def run(home: Path, user: str, *args: str) -> int:
    return main(["--home", str(home), "--user", user, "match", *args])


def test_load_list_benchmark_withdraw(sqlite_node: NodeContext, capsys: pytest.CaptureFixture[str]) -> None:
    home = sqlite_node.config.home
    add_steward(sqlite_node)
    assert run(home, "steward", "load", str(BENCHMARK)) == 0
    out = capsys.readouterr().out
    assert "imported 50 new and 0 updated" in out and out.count("note: ") == 2
    assert run(home, "steward", "load", str(BENCHMARK)) == 0
    assert "imported 0 new and 50 updated" in capsys.readouterr().out
    assert run(home, "steward", "withdraw", "P0001024", "--reason", "test") == 0
    assert run(home, "steward", "list") == 0
    assert "49 of 50 match case(s) matchable now" in capsys.readouterr().out
    assert run(home, "steward", "benchmark") == 0
    out = capsys.readouterr().out
    assert "mme_same_disorder_top1 30/50" in out and "mme_same_disorder_top5 30/50" in out
    assert run(home, "admin", "load", str(BENCHMARK)) == 7  # an admin reads no patient data: access denied


def test_a_broken_file_is_one_line_naming_patient_and_field(sqlite_node: NodeContext, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    add_steward(sqlite_node)
    patients = json.loads(BENCHMARK.read_text())[:3]
    patients[2]["features"][0]["id"] = "HP:12"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(patients))
    assert run(sqlite_node.config.home, "steward", "load", str(broken)) == 5  # InputError's exit code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "patient #3 (P0000282)" in err and "patient.features[0].id" in err
    assert run(sqlite_node.config.home, "steward", "list") == 0
    assert "0 of 0 match case(s)" in capsys.readouterr().out  # nothing half-imported


def test_publish_and_query_a_served_peer(sqlite_node: NodeContext, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    reference, _ = interpreted_case(sqlite_node, scopes=["diagnosis", "case_matching"])
    home = sqlite_node.config.home
    assert run(home, "matchmaker", "publish", "--case", reference, "--gene", "EFTUD2") == 0
    published = capsys.readouterr().out
    assert "genes ENSG00000108883" in published
    case_id = published.split("as match case ")[1].split(":")[0]
    other = init_node(tmp_path / "other", node_name="Sweden", country="SE")
    try:
        add_steward(other)
        import_patients(other, "steward", read_patients_file(BENCHMARK), origin="benchmark")
        theirs = SharingSettings(peers=(Peer(name="France", country="FR", url="http://127.0.0.1:9",
                                             mme_token_in_sha256=sha256(TOKEN_TO_PEER)),))
        with serve_node(other, theirs) as (url, _):
            sharing_settings(peer_url=url).save(home)
            assert run(home, "matchmaker", "query", "--peer", "Sweden", "--case", case_id) == 0
    finally:
        other.close()
    out = capsys.readouterr().out
    assert "P0000079" in out and "result(s) from Sweden" in out  # the EFTUD2 benchmark patient


def test_token_store_reads_stdin_never_the_command_line(sqlite_node: NodeContext,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    home = sqlite_node.config.home
    sharing_settings().save(home)
    monkeypatch.setattr("sys.stdin", io.StringIO("issued-by-sweden-0123456789abcdef\n"))
    assert run(home, "admin", "token", "store", "Sweden") == 0
    assert load_sharing(home).peer("Sweden").mme_token_out == "issued-by-sweden-0123456789abcdef"
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert run(home, "admin", "token", "store", "Sweden") == 5
