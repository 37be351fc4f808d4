"""Charging budgets and auditing answers, in groups, without letting any answer out unaudited.

Every Beacon answer costs one query of the requester's budget (below the controlled tier) and one
audit entry, written together in one transaction. Done one request at a time, that transaction is
what limits a node: on SQLite a commit costs ~5 ms (an fsync and the ORM around it), so a node
could never answer more than ~200 queries a second whatever its store can do.

So answers are handed to one writer thread, which takes every answer waiting (up to
:data:`MAX_GROUP`) and writes their charges and entries in one transaction: a group commit, with
the entries appended by :meth:`~genomed.audit.trail.AuditTrail.record_many` (one head lock and one
multi-row insert for the group; the chain and checkpoints are those of one-by-one appends). The
request that produced an answer waits until the transaction holding its entry has committed and
only then sends the answer, so an answer never leaves before its audit entry is durable; when the
budget is spent the answer is replaced by a refusal, which is audited too (outcome ``denied``).
Charges of one identity within a group are taken at once, falling back to one by one only when
they would exceed the budget, so that the answers that fit are served in order.

If a group's transaction fails (a locked database), each of its answers is retried alone, so that
one bad entry cannot refuse the others; an answer whose entry still cannot be written is not sent
(its request gets an error).

The donor ledger is written here too. An answer below the controlled tier is drawn through
:meth:`~genomed.share.guard.PrivacyGuard.release`, which reads the carriers' spent evidence and
charges what the answer tells about them: that read, the charge and the audit entry must be one
transaction, or a crash between them could release an answer whose charge is lost. So an entry
may carry a ``release``, run by this writer inside the group's transaction after the budget
charge (a refused answer releases nothing, so is charged nothing) and before the audit entry,
whose details it completes. One writer thread per process serialises every ledger read and charge:
within a process no two answers can spend the same evidence. Two processes serving one database
(several workers, or two nodes sharing it) can each read a donor's spent evidence before the
other's group commits, so the cap may be overrun by one answer's evidence (at most
``ln(membership_odds)`` nats) per other process writing at that moment.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections import defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field

from sqlalchemy import event
from sqlalchemy.orm import Session

from genomed.access.purpose import Purpose
from genomed.audit.trail import DetailValue, PendingEntry
from genomed.errors import BudgetExhaustedError
from genomed.share.identity import Requester
from genomed.share.node import AUDIT_ACTOR_LENGTH, SharingNode

LOG = logging.getLogger(__name__)
MAX_GROUP = 256


@dataclass(frozen=True)
class Entry:
    """One answer to audit, and whether it spends a query of the requester's budget."""

    requester: Requester
    action: str
    object_type: str
    object_id: str
    outcome: str = "ok"
    details: dict[str, DetailValue] = field(default_factory=dict)
    charge: bool = True
    # Drawn in the writer's transaction (the donor ledger); returns details the audit entry adds.
    release: Callable[[Session], Mapping[str, DetailValue]] | None = None


_Item = tuple[Entry, "Future[BudgetExhaustedError | None]"]


class Ledger:
    """The writer of one serving node's charges and audit entries."""

    def __init__(self, node: SharingNode, max_group: int = MAX_GROUP) -> None:
        self.node = node
        self.max_group = max_group
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.groups_written = 0

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="beacon-ledger", daemon=True)
                self._thread.start()

    def submit(self, entry: Entry) -> Future[BudgetExhaustedError | None]:
        """Queue one entry; the future resolves (to the refusal, if the budget was spent) once committed."""
        future: Future[BudgetExhaustedError | None] = Future()
        if self._thread is None or not self._thread.is_alive():
            self._start()
        self._queue.put((entry, future))
        return future

    async def record(self, entry: Entry) -> None:
        """Write ``entry`` and wait for its commit; raises :class:`BudgetExhaustedError` if refused."""
        refused = await asyncio.wrap_future(self.submit(entry))
        if refused is not None:
            raise refused

    def record_now(self, entry: Entry) -> None:
        """:meth:`record` for callers outside an event loop."""
        refused = self.submit(entry).result()
        if refused is not None:
            raise refused

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop the writer."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout)

    # -- the writer thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            stop = False
            while len(group) < self.max_group:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                group.append(item)
            self._write(group)
            if stop:
                return

    def _write(self, group: list[_Item]) -> None:
        results: list[BudgetExhaustedError | None] = []

        def release(committed: Session) -> None:
            # Committed: the answers may go. Listening from the start of the transaction puts this
            # before the audit trail's own after-commit work (appending a checkpoint's anchor line
            # and fsyncing it), which the answers need not wait for. A released SAVEPOINT (the guard
            # creating a budget row) fires this too, before anything is durable: not then.
            if committed.in_nested_transaction() or len(results) != len(group):
                return
            for (_entry, future), result in zip(group, results, strict=True):
                if not future.done():
                    future.set_result(result)

        opened: list[Session] = []
        try:
            with self.node.ctx.transaction() as session:
                opened.append(session)
                event.listen(session, "after_commit", release)
                results.extend(self._apply(session, [entry for entry, _ in group]))
        except Exception as exc:  # the group failed: retry each alone so that one entry cannot sink the rest
            if len(group) > 1:
                LOG.warning("audit group of %d failed (%s); writing its entries one by one", len(group), exc)
                for item in group:
                    self._write([item])
                return
            LOG.error("audit entry not written, answer withheld: %s", exc)
            group[0][1].set_exception(exc)
            return
        finally:
            # The event registry would otherwise keep the listener, hence the group, alive.
            for session in opened:
                event.remove(session, "after_commit", release)
        self.groups_written += 1
        release(opened[0])

    def _apply(self, session: Session, entries: list[Entry]) -> list[BudgetExhaustedError | None]:
        refused: list[BudgetExhaustedError | None] = [None] * len(entries)
        charges: dict[str, list[int]] = defaultdict(list)
        for i, entry in enumerate(entries):
            if entry.charge:
                charges[entry.requester.identity].append(i)
        guard = self.node.guard
        for positions in charges.values():
            requester = entries[positions[0]].requester
            try:
                guard.charge(session, requester, len(positions))
            except BudgetExhaustedError:
                for i in positions:
                    try:
                        guard.charge(session, requester)
                    except BudgetExhaustedError as exc:
                        refused[i] = exc
        pending = []
        for entry, refusal in zip(entries, refused, strict=True):
            details = dict(entry.details)
            outcome = entry.outcome
            if refusal is None and entry.release is not None:
                details.update(entry.release(session))
            if refusal is not None:
                outcome = "denied"
                details = {"reason": "query budget spent", **{k: v for k, v in details.items() if k == "endpoint"}}
            pending.append(audit_entry(entry.requester, action=entry.action, object_type=entry.object_type,
                                       object_id=entry.object_id, outcome=outcome, details=details))
        self.node.ctx.audit.record_many(session, pending)
        return refused


def audit_entry(requester: Requester, *, action: str, object_type: str, object_id: str, outcome: str,
                details: Mapping[str, DetailValue]) -> PendingEntry:
    """The entry :meth:`SharingNode.audit` writes for an answer, ready for :meth:`AuditTrail.record_many`."""
    merged: dict[str, DetailValue] = {"requester": requester.identity, "tier": requester.tier.beacon_name}
    if requester.country:
        merged["country"] = requester.country
    if requester.visa_ids:
        merged["visas"] = ",".join(requester.visa_ids)
    merged.update(details)
    return PendingEntry(actor=requester.identity[:AUDIT_ACTOR_LENGTH], action=action, object_type=object_type,
                        object_id=object_id[:128], purpose=Purpose.SHARING, outcome=outcome, details=merged)
