"""The log of Event Grid event ids, claimed atomically so that each event becomes at most one job.

Table ``<prefix>events``: PartitionKey the integration id, RowKey the SHA-256 of the event id (so that
every id fits a key), ``event`` the id itself; ``state`` is
``pending`` while a delivery holds the claim (``claimed`` is when it took it) and ``queued`` once the
event's job is durably enqueued (``accepted``, ``job``). An :class:`~shared.records.AcceptedEvents`.

The claim is one insert (a read only when the row exists). The confirmation cannot be left out: only
it tells a redelivery that the job is on the queue. Without it every redelivery would meet a pending
claim, be answered 503 until the claim expires, then take it over and queue the job again. A
delivery that dies between enqueue and confirmation leaves exactly that pending claim: at worst one
duplicate job after :data:`CLAIM_TIMEOUT`, which the worker completes as a duplicate; never a lost one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableClient, TableEntity, TableTransactionError, TransactionOperation, UpdateMode

from shared.records import Claim
from shared.store.azure import Tables, storage_errors
from shared.store.batches import TRANSACTION_ROWS, delete_rows, rows_by_key, transact, upsert_rows
from shared.store.group_commit import GroupCommit

CLAIM_TIMEOUT = timedelta(minutes=2)
"""A pending claim older than this belongs to a delivery that died between claim and enqueue (the
webhook answers well within Event Grid's 30-second timeout): the next delivery takes it over."""


_CLAIM_ROUNDS = 3
"""Transactions tried for one chunk of claims before the rest is claimed one event at a time."""


class _Ask(NamedTuple):
    """A claim asked for."""

    integration_id: str
    event_id: str
    when: str

    @property
    def key(self) -> tuple[str, str]:
        return self.integration_id, self.event_id


class _Confirmation(NamedTuple):
    """A confirmation asked for."""

    integration_id: str
    event_id: str
    when: str
    job_key: str


class EventLog:
    """Claims of event ids per integration.

    :meth:`claim` and :meth:`confirm` calls made at the same time by concurrent deliveries are written
    together (see :mod:`shared.store.group_commit`): claims and confirmations of one integration share
    one transaction of up to 100 rows. Each caller still gets its own outcome, once its row is written.
    """

    def __init__(self, tables: Tables) -> None:
        self._tables = tables
        self._writes: GroupCommit[_Ask | _Confirmation, Claim | None] = GroupCommit(self._write_group,
                                                                                    TRANSACTION_ROWS)

    def claim(self, integration_id: str, event_id: str, when: str) -> Claim:
        """Claim the event at ``when`` (canonical time): ``claimed`` when this delivery now holds it,
        ``accepted`` when an earlier delivery queued its job, ``in-flight`` when another delivery holds
        a fresh claim. The insert is atomic: of concurrent claims exactly one gets ``claimed``."""
        outcome = self._writes.submit(_Ask(integration_id, event_id, when))
        assert outcome is not None
        return outcome

    def claim_many(self, integration_id: str, event_ids: Sequence[str], when: str) -> dict[str, Claim]:
        """Claim distinct events at once, each with the outcome :meth:`claim` gives it.

        The inserts go in transactions of up to 100 rows (all in the integration's partition). A
        transaction meeting a row that exists inserts nothing; the rows of its events are then read (a few
        per query, see :func:`~shared.store.batches.rows_by_key`), the events that have none are inserted
        again, and those that do are decided as :meth:`claim` decides them.
        """
        if len(set(event_ids)) != len(event_ids):
            raise ValueError("claim_many needs distinct event ids")
        if len(event_ids) == 1:
            return {event_ids[0]: self.claim(integration_id, event_ids[0], when)}
        outcomes: dict[str, Claim] = {}
        for start in range(0, len(event_ids), TRANSACTION_ROWS):
            chunk = event_ids[start:start + TRANSACTION_ROWS]
            outcomes.update(zip(chunk, self._claim_group([_Ask(integration_id, e, when) for e in chunk]), strict=True))
        return outcomes

    def _claim_group(self, asks: Sequence[_Ask]) -> list[Claim]:
        """The outcome of each claim asked together; an event asked for twice is decided once, and the
        later asks get ``in-flight`` when the first one claimed it."""
        first: dict[tuple[str, str], int] = {}
        partitions: dict[str, list[_Ask]] = {}
        for index, ask in enumerate(asks):
            if ask.key not in first:
                first[ask.key] = index
                partitions.setdefault(ask.integration_id, []).append(ask)
        table = self._tables.table("events")
        decided: dict[tuple[str, str], Claim] = {}
        with storage_errors("claim events"):
            for part in partitions.values():
                for start in range(0, len(part), TRANSACTION_ROWS):
                    decided.update(_claim_chunk(table, part[start:start + TRANSACTION_ROWS]))
        outcomes: list[Claim] = []
        for index, ask in enumerate(asks):
            outcome = decided[ask.key]
            if first[ask.key] != index and outcome == "claimed":
                outcome = "in-flight"
            outcomes.append(outcome)
        return outcomes

    def confirm(self, integration_id: str, event_id: str, when: str, job_key: str) -> None:
        """Mark a claimed event ``queued``: its job is durably enqueued."""
        self._writes.submit(_Confirmation(integration_id, event_id, when, job_key))

    def confirm_many(self, integration_id: str, jobs: Mapping[str, str], when: str) -> None:
        """Mark claimed events ``queued`` (``jobs``: event id to job key), in transactions of up to 100 rows."""
        if len(jobs) == 1:
            ((event_id, job_key),) = jobs.items()
            self.confirm(integration_id, event_id, when, job_key)
            return
        self._confirm_group([_Confirmation(integration_id, event_id, when, job_key) for event_id, job_key in jobs.items()])

    def _confirm_group(self, confirmations: Sequence[_Confirmation]) -> None:
        table = self._tables.table("events")
        if len(confirmations) == 1:
            with storage_errors("confirm an event"):
                table.upsert_entity(_queued(*confirmations[0]), mode=UpdateMode.REPLACE)
        else:
            upsert_rows(table, (_queued(*c) for c in confirmations), "confirm events")

    def _write_group(self, writes: Sequence[_Ask | _Confirmation]) -> list[Claim | None]:
        """Claims and confirmations asked for together: when they are of one integration and fit one
        transaction, written in one (a claim of an event confirmed in it is ``accepted`` at once);
        otherwise, or when a claim meets an existing row, confirmations and claims are written apart."""
        asks = [w for w in writes if isinstance(w, _Ask)]
        confirmations = [w for w in writes if isinstance(w, _Confirmation)]
        if not confirmations:
            return list(self._claim_group(asks))
        confirmed = {(c.integration_id, c.event_id) for c in confirmations}
        fresh = list({a.key: a for a in reversed(asks) if a.key not in confirmed}.values())
        decided: dict[tuple[str, str], Claim] | None = None
        if asks and len({w.integration_id for w in writes}) == 1 and len(confirmed) + len(fresh) <= TRANSACTION_ROWS:
            decided = self._write_together(confirmations, fresh)
        if decided is None:
            self._confirm_group(confirmations)
            decided = {}
            for ask, claim in zip(asks, self._claim_group(asks), strict=True):
                decided.setdefault(ask.key, claim)  # a repeated ask got in-flight
        outcomes: list[Claim | None] = []
        seen: set[tuple[str, str]] = set()
        for write in writes:
            if isinstance(write, _Confirmation):
                outcomes.append(None)
                continue
            outcome = "accepted" if write.key in confirmed else decided[write.key]
            outcomes.append("in-flight" if outcome == "claimed" and write.key in seen else outcome)
            seen.add(write.key)
        return outcomes

    def _write_together(self, confirmations: Sequence[_Confirmation], asks: Sequence[_Ask]
                        ) -> dict[tuple[str, str], Claim] | None:
        """One transaction of confirmations and claims of distinct events; None when a claim met a row."""
        operations: list[Any] = [(TransactionOperation.UPSERT, _queued(*c), {"mode": UpdateMode.REPLACE})
                                 for c in {(c.integration_id, c.event_id): c for c in confirmations}.values()]
        operations += [(TransactionOperation.CREATE, _pending(*a)) for a in asks]
        with storage_errors("claim and confirm events"):
            try:
                transact(self._tables.table("events"), operations)
            except TableTransactionError as exc:
                if exc.status_code != 409:
                    raise
                return None
        return {a.key: "claimed" for a in asks}

    def release(self, integration_id: str, event_id: str) -> None:
        """Give a claim up (its job could not be enqueued), so that a redelivery can claim it at once."""
        with storage_errors("release an event claim"):
            self._tables.table("events").delete_entity(integration_id, _row_key(event_id))

    def release_many(self, integration_id: str, event_ids: Sequence[str]) -> None:
        """Give claims up, in transactions of up to 100 rows (no error for claims already gone)."""
        delete_rows(self._tables.table("events"), ((integration_id, _row_key(e)) for e in event_ids),
                    "release event claims")

    def prune(self, accepted_before: str) -> int:
        """Forget event ids claimed or accepted before ``accepted_before`` (canonical time); return how many."""
        table = self._tables.table("events")
        with storage_errors("prune the event log"):
            old = list(table.query_entities("accepted lt @cutoff or claimed lt @cutoff",
                                            parameters={"cutoff": accepted_before}, select=["PartitionKey", "RowKey"]))
            for entity in old:
                table.delete_entity(entity["PartitionKey"], entity["RowKey"])
        return len(old)


def _row_key(event_id: str) -> str:
    return hashlib.sha256(event_id.encode("utf-8")).hexdigest()


def _pending(integration_id: str, event_id: str, when: str) -> dict[str, Any]:
    return {"PartitionKey": integration_id, "RowKey": _row_key(event_id), "event": event_id, "state": "pending",
            "claimed": when}


def _queued(integration_id: str, event_id: str, when: str, job_key: str) -> dict[str, Any]:
    return {"PartitionKey": integration_id, "RowKey": _row_key(event_id), "event": event_id, "state": "queued",
            "claimed": when, "accepted": when, "job": job_key}


def _claim_one(table: TableClient, ask: _Ask) -> Claim:
    """One claim: the insert, else the row it met decided (a row released meanwhile: the insert once more)."""
    integration_id, _, when = ask
    entity = _pending(*ask)
    for _ in range(2):
        try:
            table.create_entity(entity)
            return "claimed"
        except ResourceExistsError:
            pass
        try:
            existing = table.get_entity(integration_id, entity["RowKey"])
        except ResourceNotFoundError:
            continue
        return _contest(table, entity, existing, when)
    return "in-flight"


def _claim_chunk(table: TableClient, asks: Sequence[_Ask]) -> dict[tuple[str, str], Claim]:
    """Claims of distinct events of one partition (at most 100): inserted in one transaction; when it meets
    existing rows, those are read and decided, and the rest inserted again (one at a time after a few rounds)."""
    if len(asks) == 1:
        return {asks[0].key: _claim_one(table, asks[0])}
    outcomes: dict[tuple[str, str], Claim] = {}
    todo = list(asks)
    for _ in range(_CLAIM_ROUNDS):
        entities = [(ask, _pending(*ask)) for ask in todo]
        try:
            transact(table, [(TransactionOperation.CREATE, entity) for _, entity in entities])
        except TableTransactionError as exc:
            if exc.status_code != 409:
                raise
        else:
            outcomes.update((ask.key, "claimed") for ask in todo)
            return outcomes
        existing = rows_by_key(table, todo[0].integration_id, [entity["RowKey"] for _, entity in entities],
                               "read event claims")
        absent = []
        for ask, entity in entities:
            row = existing.get(entity["RowKey"])
            if row is None:
                absent.append(ask)
            else:
                outcomes[ask.key] = _contest(table, entity, row, ask.when)
        if not absent:
            return outcomes
        todo = absent
    for ask in todo:  # contended round after round: one at a time
        outcomes[ask.key] = _claim_one(table, ask)
    return outcomes


def _contest(table: TableClient, entity: dict[str, Any], existing: TableEntity, when: str) -> Claim:
    """Decide a claim that met the row ``existing``: queued, fresh, or expired and taken over (under its ETag)."""
    if existing.get("state", "queued") == "queued":
        return "accepted"
    if not _expired(str(existing.get("claimed", "")), when):
        return "in-flight"
    try:
        table.update_entity(entity, mode=UpdateMode.REPLACE, etag=existing.metadata["etag"],
                            match_condition=MatchConditions.IfNotModified)
        return "claimed"
    except HttpResponseError:
        return "in-flight"  # another delivery took the stale claim over first (or released it meanwhile)


def _expired(claimed: str, now: str) -> bool:
    try:
        then = datetime.fromisoformat(claimed.replace("Z", "+00:00"))
        current = datetime.fromisoformat(now.replace("Z", "+00:00"))
    except ValueError:
        return True
    return current - then >= CLAIM_TIMEOUT
