"""Housekeeping: forget what only mattered for a while.

Event Grid retries an event for at most 24 hours (the registry template's ``eventTimeToLiveInMinutes``
is 1,440), so event ids and delete tombstones older than :data:`RETENTION` can no longer matter.
Notification delivery records are kept for ``LOOKOUT_NOTIFICATION_RETENTION_DAYS`` after their last
update (:data:`DELIVERY_RETENTION` by default); each endpoint's latest delivery stays whatever its age,
since it is what ``lookout notifications list`` shows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from shared.clock import format_time
from shared.records import AcceptedEvents, ImageRecords, NotificationDeliveries

log = logging.getLogger(__name__)

RETENTION = timedelta(days=3)
DELIVERY_RETENTION = timedelta(days=30)
"""How long a notification delivery record is kept after its last update unless the settings say otherwise."""


@dataclass(frozen=True)
class Pruned:
    """How many event ids, tombstones and notification delivery records a run removed."""

    events: int
    tombstones: int
    deliveries: int = 0


def prune(events: AcceptedEvents, images: ImageRecords, now: datetime | None = None, *,
          deliveries: NotificationDeliveries | None = None,
          delivery_retention: timedelta = DELIVERY_RETENTION) -> Pruned:
    """Remove event-log entries and delete tombstones older than :data:`RETENTION` and (given ``deliveries``)
    the notification delivery records last updated more than ``delivery_retention`` ago.

    Each step is idempotent: a run that fails partway is completed by the next one.
    """
    moment = now or datetime.now(timezone.utc)
    cutoff = format_time(moment - RETENTION)
    pruned_events = events.prune(cutoff)
    tombstones = images.prune_tombstones(cutoff)
    delivery_cutoff = format_time(moment - delivery_retention)
    old_deliveries = deliveries.prune(delivery_cutoff) if deliveries is not None else 0
    result = Pruned(events=pruned_events, tombstones=tombstones, deliveries=old_deliveries)
    log.info("pruned %d event ids and %d tombstones older than %s, %d notification deliveries older than %s",
             result.events, result.tombstones, cutoff, result.deliveries, delivery_cutoff)
    return result
