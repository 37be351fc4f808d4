"""The node's keys: a Crypt4GH key pair, a pseudonymisation key and a derived signing key.

* ``node.sec`` / ``node.pub``: an X25519 key pair in the GA4GH Crypt4GH format, readable by the
  reference ``crypt4gh`` tool. Files in the vault are encrypted for ``node.pub``. The secret key is
  locked with a passphrase when ``GENOMED_KEY_PASSPHRASE`` (or the configured variable) is set.
* ``pseudonym.key.c4gh``: 32 random bytes keying the HMAC that turns identifiers into pseudonyms,
  kept Crypt4GH-encrypted for the node key so it is protected exactly as well as the node key is,
  yet separate from it (rotating one does not touch the other).
* the signing key: an Ed25519 key derived from the node secret with HKDF. X25519 cannot sign;
  deriving rather than storing a third key keeps one secret to guard and back up.

No function here logs key material, and the crypt4gh library's own DEBUG logging of keys is
silenced by :func:`genomed.logs.configure_logging`.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from crypt4gh import lib as c4gh_lib
from crypt4gh.keys import c4gh as c4gh_keys
from crypt4gh.keys import get_private_key, get_public_key
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from genomed.errors import ConfigurationError, CryptoKeyError

SECRET_KEY_FILE = "node.sec"  # noqa: S105 - a file name
PUBLIC_KEY_FILE = "node.pub"
PSEUDONYM_KEY_FILE = "pseudonym.key.c4gh"
SIGNING_KEY_INFO = b"genomed/audit-and-federation-signing/v1"

_PEM_SECRET = ("-----BEGIN CRYPT4GH PRIVATE KEY-----", "-----END CRYPT4GH PRIVATE KEY-----")
_PEM_PUBLIC = ("-----BEGIN CRYPT4GH PUBLIC KEY-----", "-----END CRYPT4GH PUBLIC KEY-----")


def public_key_from_secret(secret: bytes) -> bytes:
    """The X25519 public key of a 32-byte secret (what ``crypt4gh-keygen`` writes to ``.pub``)."""
    return X25519PrivateKey.from_private_bytes(secret).public_key().public_bytes_raw()


def write_crypt4gh_keypair(secret: bytes, secret_path: Path, public_path: Path, passphrase: str | None,
                           comment: str) -> None:
    """Write a key pair in the Crypt4GH PEM format, the secret readable by its owner only."""
    with contextlib.redirect_stderr(io.StringIO()):  # the library warns on stderr for an unlocked key
        encoded = c4gh_keys.encode_private_key(secret, passphrase.encode() if passphrase else None,
                                               comment.encode())
    secret_text = f"{_PEM_SECRET[0]}\n{base64.b64encode(encoded).decode()}\n{_PEM_SECRET[1]}\n"
    fd = os.open(secret_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret_text)
    public_text = (f"{_PEM_PUBLIC[0]}\n{base64.b64encode(public_key_from_secret(secret)).decode()}\n"
                   f"{_PEM_PUBLIC[1]}\n")
    public_path.write_text(public_text)


def read_public_key(path: Path) -> bytes:
    """Read a Crypt4GH (or OpenSSH ed25519) public key file; 32 raw bytes."""
    try:
        key = get_public_key(str(path))
    except FileNotFoundError as exc:
        raise CryptoKeyError(f"public key file not found: {path}") from exc
    except Exception as exc:  # the library raises ValueError, NotImplementedError, binascii.Error
        raise CryptoKeyError(f"not a Crypt4GH public key: {path} ({exc})") from exc
    if not isinstance(key, bytes) or len(key) != 32:
        raise CryptoKeyError(f"not a Crypt4GH public key: {path}")
    return key


def read_secret_key(path: Path, passphrase: Callable[[], str] | None) -> bytes:
    """Read a Crypt4GH secret key, unlocking it with ``passphrase()`` if it is locked."""

    def ask() -> str:
        if passphrase is None:
            raise CryptoKeyError(f"secret key {path} is locked and no passphrase was given")
        return passphrase()

    try:
        key = get_private_key(str(path), ask)
    except CryptoKeyError:
        raise
    except FileNotFoundError as exc:
        raise ConfigurationError(f"secret key file not found: {path}") from exc
    except SystemExit as exc:  # crypt4gh exits the process on a wrong passphrase, and on any error in ask()
        if isinstance(exc.__context__, CryptoKeyError):
            raise exc.__context__ from None
        raise CryptoKeyError(f"wrong passphrase for secret key {path}") from exc
    except Exception as exc:
        raise CryptoKeyError(f"cannot read secret key {path}: {type(exc).__name__}") from exc
    if not isinstance(key, bytes) or len(key) != 32:
        raise CryptoKeyError(f"not a Crypt4GH secret key: {path}")
    return key


def derive_signing_key(secret: bytes) -> Ed25519PrivateKey:
    """An Ed25519 signing key derived from the node's X25519 secret (HKDF-SHA256, own label)."""
    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=SIGNING_KEY_INFO).derive(secret)
    return Ed25519PrivateKey.from_private_bytes(seed)


def key_id(public_key: bytes) -> str:
    """A short fingerprint naming a public key in checkpoints and messages (never the key itself).

    >>> key_id(bytes(32))
    '66687aadf862bd776c8fc18b8e9f8e20'
    """
    return hashlib.sha256(public_key).hexdigest()[:32]


@dataclass(frozen=True)
class NodeKeys:
    """The unlocked keys of a node; ``repr`` never shows secret material."""

    public_key: bytes
    _secret: bytes = field(repr=False)
    _pseudonym_key: bytes = field(repr=False)

    @property
    def crypt4gh_secret(self) -> bytes:
        return self._secret

    @property
    def pseudonym_key(self) -> bytes:
        return self._pseudonym_key

    @property
    def signing_key(self) -> Ed25519PrivateKey:
        return derive_signing_key(self._secret)

    @property
    def verify_key(self) -> Ed25519PublicKey:
        return self.signing_key.public_key()

    @property
    def signing_key_id(self) -> str:
        return key_id(self.verify_key.public_bytes_raw())

    @property
    def crypt4gh_keys(self) -> list[tuple[int, bytes, bytes]]:
        """The key list the crypt4gh library expects to encrypt for, or decrypt as, this node."""
        return [(0, self._secret, self.public_key)]


def generate_node_keys(keys_dir: Path, passphrase: str | None, node_name: str) -> NodeKeys:
    """Create a node's key pair and pseudonymisation key in ``keys_dir`` (refuses to overwrite)."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(keys_dir, 0o700)
    for name in (SECRET_KEY_FILE, PUBLIC_KEY_FILE, PSEUDONYM_KEY_FILE):
        if (keys_dir / name).exists():
            raise ConfigurationError(f"refusing to overwrite existing key {keys_dir / name}")
    secret = secrets.token_bytes(32)
    write_crypt4gh_keypair(secret, keys_dir / SECRET_KEY_FILE, keys_dir / PUBLIC_KEY_FILE, passphrase,
                           comment=f"genomed node {node_name}")
    public = public_key_from_secret(secret)
    pseudonym_key = secrets.token_bytes(32)
    wrapped = io.BytesIO()
    c4gh_lib.encrypt([(0, secret, public)], io.BytesIO(pseudonym_key), wrapped)
    fd = os.open(keys_dir / PSEUDONYM_KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(wrapped.getvalue())
    return NodeKeys(public_key=public, _secret=secret, _pseudonym_key=pseudonym_key)


def load_node_keys(keys_dir: Path, passphrase: str | None) -> NodeKeys:
    """Unlock a node's keys from ``keys_dir``."""
    secret = read_secret_key(keys_dir / SECRET_KEY_FILE, (lambda: passphrase) if passphrase else None)
    public = read_public_key(keys_dir / PUBLIC_KEY_FILE)
    if public_key_from_secret(secret) != public:
        raise CryptoKeyError(f"{keys_dir / PUBLIC_KEY_FILE} does not belong to {keys_dir / SECRET_KEY_FILE}")
    wrapped_path = keys_dir / PSEUDONYM_KEY_FILE
    if not wrapped_path.exists():
        raise ConfigurationError(f"pseudonymisation key not found: {wrapped_path}")
    clear = io.BytesIO()
    try:
        wrapped = wrapped_path.read_bytes()  # read here: lib.decrypt would swallow an OSError
    except OSError as exc:
        raise ConfigurationError(f"cannot read the pseudonymisation key {wrapped_path}: {exc.strerror}") from exc
    try:
        c4gh_lib.decrypt([(0, secret, public)], io.BytesIO(wrapped), clear)
    except Exception as exc:
        raise CryptoKeyError(f"cannot unwrap the pseudonymisation key {wrapped_path}: it was not "
                             "encrypted for this node key or is damaged") from exc
    pseudonym_key = clear.getvalue()
    if len(pseudonym_key) != 32:
        raise CryptoKeyError(f"pseudonymisation key {wrapped_path} has the wrong length")
    return NodeKeys(public_key=public, _secret=secret, _pseudonym_key=pseudonym_key)
