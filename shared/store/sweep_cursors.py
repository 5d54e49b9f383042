"""Table storage of sweep cursors: where a bounded sweep stopped, so that its next run continues there.

Table ``<prefix>sweepcursors``: PartitionKey ``cursor``, RowKey the encoded scope; ``integration`` and
``repository`` name the last repository the sweep finished, ``updated`` when it was written. A row
without them (or no row) means: start from the beginning. A :class:`~shared.records.SweepCursors`.
"""

from __future__ import annotations

from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode

from shared.store.azure import Tables, storage_errors
from shared.store.keys import encode_key

_PARTITION = "cursor"


class SweepCursorStore:
    """Sweep cursors, one row per scope."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def last_finished(self, scope: str) -> tuple[str, str] | None:
        """The (integration id, repository) the last run of ``scope`` finished last; None: start from the beginning."""
        with storage_errors("read a sweep cursor"):
            try:
                entity = self._tables.table("sweepcursors").get_entity(_PARTITION, encode_key(scope))
            except ResourceNotFoundError:
                return None
        integration, repository = entity.get("integration"), entity.get("repository")
        if isinstance(integration, str) and isinstance(repository, str) and integration and repository:
            return integration, repository
        return None

    def record(self, scope: str, last: tuple[str, str] | None, when: str) -> None:
        """Remember ``last`` for ``scope`` (replacing what was there); None: the next run starts over."""
        entity: dict[str, Any] = {"PartitionKey": _PARTITION, "RowKey": encode_key(scope), "updated": when}
        if last is not None:
            entity["integration"], entity["repository"] = last
        with storage_errors("save a sweep cursor"):
            self._tables.table("sweepcursors").upsert_entity(entity, mode=UpdateMode.REPLACE)
