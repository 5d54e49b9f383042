"""Housekeeping on Azurite: old event ids, tombstones and notification deliveries go; recent ones, live images
and each endpoint's latest delivery stay."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.errors import ConfigurationError
from shared.images.model import ImageRecord
from shared.intake.housekeeping import prune
from shared.notify.model import Delivery
from shared.records import NotificationDeliveries
from shared.secrets import generate_key
from shared.settings import load
from shared.wiring import Services
from testkit.memory_records import MemoryDeliveries

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


def delivery(endpoint: str, notice: str, updated: str) -> Delivery:
    return Delivery(endpoint_id=endpoint, id=f"{notice}-{endpoint}", event="new-finding", image="r.example/app@sha256:1",
                    status="delivered", created=updated, updated=updated, attempts=1, http_status=200)


@pytest.mark.parametrize("backend", ["azurite", "memory"])
def test_old_notification_deliveries_go_but_each_endpoint_keeps_its_latest(svc: Services, backend: str) -> None:
    events, images = svc.events, svc.images
    deliveries: NotificationDeliveries = svc.notification_deliveries if backend == "azurite" else MemoryDeliveries()
    # e1: two old deliveries and a recent one; e2: only old ones (its latest is old and stays); e3: recent only.
    for record in (delivery("e1", "n1", OLD), delivery("e1", "n2", OLD), delivery("e1", "n3", RECENT),
                   delivery("e2", "n4", OLD), delivery("e2", "n5", OLD), delivery("e3", "n6", RECENT)):
        deliveries.put(record)
    result = prune(events, images, now=NOW, deliveries=deliveries, delivery_retention=timedelta(days=5))
    assert result.deliveries == 3
    assert [deliveries.get("e1", f"n{i}-e1") is not None for i in (1, 2, 3)] == [False, False, True]
    assert [deliveries.get("e2", f"n{i}-e2") is not None for i in (4, 5)] == [False, True]
    assert deliveries.get("e3", "n6-e3") is not None
    assert [(d.id if d else None) for d in map(deliveries.latest, ("e1", "e2", "e3"))] == ["n3-e1", "n5-e2", "n6-e3"]
    # Within the retention nothing goes; a second run finds nothing more.
    assert prune(events, images, now=NOW, deliveries=deliveries, delivery_retention=timedelta(days=30)).deliveries == 0
    assert prune(events, images, now=NOW, deliveries=deliveries, delivery_retention=timedelta(days=5)).deliveries == 0


def test_the_retention_of_deliveries_is_a_setting() -> None:
    key = generate_key()
    assert load({"LOOKOUT_ENCRYPTION_KEY": key}, local_settings=None).notification_retention_days == 30
    assert load({"LOOKOUT_ENCRYPTION_KEY": key, "LOOKOUT_NOTIFICATION_RETENTION_DAYS": "7"},
                local_settings=None).notification_retention_days == 7
    for wrong in ("0", "x", "3651"):
        with pytest.raises(ConfigurationError, match="LOOKOUT_NOTIFICATION_RETENTION_DAYS"):
            load({"LOOKOUT_ENCRYPTION_KEY": key, "LOOKOUT_NOTIFICATION_RETENTION_DAYS": wrong}, local_settings=None)
