"""Keyed pseudonyms: the only name a patient has inside a node.

A pseudonym is HMAC-SHA-256 over the normalised national identifier and the birth date, keyed with
the node's pseudonymisation key. Without the key nobody can test a guessed identifier against a
pseudonym (a plain hash would fall to a dictionary of all identifiers in minutes); with it, the same
person included twice gets the same pseudonym, which is how duplicates are caught. The clear
identifier is used here and dropped: it is never stored, logged or audited.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import unicodedata

from genomed.errors import InputError

PSEUDONYM_PREFIX = "GM"
_ID_SEPARATORS = re.compile(r"[\s\-./]")
_ID_ALLOWED = re.compile(r"^[A-Z0-9]{4,40}$")
_PSEUDONYM = re.compile(rf"^{PSEUDONYM_PREFIX}-[A-Z2-7]{{6}}-[A-Z2-7]{{6}}-[A-Z2-7]{{6}}-[A-Z2-7]{{6}}$")


def normalise_identifier(national_id: str) -> str:
    """Uppercase, without spaces, dashes, dots or slashes, as registries print them variously.

    >>> normalise_identifier(" 1 85 05 78 006 084 36 ")
    '185057800608436'
    >>> normalise_identifier("19121212-1212")
    '191212121212'
    """
    text = unicodedata.normalize("NFKC", national_id).upper()
    text = _ID_SEPARATORS.sub("", text)
    if not _ID_ALLOWED.match(text):
        raise InputError("national identifier must be 4 to 40 letters or digits (separators are ignored)")
    return text


def parse_birth_date(value: str | dt.date) -> dt.date:
    """A birth date from ISO ``YYYY-MM-DD`` text; refuses the future and impossible dates."""
    if isinstance(value, dt.date):
        date = value
    else:
        try:
            date = dt.date.fromisoformat(value.strip())
        except ValueError as exc:
            raise InputError(f"birth date must be YYYY-MM-DD, got {value!r}") from exc
    today = dt.datetime.now(dt.UTC).date()
    if date > today or date.year < 1900:
        raise InputError(f"birth date {date.isoformat()} is not plausible")
    return date


def pseudonymise(key: bytes, national_id: str, birth_date: str | dt.date) -> str:
    """The pseudonym of a person under ``key``: ``GM-XXXXXX-XXXXXX-XXXXXX-XXXXXX`` (120 bits, base32).

    >>> pseudonymise(bytes(32), "1 85 05 78 006 084 36", "1985-05-01")
    'GM-RYDGA2-O3IEZM-CUP6ES-MPQPUI'
    """
    if len(key) < 32:
        raise InputError("pseudonymisation key must be at least 32 bytes")
    message = f"{normalise_identifier(national_id)}|{parse_birth_date(birth_date).isoformat()}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    text = base64.b32encode(digest[:15]).decode()
    return f"{PSEUDONYM_PREFIX}-" + "-".join(text[i:i + 6] for i in range(0, 24, 6))


def is_pseudonym(value: str) -> bool:
    """Whether ``value`` has the shape of a genomed pseudonym.

    >>> is_pseudonym("GM-ZTGUHX-VG7QKD-ZMUBHK-LAM5LR"), is_pseudonym("185057800608436")
    (True, False)
    """
    return bool(_PSEUDONYM.match(value))
