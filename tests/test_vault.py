"""The vault: Crypt4GH files at rest, checked against the reference tool and against every corruption.

Each kind of damage is pinned to the exact exception it must raise (STYLE.md §8): a library
``ValueError``, ``AssertionError`` or ``SystemExit`` escaping would be a bug.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import random
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from crypt4gh import header as c4gh_header
from crypt4gh import lib as c4gh_lib

from genomed.errors import (
    ConfigurationError,
    CryptoKeyError,
    InputError,
    IntegrityViolationError,
    NotFoundError,
)
from genomed.vault.keys import NodeKeys, generate_node_keys
from genomed.vault.store import (
    CIPHER_DIFF,
    CIPHER_SEGMENT_SIZE,
    SEGMENT_SIZE,
    Vault,
    VaultRecord,
    ciphertext_body_size,
)

CRYPT4GH_CLI = Path(sys.executable).parent / "crypt4gh"
SIZES = [0, 1, 65535, 65536, 65537, 131073]


# ----------------------------------------------------------------------------- fixtures and helpers

@pytest.fixture
def keys(tmp_path: Path) -> NodeKeys:
    return generate_node_keys(tmp_path / "keys", None, "test")


@pytest.fixture
def other_keys(tmp_path: Path) -> NodeKeys:
    return generate_node_keys(tmp_path / "other-keys", None, "other")


@pytest.fixture
def vault(tmp_path: Path, keys: NodeKeys) -> Vault:
    return Vault(tmp_path / "vault", tmp_path / "staging", keys)


def random_bytes(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def header_length(data: bytes) -> int:
    """Where the data portion of a Crypt4GH file starts (parsed by the library's own parser)."""
    stream = io.BytesIO(data)
    for _packet in c4gh_header.parse(stream):
        pass
    return stream.tell()


def stored_files(tmp_path: Path) -> list[Path]:
    """Everything in the vault and in staging: what a failed operation must not leave behind."""
    return sorted(p for d in ("vault", "staging") for p in (tmp_path / d).rglob("*") if p.is_file())


def store(vault: Vault, data: bytes) -> VaultRecord:
    return vault.put(io.BytesIO(data))


def read_back(vault: Vault, record: VaultRecord) -> bytes:
    out = io.BytesIO()
    vault.read(record.vault_id, record.sha256, record.size, out)
    return out.getvalue()


def rewrite(path: Path, data: bytes) -> None:
    os.chmod(path, 0o600)
    path.write_bytes(data)


def flip_bit(path: Path, offset: int, bit: int = 0) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 1 << bit
    rewrite(path, bytes(data))


def cli_env(passphrase: str | None = None) -> dict[str, str]:
    """The environment for the reference tool: none of the caller's C4GH_* settings leak in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("C4GH_")}
    if passphrase is not None:
        env["C4GH_PASSPHRASE"] = passphrase  # the tool's documented non-interactive route
    return env


def run_cli(args: list[str], stdin: Path, stdout: Path, passphrase: str | None = None) -> None:
    with stdin.open("rb") as source, stdout.open("wb") as sink:
        result = subprocess.run([str(CRYPT4GH_CLI), *args], stdin=source, stdout=sink,
                                stderr=subprocess.PIPE, env=cli_env(passphrase), check=False, timeout=120)
    assert result.returncode == 0, result.stderr.decode(errors="replace")


# ----------------------------------------------------------------------------- round trips

@pytest.mark.parametrize("size", SIZES)
def test_round_trip_records_plaintext_digest_and_size(vault: Vault, tmp_path: Path, size: int) -> None:
    data = random_bytes(size, seed=size)
    put_progress: list[int] = []
    record = vault.put(io.BytesIO(data), progress=put_progress.append)
    assert record == VaultRecord(record.vault_id, sha256(data), size)
    assert sum(put_progress) == size
    assert all(0 < n <= SEGMENT_SIZE for n in put_progress)

    path = vault.path_of(record.vault_id)
    assert path == tmp_path / "vault" / record.vault_id[:2] / f"{record.vault_id}.c4gh"
    stored = path.read_bytes()
    assert len(stored) == header_length(stored) + ciphertext_body_size(size)
    if size >= 64:
        assert data[:64] not in stored  # it really is encrypted
    assert list((tmp_path / "staging").iterdir()) == []

    read_progress: list[int] = []
    out = io.BytesIO()
    vault.read(record.vault_id, record.sha256, record.size, out, progress=read_progress.append)
    assert out.getvalue() == data
    assert sum(read_progress) == size

    dest = tmp_path / "out" / "plain.bin"
    dest.parent.mkdir()
    vault.read_to_path(record.vault_id, record.sha256, record.size, dest)
    assert dest.read_bytes() == data
    assert [p.name for p in dest.parent.iterdir()] == ["plain.bin"]


def test_put_path(vault: Vault, tmp_path: Path) -> None:
    source = tmp_path / "sample.bam"
    data = random_bytes(70_000)
    source.write_bytes(data)
    record = vault.put_path(source)
    assert (record.sha256, record.size) == (sha256(data), len(data))
    assert read_back(vault, record) == data
    with pytest.raises(NotFoundError):
        vault.put_path(tmp_path / "missing.bam")


class Trickle(io.RawIOBase):
    """A pipe-like source that returns at most ``step`` bytes per read."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = memoryview(data)
        self._pos = 0
        self._step = step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self._step, len(self._data) - self._pos)
        buffer[:n] = self._data[self._pos:self._pos + n]
        self._pos += n
        return n


class ReadOnly:
    """A source with ``read`` but no ``readinto`` (some HTTP response objects)."""

    def __init__(self, data: bytes) -> None:
        self._stream = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(min(size, 5000))


def test_short_reads_do_not_cut_the_file(vault: Vault) -> None:
    """Regression: crypt4gh.lib.encrypt takes a short read for the end of the input.

    A pipe or socket returning 4 KiB at a time would have been stored as its first 4 KiB.
    """
    data = random_bytes(200_000)
    record = vault.put(Trickle(data, 4096))  # type: ignore[arg-type]
    assert (record.size, record.sha256) == (len(data), sha256(data))
    record = vault.put(ReadOnly(data))  # type: ignore[arg-type]
    assert (record.size, record.sha256) == (len(data), sha256(data))
    assert read_back(vault, record) == data


def test_failed_put_leaves_nothing(vault: Vault, tmp_path: Path) -> None:
    class Failing(io.RawIOBase):
        def __init__(self) -> None:
            self.calls = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
            self.calls += 1
            if self.calls > 3:
                raise OSError("network went away")
            buffer[:] = bytes(len(buffer))
            return len(buffer)

    with pytest.raises(OSError, match="network went away"):
        vault.put(Failing())  # type: ignore[arg-type]
    assert stored_files(tmp_path) == []


def test_progress_callback_can_cancel_a_put(vault: Vault, tmp_path: Path) -> None:
    class CancelledError(Exception):
        pass

    def cancel(_n: int) -> None:
        raise CancelledError

    with pytest.raises(CancelledError):
        vault.put(io.BytesIO(random_bytes(100_000)), progress=cancel)
    assert stored_files(tmp_path) == []


# ----------------------------------------------------------------------------- naming, discard, arguments

@pytest.mark.parametrize("bad", ["../../etc/passwd", "A" * 32, "0" * 31, "0" * 33, "g" * 32, "", 42, None])
def test_path_of_rejects_anything_but_32_lowercase_hex(vault: Vault, bad: object) -> None:
    with pytest.raises(InputError):
        vault.path_of(bad)  # type: ignore[arg-type]


def test_unknown_id_is_not_found(vault: Vault, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        vault.read("0" * 32, "0" * 64, 0, io.BytesIO())
    with pytest.raises(NotFoundError):
        vault.reencrypt_for("0" * 32, bytes(range(32)), io.BytesIO())
    with pytest.raises(NotFoundError):
        vault.discard("0" * 32)


def test_discard_removes_the_file(vault: Vault, tmp_path: Path) -> None:
    record = store(vault, b"undo me")
    vault.discard(record.vault_id)
    assert not vault.path_of(record.vault_id).exists()
    assert stored_files(tmp_path) == []
    with pytest.raises(NotFoundError):
        read_back(vault, record)


def test_read_validates_its_arguments(vault: Vault) -> None:
    record = store(vault, b"x")
    with pytest.raises(InputError):
        vault.read(record.vault_id, record.sha256.upper(), 1, io.BytesIO())
    with pytest.raises(InputError):
        vault.read(record.vault_id, record.sha256, -1, io.BytesIO())
    with pytest.raises(InputError):
        vault.read(record.vault_id, record.sha256, True, io.BytesIO())


def test_read_with_a_wrong_record_is_an_integrity_violation(vault: Vault) -> None:
    data = random_bytes(1000)
    record = store(vault, data)
    with pytest.raises(IntegrityViolationError, match=f"vault file {record.vault_id}: SHA-256"):
        vault.read(record.vault_id, sha256(b"something else"), record.size, io.BytesIO())
    with pytest.raises(IntegrityViolationError, match=f"vault file {record.vault_id}:"):
        vault.read(record.vault_id, record.sha256, record.size + 1, io.BytesIO())


def test_repr_shows_no_key(vault: Vault, keys: NodeKeys) -> None:
    assert keys.crypt4gh_secret.hex() not in repr(vault)
    assert "secret" not in repr(vault).lower()


# A tmpfs on most Linux machines: only its device number is compared, and the test makes and removes
# one uniquely named directory there.
OTHER_FILESYSTEM = Path("/dev/shm")  # noqa: S108


@pytest.mark.skipif(not OTHER_FILESYSTEM.is_dir(), reason="needs a second filesystem")
def test_staging_on_another_filesystem_is_refused(tmp_path: Path, keys: NodeKeys) -> None:
    if OTHER_FILESYSTEM.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("no second filesystem on this machine")
    staging = OTHER_FILESYSTEM / f"genomed-test-{os.getpid()}-{tmp_path.name}"
    try:
        with pytest.raises(ConfigurationError, match="same filesystem"):
            Vault(tmp_path / "vault", staging, keys)
    finally:
        if staging.exists():
            staging.rmdir()


# ----------------------------------------------------------------------------- the reference tool

@pytest.mark.crypt4gh_cli
@pytest.mark.parametrize("passphrase", [None, "correct horse battery staple"])
@pytest.mark.parametrize("size", [0, 65536, 131073])
def test_reference_tool_decrypts_what_the_vault_wrote(tmp_path: Path, passphrase: str | None,
                                                      size: int) -> None:
    keys = generate_node_keys(tmp_path / "keys", passphrase, "test")
    vault = Vault(tmp_path / "vault", tmp_path / "staging", keys)
    data = random_bytes(size, seed=7)
    record = store(vault, data)
    out = tmp_path / "decrypted"
    run_cli(["decrypt", "--sk", str(tmp_path / "keys" / "node.sec")], vault.path_of(record.vault_id), out,
            passphrase=passphrase)
    assert out.read_bytes() == data
    # and the header says it was written by this node (the tool checks the sender's key)
    run_cli(["decrypt", "--sk", str(tmp_path / "keys" / "node.sec"),
             "--sender_pk", str(tmp_path / "keys" / "node.pub")],
            vault.path_of(record.vault_id), out, passphrase=passphrase)
    assert out.read_bytes() == data


@pytest.mark.crypt4gh_cli
@pytest.mark.parametrize("size", SIZES)
def test_vault_imports_what_the_reference_tool_encrypted(vault: Vault, tmp_path: Path, size: int) -> None:
    data = random_bytes(size, seed=11)
    plain = tmp_path / "plain"
    plain.write_bytes(data)
    encrypted = tmp_path / "from-the-tool.c4gh"
    run_cli(["encrypt", "--recipient_pk", str(tmp_path / "keys" / "node.pub")], plain, encrypted)

    progress: list[int] = []
    with encrypted.open("rb") as source:
        record = vault.import_encrypted(source, progress=progress.append)
    assert (record.sha256, record.size) == (sha256(data), size)
    assert sum(progress) == encrypted.stat().st_size
    assert vault.path_of(record.vault_id).read_bytes() == encrypted.read_bytes()  # ciphertext kept as is
    assert read_back(vault, record) == data


@pytest.mark.crypt4gh_cli
def test_reference_tool_decrypts_a_reencrypted_file_and_checks_the_sender(
        vault: Vault, tmp_path: Path, other_keys: NodeKeys) -> None:
    data = random_bytes(150_000)
    record = store(vault, data)
    shared = tmp_path / "for-other.c4gh"
    with shared.open("wb") as dest:
        vault.reencrypt_for(record.vault_id, other_keys.public_key, dest)
    out = tmp_path / "decrypted"
    run_cli(["decrypt", "--sk", str(tmp_path / "other-keys" / "node.sec"),
             "--sender_pk", str(tmp_path / "keys" / "node.pub")], shared, out)
    assert out.read_bytes() == data


# ----------------------------------------------------------------------------- corruption

@pytest.fixture
def three_segments(vault: Vault) -> tuple[VaultRecord, Path, int]:
    """A stored file of 2 full segments and a 1-byte last one, its path and its header length."""
    record = store(vault, random_bytes(2 * SEGMENT_SIZE + 1, seed=3))
    path = vault.path_of(record.vault_id)
    return record, path, header_length(path.read_bytes())


def test_flipped_bit_in_header(vault: Vault, three_segments: tuple[VaultRecord, Path, int]) -> None:
    record, path, header_len = three_segments
    flip_bit(path, header_len - 5)  # inside the sealed session key's MAC
    with pytest.raises(CryptoKeyError, match=f"vault file {record.vault_id}: no header packet"):
        read_back(vault, record)


def test_flipped_bit_in_magic_number(vault: Vault, three_segments: tuple[VaultRecord, Path, int]) -> None:
    record, path, _ = three_segments
    flip_bit(path, 0)
    with pytest.raises(IntegrityViolationError, match="damaged Crypt4GH header"):
        read_back(vault, record)


def test_flipped_bit_in_first_segment(vault: Vault, three_segments: tuple[VaultRecord, Path, int]) -> None:
    record, path, header_len = three_segments
    flip_bit(path, header_len + 100, bit=3)
    with pytest.raises(IntegrityViolationError, match="segment 0 fails authentication"):
        read_back(vault, record)


def test_flipped_bit_in_last_segment(vault: Vault, three_segments: tuple[VaultRecord, Path, int]) -> None:
    record, path, _ = three_segments
    flip_bit(path, path.stat().st_size - 1, bit=7)
    with pytest.raises(IntegrityViolationError, match="segment 2 fails authentication"):
        read_back(vault, record)


def test_every_single_bit_flip_is_caught(vault: Vault) -> None:
    """Exhaustive over a small file: no flipped bit yields a library exception or a silent success."""
    data = random_bytes(40)
    record = store(vault, data)
    path = vault.path_of(record.vault_id)
    pristine = path.read_bytes()
    for offset in range(len(pristine)):
        for bit in range(8):
            damaged = bytearray(pristine)
            damaged[offset] ^= 1 << bit
            rewrite(path, bytes(damaged))
            with pytest.raises((IntegrityViolationError, CryptoKeyError)):
                read_back(vault, record)
    rewrite(path, pristine)
    assert read_back(vault, record) == data


def test_truncated_last_segment(vault: Vault, three_segments: tuple[VaultRecord, Path, int]) -> None:
    record, path, _ = three_segments
    rewrite(path, path.read_bytes()[:-10])
    with pytest.raises(IntegrityViolationError, match="truncated"):
        read_back(vault, record)


def test_truncation_at_a_segment_boundary(vault: Vault,
                                          three_segments: tuple[VaultRecord, Path, int]) -> None:
    """Crypt4GH has no end marker: dropping whole trailing segments leaves a valid file (see below)."""
    record, path, header_len = three_segments
    rewrite(path, path.read_bytes()[:header_len + 2 * CIPHER_SEGMENT_SIZE])
    with pytest.raises(IntegrityViolationError, match="truncated"):
        read_back(vault, record)


def test_crypt4gh_itself_accepts_a_file_truncated_at_a_segment_boundary(
        vault: Vault, keys: NodeKeys, three_segments: tuple[VaultRecord, Path, int]) -> None:
    """Pins why read needs the recorded size and digest: the reference decrypter does not complain."""
    _record, path, header_len = three_segments
    cut = path.read_bytes()[:header_len + CIPHER_SEGMENT_SIZE]
    out = io.BytesIO()
    c4gh_lib.decrypt(keys.crypt4gh_keys, io.BytesIO(cut), out)
    assert len(out.getvalue()) == SEGMENT_SIZE  # silently short


def test_swapped_segments_are_caught_by_the_digest(vault: Vault,
                                                   three_segments: tuple[VaultRecord, Path, int]) -> None:
    """Segments carry no sequence number, so a swap passes every MAC; only the SHA-256 sees it."""
    record, path, h = three_segments
    data = path.read_bytes()
    first, second = data[h:h + CIPHER_SEGMENT_SIZE], data[h + CIPHER_SEGMENT_SIZE:h + 2 * CIPHER_SEGMENT_SIZE]
    rewrite(path, data[:h] + second + first + data[h + 2 * CIPHER_SEGMENT_SIZE:])
    with pytest.raises(IntegrityViolationError, match="SHA-256 of the plaintext does not match"):
        read_back(vault, record)


def test_appended_segment(vault: Vault, three_segments: tuple[VaultRecord, Path, int]) -> None:
    record, path, h = three_segments
    data = path.read_bytes()
    rewrite(path, data + data[h:h + CIPHER_SEGMENT_SIZE])
    with pytest.raises(IntegrityViolationError, match="extended"):
        read_back(vault, record)


def test_huge_header_length_does_not_exhaust_memory(vault: Vault) -> None:
    """A flipped high bit in a packet length made the library read() up to 4 GiB."""
    record = store(vault, b"x")
    path = vault.path_of(record.vault_id)
    data = bytearray(path.read_bytes())
    data[16:20] = (0xFFFFFF00).to_bytes(4, "little")
    rewrite(path, bytes(data))
    with pytest.raises(IntegrityViolationError, match="header claims more than"):
        read_back(vault, record)


def test_another_nodes_keys_cannot_read(tmp_path: Path, vault: Vault, other_keys: NodeKeys) -> None:
    record = store(vault, b"for this node only")
    intruder = Vault(tmp_path / "vault", tmp_path / "staging", other_keys)
    with pytest.raises(CryptoKeyError, match="encrypted for another key"):
        read_back(intruder, record)
    with pytest.raises(CryptoKeyError):
        intruder.reencrypt_for(record.vault_id, other_keys.public_key, io.BytesIO())


def test_read_to_path_leaves_nothing_when_verification_fails(
        vault: Vault, tmp_path: Path, three_segments: tuple[VaultRecord, Path, int]) -> None:
    record, path, _ = three_segments
    flip_bit(path, path.stat().st_size - 1)  # caught only after two segments were written out
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    dest = out_dir / "plain.bin"
    with pytest.raises(IntegrityViolationError):
        vault.read_to_path(record.vault_id, record.sha256, record.size, dest)
    assert list(out_dir.iterdir()) == []

    dest.write_bytes(b"an earlier, good copy")
    with pytest.raises(IntegrityViolationError):
        vault.read_to_path(record.vault_id, record.sha256, record.size, dest)
    assert list(out_dir.iterdir()) == [dest]
    assert dest.read_bytes() == b"an earlier, good copy"


def test_read_to_path_with_wrong_digest_leaves_nothing(vault: Vault, tmp_path: Path) -> None:
    record = store(vault, random_bytes(1000))
    with pytest.raises(IntegrityViolationError):
        vault.read_to_path(record.vault_id, "0" * 64, record.size, tmp_path / "plain.bin")
    assert not any(p.name.startswith((".plain.bin", "plain.bin")) for p in tmp_path.iterdir())


# ----------------------------------------------------------------------------- import failures

def encrypted_with(keys: NodeKeys, data: bytes) -> bytes:
    out = io.BytesIO()
    c4gh_lib.encrypt(keys.crypt4gh_keys, io.BytesIO(data), out)
    return out.getvalue()


def test_import_for_another_key_is_refused_and_leaves_nothing(vault: Vault, tmp_path: Path,
                                                              other_keys: NodeKeys) -> None:
    foreign = encrypted_with(other_keys, random_bytes(100_000))
    with pytest.raises(CryptoKeyError, match="imported file: no header packet can be decrypted"):
        vault.import_encrypted(io.BytesIO(foreign))
    assert stored_files(tmp_path) == []


@pytest.mark.crypt4gh_cli
def test_import_of_tool_output_for_another_key_is_refused(vault: Vault, tmp_path: Path,
                                                          other_keys: NodeKeys) -> None:
    plain = tmp_path / "plain"
    plain.write_bytes(random_bytes(1000))
    encrypted = tmp_path / "for-other.c4gh"
    run_cli(["encrypt", "--recipient_pk", str(tmp_path / "other-keys" / "node.pub")], plain, encrypted)
    with encrypted.open("rb") as source, pytest.raises(CryptoKeyError):
        vault.import_encrypted(source)
    assert stored_files(tmp_path) == []


def test_import_of_a_multi_recipient_file(vault: Vault, keys: NodeKeys, other_keys: NodeKeys) -> None:
    data = random_bytes(70_000)
    out = io.BytesIO()
    c4gh_lib.encrypt([*other_keys.crypt4gh_keys, *keys.crypt4gh_keys], io.BytesIO(data), out)
    record = vault.import_encrypted(io.BytesIO(out.getvalue()))
    assert read_back(vault, record) == data


@pytest.mark.parametrize("damage", ["flip-body", "flip-header", "cut-mid-segment", "cut-to-nonce"])
def test_import_of_a_damaged_file_is_refused_and_leaves_nothing(vault: Vault, keys: NodeKeys,
                                                                tmp_path: Path, damage: str) -> None:
    data = bytearray(encrypted_with(keys, random_bytes(2 * SEGMENT_SIZE + 100)))
    h = header_length(bytes(data))
    if damage == "flip-body":
        data[h + CIPHER_SEGMENT_SIZE + 7] ^= 0x10
        expected: type[Exception] = IntegrityViolationError
    elif damage == "flip-header":
        data[h - 1] ^= 0x01
        expected = CryptoKeyError
    elif damage == "cut-mid-segment":
        data = data[:h + CIPHER_SEGMENT_SIZE + 500]
        expected = IntegrityViolationError
    else:  # only part of the last segment's nonce and MAC remain
        data = data[:h + 2 * CIPHER_SEGMENT_SIZE + CIPHER_DIFF - 3]
        expected = IntegrityViolationError
    with pytest.raises(expected):
        vault.import_encrypted(io.BytesIO(bytes(data)))
    assert stored_files(tmp_path) == []


def test_import_of_something_not_crypt4gh_is_an_input_error(vault: Vault, tmp_path: Path) -> None:
    for junk in (b"", b"short", b"##fileformat=VCFv4.2\n" * 10):
        with pytest.raises(InputError, match="not a Crypt4GH file"):
            vault.import_encrypted(io.BytesIO(junk))
    assert stored_files(tmp_path) == []


def test_import_of_a_range_extract_is_refused(vault: Vault, keys: NodeKeys, tmp_path: Path) -> None:
    whole = encrypted_with(keys, random_bytes(100_000))
    extract = io.BytesIO()
    c4gh_lib.rearrange(keys.crypt4gh_keys, io.BytesIO(whole), extract, offset=10, span=1000)
    with pytest.raises(InputError, match="edit list"):
        vault.import_encrypted(io.BytesIO(extract.getvalue()))
    assert stored_files(tmp_path) == []


def test_import_with_a_short_session_key_is_refused(vault: Vault, keys: NodeKeys) -> None:
    """A crafted header with a 5-byte session key would make the C primitive read past the buffer."""
    packet = c4gh_header.make_packet_data_enc(0, b"short")
    header = c4gh_header.serialize(c4gh_header.encrypt(packet, keys.crypt4gh_keys))
    with pytest.raises(IntegrityViolationError, match="session key of 5 bytes"):
        vault.import_encrypted(io.BytesIO(header + bytes(100)))


# ----------------------------------------------------------------------------- re-encryption for a recipient

def test_reencrypt_for_rewrites_only_the_header(vault: Vault, keys: NodeKeys, other_keys: NodeKeys) -> None:
    data = random_bytes(3 * SEGMENT_SIZE + 17)
    record = store(vault, data)
    stored = vault.path_of(record.vault_id).read_bytes()
    out = io.BytesIO()
    vault.reencrypt_for(record.vault_id, other_keys.public_key, out)
    shared = out.getvalue()

    old_h, new_h = header_length(stored), header_length(shared)
    assert shared[new_h:] == stored[old_h:]  # body byte-identical
    assert shared[:new_h] != stored[:old_h]  # header rewritten

    clear = io.BytesIO()
    c4gh_lib.decrypt(other_keys.crypt4gh_keys, io.BytesIO(shared), clear)
    assert clear.getvalue() == data
    # packets for other keys are dropped: this node cannot open what it sent
    session_keys = c4gh_header.decrypt(list(c4gh_header.parse(io.BytesIO(shared))), keys.crypt4gh_keys)[0]
    assert session_keys == []


@pytest.mark.parametrize("bad_key", [b"", bytes(31), "not bytes", bytes(32)])
def test_reencrypt_for_rejects_an_unusable_recipient_key(vault: Vault, bad_key: object) -> None:
    record = store(vault, b"x")
    with pytest.raises(InputError):
        vault.reencrypt_for(record.vault_id, bad_key, io.BytesIO())  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- memory and secrets

class Generated(io.RawIOBase):
    """``total`` bytes of pseudo-random data, made on demand so the test itself holds none of it."""

    def __init__(self, total: int) -> None:
        self._left = total
        self._block = random_bytes(SEGMENT_SIZE - 1)  # odd length: chunks never line up with segments
        self._pos = 0
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self._left, len(self._block) - self._pos)
        chunk = self._block[self._pos:self._pos + n]
        buffer[:n] = chunk
        self.sha256.update(chunk)
        self._pos = (self._pos + n) % len(self._block)
        self._left -= n
        return n


class HashingSink(io.RawIOBase):
    def __init__(self) -> None:
        self.sha256 = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.sha256.update(data)
        self.size += len(data)
        return len(data)


def test_put_and_read_run_in_constant_memory(vault: Vault) -> None:
    total = 64 * 1024 * 1024
    limit = 2 * 1024 * 1024
    source = Generated(total)
    tracemalloc.start()
    try:
        record = vault.put(source)  # type: ignore[arg-type]
        _, put_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        sink = HashingSink()
        vault.read(record.vault_id, record.sha256, record.size, sink)  # type: ignore[arg-type]
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert record.size == total and record.sha256 == source.sha256.hexdigest()
    assert sink.size == total and sink.sha256.hexdigest() == record.sha256
    assert put_peak < limit, f"put peaked at {put_peak / 2**20:.1f} MiB"
    assert read_peak < limit, f"read peaked at {read_peak / 2**20:.1f} MiB"


def test_no_key_material_in_debug_logs(vault: Vault, keys: NodeKeys, other_keys: NodeKeys,
                                       caplog: pytest.LogCaptureFixture) -> None:
    """Even with the crypt4gh loggers turned back to DEBUG, no key reaches a log record."""
    for name in ("crypt4gh", "crypt4gh.lib", "crypt4gh.header"):
        caplog.set_level(logging.DEBUG, logger=name)
    caplog.set_level(logging.DEBUG)
    data = random_bytes(70_000)
    record = store(vault, data)
    assert read_back(vault, record) == data
    shared = io.BytesIO()
    vault.reencrypt_for(record.vault_id, other_keys.public_key, shared)
    imported = vault.import_encrypted(io.BytesIO(encrypted_with(keys, data)))
    with pytest.raises(CryptoKeyError):
        vault.import_encrypted(io.BytesIO(encrypted_with(other_keys, data)))
    logged = caplog.text.lower()

    with vault.path_of(record.vault_id).open("rb") as handle:
        session_keys, _ = c4gh_header.deconstruct(handle, keys.crypt4gh_keys)
    secrets = [keys.crypt4gh_secret, other_keys.crypt4gh_secret, *session_keys]
    for secret in secrets:
        assert secret.hex() not in logged
    assert imported.size == len(data)


def test_iterators_are_not_materialised(vault: Vault) -> None:
    """put accepts any readable binary stream, including a generator wrapped as one."""

    def chunks() -> Iterator[bytes]:
        for i in range(10):
            yield bytes([i]) * 10_000

    class FromIterator(io.RawIOBase):
        def __init__(self) -> None:
            self._it = chunks()
            self._pending = b""

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
            if not self._pending:
                self._pending = next(self._it, b"")
            n = min(len(buffer), len(self._pending))
            buffer[:n] = self._pending[:n]
            self._pending = self._pending[n:]
            return n

    record = vault.put(io.BufferedReader(FromIterator()))
    assert record.size == 100_000
    assert read_back(vault, record) == b"".join(chunks())
