"""Table storage of image records and tag pointers, and the push order the image listing reads.

Every table here has one partition per repository: PartitionKey the encoded ``registry/repository``.

- ``<prefix>images``: RowKey the manifest digest; the record (tombstones included) and ``listed_as``,
  its RowKey in the push order.
- ``<prefix>imagesbypush``: the live records again, newest push first: RowKey :func:`push_key` (the
  push time with every digit inverted, then the digest). A record keeps the key of the push that first
  recorded it while it lives; a tombstone has none (``was_listed_as`` remembers the key to remove).
- ``<prefix>tags``: two kinds of rows. RowKey the encoded tag: where the tag points (``digest``,
  ``updated``, ``history``). RowKey ``<digest>!<encoded tag>``: the same pointer filed under the
  digest, so that the listings find the tags of a page of digests with one key range each. Both
  change in one transaction. (A pointer set before these rows existed is found by :meth:`ImageStore.tags_of`,
  which reads the pointers, and reaches the listings once it moves again.)

Writes are upserts or ETag-checked replacements, so a retried job is harmless.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient, TableTransactionError, TransactionOperation, UpdateMode

from shared.clock import normalize_time
from shared.images.listing import Page
from shared.images.model import ImageRecord, PlatformRecord, PlatformRef, TagRecord, by_repository
from shared.store.azure import Tables, storage_errors
from shared.store.batches import delete_rows, rows_by_key, upsert_rows
from shared.store.conditional import attempts, etag_of, put_unless_changed
from shared.store.keys import decode_key, encode_key, get_json, put_json
from shared.store.pages import Segment, read_page

TAG_HISTORY = 20
"""How many earlier digests a tag remembers."""

PARALLEL_READS = 16
"""How many tag ranges :meth:`ImageStore.tags_for` reads at once."""

FEW_DIGESTS = 1
"""Up to this many digests, :meth:`ImageStore.tags_for` reads their key ranges without trying one read first."""

ONE_READ_ROWS = 1000
"""The most rows one Table storage request returns: a repository with at most this many tags is read at once."""

SCAN_PAGE_ROWS = 100
"""How many records :meth:`ImageStore.iter_analyzed` reads per request (records carry their platforms: keep pages small)."""

_SCALARS = ("registry", "repository", "status", "media_type", "size", "event_time", "received", "analyzed",
            "duration_ms", "attempts", "error_code", "error", "fixable")


def repository_partition(registry: str, repository: str) -> str:
    """The PartitionKey shared by a repository's images and tags."""
    return encode_key(f"{registry}/{repository}")


_INVERTED = str.maketrans("0123456789", "9876543210")


def platform_rows(table: TableClient, refs: Iterable[PlatformRef], action: str) -> Iterator[tuple[PlatformRef, dict[str, Any]]]:
    """The rows of ``table`` (keyed by :func:`repository_partition` and platform digest) that ``refs`` name,
    each with its ref: a query per repository and per few of its digests (absent rows left out)."""
    for (registry, repository), group in by_repository(refs, lambda ref: ref).items():
        digests = [ref.digest for ref in group]
        for digest, entity in rows_by_key(table, repository_partition(registry, repository), digests, action).items():
            yield PlatformRef(registry, repository, digest), entity


def push_key(record: ImageRecord) -> str:
    """The RowKey of a live record in the push order: newer pushes sort first, ties by digest.

    The push time is the record's event time (else when it was received) in the canonical form of
    :mod:`shared.clock`, every digit replaced by its complement to 9.
    """
    moment = normalize_time(record.event_time) or normalize_time(record.received) or "0000-00-00T00:00:00.000000Z"
    return f"{moment.translate(_INVERTED)}!{record.digest}"


def digest_tag_key(digest: str, tag: str) -> str:
    """The RowKey of the row that files ``tag`` under the digest it points at."""
    return f"{digest}!{encode_key(tag)}"


def _digest_range(digest: str) -> tuple[str, str]:
    """The RowKey range ``[low, high)`` of every tag row filed under ``digest`` (encoded tags sort above ``"``)."""
    return f"{digest}!", f'{digest}"'


def _to_entity(record: ImageRecord) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "PartitionKey": repository_partition(record.registry, record.repository),
        "RowKey": record.digest,
    }
    for name in _SCALARS:
        value = getattr(record, name)
        if value is not None:
            entity[name] = value
    put_json(entity, "platforms", [p.to_json() for p in record.platforms])
    put_json(entity, "vulnerabilities", record.vulnerabilities)
    if record.attestations is not None:
        put_json(entity, "attestations", list(record.attestations))
    if record.policy:
        put_json(entity, "policy", record.policy)
    return entity


def _from_entity(entity: dict[str, Any]) -> ImageRecord:
    values = {name: entity[name] for name in _SCALARS if name in entity}
    platforms = tuple(PlatformRecord.from_json(p) for p in get_json(entity, "platforms", []))
    vulnerabilities = {str(k): int(v) for k, v in (get_json(entity, "vulnerabilities", {}) or {}).items()}
    attestations = get_json(entity, "attestations")
    values["attestations"] = tuple(str(a) for a in attestations) if isinstance(attestations, list) else None
    values["policy"] = {str(k): int(v) for k, v in (get_json(entity, "policy", {}) or {}).items()}
    return ImageRecord(digest=entity["RowKey"], platforms=platforms, vulnerabilities=vulnerabilities, **values)


class ImageStore:
    """Image records and tag pointers."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def get(self, registry: str, repository: str, digest: str) -> ImageRecord | None:
        """The record of ``digest`` (tombstones included), or None."""
        with storage_errors("read an image"):
            try:
                entity = self._tables.table("images").get_entity(repository_partition(registry, repository), digest)
            except ResourceNotFoundError:
                return None
        return _from_entity(entity)

    def put(self, record: ImageRecord) -> None:
        """Create or replace the record, and its row in the push order (removed for a tombstone).

        The record is replaced only if unchanged since read (concurrent writes are read again), so
        that its place in the push order is decided once.
        """
        table, pushed = self._tables.table("images"), self._tables.table("imagesbypush")
        partition = repository_partition(record.registry, record.repository)
        for _ in attempts("save an image"):
            with storage_errors("read an image"):
                try:
                    existing: dict[str, Any] | None = table.get_entity(partition, record.digest,
                                                                       select=["listed_as", "was_listed_as"])
                except ResourceNotFoundError:
                    existing = None
            old = (existing or {}).get("listed_as") or None
            key = None if record.status == "deleted" else (old or push_key(record))
            stale = sorted({k for k in (old, (existing or {}).get("was_listed_as")) if k and k != key})
            entity = _to_entity(record)
            if key is not None:
                entity["listed_as"] = key
            elif stale:
                entity["was_listed_as"] = stale[0]
            if not put_unless_changed(table, entity, etag_of(existing) if existing is not None else None,
                                      "save an image"):
                continue
            with storage_errors("save an image in the push order"):
                if key is not None:
                    pushed.upsert_entity({**entity, "RowKey": key, "digest": record.digest}, mode=UpdateMode.REPLACE)
                for row in stale:
                    pushed.delete_entity(partition, row)
            return

    def list_pushed(self, registry: str, repository: str, limit: int, cursor: str | None = None) -> Page[ImageRecord]:
        """The live records, newest push first (one key range of the push order)."""
        segment = Segment("pushed", repository_partition(registry, repository))
        rows, following = read_page(self._tables.table("imagesbypush"), [segment], cursor, limit,
                                    action="list images")
        return Page(tuple(_from_entity({**row, "RowKey": row["digest"]}) for row in rows), following)

    def count_live(self, registry: str, repository: str) -> int:
        """How many live records the repository has (the keys of its push order)."""
        with storage_errors("count images"):
            rows = self._tables.table("imagesbypush").query_entities(
                "PartitionKey eq @pk", parameters={"pk": repository_partition(registry, repository)}, select=["RowKey"])
            return sum(1 for _ in rows)

    def list_repository(self, registry: str, repository: str) -> list[ImageRecord]:
        """Every record of the repository, tombstones included."""
        with storage_errors("list images"):
            entities = list(
                self._tables.table("images").query_entities(
                    "PartitionKey eq @pk", parameters={"pk": repository_partition(registry, repository)}
                )
            )
        return [_from_entity(e) for e in entities]

    def get_tag(self, registry: str, repository: str, tag: str) -> TagRecord | None:
        """Where ``tag`` points, or None."""
        with storage_errors("read a tag"):
            try:
                entity = self._tables.table("tags").get_entity(
                    repository_partition(registry, repository), encode_key(tag)
                )
            except ResourceNotFoundError:
                return None
        return TagRecord(tag=tag, digest=entity["digest"], updated=entity.get("updated", ""),
                         history=tuple(get_json(entity, "history", [])))

    def point_tag(self, registry: str, repository: str, tag: str, digest: str, when: str) -> bool:
        """Point ``tag`` at ``digest`` as of event time ``when``; return whether the pointer moved.

        A pointer set by a later event is kept: events arrive out of order. The pointer and its row
        under the digest change in one transaction.
        """
        partition = repository_partition(registry, repository)
        table = self._tables.table("tags")
        filed = {"PartitionKey": partition, "RowKey": digest_tag_key(digest, tag), "tag": tag}
        current = self.get_tag(registry, repository, tag)
        if current is not None and (current.digest == digest or (current.updated and when and current.updated > when)):
            if current.digest == digest:
                with storage_errors("save a tag"):
                    table.upsert_entity(filed, mode=UpdateMode.REPLACE)
            return False
        history = list(current.history) if current else []
        if current is not None:
            history.insert(0, {"digest": current.digest, "until": when})
        entity: dict[str, Any] = {
            "PartitionKey": partition,
            "RowKey": encode_key(tag),
            "digest": digest,
            "updated": when,
        }
        put_json(entity, "history", history[:TAG_HISTORY])
        operations: list[Any] = [(TransactionOperation.UPSERT, entity, {"mode": UpdateMode.REPLACE}),
                                 (TransactionOperation.UPSERT, filed, {"mode": UpdateMode.REPLACE})]
        unfiled = {"PartitionKey": partition, "RowKey": digest_tag_key(current.digest, tag)} if current else None
        with storage_errors("save a tag"):
            try:
                table.submit_transaction([*operations, *([(TransactionOperation.DELETE, unfiled)] if unfiled else [])])
            except TableTransactionError as exc:
                if exc.status_code != 404 or unfiled is None:
                    raise
                table.submit_transaction(operations)
        return True

    def tags_of(self, registry: str, repository: str, digest: str) -> list[str]:
        """The tags currently pointing at ``digest``, sorted (read from the pointers themselves)."""
        with storage_errors("list tags"):
            entities = self._tables.table("tags").query_entities(
                "PartitionKey eq @pk and digest eq @digest",
                parameters={"pk": repository_partition(registry, repository), "digest": digest},
            )
            return sorted(decode_key(e["RowKey"]) for e in entities)

    def tags_for(self, registry: str, repository: str, digests: Iterable[str]) -> dict[str, list[str]]:
        """The tags pointing at each of ``digests``, from the rows filed under the digests.

        For one digest, its key range. For more, first one request for every digest row of the
        repository: when they fit in :data:`ONE_READ_ROWS` (most repositories) that answers for all;
        otherwise one key range per digest, up to :data:`PARALLEL_READS` at once.
        """
        table = self._tables.table("tags")
        partition = repository_partition(registry, repository)
        wanted = list(dict.fromkeys(digests))
        if len(wanted) > FEW_DIGESTS:
            with storage_errors("list tags"):
                pages: Any = table.query_entities("PartitionKey eq @pk and RowKey ge @low and RowKey lt @high",
                                             parameters={"pk": partition, "low": "sha256:", "high": "sha256;"},
                                             select=["RowKey", "tag"], results_per_page=ONE_READ_ROWS).by_page()
                first = list(next(pages, []))
                complete = pages.continuation_token is None
            if complete:
                found: dict[str, list[str]] = {digest: [] for digest in wanted}
                for row in first:
                    digest = str(row["RowKey"]).split("!", 1)[0]
                    if digest in found:
                        found[digest].append(str(row["tag"]))
                return {digest: sorted(tags) for digest, tags in found.items()}

        def tags(digest: str) -> list[str]:
            low, high = _digest_range(digest)
            with storage_errors("list tags"):
                rows = table.query_entities("PartitionKey eq @pk and RowKey ge @low and RowKey lt @high",
                                            parameters={"pk": partition, "low": low, "high": high}, select=["tag"])
                return sorted(str(row["tag"]) for row in rows)

        if len(wanted) <= 1:
            return {digest: tags(digest) for digest in wanted}
        with ThreadPoolExecutor(max_workers=min(PARALLEL_READS, len(wanted))) as pool:
            return dict(zip(wanted, pool.map(tags, wanted), strict=True))

    def drop_tags(self, registry: str, repository: str, digest: str) -> None:
        """Remove every tag pointing at ``digest``, and its row under the digest."""
        table = self._tables.table("tags")
        pk = repository_partition(registry, repository)
        with storage_errors("delete tags"):
            pointers = [e["RowKey"] for e in table.query_entities("PartitionKey eq @pk and digest eq @digest",
                                                                   parameters={"pk": pk, "digest": digest},
                                                                   select=["RowKey"])]
        filed = [digest_tag_key(digest, decode_key(row)) for row in pointers]
        filed += [digest_tag_key(digest, tag) for tag in self.tags_for(registry, repository, [digest])[digest]]
        delete_rows(table, [(pk, row) for row in dict.fromkeys([*pointers, *filed])], "delete tags")

    def count_analyzed(self, registry: str) -> int:
        """How many images of ``registry`` are analyzed (a scan of the registry's partitions)."""
        low, high = registry_range(registry)
        with storage_errors("count images"):
            entities = self._tables.table("images").query_entities(
                "PartitionKey ge @low and PartitionKey lt @high and status eq 'analyzed'",
                parameters={"low": low, "high": high}, select=["PartitionKey"],
            )
            return sum(1 for _ in entities)

    def iter_analyzed(self, registry: str | None = None) -> Iterator[ImageRecord]:
        """Every analyzed record (of ``registry``, else of every registry), in key order, so a repository's records
        come together: one filtered scan of the records, read :data:`SCAN_PAGE_ROWS` at a time as the caller
        iterates (at most one page is held)."""
        query, parameters = "status eq 'analyzed'", {}
        if registry is not None:
            low, high = registry_range(registry)
            query, parameters = f"PartitionKey ge @low and PartitionKey lt @high and {query}", {"low": low, "high": high}
        with storage_errors("list analyzed images"):
            pages: Any = self._tables.table("images").query_entities(
                query, parameters=parameters, results_per_page=SCAN_PAGE_ROWS).by_page()
        while True:
            with storage_errors("list analyzed images"):
                page = next(pages, None)
                rows = None if page is None else list(page)
            if rows is None:
                return
            for entity in rows:
                yield _from_entity(entity)

    def relist(self, registry: str, repository: str, digest: str) -> ImageRecord | None:
        """Put the live record of ``digest`` back in the push order and its tags' rows under it, as stored.

        A record without a place in the push order (written before it existed) is given the one
        :func:`push_key` makes, saved on the record under its ETag; rows already there are not
        written again. A delete that got in between is seen afterwards: the push order row is taken
        out again and None returned.
        """
        table, pushed, tags = self._tables.table("images"), self._tables.table("imagesbypush"), self._tables.table("tags")
        partition = repository_partition(registry, repository)
        for _ in attempts("list an image again"):
            with storage_errors("read an image"):
                try:
                    entity = table.get_entity(partition, digest)
                except ResourceNotFoundError:
                    return None
            record = _from_entity(entity)
            if record.status == "deleted":
                return None
            key = str(entity.get("listed_as") or "")
            if not key:
                key = push_key(record)
                if not put_unless_changed(table, {**entity, "listed_as": key}, etag_of(entity), "list an image again"):
                    continue
            break
        with storage_errors("list an image again"):
            try:
                pushed.get_entity(partition, key, select=["RowKey"])
            except ResourceNotFoundError:
                pushed.upsert_entity({**_to_entity(record), "listed_as": key, "RowKey": key, "digest": digest},
                                     mode=UpdateMode.REPLACE)
        missing = set(self.tags_of(registry, repository, digest)) - set(self.tags_for(registry, repository, [digest])[digest])
        upsert_rows(tags, [{"PartitionKey": partition, "RowKey": digest_tag_key(digest, tag), "tag": tag}
                           for tag in sorted(missing)], "list an image's tags again")
        after = self.get(registry, repository, digest)
        if after is None or after.status == "deleted":
            delete_rows(pushed, [(partition, key)], "take a deleted image out of the push order")
            return None
        return record

    def prune_tombstones(self, deleted_before: str) -> int:
        """Remove delete tombstones of deletes that happened before ``deleted_before``; return how many.

        A tombstone only has to outlive the push events that may still arrive after its delete:
        Event Grid gives up on an event after 24 hours.
        """
        table = self._tables.table("images")
        with storage_errors("prune tombstones"):
            old = list(table.query_entities("status eq 'deleted' and event_time lt @cutoff",
                                            parameters={"cutoff": deleted_before}, select=["PartitionKey", "RowKey"]))
            for entity in old:
                table.delete_entity(entity["PartitionKey"], entity["RowKey"])
        return len(old)

    def purge_registry(self, registry: str) -> int:
        """Delete every image record and tag of ``registry``; return how many images were deleted."""
        low, high = registry_range(registry)
        deleted = 0
        for name in ("images", "imagesbypush", "tags"):
            table = self._tables.table(name)
            with storage_errors(f"purge {name}"):
                for entity in list(table.query_entities("PartitionKey ge @low and PartitionKey lt @high",
                                                        parameters={"low": low, "high": high},
                                                        select=["PartitionKey", "RowKey", "status"])):
                    table.delete_entity(entity["PartitionKey"], entity["RowKey"])
                    if name == "images" and entity.get("status") != "deleted":
                        deleted += 1
        return deleted


def registry_range(registry: str) -> tuple[str, str]:
    """The PartitionKey range ``[low, high)`` holding exactly the keys that start with ``enc(registry/)``.

    ``high`` is the prefix with its last character incremented, the usual prefix-range bound.
    """
    low = encode_key(f"{registry}/")
    return low, low[:-1] + chr(ord(low[-1]) + 1)

