"""The messages of the notifications queue, and the queue's seam.

A ``notice`` message is what the worker and the re-match put on the queue: one per image event. The
notify function fans it out into one ``delivery`` message per endpoint that wants it; a delivery is
retried through the queue on its own, so a failing endpoint never makes another receive twice.
The message text is compact JSON with a schema version ``v``, base64-encoded by the queue client as
the Functions host expects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal, Protocol

from shared.errors import InvalidInput
from shared.notify.model import Notice

NOTIFICATIONS_QUEUE = "lookout-notifications"
"""The Storage queue of notices and deliveries; failed deliveries end in ``lookout-notifications-poison``."""

MESSAGE_VERSION = 1
MAX_MESSAGE_BYTES = 45 * 1024
"""Below the 64 KiB queue message limit once base64-encoded."""


class InvalidMessage(InvalidInput):
    """A queue message that is not a notification message; retrying cannot help."""

    code = "invalid-notification-message"


@dataclass(frozen=True)
class NotifyMessage:
    """``notice``: fan ``notice`` out to the endpoints that want it; ``delivery``: send it to ``endpoint_id``
    of ``integration_id`` (``test`` marks the sample ``lookout notifications test`` sends)."""

    kind: Literal["notice", "delivery"]
    notice: Notice
    integration_id: str = ""
    endpoint_id: str = ""
    test: bool = False

    @property
    def delivery_id(self) -> str:
        """The id of the delivery of a ``delivery`` message: ``<notice id>-<endpoint id>``."""
        return f"{self.notice.id}-{self.endpoint_id}"


def encode_message(message: NotifyMessage) -> str:
    """The message as compact JSON; :class:`InvalidMessage` when it would not fit a queue message."""
    text = json.dumps({"v": MESSAGE_VERSION, "kind": message.kind, "notice": message.notice.to_json(),
                       "integration_id": message.integration_id, "endpoint_id": message.endpoint_id,
                       "test": message.test}, separators=(",", ":"), sort_keys=True)
    if len(text.encode("utf-8")) > MAX_MESSAGE_BYTES:
        raise InvalidMessage(f"notification message of {len(text)} bytes is too large")
    return text


def decode_message(text: str | bytes) -> NotifyMessage:
    """Parse queue message text; :class:`InvalidMessage` on any breach of the schema."""
    if len(text) > MAX_MESSAGE_BYTES:
        raise InvalidMessage(f"message of {len(text)} bytes is too large to be a notification")
    try:
        document = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidMessage(f"message is not JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("v") != MESSAGE_VERSION:
        raise InvalidMessage("message is not a notification message of this version")
    kind = document.get("kind")
    if kind not in ("notice", "delivery"):
        raise InvalidMessage(f"unknown notification message kind {kind!r}")
    if not isinstance(document.get("notice"), dict):
        raise InvalidMessage("notification message without a notice")
    try:
        notice = Notice.from_json(document["notice"])
    except InvalidInput as exc:
        raise InvalidMessage(exc.message) from None
    integration_id, endpoint_id = document.get("integration_id", ""), document.get("endpoint_id", "")
    if not isinstance(integration_id, str) or not isinstance(endpoint_id, str):
        raise InvalidMessage("integration_id and endpoint_id must be strings")
    if kind == "delivery" and not (integration_id and endpoint_id):
        raise InvalidMessage("a delivery message names no endpoint")
    return NotifyMessage(kind=kind, notice=notice, integration_id=integration_id, endpoint_id=endpoint_id,
                         test=document.get("test") is True)


class NotificationQueue(Protocol):
    """Where notification messages go: durably, or an exception is raised."""

    def put(self, message: NotifyMessage) -> None:
        """Enqueue ``message``; returns only once it is durable."""
        ...
