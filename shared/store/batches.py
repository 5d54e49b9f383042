"""Writing many rows at once: one transaction per partition and per 100 rows.

Upserts and deletes are idempotent, so a batch that fails half-way is simply written again. A delete
batch that fails because one of its rows is already gone is done one row at a time instead (a missing
row is not an error).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from azure.data.tables import TableClient, TableTransactionError, TransactionOperation, UpdateMode

from shared.store.azure import storage_errors

TRANSACTION_ROWS = 100
"""The most operations one Table storage transaction may hold."""


def _by_partition(rows: Iterable[tuple[str, str, dict[str, Any]]]) -> dict[str, dict[str, dict[str, Any]]]:
    grouped: dict[str, dict[str, dict[str, Any]]] = {}
    for partition, row, entity in rows:
        grouped.setdefault(partition, {})[row] = entity
    return grouped


def upsert_rows(table: TableClient, entities: Iterable[dict[str, Any]], action: str) -> None:
    """Create or replace every entity (the last one wins when two share their keys)."""
    grouped = _by_partition((e["PartitionKey"], e["RowKey"], e) for e in entities)
    with storage_errors(action):
        for rows in grouped.values():
            chunk = list(rows.values())
            for start in range(0, len(chunk), TRANSACTION_ROWS):
                table.submit_transaction([(TransactionOperation.UPSERT, e, {"mode": UpdateMode.REPLACE})
                                          for e in chunk[start : start + TRANSACTION_ROWS]])


def delete_rows(table: TableClient, keys: Iterable[tuple[str, str]], action: str) -> None:
    """Delete the rows with these (PartitionKey, RowKey); rows already gone are fine."""
    grouped = _by_partition((p, r, {"PartitionKey": p, "RowKey": r}) for p, r in keys)
    with storage_errors(action):
        for rows in grouped.values():
            chunk = list(rows.values())
            for start in range(0, len(chunk), TRANSACTION_ROWS):
                part = chunk[start : start + TRANSACTION_ROWS]
                try:
                    table.submit_transaction([(TransactionOperation.DELETE, e) for e in part])
                except TableTransactionError as exc:
                    if exc.status_code != 404:
                        raise
                    for entity in part:
                        table.delete_entity(entity["PartitionKey"], entity["RowKey"])
