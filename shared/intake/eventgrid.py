"""Event Grid deliveries: parse and classify what arrives at the webhook.

Two schemas are understood: the Event Grid schema (always a JSON array; the subscription handshake is
a ``Microsoft.EventGrid.SubscriptionValidationEvent``) and CloudEvents 1.0 (one object, or an array in
batched mode; the handshake is an HTTP ``OPTIONS`` handled by the trigger). Parsing does no I/O.

A delivery that can never succeed (not JSON of any kind — too deep, duplicate keys, non-finite
numbers, bad UTF-8 — not events, too large) raises :class:`InvalidDelivery`: the webhook answers 4xx,
which Event Grid does not retry. A single malformed event inside an otherwise valid batch does not
spoil the batch: it is returned as an :class:`UnusableEvent` so the webhook can acknowledge and count
it. Every field that reaches storage or the queue is checked against its grammar here: the event id
(:data:`MAX_EVENT_ID` printable ASCII characters, so its stored key always fits), the registry host,
the repository, the digest, the tag (OCI) and the media type; the event time is kept only when it
orders correctly as a canonical time (otherwise it counts as absent).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from shared.clock import normalize_time
from shared.errors import InvalidInput
from shared.registry.reference import Digest, validate_registry, validate_repository, validate_tag

MAX_DELIVERY_BYTES = 1024 * 1024 + 64 * 1024
"""Largest body accepted: Event Grid batches are at most 1,024 KB; the margin covers framing."""

MAX_EVENTS_PER_DELIVERY = 5000
"""Event Grid's largest batch."""

MAX_NESTING = 64
"""Deepest nesting of arrays and objects accepted (an Event Grid batch nests four deep). Deeper bodies
are refused before parsing, so the answer never depends on how deep the parser's caller already is."""

VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent"
IMAGE_PUSHED = "Microsoft.ContainerRegistry.ImagePushed"
IMAGE_DELETED = "Microsoft.ContainerRegistry.ImageDeleted"
CHART_PUSHED = "Microsoft.ContainerRegistry.ChartPushed"
CHART_DELETED = "Microsoft.ContainerRegistry.ChartDeleted"

_MAX_FIELD = 1024

MAX_EVENT_ID = 256
"""Longest event id accepted (printable ASCII only; Event Grid's ids are GUIDs). The event log keys an
id by its SHA-256, so every id accepted here can be stored."""

_EVENT_ID_RE = re.compile(rf"[!-~]{{1,{MAX_EVENT_ID}}}")
_JSON_TOKEN_RE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.DOTALL)
"""A JSON string (to its end, closed or not: each character is looked at once) or a bracket."""
_MEDIA_TYPE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}")


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
    manifest digest; ``tag`` is set only on pushes by tag; ``time`` is the event's ISO-8601 time as
    sent, or "" when it has none that orders as a canonical time.
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
    document = _load_json(body)
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
        if not isinstance(item, dict) or not _text(_event_type(item)) or not isinstance(item.get("id"), str):
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


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate key {next(k for k in keys if keys.count(k) > 1)[:64]!r}")
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _nesting_over(text: str, limit: int) -> bool:
    """Whether the arrays and objects of JSON ``text`` nest deeper than ``limit`` (brackets in strings aside)."""
    depth = 0
    for token in _JSON_TOKEN_RE.finditer(text):
        first = token.group()[0]
        if first in "[{":
            depth += 1
            if depth > limit:
                return True
        elif first in "]}":
            depth -= 1
    return False


def _load_json(body: bytes) -> Any:
    """The body as JSON, strictly: UTF-8, no duplicate keys, no NaN/Infinity, at most :data:`MAX_NESTING` deep;
    :class:`InvalidDelivery` otherwise."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidDelivery(f"body is not UTF-8: {exc.reason} at byte {exc.start}") from None
    if _nesting_over(text, MAX_NESTING):
        raise InvalidDelivery(f"body is nested more than {MAX_NESTING} deep: too deeply to be an event delivery")
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except RecursionError:
        raise InvalidDelivery("body is nested too deeply to be an event delivery") from None
    except ValueError as exc:
        raise InvalidDelivery(f"body is not JSON: {str(exc)[:200]}") from None


def _event_type(item: dict[str, Any]) -> object:
    return item.get("eventType", item.get("type"))


def _text(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= _MAX_FIELD


def _classify(item: dict[str, Any]) -> NotificationEvent:
    event_id = str(item["id"])
    event_type = str(_event_type(item))
    if not _EVENT_ID_RE.fullmatch(event_id):
        shown = "".join(c if " " <= c <= "~" else "?" for c in event_id[:64])
        return UnusableEvent(shown, event_type, f"the event id must be 1 to {MAX_EVENT_ID} printable ASCII characters")
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


def _usable_time(value: object) -> str:
    """The event's time as sent when it is an ISO-8601 time that has a canonical form (see
    :func:`~shared.clock.normalize_time`); "" otherwise, and the job gets the time of receipt."""
    if not _text(value):
        return ""
    text = str(value)
    return text if normalize_time(text) else ""


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
    try:
        registry = validate_registry(str(request["host"]).strip().lower())
        repository = target.get("repository")
        if not isinstance(repository, str):
            raise _Unusable("no data.target.repository")
        repository = validate_repository(repository)
        tag = target.get("tag")
        if tag is not None and not isinstance(tag, str):
            raise _Unusable("data.target.tag is not a string")
        tag = validate_tag(tag) if tag and event_type == IMAGE_PUSHED else None
    except InvalidInput as exc:
        raise _Unusable(exc.message) from None
    digest = target.get("digest")
    if not isinstance(digest, str) or not Digest.is_valid(digest):
        raise _Unusable("data.target.digest is not a sha256 digest")
    media_type = target.get("mediaType")
    if media_type is not None and not (isinstance(media_type, str) and _MEDIA_TYPE_RE.fullmatch(media_type)):
        raise _Unusable("data.target.mediaType is not a media type")
    time = _usable_time(item.get("eventTime", item.get("time")))
    return ImageEvent(
        id=event_id,
        kind="push" if event_type == IMAGE_PUSHED else "delete",
        time=time,
        registry=registry,
        repository=repository,
        digest=digest,
        tag=tag,
        media_type=media_type,
    )
