"""Sequencing and report files of a case: stored in the vault, catalogued, read and shared under consent.

The vault holds bytes; the catalog holds what they are (sample, kind, plaintext digest). A store
writes the encrypted file first and the catalog row second, in one transaction; if the row cannot
be written the encrypted file is discarded, so the two never disagree.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from genomed.access.purpose import Purpose
from genomed.access.roles import Permission
from genomed.catalog.cases import CaseState
from genomed.catalog.consent_rules import Scope, require_consent
from genomed.catalog.guard import authorize, record_refusal
from genomed.catalog.models import StoredFile
from genomed.catalog.prescriptions import advance_and_audit
from genomed.catalog.samples import sample_by_label
from genomed.context import NodeContext
from genomed.errors import ConsentError, DuplicateError, InputError, NotFoundError
from genomed.vault.store import VaultRecord

LOG = logging.getLogger(__name__)
Progress = Callable[[int], None]
_VAULT_ID = re.compile(r"^[0-9a-f]{32}$")


class FileKind(StrEnum):
    VCF = "vcf"
    GVCF = "gvcf"
    BAM = "bam"
    CRAM = "cram"
    FASTQ = "fastq"
    REPORT = "report"
    OTHER = "other"


def guess_kind(name: str) -> FileKind:
    """The kind of a sequencing file from its name.

    >>> [guess_kind(n).value for n in ("a.g.vcf.gz", "a.vcf.gz", "a.cram", "r1.fq.gz", "x.pdf")]
    ['gvcf', 'vcf', 'cram', 'fastq', 'other']
    """
    lower = name.lower()
    if re.search(r"\.g(enome)?\.vcf(\.b?gz)?$|\.gvcf(\.b?gz)?$", lower):
        return FileKind.GVCF
    if re.search(r"\.vcf(\.b?gz)?$|\.bcf$", lower):
        return FileKind.VCF
    if lower.endswith(".bam"):
        return FileKind.BAM
    if lower.endswith(".cram"):
        return FileKind.CRAM
    if re.search(r"\.f(ast)?q(\.gz)?$", lower):
        return FileKind.FASTQ
    return FileKind.OTHER


def _parse_kind(kind: str | None, name: str) -> FileKind:
    if kind is None:
        return guess_kind(name)
    try:
        return FileKind(kind.strip().lower())
    except ValueError as exc:
        raise InputError(f"file kind must be one of {', '.join(k.value for k in FileKind)}, got {kind!r}") from exc


def file_by_vault_id(session: Session, vault_id: str) -> StoredFile:
    if not _VAULT_ID.match(vault_id):
        raise InputError(f"file id {vault_id!r} must be 32 lowercase hexadecimal characters")
    stored = session.scalar(select(StoredFile).where(StoredFile.vault_id == vault_id))
    if stored is None:
        raise NotFoundError(f"no stored file {vault_id}")
    return stored


def _catalogue(ctx: NodeContext, actor: str, sample_label: str, record: VaultRecord, kind: FileKind,
               original_name: str, action: str) -> StoredFile:
    """Write the catalog row for a file already in the vault; discard the vault file on any failure."""
    try:
        with ctx.transaction() as session:
            user = authorize(ctx, session, actor, Permission.STORE_FILE, object_type="sample",
                             object_id=sample_label, purpose=Purpose.CARE)
            sample = sample_by_label(session, sample_label)
            require_consent(session, sample.patient, Scope.DIAGNOSIS, "store a file")
            twin = session.scalar(select(StoredFile.vault_id).where(
                StoredFile.sample_id == sample.id, StoredFile.plaintext_sha256 == record.sha256))
            if twin is not None:
                raise DuplicateError(f"the same file (sha256 {record.sha256[:12]}…) is already stored for sample "
                                     f"{sample.label} as {twin}")
            stored = StoredFile(vault_id=record.vault_id, sample_id=sample.id, kind=kind.value,
                                original_name=Path(original_name).name[:255], plaintext_sha256=record.sha256,
                                plaintext_size=record.size, stored_by=user.id)
            session.add(stored)
            session.flush()
            ctx.audit.record(session, actor=actor, action=action, object_type="file", object_id=record.vault_id,
                             purpose=Purpose.CARE,
                             details={"sample": sample.label, "kind": kind.value, "size": record.size})
            if kind is not FileKind.REPORT:
                advance_and_audit(ctx, session, actor, sample.prescription, CaseState.SEQUENCED, user)
    except BaseException:
        LOG.info("catalogue of vault file %s failed; discarding the encrypted copy", record.vault_id)
        ctx.vault.discard(record.vault_id)
        raise
    LOG.info("stored %s (%s, %d bytes) for sample %s as vault file %s", stored.original_name, kind.value,
             record.size, sample_label, record.vault_id)
    return stored


def _check_may_store(ctx: NodeContext, actor: str, sample_label: str) -> None:
    """Refuse before encrypting gigabytes: permission, sample and consent are checked up front too."""
    with ctx.transaction() as session:
        authorize(ctx, session, actor, Permission.STORE_FILE, object_type="sample", object_id=sample_label,
                  purpose=Purpose.CARE)
        sample = sample_by_label(session, sample_label)
        require_consent(session, sample.patient, Scope.DIAGNOSIS, "store a file")


def store_file(ctx: NodeContext, actor: str, *, sample_label: str, path: Path, kind: str | None = None,
               progress: Progress | None = None) -> StoredFile:
    """Encrypt a local file into the vault and catalogue it against a sample."""
    if not path.is_file():
        raise InputError(f"no such file: {path}")
    file_kind = _parse_kind(kind, path.name)
    _check_may_store(ctx, actor, sample_label)
    record = ctx.vault.put_path(path, progress=progress)
    return _catalogue(ctx, actor, sample_label, record, file_kind, path.name, "file.store")


def import_encrypted_file(ctx: NodeContext, actor: str, *, sample_label: str, path: Path, kind: str | None = None,
                          progress: Progress | None = None) -> StoredFile:
    """Take in a file a sequencing centre already encrypted for this node's public key (Crypt4GH)."""
    if not path.is_file():
        raise InputError(f"no such file: {path}")
    name = path.name.removesuffix(".c4gh")
    file_kind = _parse_kind(kind, name)
    _check_may_store(ctx, actor, sample_label)
    with path.open("rb") as source:
        record = ctx.vault.import_encrypted(source, progress=progress)
    return _catalogue(ctx, actor, sample_label, record, file_kind, name, "file.import")


def _purpose_scope(purpose: Purpose) -> Scope:
    return Scope.RESEARCH if purpose is Purpose.RESEARCH else Scope.DIAGNOSIS


def _consent_problem(session: Session, stored: StoredFile, scope: Scope, action: str) -> ConsentError | None:
    if stored.sample is None:
        return None
    try:
        require_consent(session, stored.sample.patient, scope, action)
    except ConsentError as exc:
        return exc
    return None


def _authorise_read(ctx: NodeContext, actor: str, vault_id: str, purpose: Purpose, permission: Permission,
                    scope: Scope, action: str) -> StoredFile:
    """Check permission and consent, and audit the access before a single byte is decrypted."""
    with ctx.transaction() as session:
        authorize(ctx, session, actor, permission, object_type="file", object_id=vault_id, purpose=purpose)
        stored = file_by_vault_id(session, vault_id)
        verb = action.split(".")[1]
        problem = _consent_problem(session, stored, scope, f"{verb} file {vault_id} for {purpose.value}")
        if problem is None:
            ctx.audit.record(session, actor=actor, action=action, object_type="file", object_id=vault_id,
                             purpose=purpose)
    if problem is not None:
        record_refusal(ctx, actor=actor, action=action, object_type="file", object_id=vault_id, purpose=purpose,
                       outcome="denied", reason=str(problem))
        raise problem
    return stored


def read_file(ctx: NodeContext, actor: str, *, vault_id: str, destination: Path, purpose: Purpose = Purpose.CARE,
              progress: Progress | None = None) -> StoredFile:
    """Decrypt a stored file to ``destination``, verifying its digest; audited, consent-checked."""
    stored = _authorise_read(ctx, actor, vault_id, purpose, Permission.READ_FILE, _purpose_scope(purpose), "file.read")
    if destination.exists():
        raise InputError(f"{destination} already exists; refusing to overwrite it")
    ctx.vault.read_to_path(stored.vault_id, stored.plaintext_sha256, stored.plaintext_size, destination,
                           progress=progress)
    return stored


def share_file(ctx: NodeContext, actor: str, *, vault_id: str, recipient_public_key: bytes, recipient_country: str,
               destination: BinaryIO) -> StoredFile:
    """Re-encrypt a file's header for a recipient's Crypt4GH key (the body is copied untouched).

    Sharing within the node's country needs the national-sharing consent, abroad the
    international-sharing consent.
    """
    country = recipient_country.strip().upper()
    if not re.match(r"^[A-Z]{2}$", country):
        raise InputError(f"recipient country must be an ISO 3166-1 alpha-2 code, got {recipient_country!r}")
    scope = Scope.NATIONAL_SHARING if country == ctx.config.country else Scope.INTERNATIONAL_SHARING
    stored = _authorise_read(ctx, actor, vault_id, Purpose.SHARING, Permission.SHARE_FILE, scope, "file.share")
    ctx.vault.reencrypt_for(stored.vault_id, recipient_public_key, destination)
    return stored


def list_files(ctx: NodeContext, actor: str, sample_label: str | None = None) -> list[StoredFile]:
    with ctx.transaction() as session:
        authorize(ctx, session, actor, Permission.VIEW_CASE, object_type="file", object_id=sample_label or "*",
                  purpose=Purpose.CARE)
        query = select(StoredFile).order_by(StoredFile.id)
        if sample_label is not None:
            query = query.where(StoredFile.sample_id == sample_by_label(session, sample_label).id)
        files = list(session.scalars(query))
        for f in files:
            _ = f.sample.label if f.sample else None
    return files


@contextlib.contextmanager
def staged_plaintext(ctx: NodeContext, *, vault_id: str, sha256: str, size: int, original_name: str,
                     job: str) -> Iterator[Path]:
    """A stored VCF decrypted into the node's private staging folder for htslib, deleted afterwards whatever happens.

    Ingestion and interpretation both read files this way; ``job`` names the temporary file so an
    operator can tell whose it is. The plaintext digest and size are checked while decrypting.
    """
    suffix = ".vcf.gz" if original_name.endswith((".gz", ".bgz")) else ".vcf"
    path = ctx.config.staging_dir / f"{job}-{vault_id}{suffix}"
    try:
        ctx.vault.read_to_path(vault_id, sha256, size, path)
        yield path
    finally:
        path.unlink(missing_ok=True)
