"""Housekeeping: forget what only mattered while Event Grid could still deliver it.

Event Grid retries an event for at most 24 hours (the registry template's ``eventTimeToLiveInMinutes``
is 1,440), so event ids and delete tombstones older than :data:`RETENTION` can no longer matter.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from shared.clock import format_time
from shared.records import AcceptedEvents, ImageRecords

log = logging.getLogger(__name__)

RETENTION = timedelta(days=3)


@dataclass(frozen=True)
class Pruned:
    """How many event ids and tombstones a run removed."""

    events: int
    tombstones: int


def prune(events: AcceptedEvents, images: ImageRecords, now: datetime | None = None) -> Pruned:
    """Remove event-log entries and delete tombstones older than :data:`RETENTION`."""
    cutoff = format_time((now or datetime.now(timezone.utc)) - RETENTION)
    result = Pruned(events=events.prune(cutoff), tombstones=images.prune_tombstones(cutoff))
    log.info("pruned %d event ids and %d tombstones older than %s", result.events, result.tombstones, cutoff)
    return result
