"""The worker's host killed with SIGKILL in the middle of an analysis, then started again.

``lookout serve`` runs on its own Azurite with an integration that reaches the session's registry
through :class:`~testkit.faulty_proxy.FaultyProxy`. A push of a two-platform image is delivered;
the proxy stalls one layer download, so the analysis is known to be in flight (its lease row
exists) when the host is killed. Nothing runs on the way out: no ``finally``, no lease release, no
message deletion. What must hold:

- at the kill, and while the host is down, the image row is absent or, if present, not analyzed and
  under a lease: never a complete-looking record without its SBOMs and reports (a platform whose SBOM
  and report were already stored is not yet claimed by any record);
- started again, the host receives the same message again (its id kept, so its job takes its own lease
  back) and the analysis completes: exactly one analyzed record, every platform's SBOM and report
  stored and agreeing with the record, each listing holding the image once, the lease released and the
  queue empty;
- when the dead job's message is lost instead, the lease runs out after ``LOOKOUT_ANALYSIS_LEASE_SECONDS``
  and a new job for the image takes it over.

The host keeps received messages invisible for ``DEVHOST_MESSAGE_LEASE_SECONDS`` (10 minutes by
default, as in Azure), here a few seconds, so that redelivery comes in bounded time.
"""

from __future__ import annotations

import random
import signal
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest

from shared.clock import format_time
from shared.images.model import ImageRecord, PlatformRef
from shared.intake.jobs import JOBS_QUEUE
from shared.registry.model import Platform
from shared.store.azure import queue_client
from shared.vulns.service import image_counts
from testkit import faulty_proxy as faults
from testkit.events import image_pushed
from testkit.faulty_proxy import FaultyProxy
from testkit.images import PushedImage, PushedIndex, make_layer, push_image, push_index, tree_entries
from testkit.processes import wait_until
from testkit.registry import RegistryServer
from testkit.stack import Stack, running_stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

TESTDATA = Path(__file__).resolve().parents[1] / "analysis" / "testdata"
MESSAGE_LEASE_SECONDS = 4
"""How long the host keeps a received message invisible (renewed at half of it while the job runs)."""
ANALYSIS_LEASE_SECONDS = 6
"""How long a job holds an image's analysis lease; only a dead job leaves it to run out."""
STALL_SECONDS = 40.0
"""How long the proxy holds the stalled layer: past the kill, short of the app's 60 s read timeout."""
PLATFORMS = ("linux/amd64", "linux/arm64/v8")


@pytest.fixture(scope="module")
def proxy(registry: RegistryServer) -> Iterator[FaultyProxy]:
    with FaultyProxy(registry) as running:
        yield running


@pytest.fixture(scope="module")
def killable(registry: RegistryServer, proxy: FaultyProxy) -> Iterator[Stack]:
    settings = {"DEVHOST_MESSAGE_LEASE_SECONDS": str(MESSAGE_LEASE_SECONDS),
                "LOOKOUT_ANALYSIS_LEASE_SECONDS": str(ANALYSIS_LEASE_SECONDS)}
    with running_stack(registry, "killed", assert_clean_exit=True, registry_host=proxy.host, **settings) as stack:
        yield stack


@dataclass(frozen=True)
class Pushed:
    """A two-platform image pushed for one case, and the big layer of each platform (the stall targets)."""

    repository: str
    index: PushedIndex
    children: tuple[PushedImage, ...]

    def layer_hex(self, platform: int) -> str:
        return self.children[platform].layers[0].digest.hex


def push_two_platforms(stack: Stack, repository: str) -> Pushed:
    """Debian with dpkg and Python packages, and megabytes of filler unique to the repository and platform
    (no layer is in the layer cache already: every layer is downloaded)."""
    base = {**tree_entries(TESTDATA / "distro" / "debian"), **tree_entries(TESTDATA / "dpkg"),
            **tree_entries(TESTDATA / "python")}
    children = []
    for number, name in enumerate(PLATFORMS):
        filler = random.Random(f"{repository} {name}").randbytes(1536 * 1024)
        layer = make_layer({**base, "/srv/filler.bin": filler}, "gzip")
        children.append(push_image(stack.registry, repository, None, [layer], platform=Platform.parse(name),
                                   labels={"case": repository, "platform": str(number)}))
    index = push_index(stack.registry, repository, "v1", children, with_attestation=False)
    return Pushed(repository, index, tuple(children))


def deliver_push(stack: Stack, pushed: Pushed) -> None:
    event = image_pushed(stack.host, pushed.repository, str(pushed.index.digest), "v1", pushed.index.media_type,
                         pushed.index.size)
    answer = stack.post_events([event])
    assert answer.status_code == 200 and answer.json()["accepted"] == 1, answer.text


def stall_and_wait(stack: Stack, proxy: FaultyProxy, pushed: Pushed, platform: int) -> None:
    """Stall the download of ``platform``'s layer, deliver the push, and wait until the analysis is stuck on it
    under its lease."""
    proxy.clear()
    proxy.inject(faults.stall(100_000, STALL_SECONDS), front="blob", path=pushed.layer_hex(platform))
    deliver_push(stack, pushed)
    wait_until(lambda: any(e.fault == "stall" for e in proxy.exchanges), timeout=45,
               what=f"the download of platform {platform}'s layer")
    assert stack.svc.leases.current(stack.host, pushed.repository, str(pushed.index.digest)) is not None


def never_half_written(stack: Stack, pushed: Pushed) -> ImageRecord | None:
    """The image row is absent, or not analyzed and under a lease; returns it."""
    digest = str(pushed.index.digest)
    record = stack.svc.images.get(stack.host, pushed.repository, digest)
    if record is not None:
        assert record.status != "analyzed", record
        assert not record.platforms, record
        assert stack.svc.leases.current(stack.host, pushed.repository, digest) is not None
    return record


def kill(stack: Stack) -> None:
    assert stack.app.kill() == -signal.SIGKILL


def queued(stack: Stack) -> int:
    count = queue_client(stack.svc.settings.storage, JOBS_QUEUE).get_queue_properties().approximate_message_count
    assert count is not None
    return count


def assert_one_complete_record(stack: Stack, pushed: Pushed, *, attempts: int) -> None:
    """Exactly one analyzed record, its platforms' SBOMs and reports stored and agreeing with it, the image once in
    every listing, its lease released, its job gone from the queue."""
    digest = str(pushed.index.digest)
    records = stack.svc.images.list_repository(stack.host, pushed.repository)
    assert [(r.digest, r.status) for r in records] == [(digest, "analyzed")]
    (record,) = records
    assert record.attempts == attempts  # the dequeue count of the message that completed it
    assert [p.digest for p in record.platforms] == [str(c.digest) for c in pushed.children]
    reports = []
    for platform in record.platforms:
        sbom = stack.svc.sboms.get(stack.host, pushed.repository, platform.digest)
        assert sbom is not None, f"no SBOM for {platform.digest}"
        assert dict(Counter(p.type for p in sbom.packages)) == platform.package_counts
        assert {"deb", "pypi"} <= set(platform.package_counts), platform.package_counts
        report = stack.svc.reports.get(PlatformRef(stack.host, pushed.repository, platform.digest))
        assert report is not None, f"no report for {platform.digest}"
        reports.append(report)
    assert image_counts(reports) == (record.vulnerabilities, record.fixable)

    listed = stack.http.get(f"{stack.app.url}/api/images", timeout=10,
                            params={"registry": stack.host, "repository": pushed.repository}).json()["images"]
    assert [(i["digest"], i["status"]) for i in listed] == [(digest, "analyzed")]
    repositories = stack.http.get(f"{stack.app.url}/api/repositories", timeout=10,
                                  params={"integration": stack.integration["id"]}).json()["repositories"]
    (summary,) = [r for r in repositories if r["repository"] == pushed.repository]
    assert summary["images"] == 1 and summary["latest"]["digest"] == digest
    first = stack.svc.sboms.get(stack.host, pushed.repository, record.platforms[0].digest)
    assert first is not None
    package = sorted(first.packages, key=lambda p: p.purl)[0]
    found = stack.svc.packages.find(package.name, package.type, 100)
    filed = Counter(o.platform_digest for o in found.items if o.digest == digest and o.purl == package.purl)
    assert filed == {p.digest: 1 for p in record.platforms}  # once per platform, never twice

    assert stack.svc.leases.current(stack.host, pushed.repository, digest) is None
    assert queued(stack) == 0


@pytest.mark.parametrize("platform", [0, 1], ids=["first-platform-layer", "second-platform-layer"])
def test_a_host_killed_mid_analysis_completes_on_redelivery(
    killable: Stack, proxy: FaultyProxy, platform: int, record_property: Callable[[str, object], None]
) -> None:
    stack = killable
    repository = f"killed/at-platform-{platform}"
    stack.activate(repository)
    pushed = push_two_platforms(stack, repository)
    stall_and_wait(stack, proxy, pushed, platform)
    never_half_written(stack, pushed)
    kill(stack)
    # Dead: what it left is all there is.
    assert never_half_written(stack, pushed) is None
    lease = stack.svc.leases.current(stack.host, repository, str(pushed.index.digest))
    assert lease is not None  # nobody released it
    first_sbom = stack.svc.sboms.get(stack.host, repository, str(pushed.children[0].digest))
    # Killed on the second platform, the first one's SBOM is stored, but no record claims it yet.
    assert (first_sbom is not None) == (platform == 1)
    assert queued(stack) == 1  # the job's message, invisible until its lease on the queue ends

    stack.app.start()
    stack.wait_for_image(repository, "v1")
    wait_until(lambda: queued(stack) == 0, timeout=15, what="the job's deletion")
    assert_one_complete_record(stack, pushed, attempts=2)
    assert sum(1 for e in proxy.exchanges if e.fault is not None) == 1
    record_property("tried", 1)
    record_property("held", 1)


def test_a_dead_jobs_lease_is_taken_over_once_it_runs_out(
    killable: Stack, proxy: FaultyProxy, record_property: Callable[[str, object], None]
) -> None:
    stack = killable
    repository = "killed/lost-message"
    stack.activate(repository)
    pushed = push_two_platforms(stack, repository)
    stall_and_wait(stack, proxy, pushed, 0)
    kill(stack)
    # The dead job's message is lost (as if it had gone to the poison queue): only a new job can finish.
    queue_client(stack.svc.settings.storage, JOBS_QUEUE).clear_messages()
    assert queued(stack) == 0
    lease = stack.svc.leases.current(stack.host, repository, str(pushed.index.digest))
    assert lease is not None
    assert never_half_written(stack, pushed) is None

    stack.app.start()

    def expired() -> bool:
        return lease.until < format_time(datetime.now(timezone.utc))

    wait_until(expired, timeout=ANALYSIS_LEASE_SECONDS + 5, what="the dead job's lease to run out")
    deliver_push(stack, pushed)  # a new event: a new message, a new holder
    stack.wait_for_image(repository, "v1")
    wait_until(lambda: queued(stack) == 0, timeout=15, what="the job's deletion")
    assert_one_complete_record(stack, pushed, attempts=1)
    record_property("tried", 1)
    record_property("held", 1)
