"""Table storage of notification deliveries: ``<prefix>notifydeliveries``, PartitionKey the endpoint id,
RowKey the delivery id, and one more row per endpoint, RowKey ``~latest``, a copy of the delivery written
last (what ``lookout notifications list`` shows)."""

from __future__ import annotations

from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient, UpdateMode

from shared.notify.model import Delivery
from shared.store.azure import Tables, storage_errors
from shared.store.batches import delete_rows

_TABLE = "notifydeliveries"
_LATEST = "~latest"
_PRUNE_CHUNK = 1000


def _to_entity(delivery: Delivery, row: str) -> dict[str, Any]:
    entity = {"PartitionKey": delivery.endpoint_id, "RowKey": row, "delivery": delivery.id, "event": delivery.event,
              "image": delivery.image, "status": delivery.status, "created": delivery.created,
              "updated": delivery.updated, "attempts": delivery.attempts, "answer": delivery.answer[:1000],
              "test": delivery.test}
    if delivery.http_status is not None:
        entity["http_status"] = delivery.http_status
    return entity


def _from_entity(entity: dict[str, Any]) -> Delivery:
    status = entity.get("http_status")
    return Delivery(endpoint_id=entity["PartitionKey"], id=str(entity["delivery"]), event=str(entity["event"]),
                    image=str(entity["image"]), status=entity["status"], created=str(entity["created"]),
                    updated=str(entity["updated"]), attempts=int(entity.get("attempts", 0)),
                    http_status=int(status) if status is not None else None, answer=str(entity.get("answer", "")),
                    test=bool(entity.get("test", False)))


class NotificationDeliveryStore:
    """Implements :class:`~shared.records.NotificationDeliveries`."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def _get(self, endpoint_id: str, row: str) -> Delivery | None:
        with storage_errors("read a notification delivery"):
            try:
                return _from_entity(self._tables.table(_TABLE).get_entity(endpoint_id, row))
            except ResourceNotFoundError:
                return None

    def get(self, endpoint_id: str, delivery_id: str) -> Delivery | None:
        if not endpoint_id.isalnum() or not delivery_id.replace("-", "").isalnum():
            return None
        return self._get(endpoint_id, delivery_id)

    def latest(self, endpoint_id: str) -> Delivery | None:
        if not endpoint_id.isalnum():
            return None
        return self._get(endpoint_id, _LATEST)

    def put(self, delivery: Delivery) -> None:
        table = self._tables.table(_TABLE)
        with storage_errors("record a notification delivery"):
            table.upsert_entity(_to_entity(delivery, delivery.id), mode=UpdateMode.REPLACE)
            table.upsert_entity(_to_entity(delivery, _LATEST), mode=UpdateMode.REPLACE)

    def delete_all(self, endpoint_id: str) -> None:
        table = self._tables.table(_TABLE)
        with storage_errors("delete notification deliveries"):
            for entity in list(table.query_entities("PartitionKey eq @pk", parameters={"pk": endpoint_id},
                                                    select=["PartitionKey", "RowKey"])):
                table.delete_entity(entity["PartitionKey"], entity["RowKey"])

    def prune(self, updated_before: str) -> int:
        """Remove the deliveries last updated before ``updated_before``; how many.

        Each endpoint's ``~latest`` row stays, and so does the delivery row it copies, so that what
        ``lookout notifications list`` shows can still be looked up. Rows are deleted a bounded chunk at a
        time as the query goes on (one transaction per endpoint and per 100 rows).
        """
        table = self._tables.table(_TABLE)
        chunk: list[tuple[str, str, str]] = []
        pruned = 0
        with storage_errors("read old notification deliveries"):
            rows = table.query_entities("updated lt @cutoff", parameters={"cutoff": updated_before},
                                        select=["PartitionKey", "RowKey", "delivery"], results_per_page=1000)
            for entity in rows:
                chunk.append((str(entity["PartitionKey"]), str(entity["RowKey"]), str(entity.get("delivery", ""))))
                if len(chunk) >= _PRUNE_CHUNK:
                    pruned += self._prune_chunk(table, chunk)
                    chunk = []
        return pruned + self._prune_chunk(table, chunk)

    def _prune_chunk(self, table: TableClient, rows: list[tuple[str, str, str]]) -> int:
        """Delete ``rows`` (PartitionKey, RowKey, delivery id) but the ``~latest`` rows and the deliveries they copy."""
        kept = {partition: delivery for partition, row, delivery in rows if row == _LATEST}
        for partition in {partition for partition, _, _ in rows} - set(kept):
            kept[partition] = self._latest_id(partition)
        doomed = [(partition, row) for partition, row, _ in rows if row not in (_LATEST, kept[partition])]
        delete_rows(table, doomed, "prune notification deliveries")
        return len(doomed)

    def _latest_id(self, endpoint_id: str) -> str:
        latest = self._get(endpoint_id, _LATEST)
        return latest.id if latest is not None else ""
