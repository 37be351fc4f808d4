"""Keyed pseudonyms: stable for a person, unguessable without the key, different between nodes."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from genomed.errors import InputError
from genomed.vault.pseudonym import is_pseudonym, normalise_identifier, pseudonymise

KEY_A = bytes(range(32))
KEY_B = bytes(range(1, 33))


def test_pseudonym_is_not_a_plain_hash_of_the_identifier() -> None:
    pseudonym = pseudonymise(KEY_A, "185057800608436", "1985-05-01")
    body = pseudonym.removeprefix("GM-").replace("-", "")
    for message in (b"185057800608436", b"185057800608436|1985-05-01"):
        for digest in (hashlib.sha256(message).digest(), hashlib.blake2b(message).digest()):
            assert base64.b32encode(digest)[:24].decode() != body
            assert digest.hex()[:24] not in pseudonym.lower()


def test_pseudonym_differs_between_node_keys() -> None:
    assert pseudonymise(KEY_A, "185057800608436", "1985-05-01") != pseudonymise(KEY_B, "185057800608436", "1985-05-01")


def test_same_person_written_differently_gets_the_same_pseudonym() -> None:
    assert pseudonymise(KEY_A, "1 85 05 78 006 084 36", "1985-05-01") == pseudonymise(
        KEY_A, "185057800608436", "1985-05-01")


def test_birth_date_is_part_of_the_pseudonym() -> None:
    assert pseudonymise(KEY_A, "185057800608436", "1985-05-01") != pseudonymise(KEY_A, "185057800608436", "1985-05-02")


@pytest.mark.parametrize("bad", ["", "12", "abc$%^&", "x" * 41])
def test_malformed_identifier_is_refused(bad: str) -> None:
    with pytest.raises(InputError, match="national identifier"):
        normalise_identifier(bad)


@pytest.mark.parametrize("bad", ["01/05/1985", "1985-13-01", "2999-01-01", "1850-01-01"])
def test_malformed_or_implausible_birth_date_is_refused(bad: str) -> None:
    with pytest.raises(InputError, match="birth date"):
        pseudonymise(KEY_A, "185057800608436", bad)


def test_short_key_is_refused() -> None:
    with pytest.raises(InputError, match="key"):
        pseudonymise(b"short", "185057800608436", "1985-05-01")


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=4, max_size=40))
def test_every_pseudonym_has_the_documented_shape(identifier: str) -> None:
    pseudonym = pseudonymise(KEY_A, identifier, "2000-01-01")
    assert is_pseudonym(pseudonym)
    assert identifier not in pseudonym or len(identifier) < 6
