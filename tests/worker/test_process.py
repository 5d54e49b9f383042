"""The worker's state machine over in-memory stores and the session's real registry.

Storage is not the point here (the end-to-end tests run the same worker on Azurite): the stores are
the stand-ins of :mod:`testkit.memory_records`, passed in through the worker's seams.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

import pytest

from shared.analysis.cache import MemoryLayerCache
from shared.api.image_lookup import image_json
from shared.images.model import PlatformRef
from shared.intake.jobs import Job, encode_job
from shared.integrations.model import Integration
from shared.notify.messages import NotifyMessage
from shared.records import QueueMessage
from shared.registry.auth import Credentials
from shared.registry.client import RegistryClient
from shared.vulns.index import MemoryIndex
from shared.vulns.service import Vulnerabilities
from shared.worker.process import Worker
from testkit.contents import dist_info
from testkit.images import PushedImage, push_image
from testkit.memory_records import (
    MemoryAffected,
    MemoryImages,
    MemoryIntegrations,
    MemoryLeases,
    MemoryPackages,
    MemoryRejected,
    MemoryReports,
    MemorySboms,
    MemorySummaries,
)
from testkit.registry import RegistryServer
from tests.vulns.support import advisory, affected

OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'
PUSHED_AT = "2026-03-01T10:00:00.000000Z"
DIST_PACKAGES = "usr/lib/python3/dist-packages"
"""Where Debian's Python packages are installed (the images here are Debian 12)."""


@dataclass
class Harness:
    """A worker and the stores it writes."""

    worker: Worker
    registry: RegistryServer
    integrations: MemoryIntegrations
    images: MemoryImages
    sboms: MemorySboms
    reports: MemoryReports
    rejected: MemoryRejected
    packages: MemoryPackages
    summaries: MemorySummaries
    affected: MemoryAffected

    def job(self, kind: str, image: PushedImage | None = None, *, repository: str = "team/worker", tag: str | None = None,
            event_time: str = PUSHED_AT, integration_id: str = "i1") -> QueueMessage:
        job = Job(kind=kind, integration_id=integration_id, registry=self.registry.host,  # type: ignore[arg-type]
                  repository=repository, digest=str(image.digest) if image else "", tag=tag,
                  media_type=image.media_type if image else None, event_time=event_time)
        return QueueMessage(id=f"m-{kind}-{uuid.uuid4().hex[:8]}", text=encode_job(job), dequeue_count=1)


@pytest.fixture
def harness(registry: RegistryServer) -> Harness:
    integrations = MemoryIntegrations()
    integrations.put(Integration(id="i1", registry=registry.host, created=PUSHED_AT, webhook_secret_encrypted="unused",
                                 username=registry.readonly.username, insecure=True, status="connected", enabled=True))
    index = MemoryIndex()
    index.import_records([advisory("PYSEC-2026-1", affected("PyPI", "requests", ("introduced", "0"), ("fixed", "2.5.0")))])
    images, sboms, reports, rejected = MemoryImages(), MemorySboms(), MemoryReports(), MemoryRejected()
    packages, summaries, found = MemoryPackages(), MemorySummaries(), MemoryAffected()

    def client_for(integration: Integration) -> RegistryClient:
        return registry.client(Credentials(integration.username or "", registry.readonly.password))

    worker = Worker(integrations=integrations, images=images, sboms=sboms, layer_cache=MemoryLayerCache(),
                    rejected=rejected, vulnerabilities=Vulnerabilities(source=index, reports=reports, sboms=sboms,
                                                                       images=images, affected=found,
                                                                       summaries=summaries),
                    packages=packages, summaries=summaries, leases=MemoryLeases(), client_for=client_for)
    return Harness(worker, registry, integrations, images, sboms, reports, rejected, packages, summaries, found)


def push(registry: RegistryServer, tag: str = "1.0", version: str = "2.0.0", repository: str = "team/worker") -> PushedImage:
    return push_image(registry, repository, tag, [{"etc/os-release": OS_RELEASE},
                                                  dist_info("requests", version, site=DIST_PACKAGES)])


def test_a_push_is_analyzed_matched_and_recorded(harness: Harness) -> None:
    image = push(harness.registry)
    assert harness.worker.process(harness.job("push", image, tag="1.0")) == "analyzed"
    record = harness.images.get(harness.registry.host, "team/worker", str(image.digest))
    assert record is not None and record.status == "analyzed"
    assert [p.package_counts for p in record.platforms] == [{"pypi": 1}]
    assert record.vulnerabilities["unknown"] == 1 and record.fixable == 1
    ref = PlatformRef(harness.registry.host, "team/worker", record.platforms[0].digest)
    assert [p.name for p in harness.sboms.sboms[ref].packages] == ["requests"]
    report = harness.reports.get(ref)
    assert report is not None and [f["id"] for f in report["findings"]] == ["PYSEC-2026-1"]
    assert harness.images.tags_of(harness.registry.host, "team/worker", str(image.digest)) == ["1.0"]


def test_a_second_delivery_of_an_analyzed_image_reads_no_layer(harness: Harness) -> None:
    image = push(harness.registry, tag="dup", version="2.1.0")
    assert harness.worker.process(harness.job("push", image, tag="dup")) == "analyzed"
    before = harness.registry.blob_downloads.total()
    assert harness.worker.process(harness.job("push", image, tag="latest")) == "duplicate"
    assert harness.registry.blob_downloads.total() == before
    assert harness.images.tags_of(harness.registry.host, "team/worker", str(image.digest)) == ["dup", "latest"]


def test_a_delete_removes_the_sbom_and_report_and_a_late_push_leaves_nothing(harness: Harness) -> None:
    image = push(harness.registry, tag="gone", version="2.2.0")
    assert harness.worker.process(harness.job("push", image, tag="gone")) == "analyzed"
    assert harness.worker.process(harness.job("delete", image, event_time="2026-03-01T11:00:00.000000Z")) == "deleted"
    record = harness.images.get(harness.registry.host, "team/worker", str(image.digest))
    assert record is not None and record.status == "deleted"
    assert harness.sboms.sboms == {} and harness.reports.reports == {}
    assert harness.images.tags_of(harness.registry.host, "team/worker", str(image.digest)) == []
    # A push delivered late, but made before the delete, is moot.
    assert harness.worker.process(harness.job("push", image, tag="gone")) == "moot"
    assert harness.sboms.sboms == {}


def test_a_delete_older_than_the_last_push_is_ignored(harness: Harness) -> None:
    image = push(harness.registry, tag="kept", version="2.3.0")
    assert harness.worker.process(harness.job("push", image, tag="kept")) == "analyzed"
    assert harness.worker.process(harness.job("delete", image, event_time="2026-03-01T09:00:00.000000Z")) == "moot"
    record = harness.images.get(harness.registry.host, "team/worker", str(image.digest))
    assert record is not None and record.status == "analyzed"


def test_a_message_that_is_not_a_job_is_kept_as_rejected(harness: Harness) -> None:
    assert harness.worker.process(QueueMessage(id="m1", text="{not json", dequeue_count=1)) == "rejected"
    assert [(m, t) for m, t, _ in harness.rejected.messages] == [("m1", "{not json")]
    assert harness.images.records == {}


def test_jobs_of_removed_or_foreign_integrations_reach_no_registry(harness: Harness) -> None:
    image = push(harness.registry, tag="other", version="2.4.0")
    before = harness.registry.blob_downloads.total()
    assert harness.worker.process(harness.job("push", image, integration_id="removed")) == "moot"
    foreign = replace(harness.integrations.integrations["i1"], id="i2", registry="elsewhere.example")
    harness.integrations.put(foreign)
    assert harness.worker.process(harness.job("push", image, integration_id="i2")) == "moot"
    assert harness.registry.blob_downloads.total() == before
    assert harness.images.records == {}


def test_a_refused_token_fails_the_image_and_marks_the_integration(harness: Harness) -> None:
    image = push(harness.registry, tag="denied", version="2.6.0")

    def wrong_password(integration: Integration) -> RegistryClient:
        return harness.registry.client(Credentials(integration.username or "", "wrong"))

    worker = replace(harness.worker, client_for=wrong_password)
    assert worker.process(harness.job("push", image, tag="denied")) == "failed"
    record = harness.images.get(harness.registry.host, "team/worker", str(image.digest))
    assert record is not None and record.status == "failed" and record.error_code == "unauthorized"
    assert harness.integrations.integrations["i1"].status == "error"


def test_a_backfill_analyzes_the_newest_tag(harness: Harness) -> None:
    push(harness.registry, tag="old", version="2.7.0", repository="team/backfill")
    newest = push(harness.registry, tag="new", version="2.8.0", repository="team/backfill")
    assert harness.worker.process(harness.job("backfill", repository="team/backfill")) == "analyzed"
    record = harness.images.get(harness.registry.host, "team/backfill", str(newest.digest))
    assert record is not None and record.status == "analyzed"
    assert harness.images.tags_of(harness.registry.host, "team/backfill", str(newest.digest)) == ["new"]


def test_an_analyzed_image_enters_every_listing_and_a_delete_takes_it_out(harness: Harness) -> None:
    host = harness.registry.host
    image = push(harness.registry, tag="listed", version="2.0.1", repository="team/listed")
    assert harness.worker.process(harness.job("push", image, tag="listed", repository="team/listed")) == "analyzed"
    summary = harness.summaries.summaries[(host, "team/listed")]
    assert (summary.enabled, summary.images) == (True, 1)
    assert summary.latest is not None and summary.latest.digest == str(image.digest)
    assert summary.latest.tags == ("listed",) and summary.latest.vulnerabilities["unknown"] == 1
    (hit,) = harness.affected.filed[(host, "team/listed", str(image.digest))]
    assert (hit.advisory, hit.name, hit.installed_version, hit.fixed_versions) == ("PYSEC-2026-1", "requests", "2.0.1",
                                                                                  ("2.5.0",))
    assert hit.platform == "linux/amd64" and hit.level == "unknown"
    (occurrence,) = harness.packages.find("requests", "pypi", 10).items
    assert (occurrence.digest, occurrence.version, occurrence.platform) == (str(image.digest), "2.0.1", "linux/amd64")
    # A second tag for the same digest shows in the summary at once.
    assert harness.worker.process(harness.job("push", image, tag="also", repository="team/listed")) == "duplicate"
    assert harness.summaries.summaries[(host, "team/listed")].latest.tags == ("also", "listed")  # type: ignore[union-attr]
    deleted = harness.job("delete", image, repository="team/listed", event_time="2026-03-01T11:00:00.000000Z")
    assert harness.worker.process(deleted) == "deleted"
    after = harness.summaries.summaries[(host, "team/listed")]
    assert (after.images, after.latest) == (0, None)
    assert harness.affected.filed == {} and harness.packages.filed == {}


def test_a_failed_image_is_the_newest_of_its_repository(harness: Harness) -> None:
    image = push(harness.registry, tag="broken", version="2.0.2", repository="team/broken")

    def wrong_password(integration: Integration) -> RegistryClient:
        return harness.registry.client(Credentials(integration.username or "", "wrong"))

    worker = replace(harness.worker, client_for=wrong_password)
    assert worker.process(harness.job("push", image, tag="broken", repository="team/broken")) == "failed"
    summary = harness.summaries.summaries[(harness.registry.host, "team/broken")]
    assert summary.images == 1 and summary.latest is not None and summary.latest.status == "failed"
    assert harness.packages.filed == {} and harness.affected.filed == {}


def test_a_filing_interrupted_after_the_record_is_completed_by_the_retry(harness: Harness) -> None:
    image = push(harness.registry, tag="crash", version="2.0.3", repository="team/crash")
    assert harness.worker.process(harness.job("push", image, tag="crash", repository="team/crash")) == "analyzed"
    key = (harness.registry.host, "team/crash", str(image.digest))
    harness.affected.filed.pop(key)
    harness.packages.filed.pop(key)
    assert harness.worker.process(harness.job("push", image, tag="crash", repository="team/crash")) == "duplicate"
    assert [h.advisory for h in harness.affected.filed[key]] == ["PYSEC-2026-1"]
    assert [o.name for o in harness.packages.filed[key]] == ["requests"]


def test_packages_checked_against_no_advisories_are_named_on_the_record(harness: Harness) -> None:
    package_json = '{"name": "left-pad", "version": "1.0.0"}'
    image = push_image(harness.registry, "team/worker", "npm", [{"etc/os-release": OS_RELEASE},
                                                               {"app/node_modules/left-pad/package.json": package_json}])
    assert harness.worker.process(harness.job("push", image, tag="npm")) == "analyzed"
    record = harness.images.get(harness.registry.host, "team/worker", str(image.digest))
    assert record is not None and sum(record.vulnerabilities.values()) == 0
    assert record.platforms[0].advisory_warnings == ("no advisories loaded for npm: its 1 package was not checked",)
    assert image_json(record, [])["warnings"] == ["no advisories loaded for npm: its 1 package was not checked"]


def test_a_duplicate_dequeued_while_another_job_analyzes_the_image_skips_it(harness: Harness) -> None:
    image = push(harness.registry, tag="leased", version="2.9.0")
    first, second = harness.job("push", image, tag="leased"), harness.job("push", image, tag="leased")
    leases = harness.worker.leases
    assert leases.acquire(harness.registry.host, "team/worker", str(image.digest), first.id, PUSHED_AT,
                          "2999-01-01T00:00:00.000000Z")
    before = harness.registry.blob_downloads.total()
    assert harness.worker.process(second) == "duplicate"
    assert harness.registry.blob_downloads.total() == before
    assert harness.images.get(harness.registry.host, "team/worker", str(image.digest)) is None
    # The same image pushed under another tag meanwhile: its job is a duplicate too, but records its tag.
    assert harness.worker.process(harness.job("push", image, tag="also")) == "duplicate"
    tag = harness.images.get_tag(harness.registry.host, "team/worker", "also")
    assert tag is not None and tag.digest == str(image.digest)
    # The holder's own message, redelivered after its worker died, takes its lease back and finishes.
    assert harness.worker.process(first) == "analyzed"
    assert isinstance(leases, MemoryLeases) and leases.leases == {}  # released once recorded
    assert sorted(harness.images.tags_of(harness.registry.host, "team/worker", str(image.digest))) == ["also", "leased"]


def test_an_expired_lease_of_a_dead_worker_is_taken_over(harness: Harness) -> None:
    image = push(harness.registry, tag="expired", version="3.0.0")
    assert harness.worker.leases.acquire(harness.registry.host, "team/worker", str(image.digest), "dead-message",
                                         "2026-01-01T00:00:00.000000Z", "2026-01-01T00:15:00.000000Z")
    assert harness.worker.process(harness.job("push", image, tag="expired")) == "analyzed"


@dataclass
class Notices:
    """The notifications queue as a list of what was put on it."""

    messages: list[NotifyMessage]

    def put(self, message: NotifyMessage) -> None:
        self.messages.append(message)


def test_a_new_build_of_a_tag_announces_only_the_findings_it_added(harness: Harness) -> None:
    index = MemoryIndex()
    high = {"database_specific": {"severity": "HIGH"}}
    index.import_records([advisory("PYSEC-2026-7", affected("PyPI", "requests", ("introduced", "0"), ("fixed", "2.5.0")),
                                   **high),
                          advisory("PYSEC-2026-8", affected("PyPI", "urllib3", ("introduced", "0"), ("fixed", "2.0.0")),
                                   **high)])
    notices = Notices([])
    worker = replace(harness.worker, vulnerabilities=replace(harness.worker.vulnerabilities, source=index,
                                                             notices=notices))
    first = push_image(harness.registry, "team/notify", "1", [{"etc/os-release": OS_RELEASE},
                                                              dist_info("requests", "2.0.0", site=DIST_PACKAGES)])
    assert worker.process(harness.job("push", first, repository="team/notify", tag="1")) == "analyzed"
    second = push_image(harness.registry, "team/notify", "1", [{"etc/os-release": OS_RELEASE},
                                                               dist_info("requests", "2.0.0", site=DIST_PACKAGES),
                                                               dist_info("urllib3", "1.26.0", site=DIST_PACKAGES)])
    assert worker.process(harness.job("push", second, repository="team/notify", tag="1")) == "analyzed"
    untagged = push_image(harness.registry, "team/notify", "2", [{"etc/os-release": OS_RELEASE},
                                                                 dist_info("requests", "2.1.0", site=DIST_PACKAGES)])
    assert worker.process(harness.job("push", untagged, repository="team/notify")) == "analyzed"
    announced = [(m.notice.digest, [f.id for f in m.notice.findings]) for m in notices.messages if m.notice]
    # the first push of a tag announces everything; its next build only what it added; an untagged push everything
    assert announced == [(str(first.digest), ["PYSEC-2026-7"]), (str(second.digest), ["PYSEC-2026-8"]),
                         (str(untagged.digest), ["PYSEC-2026-7"])]
