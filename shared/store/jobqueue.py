"""The analysis job queue: the producer side (a :class:`~shared.records.JobSink`)."""

from __future__ import annotations

import contextlib

from azure.core.exceptions import ResourceExistsError

from shared.intake.jobs import Job, encode_job
from shared.settings import StorageConfig
from shared.store.azure import queue_client, storage_errors


class StorageJobQueue:
    """Jobs on an Azure Storage queue, base64-encoded as the Functions host expects; created on first use."""

    def __init__(self, config: StorageConfig, queue_name: str) -> None:
        self._client = queue_client(config, queue_name)
        self._created = False

    def put(self, job: Job) -> None:
        """Enqueue ``job``; returns only once storage acknowledged it, raises StorageUnavailable otherwise."""
        with storage_errors("enqueue an analysis job"):
            if not self._created:
                with contextlib.suppress(ResourceExistsError):
                    self._client.create_queue()
                self._created = True
            self._client.send_message(encode_job(job))
