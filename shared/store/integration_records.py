"""Table storage of integrations and of their repositories' activation."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode

from shared.integrations.model import Integration
from shared.store.azure import Tables, storage_errors
from shared.store.keys import decode_key, encode_key

_PARTITION = "integration"
_FIELDS = {f.name for f in fields(Integration)}


def _to_entity(integration: Integration) -> dict[str, Any]:
    entity: dict[str, Any] = {"PartitionKey": _PARTITION, "RowKey": integration.id}
    entity.update({k: v for k, v in asdict(integration).items() if k != "id" and v is not None})
    return entity


def _from_entity(entity: dict[str, Any]) -> Integration:
    values = {k: v for k, v in entity.items() if k in _FIELDS}
    values["id"] = entity["RowKey"]
    return Integration(**values)


class IntegrationStore:
    """Integrations keyed by id, in table ``<prefix>integrations``."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def get(self, integration_id: str) -> Integration | None:
        """The integration, or None when there is none with that id."""
        if not integration_id or len(integration_id) > 64 or not integration_id.isalnum():
            return None
        with storage_errors("read an integration"):
            try:
                return _from_entity(self._tables.table("integrations").get_entity(_PARTITION, integration_id))
            except ResourceNotFoundError:
                return None

    def list(self) -> list[Integration]:
        """Every integration, ordered by creation time."""
        with storage_errors("list integrations"):
            entities = list(self._tables.table("integrations").query_entities(f"PartitionKey eq '{_PARTITION}'"))
        return sorted((_from_entity(e) for e in entities), key=lambda i: (i.created, i.id))

    def put(self, integration: Integration) -> None:
        """Create or replace the integration (replace, so fields set to None are removed)."""
        with storage_errors("save an integration"):
            self._tables.table("integrations").upsert_entity(_to_entity(integration), mode=UpdateMode.REPLACE)

    def touch_last_event(self, integration_id: str, when: str) -> None:
        """Record that a delivery arrived for the integration (a merge of one property)."""
        with storage_errors("record the last event time"):
            self._tables.table("integrations").upsert_entity(
                {"PartitionKey": _PARTITION, "RowKey": integration_id, "last_event": when}, mode=UpdateMode.MERGE
            )

    def delete(self, integration_id: str) -> None:
        """Remove the integration; removing one that does not exist is not an error."""
        with storage_errors("delete an integration"):
            self._tables.table("integrations").delete_entity(_PARTITION, integration_id)


class RepositorySettings:
    """Which repositories of an integration are activated, in table ``<prefix>repositories``."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def set_enabled(self, integration_id: str, repository: str, enabled: bool, when: str) -> None:
        """Activate or deactivate analysis of ``repository`` for the integration."""
        entity = {
            "PartitionKey": integration_id,
            "RowKey": encode_key(repository),
            "repository": repository,
            "enabled": enabled,
            "updated": when,
        }
        with storage_errors("save a repository setting"):
            self._tables.table("repositories").upsert_entity(entity, mode=UpdateMode.REPLACE)

    def is_enabled(self, integration_id: str, repository: str) -> bool:
        """Whether pushes to ``repository`` are analyzed."""
        with storage_errors("read a repository setting"):
            try:
                entity = self._tables.table("repositories").get_entity(integration_id, encode_key(repository))
            except ResourceNotFoundError:
                return False
        return bool(entity.get("enabled"))

    def enabled_repositories(self, integration_id: str) -> dict[str, bool]:
        """Every repository with a setting for the integration, mapped to whether it is activated."""
        with storage_errors("list repository settings"):
            entities = self._tables.table("repositories").query_entities(
                "PartitionKey eq @pk", parameters={"pk": integration_id}
            )
            return {decode_key(e["RowKey"]): bool(e.get("enabled")) for e in entities}

    def delete_all(self, integration_id: str) -> None:
        """Remove every repository setting of the integration."""
        table = self._tables.table("repositories")
        with storage_errors("delete repository settings"):
            for entity in list(table.query_entities("PartitionKey eq @pk", parameters={"pk": integration_id})):
                table.delete_entity(entity["PartitionKey"], entity["RowKey"])
