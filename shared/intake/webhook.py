"""The webhook's decisions: what to answer Event Grid, and which jobs to enqueue.

Status codes follow Event Grid's retry contract: 200 only after every job of the batch is durably
enqueued; 503 (retried) when storage fails, so nothing accepted is lost; 4xx only for deliveries
that can never succeed — 400 malformed, 413 too large, 401 unknown integration or wrong secret.

Exactly one job per event under at-least-once delivery: each event id is claimed (an atomic insert)
before its job is enqueued and confirmed after; a failed enqueue releases the claim. A delivery that
meets a fresh claim of another delivery is answered 503, so Event Grid delivers it again once that
one has finished (or died, when the claim expires and is taken over).

A delivery of many events is claimed in table transactions (up to 100 events each), its jobs are
enqueued :data:`ENQUEUE_CONCURRENCY` at a time and confirmed in growing transactions as they go. When
storage fails partway, the enqueues not yet started are dropped and their claims released, the jobs
already enqueued are confirmed, and the answer is 503: Event Grid delivers the whole batch again, and
then the confirmed events count as duplicates and only the rest is queued.

Per delivery, the integration and the repository activations come from the stores' short-lived
lookup cache (see :mod:`shared.store.integration_records`): a change made in another process reaches
the webhook within a few seconds. The webhook secret is decrypted for each delivery, never kept.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.clock import normalize_time, utc_now
from shared.errors import LookoutError
from shared.intake.eventgrid import (
    ImageEvent,
    InvalidDelivery,
    Notification,
    OtherEvent,
    SubscriptionValidation,
    UnusableEvent,
    parse_delivery,
)
from shared.intake.jobs import Job
from shared.integrations.model import Integration
from shared.integrations.service import Integrations
from shared.records import AcceptedEvents, ImageRecords, JobSink, RepositoryActivations

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: status, JSON body (None for no body) and extra headers."""

    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _error(status: int, code: str, message: str) -> Reply:
    return Reply(status, {"error": {"code": code, "message": message}})


def abuse_protection(headers: Mapping[str, str]) -> Reply:
    """Answer the CloudEvents 1.0 webhook validation handshake (an HTTP OPTIONS)."""
    origin = headers.get("webhook-request-origin", "").strip()
    if not origin or len(origin) > 256:
        return _error(400, "invalid-handshake", "OPTIONS must carry a WebHook-Request-Origin header")
    return Reply(200, None, {"WebHook-Allowed-Origin": origin, "WebHook-Allowed-Rate": "*", "Allow": "POST, OPTIONS"})


def _storage_failure(exc: LookoutError) -> Reply:
    log.error("delivery not accepted (%s): %s", exc.code, exc.message)
    status = 503 if exc.temporary else 500
    return _error(status, exc.code, "storage failed; Event Grid will deliver again")


@dataclass
class _Tally:
    """How a delivery's events were decided; ``reasons`` names the first invalid ones."""

    accepted: int = 0
    duplicates: int = 0
    ignored: int = 0
    dropped: int = 0
    refused: int = 0
    invalid: int = 0
    in_flight: int = 0
    stale: int = 0
    reasons: list[dict[str, str]] = field(default_factory=list)

    def invalid_event(self, event_id: str, reason: str) -> None:
        self.invalid += 1
        if len(self.reasons) < MAX_REASONS:
            self.reasons.append({"id": event_id, "reason": reason})

    def as_body(self) -> dict[str, Any]:
        body = dict(self.__dict__)
        if not self.reasons:
            del body["reasons"]
        return body


MAX_REASONS = 20
"""How many invalid events a reply names with their reasons (the count covers them all)."""


LAST_EVENT_RESOLUTION_S = 60
"""``last_event`` is rewritten at most this often: one write saved on most deliveries of a busy registry."""


def _stale(last_event: str | None, now: str) -> bool:
    if not last_event:
        return True
    try:
        then = datetime.fromisoformat(last_event.replace("Z", "+00:00"))
        current = datetime.fromisoformat(now.replace("Z", "+00:00"))
    except ValueError:
        return True
    return (current - then).total_seconds() >= LAST_EVENT_RESOLUTION_S


@dataclass(frozen=True)
class Webhook:
    """Receives an integration's deliveries: authenticates them and turns wanted events into queued jobs.

    ``events`` remembers accepted event ids (duplicates are dropped), ``repositories`` says which
    repositories are activated, ``jobs`` is the durable job queue, and ``images`` tells a delete older
    than the image's last push (counted ``stale``, nothing queued).
    """

    integrations: Integrations
    repositories: RepositoryActivations
    events: AcceptedEvents
    jobs: JobSink
    images: ImageRecords

    def authenticate(self, params: Mapping[str, str]) -> Integration | Reply:
        """The integration the delivery's URL names, or the reply refusing it (401, or 503 when storage fails)."""
        try:
            integration = self.integrations.authenticate_delivery(params.get("integration"), params.get("secret"))
        except LookoutError as exc:
            return _storage_failure(exc)
        if integration is None:
            log.warning("refused a delivery: unknown integration or wrong webhook secret")
            return _error(401, "unauthorized", "unknown integration or wrong webhook secret")
        return integration

    def receive(self, integration: Integration, body: bytes) -> Reply:
        """Handle a POSTed delivery for ``integration``: the handshake, or a batch of events."""
        try:
            delivery = parse_delivery(body)
        except InvalidDelivery as exc:
            log.warning("refused a delivery for integration %s: %s", integration.id, exc.message)
            return _error(exc.status, exc.code, exc.message)
        if isinstance(delivery, SubscriptionValidation):
            # The validation URL is the operator's manual fallback; its token only validates this subscription.
            log.info("Event Grid subscription validation for integration %s; manual validation URL: %s",
                     integration.id, delivery.url)
            return Reply(200, {"validationResponse": delivery.code})
        try:
            tally = self._enqueue(integration, delivery)
        except LookoutError as exc:
            return _storage_failure(exc)
        if tally.in_flight:
            # Another delivery of the same events is being enqueued right now; Event Grid retries a 503,
            # and by then those events are accepted (or their claim has expired and is taken over).
            return Reply(503, {"error": {"code": "in-flight", "message": "events of this delivery are being "
                                         "queued by another delivery; deliver again"}, **tally.as_body()})
        return Reply(200, tally.as_body())


    def _enqueue(self, integration: Integration, notification: Notification) -> _Tally:
        tally = _Tally()
        now = utc_now()
        activated: dict[str, bool] = {}
        seen_in_batch: set[str] = set()
        wanted: list[ImageEvent] = []
        for event in notification.events:
            if isinstance(event, OtherEvent):
                tally.ignored += 1
                log.info("ignored %s event %s", event.type, event.id)
                continue
            if isinstance(event, UnusableEvent):
                tally.invalid_event(event.id, event.reason)
                log.warning("unusable %s event %s: %s", event.type, event.id, event.reason)
                continue
            if event.registry != integration.registry:
                tally.refused += 1
                log.warning("refused event %s: registry %s does not match integration %s (%s)",
                            event.id, event.registry, integration.id, integration.registry)
                continue
            if not self._wanted(integration, event, activated):
                tally.dropped += 1
                continue
            if event.id in seen_in_batch:
                tally.duplicates += 1
                continue
            seen_in_batch.add(event.id)
            wanted.append(event)
        stale = self._stale_deletes([event for event in wanted if event.kind == "delete"])
        for event in wanted:
            if event.id in stale:
                tally.stale += 1
                log.info("stale delete event %s: %s@%s was pushed again after it", event.id, event.repository,
                         event.digest)
        wanted = [event for event in wanted if event.id not in stale]
        if wanted:
            self._accept(integration, wanted, now, tally)
        if _stale(integration.last_event, now):
            self.integrations.records.touch_last_event(integration.id, now)
        log.info("delivery for integration %s: %s", integration.id, tally.as_body())
        return tally

    def _stale_deletes(self, deletes: list[ImageEvent]) -> set[str]:
        """The ids of the delete events whose image a later push recorded (read up to
        :data:`ENQUEUE_CONCURRENCY` images at once)."""
        if len(deletes) <= 1:
            return {event.id for event in deletes if self._stale_delete(event)}
        with ThreadPoolExecutor(min(len(deletes), ENQUEUE_CONCURRENCY), thread_name_prefix="stale") as pool:
            found = list(pool.map(self._stale_delete, deletes))
        return {event.id for event, is_stale in zip(deletes, found, strict=True) if is_stale}

    def _stale_delete(self, event: ImageEvent) -> bool:
        """Whether delete ``event`` deletes an image that a later push recorded (the worker would ignore it too)."""
        when = normalize_time(event.time)
        record = self.images.get(event.registry, event.repository, event.digest)
        return bool(when and record is not None and record.status != "deleted" and record.event_time
                    and record.event_time > when)

    def _accept(self, integration: Integration, events: list[ImageEvent], now: str, tally: _Tally) -> None:
        """Claim the events (batched), enqueue the jobs of those claimed (concurrently) and confirm each.

        A job that cannot be enqueued has its claim released; the first temporary failure stops the
        enqueues not yet started (their claims are released too) and is raised once every enqueued job
        is confirmed, so that Event Grid's redelivery finds those accepted and queues only the rest.
        """
        claims = self.events.claim_many(integration.id, [event.id for event in events], now)
        jobs: list[tuple[str, Job]] = []
        for event in events:
            claim = claims[event.id]
            if claim == "accepted":
                tally.duplicates += 1
            elif claim == "in-flight":
                tally.in_flight += 1
            else:
                jobs.append((event.id, _job_for(integration, event)))
        if jobs:
            _Enqueuing(self, integration.id, now, tally).run(jobs)

    def _wanted(self, integration: Integration, event: ImageEvent, activated: dict[str, bool]) -> bool:
        if not integration.enabled:
            log.info("dropped event %s: integration %s has no working credentials yet", event.id, integration.id)
            return False
        if event.kind == "delete":
            return True  # a deactivated repository keeps its results until the registry deletes the image
        if event.repository not in activated:
            activated[event.repository] = self.repositories.is_enabled(integration.id, event.repository)
        if not activated[event.repository]:
            log.info("dropped event %s: repository %s is not activated", event.id, event.repository)
            return False
        return True


ENQUEUE_CONCURRENCY = 8
"""Jobs of one delivery enqueued at once (a queue has no batch send; each job is one request)."""

FIRST_CONFIRMATION = 4
"""Enqueued events confirmed in the first write of a delivery; each next one holds twice as many, up to
:data:`CONFIRMATIONS_PER_WRITE`: a delivery cut off midway leaves few enqueued events unconfirmed, and a
long one writes few transactions."""

CONFIRMATIONS_PER_WRITE = 100
"""At most this many events confirmed per write (one table transaction)."""


class _Enqueuing:
    """One delivery's claimed jobs: enqueued (up to :data:`ENQUEUE_CONCURRENCY` at once), then confirmed in
    growing transactions, or released when they were not enqueued."""

    def __init__(self, webhook: Webhook, integration_id: str, now: str, tally: _Tally) -> None:
        self._webhook = webhook
        self._integration_id = integration_id
        self._now = now
        self._tally = tally
        self._unconfirmed: dict[str, str] = {}
        self._unqueued: list[str] = []
        self._failure: LookoutError | None = None
        self._confirmable = True
        self._batch = FIRST_CONFIRMATION

    def run(self, jobs: list[tuple[str, Job]]) -> None:
        """Enqueue and confirm every job; after a temporary failure the jobs not yet started are not
        enqueued, and the failure is raised once the enqueued ones are confirmed and the rest released."""
        if len(jobs) == 1:
            event_id, job = jobs[0]
            self._done(event_id, job, _attempt(self._webhook.jobs, job))
        else:
            with ThreadPoolExecutor(min(len(jobs), ENQUEUE_CONCURRENCY), thread_name_prefix="enqueue") as pool:
                futures = {pool.submit(_attempt, self._webhook.jobs, job): (event_id, job) for event_id, job in jobs}
                for future in as_completed(futures):
                    event_id, job = futures[future]
                    if future.cancelled():
                        self._unqueued.append(event_id)
                        continue
                    self._done(event_id, job, future.result())
                    if self._failure is not None:
                        for waiting in futures:
                            waiting.cancel()
        if self._unconfirmed and self._confirmable:
            self._confirm()
        if self._unqueued:
            self._release()
        if self._failure is not None:
            raise self._failure

    def _done(self, event_id: str, job: Job, error: LookoutError | None) -> None:
        if error is None:
            self._unconfirmed[event_id] = job.key
            self._tally.accepted += 1
            if len(self._unconfirmed) >= self._batch and self._confirmable and self._failure is None:
                self._confirm()
                self._batch = min(self._batch * 2, CONFIRMATIONS_PER_WRITE)
            return
        self._unqueued.append(event_id)
        if error.temporary:
            self._failure = self._failure or error
        else:
            self._tally.invalid_event(event_id, error.message)
            log.warning("event %s can never be queued: %s", event_id, error.message)

    def _confirm(self) -> None:
        """Confirm the enqueued events; if that fails they stay pending (taken over once the claims expire)."""
        try:
            self._webhook.events.confirm_many(self._integration_id, self._unconfirmed, self._now)
        except LookoutError as exc:
            self._confirmable = False
            self._failure = self._failure or exc
            return
        self._unconfirmed = {}

    def _release(self) -> None:
        """Release the claims of events not enqueued; if that fails too, the claims expire by themselves."""
        try:
            self._webhook.events.release_many(self._integration_id, self._unqueued)
        except LookoutError as exc:
            log.warning("could not release the claims of %d events (%s): they expire by themselves",
                        len(self._unqueued), exc.code)


def _attempt(jobs: JobSink, job: Job) -> LookoutError | None:
    """Enqueue ``job``; the failure, or None once storage acknowledged it."""
    try:
        jobs.put(job)
    except LookoutError as exc:
        return exc
    return None


def _job_for(integration: Integration, event: ImageEvent) -> Job:
    return Job(
        kind=event.kind,
        integration_id=integration.id,
        registry=integration.registry,
        repository=event.repository,
        digest=event.digest,
        tag=event.tag,
        media_type=event.media_type,
        event_id=event.id,
        event_time=normalize_time(event.time) or utc_now(),
    )
