"""Event Grid deliveries: parse and classify what arrives at the webhook.

Two schemas are understood: the Event Grid schema (always a JSON array; the subscription handshake is
a ``Microsoft.EventGrid.SubscriptionValidationEvent``) and CloudEvents 1.0 (one object, or an array in
batched mode; the handshake is an HTTP ``OPTIONS`` handled by the trigger). Parsing does no I/O.

A delivery that can never succeed (not JSON, not events, too large) raises :class:`InvalidDelivery`
— the webhook answers 4xx, which Event Grid does not retry. A single malformed registry event inside
an otherwise valid batch does not spoil the batch: it is returned as an :class:`UnusableEvent` so the
webhook can acknowledge and count it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from shared.errors import InvalidInput
from shared.registry.reference import Digest

MAX_DELIVERY_BYTES = 1024 * 1024 + 64 * 1024
"""Largest body accepted: Event Grid batches are at most 1,024 KB; the margin covers framing."""

MAX_EVENTS_PER_DELIVERY = 5000
"""Event Grid's largest batch."""

VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent"
IMAGE_PUSHED = "Microsoft.ContainerRegistry.ImagePushed"
IMAGE_DELETED = "Microsoft.ContainerRegistry.ImageDeleted"
CHART_PUSHED = "Microsoft.ContainerRegistry.ChartPushed"
CHART_DELETED = "Microsoft.ContainerRegistry.ChartDeleted"

_MAX_FIELD = 1024


class InvalidDelivery(InvalidInput):
    """The whole delivery is unusable; ``status`` is the HTTP status to answer (400 or 413)."""

    code = "invalid-delivery"

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class SubscriptionValidation:
    """The Event Grid handshake: answer ``{"validationResponse": code}`` with 200."""

    code: str
    url: str | None


EventKind = Literal["push", "delete"]


@dataclass(frozen=True)
class ImageEvent:
    """An ``ImagePushed`` or ``ImageDeleted`` event, reduced to what the worker needs.

    ``registry`` is the login server from ``data.request.host``, lower-cased; ``digest`` is the
    manifest digest; ``tag`` is set only on pushes by tag.
    """

    id: str
    kind: EventKind
    time: str
    registry: str
    repository: str
    digest: str
    tag: str | None
    media_type: str | None


@dataclass(frozen=True)
class OtherEvent:
    """An event that is acknowledged but not acted on (charts, unknown types)."""

    id: str
    type: str


@dataclass(frozen=True)
class UnusableEvent:
    """An image event whose fields break the documented shape; acknowledged and counted."""

    id: str
    type: str
    reason: str


NotificationEvent = ImageEvent | OtherEvent | UnusableEvent


@dataclass(frozen=True)
class Notification:
    """A batch of events, in delivery order."""

    events: tuple[NotificationEvent, ...]


Delivery = SubscriptionValidation | Notification


def parse_delivery(body: bytes) -> Delivery:
    """Parse a webhook body of either schema into a handshake or a notification batch.

    Raises :class:`InvalidDelivery` when the body is over :data:`MAX_DELIVERY_BYTES` (status 413),
    is not UTF-8 JSON, is not an event or array of events, or holds more than
    :data:`MAX_EVENTS_PER_DELIVERY` events.
    """
    if len(body) > MAX_DELIVERY_BYTES:
        raise InvalidDelivery(f"delivery of {len(body)} bytes is over the {MAX_DELIVERY_BYTES}-byte limit", status=413)
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidDelivery(f"body is not JSON: {exc}") from None
    if isinstance(document, dict):
        if "specversion" not in document:
            raise InvalidDelivery("a single event must be a CloudEvents 1.0 object; Event Grid schema bodies are arrays")
        items: list[Any] = [document]
    elif isinstance(document, list):
        items = document
    else:
        raise InvalidDelivery("body must be a JSON array of events")
    if not items:
        raise InvalidDelivery("the delivery holds no events")
    if len(items) > MAX_EVENTS_PER_DELIVERY:
        raise InvalidDelivery(f"{len(items)} events is over the {MAX_EVENTS_PER_DELIVERY}-event batch limit", status=413)
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(_event_type(item), str) or not _text(item.get("id")):
            raise InvalidDelivery(f"item {index} is not an event (needs 'id' and 'eventType' or 'type')")
    first_type = _event_type(items[0])
    if first_type == VALIDATION_EVENT:
        if len(items) != 1:
            raise InvalidDelivery("a subscription validation delivery holds exactly one event")
        data = items[0].get("data")
        code = data.get("validationCode") if isinstance(data, dict) else None
        if not _text(code):
            raise InvalidDelivery("subscription validation event has no data.validationCode")
        url = data.get("validationUrl") if isinstance(data, dict) else None
        return SubscriptionValidation(code=str(code), url=url if _text(url) else None)
    return Notification(events=tuple(_classify(item) for item in items))


def _event_type(item: dict[str, Any]) -> object:
    return item.get("eventType", item.get("type"))


def _text(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= _MAX_FIELD


def _classify(item: dict[str, Any]) -> NotificationEvent:
    event_id = str(item["id"])
    event_type = str(_event_type(item))
    if event_type == VALIDATION_EVENT:
        return UnusableEvent(event_id, event_type, "a validation event inside a notification batch")
    if event_type not in (IMAGE_PUSHED, IMAGE_DELETED):
        return OtherEvent(event_id, event_type)
    try:
        return _image_event(item, event_id, event_type)
    except _Unusable as exc:
        return UnusableEvent(event_id, event_type, str(exc))


class _Unusable(Exception):
    pass


def _image_event(item: dict[str, Any], event_id: str, event_type: str) -> ImageEvent:
    data = item.get("data")
    if not isinstance(data, dict):
        raise _Unusable("no data object")
    target = data.get("target")
    request = data.get("request")
    if not isinstance(target, dict):
        raise _Unusable("no data.target object")
    if not isinstance(request, dict) or not _text(request.get("host")):
        raise _Unusable("no data.request.host")
    repository = target.get("repository")
    digest = target.get("digest")
    if not _text(repository):
        raise _Unusable("no data.target.repository")
    if not isinstance(digest, str) or not Digest.is_valid(digest):
        raise _Unusable("data.target.digest is not a sha256 digest")
    tag = target.get("tag")
    if tag is not None and not _text(tag):
        raise _Unusable("data.target.tag is not a string")
    media_type = target.get("mediaType")
    time = item.get("eventTime", item.get("time"))
    return ImageEvent(
        id=event_id,
        kind="push" if event_type == IMAGE_PUSHED else "delete",
        time=str(time) if _text(time) else "",
        registry=str(request["host"]).strip().lower(),
        repository=str(repository),
        digest=digest,
        tag=str(tag) if tag and event_type == IMAGE_PUSHED else None,
        media_type=str(media_type) if _text(media_type) else None,
    )
