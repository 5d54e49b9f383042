"""Parsing of Event Grid deliveries, on the sample bodies from Microsoft's documentation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.intake.eventgrid import (
    MAX_DELIVERY_BYTES,
    ImageEvent,
    InvalidDelivery,
    Notification,
    OtherEvent,
    SubscriptionValidation,
    UnusableEvent,
    parse_delivery,
)

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "reference" / "eventgrid-samples"
DIGEST = "sha256:213bbc182920ab41e18edc2001e06abcca6735d87782d9cef68abd83941cf0e5"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def test_samples_are_present() -> None:
    assert (SAMPLES / "ImagePushed.json").is_file(), f"reference samples missing at {SAMPLES}"


def test_subscription_validation() -> None:
    delivery = parse_delivery(sample("SubscriptionValidationEvent.json"))
    assert delivery == SubscriptionValidation(
        code="512d38b6-c7b8-40c8-89fe-f46f9e9622b6",
        url=json.loads(sample("SubscriptionValidationEvent.json"))[0]["data"]["validationUrl"],
    )


@pytest.mark.parametrize("name", ["ImagePushed.json", "ImagePushed.dataVersion1.json", "ImagePushed.cloudevents.json"])
def test_image_pushed_in_every_schema(name: str) -> None:
    delivery = parse_delivery(sample(name))
    assert isinstance(delivery, Notification)
    (event,) = delivery.events
    assert isinstance(event, ImageEvent)
    assert event.kind == "push"
    assert event.registry == "demo.azurecr.io"
    assert event.repository == "aci-helloworld"
    assert event.tag == "v1"
    assert event.digest == DIGEST
    assert event.time.startswith("2018-04-25T21:39:47")


def test_image_deleted_has_no_tag() -> None:
    delivery = parse_delivery(sample("ImageDeleted.json"))
    assert isinstance(delivery, Notification)
    (event,) = delivery.events
    assert isinstance(event, ImageEvent)
    assert (event.kind, event.tag, event.repository) == ("delete", None, "aci-helloworld")


@pytest.mark.parametrize("name", ["ChartPushed.json", "ChartDeleted.json"])
def test_chart_events_are_other_events(name: str) -> None:
    delivery = parse_delivery(sample(name))
    assert isinstance(delivery, Notification)
    assert all(isinstance(e, OtherEvent) for e in delivery.events)


def test_single_cloudevent_object() -> None:
    body = json.loads(sample("ImagePushed.cloudevents.json"))[0]
    delivery = parse_delivery(json.dumps(body).encode())
    assert isinstance(delivery, Notification)
    assert isinstance(delivery.events[0], ImageEvent)


def test_batch_keeps_order_and_isolates_a_malformed_event() -> None:
    pushed = json.loads(sample("ImagePushed.json"))[0]
    broken = json.loads(sample("ImagePushed.json"))[0] | {"id": "broken"}
    broken["data"] = {**broken["data"], "target": {**broken["data"]["target"], "digest": "md5:abc"}}
    unknown = {"id": "x", "eventType": "Contoso.Something", "data": {}}
    delivery = parse_delivery(json.dumps([pushed, broken, unknown]).encode())
    assert isinstance(delivery, Notification)
    kinds = [type(e) for e in delivery.events]
    assert kinds == [ImageEvent, UnusableEvent, OtherEvent]
    assert "digest" in delivery.events[1].reason  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 400),
        (b"\xff\xfe", 400),
        (b"42", 400),
        (b"[]", 400),
        (b'{"eventType": "x"}', 400),
        (b"[1, 2]", 400),
        (b'[{"id": "a"}]', 400),
        (json.dumps([{"id": str(i), "eventType": "x"} for i in range(5001)]).encode(), 413),
        (b"[" + b" " * MAX_DELIVERY_BYTES + b"]", 413),
    ],
)
def test_undeliverable_bodies(body: bytes, status: int) -> None:
    with pytest.raises(InvalidDelivery) as caught:
        parse_delivery(body)
    assert caught.value.status == status


def test_validation_must_be_alone() -> None:
    validation = json.loads(sample("SubscriptionValidationEvent.json"))[0]
    with pytest.raises(InvalidDelivery):
        parse_delivery(json.dumps([validation, validation]).encode())
