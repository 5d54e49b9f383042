"""What the queue triggers hand to their services: a host queue message as a :class:`QueueMessage`."""

from __future__ import annotations

import azure.functions as func

from shared.records import QueueMessage


def queue_message(msg: func.QueueMessage) -> QueueMessage:
    """``msg`` with its body decoded as UTF-8 (undecodable bytes replaced: the service rejects what is not a
    message of its own); a message the host gave no id or dequeue count gets ``""`` and 1."""
    text = msg.get_body().decode("utf-8", errors="replace")
    return QueueMessage(id=msg.id or "", text=text, dequeue_count=msg.dequeue_count or 1)
