"""The reconciliation sweep: queue the jobs of registry events that Event Grid never delivered.

Event Grid loses an event now and then (dead-lettered, past its time to live, a subscription that
was down). The sweep compares, for every activated repository of every enabled integration, what
the registry has with what Lookout recorded, and queues the jobs the lost events would have queued,
like the webhook (reason ``reconcile``):

- a tagged digest with no record, or whose record is a ``retrying`` one left alone for
  :data:`STALE_RETRYING` (its message has gone to the poison queue), gets one ``push`` job, whatever
  the number of tags pointing at it (the most recently moved one is named). Its ``event_time`` is
  the tag's time when the registry says it (ACR), else the time of the sweep. A digest without a
  record whose tag moved less than :data:`RECENT_TAG_GRACE` ago is left to its event, which is
  probably still on its way. A delete tombstone is a recorded result, unless the registry's tag
  moved after the delete: the image was pushed again and that push's event was lost;
- an ``analyzed`` record whose digest no listed tag points at, and whose manifest the registry then
  answers 404 for (one ``HEAD`` each, at most :data:`MAX_PRESENCE_CHECKS_PER_REPOSITORY` per
  repository and run), gets a ``delete`` job dated now. An untagged manifest that is still there
  is kept.

Any other record (analyzed, failed, a recent retry, a newer tombstone) is a recorded result and
gets no job. Jobs are keyed like the webhook's, so one that duplicates a late event is harmless.

Each run is bounded (:class:`SweepLimits`): repositories, registry requests and seconds per run,
tags per repository, and a pace of :data:`MIN_REQUEST_INTERVAL` between requests to one registry
(429 answers are retried after their ``Retry-After`` by the registry transport; throttling that
outlasts the retries fails that registry for the run). Pairs (integration id, repository) are swept
in order; after each repository the cursor (:class:`~shared.records.SweepCursors`) records it, so a
run stopped by a bound, or killed, is continued by the next one, which starts after it. A registry
that fails (unreachable, token refused, throttling) is reported and the rest of its repositories
are skipped for the run; the other registries are still swept. Storage failures are raised.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from shared.clock import format_time, normalize_time
from shared.errors import LookoutError
from shared.images.model import ImageRecord
from shared.intake.jobs import Job
from shared.integrations.model import Integration
from shared.integrations.service import Integrations
from shared.records import ImageRecords, JobSink, RepositoryActivations, SweepCursors
from shared.registry.catalog import TaggedDigest, manifest_exists, tagged_digests
from shared.registry.client import RegistryClient

log = logging.getLogger(__name__)

SWEEP_SCOPE = "all"
"""The cursor scope of a sweep over every integration; a sweep of one integration uses ``integration:<id>``."""

MAX_REPOSITORIES_PER_RUN = 500
"""Repositories swept per run, at most; the next run continues after the last one."""

MAX_REQUESTS_PER_RUN = 2_000
"""Registry requests (every registry together, token requests and retries included) after which a run
starts no further repository. A repository under way is finished, so a run may exceed this by one
repository's requests: at most about :data:`MAX_TAGS_PER_REPOSITORY` + :data:`MAX_PRESENCE_CHECKS_PER_REPOSITORY`."""

MAX_SECONDS_PER_RUN = 150.0
"""Seconds after which a run starts no further repository: with one repository's worth of requests at
the pace below on top (about 110 s at most), a run ends inside the Functions host's five-minute default."""

MAX_TAGS_PER_REPOSITORY = 1_000
"""Tags read per repository and run: with ACR's API the newest ones; otherwise the first ones the
registry lists, each costing a manifest ``HEAD``."""

MAX_PRESENCE_CHECKS_PER_REPOSITORY = 100
"""Untagged analyzed records checked for deletion per repository and run (one ``HEAD`` each); when a
repository has more, a random choice of them is checked, so that every one is checked over a few runs."""

MIN_REQUEST_INTERVAL = 0.1
"""Seconds between the starts of two requests to one registry: at most 600 a minute, under ACR's
1,000 reads a minute of the Basic tier, with room for the worker's pulls."""

STALE_RETRYING = timedelta(hours=1)
"""A ``retrying`` record untouched this long is no longer being retried by the queue (its message went
to the poison queue): the sweep queues its push again."""

RECENT_TAG_GRACE = timedelta(minutes=10)
"""A tag that moved less than this ago, to a digest without a record, is left to its own event."""


@dataclass(frozen=True)
class SweepLimits:
    """The bounds of one run (see the module constants for what each means and its default)."""

    max_repositories: int = MAX_REPOSITORIES_PER_RUN
    max_requests: int = MAX_REQUESTS_PER_RUN
    max_seconds: float = MAX_SECONDS_PER_RUN
    max_tags: int = MAX_TAGS_PER_REPOSITORY
    max_presence_checks: int = MAX_PRESENCE_CHECKS_PER_REPOSITORY
    min_interval: float = MIN_REQUEST_INTERVAL

    def __post_init__(self) -> None:
        if min(self.max_repositories, self.max_requests, self.max_tags) < 1 or self.max_seconds <= 0:
            raise ValueError("the sweep's bounds must be positive")
        if self.max_presence_checks < 0 or self.min_interval < 0:
            raise ValueError("presence checks and the request interval must not be negative")


@dataclass(frozen=True)
class RegistryFailure:
    """A registry the sweep gave up on for this run: which, at which repository, and why."""

    integration_id: str
    registry: str
    repository: str | None
    code: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"integration": self.integration_id, "registry": self.registry, "repository": self.repository,
                "code": self.code, "reason": self.reason}


@dataclass(frozen=True)
class SweepReport:
    """What one run did.

    ``repositories`` swept to the end, ``tags`` read from the registries, ``push_jobs`` and
    ``delete_jobs`` queued, ``requests`` sent to registries, ``failures`` the registries given up on;
    ``finished`` is true when the run reached the end of the order (the next run starts over), false
    when a bound stopped it (the next run continues after ``resume_after``); ``seconds`` taken.
    """

    repositories: int
    tags: int
    push_jobs: int
    delete_jobs: int
    requests: int
    failures: tuple[RegistryFailure, ...]
    finished: bool
    resume_after: tuple[str, str] | None
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "repositories": self.repositories,
            "tags": self.tags,
            "push_jobs": self.push_jobs,
            "delete_jobs": self.delete_jobs,
            "requests": self.requests,
            "failures": [f.to_json() for f in self.failures],
            "finished": self.finished,
            "resume_after": None if self.resume_after is None else
            {"integration": self.resume_after[0], "repository": self.resume_after[1]},
            "seconds": round(self.seconds, 3),
        }


@dataclass
class _Run:
    """The counters of a run in progress."""

    started: float
    limits: SweepLimits
    repositories: int = 0
    tags: int = 0
    push_jobs: int = 0
    delete_jobs: int = 0
    requests_done: int = 0
    failures: list[RegistryFailure] = field(default_factory=list)
    last: tuple[str, str] | None = None

    def exhausted(self, client: RegistryClient | None) -> bool:
        """Whether a bound forbids starting another repository."""
        spent = self.requests_done + (client.request_count if client is not None else 0)
        return (self.repositories >= self.limits.max_repositories or spent >= self.limits.max_requests
                or time.monotonic() - self.started >= self.limits.max_seconds)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Reconciler:
    """Sweeps the registries of the integrations (see the module doc) and queues the missing jobs.

    ``integrations`` lists the integrations and is the only way to a registry; ``repositories`` says
    which are activated; ``images`` holds the records compared; ``jobs`` takes the jobs; ``cursors``
    keeps where a run stopped. ``clock`` gives the current time (timezone-aware).
    """

    integrations: Integrations
    repositories: RepositoryActivations
    images: ImageRecords
    jobs: JobSink
    cursors: SweepCursors
    limits: SweepLimits = field(default_factory=SweepLimits)
    clock: Callable[[], datetime] = _utc_now

    def sweep(self, integration_id: str | None = None) -> SweepReport:
        """One bounded run over every enabled integration, or only ``integration_id``.

        Raises :class:`~shared.errors.NotFound` for an unknown ``integration_id`` (a disabled one is
        reported as a failure), and storage failures as they come; registry failures are reported.
        """
        run = _Run(started=time.monotonic(), limits=self.limits)
        if integration_id is None:
            scope, integrations = SWEEP_SCOPE, sorted(self.integrations.records.list(), key=lambda i: i.id)
        else:
            scope, integrations = f"integration:{integration_id}", [self.integrations.get(integration_id)]
        cursor = self.cursors.last_finished(scope)
        stopped = False
        for integration in integrations:
            if not integration.enabled:
                log.info("integration %s is not enabled: not swept", integration.id)
                if integration_id is not None:
                    run.failures.append(RegistryFailure(integration.id, integration.registry, None, "integration-disabled",
                                                        "the integration has no working token: it is not swept"))
                continue
            active = sorted(name for name, on in self.repositories.enabled_repositories(integration.id).items() if on)
            pending = [name for name in active if cursor is None or (integration.id, name) > cursor]
            if pending and not self._sweep_integration(integration, pending, scope, run):
                stopped = True
                break
        if not stopped:
            self.cursors.record(scope, None, format_time(self.clock()))
        report = SweepReport(
            repositories=run.repositories, tags=run.tags, push_jobs=run.push_jobs, delete_jobs=run.delete_jobs,
            requests=run.requests_done, failures=tuple(run.failures), finished=not stopped,
            resume_after=None if not stopped else run.last or cursor, seconds=time.monotonic() - run.started,
        )
        log.info("reconciliation sweep (%s): %d repositories, %d tags, %d push and %d delete jobs queued, "
                 "%d registry requests, %d registries failed, %s in %.1fs", scope, report.repositories, report.tags,
                 report.push_jobs, report.delete_jobs, report.requests, len(report.failures),
                 "finished" if report.finished else "to be continued", report.seconds)
        return report

    def _sweep_integration(self, integration: Integration, pending: Sequence[str], scope: str, run: _Run) -> bool:
        """Sweep ``pending`` repositories of ``integration`` in order; False when a bound stopped the run."""
        if run.exhausted(None):
            return False
        try:
            client = self.integrations.registry_client(integration, min_interval=self.limits.min_interval)
        except LookoutError as exc:
            self._failed(run, integration, None, exc)
            return True
        acr = True
        try:
            for repository in pending:
                if run.exhausted(client):
                    return False
                try:
                    listing = tagged_digests(client, repository, self.limits.max_tags, acr=acr)
                except LookoutError as exc:
                    self._failed(run, integration, repository, exc)
                    return True
                acr = listing.acr
                records = self.images.list_repository(integration.registry, repository)
                now = self.clock()
                jobs = _push_jobs(integration, repository, listing.tags, records, now)
                try:
                    gone = self._vanished(client, repository, listing.tags, records)
                except LookoutError as exc:
                    self._failed(run, integration, repository, exc)
                    return True
                jobs += [_delete_job(integration, record, now) for record in gone]
                for job in jobs:
                    self.jobs.put(job)
                run.tags += len(listing.tags)
                run.push_jobs += sum(1 for job in jobs if job.kind == "push")
                run.delete_jobs += len(gone)
                run.repositories += 1
                run.last = (integration.id, repository)
                self.cursors.record(scope, run.last, format_time(self.clock()))
            return True
        finally:
            run.requests_done += client.request_count
            client.close()

    def _vanished(self, client: RegistryClient, repository: str, tags: Sequence[TaggedDigest],
                  records: Sequence[ImageRecord]) -> list[ImageRecord]:
        """The analyzed records no listed tag points at whose manifest the registry no longer has.

        One ``HEAD`` per record checked; at most ``max_presence_checks`` of them (a random choice
        when there are more, so that every one is checked over a few runs).
        """
        tagged = {t.digest for t in tags}
        untagged = sorted((r for r in records if r.status == "analyzed" and r.digest not in tagged), key=lambda r: r.digest)
        if len(untagged) > self.limits.max_presence_checks:
            chosen = random.sample(untagged, self.limits.max_presence_checks)
            untagged = sorted(chosen, key=lambda r: r.digest)
        gone = [r for r in untagged if not manifest_exists(client, repository, r.digest)]
        for record in gone:
            log.info("%s/%s@%s is gone from the registry, and no delete event arrived", record.registry, repository,
                     record.digest)
        return gone

    def _failed(self, run: _Run, integration: Integration, repository: str | None, exc: LookoutError) -> None:
        where = f" at {repository}" if repository else ""
        log.warning("reconciliation of %s (integration %s) stopped%s: %s: %s", integration.registry, integration.id,
                    where, exc.code, exc.message)
        run.failures.append(RegistryFailure(integration.id, integration.registry, repository, exc.code, exc.message))


def _push_jobs(integration: Integration, repository: str, tags: Sequence[TaggedDigest], records: Sequence[ImageRecord],
               now: datetime) -> list[Job]:
    """One push job per tagged digest that needs one (see the module doc), naming its most recently moved tag."""
    by_digest = {r.digest: r for r in records}
    jobs: list[Job] = []
    decided: set[str] = set()
    for tagged in _newest_first(tags):
        if tagged.digest in decided:
            continue
        decided.add(tagged.digest)
        if _needs_push(by_digest.get(tagged.digest), tagged, now):
            jobs.append(Job(kind="push", integration_id=integration.id, registry=integration.registry,
                            repository=repository, digest=tagged.digest, tag=tagged.tag,
                            event_time=tagged.updated or format_time(now), reason="reconcile"))
    return jobs


def _delete_job(integration: Integration, record: ImageRecord, now: datetime) -> Job:
    return Job(kind="delete", integration_id=integration.id, registry=integration.registry, repository=record.repository,
               digest=record.digest, media_type=record.media_type or None, event_time=format_time(now), reason="reconcile")


def _newest_first(tags: Sequence[TaggedDigest]) -> list[TaggedDigest]:
    """``tags`` by the time they moved, newest first (stable: without times, the listing's order)."""
    return sorted(tags, key=lambda t: t.updated, reverse=True)


def _needs_push(record: ImageRecord | None, tagged: TaggedDigest, now: datetime) -> bool:
    """Whether a tagged digest with ``record`` (None: no record) needs a push job (see the module doc)."""
    if record is None:
        moved = _moment(tagged.updated)
        return moved is None or now - moved >= RECENT_TAG_GRACE
    if record.status == "retrying":
        touched = _moment(record.analyzed or record.received or "")
        return touched is None or now - touched >= STALE_RETRYING
    if record.status == "deleted":
        return bool(tagged.updated) and tagged.updated > record.event_time
    return False


def _moment(text: str) -> datetime | None:
    canonical = normalize_time(text) if text else ""
    return datetime.fromisoformat(canonical.replace("Z", "+00:00")) if canonical else None
