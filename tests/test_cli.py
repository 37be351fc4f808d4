"""The ``genomed`` command: a whole journey through the CLI, one-line errors and exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from genomed.cli import main
from genomed.errors import AccessDeniedError, ConfigurationError, DuplicateError, IllegalTransitionError


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    home = tmp_path / "node"
    monkeypatch.setenv("GENOMED_HOME", str(home))
    code, out, err = run(capsys, "init", "--home", str(home), "--node-name", "CLI node", "--country", "SE")
    assert code == 0, err
    assert "created" in out
    return home


def test_a_journey_through_the_cli(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    admin = ("--user", "admin")
    assert run(capsys, *admin, "user", "add", "dr.a", "--role", "prescriber")[0] == 0
    assert run(capsys, *admin, "user", "add", "bix", "--role", "bioinformatician", "--role", "biologist")[0] == 0
    assert run(capsys, *admin, "indication", "load")[0] == 0
    monkeypatch.setenv("GENOMED_USER", "dr.a")
    monkeypatch.setenv("GENOMED_NATIONAL_ID", "19121212-1212")
    code, out, err = run(capsys, "patient", "include", "--birth-date", "2019-12-12", "--sex", "female")
    assert code == 0, err
    pseudonym = out.strip()
    assert pseudonym.startswith("GM-")
    assert run(capsys, "consent", "give", pseudonym, "--scope", "diagnosis", "--scope", "research",
               "--form-version", "GMS-2")[0] == 0
    code, out, err = run(capsys, "case", "prescribe", pseudonym, "--indication", "RD-DEE", "--hpo", "HP:0001250",
                         "--hpo", "HP:0001263", "--prior-test", "Brain MRI", "--prior-test",
                         "First-line metabolic screen", "--priority", "urgent")
    assert code == 0, err
    reference = out.split()[1]
    assert "is consented" in out
    code, out, _ = run(capsys, "sample", "add", reference)
    sample = out.split()[1]
    vcf = tmp_path / "calls.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    code, out, err = run(capsys, "--user", "bix", "file", "put", str(vcf), "--sample", sample)
    assert code == 0, err
    file_id = out.split()[0]
    code, _, err = run(capsys, "--user", "bix", "file", "get", file_id, "-o", str(tmp_path / "back.vcf"))
    assert code == 0, err
    assert (tmp_path / "back.vcf").read_bytes() == vcf.read_bytes()
    code, out, _ = run(capsys, "case", "show", reference)
    assert "sequenced" in out and "consented → sampled" in out
    code, out, err = run(capsys, "--user", "admin", "audit", "verify")
    assert code == 0, err
    assert "audit trail intact" in out


def test_errors_are_one_line_with_their_own_exit_codes(home: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--user", "nobody", "patient", "list")
    assert code == AccessDeniedError.exit_code
    assert err == "genomed: error: unknown user 'nobody'\n"
    run(capsys, "--user", "admin", "user", "add", "dr.a", "--role", "prescriber")
    monkeypatch.setenv("GENOMED_NATIONAL_ID", "19121212-1212")
    run(capsys, "--user", "dr.a", "patient", "include", "--birth-date", "2019-12-12", "--sex", "female")
    code, _, err = run(capsys, "--user", "dr.a", "patient", "include", "--birth-date", "2019-12-12", "--sex", "f")
    assert code == DuplicateError.exit_code
    assert err.count("\n") == 1 and "already included" in err
    code, _, err = run(capsys, "--user", "admin", "case", "advance", "XX-1", "--to", "nowhere")
    assert code != 0 and err.count("\n") == 1 and "unknown case state 'nowhere'" in err
    code, _, err = run(capsys, "--user", "dr.a", "case", "prescribe")
    assert code == 2 and err.count("\n") == 1 and "Missing argument" in err
    assert IllegalTransitionError.exit_code != DuplicateError.exit_code


def test_init_refuses_an_existing_node_and_a_bad_country(home: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "init", "--home", str(home), "--node-name", "again", "--country", "SE")
    assert code == ConfigurationError.exit_code and "already holds a genomed node" in err
    code, _, err = run(capsys, "init", "--home", str(tmp_path / "other"), "--node-name", "x", "--country", "Sweden")
    assert code == ConfigurationError.exit_code and "ISO 3166-1" in err
    assert not (tmp_path / "other").exists()


def test_no_home_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("GENOMED_HOME", raising=False)
    code, _, err = run(capsys, "--user", "admin", "audit", "verify")
    assert code == ConfigurationError.exit_code
    assert "no node home" in err


def test_installed_entry_point_exits_non_zero_with_one_line(tmp_path: Path) -> None:
    """The console script itself (not just main()) returns the error's exit code."""
    script = Path(sys.executable).parent / "genomed"
    env = {**os.environ, "GENOMED_HOME": str(tmp_path / "missing")}
    result = subprocess.run([str(script), "--user", "admin", "audit", "verify"], capture_output=True, text=True,
                            env=env, check=False, timeout=60)
    assert result.returncode == ConfigurationError.exit_code
    assert result.stderr.strip().count("\n") == 0
    assert "is not a genomed node home" in result.stderr
