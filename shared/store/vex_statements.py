"""Table storage of imported VEX documents.

Table ``<prefix>vex``: PartitionKey the encoded registry of the scope, RowKey the document's id in
Lookout; ``integration``, ``repository`` and ``image`` say the scope (empty when wider), ``imported``
when, and the :class:`~shared.vex.model.ImportedVex` itself compressed (statements included). A
:class:`~shared.records.VexStatements`.
"""

from __future__ import annotations

from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode

from shared.store.azure import Tables, storage_errors
from shared.store.batches import delete_rows
from shared.store.keys import encode_key, get_compressed_json, put_compressed_json
from shared.vex.model import ImportedVex


def _from_entity(entity: dict[str, Any]) -> ImportedVex | None:
    value = get_compressed_json(entity, "vex")
    return ImportedVex.from_json(value) if isinstance(value, dict) else None


def _ordered(entities: Any) -> list[ImportedVex]:
    found = [vex for vex in (_from_entity(e) for e in entities) if vex is not None]
    return sorted(found, key=lambda vex: (vex.imported, vex.id))


class VexStore:
    """Imported VEX documents, one row each."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def put(self, vex: ImportedVex) -> None:
        """Store (replace) ``vex`` (:class:`~shared.store.keys.ValueTooLarge` when it does not fit one row)."""
        entity: dict[str, Any] = {"PartitionKey": encode_key(vex.scope.registry), "RowKey": encode_key(vex.id),
                                  "integration": vex.scope.integration, "repository": vex.scope.repository,
                                  "image": vex.scope.image, "imported": vex.imported}
        put_compressed_json(entity, "vex", vex.to_json())
        with storage_errors("save a VEX document"):
            self._tables.table("vex").upsert_entity(entity, mode=UpdateMode.REPLACE)

    def get(self, registry: str, vex_id: str) -> ImportedVex | None:
        """The imported document, or None."""
        with storage_errors("read a VEX document"):
            try:
                entity = self._tables.table("vex").get_entity(encode_key(registry), encode_key(vex_id))
            except ResourceNotFoundError:
                return None
        return _from_entity(entity)

    def list_documents(self, registry: str | None = None) -> list[ImportedVex]:
        """Every imported document (of ``registry``), in import order."""
        table = self._tables.table("vex")
        with storage_errors("list VEX documents"):
            if registry is None:
                return _ordered(table.list_entities())
            return _ordered(table.query_entities("PartitionKey eq @pk", parameters={"pk": encode_key(registry)}))

    def for_repository(self, registry: str, repository: str) -> list[ImportedVex]:
        """The documents of the whole integration, of ``repository`` and of its images, in import order."""
        with storage_errors("read VEX documents"):
            return _ordered(self._tables.table("vex").query_entities(
                "PartitionKey eq @pk and ( repository eq '' or repository eq @repository )",
                parameters={"pk": encode_key(registry), "repository": repository}))

    def scoped_repositories(self, registry: str) -> set[str]:
        """The ``repository`` of every document of ``registry`` (``""``: the whole integration), read as keys."""
        with storage_errors("read VEX documents"):
            return {str(e.get("repository", "")) for e in self._tables.table("vex").query_entities(
                "PartitionKey eq @pk", parameters={"pk": encode_key(registry)}, select=["repository"])}

    def delete(self, registry: str, vex_id: str) -> None:
        """Remove the document; removing one that is not there is not an error."""
        with storage_errors("delete a VEX document"):
            self._tables.table("vex").delete_entity(encode_key(registry), encode_key(vex_id))

    def purge_registry(self, registry: str) -> int:
        """Remove every document whose scope is in ``registry`` (one partition); how many."""
        table = self._tables.table("vex")
        with storage_errors("read VEX documents"):
            keys = [(e["PartitionKey"], e["RowKey"]) for e in table.query_entities(
                "PartitionKey eq @pk", parameters={"pk": encode_key(registry)}, select=["PartitionKey", "RowKey"])]
        delete_rows(table, keys, "delete VEX documents")
        return len(keys)
