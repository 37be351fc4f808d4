"""The audit trail: an append-only, hash-chained log of every access and decision, with signed checkpoints.

Each entry records who (``actor``, a username or pseudonymous service name) did what (``action``) to
which object (``object_type``/``object_id``, a pseudonym — never a name or a national identifier),
why (``purpose``), with what ``outcome`` and when (``at``). Entries are numbered ``seq`` = 1, 2, 3, …
without gaps, and each carries ``entry_hash`` = SHA-256 over a canonical encoding of its fields *and
of the previous entry's hash*; entry 1 chains onto a genesis hash derived from the node id, so the
chain of one node cannot pass for another's. Every ``checkpoint_every`` entries the node signs
(node id, seq, entry hash, time) with its Ed25519 key; the checkpoint is stored in the database and,
once its transaction has committed, appended to an *anchor* file outside the database.

Entries are written in the caller's transaction, so an audited change and the entry recording it
commit or roll back together: there is no audited change without its entry, and no entry for a
change that did not happen. Writers serialise on the single ``audit_head`` row (``SELECT … FOR
UPDATE`` on PostgreSQL; on SQLite a no-op ``UPDATE`` that takes the database write lock), which is
what keeps ``seq`` contiguous under concurrency.

Threat model — who can tamper with what, and what :meth:`AuditTrail.verify` then sees:

* **Someone with write access to the database but not the node key** (a DBA, a stolen backup
  restored and edited, an SQL injection). Editing any field of an entry, deleting an entry,
  reordering entries or inserting one in the middle breaks the chain at that entry unless the
  attacker also recomputes every later hash — which needs no secret, so a careful attacker does.
  Such a *consistent* rewrite is still caught by any signed checkpoint at or after the first changed
  entry: the attacker cannot re-sign, so the entry at the checkpoint's seq no longer has the signed
  hash. Deleting the tail and fixing the head row is caught by any checkpoint beyond the new end;
  deleting those checkpoint rows as well is caught by the anchor file. A forged checkpoint (signed
  with another key) is caught by its signature.
* **Someone with write access to the anchor file only**: appending or editing lines makes
  verification fail (their signatures or their entries do not check out); they can delete lines,
  which weakens but does not corrupt the evidence.
* **Someone with write access to both the database and the anchor file** can cut the log back to any
  checkpoint and make it consistent again; only a copy of the anchors kept elsewhere (sent to a
  remote node, a WORM store, a printed digest) catches that. Whoever holds the node key can forge
  anything; the key is the root of trust.

What verification cannot see: entries appended after the last checkpoint can be rewritten or
dropped by a careful attacker without a trace (at most ``checkpoint_every`` − 1 entries, fewer if
:meth:`AuditTrail.checkpoint` is called, e.g. by a timer); it cannot tell which of two adjacent
entries was rewritten when a link breaks, nor which entry between two checkpoints was changed by a
consistent rewrite (it names the checkpoint); and it cannot know that something which should have
been audited never was — the trail is complete only if every service calls :meth:`AuditTrail.record`.

No clear personal identifier may enter the log: the log can never be edited, so a name written
into it could never be erased. Callers pass pseudonyms; :meth:`AuditTrail.record` refuses ``details``
keys that obviously name identifying data (``surname``, ``date_of_birth``…), as a last safeguard
rather than a guarantee.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, bindparam, event, func, insert, select, update
from sqlalchemy.orm import Session, SessionTransaction, make_transient_to_detached

from genomed.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from genomed.db.base import utcnow
from genomed.errors import InputError, IntegrityViolationError
from genomed.vault.keys import NodeKeys, key_id

log = logging.getLogger(__name__)

OUTCOMES: Final = frozenset({"ok", "denied", "failed"})
GENESIS_LABEL: Final = b"genomed-audit-v1|"
CHECKPOINT_DOMAIN: Final = "genomed-audit-checkpoint-v1"
HEAD_ID: Final = 1

# Column widths of audit_entries: PostgreSQL enforces them and SQLite does not, so they are checked
# here to make both databases accept and refuse exactly the same entries.
_FIELD_LIMITS: Final = {"actor": 64, "action": 64, "object_type": 32, "object_id": 128, "purpose": 64}
_MAX_DETAILS_CHARS: Final = 8192  # the log indexes events; documents belong in the catalog or vault
# ``details`` keys that would put a person's identity into a log that can never be erased.
_IDENTIFYING_KEYS: Final = frozenset({
    "patient_name", "first_name", "given_name", "last_name", "family_name", "surname", "full_name",
    "maiden_name", "birth_date", "date_of_birth", "dob", "birthdate", "national_id", "ssn",
    "social_security_number", "nhs_number", "insurance_number", "email", "phone", "telephone",
    "address", "street", "postcode", "zip_code",
})
_STREAM_BATCH: Final = 2000
_PENDING_ANCHORS: Final = "genomed.audit.pending_anchors"
_LISTENING: Final = "genomed.audit.anchor_listeners"

DetailValue = str | int | float | bool | None


@dataclass(frozen=True)
class PendingEntry:
    """One entry for :meth:`AuditTrail.record_many`: the fields of :meth:`AuditTrail.record`."""

    actor: str
    action: str
    object_type: str
    object_id: str
    purpose: str
    outcome: str = "ok"
    details: Mapping[str, DetailValue] | None = None


@dataclass(frozen=True)
class VerificationReport:
    """The outcome of :meth:`AuditTrail.verify`; ``ok`` is False as soon as anything is wrong.

    ``first_bad_seq`` is the lowest seq at which the log provably departs from what was written:
    the edited, missing or out-of-place entry for a broken chain; the first missing seq when the
    log was truncated; the seq of the checkpoint (or anchor) whose signed hash the entry there no
    longer has when history was rewritten consistently (the change itself lies after the previous
    matching checkpoint); the seq a checkpoint with a bad signature claims. It is ``None`` for a
    problem tied to no entry (a missing head row, an unreadable anchor line). ``problem`` describes
    that same first problem.
    """

    ok: bool
    entries_checked: int
    checkpoints_checked: int
    first_bad_seq: int | None
    problem: str | None
    anchors_checked: int = 0


def genesis_hash(node_id: str) -> str:
    """The ``prev_hash`` of entry 1: binds a chain to the node that started it.

    >>> genesis_hash("node-a") == genesis_hash("node-b")
    False
    >>> len(genesis_hash("node-a"))
    64
    """
    return hashlib.sha256(GENESIS_LABEL + node_id.encode("utf-8")).hexdigest()


def iso_utc(at: dt.datetime) -> str:
    """The canonical text of a timestamp in hashes and signatures: ISO-8601 UTC to the microsecond.

    Both databases keep microseconds, so the value read back hashes to the same text.

    >>> iso_utc(dt.datetime(2025, 3, 1, 13, 5, tzinfo=dt.timezone(dt.timedelta(hours=1))))
    '2025-03-01T12:05:00.000000+00:00'
    """
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


def canonical_json(value: Mapping[str, Any]) -> str:
    """Sorted keys, no spaces, ASCII only, no NaN: one text per value, on any Python version.

    >>> canonical_json({"b": 1.5, "a": "é", "c": None})
    '{"a":"\\\\u00e9","b":1.5,"c":null}'
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def compute_entry_hash(*, seq: int, at: dt.datetime, actor: str, action: str, object_type: str,
                       object_id: str, purpose: str, outcome: str, details: str, prev_hash: str) -> str:
    """SHA-256 of an entry's canonical encoding; ``details`` is the stored canonical JSON text.

    Every field is inside the hash, ``seq`` included, so moving an entry changes its hash too.

    >>> at = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    >>> compute_entry_hash(seq=1, at=at, actor="a", action="x", object_type="t", object_id="o",
    ...     purpose="care", outcome="ok", details="{}", prev_hash="0" * 64)[:16]
    'a5bd4d3129bec828'
    """
    payload = {"seq": seq, "at": iso_utc(at), "actor": actor, "action": action, "object_type": object_type,
               "object_id": object_id, "purpose": purpose, "outcome": outcome, "details": details,
               "prev_hash": prev_hash}
    return hashlib.sha256(canonical_json(payload).encode("ascii")).hexdigest()


def checkpoint_message(node_id: str, seq: int, entry_hash: str, at: dt.datetime) -> bytes:
    """The bytes a checkpoint signature covers; the domain label keeps it from meaning anything else."""
    return canonical_json({"domain": CHECKPOINT_DOMAIN, "node_id": node_id, "seq": seq,
                           "entry_hash": entry_hash, "at": iso_utc(at)}).encode("ascii")


def _signature_valid(key: Ed25519PublicKey, signature_hex: str, message: bytes) -> bool:
    try:
        key.verify(bytes.fromhex(signature_hex), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def _clean_text(name: str, value: object, *, required: bool) -> str:
    """A field as plain ``str`` (a ``StrEnum`` member becomes its value), or InputError."""
    if not isinstance(value, str):
        raise InputError(f"audit {name} must be text, not {type(value).__name__}")
    text = str.__str__(value)
    if required and not text.strip():
        raise InputError(f"audit {name} must not be empty")
    limit = _FIELD_LIMITS[name]
    if len(text) > limit:
        raise InputError(f"audit {name} is longer than {limit} characters")
    _check_storable(name, text)
    return text


def _check_storable(name: str, text: str) -> None:
    # PostgreSQL text cannot hold NUL, and neither database can store lone surrogates.
    if "\x00" in text:
        raise InputError(f"audit {name} contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(f"audit {name} is not valid Unicode text") from exc


def _canonical_details(details: Mapping[str, DetailValue] | None) -> str:
    if details is None:
        return "{}"
    if not isinstance(details, Mapping):
        raise InputError("audit details must be a mapping of names to text, numbers, booleans or null")
    clean: dict[str, DetailValue] = {}
    for key, value in details.items():
        if not isinstance(key, str) or not key:
            raise InputError(f"audit details key {key!r} must be non-empty text")
        if key.lower().replace("-", "_") in _IDENTIFYING_KEYS:
            raise InputError(f"audit details key {key!r} names identifying data; the audit trail can "
                             "never be erased, so pass a pseudonym instead")
        if value is not None and not isinstance(value, str | int | float | bool):
            raise InputError(f"audit details value for {key!r} must be text, a number, a boolean or null, "
                             f"not {type(value).__name__}")
        if isinstance(value, float) and not math.isfinite(value):
            raise InputError(f"audit details value for {key!r} is not a finite number")
        if isinstance(value, str):
            value = str.__str__(value)
        clean[str.__str__(key)] = value
    text = canonical_json(clean)
    if len(text) > _MAX_DETAILS_CHARS:
        raise InputError(f"audit details take more than {_MAX_DETAILS_CHARS} characters; "
                         "record a reference to the document instead")
    return text


def _clean_time(at: dt.datetime | None) -> dt.datetime:
    if at is None:
        return utcnow()
    if not isinstance(at, dt.datetime):
        raise InputError(f"audit time must be a datetime, not {type(at).__name__}")
    if at.tzinfo is None or at.utcoffset() is None:
        raise InputError("audit time must be timezone-aware (UTC); a naive time is ambiguous")
    try:
        return at.astimezone(dt.UTC)
    except OverflowError as exc:
        raise InputError(f"audit time {at.isoformat()} is out of range in UTC") from exc


# --- anchors: written only once the transaction that made the checkpoint has committed ---------------

def _queue_anchor(session: Session, path: Path, line: str) -> None:
    """Remember an anchor line until the transaction commits; forget it if that transaction rolls back."""
    if not session.info.get(_LISTENING):
        event.listen(session, "after_commit", _write_pending_anchors)
        event.listen(session, "after_soft_rollback", _drop_rolled_back_anchors)
        event.listen(session, "after_transaction_end", _drop_orphan_anchors)
        session.info[_LISTENING] = True
    owner = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING_ANCHORS, []).append((owner, path, line))


def _write_pending_anchors(session: Session) -> None:
    # after_commit also fires when a SAVEPOINT is released; only the outermost commit is durable.
    if session.in_nested_transaction():
        return
    pending: list[tuple[SessionTransaction | None, Path, str]] = session.info.pop(_PENDING_ANCHORS, [])
    by_path: dict[Path, list[str]] = {}
    for _owner, path, line in pending:
        by_path.setdefault(path, []).append(line)
    for path, lines in by_path.items():
        try:
            append_durably(path, "".join(lines))
        except OSError as exc:
            # The checkpoints are committed and still protect the chain; raising here would report a
            # failure for a transaction that did commit. Say it loudly instead.
            log.error("audit checkpoints committed but not anchored in %s: %s", path, exc)


def _drop_rolled_back_anchors(session: Session, previous_transaction: SessionTransaction) -> None:
    pending: list[tuple[SessionTransaction | None, Path, str]] = session.info.get(_PENDING_ANCHORS, [])
    kept = []
    for owner, path, line in pending:
        ancestor = owner
        while ancestor is not None and ancestor is not previous_transaction:
            ancestor = ancestor.parent
        if ancestor is None:
            kept.append((owner, path, line))
    session.info[_PENDING_ANCHORS] = kept


def _drop_orphan_anchors(session: Session, transaction: SessionTransaction) -> None:
    # A root transaction that ends without after_commit having taken its anchors (closed, not
    # committed) must not leave them to be written by the session's next transaction.
    if transaction.parent is None:
        session.info.pop(_PENDING_ANCHORS, None)


def append_durably(path: Path, text: str) -> None:
    """Append ``text`` to ``path`` and fsync it (and the directory, when the file is new)."""
    created = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        data = memoryview(text.encode("utf-8"))
        while data:
            written = os.write(fd, data)
            data = data[written:]
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


# --- the trail -------------------------------------------------------------------------------------

class AuditTrail:
    """Appends to, checkpoints and verifies one node's audit chain in the node database."""

    def __init__(self, node_id: str, keys: NodeKeys, anchor_path: Path | None, checkpoint_every: int = 100
                 ) -> None:
        if not isinstance(node_id, str) or not node_id:
            raise InputError("an audit trail needs a non-empty node id")
        if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int) \
                or checkpoint_every < 1:
            raise InputError("checkpoint_every must be a whole number of at least 1")
        self.node_id = node_id
        self.anchor_path = anchor_path
        self.checkpoint_every = checkpoint_every
        self.genesis = genesis_hash(node_id)
        self._signing_key = keys.signing_key  # derived with HKDF on each access: do it once
        self._verify_key = self._signing_key.public_key()
        self._key_id = key_id(self._verify_key.public_bytes_raw())

    def __repr__(self) -> str:
        return f"AuditTrail(node_id={self.node_id!r}, anchor_path={self.anchor_path!r})"

    # -- writing --

    def initialise(self, session: Session) -> None:
        """Create the head row at this node's genesis; do nothing if it exists for this node.

        Raises IntegrityViolationError if the database already holds another node's chain.
        """
        head = session.execute(select(AuditHead.last_seq, AuditHead.last_hash)
                               .where(AuditHead.id == HEAD_ID)).one_or_none()
        if head is None:
            session.add(AuditHead(id=HEAD_ID, last_seq=0, last_hash=self.genesis))
            session.flush()
            return
        if head.last_seq == 0:
            first_prev = head.last_hash
        else:
            first_prev = session.scalar(select(AuditEntry.prev_hash).where(AuditEntry.seq == 1))
        if first_prev is not None and first_prev != self.genesis:
            raise IntegrityViolationError(f"the audit trail in this database was not started by node "
                                          f"{self.node_id!r} (its genesis hash differs)")

    def _lock_head(self, session: Session) -> tuple[int, str]:
        """Lock the head row for the rest of the transaction and read it."""
        conn = _connection(session)
        row = conn.execute(_LOCK_HEAD_SQLITE if conn.dialect.name == "sqlite" else _LOCK_HEAD).one_or_none()
        if row is None:
            if session.scalar(select(func.count()).select_from(AuditEntry)):
                raise IntegrityViolationError("the audit head row is missing but the log has entries")
            self.initialise(session)
            return self._lock_head(session)
        return int(row[0]), str(row[1])

    def record(self, session: Session, *, actor: str, action: str, object_type: str, object_id: str,
               purpose: str, outcome: str = "ok", details: Mapping[str, DetailValue] | None = None,
               at: dt.datetime | None = None) -> AuditEntry:
        """Append one entry in the caller's transaction, and a checkpoint every ``checkpoint_every``.

        The entry commits or rolls back with whatever the caller changed in the same session. On
        SQLite the first statement takes the database write lock; a caller whose SQLite transaction
        has already *read* under an explicit BEGIN may get "database is locked" if another writer
        committed since (SQLite cannot upgrade a stale snapshot) — write first, or BEGIN IMMEDIATE.
        """
        fields = {
            "actor": _clean_text("actor", actor, required=True),
            "action": _clean_text("action", action, required=True),
            "object_type": _clean_text("object_type", object_type, required=True),
            "object_id": _clean_text("object_id", object_id, required=False),
            "purpose": _clean_text("purpose", purpose, required=True),
        }
        if not isinstance(outcome, str) or outcome not in OUTCOMES:
            raise InputError(f"audit outcome must be one of {', '.join(sorted(OUTCOMES))}, not {outcome!r}")
        details_text = _canonical_details(details)
        when = _clean_time(at)

        last_seq, last_hash = self._lock_head(session)
        if at is None:
            when = utcnow()  # read the clock under the lock, so seq order and time order agree
        seq = last_seq + 1
        digest = compute_entry_hash(seq=seq, at=when, outcome=str.__str__(outcome), details=details_text,
                                    prev_hash=last_hash, **fields)
        values = {"seq": seq, "at": when, "outcome": str.__str__(outcome), "details": details_text,
                  "prev_hash": last_hash, "entry_hash": digest, **fields}
        # Plain Core statements on the session's connection: an ORM flush per entry would cost more
        # than everything else here together. The entry is then attached to the session as the
        # persistent object it is (merge without load emits no SQL).
        conn = _connection(session)
        conn.execute(_INSERT_ENTRY, values)
        conn.execute(_ADVANCE_HEAD, {"new_seq": seq, "new_hash": digest})
        written = AuditEntry(**values)
        make_transient_to_detached(written)
        entry = session.merge(written, load=False)
        if seq % self.checkpoint_every == 0:
            try:
                self._check_since_last_checkpoint(session, seq, digest)
            except IntegrityViolationError as exc:
                # Refusing the caller's action would let anyone who can damage the log stop the node;
                # not signing keeps the damage visible to verify() instead of blessing it.
                log.error("audit checkpoint at seq %d not signed: %s", seq, exc)
            else:
                self._sign_checkpoint(session, seq, digest)
        return entry

    def record_many(self, session: Session, entries: Sequence[PendingEntry]) -> list[int]:
        """Append several entries in the caller's transaction; their seqs, in order.

        The same entries, hashes and checkpoints as that many :meth:`record` calls, written with one
        head lock, one multi-row insert and one head update instead of three statements and an ORM
        object each: for callers that audit many events at once, such as a server committing the
        audit entries of its concurrent answers together. Every entry is validated before anything
        is written, so a bad one fails the call without writing the others.
        """
        prepared = []
        for entry in entries:
            fields = {
                "actor": _clean_text("actor", entry.actor, required=True),
                "action": _clean_text("action", entry.action, required=True),
                "object_type": _clean_text("object_type", entry.object_type, required=True),
                "object_id": _clean_text("object_id", entry.object_id, required=False),
                "purpose": _clean_text("purpose", entry.purpose, required=True),
            }
            if not isinstance(entry.outcome, str) or entry.outcome not in OUTCOMES:
                raise InputError(f"audit outcome must be one of {', '.join(sorted(OUTCOMES))}, "
                                 f"not {entry.outcome!r}")
            prepared.append((fields, str.__str__(entry.outcome), _canonical_details(entry.details)))
        if not prepared:
            return []
        last_seq, last_hash = self._lock_head(session)
        rows: list[dict[str, Any]] = []
        written: list[tuple[int, str]] = []
        for fields, outcome, details_text in prepared:
            seq, when = last_seq + 1, utcnow()  # the clock is read under the lock, as in record()
            digest = compute_entry_hash(seq=seq, at=when, outcome=outcome, details=details_text,
                                        prev_hash=last_hash, **fields)
            rows.append({"seq": seq, "at": when, "outcome": outcome, "details": details_text,
                         "prev_hash": last_hash, "entry_hash": digest, **fields})
            written.append((seq, digest))
            last_seq, last_hash = seq, digest
        conn = _connection(session)
        conn.execute(_INSERT_ENTRY, rows)
        conn.execute(_ADVANCE_HEAD, {"new_seq": last_seq, "new_hash": last_hash})
        for seq, digest in written:
            if seq % self.checkpoint_every == 0:
                try:
                    self._check_since_last_checkpoint(session, seq, digest)
                except IntegrityViolationError as exc:  # as in record(): keep the damage visible, sign nothing
                    log.error("audit checkpoint at seq %d not signed: %s", seq, exc)
                else:
                    self._sign_checkpoint(session, seq, digest)
        return [seq for seq, _ in written]

    def checkpoint(self, session: Session) -> AuditCheckpoint | None:
        """Sign the current end of the log (e.g. from a timer, so a quiet node's tail is covered too).

        Returns None for an empty log and the existing checkpoint if the end is already signed.
        Raises IntegrityViolationError, signing nothing, if the entries since the previous valid
        checkpoint do not chain up: a checkpoint must never vouch for a tampered tail.
        """
        last_seq, last_hash = self._lock_head(session)
        if last_seq == 0:
            return None
        existing = session.scalars(select(AuditCheckpoint).where(AuditCheckpoint.seq == last_seq,
                                                                 AuditCheckpoint.entry_hash == last_hash,
                                                                 AuditCheckpoint.key_id == self._key_id)
                                   .order_by(AuditCheckpoint.id).limit(1)).first()
        if existing is not None:
            return existing
        self._check_since_last_checkpoint(session, last_seq, last_hash)
        return self._sign_checkpoint(session, last_seq, last_hash)

    def _check_since_last_checkpoint(self, session: Session, seq: int, digest: str) -> None:
        """Recheck the entries after the newest validly signed checkpoint up to ``seq`` (amortised O(1))."""
        start_seq, start_hash = 0, self.genesis
        cp_table = AuditCheckpoint
        candidates = session.execute(select(cp_table.seq, cp_table.entry_hash, cp_table.at,
                                            cp_table.signature)
                                     .where(cp_table.seq < seq)
                                     .order_by(cp_table.seq.desc(), cp_table.id.desc()))
        for cp in candidates:
            message = checkpoint_message(self.node_id, cp.seq, cp.entry_hash, cp.at)
            if _signature_valid(self._verify_key, cp.signature, message):
                start_seq, start_hash = cp.seq, cp.entry_hash
                break
        rows = session.execute(select(*_ENTRY_COLUMNS)
                               .where(AuditEntry.seq > start_seq, AuditEntry.seq <= seq)
                               .order_by(AuditEntry.seq))
        expected, prev = start_seq + 1, start_hash
        for row in rows:
            if row.seq != expected or row.prev_hash != prev or _recompute(row) != row.entry_hash:
                raise IntegrityViolationError(f"audit entry {expected} does not chain from the checkpoint at "
                                              f"seq {start_seq}; run verify")
            prev, expected = row.entry_hash, expected + 1
        if expected != seq + 1 or prev != digest:
            raise IntegrityViolationError(f"the audit log does not end at seq {seq} as its head says; "
                                          "run verify")

    def _sign_checkpoint(self, session: Session, seq: int, digest: str) -> AuditCheckpoint:
        at = utcnow()
        signature = self._signing_key.sign(checkpoint_message(self.node_id, seq, digest, at)).hex()
        checkpoint = AuditCheckpoint(seq=seq, entry_hash=digest, at=at, key_id=self._key_id,
                                     signature=signature)
        session.add(checkpoint)
        session.flush()
        if self.anchor_path is not None:
            line = canonical_json({"node_id": self.node_id, "seq": seq, "entry_hash": digest,
                                   "at": iso_utc(at), "key_id": self._key_id, "signature": signature})
            _queue_anchor(session, self.anchor_path, line + "\n")
        return checkpoint

    # -- reading --

    def entries(self, session: Session, *, last: int | None = None, object_id: str | None = None
                ) -> list[AuditEntry]:
        """Entries in seq order for display: all, the ``last`` n, and/or those about one object."""
        stmt = select(AuditEntry)
        if object_id is not None:
            stmt = stmt.where(AuditEntry.object_id == object_id)
        if last is None:
            return list(session.scalars(stmt.order_by(AuditEntry.seq)))
        if isinstance(last, bool) or not isinstance(last, int) or last < 0:
            raise InputError("last must be a non-negative whole number")
        newest = list(session.scalars(stmt.order_by(AuditEntry.seq.desc()).limit(last)))
        newest.reverse()
        return newest

    def verify(self, session: Session, verify_key: Ed25519PublicKey | None = None) -> VerificationReport:
        """Check the whole chain, the head, every checkpoint and every anchor; never raises for tampering.

        Anchors, checkpoints and the head are read *before* the entries are streamed and the head once
        more after: everything read first was committed before the stream began, so appends that
        commit while verification runs are never mistaken for tampering, on either database.
        """
        key = verify_key if verify_key is not None else self._verify_key
        problems: list[tuple[int | None, str]] = []
        anchors = self._read_anchors(problems)
        cp_table = AuditCheckpoint
        checkpoints = session.execute(select(cp_table.id, cp_table.seq, cp_table.entry_hash, cp_table.at,
                                             cp_table.key_id, cp_table.signature)
                                      .order_by(cp_table.seq, cp_table.id)).all()
        head_before = self._read_head(session)

        watched = {cp.seq for cp in checkpoints} | {int(a["seq"]) for _, a in anchors}
        if head_before is not None:
            watched.add(head_before[0])
        hash_at: dict[int, str] = {}
        count, last_seq, expected, prev = 0, 0, 1, self.genesis
        chain_ok = True
        stream = session.execute(select(*_ENTRY_COLUMNS).order_by(AuditEntry.seq)
                                 .execution_options(yield_per=_STREAM_BATCH))
        for row in stream:
            count += 1
            if chain_ok:
                if row.seq != expected:
                    problems.append((expected, f"entry {expected} missing (deleted?)"))
                    chain_ok = False
                elif _recompute(row) != row.entry_hash:
                    problems.append((row.seq, f"entry {row.seq}: hash does not match its contents (edited?)"))
                    chain_ok = False
                elif row.prev_hash != prev:
                    before = row.seq - 1
                    what = ("this node's genesis (another node's chain?)" if row.seq == 1
                            else f"entry {before} (reordered, inserted, or entry {before} rewritten?)")
                    problems.append((row.seq, f"entry {row.seq}: does not link to {what}"))
                    chain_ok = False
            if row.seq in watched:
                hash_at[row.seq] = row.entry_hash
            prev, expected, last_seq = row.entry_hash, row.seq + 1, row.seq
        head_after = self._read_head(session)

        self._check_head(head_before, head_after, last_seq, hash_at, bool(checkpoints or anchors), problems)
        matched = 0
        for cp in checkpoints:
            message = checkpoint_message(self.node_id, cp.seq, cp.entry_hash, cp.at)
            if not _signature_valid(key, cp.signature, message):
                problems.append((cp.seq, f"checkpoint at seq {cp.seq}: signature invalid (forged, or signed "
                                         f"with key {cp.key_id} that is not this node's)"))
                continue
            if self._check_signed_point(f"checkpoint signed at seq {cp.seq}", cp.seq, cp.entry_hash, last_seq,
                                        hash_at, matched, problems):
                matched = cp.seq
        db_points = {(cp.seq, cp.entry_hash, cp.signature) for cp in checkpoints}
        for line_no, anchor in anchors:
            self._check_anchor(line_no, anchor, key, db_points, last_seq, hash_at, problems)

        first = _first_problem(problems)
        return VerificationReport(ok=first is None, entries_checked=count,
                                  checkpoints_checked=len(checkpoints),
                                  first_bad_seq=first[0] if first else None,
                                  problem=first[1] if first else None, anchors_checked=len(anchors))

    def _read_head(self, session: Session) -> tuple[int, str] | None:
        row = session.execute(select(AuditHead.last_seq, AuditHead.last_hash)
                              .where(AuditHead.id == HEAD_ID)).one_or_none()
        return None if row is None else (int(row[0]), str(row[1]))

    def _check_head(self, before: tuple[int, str] | None, after: tuple[int, str] | None, last_seq: int,
                    hash_at: dict[int, str], signed: bool, problems: list[tuple[int | None, str]]) -> None:
        if before is None or after is None:
            if last_seq or signed:
                problems.append((None, "the audit head row is missing"))
            return
        head_seq, head_hash = before
        if head_seq > last_seq:
            problems.append((last_seq + 1, f"log truncated: the head records seq {head_seq} but the log ends "
                                           f"at {last_seq}"))
        elif head_seq == 0:
            if head_hash != self.genesis:
                problems.append((None, "the head of the empty log is not this node's genesis"))
        elif hash_at.get(head_seq) != head_hash:
            problems.append((head_seq, f"entry {head_seq}: differs from the head row (rewritten?)"))
        if last_seq > after[0]:
            beyond = after[0] + 1
            problems.append((beyond, f"entries {beyond}..{last_seq} lie beyond the head, which ends at "
                                     f"{after[0]} (appended behind the trail's back?)"))

    @staticmethod
    def _check_signed_point(what: str, seq: int, signed_hash: str, last_seq: int, hash_at: dict[int, str],
                            matched: int, problems: list[tuple[int | None, str]]) -> bool:
        """Does the entry at ``seq`` still have the hash that was signed? Records the problem if not."""
        if seq > last_seq:
            problems.append((last_seq + 1, f"log truncated: {what} but log ends at {last_seq}"))
            return False
        actual = hash_at.get(seq)
        if actual is None:
            problems.append((seq, f"entry {seq} missing (deleted?), though a {what}"))
            return False
        if actual != signed_hash:
            problems.append((seq, f"entry {seq}: not the entry the {what} covers (history rewritten after "
                                  f"seq {matched}?)"))
            return False
        return True

    def _check_anchor(self, line_no: int, anchor: dict[str, Any], key: Ed25519PublicKey,
                      db_points: set[tuple[int, str, str]], last_seq: int, hash_at: dict[int, str],
                      problems: list[tuple[int | None, str]]) -> None:
        seq, signed_hash, signature = anchor["seq"], anchor["entry_hash"], anchor["signature"]
        where = f"anchor line {line_no}"
        if anchor["node_id"] != self.node_id:
            problems.append((None, f"{where}: belongs to node {anchor['node_id']!r}, not {self.node_id!r}"))
            return
        message = checkpoint_message(self.node_id, seq, signed_hash, anchor["at"])
        if not _signature_valid(key, signature, message):
            problems.append((seq, f"{where}: signature invalid (forged anchor, or another node's key)"))
            return
        if (self._check_signed_point(f"checkpoint anchored at seq {seq} ({where})", seq, signed_hash,
                                     last_seq, hash_at, 0, problems)
                and (seq, signed_hash, signature) not in db_points):
            problems.append((seq, f"{where}: checkpoint at seq {seq} missing from the database (deleted?)"))

    def _read_anchors(self, problems: list[tuple[int | None, str]]) -> list[tuple[int, dict[str, Any]]]:
        """Parsed anchor lines; unreadable lines are problems, not exceptions."""
        if self.anchor_path is None:
            return []
        try:
            text = self.anchor_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []  # no checkpoint has been anchored yet (or the file was removed: see the docstring)
        except (OSError, UnicodeDecodeError) as exc:
            problems.append((None, f"anchor file {self.anchor_path} unreadable: {exc}"))
            return []
        anchors = []
        for line_no, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            anchor = _parse_anchor(line)
            if anchor is None:
                problems.append((None, f"anchor line {line_no} of {self.anchor_path} is malformed"))
            else:
                anchors.append((line_no, anchor))
        return anchors


# Built once: constructing a statement costs more than executing it on SQLite.
_LOCK_HEAD: Final = (select(AuditHead.last_seq, AuditHead.last_hash).where(AuditHead.id == HEAD_ID)
                     .with_for_update())
# SQLite ignores FOR UPDATE. A write is what takes its database lock (waiting up to the busy
# timeout), so the lock is a no-op UPDATE that returns the head: no one can append in between.
_LOCK_HEAD_SQLITE: Final = (update(AuditHead).where(AuditHead.id == HEAD_ID)
                            .values(last_seq=AuditHead.last_seq)
                            .returning(AuditHead.last_seq, AuditHead.last_hash))
_ADVANCE_HEAD: Final = (update(AuditHead).where(AuditHead.id == HEAD_ID)
                        .values(last_seq=bindparam("new_seq"), last_hash=bindparam("new_hash")))
_INSERT_ENTRY: Final = insert(AuditEntry)


def _connection(session: Session) -> Connection:
    """The connection of the session's transaction for the audit tables (begun if need be)."""
    return session.connection(bind_arguments={"mapper": AuditEntry})


_ENTRY_COLUMNS: Final = (AuditEntry.seq, AuditEntry.at, AuditEntry.actor, AuditEntry.action,
                         AuditEntry.object_type, AuditEntry.object_id, AuditEntry.purpose, AuditEntry.outcome,
                         AuditEntry.details, AuditEntry.prev_hash, AuditEntry.entry_hash)


def _recompute(row: Any) -> str:
    """The hash an entry row (of ``_ENTRY_COLUMNS``) should carry, from its stored fields."""
    return compute_entry_hash(seq=row.seq, at=row.at, actor=row.actor, action=row.action,
                              object_type=row.object_type, object_id=row.object_id, purpose=row.purpose,
                              outcome=row.outcome, details=row.details, prev_hash=row.prev_hash)


def _parse_anchor(line: str) -> dict[str, Any] | None:
    try:
        anchor = json.loads(line)
        if not isinstance(anchor, dict):
            return None
        at = dt.datetime.fromisoformat(anchor["at"])
        if at.tzinfo is None:
            return None
        anchor["at"] = at
        seq = anchor["seq"]
        if isinstance(seq, bool) or not isinstance(seq, int):
            return None
        if not all(isinstance(anchor[name], str)
                   for name in ("node_id", "entry_hash", "signature", "key_id")):
            return None
    except (ValueError, KeyError, TypeError):
        return None
    return anchor


def _first_problem(problems: list[tuple[int | None, str]]) -> tuple[int | None, str] | None:
    """The problem at the lowest seq (the earliest found among equals); else the first with no seq."""
    located = [(seq, index) for index, (seq, _) in enumerate(problems) if seq is not None]
    if located:
        return problems[min(located)[1]]
    return problems[0] if problems else None
