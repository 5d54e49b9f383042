"""The log of event ids already accepted, so that Event Grid's duplicate deliveries are dropped."""

from __future__ import annotations

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode

from shared.store.azure import Tables, storage_errors
from shared.store.keys import encode_key


class EventLog:
    """Event ids per integration, in table ``<prefix>events``.

    An id is recorded only after its job is durably enqueued; a failure between the two leads to a
    second job for the same digest, which the worker treats as a duplicate.
    """

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def seen(self, integration_id: str, event_id: str) -> bool:
        """Whether the event was already accepted for the integration."""
        with storage_errors("read the event log"):
            try:
                self._tables.table("events").get_entity(integration_id, encode_key(event_id), select=["RowKey"])
            except ResourceNotFoundError:
                return False
        return True

    def record(self, integration_id: str, event_id: str, when: str, job_key: str) -> None:
        """Remember that the event was accepted (idempotent)."""
        entity = {"PartitionKey": integration_id, "RowKey": encode_key(event_id), "accepted": when, "job": job_key}
        with storage_errors("write the event log"):
            self._tables.table("events").upsert_entity(entity, mode=UpdateMode.REPLACE)

    def prune(self, accepted_before: str) -> int:
        """Forget event ids accepted before ``accepted_before`` (canonical time); return how many."""
        table = self._tables.table("events")
        with storage_errors("prune the event log"):
            old = list(table.query_entities("accepted lt @cutoff", parameters={"cutoff": accepted_before},
                                            select=["PartitionKey", "RowKey"]))
            for entity in old:
                table.delete_entity(entity["PartitionKey"], entity["RowKey"])
        return len(old)
