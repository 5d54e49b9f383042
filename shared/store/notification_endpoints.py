"""Table storage of notification endpoints: ``<prefix>notifyendpoints``, PartitionKey the integration id,
RowKey the endpoint id. The URL and the signing secret are stored as the ciphertexts they are given."""

from __future__ import annotations

from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode

from shared.notify.model import Endpoint
from shared.store.azure import Tables, storage_errors
from shared.store.batches import delete_rows

_TABLE = "notifyendpoints"


def _safe(value: str) -> bool:
    return bool(value) and len(value) <= 64 and value.isalnum()


def _to_entity(endpoint: Endpoint) -> dict[str, Any]:
    return {"PartitionKey": endpoint.integration_id, "RowKey": endpoint.id, "name": endpoint.name,
            "url_display": endpoint.url_display, "url_encrypted": endpoint.url_encrypted,
            "secret_encrypted": endpoint.secret_encrypted, "format": endpoint.format,
            "min_severity": endpoint.min_severity, "events": ",".join(endpoint.events), "created": endpoint.created}


def _from_entity(entity: dict[str, Any]) -> Endpoint:
    return Endpoint(integration_id=entity["PartitionKey"], id=entity["RowKey"], name=str(entity["name"]),
                    url_display=str(entity["url_display"]), url_encrypted=str(entity["url_encrypted"]),
                    secret_encrypted=str(entity["secret_encrypted"]), format=str(entity["format"]),
                    min_severity=str(entity["min_severity"]),
                    events=tuple(e for e in str(entity.get("events", "")).split(",") if e),
                    created=str(entity.get("created", "")))


class NotificationEndpointStore:
    """Implements :class:`~shared.records.NotificationEndpoints`."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def get(self, integration_id: str, endpoint_id: str) -> Endpoint | None:
        if not _safe(integration_id) or not _safe(endpoint_id):
            return None
        with storage_errors("read a notification endpoint"):
            try:
                return _from_entity(self._tables.table(_TABLE).get_entity(integration_id, endpoint_id))
            except ResourceNotFoundError:
                return None

    def list(self, integration_id: str) -> list[Endpoint]:
        if not _safe(integration_id):
            return []
        with storage_errors("list notification endpoints"):
            entities = list(self._tables.table(_TABLE).query_entities("PartitionKey eq @pk",
                                                                      parameters={"pk": integration_id}))
        return sorted((_from_entity(e) for e in entities), key=lambda e: (e.created, e.id))

    def put(self, endpoint: Endpoint) -> None:
        with storage_errors("save a notification endpoint"):
            self._tables.table(_TABLE).upsert_entity(_to_entity(endpoint), mode=UpdateMode.REPLACE)

    def delete(self, integration_id: str, endpoint_id: str) -> None:
        with storage_errors("delete a notification endpoint"):
            self._tables.table(_TABLE).delete_entity(integration_id, endpoint_id)

    def purge_integration(self, integration_id: str) -> int:
        """Remove every endpoint of the integration, encrypted URL and secret with it; how many."""
        if not _safe(integration_id):
            return 0
        table = self._tables.table(_TABLE)
        with storage_errors("list notification endpoints"):
            keys = [(e["PartitionKey"], e["RowKey"]) for e in table.query_entities(
                "PartitionKey eq @pk", parameters={"pk": integration_id}, select=["PartitionKey", "RowKey"])]
        delete_rows(table, keys, "delete notification endpoints")
        return len(keys)
