"""The analysis's per-layer result cache in Table storage (``<prefix>layers``).

PartitionKey is the encoded layer blob digest and RowKey ``<cataloger>@<version>``, so one layer's
entries come back with one partition query. Entries are immutable (content-keyed) and kept forever;
a value too large for one entity is simply not cached (the layer is read again next time).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from azure.data.tables import UpdateMode

from shared.analysis.cache import CacheKey
from shared.store.azure import Tables, storage_errors
from shared.store.keys import ValueTooLarge, encode_key, get_compressed_json, put_compressed_json

log = logging.getLogger(__name__)


class TableLayerCache:
    """A :class:`shared.analysis.cache.LayerCache` on Table storage."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def get_many(self, keys: Sequence[CacheKey]) -> dict[CacheKey, Mapping[str, Any]]:
        """The present entries among ``keys`` (one partition query per distinct layer)."""
        found: dict[CacheKey, Mapping[str, Any]] = {}
        wanted: dict[str, dict[str, CacheKey]] = {}
        for key in keys:
            wanted.setdefault(key.layer, {})[key.row] = key
        table = self._tables.table("layers")
        for layer, rows in wanted.items():
            with storage_errors("read the layer cache"):
                entities = list(table.query_entities("PartitionKey eq @pk", parameters={"pk": encode_key(layer)}))
            for entity in entities:
                wanted_key = rows.get(entity["RowKey"])
                if wanted_key is None:
                    continue
                value = get_compressed_json(entity, "value")
                if isinstance(value, dict):
                    found[wanted_key] = value
        return found

    def put_many(self, entries: Mapping[CacheKey, Mapping[str, Any]]) -> None:
        """Store every entry that fits in one entity; larger ones are skipped with a log line."""
        table = self._tables.table("layers")
        for key, value in entries.items():
            entity: dict[str, Any] = {"PartitionKey": encode_key(key.layer), "RowKey": key.row}
            try:
                put_compressed_json(entity, "value", dict(value))
            except ValueTooLarge:
                log.warning("layer %s: the %s result is too large to cache", key.layer, key.row)
                continue
            with storage_errors("write the layer cache"):
                table.upsert_entity(entity, mode=UpdateMode.REPLACE)
