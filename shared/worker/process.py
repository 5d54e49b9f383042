"""The queue worker's logic: turn one job into recorded image state.

Contract with the Functions host: :meth:`Worker.process` returns normally when the message is done
(analyzed, recorded as failed, rejected as malformed, or moot) and raises a temporary
:class:`LookoutError` when it should be retried (the host retries, then moves it to the poison queue).

Ordering: events may arrive out of order and more than once. Each record carries the time of the
event that last changed it; a delete leaves a tombstone so that a push processed after the delete
of the same digest (but pushed before it) leaves nothing behind.

Listings: once an image is analyzed its packages and findings are filed in the package and advisory
indexes (filed again, from what is stored, when the image is pushed again: that completes a filing a
crash interrupted); a delete unfiles them; every change to a repository's records or tags refreshes
its summary (:func:`~shared.api.repository_listing.refresh_repository`). :meth:`Worker.refile` files an
analyzed image again from what is stored, for images analyzed before the listings existed
(:mod:`shared.worker.listings`).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from shared.analysis import Limits, analyze_platform
from shared.analysis.cache import LayerCache
from shared.analysis.model import PlatformAnalysis
from shared.api.repository_listing import refresh_repository
from shared.bases.service import Bases
from shared.clock import format_time, utc_now
from shared.errors import LookoutError
from shared.images.listing import PackageOccurrence
from shared.images.model import ImageRecord, PlatformRecord, PlatformRef, TagRecord
from shared.intake.jobs import InvalidJob, Job, decode_job
from shared.integrations.model import Integration
from shared.notify.changes import announce_new_findings
from shared.policy.service import Policies
from shared.records import (
    AnalysisLeases,
    ImageRecords,
    IntegrationRecords,
    PackageOccurrences,
    QueueMessage,
    RejectedMessages,
    RepositorySummaries,
    SbomRecords,
)
from shared.registry.catalog import latest_image
from shared.registry.client import RegistryClient
from shared.registry.image import PlatformImage, inspect_image
from shared.vulns.matching import Matcher
from shared.vulns.service import Vulnerabilities, image_counts, with_vulnerabilities

log = logging.getLogger(__name__)

Outcome = Literal["analyzed", "failed", "deleted", "duplicate", "moot", "rejected"]

ANALYSIS_LEASE = timedelta(minutes=15)
"""How long a job holds an image's analysis lease by default (``LOOKOUT_ANALYSIS_LEASE_SECONDS``): longer
than an analysis takes, so that only a worker that died leaves a lease to expire."""

CREDENTIAL_FAILURES = frozenset({"unauthorized", "denied"})
"""Failure codes that mean the integration's token no longer works: the integration shows an error."""

ClientFactory = Callable[[Integration], RegistryClient]
"""A registry client for an integration (raises a permanent error when it is not enabled)."""


def package_occurrences(registry: str, repository: str, digest: str,
                        analyses: Sequence[PlatformAnalysis]) -> list[PackageOccurrence]:
    """Every package of an image's platform SBOMs, as the package index files it."""
    return [PackageOccurrence(registry=registry, repository=repository, digest=digest, platform=analysis.platform,
                              platform_digest=analysis.digest, purl=package.purl, name=package.name,
                              version=package.version, type=package.type, layer=package.layer)
            for analysis in analyses for package in analysis.packages]


@dataclass(frozen=True)
class Refiling:
    """What filing an analyzed image again did (:meth:`Worker.refile`).

    ``filed`` is false when the image is no longer a live analyzed image (nothing was filed);
    ``missing`` names the stored SBOMs and reports the image lacks (``SBOM of <platform digest>``,
    ``report of <platform digest>``): the rest of it was filed.
    """

    filed: bool
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class Worker:
    """Turns queue messages into recorded image state, with the stores and clients it is given.

    ``analysis_lease`` is how long a job holds the lease of the image it analyzes (the lease's holder
    is the queue message id, which a redelivered message keeps).
    """

    integrations: IntegrationRecords
    images: ImageRecords
    sboms: SbomRecords
    layer_cache: LayerCache
    rejected: RejectedMessages
    vulnerabilities: Vulnerabilities
    packages: PackageOccurrences
    summaries: RepositorySummaries
    leases: AnalysisLeases
    client_for: ClientFactory
    analysis_lease: timedelta = ANALYSIS_LEASE
    bases: Bases | None = None
    """Base image detection: each analyzed image gets its platforms' bases and files its chains (None: off)."""
    policies: Policies | None = None
    """Policy evaluation: each analyzed image's policies are evaluated and stored (None: off)."""
    analysis_limits: Limits | None = None
    """The analysis limits, the layers read at once among them (None: the defaults)."""

    def process(self, message: QueueMessage) -> Outcome:
        """Process one queue message (see the module contract)."""
        try:
            job = decode_job(message.text)
        except InvalidJob as exc:
            log.error("rejected queue message %s: %s", message.id, exc.message)
            self.rejected.record(message.id, message.text, exc.message, utc_now())
            return "rejected"
        if job.kind == "delete":
            return self._delete(job)
        if job.kind == "backfill":
            return self._backfill(job, message)
        return self._push(job, message)

    def _backfill(self, job: Job, message: QueueMessage) -> Outcome:
        """Analyze the latest image of a newly activated repository."""
        integration = self._integration_for(job)
        if integration is None:
            return "moot"
        try:
            with self.client_for(integration) as client:
                latest = latest_image(client, job.repository)
        except LookoutError as exc:
            if exc.temporary:
                raise
            log.warning("backfill of %s failed: %s: %s", job.key, exc.code, exc.message)
            return "failed"
        if latest is None:
            log.info("backfill of %s: the repository has no tagged image", job.key)
            return "moot"
        log.info("backfill of %s: latest image is %s (%s)", job.key, latest.tag, latest.digest)
        return self._push(replace(job, kind="push", digest=latest.digest, tag=latest.tag), message)

    def _integration_for(self, job: Job) -> Integration | None:
        integration = self.integrations.get(job.integration_id)
        if integration is None:
            log.info("job %s is moot: integration %s was removed", job.key, job.integration_id)
            return None
        if integration.registry != job.registry:
            log.warning("job %s refused: integration %s is for %s", job.key, integration.id, integration.registry)
            return None
        return integration

    def _delete(self, job: Job) -> Outcome:
        existing = self.images.get(job.registry, job.repository, job.digest)
        if existing is not None and existing.event_time and job.event_time and existing.event_time > job.event_time:
            log.info("delete of %s ignored: the image was pushed again after it", job.key)
            return "moot"
        self.images.drop_tags(job.registry, job.repository, job.digest)
        if existing is not None:
            self._forget_sboms(job, existing)
            if self.bases is not None:
                self.bases.unfile_image(existing)
        self.images.put(
            ImageRecord(registry=job.registry, repository=job.repository, digest=job.digest, status="deleted",
                        event_time=job.event_time, received=utc_now())
        )
        self.packages.file(job.registry, job.repository, job.digest, [])
        self.vulnerabilities.unfile_image(job.registry, job.repository, job.digest)
        if self.policies is not None:
            self.policies.results.delete(job.registry, job.repository, job.digest)
        self._refresh(job)
        log.info("deleted %s", job.key)
        return "deleted"

    def _forget_sboms(self, job: Job, deleted: ImageRecord) -> None:
        """Delete the SBOMs of the deleted image's platforms that no other image of the repository lists."""
        mine = {p.digest for p in deleted.platforms}
        if not mine:
            return
        others = {p.digest for r in self.images.list_repository(job.registry, job.repository)
                  if r.digest != job.digest and r.status != "deleted" for p in r.platforms}
        for digest in sorted(mine - others):
            self.sboms.delete(job.registry, job.repository, digest)
            self.vulnerabilities.reports.delete(PlatformRef(job.registry, job.repository, digest))

    def _push(self, job: Job, message: QueueMessage) -> Outcome:
        integration = self._integration_for(job)
        if integration is None:
            return "moot"
        existing = self.images.get(job.registry, job.repository, job.digest)
        if existing is not None and existing.status == "deleted" and existing.event_time > job.event_time:
            log.info("push of %s ignored: the image was deleted after it", job.key)
            return "moot"
        if existing is not None and existing.status == "analyzed":
            self._point_tag(job)
            self._file_stored(existing)
            if self.bases is not None:
                self.bases.file_image(existing)
            self._refresh(job)
            log.info("%s already analyzed", job.key)
            return "duplicate"
        now = datetime.now(timezone.utc)
        if not self.leases.acquire(job.registry, job.repository, job.digest, message.id, format_time(now),
                                   format_time(now + self.analysis_lease)):
            # Another message is analyzing this image; it stays queued until done, and is redelivered if
            # its worker dies, so this duplicate can complete — once it recorded its own tag (the same
            # image pushed under two tags at once makes two jobs).
            self._point_tag(job)
            self._refresh(job)
            log.info("%s is being analyzed by another job: this one is a duplicate", job.key)
            return "duplicate"
        try:
            return self._analyze_image(job, integration, message.dequeue_count)
        finally:
            self.leases.release(job.registry, job.repository, job.digest, message.id)

    def _analyze_image(self, job: Job, integration: Integration, dequeue_count: int) -> Outcome:
        """Read, analyze, match and record the image (the caller holds its lease)."""
        started = time.monotonic()
        received = utc_now()
        base = ImageRecord(registry=job.registry, repository=job.repository, digest=job.digest, status="retrying",
                           media_type=job.media_type or "", event_time=job.event_time, received=received,
                           attempts=dequeue_count)
        try:
            with self.client_for(integration) as client:
                image = inspect_image(client, job.repository, job.digest)
                matcher = self.vulnerabilities.matcher()
                analyzed = [self._analyze(client, matcher, job, platform) for platform in image.platforms]
        except LookoutError as exc:
            failed = replace(base, status="retrying" if exc.temporary else "failed", error_code=exc.code,
                             error=exc.message, analyzed=utc_now(), duration_ms=_ms(started))
            if exc.temporary:
                log.warning("%s failed temporarily (attempt %d): %s", job.key, dequeue_count, exc.code)
                self._record_quietly(failed, job)
                raise
            log.warning("%s failed: %s: %s", job.key, exc.code, exc.message)
            self.images.put(failed)
            self._point_tag(job)
            self._refresh(job)
            if exc.code in CREDENTIAL_FAILURES:
                self.integrations.put(replace(integration, status="error", last_error=exc.message,
                                              last_error_at=utc_now()))
            return "failed"
        counts, fixable = image_counts([report for _, _, report in analyzed])
        record = replace(base, status="analyzed", media_type=image.media_type, size=image.size,
                         platforms=tuple(platform for platform, _, _ in analyzed), vulnerabilities=counts,
                         fixable=fixable, analyzed=utc_now(), duration_ms=_ms(started))
        if self.bases is not None:
            record = self.bases.detect(record)
        record = replace(record, attestations=image.attestations)
        if self.policies is not None:
            record = self.policies.evaluate(record, {PlatformRef(job.registry, job.repository, p.digest): report
                                                     for p, _, report in analyzed}, [a for _, a, _ in analyzed],
                                            integration.id)
        previous = self.images.get_tag(job.registry, job.repository, job.tag) if job.tag else None
        self.images.put(record)
        self._point_tag(job)
        if self.bases is not None:
            self.bases.file_image(record)
        self.packages.file(job.registry, job.repository, job.digest,
                           package_occurrences(job.registry, job.repository, job.digest, [a for _, a, _ in analyzed]))
        self.vulnerabilities.file_image(record, {PlatformRef(job.registry, job.repository, p.digest): report
                                                 for p, _, report in analyzed})
        announce_new_findings(self.vulnerabilities.notices, record, self._reports_before(job, record, previous), {
            PlatformRef(job.registry, job.repository, p.digest): report for p, _, report in analyzed}, "analysis")
        self._refresh(job)
        log.info("analyzed %s: %d platform(s)", job.key, len(image.platforms))
        return "analyzed"

    def _analyze(
        self, client: RegistryClient, matcher: Matcher, job: Job, platform: PlatformImage
    ) -> tuple[PlatformRecord, PlatformAnalysis, dict[str, Any]]:
        """Build, store and match the SBOM of one platform image; the platform with its summary, the SBOM and
        the report."""
        analysis = analyze_platform(client, job.repository, platform, cache=self.layer_cache, limits=self.analysis_limits)
        self.sboms.put(job.registry, job.repository, analysis, utc_now())
        report = self.vulnerabilities.match_and_store(
            matcher, PlatformRef(job.registry, job.repository, platform.digest), analysis, image_digest=job.digest)
        counts = Counter(p.type for p in analysis.packages)
        distro = None
        if analysis.os is not None:
            distro = analysis.os.pretty_name or " ".join(x for x in (analysis.os.id, analysis.os.version_id) if x)
        summarized = replace(PlatformRecord.of(platform), distro=distro, package_counts=dict(sorted(counts.items())),
                             problems=len(analysis.problems))
        return with_vulnerabilities(summarized, report), analysis, report

    def _reports_before(self, job: Job, record: ImageRecord, previous: TagRecord | None
                        ) -> dict[PlatformRef, dict[str, Any] | None]:
        """What the new image's findings are compared with for notifications: the reports of the image its tag
        pointed at before (all of that image's findings, for each platform of the new one), or nothing — a first
        push, or an untagged one, makes every finding new."""
        if previous is None or previous.digest == job.digest or self.vulnerabilities.notices is None:
            return {}
        before = self.images.get(job.registry, job.repository, previous.digest)
        if before is None or before.status != "analyzed":
            return {}
        findings = [finding for platform in before.platforms
                    for finding in (self.vulnerabilities.reports.get(PlatformRef(job.registry, job.repository, platform.digest))
                                    or {}).get("findings", [])]
        return {PlatformRef(job.registry, job.repository, p.digest): {"findings": findings} for p in record.platforms}

    def _point_tag(self, job: Job) -> None:
        if job.tag:
            self.images.point_tag(job.registry, job.repository, job.tag, job.digest, job.event_time)

    def _file_stored(self, record: ImageRecord) -> tuple[str, ...]:
        """File an analyzed image's packages and findings from its stored SBOMs and reports: completes the filing
        of an analysis interrupted after its record was written (when nothing is missing, nothing is written).

        Returns what is not stored (``SBOM of <platform digest>``, ``report of <platform digest>``), in
        platform order; what is stored is filed all the same.
        """
        analyses: list[PlatformAnalysis] = []
        reports: dict[PlatformRef, dict[str, Any]] = {}
        missing: list[str] = []
        for platform in record.platforms:
            ref = PlatformRef(record.registry, record.repository, platform.digest)
            analysis = self.sboms.get(record.registry, record.repository, platform.digest)
            if analysis is None:
                missing.append(f"SBOM of {platform.digest}")
            else:
                analyses.append(analysis)
            report = self.vulnerabilities.reports.get(ref)
            if report is None:
                missing.append(f"report of {platform.digest}")
            else:
                reports[ref] = report
        self.packages.file(record.registry, record.repository, record.digest,
                           package_occurrences(record.registry, record.repository, record.digest, analyses))
        self.vulnerabilities.file_image(record, reports)
        return tuple(missing)

    def refile(self, record: ImageRecord) -> Refiling:
        """File the analyzed image of ``record`` again in every listing index from what is stored: its record in the
        push order and its tags (:meth:`~shared.records.ImageRecords.relist`), its packages from its stored
        SBOMs and its findings from its stored reports. The repository's summary is not refreshed: call
        :meth:`refresh_summary` once the repository's images are filed.

        For images analyzed before the listings existed (``lookout listings rebuild``). Idempotent: an
        image filed already is filed again unchanged. The record is read again first: an image deleted
        or no longer analyzed is not filed, and one deleted while it was being filed is unfiled again.
        """
        current = self.images.relist(record.registry, record.repository, record.digest)
        if current is None or current.status != "analyzed":
            return Refiling(filed=False)
        missing = self._file_stored(current)
        after = self.images.get(record.registry, record.repository, record.digest)
        if after is None or after.status != "analyzed":
            self.packages.file(record.registry, record.repository, record.digest, [])
            self.vulnerabilities.unfile_image(record.registry, record.repository, record.digest)
            return Refiling(filed=False)
        if missing:
            log.warning("%s/%s@%s filed without its %s", record.registry, record.repository, record.digest,
                        ", ".join(missing))
        return Refiling(filed=True, missing=missing)

    def refresh_summary(self, registry: str, repository: str) -> None:
        """Bring the summary of ``registry/repository`` up to date with its records and tags."""
        refresh_repository(self.images, self.summaries, registry, repository)

    def _refresh(self, job: Job) -> None:
        """Bring the summary of the job's repository up to date with its records and tags."""
        self.refresh_summary(job.registry, job.repository)

    def _record_quietly(self, record: ImageRecord, job: Job) -> None:
        """Record a temporary failure for users to see; storage trouble here must not hide the original error."""
        try:
            self.images.put(record)
            self._refresh(job)
        except LookoutError as exc:
            log.warning("could not record the temporary failure of %s: %s", record.digest, exc.code)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
