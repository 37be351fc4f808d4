"""The audit trail: a clean chain verifies, and every kind of tampering is caught at the right entry.

Every test runs on SQLite and, when the server is up, on PostgreSQL (the ``engine`` fixture). The
tampering is done with direct SQL on the tables, the way someone with database access but without
the node key would do it.

Expected ``first_bad_seq`` per kind of tampering (see :class:`VerificationReport`):

* edit a field of entry k, delete entry k (naive attacker, hashes left as they were): k;
* swap the contents of entries j < k: j (the hash covers ``seq``, so a moved entry is wrong where it
  lands);
* insert a forged entry at k, renumbering and re-hashing everything after it and fixing the head
  (a careful attacker; the chain is consistent again): the first checkpointed seq ≥ k, because a
  signed checkpoint pins the hash of the entry at its seq and the chain alone no longer shows the
  change — whether the attacker also deleted those checkpoint rows (then the anchor file catches it)
  or not;
* truncate the log to its first m entries, with or without fixing the head row and deleting the
  checkpoint rows beyond m: m + 1, the first missing seq (caught by the head, a checkpoint or an
  anchor).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import secrets
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, Table, create_engine, delete, func, insert, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

import genomed.models  # noqa: F401  (registers every table on Base.metadata)
from genomed.audit import AuditCheckpoint, AuditEntry, AuditHead, AuditTrail, VerificationReport
from genomed.audit.trail import checkpoint_message, compute_entry_hash, genesis_hash
from genomed.db import Base, make_engine, transaction
from genomed.errors import InputError, IntegrityViolationError
from genomed.vault.keys import NodeKeys, generate_node_keys

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
NODE = "node-test"
ENTRIES = cast(Table, AuditEntry.__table__)
CHECKPOINTS = cast(Table, AuditCheckpoint.__table__)
HEAD = cast(Table, AuditHead.__table__)
ENTRY_FIELDS = ("at", "actor", "action", "object_type", "object_id", "purpose", "outcome", "details")


# --- fixtures -------------------------------------------------------------------------------------

@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh, empty node database with every table: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'node.sqlite'}")
        Base.metadata.create_all(eng)
        yield eng
        eng.dispose()
        return
    name = f"genomed_audit_{secrets.token_hex(6)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL is not reachable at 127.0.0.1:5432 ({type(exc.orig).__name__})")
    eng = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")
    try:
        Base.metadata.create_all(eng)
        yield eng
    finally:
        eng.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> NodeKeys:
    return generate_node_keys(tmp_path_factory.mktemp("keys") / "keys", None, "test")


def fresh_trail(keys: NodeKeys, folder: Path, every: int = 5, node: str = NODE) -> AuditTrail:
    """A trail with its own, not yet existing, anchor file."""
    return AuditTrail(node, keys, folder / f"anchors-{uuid.uuid4().hex}.jsonl", checkpoint_every=every)


def append(engine: Engine, trail: AuditTrail, count: int, *, per_transaction: int = 7, prefix: str = "e"
           ) -> None:
    done = 0
    while done < count:
        with transaction(engine) as session:
            for _ in range(min(per_transaction, count - done)):
                done += 1
                trail.record(session, actor="dr-a", action="patient.view", object_type="patient",
                             object_id=f"{prefix}{done}", purpose="care", details={"n": done})


def verify(engine: Engine, trail: AuditTrail, **kwargs: Any) -> VerificationReport:
    with transaction(engine) as session:
        return trail.verify(session, **kwargs)


def anchor_lines(trail: AuditTrail) -> list[dict[str, Any]]:
    assert trail.anchor_path is not None
    if not trail.anchor_path.exists():
        return []
    return [json.loads(line) for line in trail.anchor_path.read_text().splitlines()]


def trail_hash_at(engine: Engine, seq: int) -> str:
    with engine.connect() as conn:
        return str(conn.scalar(select(ENTRIES.c.entry_hash).where(ENTRIES.c.seq == seq)))


def reset(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in (ENTRIES, CHECKPOINTS, HEAD):
            conn.execute(delete(table))


# --- a clean chain --------------------------------------------------------------------------------

def test_clean_chain_verifies_with_checkpoints_and_anchors(engine: Engine, keys: NodeKeys, tmp_path: Path
                                                           ) -> None:
    trail = fresh_trail(keys, tmp_path, every=5)
    with transaction(engine) as session:
        trail.initialise(session)
        trail.initialise(session)  # idempotent
        assert trail.checkpoint(session) is None  # nothing to sign yet
    assert verify(engine, trail) == VerificationReport(True, 0, 0, None, None, 0)

    append(engine, trail, 23)
    report = verify(engine, trail)
    assert report == VerificationReport(ok=True, entries_checked=23, checkpoints_checked=4, first_bad_seq=None,
                                        problem=None, anchors_checked=4)
    assert [a["seq"] for a in anchor_lines(trail)] == [5, 10, 15, 20]

    with transaction(engine) as session:
        tail = trail.checkpoint(session)
        assert tail is not None and tail.seq == 23
        again = trail.checkpoint(session)
        assert again is not None and again.id == tail.id  # the end is already signed
    assert [a["seq"] for a in anchor_lines(trail)] == [5, 10, 15, 20, 23]
    assert verify(engine, trail).checkpoints_checked == 5

    with transaction(engine) as session:
        head = session.get(AuditHead, 1)
        assert head is not None and head.last_seq == 23
        first = session.get(AuditEntry, 1)
        assert first is not None and first.prev_hash == genesis_hash(NODE)


def test_entries_round_trip_their_hash_and_time(engine: Engine, keys: NodeKeys, tmp_path: Path) -> None:
    """The time is hashed as the database returns it: aware UTC, microseconds, whatever zone came in."""
    trail = fresh_trail(keys, tmp_path)
    paris = dt.timezone(dt.timedelta(hours=2))
    at = dt.datetime(2031, 7, 14, 9, 30, 1, 123456, tzinfo=paris)
    with transaction(engine) as session:
        written = trail.record(session, actor="dr-b", action="report.sign", object_type="report",
                               object_id="R-42", purpose="care", outcome="ok", at=at,
                               details={"z": 1.5, "a": "é", "ok": True, "none": None, "big": 2**62})
        digest = written.entry_hash
    with transaction(engine) as session:
        entry = session.get(AuditEntry, 1)
        assert entry is not None
        assert entry.at == at and entry.at.tzinfo == dt.UTC
        assert entry.details == '{"a":"\\u00e9","big":4611686018427387904,"none":null,"ok":true,"z":1.5}'
        assert compute_entry_hash(seq=1, at=entry.at, actor=entry.actor, action=entry.action,
                                  object_type=entry.object_type, object_id=entry.object_id,
                                  purpose=entry.purpose, outcome=entry.outcome, details=entry.details,
                                  prev_hash=entry.prev_hash) == digest
    assert verify(engine, trail).ok


def test_entries_for_display(engine: Engine, keys: NodeKeys, tmp_path: Path) -> None:
    trail = fresh_trail(keys, tmp_path)
    append(engine, trail, 12)
    with transaction(engine) as session:
        assert [e.seq for e in trail.entries(session)] == list(range(1, 13))
        assert [e.seq for e in trail.entries(session, last=3)] == [10, 11, 12]
        assert [e.seq for e in trail.entries(session, object_id="e7")] == [7]
        assert trail.entries(session, last=0) == []
        with pytest.raises(InputError):
            trail.entries(session, last=-1)


def test_rolled_back_entry_leaves_no_trace(engine: Engine, keys: NodeKeys, tmp_path: Path) -> None:
    """An audited change and its entry share a transaction: a rollback takes both, and seq stays contiguous."""
    trail = fresh_trail(keys, tmp_path)
    append(engine, trail, 2)
    with pytest.raises(RuntimeError), transaction(engine) as session:
        trail.record(session, actor="dr-a", action="x", object_type="t", object_id="o", purpose="care")
        raise RuntimeError("the audited change failed")
    append(engine, trail, 1)
    with transaction(engine) as session:
        assert [e.seq for e in trail.entries(session)] == [1, 2, 3]
    assert verify(engine, trail).ok


# --- input validation -----------------------------------------------------------------------------

BAD_RECORDS: list[tuple[str, dict[str, Any]]] = [
    ("empty actor", {"actor": ""}),
    ("blank action", {"action": "  "}),
    ("empty purpose", {"purpose": ""}),
    ("actor not text", {"actor": 42}),
    ("actor too long for the column", {"actor": "a" * 65}),
    ("object id too long for the column", {"object_id": "o" * 129}),
    ("NUL that PostgreSQL cannot store", {"object_id": "a\x00b"}),
    ("lone surrogate", {"actor": "\ud800"}),
    ("unknown outcome", {"outcome": "maybe"}),
    ("details value not a scalar", {"details": {"list": [1, 2]}}),
    ("details value NaN", {"details": {"x": float("nan")}}),
    ("details key not text", {"details": {1: "x"}}),
    ("details naming identifying data", {"details": {"Date-of-Birth": "1970-01-01"}}),
    ("details too large", {"details": {"blob": "x" * 9000}}),
    ("naive time", {"at": dt.datetime(2030, 1, 1)}),
    ("time before year 1 in UTC", {"at": dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=5)))}),
]


@pytest.mark.parametrize(("why", "override"), BAD_RECORDS, ids=[why for why, _ in BAD_RECORDS])
def test_record_refuses_bad_input(engine: Engine, keys: NodeKeys, tmp_path: Path, why: str,
                                  override: dict[str, Any]) -> None:
    trail = fresh_trail(keys, tmp_path)
    fields: dict[str, Any] = {"actor": "dr-a", "action": "patient.view", "object_type": "patient",
                              "object_id": "P1", "purpose": "care"}
    fields.update(override)
    with pytest.raises(InputError), transaction(engine) as session:
        trail.record(session, **fields)
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(ENTRIES)) == 0


def test_trail_settings_are_checked(keys: NodeKeys) -> None:
    with pytest.raises(InputError):
        AuditTrail("", keys, None)
    with pytest.raises(InputError):
        AuditTrail(NODE, keys, None, checkpoint_every=0)


# --- chains of other nodes ------------------------------------------------------------------------

def test_another_nodes_chain_is_refused_and_detected(engine: Engine, keys: NodeKeys, tmp_path: Path) -> None:
    """The genesis hash binds a chain to its node: it cannot be passed off as another node's."""
    append(engine, fresh_trail(keys, tmp_path, node="node-a"), 3)
    impostor = fresh_trail(keys, tmp_path, node="node-b")
    with pytest.raises(IntegrityViolationError), transaction(engine) as session:
        impostor.initialise(session)
    report = verify(engine, impostor)
    assert not report.ok and report.first_bad_seq == 1
    assert "genesis" in (report.problem or "")


# --- tampering, property-based --------------------------------------------------------------------

_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=10)
_ENTRY = st.fixed_dictionaries({
    "actor": _TEXT.filter(str.strip),
    "action": st.sampled_from(["patient.view", "file.read", "report.sign", "consent.withdraw"]),
    "object_type": st.sampled_from(["patient", "file", "report"]),
    "object_id": st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12),
    "purpose": st.sampled_from(["care", "research", "quality"]),
    "outcome": st.sampled_from(["ok", "denied", "failed"]),
    "details": st.dictionaries(st.text("abcdefgh", min_size=1, max_size=5).map(lambda k: f"k_{k}"),
                               st.none() | st.booleans() | st.integers() | _TEXT
                               | st.floats(allow_nan=False, allow_infinity=False), max_size=3),
    "at": st.none() | st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1),
                                   timezones=st.builds(dt.timezone, st.timedeltas(
                                       min_value=dt.timedelta(hours=-14), max_value=dt.timedelta(hours=14)))),
})
EVERY = 5


def _rows(conn: Connection, where: Any = None) -> list[dict[str, Any]]:
    stmt = select(ENTRIES).order_by(ENTRIES.c.seq)
    if where is not None:
        stmt = stmt.where(where)
    return [dict(row._mapping) for row in conn.execute(stmt)]


def _rehash(row: dict[str, Any], seq: int, prev_hash: str) -> dict[str, Any]:
    """What a careful attacker writes: the row at a new seq, linked and hashed as the trail would."""
    fields = {name: row[name] for name in ENTRY_FIELDS}
    digest = compute_entry_hash(seq=seq, prev_hash=prev_hash, **fields)
    return {**fields, "seq": seq, "prev_hash": prev_hash, "entry_hash": digest}


def tamper(conn: Connection, data: st.DataObject, kind: str, n: int, checkpoints: list[int]) -> tuple[int, str]:
    """Apply one tampering with direct SQL; returns the expected first bad seq and a word of the problem."""
    if kind == "edit":
        k = data.draw(st.integers(1, n), label="k")
        field = data.draw(st.sampled_from(ENTRY_FIELDS), label="field")
        old = _rows(conn, ENTRIES.c.seq == k)[0][field]
        new: Any
        if field == "at":
            new = old + data.draw(st.timedeltas(min_value=dt.timedelta(microseconds=1),
                                                max_value=dt.timedelta(days=3)), label="shift")
        elif field == "outcome":
            new = data.draw(st.sampled_from(sorted({"ok", "denied", "failed"} - {old})), label="outcome")
        elif field == "details":
            new = json.dumps({**json.loads(old), "k_forged": True}, sort_keys=True, separators=(",", ":"))
        else:
            new = old + "x"
        conn.execute(update(ENTRIES).where(ENTRIES.c.seq == k).values({field: new}))
        return k, "edited"
    if kind == "delete":
        k = data.draw(st.integers(1, n), label="k")
        conn.execute(delete(ENTRIES).where(ENTRIES.c.seq == k))
        return k, "missing" if k < n else "truncated"
    if kind == "swap":
        j = data.draw(st.integers(1, n - 1), label="j")
        k = data.draw(st.integers(j + 1, n), label="k")
        row_j, row_k = _rows(conn, ENTRIES.c.seq.in_([j, k]))
        conn.execute(delete(ENTRIES).where(ENTRIES.c.seq.in_([j, k])))
        conn.execute(insert(ENTRIES), [{**row_k, "seq": j}, {**row_j, "seq": k}])
        return j, "edited"
    drop_checkpoints = data.draw(st.booleans(), label="drop_checkpoints")
    if kind == "insert":
        k = data.draw(st.integers(1, checkpoints[-1]), label="k")
        later = _rows(conn, ENTRIES.c.seq >= k)
        before = _rows(conn, ENTRIES.c.seq == k - 1)
        prev = before[0]["entry_hash"] if before else genesis_hash(NODE)
        forged = {**later[0], "actor": "intruder", "action": "patient.view", "details": "{}"}
        conn.execute(delete(ENTRIES).where(ENTRIES.c.seq >= k))
        rebuilt = []
        for offset, row in enumerate([forged, *later]):
            rebuilt.append(_rehash(row, k + offset, prev))
            prev = rebuilt[-1]["entry_hash"]
        conn.execute(insert(ENTRIES), rebuilt)
        conn.execute(update(HEAD).values(last_seq=n + 1, last_hash=prev))
        if drop_checkpoints:
            conn.execute(delete(CHECKPOINTS).where(CHECKPOINTS.c.seq >= k))
        return min(c for c in checkpoints if c >= k), "not the entry"
    assert kind == "truncate"
    fix_head = data.draw(st.booleans(), label="fix_head")
    keep = data.draw(st.integers(0, (checkpoints[-1] if fix_head else n) - 1), label="keep")
    conn.execute(delete(ENTRIES).where(ENTRIES.c.seq > keep))
    if fix_head:
        kept = _rows(conn, ENTRIES.c.seq == keep)
        conn.execute(update(HEAD).values(last_seq=keep,
                                         last_hash=kept[0]["entry_hash"] if kept else genesis_hash(NODE)))
    if drop_checkpoints:
        conn.execute(delete(CHECKPOINTS).where(CHECKPOINTS.c.seq > keep))
    return keep + 1, "truncated"


def test_any_single_tampering_is_caught_at_the_first_bad_entry(engine: Engine, keys: NodeKeys, tmp_path: Path
                                                               ) -> None:
    examples = 60 if engine.dialect.name == "sqlite" else 15

    @settings(max_examples=examples, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(kind=st.sampled_from(["edit", "delete", "swap", "insert", "truncate"]), data=st.data())
    def check(kind: str, data: st.DataObject) -> None:
        reset(engine)
        # insert and truncate are only visible through a checkpoint: make sure one exists.
        n = data.draw(st.integers(EVERY if kind in ("insert", "truncate") else 2, 40), label="n")
        entries: list[dict[str, Any]] = data.draw(st.lists(_ENTRY, min_size=n, max_size=n), label="entries")
        trail = fresh_trail(keys, tmp_path, every=EVERY)
        for start in range(0, n, 7):
            with transaction(engine) as session:
                for entry in entries[start:start + 7]:
                    trail.record(session, **entry)
        assert verify(engine, trail).ok
        checkpoints = list(range(EVERY, n + 1, EVERY))
        with engine.begin() as conn:
            expected, word = tamper(conn, data, kind, n, checkpoints)
        report = verify(engine, trail)
        assert not report.ok
        assert report.first_bad_seq == expected, report
        assert word in (report.problem or ""), report

    check()


# --- checkpoints and anchors ----------------------------------------------------------------------

def test_forged_checkpoint_signature_is_detected(engine: Engine, keys: NodeKeys, tmp_path: Path) -> None:
    trail = fresh_trail(keys, tmp_path, every=5)
    append(engine, trail, 12)
    stranger = Ed25519PrivateKey.generate()
    with engine.begin() as conn:
        entry = conn.execute(select(ENTRIES).where(ENTRIES.c.seq == 12)).one()
        at = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
        signature = stranger.sign(checkpoint_message(NODE, 12, entry.entry_hash, at)).hex()
        conn.execute(insert(CHECKPOINTS).values(seq=12, entry_hash=entry.entry_hash, at=at, key_id="f" * 32,
                                                signature=signature))
    report = verify(engine, trail)
    assert not report.ok and report.first_bad_seq == 12
    assert "signature invalid" in (report.problem or "")

    with engine.begin() as conn:  # an existing checkpoint re-signed with another key
        conn.execute(delete(CHECKPOINTS).where(CHECKPOINTS.c.seq == 12))
        row = conn.execute(select(CHECKPOINTS).where(CHECKPOINTS.c.seq == 10)).one()
        forged = stranger.sign(checkpoint_message(NODE, 10, row.entry_hash, row.at)).hex()
        conn.execute(update(CHECKPOINTS).where(CHECKPOINTS.c.id == row.id).values(signature=forged))
    report = verify(engine, trail)
    assert not report.ok and report.first_bad_seq == 10 and "signature invalid" in (report.problem or "")


def test_verifying_with_another_key_fails(engine: Engine, keys: NodeKeys, tmp_path: Path) -> None:
    trail = fresh_trail(keys, tmp_path, every=5)
    append(engine, trail, 7)
    report = verify(engine, trail, verify_key=Ed25519PrivateKey.generate().public_key())
    assert not report.ok and report.first_bad_seq == 5
    assert verify(engine, trail, verify_key=keys.verify_key).ok


def test_rolled_back_checkpoint_writes_no_anchor(engine: Engine, keys: NodeKeys, tmp_path: Path) -> None:
    trail = fresh_trail(keys, tmp_path, every=5)
    with pytest.raises(RuntimeError), transaction(engine) as session:
        for i in range(6):
            trail.record(session, actor="dr-a", action="x", object_type="t", object_id=str(i), purpose="care")
        assert trail.checkpoint(session) is not None
        raise RuntimeError("roll back")
    assert anchor_lines(trail) == []
    assert trail.anchor_path is not None and not trail.anchor_path.exists()

    # a transaction closed without commit must not hand its anchor to the session's next transaction
    session = Session(engine)
    for i in range(5):
        trail.record(session, actor="dr-a", action="x", object_type="t", object_id=str(i), purpose="care")
    session.close()
    for i in range(5):
        trail.record(session, actor="dr-b", action="x", object_type="t", object_id=str(i), purpose="care")
    session.commit()
    session.close()
    assert [(a["seq"], a["entry_hash"]) for a in anchor_lines(trail)] == [(5, trail_hash_at(engine, 5))]
    assert verify(engine, trail).ok


def test_anchors_follow_savepoints(engine: Engine, keys: NodeKeys, tmp_path: Path) -> None:
    """A released savepoint is not a commit; a rolled-back savepoint takes its checkpoint with it."""
    trail = fresh_trail(keys, tmp_path, every=100)
    append(engine, trail, 3)
    with transaction(engine) as session:
        nested = session.begin_nested()
        trail.checkpoint(session)
        nested.rollback()
        with session.begin_nested():
            trail.record(session, actor="dr-a", action="x", object_type="t", object_id="4", purpose="care")
            trail.checkpoint(session)
        assert anchor_lines(trail) == []  # released, but the outer transaction has not committed
    assert [a["seq"] for a in anchor_lines(trail)] == [4]

    with pytest.raises(RuntimeError), transaction(engine) as session:
        with session.begin_nested():
            trail.record(session, actor="dr-a", action="x", object_type="t", object_id="5", purpose="care")
            trail.checkpoint(session)
        raise RuntimeError("the outer transaction rolls back")
    assert [a["seq"] for a in anchor_lines(trail)] == [4]
    report = verify(engine, trail)
    assert report.ok and report.anchors_checked == 1


def test_savepoint_release_does_not_commit(engine: Engine, keys: NodeKeys, tmp_path: Path,
                                           request: pytest.FixtureRequest) -> None:
    """An entry recorded in a released savepoint rolls back with the outer transaction.

    Pins a problem of ``genomed.db.engine.make_engine`` on SQLite: pysqlite's legacy transaction
    handling emits no BEGIN before a SAVEPOINT, so SQLite treats the SAVEPOINT as the start of the
    transaction and its RELEASE commits it (see SQLAlchemy's pysqlite notes on SAVEPOINT). Strict
    xfail, so that this test says so once the engine is fixed.
    """
    if engine.dialect.name == "sqlite":
        request.applymarker(pytest.mark.xfail(strict=True, reason="make_engine: SQLite RELEASE commits "
                                              "(pysqlite emits no BEGIN before SAVEPOINT)"))
    trail = fresh_trail(keys, tmp_path)
    append(engine, trail, 2)
    with pytest.raises(RuntimeError), transaction(engine) as session:
        with session.begin_nested():
            trail.record(session, actor="dr-a", action="x", object_type="t", object_id="3", purpose="care")
        raise RuntimeError("the outer transaction rolls back")
    assert verify(engine, trail).entries_checked == 2


def test_anchor_file_tampering_is_detected(engine: Engine, keys: NodeKeys, tmp_path: Path) -> None:
    trail = fresh_trail(keys, tmp_path, every=5)
    append(engine, trail, 10)
    assert trail.anchor_path is not None
    lines = trail.anchor_path.read_text().splitlines()
    edited = json.loads(lines[0])
    edited["seq"] = 4
    trail.anchor_path.write_text("\n".join([json.dumps(edited), lines[1]]) + "\n")
    report = verify(engine, trail)
    assert not report.ok and report.first_bad_seq == 4 and "signature invalid" in (report.problem or "")

    trail.anchor_path.write_text("not json\n" + lines[1] + "\n")
    report = verify(engine, trail)
    assert not report.ok and report.first_bad_seq is None and "malformed" in (report.problem or "")


def test_deleted_head_row_is_detected(engine: Engine, keys: NodeKeys, tmp_path: Path) -> None:
    trail = fresh_trail(keys, tmp_path)
    append(engine, trail, 3)
    with engine.begin() as conn:
        conn.execute(delete(HEAD))
    report = verify(engine, trail)
    assert not report.ok and "head row is missing" in (report.problem or "")
    with pytest.raises(IntegrityViolationError), transaction(engine) as session:
        trail.record(session, actor="dr-a", action="x", object_type="t", object_id="o", purpose="care")


def test_entry_appended_behind_the_trails_back_is_detected(engine: Engine, keys: NodeKeys, tmp_path: Path
                                                           ) -> None:
    trail = fresh_trail(keys, tmp_path)
    append(engine, trail, 3)
    with engine.begin() as conn:
        last = _rows(conn, ENTRIES.c.seq == 3)[0]
        conn.execute(insert(ENTRIES), [_rehash({**last, "actor": "intruder"}, 4, last["entry_hash"])])
    report = verify(engine, trail)
    assert not report.ok and report.first_bad_seq == 4 and "beyond the head" in (report.problem or "")


def test_checkpoint_never_signs_a_tampered_tail(engine: Engine, keys: NodeKeys, tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    """Signing after an undetected edit would bless it; the trail rechecks the entries since the last one."""
    trail = fresh_trail(keys, tmp_path, every=5)
    append(engine, trail, 7)
    with engine.begin() as conn:
        conn.execute(update(ENTRIES).where(ENTRIES.c.seq == 6).values(purpose="research"))
    with pytest.raises(IntegrityViolationError), transaction(engine) as session:
        trail.checkpoint(session)
    append(engine, trail, 3)  # seq 10 would be checkpointed: the entry is written, the checkpoint is not
    assert "not signed" in caplog.text
    with transaction(engine) as session:
        assert session.scalar(select(func.max(CHECKPOINTS.c.seq))) == 5
        assert session.scalar(select(func.max(ENTRIES.c.seq))) == 10
    report = verify(engine, trail)
    assert report.first_bad_seq == 6 and "edited" in (report.problem or "")


# --- concurrency ----------------------------------------------------------------------------------

def test_concurrent_appends_make_one_contiguous_chain(engine: Engine, keys: NodeKeys, tmp_path: Path) -> None:
    """Writers serialise on the head row (FOR UPDATE on PostgreSQL; on SQLite the first statement of
    record() is a write, which takes the database lock with the busy timeout): no lost or doubled seq.
    A verifier running meanwhile never mistakes a fresh append for tampering."""
    trail = fresh_trail(keys, tmp_path, every=10)
    with transaction(engine) as session:
        trail.initialise(session)
    errors: list[BaseException] = []
    reports: list[VerificationReport] = []
    writing = threading.Event()

    def writer(name: str) -> None:
        try:
            for i in range(50):
                with transaction(engine) as session:
                    trail.record(session, actor=name, action="file.read", object_type="file",
                                 object_id=f"{name}-{i}", purpose="care")
        except BaseException as exc:
            errors.append(exc)

    def verifier() -> None:
        try:
            while writing.is_set():
                reports.append(verify(engine, trail))
        except BaseException as exc:
            errors.append(exc)

    writing.set()
    threads = [threading.Thread(target=writer, args=(name,)) for name in ("t1", "t2")]
    checker = threading.Thread(target=verifier)
    for thread in [*threads, checker]:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    writing.clear()
    checker.join(timeout=120)
    assert not errors, errors
    assert reports and all(r.ok for r in reports), [r for r in reports if not r.ok][:1]
    with transaction(engine) as session:
        entries = trail.entries(session)
    assert [e.seq for e in entries] == list(range(1, 101))
    assert sorted(e.object_id for e in entries) == sorted(f"{t}-{i}" for t in ("t1", "t2") for i in range(50))
    final = verify(engine, trail)
    assert final.ok and final.entries_checked == 100 and final.checkpoints_checked == 10
    assert dataclasses.asdict(final)["anchors_checked"] == 10
