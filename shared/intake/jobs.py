"""Analysis jobs: the small, versioned JSON documents the webhook puts on the queue.

The queue message text is this JSON; the queue client base64-encodes it, as the Functions host
expects. A job names its integration (the worker contacts only that integration's registry), and is
keyed by registry + repository + digest so that duplicates are harmless.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Literal

from shared.errors import InvalidInput
from shared.registry.reference import Digest

JOB_VERSION = 1
JOBS_QUEUE = "lookout-jobs"
"""The Storage queue that carries jobs from the webhook (and backfills and the sweep) to the worker."""
MAX_JOB_BYTES = 16 * 1024
"""Jobs are far below the 64 KiB queue message limit; anything larger is not a job."""

_KINDS = ("push", "delete", "backfill")
_REASONS = ("event", "backfill", "reconcile")


class InvalidJob(InvalidInput):
    """A queue message that is not a job this version of Lookout understands; retrying cannot help."""

    code = "invalid-job"


@dataclass(frozen=True)
class Job:
    """One unit of work for the worker.

    ``kind`` is ``push`` (analyze the manifest ``digest``), ``delete`` (forget it) or ``backfill``
    (find the repository's latest image and analyze it; ``digest`` is empty); ``event_time``
    is the event's ISO-8601 time, used to order pushes and deletes of the same digest; ``reason``
    says whether an event, a repository backfill or the reconciliation sweep (which stands in for an
    event Event Grid never delivered; ``event_time`` is then the tag's time, or when the sweep saw it)
    produced it.
    """

    kind: Literal["push", "delete", "backfill"]
    integration_id: str
    registry: str
    repository: str
    digest: str
    tag: str | None = None
    media_type: str | None = None
    event_id: str | None = None
    event_time: str = ""
    reason: Literal["event", "backfill", "reconcile"] = "event"

    @property
    def key(self) -> str:
        """The identity of the work: ``registry/repository@digest`` (``registry/repository@latest`` for a backfill)."""
        return f"{self.registry}/{self.repository}@{self.digest or 'latest'}"


def encode_job(job: Job) -> str:
    """The job as compact JSON text with its schema version ``v``."""
    return json.dumps({"v": JOB_VERSION, **asdict(job)}, separators=(",", ":"), sort_keys=True)


def decode_job(text: str | bytes) -> Job:
    """Parse queue message text into a :class:`Job`; raise :class:`InvalidJob` on any schema breach."""
    if len(text) > MAX_JOB_BYTES:
        raise InvalidJob(f"message of {len(text)} bytes is too large to be a job")
    try:
        document = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidJob(f"message is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise InvalidJob("message is not a JSON object")
    if document.get("v") != JOB_VERSION:
        raise InvalidJob(f"unsupported job version {document.get('v')!r}")
    fields = {k: v for k, v in document.items() if k != "v"}
    for name in ("integration_id", "registry", "repository", "digest"):
        if not isinstance(fields.get(name), str):
            raise InvalidJob(f"job field {name!r} is missing or not a string")
    for name in ("integration_id", "registry", "repository"):
        if not fields[name]:
            raise InvalidJob(f"job field {name!r} is empty")
    if fields.get("kind") not in _KINDS:
        raise InvalidJob(f"job kind {fields.get('kind')!r} is not one of {_KINDS}")
    if fields.get("reason", "event") not in _REASONS:
        raise InvalidJob(f"job reason {fields.get('reason')!r} is not one of {_REASONS}")
    if fields["kind"] == "backfill" and fields["digest"] == "":
        pass
    elif not Digest.is_valid(fields["digest"]):
        raise InvalidJob("job digest is not a sha256 digest")
    for name in ("tag", "media_type", "event_id"):
        if fields.get(name) is not None and not isinstance(fields[name], str):
            raise InvalidJob(f"job field {name!r} is not a string")
    if not isinstance(fields.get("event_time", ""), str):
        raise InvalidJob("job field 'event_time' is not a string")
    unknown = set(fields) - set(Job.__dataclass_fields__)
    if unknown:
        raise InvalidJob(f"unknown job fields: {sorted(unknown)}")
    return Job(**fields)
