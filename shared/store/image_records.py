"""Table storage of image records and tag pointers.

Images live in table ``<prefix>images`` (PartitionKey: encoded ``registry/repository``, RowKey: the
manifest digest), tags in ``<prefix>tags`` (same PartitionKey, RowKey: encoded tag). Every write is
an upsert, so a retried job is harmless.
"""

from __future__ import annotations

from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode

from shared.images.model import ImageRecord, PlatformRecord, TagRecord
from shared.store.azure import Tables, storage_errors
from shared.store.keys import decode_key, encode_key, get_json, put_json

TAG_HISTORY = 20
"""How many earlier digests a tag remembers."""

_SCALARS = ("registry", "repository", "status", "media_type", "size", "event_time", "received", "analyzed",
            "duration_ms", "attempts", "error_code", "error", "fixable")


def repository_partition(registry: str, repository: str) -> str:
    """The PartitionKey shared by a repository's images and tags."""
    return encode_key(f"{registry}/{repository}")


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
    return entity


def _from_entity(entity: dict[str, Any]) -> ImageRecord:
    values = {name: entity[name] for name in _SCALARS if name in entity}
    platforms = tuple(PlatformRecord.from_json(p) for p in get_json(entity, "platforms", []))
    vulnerabilities = {str(k): int(v) for k, v in (get_json(entity, "vulnerabilities", {}) or {}).items()}
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
        """Create or replace the record."""
        with storage_errors("save an image"):
            self._tables.table("images").upsert_entity(_to_entity(record), mode=UpdateMode.REPLACE)

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

        A pointer set by a later event is kept: events arrive out of order.
        """
        current = self.get_tag(registry, repository, tag)
        if current is not None:
            if current.digest == digest:
                return False
            if current.updated and when and current.updated > when:
                return False
        history = list(current.history) if current else []
        if current is not None:
            history.insert(0, {"digest": current.digest, "until": when})
        entity: dict[str, Any] = {
            "PartitionKey": repository_partition(registry, repository),
            "RowKey": encode_key(tag),
            "digest": digest,
            "updated": when,
        }
        put_json(entity, "history", history[:TAG_HISTORY])
        with storage_errors("save a tag"):
            self._tables.table("tags").upsert_entity(entity, mode=UpdateMode.REPLACE)
        return True

    def tags_of(self, registry: str, repository: str, digest: str) -> list[str]:
        """The tags currently pointing at ``digest``, sorted."""
        with storage_errors("list tags"):
            entities = self._tables.table("tags").query_entities(
                "PartitionKey eq @pk and digest eq @digest",
                parameters={"pk": repository_partition(registry, repository), "digest": digest},
            )
            return sorted(decode_key(e["RowKey"]) for e in entities)

    def drop_tags(self, registry: str, repository: str, digest: str) -> None:
        """Remove every tag pointing at ``digest``."""
        table = self._tables.table("tags")
        pk = repository_partition(registry, repository)
        with storage_errors("delete tags"):
            for entity in list(table.query_entities("PartitionKey eq @pk and digest eq @digest",
                                                    parameters={"pk": pk, "digest": digest})):
                table.delete_entity(pk, entity["RowKey"])

    def count_analyzed(self, registry: str) -> int:
        """How many images of ``registry`` are analyzed (a scan of the registry's partitions)."""
        low, high = registry_range(registry)
        with storage_errors("count images"):
            entities = self._tables.table("images").query_entities(
                "PartitionKey ge @low and PartitionKey lt @high and status eq 'analyzed'",
                parameters={"low": low, "high": high}, select=["PartitionKey"],
            )
            return sum(1 for _ in entities)

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
        for name in ("images", "tags"):
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

