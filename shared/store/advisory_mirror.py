"""The offline advisory mirror in Table storage: an :class:`~shared.vulns.index.AdvisoryMirror`.

Three tables (see :mod:`shared.store.advisory_rows` for the rows): ``<prefix>advisorypkgs`` (one row per
package and record, partitioned by ecosystem), ``<prefix>advisoryrecords`` (one row per record, with
its digest and package keys) and ``<prefix>advisorymeta`` (the snapshot row).

Imports are incremental: records whose digest did not change are not written. Writes go in batches
of at most 100 operations per partition. Lookups load whole ecosystem partitions into a per-process
cache, dropped whenever the snapshot changes, so a worker reads each ecosystem once per import.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient, TransactionOperation

from shared.store.advisory_rows import (
    SNAPSHOT_PARTITION,
    SNAPSHOT_ROW,
    advisory_from_entity,
    as_datetime,
    keys_from_record_entity,
    package_entities,
    package_partition,
    package_row_key,
    record_entity,
    record_id_of,
    snapshot_entity,
)
from shared.store.azure import Tables, storage_errors
from shared.store.keys import encode_key
from shared.vulns.errors import InvalidAdvisory
from shared.vulns.index import ImportResult, Lookup, advisory_keys, dedupe, snapshot_of
from shared.vulns.model import Advisory
from shared.vulns.packages import OsvQuery, PackageKey
from shared.vulns.problems import Problem
from shared.vulns.versions import base_ecosystem

log = logging.getLogger(__name__)

MAX_BATCH_OPERATIONS = 100
MAX_BATCH_BYTES = 3 * 1024 * 1024
_PLACEHOLDER_BEFORE = datetime(1971, 1, 1, tzinfo=timezone.utc)


class _Stored:
    """What a record row says: digest, modified and package keys."""

    __slots__ = ("digest", "keys", "modified")

    def __init__(self, digest: str, modified: datetime | None, keys: frozenset[PackageKey]) -> None:
        self.digest = digest
        self.modified = modified
        self.keys = keys


class TableAdvisoryIndex:
    """The advisory mirror on Table storage (thread-safe lookups, one importer at a time)."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables
        self._lock = threading.Lock()
        self._cached_snapshot: str | None = None
        self._partitions: dict[str, dict[PackageKey, tuple[Advisory, ...]]] = {}

    @property
    def snapshot(self) -> str:
        """The snapshot id of the last import, ``""`` before any."""
        with storage_errors("read the advisory snapshot"):
            try:
                entity = self._tables.table("advisorymeta").get_entity(SNAPSHOT_PARTITION, SNAPSHOT_ROW)
            except ResourceNotFoundError:
                return ""
        return str(entity.get("snapshot", ""))

    def status(self) -> dict[str, Any]:
        """The snapshot row as JSON (snapshot, imported_at, counts), or an empty snapshot."""
        with storage_errors("read the advisory snapshot"):
            try:
                entity = self._tables.table("advisorymeta").get_entity(SNAPSHOT_PARTITION, SNAPSHOT_ROW)
            except ResourceNotFoundError:
                return {"snapshot": ""}
        imported = as_datetime(entity.get("imported_at"))
        return {k: v for k, v in entity.items() if k not in ("PartitionKey", "RowKey", "imported_at")} | {
            "imported_at": imported.isoformat() if imported else None}

    def lookup(self, queries: Sequence[OsvQuery]) -> Lookup:
        """Every stored record under each query's keys (whole ecosystems are loaded and cached)."""
        snapshot = self.snapshot
        needed = {key for query in queries for key in query.keys}
        with self._lock:
            if snapshot != self._cached_snapshot:
                self._partitions.clear()
                self._cached_snapshot = snapshot
            problems: list[Problem] = []
            for ecosystem in sorted({key.ecosystem for key in needed} - set(self._partitions)):
                self._partitions[ecosystem] = self._load_partition(ecosystem, problems)
            found = {key: self._partitions[key.ecosystem].get(key, ()) for key in needed}
        return Lookup(records=found, problems=tuple(problems))

    def _load_partition(self, ecosystem: str, problems: list[Problem]) -> dict[PackageKey, tuple[Advisory, ...]]:
        by_key: dict[PackageKey, list[Advisory]] = {}
        with storage_errors("read advisories"):
            entities = list(self._tables.table("advisorypkgs").query_entities(
                "PartitionKey eq @pk", parameters={"pk": package_partition(ecosystem)}))
        for entity in entities:
            try:
                advisory = advisory_from_entity(entity)
            except InvalidAdvisory as exc:
                problems.append(Problem("invalid-advisory", exc.message, record_id=str(entity.get("id"))))
                continue
            for key in advisory_keys(advisory):
                if key.ecosystem == ecosystem:
                    by_key.setdefault(key, []).append(advisory)
        return {key: tuple(records) for key, records in by_key.items()}

    def _stored(self) -> dict[str, _Stored]:
        with storage_errors("read advisory records"):
            entities = list(self._tables.table("advisoryrecords").list_entities())
        return {record_id_of(e): _Stored(str(e.get("digest", "")), as_datetime(e.get("modified")),
                                         keys_from_record_entity(e)) for e in entities}

    def import_records(self, items: Iterable[Any], *, complete_ecosystems: Collection[str] = ()) -> ImportResult:
        """Bring the mirror up to date with ``items`` (OSV records and feed problems).

        Records with an unchanged digest are skipped; one older than the stored copy (by a
        trustworthy ``modified``) is counted stale and skipped; with ``complete_ecosystems``, stored
        records of those ecosystems missing from ``items`` are removed. The snapshot row is written
        last, so readers switch to the new data only once it is all there.
        """
        incoming, problems = dedupe(items)
        stored = self._stored()
        added = updated = unchanged = stale = removed = withdrawn = 0
        changed_ids: set[str] = set()
        changed_keys: set[PackageKey] = set()
        writes: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        deletes: dict[str, list[tuple[str, str]]] = {}
        records_table, packages_table = "advisoryrecords", "advisorypkgs"
        for record_id, advisory in incoming.items():
            before = stored.get(record_id)
            if before is not None and before.digest == advisory.digest:
                unchanged += 1
                continue
            if before is not None and _older(advisory.modified, before.modified):
                stale += 1
                continue
            try:
                rows = package_entities(advisory)
            except InvalidAdvisory as exc:
                problems.append(Problem("invalid-advisory", exc.message, record_id=record_id))
                continue
            new_keys = advisory_keys(advisory)
            if before is None:
                added += 1
            else:
                updated += 1
                changed_keys |= before.keys
                for key in before.keys - new_keys:
                    deletes.setdefault(packages_table, []).append(
                        (package_partition(key.ecosystem), package_row_key(key.name, record_id)))
            withdrawn += advisory.is_withdrawn
            changed_keys |= new_keys
            changed_ids.add(record_id)
            writes.setdefault(packages_table, []).extend(("upsert", row) for row in rows)
            writes.setdefault(records_table, []).append(("upsert", record_entity(advisory)))
            stored[record_id] = _Stored(advisory.digest, advisory.modified, new_keys)
        complete = {base_ecosystem(e) for e in complete_ecosystems}
        if complete:
            for record_id, before in list(stored.items()):
                if record_id in incoming or not any(base_ecosystem(k.ecosystem) in complete for k in before.keys):
                    continue
                for key in before.keys:
                    deletes.setdefault(packages_table, []).append(
                        (package_partition(key.ecosystem), package_row_key(key.name, record_id)))
                deletes.setdefault(records_table, []).append(
                    (encode_key(record_id.split("-", 1)[0]), encode_key(record_id)))
                changed_keys |= before.keys
                changed_ids.add(record_id)
                removed += 1
                del stored[record_id]
        for name, operations in writes.items():
            self._submit(self._tables.table(name), [(op, row) for op, row in operations])
        for name, keys in deletes.items():
            self._submit(self._tables.table(name), [("delete", {"PartitionKey": pk, "RowKey": rk}) for pk, rk in keys])
        result = ImportResult(
            added=added, updated=updated, unchanged=unchanged, stale=stale, removed=removed, withdrawn=withdrawn,
            changed_ids=frozenset(changed_ids), changed_keys=frozenset(changed_keys), problems=tuple(problems),
            snapshot=snapshot_of({i: s.digest for i, s in stored.items()}),
        )
        with storage_errors("write the advisory snapshot"):
            self._tables.table("advisorymeta").upsert_entity(snapshot_entity(result))
        log.info("advisory import: %d added, %d updated, %d removed, %d unchanged, %d stale, %d problems; snapshot %s",
                 added, updated, removed, unchanged, stale, len(problems), result.snapshot)
        return result

    def _submit(self, table: TableClient, operations: list[tuple[str, dict[str, Any]]]) -> None:
        for batch in _batches(operations):
            with storage_errors("write advisories"):
                table.submit_transaction([_operation(op, entity) for op, entity in batch])


def _operation(op: str, entity: Mapping[str, Any]) -> tuple[TransactionOperation, Mapping[str, Any]] | tuple[
        TransactionOperation, Mapping[str, Any], Mapping[str, Any]]:
    if op == "delete":
        return (TransactionOperation.DELETE, entity)
    return (TransactionOperation.UPSERT, entity, {"mode": "replace"})


def _batches(operations: list[tuple[str, dict[str, Any]]]) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Operations grouped by partition, at most 100 and about 3 MiB a batch, each entity once per batch."""
    by_partition: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for op, entity in operations:
        by_partition.setdefault(str(entity["PartitionKey"]), []).append((op, entity))
    for group in by_partition.values():
        batch: list[tuple[str, dict[str, Any]]] = []
        size = 0
        rows: set[str] = set()
        for op, entity in group:
            entity_size = sum(len(str(v)) for v in entity.values()) + 1024
            if batch and (len(batch) >= MAX_BATCH_OPERATIONS or size + entity_size > MAX_BATCH_BYTES
                          or entity["RowKey"] in rows):
                yield batch
                batch, size, rows = [], 0, set()
            batch.append((op, entity))
            size += entity_size
            rows.add(str(entity["RowKey"]))
        if batch:
            yield batch


def _older(incoming: datetime, stored: datetime | None) -> bool:
    """Whether ``incoming`` is older than ``stored`` by trustworthy (non-placeholder) times."""
    if stored is None or incoming < _PLACEHOLDER_BEFORE or stored < _PLACEHOLDER_BEFORE:
        return False
    return incoming < stored
