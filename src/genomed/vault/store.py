"""The vault: files stored encrypted at rest in the GA4GH Crypt4GH format, for the node's key.

On-disk layout
--------------
::

    <root>/<id[:2]>/<id>.c4gh       one stored file, a standard Crypt4GH v1 file encrypted for node.pub
    <staging>/<id>.c4gh.part        a file being written or verified; never read by anything

``<id>`` is a random UUID4 in 32 lowercase hex digits (the ``vault_id``). The two-character shard
keeps directories small when a node holds millions of files. A stored file is a plain Crypt4GH file:
the reference ``crypt4gh decrypt --sk node.sec`` reads it, so the data outlive this software. The
vault itself keeps no index: the catalog records each file's ``vault_id``, plaintext SHA-256 and size
(:class:`VaultRecord`), and every read checks the plaintext against them.

Why the digest and size matter: Crypt4GH authenticates each 64 KiB segment on its own, with no
sequence number and no end marker. Dropping trailing whole segments, or swapping two segments,
yields a file the format itself accepts. Only the size and SHA-256 recorded at ``put`` time catch
that, so :meth:`Vault.read` refuses to finish without them.

A file appears under ``<root>`` only complete and fsynced: it is written in ``<staging>`` (which must
be on the same filesystem) and moved with an atomic ``os.replace``. A crash leaves at worst a
``.part`` file in staging, never a half-written file in the vault.

Use of the crypt4gh library
---------------------------
Encryption goes through :func:`crypt4gh.lib.encrypt`, the reference writer. Decryption uses the
library's header functions and its ChaCha20-Poly1305 primitive, but drives the segment loop here
rather than calling :func:`crypt4gh.lib.decrypt`, because that function

* is wrapped in ``close_on_broken_pipe``, which swallows *every* ``OSError`` (a full disk while
  writing the plaintext, an I/O error reading the vault) and returns as if it had succeeded;
* signals a truncated segment with a bare ``assert`` (gone under ``python -O``);
* cannot report progress, nor bound the memory a damaged header length makes it allocate.

None of the functions called here is wrapped in ``exit_on_invalid_passphrase`` (only key parsing is,
in :mod:`genomed.vault.keys`), so no ``SystemExit`` can come out of them.

The library logs session keys and the node's secret key at DEBUG;
:func:`genomed.logs.silence_key_logging_libraries` pins its loggers and filters their DEBUG records.
Nothing here logs keys.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import crypt4gh
from crypt4gh import header as c4gh_header
from crypt4gh import lib as c4gh_lib
from crypt4gh import sodium as c4gh_sodium

from genomed.errors import (
    ConfigurationError,
    CryptoKeyError,
    InputError,
    IntegrityViolationError,
    NotFoundError,
)
from genomed.logs import silence_key_logging_libraries
from genomed.vault.keys import NodeKeys

Progress = Callable[[int], None]

# The format's constants, typed (the library ships no type information).
SEGMENT_SIZE: int = int(crypt4gh.SEGMENT_SIZE)  # 65536 plaintext bytes per segment
CIPHER_DIFF: int = int(crypt4gh.CIPHER_DIFF)  # 12-byte nonce + 16-byte MAC per segment
CIPHER_SEGMENT_SIZE: int = SEGMENT_SIZE + CIPHER_DIFF

SUFFIX = ".c4gh"
PART_SUFFIX = ".c4gh.part"
COPY_CHUNK = 1024 * 1024
MAX_HEADER_BYTES = 1024 * 1024  # a one-recipient header is 124 bytes; this allows ~8000 recipients
MAX_HEADER_PACKETS = 1024
SESSION_KEY_LEN = 32

_VAULT_ID = re.compile(r"[0-9a-f]{32}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


# --------------------------------------------------------------------------------------------------
# Small pure helpers
# --------------------------------------------------------------------------------------------------

def ciphertext_body_size(plaintext_size: int) -> int:
    """Bytes of the Crypt4GH data portion for a plaintext of ``plaintext_size`` bytes.

    Every 64 KiB segment (the last one possibly shorter, none empty) costs a 12-byte nonce and a
    16-byte MAC. Knowing this lets a read reject a truncated or extended file before it decrypts.

    >>> ciphertext_body_size(0), ciphertext_body_size(1), ciphertext_body_size(65536)
    (0, 29, 65564)
    >>> ciphertext_body_size(65537)
    65593
    """
    segments = -(-plaintext_size // SEGMENT_SIZE)
    return plaintext_size + segments * CIPHER_DIFF


def _check_vault_id(vault_id: object) -> str:
    if not isinstance(vault_id, str) or not _VAULT_ID.fullmatch(vault_id):
        raise InputError(f"not a vault id (32 lowercase hex digits expected): {vault_id!r}")
    return vault_id


def _readinto_full(source: Any, view: memoryview) -> int:
    """Fill ``view`` from ``source`` unless it ends first; return the bytes read.

    Pipes, sockets and raw files may return fewer bytes than asked. ``crypt4gh.lib.encrypt`` treats a
    short segment as the last one, so a short read would silently cut the file short.
    """
    readinto = getattr(source, "readinto", None)
    filled = 0
    total = len(view)
    while filled < total:
        got: int | None
        if readinto is not None:
            got = readinto(view[filled:])
        else:
            data = source.read(total - filled)
            got = len(data) if data else 0
            view[filled:filled + got] = data if data else b""
        if got is None:  # a non-blocking stream with nothing ready; vault sources are blocking
            raise InputError("the source stream is non-blocking; the vault needs a blocking stream")
        if got == 0:
            break
        filled += got
    return filled


def _write_all(dest: Any, data: memoryview) -> None:
    """Write all of ``data``: raw streams may accept only part of a write."""
    while len(data):
        written = dest.write(data)
        if written is None or written >= len(data):
            return
        data = data[written:]


def _fsync_dir(path: Path) -> None:
    """Make a rename or unlink in ``path`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on a directory; the data file itself was synced
    finally:
        os.close(fd)


def _create_private(path: Path) -> BinaryIO:
    """Open a new file readable by the owner only, refusing to reuse an existing name."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return os.fdopen(fd, "wb")


# --------------------------------------------------------------------------------------------------
# Stream adapters
# --------------------------------------------------------------------------------------------------

class _HashingReader:
    """The plaintext source as ``crypt4gh.lib.encrypt`` sees it: hashed and counted on the way.

    ``lib.encrypt`` only calls ``readinto(bytearray)``. Hashing here, in the same pass, is what lets
    a ``put`` read its source once and still record the plaintext's SHA-256 and size.
    """

    def __init__(self, source: BinaryIO, progress: Progress | None) -> None:
        self._source = source
        self._progress = progress
        self.sha256 = hashlib.sha256()
        self.size = 0

    def readinto(self, buffer: bytearray) -> int:
        view = memoryview(buffer)
        got = _readinto_full(self._source, view)
        if got:
            self.sha256.update(view[:got])
            self.size += got
            if self._progress is not None:
                self._progress(got)
        return got


class _CountingWriter:
    """Counts what ``lib.encrypt`` writes, to check afterwards that every byte reached the file.

    ``lib.encrypt`` is not wrapped in ``close_on_broken_pipe`` today (the decorator is commented out
    in 1.8.x); if a later release restores it, a failed write would be swallowed and only this count
    would notice.
    """

    def __init__(self, dest: BinaryIO) -> None:
        self._dest = dest
        self.written = 0
        self.header_size: int | None = None

    def write(self, data: bytes | bytearray | memoryview) -> int:
        view = memoryview(data)
        _write_all(self._dest, view)
        if self.header_size is None:
            self.header_size = len(view)  # lib.encrypt writes the whole header in one call first
        self.written += len(view)
        return len(view)


class _TeeReader:
    """Reads ``source`` and copies every byte to ``copy``: one pass both stages and verifies an import."""

    def __init__(self, source: BinaryIO, copy: BinaryIO, progress: Progress | None) -> None:
        self._source = source
        self._copy = copy
        self._progress = progress

    def readinto(self, buffer: bytearray | memoryview) -> int:
        view = memoryview(buffer)
        got = _readinto_full(self._source, view)
        if got:
            _write_all(self._copy, view[:got])
            if self._progress is not None:
                self._progress(got)
        return got

    def read(self, size: int) -> bytes:
        buffer = bytearray(size)
        got = self.readinto(buffer)
        return bytes(buffer[:got])


class _BoundedHeaderReader:
    """Lets ``crypt4gh.header.parse`` read at most :data:`MAX_HEADER_BYTES`.

    The header's packet lengths are 32-bit fields the library trusts: one flipped bit there would make
    it ``read()`` up to 4 GiB into memory. Past the budget the header is declared damaged instead.
    """

    def __init__(self, source: Any, label: str) -> None:
        self._source = source
        self._label = label
        self.consumed = 0

    def _take(self, size: int) -> None:
        if self.consumed + size > MAX_HEADER_BYTES:
            raise IntegrityViolationError(
                f"{self._label}: Crypt4GH header claims more than {MAX_HEADER_BYTES} bytes; it is damaged")
        self.consumed += size

    def readinto(self, buffer: bytearray) -> int:
        self._take(len(buffer))
        return _readinto_full(self._source, memoryview(buffer))

    def read(self, size: int) -> bytes:
        if size < 0:
            raise IntegrityViolationError(f"{self._label}: Crypt4GH header has a negative length")
        self._take(size)
        buffer = bytearray(size)
        got = _readinto_full(self._source, memoryview(buffer))
        return bytes(buffer[:got])


# --------------------------------------------------------------------------------------------------
# Header and body decryption (shared by read and import)
# --------------------------------------------------------------------------------------------------

def _parse_header_packets(source: Any, label: str, *, foreign: bool) -> list[bytes]:
    """The encrypted header packets of a Crypt4GH stream, leaving ``source`` at the data portion.

    ``foreign`` is true for a file someone handed us (import): not being Crypt4GH at all is then the
    caller's mistake (:class:`InputError`); for a file in the vault it means the file was damaged.
    """
    bounded = _BoundedHeaderReader(source, label)
    packets: list[bytes] = []
    try:
        for packet in c4gh_header.parse(bounded):
            packets.append(bytes(packet))
            if len(packets) > MAX_HEADER_PACKETS:
                raise IntegrityViolationError(
                    f"{label}: Crypt4GH header has more than {MAX_HEADER_PACKETS} packets; it is damaged")
    except ValueError as exc:
        if foreign and bounded.consumed <= 16:  # the 16-byte preamble: magic, version, packet count
            raise InputError(f"{label}: not a Crypt4GH file ({exc})") from exc
        raise IntegrityViolationError(f"{label}: damaged Crypt4GH header ({exc})") from exc
    if not packets:
        raise IntegrityViolationError(f"{label}: Crypt4GH header has no packets")
    return packets


def _session_keys(packets: list[bytes], keys: NodeKeys, label: str, *, foreign: bool) -> list[bytes]:
    """Decrypt the header packets meant for this node and return the data session keys."""
    decrypted, _others = c4gh_header.decrypt(packets, keys.crypt4gh_keys)
    if not decrypted:
        raise CryptoKeyError(
            f"{label}: no header packet can be decrypted with this node's key: the file was encrypted "
            "for another key, or its header was altered")
    try:
        data_packets, edit_list = c4gh_header.partition_packets(decrypted)
        session_keys = [bytes(c4gh_header.parse_enc_packet(p)) for p in data_packets]
    except ValueError as exc:
        raise IntegrityViolationError(f"{label}: unsupported or damaged header packet ({exc})") from exc
    if edit_list is not None:
        message = (f"{label}: the file carries a Crypt4GH edit list (a byte-range extract); "
                   "the vault stores whole files only")
        raise InputError(message) if foreign else IntegrityViolationError(message)
    if not session_keys:
        raise IntegrityViolationError(f"{label}: header holds no data-encryption key")
    for key in session_keys:
        # The C primitive reads 32 bytes from the key buffer without checking its length: a crafted
        # header with a short key would make it read past the buffer.
        if len(key) != SESSION_KEY_LEN:
            raise IntegrityViolationError(f"{label}: header holds a session key of {len(key)} bytes")
    return session_keys


def _decrypt_segments(source: Any, session_keys: list[bytes], sink: Callable[[memoryview], None],
                      label: str, progress: Progress | None) -> tuple[int, str]:
    """Decrypt the data portion segment by segment; return the plaintext size and SHA-256 hex.

    Two fixed buffers, whatever the file size. ``sink`` receives a view into a reused buffer and must
    consume it before returning (every file object's ``write`` does).
    """
    cipher = bytearray(CIPHER_SEGMENT_SIZE)
    plain = bytearray(SEGMENT_SIZE)
    cipher_view = memoryview(cipher)
    plain_view = memoryview(plain)
    sha256 = hashlib.sha256()
    size = 0
    index = 0
    while True:
        got = _readinto_full(source, cipher_view)
        if got == 0:
            break
        if got <= CIPHER_DIFF:
            raise IntegrityViolationError(
                f"{label}: segment {index} is truncated to {got} bytes (the file was cut short)")
        plain_len = _open_segment(plain_view, cipher_view[:got], session_keys)
        if plain_len is None:
            raise IntegrityViolationError(
                f"{label}: segment {index} fails authentication: the file is corrupt or was tampered with")
        chunk = plain_view[:plain_len]
        sha256.update(chunk)
        sink(chunk)
        size += plain_len
        index += 1
        if progress is not None:
            progress(plain_len)
        if got < CIPHER_SEGMENT_SIZE:
            break  # a short segment is the last one; _readinto_full only stops short at the end
    return size, sha256.hexdigest()


def _open_segment(plain: memoryview, cipher: memoryview, session_keys: list[bytes]) -> int | None:
    for key in session_keys:
        try:
            return int(c4gh_sodium.chacha20poly1305_decrypt(plain, cipher, key))
        except ValueError:
            continue  # wrong key or altered segment: the MAC does not verify
    return None


# --------------------------------------------------------------------------------------------------
# The vault
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class VaultRecord:
    """What the catalog must keep about a stored file to read it back and trust what it reads."""

    vault_id: str  # uuid4 hex; also names the file
    sha256: str  # hex digest of the PLAINTEXT
    size: int  # plaintext size in bytes


class Vault:
    """Crypt4GH files at rest under ``root``, written through ``staging``, for one node's keys."""

    def __init__(self, root: Path, staging: Path, keys: NodeKeys) -> None:
        self.root = Path(root)
        self.staging = Path(staging)
        self._keys = keys
        for directory in (self.root, self.staging):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self.root.stat().st_dev != self.staging.stat().st_dev:
            # os.replace cannot move across filesystems, and a copy would not be atomic.
            raise ConfigurationError(
                f"vault staging {self.staging} must be on the same filesystem as the vault {self.root}")
        silence_key_logging_libraries()

    def __repr__(self) -> str:
        return f"Vault(root={self.root!s}, staging={self.staging!s})"  # never the keys

    # ---------------------------------------------------------------- naming

    def path_of(self, vault_id: str) -> Path:
        """Where the file ``vault_id`` lives; rejects anything but 32 lowercase hex digits.

        The strict check is what stops an id from the database or a request naming ``../`` paths.
        """
        _check_vault_id(vault_id)
        return self.root / vault_id[:2] / f"{vault_id}{SUFFIX}"

    def _existing_path(self, vault_id: str) -> Path:
        path = self.path_of(vault_id)
        if not path.is_file():
            raise NotFoundError(f"no file {vault_id} in the vault")
        return path

    def _staging_path(self, vault_id: str) -> Path:
        return self.staging / f"{vault_id}{PART_SUFFIX}"

    def _commit(self, staged: Path, vault_id: str) -> None:
        """Move a complete, fsynced staging file into the vault, durably."""
        final = self.path_of(vault_id)
        shard = final.parent
        if not shard.is_dir():
            shard.mkdir(mode=0o700, exist_ok=True)
            _fsync_dir(self.root)
        os.replace(staged, final)
        _fsync_dir(shard)
        _fsync_dir(self.staging)

    @contextlib.contextmanager
    def _staged(self, vault_id: str) -> Iterator[tuple[Path, BinaryIO]]:
        """A new staging file, removed again if anything goes wrong before it is committed."""
        staged = self._staging_path(vault_id)
        handle = _create_private(staged)
        try:
            with handle:
                yield staged, handle
        except BaseException:
            staged.unlink(missing_ok=True)
            raise

    # ---------------------------------------------------------------- writing

    def put(self, source: BinaryIO, progress: Progress | None = None) -> VaultRecord:
        """Encrypt ``source`` for this node into the vault and return what the catalog must record.

        One pass over the source: it is hashed while it is encrypted, so a pipe or a network stream
        works, and memory stays at two 64 KiB segments whatever the size. ``progress(n)`` is called
        with the number of plaintext bytes consumed after each segment.
        """
        vault_id = uuid.uuid4().hex
        with self._staged(vault_id) as (staged, handle):
            reader = _HashingReader(source, progress)
            writer = _CountingWriter(handle)
            c4gh_lib.encrypt(self._keys.crypt4gh_keys, reader, writer)
            expected = (writer.header_size or 0) + ciphertext_body_size(reader.size)
            if writer.header_size is None or writer.written != expected:
                raise IntegrityViolationError(
                    f"vault file {vault_id}: encryption wrote {writer.written} bytes, expected {expected}")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            self._commit(staged, vault_id)
        except BaseException:
            staged.unlink(missing_ok=True)
            raise
        return VaultRecord(vault_id=vault_id, sha256=reader.sha256.hexdigest(), size=reader.size)

    def put_path(self, path: Path, progress: Progress | None = None) -> VaultRecord:
        """:meth:`put` the contents of the file at ``path``."""
        try:
            handle = Path(path).open("rb")  # noqa: SIM115  # closed below; a `with` would also catch put's errors
        except FileNotFoundError as exc:
            raise NotFoundError(f"file to store not found: {path}") from exc
        except OSError as exc:
            raise InputError(f"cannot read file to store {path}: {exc.strerror or exc}") from exc
        with handle:
            return self.put(handle, progress)

    def import_encrypted(self, source: BinaryIO, progress: Progress | None = None) -> VaultRecord:
        """Take in a Crypt4GH file someone else encrypted for this node, keeping its ciphertext.

        The ciphertext is copied to staging and decrypted in the same pass, so every segment is
        authenticated and the plaintext's SHA-256 and size computed before the file enters the vault;
        the plaintext itself is never written anywhere. ``progress(n)`` counts ciphertext bytes read.

        Raises :class:`InputError` if the stream is not Crypt4GH at all or carries an edit list,
        :class:`CryptoKeyError` if it was not encrypted for this node, and
        :class:`IntegrityViolationError` if it is damaged. On any failure nothing is left behind.
        """
        vault_id = uuid.uuid4().hex
        label = "imported file"
        with self._staged(vault_id) as (staged, handle):
            tee = _TeeReader(source, handle, progress)
            packets = _parse_header_packets(tee, label, foreign=True)
            session_keys = _session_keys(packets, self._keys, label, foreign=True)
            size, sha256 = _decrypt_segments(tee, session_keys, lambda _chunk: None, label, None)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            self._commit(staged, vault_id)
        except BaseException:
            staged.unlink(missing_ok=True)
            raise
        return VaultRecord(vault_id=vault_id, sha256=sha256, size=size)

    def discard(self, vault_id: str) -> None:
        """Remove a stored file: undoes a :meth:`put` whose catalog transaction failed."""
        path = self._existing_path(vault_id)
        path.unlink()
        _fsync_dir(path.parent)

    # ---------------------------------------------------------------- reading

    def read(self, vault_id: str, expected_sha256: str, expected_size: int, dest: BinaryIO,
             progress: Progress | None = None) -> None:
        """Decrypt ``vault_id`` into ``dest`` and prove it is the plaintext the catalog recorded.

        The ciphertext length is checked against ``expected_size`` before any plaintext is written
        (a truncated or extended file fails fast); every segment is authenticated as it is decrypted;
        and the SHA-256 is compared at the end, which is the only check that catches segments
        swapped within the file. Plaintext is streamed, so ``dest`` has received bytes before the
        final check: treat it as untrusted unless this returns (:meth:`read_to_path` does that).
        ``progress(n)`` is called with plaintext bytes written after each segment.
        """
        if not isinstance(expected_sha256, str) or not _SHA256.fullmatch(expected_sha256):
            raise InputError(f"expected_sha256 must be 64 lowercase hex digits: {expected_sha256!r}")
        if isinstance(expected_size, bool) or not isinstance(expected_size, int) or expected_size < 0:
            raise InputError(f"expected_size must be a non-negative integer: {expected_size!r}")
        path = self._existing_path(vault_id)
        label = f"vault file {vault_id}"
        with path.open("rb") as handle:
            packets = _parse_header_packets(handle, label, foreign=False)
            session_keys = _session_keys(packets, self._keys, label, foreign=False)
            body = os.fstat(handle.fileno()).st_size - handle.tell()
            if body != ciphertext_body_size(expected_size):
                raise IntegrityViolationError(
                    f"{label}: data portion is {body} bytes but a {expected_size}-byte plaintext needs "
                    f"{ciphertext_body_size(expected_size)}: the file was truncated or extended")

            def sink(chunk: memoryview) -> None:
                _write_all(dest, chunk)

            size, sha256 = _decrypt_segments(handle, session_keys, sink, label, progress)
        if size != expected_size:
            raise IntegrityViolationError(f"{label}: decrypted {size} bytes, expected {expected_size}")
        if sha256 != expected_sha256:
            raise IntegrityViolationError(f"{label}: SHA-256 of the plaintext does not match the record")

    def read_to_path(self, vault_id: str, expected_sha256: str, expected_size: int, dest_path: Path,
                     progress: Progress | None = None) -> None:
        """:meth:`read` into ``dest_path``, which appears only once the plaintext is verified.

        Decrypts into a hidden temporary file beside ``dest_path`` (same filesystem, so the final
        rename is atomic), owner-readable only; on any failure the temporary file is deleted, so no
        unverified genomic plaintext is left on disk. An existing ``dest_path`` is replaced only on
        success.
        """
        dest_path = Path(dest_path)
        temporary = dest_path.parent / f".{dest_path.name}.{uuid.uuid4().hex}.part"
        try:
            handle = _create_private(temporary)
        except FileNotFoundError as exc:
            raise InputError(f"destination directory does not exist: {dest_path.parent}") from exc
        try:
            with handle:
                self.read(vault_id, expected_sha256, expected_size, handle, progress)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, dest_path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        _fsync_dir(dest_path.parent)

    # ---------------------------------------------------------------- sharing

    def reencrypt_for(self, vault_id: str, recipient_public_key: bytes, dest: BinaryIO) -> None:
        """Write ``vault_id`` to ``dest`` readable by ``recipient_public_key``, without decrypting it.

        Only the header is rewritten (the session key sealed for the recipient, signed by this
        node's key, so the recipient can check the sender with ``--sender_pk``); the data portion is
        copied byte for byte. Packets for other keys are dropped rather than passed on. The body is
        not verified here: the recipient checks it against the SHA-256 we send with it.
        """
        if not isinstance(recipient_public_key, bytes) or len(recipient_public_key) != 32:
            raise InputError("recipient public key must be 32 raw bytes (an X25519 key)")
        path = self._existing_path(vault_id)
        label = f"vault file {vault_id}"
        with path.open("rb") as handle:
            packets = _parse_header_packets(handle, label, foreign=False)
            decrypted, _others = c4gh_header.decrypt(packets, self._keys.crypt4gh_keys)
            if not decrypted:
                raise CryptoKeyError(
                    f"{label}: no header packet can be decrypted with this node's key: the file was "
                    "encrypted for another key, or its header was altered")
            recipient = [(0, self._keys.crypt4gh_secret, recipient_public_key)]
            try:
                new_packets = [sealed for packet in decrypted
                               for sealed in c4gh_header.encrypt(packet, recipient)]
            except (ValueError, SystemError) as exc:
                # libsodium refuses low-order public keys (all zeros, …); the binding reports that as a
                # SystemError because it sets the error yet returns a value.
                raise InputError("recipient public key is not a usable X25519 key") from exc
            _write_all(dest, memoryview(c4gh_header.serialize(new_packets)))
            buffer = bytearray(COPY_CHUNK)
            view = memoryview(buffer)
            while got := _readinto_full(handle, view):
                _write_all(dest, view[:got])
