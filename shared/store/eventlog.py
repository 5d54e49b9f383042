"""The log of Event Grid event ids, claimed atomically so that each event becomes at most one job.

Table ``<prefix>events``: PartitionKey the integration id, RowKey the SHA-256 of the event id (so that
every id fits a key), ``event`` the id itself; ``state`` is
``pending`` while a delivery holds the claim (``claimed`` is when it took it) and ``queued`` once the
event's job is durably enqueued (``accepted``, ``job``). An :class:`~shared.records.AcceptedEvents`.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import UpdateMode

from shared.records import Claim
from shared.store.azure import Tables, storage_errors

CLAIM_TIMEOUT = timedelta(minutes=2)
"""A pending claim older than this belongs to a delivery that died between claim and enqueue (the
webhook answers well within Event Grid's 30-second timeout): the next delivery takes it over."""


class EventLog:
    """Claims of event ids per integration."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def claim(self, integration_id: str, event_id: str, when: str) -> Claim:
        """Claim the event at ``when`` (canonical time): ``claimed`` when this delivery now holds it,
        ``accepted`` when an earlier delivery queued its job, ``in-flight`` when another delivery holds
        a fresh claim. The insert is atomic: of concurrent claims exactly one gets ``claimed``."""
        table = self._tables.table("events")
        key = _row_key(event_id)
        entity = {"PartitionKey": integration_id, "RowKey": key, "event": event_id, "state": "pending", "claimed": when}
        with storage_errors("claim an event"):
            for _ in range(2):
                try:
                    table.create_entity(entity)
                    return "claimed"
                except ResourceExistsError:
                    pass
                try:
                    existing = table.get_entity(integration_id, key)
                except ResourceNotFoundError:
                    continue  # released meanwhile: try the insert once more
                if existing.get("state", "queued") == "queued":
                    return "accepted"
                if not _expired(str(existing.get("claimed", "")), when):
                    return "in-flight"
                try:
                    table.update_entity(entity, mode=UpdateMode.REPLACE, etag=existing.metadata["etag"],
                                        match_condition=MatchConditions.IfNotModified)
                    return "claimed"
                except HttpResponseError:
                    return "in-flight"  # another delivery took the stale claim over first
        return "in-flight"

    def confirm(self, integration_id: str, event_id: str, when: str, job_key: str) -> None:
        """Mark a claimed event ``queued``: its job is durably enqueued."""
        entity = {"PartitionKey": integration_id, "RowKey": _row_key(event_id), "event": event_id, "state": "queued",
                  "claimed": when, "accepted": when, "job": job_key}
        with storage_errors("confirm an event"):
            self._tables.table("events").upsert_entity(entity, mode=UpdateMode.REPLACE)

    def release(self, integration_id: str, event_id: str) -> None:
        """Give a claim up (its job could not be enqueued), so that a redelivery can claim it at once."""
        with storage_errors("release an event claim"):
            self._tables.table("events").delete_entity(integration_id, _row_key(event_id))

    def prune(self, accepted_before: str) -> int:
        """Forget event ids claimed or accepted before ``accepted_before`` (canonical time); return how many."""
        table = self._tables.table("events")
        with storage_errors("prune the event log"):
            old = list(table.query_entities("accepted lt @cutoff or claimed lt @cutoff",
                                            parameters={"cutoff": accepted_before}, select=["PartitionKey", "RowKey"]))
            for entity in old:
                table.delete_entity(entity["PartitionKey"], entity["RowKey"])
        return len(old)


def _row_key(event_id: str) -> str:
    return hashlib.sha256(event_id.encode("utf-8")).hexdigest()


def _expired(claimed: str, now: str) -> bool:
    try:
        then = datetime.fromisoformat(claimed.replace("Z", "+00:00"))
        current = datetime.fromisoformat(now.replace("Z", "+00:00"))
    except ValueError:
        return True
    return current - then >= CLAIM_TIMEOUT
