"""Housekeeping on Azurite: old event ids and tombstones go, recent ones and live images stay."""

from __future__ import annotations

from datetime import datetime, timezone

from shared.images.model import ImageRecord
from shared.intake.housekeeping import prune
from shared.wiring import Services

NOW = datetime(2026, 6, 10, tzinfo=timezone.utc)
OLD = "2026-06-01T00:00:00.000000Z"
RECENT = "2026-06-09T12:00:00.000000Z"
NOW_TEXT = "2026-06-10T00:00:00.000000Z"


def test_prune_keeps_what_event_grid_may_still_deliver(svc: Services) -> None:
    svc.events.confirm("i1", "old-event", OLD, "job")
    svc.events.confirm("i1", "recent-event", RECENT, "job")
    assert svc.events.claim("i1", "old-pending", OLD) == "claimed"
    for digest, status, when in (("a", "deleted", OLD), ("b", "deleted", RECENT), ("c", "analyzed", OLD)):
        svc.images.put(ImageRecord(registry="r.example", repository="app", digest="sha256:" + digest * 64,
                                   status=status, event_time=when))  # type: ignore[arg-type]
    result = prune(svc.events, svc.images, now=NOW)
    assert (result.events, result.tombstones) == (2, 1)
    assert svc.events.claim("i1", "old-event", NOW_TEXT) == "claimed"  # forgotten: claimable again
    assert svc.events.claim("i1", "old-pending", NOW_TEXT) == "claimed"
    assert svc.events.claim("i1", "recent-event", NOW_TEXT) == "accepted"
    assert svc.images.get("r.example", "app", "sha256:" + "a" * 64) is None
    assert svc.images.get("r.example", "app", "sha256:" + "b" * 64) is not None
    assert svc.images.get("r.example", "app", "sha256:" + "c" * 64) is not None
