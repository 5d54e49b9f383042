"""Table storage of repository summaries: what the repository listing shows, one row per repository.

``<prefix>repositorysummaries``: PartitionKey the encoded registry host, RowKey the encoded repository
name; ``enabled``, ``images`` (live images), and the newest live image as JSON (``latest``). The
listing reads one partition twice in key order: the activated repositories (``enabled eq true``),
then the others. Updates are read-modify-writes checked by ETag.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from shared.images.listing import LatestImage, Page, RepositorySummary
from shared.store.azure import Tables, storage_errors
from shared.store.batches import delete_rows
from shared.store.conditional import attempts, delete_unless_changed, etag_of, put_unless_changed
from shared.store.keys import encode_key, get_json, put_json
from shared.store.pages import Segment, read_page

TABLE = "repositorysummaries"


def _to_entity(summary: RepositorySummary) -> dict[str, Any]:
    entity: dict[str, Any] = {"PartitionKey": encode_key(summary.registry), "RowKey": encode_key(summary.repository),
                              "registry": summary.registry, "repository": summary.repository,
                              "enabled": summary.enabled, "images": summary.images}
    put_json(entity, "latest", summary.latest.to_json() if summary.latest else None)
    return entity


def _from_entity(entity: dict[str, Any]) -> RepositorySummary:
    latest = get_json(entity, "latest")
    return RepositorySummary(registry=str(entity["registry"]), repository=str(entity["repository"]),
                             enabled=bool(entity.get("enabled")), images=int(entity.get("images", 0)),
                             latest=LatestImage.from_json(latest) if isinstance(latest, dict) else None)


class RepositorySummaryStore:
    """Repository summaries per registry (:class:`~shared.records.RepositorySummaries`)."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def update(self, registry: str, repository: str,
               change: Callable[[RepositorySummary | None], RepositorySummary | None]) -> RepositorySummary | None:
        """Read the summary, apply ``change`` and write the result if nothing changed it meanwhile; else again."""
        table = self._tables.table(TABLE)
        partition, row = encode_key(registry), encode_key(repository)
        for _ in attempts("update a repository summary"):
            with storage_errors("read a repository summary"):
                try:
                    existing: dict[str, Any] | None = table.get_entity(partition, row)
                except ResourceNotFoundError:
                    existing = None
            current = _from_entity(existing) if existing is not None else None
            wanted = change(current)
            if wanted == current:
                return current
            if wanted is None:
                assert existing is not None
                if delete_unless_changed(table, partition, row, etag_of(existing), "remove a repository summary"):
                    return None
                continue
            if (wanted.registry, wanted.repository) != (registry, repository):
                raise ValueError("a summary update must keep the registry and repository")
            etag = etag_of(existing) if existing is not None else None
            if put_unless_changed(table, _to_entity(wanted), etag, "save a repository summary"):
                return wanted
        return None  # pragma: no cover - attempts() raises when they run out

    def list(self, registry: str, limit: int, cursor: str | None = None) -> Page[RepositorySummary]:
        """The registry's summaries: activated repositories by name, then the others by name."""
        partition = encode_key(registry)
        segments = [Segment("enabled", partition, where="enabled eq true"),
                    Segment("disabled", partition, where="enabled eq false")]
        rows, following = read_page(self._tables.table(TABLE), segments, cursor, limit, action="list repositories")
        return Page(tuple(_from_entity(row) for row in rows), following)

    def purge_registry(self, registry: str) -> None:
        """Delete every summary of ``registry`` (one partition)."""
        table = self._tables.table(TABLE)
        with storage_errors("purge repository summaries"):
            keys = [(e["PartitionKey"], e["RowKey"]) for e in table.query_entities(
                "PartitionKey eq @pk", parameters={"pk": encode_key(registry)}, select=["PartitionKey", "RowKey"])]
        delete_rows(table, keys, "purge repository summaries")
