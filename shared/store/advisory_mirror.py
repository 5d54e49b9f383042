"""The offline advisory mirror in Table storage: an :class:`~shared.vulns.index.AdvisoryMirror`.

Four tables (see :mod:`shared.store.advisory_rows` for the rows): ``<prefix>advisorypkgs`` (one row per
package and record, partitioned by ecosystem), ``<prefix>advisoryrecords`` (one row per record, with
its digest, package keys, aliases, upstream ids and own rating), ``<prefix>advisoryseverity`` (the
preferred rating per id, see :mod:`shared.vulns.index`) and ``<prefix>advisorymeta`` (the snapshot row).

Imports are incremental: records whose digest did not change are not written, unless their record
row is of an older layout (then its record and package rows are written again, once). Severity rows
are recomputed at each import from the record rows (read anyway to find what changed) for every id
whose preferred rating changed, and written or deleted before the record rows. Writes go in batches
of at most 100 operations per partition. Lookups load whole ecosystem partitions into a per-process
cache, dropped whenever the snapshot changes, so a worker reads each ecosystem once per import.
:meth:`TableAdvisoryIndex.severities` answers with point reads (at most :data:`MAX_SEVERITY_READS`
per call, :data:`SEVERITY_READERS` at a time), cached the same way.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient, TableTransactionError, TransactionOperation, UpdateMode

from shared.store.advisory_rows import (
    RECORD_LAYOUT,
    SNAPSHOT_PARTITION,
    SNAPSHOT_ROW,
    advisory_from_entity,
    as_datetime,
    changes_of,
    ecosystems_of,
    keys_from_record_entity,
    names_from_record_entity,
    package_entities,
    package_partition,
    package_row_key,
    package_row_range,
    rating_from_record_entity,
    record_entity,
    record_id_of,
    record_layout,
    severity_entity,
    severity_from_entity,
    severity_row_key,
    snapshot_entity,
)
from shared.store.azure import Tables, storage_errors
from shared.store.keys import encode_key
from shared.vulns.errors import InvalidAdvisory
from shared.vulns.index import ImportResult, Lookup, advisory_keys, dedupe, ecosystem_counts, snapshot_of
from shared.vulns.model import Advisory
from shared.vulns.packages import OsvQuery, PackageKey
from shared.vulns.problems import Problem
from shared.vulns.severity import UNKNOWN, SeverityScore, best, self_rating
from shared.vulns.versions import base_ecosystem

log = logging.getLogger(__name__)

MAX_BATCH_OPERATIONS = 100
MAX_BATCH_BYTES = 3 * 1024 * 1024
MAX_SEVERITY_READS = 200
"""The most severity rows one :meth:`TableAdvisoryIndex.severities` call reads."""
SEVERITY_READERS = 8
"""How many severity point reads run at a time."""
MAX_CACHED_SEVERITIES = 100_000
_PLACEHOLDER_BEFORE = datetime(1971, 1, 1, tzinfo=timezone.utc)


class _Stored:
    """What a record row says: digest, modified, package keys, and — in the current layout —
    aliases, upstream ids and the record's own rating (``current`` is false for an older row)."""

    __slots__ = ("aliases", "current", "digest", "keys", "modified", "rating", "upstream")

    def __init__(
        self,
        digest: str,
        modified: datetime | None,
        keys: frozenset[PackageKey],
        *,
        aliases: frozenset[str] = frozenset(),
        upstream: frozenset[str] = frozenset(),
        rating: SeverityScore = UNKNOWN,
        current: bool = True,
    ) -> None:
        self.digest = digest
        self.modified = modified
        self.keys = keys
        self.aliases = aliases
        self.upstream = upstream
        self.rating = rating
        self.current = current

    @classmethod
    def of(cls, advisory: Advisory) -> _Stored:
        """What the record row written now for ``advisory`` says."""
        return cls(advisory.digest, advisory.modified, advisory_keys(advisory), aliases=frozenset(advisory.aliases),
                   upstream=frozenset(advisory.upstream), rating=self_rating(advisory))

    @classmethod
    def from_entity(cls, entity: Mapping[str, Any]) -> _Stored:
        """What a record row says."""
        aliases, upstream = names_from_record_entity(entity)
        return cls(str(entity.get("digest", "")), as_datetime(entity.get("modified")), keys_from_record_entity(entity),
                   aliases=aliases, upstream=upstream, rating=rating_from_record_entity(entity),
                   current=record_layout(entity) >= RECORD_LAYOUT)


class TableAdvisoryIndex:
    """The advisory mirror on Table storage (thread-safe lookups, one importer at a time).

    One instance per process is the process-wide advisory index: the ecosystem partitions it loads
    stay cached across imports. When the snapshot row names a new snapshot, a cache holding the
    snapshot the import started from (``previous``) reloads only the package keys the row lists as
    changed, on their next lookup, and forgets only the ratings of the ids it lists as re-rated; any
    other cache is dropped whole. An import made through this
    instance brings its own cache forward the same way, so the re-match that follows reads only the
    changed packages. :meth:`pinned` answers from one snapshot row read once (a job, a re-match).
    """

    def __init__(self, tables: Tables) -> None:
        self._tables = tables
        self._lock = threading.Lock()
        self._cached_snapshot: str | None = None
        self._cached_at: datetime | None = None
        self._partitions: dict[str, dict[PackageKey, tuple[Advisory, ...]]] = {}
        self._stale: set[PackageKey] = set()
        self._severities: dict[str, SeverityScore] = {}
        self._computed_coverage: tuple[str, dict[str, int]] | None = None

    def _meta(self) -> dict[str, Any] | None:
        """The snapshot row, None before any import."""
        with storage_errors("read the advisory snapshot"):
            try:
                return dict(self._tables.table("advisorymeta").get_entity(SNAPSHOT_PARTITION, SNAPSHOT_ROW))
            except ResourceNotFoundError:
                return None

    @property
    def snapshot(self) -> str:
        """The snapshot id of the last import, ``""`` before any."""
        entity = self._meta()
        return str(entity.get("snapshot", "")) if entity is not None else ""

    def status(self) -> dict[str, Any]:
        """The snapshot row as JSON (snapshot, imported_at, the last import's counts, and ``ecosystems``:
        records held per ecosystem, None for a row written without them), or an empty snapshot."""
        entity = self._meta()
        if entity is None:
            return {"snapshot": ""}
        imported = as_datetime(entity.get("imported_at"))
        return {k: v for k, v in entity.items()
                if k not in ("PartitionKey", "RowKey", "imported_at", "previous", "changes_listed")
                and not k.startswith(("ecosystems", "changes_", "rerated_"))} | {
            "imported_at": imported.isoformat() if imported else None, "ecosystems": ecosystems_of(entity)}

    def pinned(self) -> PinnedAdvisories:
        """A view answering from the snapshot current now, its row read once (see :class:`PinnedAdvisories`)."""
        entity = self._meta()
        with self._lock:
            self._follow(entity)
        return PinnedAdvisories(self, str(entity.get("snapshot", "")) if entity is not None else "",
                                self._coverage_of(entity))

    def lookup(self, queries: Sequence[OsvQuery]) -> Lookup:
        """Every stored record under each query's keys (whole ecosystems are loaded and cached)."""
        entity = self._meta()
        with self._lock:
            self._follow(entity)
        return self._answer(queries)

    def _answer(self, queries: Sequence[OsvQuery]) -> Lookup:
        """What the cache answers for ``queries`` once it loaded the partitions and keys they need."""
        needed = {key for query in queries for key in query.keys}
        with self._lock:
            problems: list[Problem] = []
            for ecosystem in sorted({key.ecosystem for key in needed} - set(self._partitions)):
                self._partitions[ecosystem] = self._load_partition(ecosystem, problems)
            for key in sorted(needed & self._stale):
                self._reload_key(key, problems)
            found = {key: self._partitions[key.ecosystem].get(key, ()) for key in needed}
        return Lookup(records=found, problems=tuple(problems))

    def coverage(self) -> Mapping[str, int]:
        """Records per ecosystem, as the last import left them (``{}`` before any). A snapshot row
        written without the counts has them computed once from the record rows."""
        return self._coverage_of(self._meta())

    def _coverage_of(self, entity: dict[str, Any] | None) -> dict[str, int]:
        if entity is None:
            return {}
        counts = ecosystems_of(entity)
        if counts is not None:
            return counts
        snapshot = str(entity.get("snapshot", ""))
        with self._lock:
            if self._computed_coverage is not None and self._computed_coverage[0] == snapshot:
                return self._computed_coverage[1]
        computed = ecosystem_counts((i, k.ecosystem) for i, s in self._stored().items() for k in s.keys)
        with self._lock:
            self._computed_coverage = (snapshot, computed)
        return computed

    def severities(self, ids: Collection[str]) -> Mapping[str, SeverityScore]:
        """The preferred rating filed under each of ``ids``: severity rows read by point reads, the
        first :data:`MAX_SEVERITY_READS` ids not cached yet (in ``ids``'s order); the rest are left
        out. A damaged row reads as no rating (and is logged)."""
        entity = self._meta()
        with self._lock:
            self._follow(entity)
        return self._rated(ids)

    def _rated(self, ids: Collection[str]) -> Mapping[str, SeverityScore]:
        with self._lock:
            snapshot = self._cached_snapshot
            missing = [name for name in dict.fromkeys(ids) if name not in self._severities][:MAX_SEVERITY_READS]
        read = self._read_severities(missing) if missing else {}
        with self._lock:
            if self._cached_snapshot == snapshot:
                if len(self._severities) + len(read) > MAX_CACHED_SEVERITIES:
                    self._severities.clear()
                self._severities.update(read)
            known = {**self._severities, **read}
        return {name: rating for name in ids if (rating := known.get(name, UNKNOWN)).known}

    def _follow(self, entity: dict[str, Any] | None) -> None:
        """Bring the caches to the snapshot of ``entity`` (the snapshot row, None before any import),
        unless they hold a later one already; call with the lock held."""
        snapshot = str(entity.get("snapshot", "")) if entity is not None else ""
        if snapshot == self._cached_snapshot:
            return
        imported = as_datetime(entity.get("imported_at")) if entity is not None else None
        if imported is not None and self._cached_at is not None and imported < self._cached_at:
            return  # read before a later import this cache follows already
        changes = changes_of(entity) if entity is not None else None
        if changes is not None and self._cached_snapshot is not None and changes[0] == self._cached_snapshot:
            self._stale |= {key for key in changes[1] if key.ecosystem in self._partitions}
            for name in changes[2]:
                self._severities.pop(name, None)
        else:
            self._partitions.clear()
            self._stale.clear()
            self._severities.clear()
        self._cached_snapshot, self._cached_at = snapshot, imported

    def _read_severities(self, names: list[str]) -> dict[str, SeverityScore]:
        table = self._tables.table("advisoryseverity")

        def read(name: str) -> SeverityScore:
            partition, row = severity_row_key(name)
            try:
                entity = table.get_entity(partition, row)
            except ResourceNotFoundError:
                return UNKNOWN
            try:
                return severity_from_entity(entity)
            except ValueError as exc:
                log.warning("advisory severity row of %s is damaged, read as no rating: %s", name, exc)
                return UNKNOWN

        with storage_errors("read advisory severities"), ThreadPoolExecutor(min(SEVERITY_READERS, len(names))) as pool:
            return dict(zip(names, pool.map(read, names), strict=True))

    def _load_partition(self, ecosystem: str, problems: list[Problem]) -> dict[PackageKey, tuple[Advisory, ...]]:
        """Every package row of ``ecosystem``, parsed and grouped by key (its stale keys are fresh now)."""
        with storage_errors("read advisories"):
            entities = list(self._tables.table("advisorypkgs").query_entities(
                "PartitionKey eq @pk", parameters={"pk": package_partition(ecosystem)}))
        self._stale -= {key for key in self._stale if key.ecosystem == ecosystem}
        return _by_key(entities, ecosystem, problems)

    def _reload_key(self, key: PackageKey, problems: list[Problem]) -> None:
        """Read the package rows of ``key`` again into its loaded partition (call with the lock held)."""
        partition, low, high = package_row_range(key)
        with storage_errors("read advisories"):
            entities = list(self._tables.table("advisorypkgs").query_entities(
                "PartitionKey eq @pk and RowKey ge @low and RowKey lt @high",
                parameters={"pk": partition, "low": low, "high": high}))
        records = _by_key(entities, key.ecosystem, problems).get(key, ())
        loaded = self._partitions[key.ecosystem]
        if records:
            loaded[key] = records
        else:
            loaded.pop(key, None)
        self._stale.discard(key)

    def _stored(self) -> dict[str, _Stored]:
        with storage_errors("read advisory records"):
            entities = list(self._tables.table("advisoryrecords").list_entities())
        return {record_id_of(e): _Stored.from_entity(e) for e in entities}

    def import_records(self, items: Iterable[Any], *, complete_ecosystems: Collection[str] = ()) -> ImportResult:
        """Bring the mirror up to date with ``items`` (OSV records and feed problems).

        Records with an unchanged digest are skipped; one older than the stored copy (by a
        trustworthy ``modified``) is counted stale and skipped; with ``complete_ecosystems``, stored
        records of those ecosystems missing from ``items`` are removed. The snapshot row is written
        last, so readers switch to the new data only once it is all there. Severity rows follow the
        record rows (see the module notes); the result's ``changed_keys`` also name the package keys
        of records naming an id whose preferred rating changed.
        """
        incoming, problems = dedupe(items)
        stored = self._stored()
        previous = snapshot_of({i: s.digest for i, s in stored.items()})
        rated_before = _carriers(stored)
        added = updated = unchanged = stale = removed = withdrawn = 0
        changed_ids: set[str] = set()
        changed_keys: set[PackageKey] = set()
        writes: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        deletes: dict[str, list[tuple[str, str]]] = {}
        records_table, packages_table, severity_table = "advisoryrecords", "advisorypkgs", "advisoryseverity"
        for record_id, advisory in incoming.items():
            before = stored.get(record_id)
            if before is not None and before.digest == advisory.digest:
                unchanged += 1
                if not before.current:
                    try:
                        rows, record_row = package_entities(advisory), record_entity(advisory)
                    except InvalidAdvisory as exc:
                        problems.append(Problem("invalid-advisory", exc.message, record_id=record_id))
                        continue
                    writes.setdefault(packages_table, []).extend(("upsert", row) for row in rows)
                    writes.setdefault(records_table, []).append(("upsert", record_row))
                    stored[record_id] = _Stored.of(advisory)
                continue
            if before is not None and _older(advisory.modified, before.modified):
                stale += 1
                continue
            try:
                rows, record_row = package_entities(advisory), record_entity(advisory)
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
            writes.setdefault(records_table, []).append(("upsert", record_row))
            stored[record_id] = _Stored.of(advisory)
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
        rated_after = _carriers(stored)
        rerated: list[str] = []
        severity_rows: list[tuple[str, dict[str, Any]]] = []
        for name in sorted(rated_before.keys() | rated_after.keys()):
            rating = best(rated_after.get(name, {}).values())
            if rating == best(rated_before.get(name, {}).values()):
                continue
            rerated.append(name)
            if rating.known:
                severity_rows.append(("upsert", severity_entity(name, rating)))
            else:
                partition, row = severity_row_key(name)
                severity_rows.append(("delete", {"PartitionKey": partition, "RowKey": row}))
        changed_keys |= _keys_naming(stored, rerated)
        # Severity rows go first: they are computed from the record rows, so an import stopped
        # half-way computes them again from the same record rows the next time.
        self._submit(self._tables.table(severity_table), [op for op in severity_rows if op[0] == "upsert"])
        self._submit(self._tables.table(severity_table), [op for op in severity_rows if op[0] == "delete"])
        for name, operations in writes.items():
            self._submit(self._tables.table(name), [(op, row) for op, row in operations])
        for name, keys in deletes.items():
            self._submit(self._tables.table(name), [("delete", {"PartitionKey": pk, "RowKey": rk}) for pk, rk in keys])
        result = ImportResult(
            added=added, updated=updated, unchanged=unchanged, stale=stale, removed=removed, withdrawn=withdrawn,
            changed_ids=frozenset(changed_ids), changed_keys=frozenset(changed_keys), problems=tuple(problems),
            snapshot=snapshot_of({i: s.digest for i, s in stored.items()}),
        )
        ecosystems = ecosystem_counts((i, k.ecosystem) for i, s in stored.items() for k in s.keys)
        meta = snapshot_entity(result, ecosystems, previous, result.changed_keys, rerated)
        with storage_errors("write the advisory snapshot"):
            self._tables.table("advisorymeta").upsert_entity(meta, mode=UpdateMode.REPLACE)
        with self._lock:
            self._follow(meta)
        log.info("advisory import: %d added, %d updated, %d removed, %d unchanged, %d stale, %d problems; snapshot %s",
                 added, updated, removed, unchanged, stale, len(problems), result.snapshot)
        return result

    def _submit(self, table: TableClient, operations: list[tuple[str, dict[str, Any]]]) -> None:
        """Run ``operations`` in batches. A batch of deletes that fails because some row is gone
        already (an earlier import stopped half-way) is done again row by row, ignoring those."""
        for batch in _batches(operations):
            with storage_errors("write advisories"):
                try:
                    table.submit_transaction([_operation(op, entity) for op, entity in batch])
                except TableTransactionError as exc:
                    if exc.status_code != 404 or any(op != "delete" for op, _ in batch):
                        raise
                    for _, entity in batch:
                        table.delete_entity(entity["PartitionKey"], entity["RowKey"])


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


class PinnedAdvisories:
    """The mirror as one read of its snapshot row found it: an :class:`~shared.vulns.index.AdvisorySource`
    whose ``snapshot`` and ``coverage`` come from that row, and whose lookups and severities come from
    the process-wide cache of its :class:`TableAdvisoryIndex` without reading the row again. Take one
    per job or re-match: an import made meanwhile by another process is seen by the next one."""

    def __init__(self, index: TableAdvisoryIndex, snapshot: str, coverage: Mapping[str, int]) -> None:
        self._index = index
        self._snapshot = snapshot
        self._coverage = dict(coverage)

    @property
    def snapshot(self) -> str:
        """The snapshot id read when the view was taken."""
        return self._snapshot

    def lookup(self, queries: Sequence[OsvQuery]) -> Lookup:
        """As :meth:`TableAdvisoryIndex.lookup`, from the cache as it is."""
        return self._index._answer(queries)

    def coverage(self) -> Mapping[str, int]:
        """Records per ecosystem, as the snapshot row said."""
        return self._coverage

    def severities(self, ids: Collection[str]) -> Mapping[str, SeverityScore]:
        """As :meth:`TableAdvisoryIndex.severities`, from the cache as it is."""
        return self._index._rated(ids)


def _by_key(entities: Iterable[Mapping[str, Any]], ecosystem: str,
            problems: list[Problem]) -> dict[PackageKey, tuple[Advisory, ...]]:
    """Package rows parsed and grouped under their keys of ``ecosystem``; damaged rows become problems."""
    by_key: dict[PackageKey, list[Advisory]] = {}
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


def _carriers(stored: Mapping[str, _Stored]) -> dict[str, dict[str, SeverityScore]]:
    """For each id some self-rated record carries (its id or an alias): those records' ratings."""
    carriers: dict[str, dict[str, SeverityScore]] = {}
    for record_id, row in stored.items():
        if row.rating.known:
            for name in (record_id, *row.aliases):
                carriers.setdefault(name, {})[record_id] = row.rating
    return carriers


def _keys_naming(stored: Mapping[str, _Stored], ids: Collection[str]) -> frozenset[PackageKey]:
    """The package keys of every record naming one of ``ids`` (its id, an alias or an upstream id)."""
    if not ids:
        return frozenset()
    wanted = set(ids)
    keys: set[PackageKey] = set()
    for record_id, row in stored.items():
        if record_id in wanted or not wanted.isdisjoint(row.aliases) or not wanted.isdisjoint(row.upstream):
            keys |= row.keys
    return frozenset(keys)


def _older(incoming: datetime, stored: datetime | None) -> bool:
    """Whether ``incoming`` is older than ``stored`` by trustworthy (non-placeholder) times."""
    if stored is None or incoming < _PLACEHOLDER_BEFORE or stored < _PLACEHOLDER_BEFORE:
        return False
    return incoming < stored
