"""Table storage of base image detection: the diff-ID chain index and the imported public bases.

Table ``<prefix>basechains``: PartitionKey the chain key (hex sha256 of the diff IDs, see
:func:`~shared.bases.chains.chain_key`), RowKey the entry's :attr:`~shared.bases.model.ChainEntry.identity`,
``entry`` its JSON. Looking up a chain is one partition query, so detecting a base costs at most one
query per layer of the image.

Table ``<prefix>publicbases``: PartitionKey the encoded name, RowKey the encoded tag, ``digest`` and
``imported``, and the base's JSON (``base``, chunked: a chain of 512 diff IDs is 37 KB). A
:class:`~shared.records.BaseRecords`.
"""

from __future__ import annotations

import json
from itertools import islice
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode

from shared.bases.model import MAX_CHAIN_ENTRIES, MAX_PUBLIC_LISTED, ChainEntry, PublicBase
from shared.store.azure import Tables, storage_errors
from shared.store.batches import delete_rows
from shared.store.keys import decode_key, encode_key, get_json, put_json

CHAINS = "basechains"
PUBLIC = "publicbases"
_PURGE_CHUNK = 1000


class BaseStore:
    """The chain index and the public bases, on Table storage."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def file(self, chain: str, entry: ChainEntry) -> None:
        """File (replace) ``entry`` under ``chain``."""
        entity = {"PartitionKey": chain, "RowKey": entry.identity,
                  "entry": json.dumps(entry.to_json(), separators=(",", ":"))}
        with storage_errors("file a layer chain"):
            self._tables.table(CHAINS).upsert_entity(entity, mode=UpdateMode.REPLACE)

    def unfile(self, chain: str, entry: ChainEntry) -> None:
        """Remove ``entry`` from ``chain`` (absent is fine)."""
        with storage_errors("unfile a layer chain"):
            self._tables.table(CHAINS).delete_entity(chain, entry.identity)

    def entries(self, chain: str) -> list[ChainEntry]:
        """The entries of ``chain`` (at most :data:`MAX_CHAIN_ENTRIES`)."""
        with storage_errors("read a layer chain"):
            rows = self._tables.table(CHAINS).query_entities("PartitionKey eq @pk", parameters={"pk": chain},
                                                            results_per_page=MAX_CHAIN_ENTRIES)
            found = list(islice(rows, MAX_CHAIN_ENTRIES))
        entries = []
        for row in found:
            try:
                entries.append(ChainEntry.from_json(json.loads(str(row["entry"]))))
            except (KeyError, TypeError, ValueError):
                continue
        return entries

    def purge_registry(self, registry: str) -> int:
        """Unfile every image of ``registry`` from every chain (public bases stay); how many entries.

        Chains are keyed by content, not by registry, so this reads the whole chain index (the key and
        ``entry`` of each row, page by page) and deletes a bounded chunk at a time.
        """
        table = self._tables.table(CHAINS)
        doomed: list[tuple[str, str]] = []
        purged = 0
        with storage_errors("read the layer chains"):
            for row in table.list_entities(select=["PartitionKey", "RowKey", "entry"], results_per_page=1000):
                if _entry_registry(row) == registry:
                    doomed.append((str(row["PartitionKey"]), str(row["RowKey"])))
                if len(doomed) >= _PURGE_CHUNK:
                    delete_rows(table, doomed, "unfile layer chains")
                    purged, doomed = purged + len(doomed), []
        delete_rows(table, doomed, "unfile layer chains")
        return purged + len(doomed)

    def put_public(self, base: PublicBase) -> None:
        """Point ``base.name:base.tag`` at ``base``."""
        entity: dict[str, Any] = {"PartitionKey": encode_key(base.name), "RowKey": encode_key(base.tag),
                                  "digest": base.digest, "imported": base.imported}
        put_json(entity, "base", base.to_json())
        with storage_errors("save a public base"):
            self._tables.table(PUBLIC).upsert_entity(entity, mode=UpdateMode.REPLACE)

    def get_public(self, name: str, tag: str) -> PublicBase | None:
        """Where ``name:tag`` points, or None."""
        with storage_errors("read a public base"):
            try:
                entity = self._tables.table(PUBLIC).get_entity(encode_key(name), encode_key(tag))
            except ResourceNotFoundError:
                return None
        return _public(entity)

    def list_public(self, name: str | None = None) -> list[PublicBase]:
        """Every public base (of ``name``), by name then tag; at most :data:`MAX_PUBLIC_LISTED`."""
        table = self._tables.table(PUBLIC)
        with storage_errors("list public bases"):
            if name is None:
                rows = table.list_entities(results_per_page=1000)
            else:
                rows = table.query_entities("PartitionKey eq @pk", parameters={"pk": encode_key(name)},
                                            results_per_page=1000)
            found = list(islice(rows, MAX_PUBLIC_LISTED))
        bases = [base for base in (_public(row) for row in found) if base is not None]
        return sorted(bases, key=lambda b: (b.name, b.tag))


def _entry_registry(row: dict[str, Any]) -> str | None:
    """The registry of the image a chain row files; None for a public base or a row that does not parse."""
    try:
        entry = ChainEntry.from_json(json.loads(str(row["entry"])))
    except (KeyError, TypeError, ValueError):
        return None
    return entry.registry if entry.kind == "image" else None


def _public(entity: dict[str, Any]) -> PublicBase | None:
    value = get_json(entity, "base")
    if not isinstance(value, dict):
        return None
    try:
        return PublicBase.from_json(value)
    except (KeyError, TypeError, ValueError):
        return PublicBase(name=decode_key(str(entity["PartitionKey"])), tag=decode_key(str(entity["RowKey"])),
                          digest=str(entity.get("digest", "")), diff_ids=())
