"""Logging set-up that keeps key material out of every log.

The reference crypt4gh library logs session keys, private keys and derived keys at DEBUG (see
``crypt4gh/lib.py``); a node run with ``--log-level DEBUG`` must still never write them. Two
defences: the crypt4gh loggers are pinned to WARNING whatever the root level, and a filter on our
handlers drops any record whose text holds a long hexadecimal or base64 run, which is what key
material looks like when it leaks through a message we did not foresee.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

_SECRET_LOOKING = re.compile(r"\b[0-9A-Fa-f]{64,}\b|[A-Za-z0-9+/]{43,}={0,2}")
_QUIET_LIBRARIES = ("crypt4gh",)
# Loggers that emit key material at DEBUG. A level pin alone can be undone (caplog.set_level, a
# user's logging.config), and a filter on a parent logger does not see its children's records, so
# each one gets the filter itself.
_KEY_LOGGING_LOGGERS = ("crypt4gh", "crypt4gh.lib", "crypt4gh.header", "crypt4gh.keys", "crypt4gh.keys.c4gh",
                        "crypt4gh.keys.ssh", "crypt4gh.keys.kdf")
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class KeyMaterialFilter(logging.Filter):
    """Replaces any run that looks like a key (≥ 256 bits of hex or base64) with ``[redacted]``.

    SHA-256 digests of files are 64 hex characters too; they are not secret, but redacting them in
    logs costs little (the catalog and audit trail hold them) and keeps the rule simple and total.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _SECRET_LOOKING.search(message):
            record.msg = _SECRET_LOOKING.sub("[redacted]", message)
            record.args = None
        return True


def configure_logging(level: str = "WARNING", log_file: Path | None = None) -> None:
    """Send genomed's logs to stderr (and ``log_file``) at ``level``, with key material filtered."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_genomed", False):
            root.removeHandler(handler)
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(logging.Formatter(_FORMAT))
        handler.addFilter(KeyMaterialFilter())
        handler._genomed = True  # type: ignore[attr-defined]  # marks handlers we may replace
        root.addHandler(handler)
    root.setLevel(level.upper())
    silence_key_logging_libraries()


class _DropLibraryDebug(logging.Filter):
    """Refuses DEBUG records of crypt4gh, where it writes session keys and secret keys.

    Also drops the library's ERROR line for each header packet our key does not open: that is the
    normal case for a file with several recipients, and when no packet opens, the vault raises a
    :class:`~genomed.errors.CryptoKeyError` that names the file instead.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno <= logging.DEBUG:
            return False
        expected_miss = str(record.msg).startswith("X25519 Packet Decryption failed")
        return not (record.name == "crypt4gh.header" and expected_miss)


_DROP_LIBRARY_DEBUG = _DropLibraryDebug()


def silence_key_logging_libraries() -> None:
    """Pin libraries known to log secrets at DEBUG to WARNING and filter their DEBUG records (idempotent)."""
    for name in _QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in _KEY_LOGGING_LOGGERS:
        logger = logging.getLogger(name)
        if _DROP_LIBRARY_DEBUG not in logger.filters:
            logger.addFilter(_DROP_LIBRARY_DEBUG)
