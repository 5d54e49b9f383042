"""The reconciliation sweep over in-memory stores, against the session's real registry and ACR-like stand-ins."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest

from shared.clock import format_time, utc_now
from shared.errors import NotFound
from shared.images.model import ImageRecord, ImageStatus
from shared.intake.jobs import Job, decode_job, encode_job
from shared.intake.reconcile import Reconciler, RegistryFailure, SweepLimits, SweepReport
from shared.integrations.model import Integration
from shared.integrations.service import Integrations
from shared.registry.auth import Credentials
from shared.secrets import SecretBox, generate_key
from testkit.images import PushedImage, delete_manifest, push_image, tag_manifest
from testkit.memory_records import (
    MemoryActivations,
    MemoryCursors,
    MemoryImages,
    MemoryIntegrations,
    MemoryJobs,
    MemoryReports,
    MemorySboms,
)
from testkit.registry import RegistryServer
from testkit.standin import Reply, StandIn

UNPACED = SweepLimits(min_interval=0.0)


@dataclass
class Harness:
    """A reconciler over in-memory stores, and helpers to set up integrations and records."""

    box: SecretBox = field(default_factory=lambda: SecretBox(generate_key()))
    integrations: MemoryIntegrations = field(default_factory=MemoryIntegrations)
    activations: MemoryActivations = field(default_factory=MemoryActivations)
    images: MemoryImages = field(default_factory=MemoryImages)
    jobs: MemoryJobs = field(default_factory=MemoryJobs)
    cursors: MemoryCursors = field(default_factory=MemoryCursors)

    def reconciler(self, limits: SweepLimits = UNPACED, clock: Callable[[], datetime] | None = None) -> Reconciler:
        service = Integrations(records=self.integrations, repositories=self.activations, images=self.images,
                               sboms=MemorySboms(), reports=MemoryReports(), jobs=self.jobs, box=self.box,
                               public_url="https://lookout.example")
        if clock is None:
            return Reconciler(integrations=service, repositories=self.activations, images=self.images, jobs=self.jobs,
                              cursors=self.cursors, limits=limits)
        return Reconciler(integrations=service, repositories=self.activations, images=self.images, jobs=self.jobs,
                          cursors=self.cursors, limits=limits, clock=clock)

    def sweep(self, integration_id: str | None = None, limits: SweepLimits = UNPACED,
              clock: Callable[[], datetime] | None = None) -> tuple[SweepReport, list[Job]]:
        """One sweep; its report and the jobs it queued (taken off the queue)."""
        report = self.reconciler(limits, clock).sweep(integration_id)
        queued, self.jobs.jobs = self.jobs.jobs, []
        for job in queued:
            assert decode_job(encode_job(job)) == job
        return report, queued

    def integration(self, host: str, credentials: Credentials | None = None, *, enabled: bool = True,
                    integration_id: str | None = None) -> Integration:
        integration = Integration(
            id=integration_id or uuid.uuid4().hex[:16], registry=host, created=utc_now(),
            webhook_secret_encrypted=self.box.encrypt("secret"), insecure=True, enabled=enabled,
            status="connected" if enabled else "pending",
            username=credentials.username if credentials else None,
            password_encrypted=self.box.encrypt(credentials.password) if credentials else None)
        self.integrations.put(integration)
        return integration

    def activate(self, integration: Integration, *repositories: str, enabled: bool = True) -> None:
        for repository in repositories:
            self.activations.set_enabled(integration.id, repository, enabled, utc_now())

    def record(self, integration: Integration, repository: str, digest: str, status: ImageStatus = "analyzed",
               when: str | None = None) -> None:
        """Write a record as the worker would have."""
        moment = when or utc_now()
        self.images.put(ImageRecord(registry=integration.registry, repository=repository, digest=digest, status=status,
                                    event_time=moment, received=moment, analyzed=moment))


@pytest.fixture
def harness() -> Harness:
    return Harness()


def unique(prefix: str) -> str:
    return f"{prefix}/{uuid.uuid4().hex[:8]}"


def pushed(registry: RegistryServer, repository: str, tag: str | None, marker: str) -> PushedImage:
    return push_image(registry, repository, tag, [{"marker.txt": marker}])


# -- the real registry (no ACR API: a HEAD per tag) -----------------------------------------------


def test_a_pushed_but_never_notified_image_gets_exactly_one_push_job(harness: Harness, registry: RegistryServer) -> None:
    integration = harness.integration(registry.host, registry.readonly)
    repository = unique("lost/push")
    harness.activate(integration, repository)
    image = pushed(registry, repository, "1.0", "one")
    tag_manifest(registry, repository, "latest", image)

    before = datetime.now(timezone.utc)
    report, jobs = harness.sweep()
    (job,) = jobs
    assert (job.kind, job.reason, job.digest, job.repository) == ("push", "reconcile", str(image.digest), repository)
    assert job.integration_id == integration.id and job.registry == registry.host
    assert job.tag in ("1.0", "latest") and job.event_id is None
    assert job.event_time >= format_time(before)  # the OCI API has no tag times: the sweep's own
    assert (report.repositories, report.tags, report.push_jobs, report.delete_jobs) == (1, 2, 1, 0)
    assert report.finished and report.failures == () and report.requests > 0

    _, jobs = harness.sweep()  # the worker has not recorded it yet: still missing
    assert [j.digest for j in jobs] == [str(image.digest)]

    harness.record(integration, repository, str(image.digest))  # the worker's record
    quiet, jobs = harness.sweep()
    assert jobs == [] and quiet.push_jobs == 0 and quiet.tags == 2


@pytest.mark.parametrize(("status", "age", "queued"), [
    ("failed", timedelta(days=3), False),
    ("retrying", timedelta(minutes=5), False),
    ("retrying", timedelta(hours=2), True),
])
def test_recorded_results_are_left_alone_and_stale_retries_queued_again(
    harness: Harness, registry: RegistryServer, status: ImageStatus, age: timedelta, queued: bool
) -> None:
    integration = harness.integration(registry.host, registry.readonly)
    repository = unique("lost/state")
    harness.activate(integration, repository)
    image = pushed(registry, repository, "v", f"state-{status}-{age}")
    harness.record(integration, repository, str(image.digest), status, format_time(datetime.now(timezone.utc) - age))
    _, jobs = harness.sweep()
    assert [j.digest for j in jobs] == ([str(image.digest)] if queued else [])


def test_a_deleted_images_record_gets_a_delete_job(harness: Harness, registry: RegistryServer) -> None:
    integration = harness.integration(registry.host, registry.readonly)
    repository = unique("lost/delete")
    harness.activate(integration, repository)
    kept = pushed(registry, repository, "kept", "kept")
    gone = pushed(registry, repository, "gone", "gone")
    for image in (kept, gone):
        harness.record(integration, repository, str(image.digest))
    delete_manifest(registry, repository, gone.digest)

    before = format_time(datetime.now(timezone.utc))
    report, jobs = harness.sweep()
    (job,) = jobs
    assert (job.kind, job.reason, job.digest, job.tag) == ("delete", "reconcile", str(gone.digest), None)
    assert job.event_time >= before
    assert (report.push_jobs, report.delete_jobs) == (0, 1)

    harness.record(integration, repository, str(gone.digest), "deleted")  # the worker's tombstone
    _, jobs = harness.sweep()
    assert jobs == []


def test_an_untagged_image_that_is_still_there_is_kept(harness: Harness, registry: RegistryServer) -> None:
    integration = harness.integration(registry.host, registry.readonly)
    repository = unique("lost/untagged")
    harness.activate(integration, repository)
    by_digest = pushed(registry, repository, None, "child")
    old = pushed(registry, repository, "latest", "old")
    new = pushed(registry, repository, "latest", "new")  # moves the tag: the old image stays, untagged
    for image in (by_digest, old):
        harness.record(integration, repository, str(image.digest))

    report, jobs = harness.sweep()
    assert [(j.kind, j.digest, j.tag) for j in jobs] == [("push", str(new.digest), "latest")]
    assert report.delete_jobs == 0 and report.tags == 1


def test_deactivated_repositories_and_disabled_integrations_are_not_swept(harness: Harness, registry: RegistryServer) -> None:
    enabled = harness.integration(registry.host, registry.readonly, integration_id="aaaa")
    off = unique("lost/off")
    harness.activate(enabled, off)
    harness.activate(enabled, off, enabled=False)
    pushed(registry, off, "1", "off")
    # The same registry under another name, as an integration whose token never passed its test.
    disabled = harness.integration(f"localhost:{registry.port}", registry.readonly, enabled=False, integration_id="bbbb")
    on = unique("lost/disabled")
    harness.activate(disabled, on)
    pushed(registry, on, "1", "disabled")

    report, jobs = harness.sweep()
    assert jobs == []
    assert (report.repositories, report.requests, report.failures, report.finished) == (0, 0, (), True)

    alone, jobs = harness.sweep(disabled.id)
    assert jobs == [] and alone.repositories == 0
    assert [(f.integration_id, f.code) for f in alone.failures] == [(disabled.id, "integration-disabled")]


def test_the_cursor_resumes_after_a_bounded_run(harness: Harness, registry: RegistryServer) -> None:
    integration = harness.integration(registry.host, registry.readonly)
    base = unique("lost/cursor")
    repositories = [f"{base}/r{n}" for n in range(3)]
    harness.activate(integration, *repositories)
    images = {r: pushed(registry, r, "t", r) for r in repositories}
    two = SweepLimits(max_repositories=2, min_interval=0.0)

    first, jobs = harness.sweep(limits=two)
    assert [j.repository for j in jobs] == repositories[:2]
    assert (first.repositories, first.finished, first.resume_after) == (2, False, (integration.id, repositories[1]))
    assert harness.cursors.last_finished("all") == (integration.id, repositories[1])

    second, jobs = harness.sweep(limits=two)
    assert [j.repository for j in jobs] == repositories[2:]
    assert (second.repositories, second.finished, second.resume_after) == (1, True, None)
    assert harness.cursors.last_finished("all") is None

    for repository, image in images.items():
        harness.record(integration, repository, str(image.digest))
    by_requests, jobs = harness.sweep(limits=SweepLimits(max_requests=1, min_interval=0.0))
    assert jobs == [] and (by_requests.repositories, by_requests.finished) == (1, False)  # one repository, then the bound
    assert harness.cursors.last_finished("all") == (integration.id, repositories[0])
    assert harness.cursors.last_finished(f"integration:{integration.id}") is None  # scopes are separate


def test_a_failing_registry_is_reported_and_the_others_are_still_swept(harness: Harness, registry: RegistryServer) -> None:
    unreachable = harness.integration("127.0.0.1:1", registry.readonly, integration_id="aaaa")
    refused = harness.integration(f"localhost:{registry.port}", Credentials(registry.readonly.username, "wrong"),
                                  integration_id="bbbb")
    working = harness.integration(registry.host, registry.readonly, integration_id="cccc")
    repository = unique("lost/failing")
    for integration in (unreachable, refused, working):
        harness.activate(integration, repository)
    image = pushed(registry, repository, "1", "failing")

    report, jobs = harness.sweep()
    assert [(j.integration_id, j.digest) for j in jobs] == [("cccc", str(image.digest))]
    assert [(f.integration_id, f.repository, f.code) for f in report.failures] == [
        ("aaaa", repository, "registry-unreachable"), ("bbbb", repository, "unauthorized")]
    assert all(f.reason for f in report.failures)
    assert report.finished and report.repositories == 1


# -- ACR's API, scripted --------------------------------------------------------------------------


NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def digest(n: int) -> str:
    return f"sha256:{n:064x}"


def at(delta: timedelta) -> str:
    return format_time(NOW + delta)


@pytest.fixture
def acr() -> Iterator[StandIn]:
    """An anonymous registry with ACR's ``/acr/v1`` API (plain HTTP on loopback)."""
    server = StandIn()
    server.route("GET", "/v2/", Reply(200, b"{}"))
    yield server
    server.close()


def acr_tags(server: StandIn, repository: str, records: list[dict[str, str]], *before: Reply) -> None:
    body = Reply(200, json.dumps({"imageName": repository, "tags": records}).encode())
    server.route("GET", f"/acr/v1/{repository}/_tags", *before, body)


def test_with_acr_tag_times_date_the_jobs_and_order_them_against_tombstones(harness: Harness, acr: StandIn) -> None:
    integration = harness.integration(acr.host)
    harness.activate(integration, "app")
    hour, day = timedelta(hours=1), timedelta(days=1)
    acr_tags(acr, "app", [
        {"name": "fresh", "digest": digest(1), "lastUpdateTime": at(-timedelta(minutes=1))},  # its event is on its way
        {"name": "stuck", "digest": digest(2), "lastUpdateTime": at(-3 * hour)},
        {"name": "busy", "digest": digest(3), "lastUpdateTime": at(-3 * hour)},
        {"name": "again", "digest": digest(4), "lastUpdateTime": at(-2 * hour)},  # re-pushed after its delete
        {"name": "old-delete", "digest": digest(5), "createdTime": at(-2 * day)},  # deleted after the tag moved
        {"name": "newer", "digest": digest(6), "lastUpdateTime": at(-1 * day)},
        {"name": "older", "digest": digest(6), "lastUpdateTime": at(-2 * day)},
        {"name": "done", "digest": digest(7), "lastUpdateTime": at(-2 * day)},
    ])
    harness.record(integration, "app", digest(2), "retrying", at(-2 * hour))
    harness.record(integration, "app", digest(3), "retrying", at(-timedelta(minutes=10)))
    harness.record(integration, "app", digest(4), "deleted", at(-day))
    harness.record(integration, "app", digest(5), "deleted", at(-day))
    harness.record(integration, "app", digest(7))
    harness.record(integration, "app", digest(8))  # untagged, gone
    harness.record(integration, "app", digest(9))  # untagged, still there
    acr.route("HEAD", f"/v2/app/manifests/{digest(8)}", Reply(404))
    acr.route("HEAD", f"/v2/app/manifests/{digest(9)}", Reply(200, headers={"Docker-Content-Digest": digest(9)}))

    report, jobs = harness.sweep(clock=lambda: NOW)
    assert [(j.kind, j.digest, j.tag, j.event_time) for j in jobs] == [
        ("push", digest(4), "again", at(-2 * hour)),
        ("push", digest(2), "stuck", at(-3 * hour)),
        ("push", digest(6), "newer", at(-day)),
        ("delete", digest(8), None, format_time(NOW)),
    ]
    assert (report.tags, report.push_jobs, report.delete_jobs) == (8, 3, 1)
    assert not acr.requests_to("/v2/app/tags/list")
    assert sorted(s.path for s in acr.seen if s.method == "HEAD") == [f"/v2/app/manifests/{digest(n)}" for n in (8, 9)]


def test_throttling_is_waited_out_or_fails_only_that_registry(harness: Harness, acr: StandIn) -> None:
    other = StandIn()
    try:
        other.route("GET", "/v2/", Reply(200, b"{}"))
        patient = harness.integration(acr.host, integration_id="aaaa")
        throttled = harness.integration(other.host, integration_id="bbbb")
        for integration in (patient, throttled):
            harness.activate(integration, "app")
        acr_tags(acr, "app", [{"name": "1", "digest": digest(1), "lastUpdateTime": at(-timedelta(days=1))}],
                 Reply(429, headers={"Retry-After": "1"}))
        other.route("GET", "/acr/v1/app/_tags", Reply(429, headers={"Retry-After": "3600"}))
        started = time.monotonic()
        report, jobs = harness.sweep(clock=lambda: NOW)
        assert time.monotonic() - started >= 1.0
    finally:
        other.close()
    assert [(j.integration_id, j.digest) for j in jobs] == [("aaaa", digest(1))]
    assert len(acr.requests_to("/acr/v1/app/_tags")) == 2
    assert report.failures == (RegistryFailure("bbbb", other.host, "app", "throttled", report.failures[0].reason),)
    assert "3600" in report.failures[0].reason


def test_requests_to_one_registry_are_paced(harness: Harness, acr: StandIn) -> None:
    integration = harness.integration(acr.host)
    repositories = [f"paced/r{n}" for n in range(4)]
    harness.activate(integration, *repositories)
    for repository in repositories:
        acr_tags(acr, repository, [])
    report, _ = harness.sweep(limits=SweepLimits(min_interval=0.2))
    assert report.requests == 4 and report.repositories == 4
    assert report.seconds >= 3 * 0.2


def test_presence_checks_per_repository_are_bounded(harness: Harness, acr: StandIn) -> None:
    integration = harness.integration(acr.host)
    harness.activate(integration, "app")
    acr_tags(acr, "app", [])
    for n in range(1, 6):
        harness.record(integration, "app", digest(n))
        acr.route("HEAD", f"/v2/app/manifests/{digest(n)}", Reply(404))
    report, jobs = harness.sweep(limits=SweepLimits(max_presence_checks=2, min_interval=0.0))
    assert report.delete_jobs == 2 and len({j.digest for j in jobs}) == 2
    assert len([s for s in acr.seen if s.method == "HEAD"]) == 2


def test_an_unknown_integration_is_refused(harness: Harness) -> None:
    with pytest.raises(NotFound):
        harness.reconciler().sweep("nope")

