"""Looking at what the app left in storage, the way an operator would."""

from __future__ import annotations

from shared.intake.jobs import JOBS_QUEUE, Job, decode_job
from shared.store.azure import queue_client
from shared.wiring import Services


def queued_jobs(svc: Services) -> list[Job]:
    """The jobs waiting on the queue (up to 32), without taking them off it."""
    client = queue_client(svc.settings.storage, JOBS_QUEUE)
    return [decode_job(m.content) for m in client.peek_messages(max_messages=32)]
