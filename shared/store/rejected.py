"""Queue messages the worker can never process, kept for inspection instead of retried forever."""

from __future__ import annotations

from azure.data.tables import UpdateMode

from shared.store.azure import Tables, storage_errors
from shared.store.keys import encode_key

MAX_KEPT_CHARS = 8 * 1024


class RejectedJobs:
    """Rejected messages in table ``<prefix>rejectedjobs``, one partition per day."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def record(self, message_id: str, text: str, reason: str, when: str) -> None:
        """Keep the first :data:`MAX_KEPT_CHARS` characters of the message and why it was rejected."""
        entity = {
            "PartitionKey": when[:10],
            "RowKey": encode_key(message_id or when),
            "text": text[:MAX_KEPT_CHARS],
            "reason": reason[:1024],
            "rejected": when,
        }
        with storage_errors("record a rejected job"):
            self._tables.table("rejectedjobs").upsert_entity(entity, mode=UpdateMode.REPLACE)
