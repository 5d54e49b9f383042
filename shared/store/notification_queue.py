"""The notifications queue, producer side (a :class:`~shared.notify.messages.NotificationQueue`)."""

from __future__ import annotations

import contextlib

from azure.core.exceptions import ResourceExistsError

from shared.notify.messages import NOTIFICATIONS_QUEUE, NotifyMessage, encode_message
from shared.settings import StorageConfig
from shared.store.azure import queue_client, storage_errors


class StorageNotificationQueue:
    """Notification messages on an Azure Storage queue, base64-encoded as the Functions host expects; the queue
    is created on first use."""

    def __init__(self, config: StorageConfig, queue_name: str = NOTIFICATIONS_QUEUE) -> None:
        self._client = queue_client(config, queue_name)
        self._created = False

    def put(self, message: NotifyMessage) -> None:
        """Enqueue ``message``; returns only once storage acknowledged it, raises StorageUnavailable otherwise."""
        text = encode_message(message)
        with storage_errors("enqueue a notification"):
            if not self._created:
                with contextlib.suppress(ResourceExistsError):
                    self._client.create_queue()
                self._created = True
            self._client.send_message(text)
