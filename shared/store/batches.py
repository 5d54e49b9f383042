"""Writing many rows at once: one transaction per partition and per 100 rows.

Upserts and deletes are idempotent, so a batch that fails half-way is simply written again. A delete
batch that fails because one of its rows is already gone is done one row at a time instead (a missing
row is not an error).

:func:`transact` submits a transaction as ``TableClient.submit_transaction`` does (same operations,
same entity serialization, same authentication and retries, same errors) but writes the multipart
body and reads the answer directly: the SDK's own path starts thread pools for every transaction and
builds the body with the ``email`` package, several milliseconds of CPU per transaction.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, cast

from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest, HttpResponse
from azure.data.tables import (
    RequestTooLargeError,
    TableClient,
    TableEntity,
    TableTransactionError,
    TransactionOperation,
    UpdateMode,
)
from azure.data.tables._error import _decode_error
from azure.data.tables._table_batch import TableBatchOperations

from shared.store.azure import storage_errors

TRANSACTION_ROWS = 100
"""The most operations one Table storage transaction may hold."""

TRANSACTION_BYTES = 3 * 1024 * 1024
"""What the rows of one transaction may weigh, as :func:`weight` estimates them: a transaction's body
may hold 4 MiB; binary values travel in base64 and every property has its name and type beside it."""

KEYS_PER_QUERY = 14
"""Row keys one query names: a Table storage filter holds at most 15 comparisons, one is the partition."""


_STATUS_LINE = re.compile(rb"^HTTP/1\.[01] (\d{3})[^\r\n]*\r?\n", re.MULTILINE)


def transact(table: TableClient, operations: Sequence[Any]) -> None:
    """Submit ``operations`` (``(TransactionOperation, entity[, options])``, all of one partition, at most
    100) as one transaction: all are applied or none.

    Raises :class:`~azure.data.tables.TableTransactionError` whose ``status_code`` is the failing
    operation's (409 when a created row exists, 404 when a row to update or delete is missing, 412 on
    an ETag mismatch) and whose ``index`` names it; other failures raise as the SDK raises them.
    """
    if not operations:
        return
    # The operations are built by the SDK's own transaction builder and sent through the client's own
    # pipeline (azure-data-tables is pinned in requirements.txt; tests/store/test_batches.py covers this).
    base = f"{table.scheme}://{table._primary_hostname}"
    built = TableBatchOperations(config=table._client._config, endpoint=base,
                                 table_name=table.table_name, is_cosmos_endpoint=table._cosmos_endpoint)
    for operation in operations:
        built.add_operation(operation)
    batch, changeset = f"batch_{uuid.uuid4()}", f"changeset_{uuid.uuid4()}"
    body = [f"--{batch}\r\nContent-Type: multipart/mixed; boundary={changeset}\r\n\r\n".encode()]
    for index, part in enumerate(built.requests):
        body.append(_serialized(part, changeset, index))
    body.append(f"--{changeset}--\r\n\r\n--{batch}--\r\n".encode())
    request = HttpRequest("POST", f"{base}/$batch", content=b"".join(body), headers={
        "x-ms-version": table.api_version, "DataServiceVersion": "3.0", "MaxDataServiceVersion": "3.0;NetFx",
        "Content-Type": f"multipart/mixed; boundary={batch}", "Accept": "application/json"})
    response = table._client.send_request(request, stream=True)  # read below, not decoded as JSON
    _check(response, len(built.requests))


def _serialized(request: HttpRequest, changeset: str, index: int) -> bytes:
    """One operation as a part of the changeset (``application/http``: the request line, headers, body)."""
    content = request.content
    data = content.encode() if isinstance(content, str) else (content or b"")
    head = "".join(f"{name}: {len(data) if name.lower() == 'content-length' else value}\r\n"
                   for name, value in request.headers.items())
    return (f"--{changeset}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
            f"Content-ID: {index}\r\n\r\n{request.method} {request.url} HTTP/1.1\r\n{head}\r\n").encode() + data + b"\r\n"


def _check(response: HttpResponse, operations: int) -> None:
    """Raise the error of a transaction that was not applied (as the SDK raises it)."""
    body = response.read()
    if response.status_code == 413:
        raise _sdk_error(response, error_message="The transaction request was too large",
                         error_type=RequestTooLargeError)
    if response.status_code != 202:
        raise _sdk_error(response)
    statuses = [(int(match.group(1)), match.end()) for match in _STATUS_LINE.finditer(body)]
    failed = next(((status, end) for status, end in statuses if not 200 <= status < 300), None)
    if failed is None and len(statuses) == operations:
        return
    if failed is None:
        raise TableTransactionError(message=f"The transaction answered {len(statuses)} of {operations} operations",
                                    response=response)
    status, end = failed
    code, message = _error_of(body[end:])
    error_type = RequestTooLargeError if status == 413 else TableTransactionError
    error = error_type(message=message or f"The transaction failed: HTTP {status}", response=response)
    error.status_code = status
    error.error_code = code  # type: ignore[attr-defined]  # as the SDK's own transaction errors carry it
    raise error


def _sdk_error(response: HttpResponse, **options: Any) -> HttpResponseError:
    """The error the SDK raises for ``response`` (a whole transaction refused: auth, missing table...)."""
    return cast(HttpResponseError, _decode_error(response, **options))  # type: ignore[no-untyped-call]


def _error_of(rest: bytes) -> tuple[str | None, str | None]:
    """The OData error code and message of a failed part (its headers and JSON body start ``rest``)."""
    start, stop = rest.find(b"{"), rest.find(b"\r\n--")
    try:
        found = json.loads(rest[start:stop if stop > start else None])
        error = found.get("odata.error") or found.get("error") or {}
        message = error.get("message")
        if isinstance(message, dict):
            message = message.get("value")
        return error.get("code"), message
    except (ValueError, AttributeError):
        return None, None


def _by_partition(rows: Iterable[tuple[str, str, dict[str, Any]]]) -> dict[str, dict[str, dict[str, Any]]]:
    grouped: dict[str, dict[str, dict[str, Any]]] = {}
    for partition, row, entity in rows:
        grouped.setdefault(partition, {})[row] = entity
    return grouped


def weight(entity: dict[str, Any]) -> int:
    """An upper estimate of the bytes ``entity`` takes in a transaction's body."""
    total = 0
    for name, value in entity.items():
        if isinstance(value, (bytes, bytearray)):
            size = (len(value) + 2) // 3 * 4
        elif isinstance(value, str):
            size = len(value.encode("utf-8")) * 2  # JSON escapes
        else:
            size = 32
        total += size + 2 * len(name) + 64  # the name, and its odata.type annotation
    return total


def _transactions(entities: Sequence[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    """``entities`` (of one partition) in transactions of at most :data:`TRANSACTION_ROWS` rows and
    :data:`TRANSACTION_BYTES`."""
    chunk: list[dict[str, Any]] = []
    load = 0
    for entity in entities:
        size = weight(entity)
        if chunk and (len(chunk) == TRANSACTION_ROWS or load + size > TRANSACTION_BYTES):
            yield chunk
            chunk, load = [], 0
        chunk.append(entity)
        load += size
    if chunk:
        yield chunk


def upsert_rows(table: TableClient, entities: Iterable[dict[str, Any]], action: str) -> None:
    """Create or replace every entity (the last one wins when two share their keys): a transaction per
    partition and per :data:`TRANSACTION_ROWS` rows or :data:`TRANSACTION_BYTES`."""
    grouped = _by_partition((e["PartitionKey"], e["RowKey"], e) for e in entities)
    with storage_errors(action):
        for rows in grouped.values():
            for chunk in _transactions(list(rows.values())):
                transact(table, [(TransactionOperation.UPSERT, e, {"mode": UpdateMode.REPLACE}) for e in chunk])


def delete_rows(table: TableClient, keys: Iterable[tuple[str, str]], action: str) -> None:
    """Delete the rows with these (PartitionKey, RowKey); rows already gone are fine."""
    grouped = _by_partition((p, r, {"PartitionKey": p, "RowKey": r}) for p, r in keys)
    with storage_errors(action):
        for rows in grouped.values():
            chunk = list(rows.values())
            for start in range(0, len(chunk), TRANSACTION_ROWS):
                part = chunk[start : start + TRANSACTION_ROWS]
                try:
                    transact(table, [(TransactionOperation.DELETE, e) for e in part])
                except TableTransactionError as exc:
                    if exc.status_code != 404:
                        raise
                    for entity in part:
                        table.delete_entity(entity["PartitionKey"], entity["RowKey"])


def rows_by_key(table: TableClient, partition: str, row_keys: Sequence[str], action: str,
                select: Sequence[str] | None = None) -> dict[str, TableEntity]:
    """The rows of ``partition`` among ``row_keys``, by row key (absent ones left out): one query per
    :data:`KEYS_PER_QUERY` keys instead of a read per row. ``select``: the properties to return (all when None)."""
    found: dict[str, TableEntity] = {}
    keys = sorted(set(row_keys))
    with storage_errors(action):
        for start in range(0, len(keys), KEYS_PER_QUERY):
            names = {f"k{i}": key for i, key in enumerate(keys[start:start + KEYS_PER_QUERY])}
            condition = " or ".join(f"RowKey eq @{name}" for name in names)
            for row in table.query_entities(f"PartitionKey eq @pk and ( {condition} )",
                                             parameters={"pk": partition, **names},
                                             select=list(select) if select is not None else None):
                found[row["RowKey"]] = row
    return found
