"""A DEBUG log of a full run holds no key material (STYLE.md §10).

The reference crypt4gh library logs session keys and secret keys at DEBUG; the first test proves
that this detector would see such a leak, the second that a whole demo journey at DEBUG has none.
"""

from __future__ import annotations

import base64
import io
import logging
from pathlib import Path

import pytest
from crypt4gh import lib as c4gh_lib

from genomed.demo.journey import run_demo
from genomed.logs import configure_logging
from genomed.vault.keys import generate_node_keys, load_node_keys


def key_renderings(secret: bytes) -> list[str]:
    """Ways a key could show up in a text log."""
    return [secret.hex(), secret.hex().upper(), base64.b64encode(secret).decode().rstrip("="), repr(secret)[2:-1]]


def assert_no_key(text: str, secrets: dict[str, bytes]) -> None:
    for name, secret in secrets.items():
        for rendering in key_renderings(secret):
            assert rendering not in text, f"{name} leaked into the log"


def test_the_detector_sees_the_reference_librarys_own_leak(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    keys = generate_node_keys(tmp_path / "keys", None, "leak")
    loggers = [logging.getLogger(name) for name in ("crypt4gh", "crypt4gh.lib")]
    saved = [list(logger.filters) for logger in loggers]
    for logger in loggers:  # take genomed's defences away, to see what they defend against
        logger.filters.clear()
    try:
        with caplog.at_level(logging.DEBUG, logger="crypt4gh"):
            c4gh_lib.encrypt(keys.crypt4gh_keys, io.BytesIO(b"data"), io.BytesIO())
    finally:
        for logger, filters in zip(loggers, saved, strict=True):
            logger.filters[:] = filters
        configure_logging("WARNING")  # restores the level pin for the other tests
    assert "Session key" in caplog.text  # unfiltered, the library writes its session key


def test_a_debug_log_of_a_full_run_has_no_key_material(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    log_file = tmp_path / "debug.log"
    configure_logging("DEBUG", log_file)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)  # every SQL statement and its parameters too
    try:
        home = tmp_path / "demo"
        run_demo(home, say=lambda line: logging.getLogger("demo").info(line), families=1)
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
        configure_logging("WARNING")
    text = log_file.read_text() + capfd.readouterr().err
    assert "granted include_patient" in text and "INSERT INTO audit_entries" in text  # it really logged at DEBUG
    keys = load_node_keys(home / "keys", None)
    assert_no_key(text, {
        "node secret key": keys.crypt4gh_secret,
        "pseudonymisation key": keys.pseudonym_key,
        "signing key": keys.signing_key.private_bytes_raw(),
    })
    assert "Session key" not in text and "Private Key" not in text and "Shared Key" not in text
    assert "2 15 03 69 123 456 78" not in text and "215036912345678" not in text  # no clear identifier either
