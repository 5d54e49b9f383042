"""Optimistic concurrency on Table storage: write only what was read, and try again when another write got in.

A read gives each entity's ETag; a conditional write (``If-Match``) fails with 412 when the entity
changed since, 404 when it was deleted, and a create fails with 409 when it appeared. Callers read,
compute and write again, at most :data:`ATTEMPTS` times with a jittered backoff between tries (so
that writers who collided do not collide again), then give up with a temporary error.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError
from azure.data.tables import TableClient, TableTransactionError, TransactionOperation, UpdateMode

from shared.errors import StorageUnavailable
from shared.retry import RetryPolicy
from shared.store.azure import storage_errors

ATTEMPTS = 12
"""How many times a read-modify-write is tried before the contention is reported as a temporary failure."""

CONTENTION = RetryPolicy(max_attempts=ATTEMPTS, base_delay=0.02, max_delay=0.5)
"""The backoff between tries: 20 ms doubling up to half a second, jittered (about 4 s in all at worst)."""

_LOST = (404, 409, 412)


def attempts(action: str, policy: RetryPolicy = CONTENTION) -> Iterator[int]:
    """Attempt numbers for a read-modify-write loop, waiting the policy's backoff before each retry; raises
    :class:`StorageUnavailable` once they run out."""
    for attempt in range(policy.max_attempts):
        if attempt:
            policy.sleep(policy.backoff(attempt))
        yield attempt
    raise StorageUnavailable(f"too many concurrent writes while trying to {action}; try again")


def etag_of(entity: Mapping[str, Any]) -> str:
    """The ETag a read returned with ``entity``."""
    return str(entity.metadata["etag"])  # type: ignore[attr-defined]


def put_unless_changed(table: TableClient, entity: dict[str, Any], etag: str | None, action: str) -> bool:
    """Create ``entity`` (``etag`` None: it must not exist) or replace it if unchanged since read with ``etag``.

    False when another write got in between (read again and retry).
    """
    with storage_errors(action):
        try:
            if etag is None:
                table.create_entity(entity)
            else:
                table.update_entity(entity, mode=UpdateMode.REPLACE, etag=etag,
                                    match_condition=MatchConditions.IfNotModified)
        except (ResourceExistsError, HttpResponseError) as exc:
            if isinstance(exc, ResourceExistsError) or exc.status_code in _LOST:
                return False
            raise
    return True


def delete_unless_changed(table: TableClient, partition: str, row: str, etag: str, action: str) -> bool:
    """Delete the entity if unchanged since read with ``etag``; False when another write got in between."""
    with storage_errors(action):
        try:
            table.delete_entity(partition, row, etag=etag, match_condition=MatchConditions.IfNotModified)
        except HttpResponseError as exc:
            if exc.status_code in _LOST:
                return False
            raise
    return True


Operation = tuple[TransactionOperation, dict[str, Any], dict[str, Any]]


def create(entity: dict[str, Any]) -> Operation:
    """A transaction operation creating ``entity`` (it must not exist)."""
    return (TransactionOperation.CREATE, entity, {})


def replace(entity: dict[str, Any], etag: str) -> Operation:
    """A transaction operation replacing ``entity`` if unchanged since read with ``etag``."""
    return (TransactionOperation.UPDATE, entity,
            {"mode": UpdateMode.REPLACE, "etag": etag, "match_condition": MatchConditions.IfNotModified})


def delete(entity: dict[str, Any], etag: str) -> Operation:
    """A transaction operation deleting ``entity`` if unchanged since read with ``etag``."""
    return (TransactionOperation.DELETE, {"PartitionKey": entity["PartitionKey"], "RowKey": entity["RowKey"]},
            {"etag": etag, "match_condition": MatchConditions.IfNotModified})


def submit_unless_changed(table: TableClient, operations: Sequence[Operation], action: str) -> list[Mapping[str, Any]] | None:
    """Submit ``operations`` (one partition, at most 100) as one transaction: all or nothing.

    The per-operation results (with the new ETags), or None when a condition failed (read again and retry).
    """
    with storage_errors(action):
        try:
            return list(table.submit_transaction(list(operations)))
        except TableTransactionError as exc:
            if exc.status_code in _LOST:
                return None
            raise
