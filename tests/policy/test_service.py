"""Policies evaluated where images are analyzed and re-matched: the worker and the re-match over in-memory stores,
with real images in the session's registry (a plain manifest, an index carrying SBOM and provenance
attestations), and the API's read side."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any

import pytest

from shared.analysis.cache import MemoryLayerCache
from shared.errors import Conflict, NotFound
from shared.images.model import ImageRecord, PlatformRef
from shared.intake.jobs import Job, encode_job
from shared.integrations.model import Integration
from shared.policy.config import PolicyConfig, parse_config
from shared.policy.highprofile import HighProfileList
from shared.policy.model import PolicyEvaluation
from shared.policy.service import Policies
from shared.records import QueueMessage
from shared.registry import Platform
from shared.registry.auth import Credentials
from shared.registry.client import RegistryClient
from shared.registry.image import inspect_image
from shared.vulns.index import MemoryIndex
from shared.vulns.service import Vulnerabilities
from shared.worker.process import Worker
from testkit.contents import dist_info
from testkit.images import PROVENANCE_PREDICATE, SPDX_PREDICATE, PushedImage, PushedIndex, push_image, push_index
from testkit.memory_records import (
    MemoryAffected,
    MemoryImages,
    MemoryIntegrations,
    MemoryLeases,
    MemoryPackages,
    MemoryPolicyConfigs,
    MemoryPolicyResults,
    MemoryRejected,
    MemoryReports,
    MemorySboms,
    MemorySummaries,
)
from testkit.registry import RegistryServer
from tests.vulns.support import advisory, affected

PUSHED_AT = "2026-03-01T10:00:00.000000Z"
OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'
HIGH = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"
AGPL_METADATA = "Metadata-Version: 2.1\nName: agpl-lib\nVersion: 1.0\nLicense-Expression: AGPL-3.0-only\n"


@dataclass
class Harness:
    worker: Worker
    registry: RegistryServer
    images: MemoryImages
    index: MemoryIndex
    vulnerabilities: Vulnerabilities
    policies: Policies
    results: MemoryPolicyResults
    configs: MemoryPolicyConfigs

    def analyze(self, image: PushedImage | PushedIndex, repository: str, tag: str) -> None:
        job = Job(kind="push", integration_id="i1", registry=self.registry.host, repository=repository,
                  digest=str(image.digest), tag=tag, media_type=image.media_type, event_time=PUSHED_AT)
        message = QueueMessage(id=f"m-{uuid.uuid4().hex[:8]}", text=encode_job(job), dequeue_count=1)
        assert self.worker.process(message) == "analyzed"


@pytest.fixture
def harness(registry: RegistryServer) -> Harness:
    integrations = MemoryIntegrations()
    integrations.put(Integration(id="i1", registry=registry.host, created=PUSHED_AT, webhook_secret_encrypted="unused",
                                 username=registry.readonly.username, insecure=True, status="connected", enabled=True))
    index = MemoryIndex()
    images, sboms, reports, summaries = MemoryImages(), MemorySboms(), MemoryReports(), MemorySummaries()
    results, configs = MemoryPolicyResults(), MemoryPolicyConfigs()
    policies = Policies(results=results, configs=configs, integrations=integrations, images=images, sboms=sboms,
                        reports=reports)
    vulnerabilities = Vulnerabilities(source=index, reports=reports, sboms=sboms, images=images,
                                      affected=MemoryAffected(), summaries=summaries, policies=policies)

    def client_for(integration: Integration) -> RegistryClient:
        return registry.client(Credentials(integration.username or "", registry.readonly.password))

    worker = Worker(integrations=integrations, images=images, sboms=sboms, layer_cache=MemoryLayerCache(),
                    rejected=MemoryRejected(), vulnerabilities=vulnerabilities, packages=MemoryPackages(),
                    summaries=summaries, leases=MemoryLeases(), client_for=client_for, policies=policies)
    return Harness(worker, registry, images, index, vulnerabilities, policies, results, configs)


def layers(requests_version: str) -> list[dict[str, str]]:
    return [{"etc/os-release": OS_RELEASE},
            {**dist_info("requests", requests_version),
             "usr/local/lib/python3.11/site-packages/agpl_lib-1.0.dist-info/METADATA": AGPL_METADATA,
             "usr/local/lib/python3.11/site-packages/agpl_lib-1.0.dist-info/RECORD": ""}]


def test_the_inspection_records_the_attestations_an_index_carries(registry: RegistryServer) -> None:
    amd = push_image(registry, "policy/inspect", None, layers("2.31.0"))
    arm = push_image(registry, "policy/inspect", None, layers("2.31.0"), platform=Platform("linux", "arm64"))
    both = push_index(registry, "policy/inspect", "both", [amd, arm],
                      attestation_predicates=(SPDX_PREDICATE, PROVENANCE_PREDICATE))
    bare = push_index(registry, "policy/inspect", "bare", [amd, arm], with_attestation=False)
    client = registry.client(Credentials(registry.readonly.username, registry.readonly.password))
    with client:
        inspected = inspect_image(client, "policy/inspect", str(both.digest))
        assert inspected.attestations == (PROVENANCE_PREDICATE, SPDX_PREDICATE)
        assert [p.architecture for p in inspected.platforms] == ["amd64", "arm64"]
        assert inspect_image(client, "policy/inspect", str(bare.digest)).attestations == ()
        assert inspect_image(client, "policy/inspect", str(amd.digest)).attestations == ()


def test_an_analysis_evaluates_stores_and_counts_the_policies(harness: Harness) -> None:
    registry = harness.registry
    plain = push_image(registry, "policy/app", "plain", layers("2.31.0"))
    harness.analyze(plain, "policy/app", "plain")
    record = harness.images.get(registry.host, "policy/app", str(plain.digest))
    assert record is not None and record.attestations == ()
    stored = harness.results.get(registry.host, "policy/app", str(plain.digest))
    assert stored is not None and stored.previous is None
    outcomes = {r.id: r.outcome for r in stored.current.results}
    assert outcomes == {"no-fixable-critical-high": "pass", "no-copyleft-licenses": "fail", "no-root-user": "fail",
                        "base-image-up-to-date": "unknown", "no-high-profile-vulnerabilities": "unknown",
                        "supply-chain-attestations": "fail"}
    assert record.policy == {"pass": 1, "fail": 3, "unknown": 2}
    licenses = stored.current.result("no-copyleft-licenses")
    assert licenses is not None and [r.package for r in licenses.reasons] == ["pkg:pypi/agpl-lib@1.0"]

    user = push_image(registry, "policy/app", None, layers("2.31.0"), user="1000")
    indexed = push_index(registry, "policy/app", "index", [user],
                         attestation_predicates=(SPDX_PREDICATE, PROVENANCE_PREDICATE))
    harness.configs.put("i1", "policy/app", parse_config("policies:\n  no-copyleft-licenses: {enabled: false}\n"), "t")
    harness.analyze(indexed, "policy/app", "index")
    stored = harness.results.get(registry.host, "policy/app", str(indexed.digest))
    assert stored is not None
    assert {r.id: r.outcome for r in stored.current.results} == {
        "no-fixable-critical-high": "pass", "no-root-user": "pass", "base-image-up-to-date": "unknown",
        "no-high-profile-vulnerabilities": "unknown", "supply-chain-attestations": "pass"}
    assert stored.current.disabled == ("no-copyleft-licenses",)


def test_a_rematch_evaluates_again_and_keeps_the_pass_it_turned_to_fail(harness: Harness) -> None:
    registry = harness.registry
    image = push_image(registry, "policy/rematch", "1.0", layers("2.19.0"), user="app")
    harness.analyze(image, "policy/rematch", "1.0")
    before = harness.results.get(registry.host, "policy/rematch", str(image.digest))
    assert before is not None and before.current.result("no-fixable-critical-high").outcome == "pass"  # type: ignore[union-attr]
    harness.configs.set_high_profile(HighProfileList(("CVE-2018-18074",), "kev.json", PUSHED_AT))
    harness.vulnerabilities.import_and_rematch(harness.index, [
        advisory("PYSEC-2018-28", affected("PyPI", "requests", ("introduced", "0"), ("fixed", "2.20.0")),
                 aliases=["CVE-2018-18074"], severity=[{"type": "CVSS_V3", "score": HIGH}])])
    after = harness.results.get(registry.host, "policy/rematch", str(image.digest))
    assert after is not None and after.previous == before.current
    changes = {c.id: (c.before, c.after) for c in harness.policies.evaluate_image(
        harness.images.get(registry.host, "policy/rematch", str(image.digest))).changes}  # type: ignore[arg-type]
    assert changes == {}  # evaluated again with nothing new: no change
    fixable = after.current.result("no-fixable-critical-high")
    assert fixable is not None and fixable.outcome == "fail"
    assert [(r.advisory, r.package) for r in fixable.reasons] == [("CVE-2018-18074", "pkg:pypi/requests@2.19.0")]
    high_profile = after.current.result("no-high-profile-vulnerabilities")
    assert high_profile is not None and high_profile.outcome == "fail"
    record = harness.images.get(registry.host, "policy/rematch", str(image.digest))
    assert record is not None and record.policy["fail"] == 4 and record.vulnerabilities["high"] == 1

    document = harness.policies.image_policy(registry.host, "policy/rematch", "1.0")
    assert document["failed"] is True and document["stored"] is True
    assert document["summary"] == record.policy and document["tags"] == ["1.0"]
    assert [c for c in document["changes"] if c["id"] == "no-fixable-critical-high"] == [
        {"id": "no-fixable-critical-high", "title": "No fixable critical or high vulnerabilities", "before": "pass",
         "after": "fail"}]


def test_a_rematch_evaluates_policies_only_where_what_they_read_changed(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = harness.registry
    image = push_image(registry, "policy/text", "1.0", layers("2.19.0"), user="app")
    harness.analyze(image, "policy/text", "1.0")
    ref = PlatformRef(registry.host, "policy/text", str(image.digest))

    def update(modified: str, summary: str, fixed: str) -> None:
        harness.vulnerabilities.import_and_rematch(harness.index, [
            advisory("PYSEC-2018-28", affected("PyPI", "requests", ("introduced", "0"), ("fixed", fixed)),
                     severity=[{"type": "CVSS_V3", "score": HIGH}], summary=summary, modified=modified)])

    update("2024-02-01T00:00:00Z", "first words", "2.20.0")
    record = harness.images.get(registry.host, "policy/text", str(image.digest))
    assert record is not None and record.policy["fail"] == 3
    evaluated: list[str] = []
    evaluate_image = Policies.evaluate_image

    def counted(self: Policies, record: ImageRecord, *args: Any, **kwargs: Any) -> Any:
        evaluated.append(record.digest)
        return evaluate_image(self, record, *args, **kwargs)

    monkeypatch.setattr(Policies, "evaluate_image", counted)
    update("2024-03-01T00:00:00Z", "other words", "2.20.0")  # only the text: no policy reads it
    report = harness.vulnerabilities.reports.get(ref)
    assert report is not None and [f["summary"] for f in report["findings"]] == ["other words"]
    assert evaluated == []
    assert harness.images.get(registry.host, "policy/text", str(image.digest)) == record
    update("2024-04-01T00:00:00Z", "other words", "2.21.0")  # the fixed version: the fixable policy reads it
    assert evaluated == [str(image.digest)]
    fixable = harness.results.get(registry.host, "policy/text", str(image.digest)).current.result(  # type: ignore[union-attr]
        "no-fixable-critical-high")
    assert fixable is not None and "fixed in 2.21.0" in fixable.reasons[0].text


def test_the_read_side_refuses_unknown_and_unanalyzed_images_and_evaluates_older_ones(harness: Harness) -> None:
    registry = harness.registry
    with pytest.raises(NotFound):
        harness.policies.image_policy(registry.host, "policy/none", "latest")
    image = push_image(registry, "policy/old", "1.0", layers("2.31.0"))
    harness.analyze(image, "policy/old", "1.0")
    harness.results.stored.clear()  # as if analyzed before policies existed
    document = harness.policies.image_policy(registry.host, "policy/old", "1.0")
    assert document["stored"] is False and document["previous"] is None and len(document["results"]) == 6
    assert harness.results.stored == {}
    record = harness.images.get(registry.host, "policy/old", str(image.digest))
    assert record is not None
    from dataclasses import replace

    harness.images.put(replace(record, status="retrying"))
    with pytest.raises(Conflict):
        harness.policies.image_policy(registry.host, "policy/old", "1.0")
    harness.images.put(record)
    assert harness.policies.reevaluate(registry.host, "policy/old") == 1
    assert harness.results.get(registry.host, "policy/old", str(image.digest)) is not None
    deleted = Job(kind="delete", integration_id="i1", registry=registry.host, repository="policy/old",
                  digest=str(image.digest), tag=None, media_type=image.media_type, event_time="2026-03-02T10:00:00.000000Z")
    assert harness.worker.process(QueueMessage(id="m-delete", text=encode_job(deleted), dequeue_count=1)) == "deleted"
    assert harness.results.get(registry.host, "policy/old", str(image.digest)) is None


@dataclass
class CountingConfigs(MemoryPolicyConfigs):
    """The in-memory configurations, counting reads."""

    reads: int = 0

    def get(self, integration_id: str, repository: str | None) -> PolicyConfig | None:
        self.reads += 1
        return super().get(integration_id, repository)

    def high_profile(self) -> HighProfileList | None:
        self.reads += 1
        return super().high_profile()


def test_a_run_reads_the_settings_of_a_repository_and_the_high_profile_list_once(harness: Harness) -> None:
    registry = harness.registry
    pushed = [push_image(registry, "policy/run", tag, layers(version), user="app")
              for tag, version in (("a", "2.19.0"), ("b", "2.18.0"), ("c", "2.17.0"))]
    for image, tag in zip(pushed, "abc", strict=True):
        harness.analyze(image, "policy/run", tag)
    configs = CountingConfigs(configs=dict(harness.configs.configs),
                              listed=HighProfileList(("CVE-2018-18074",), "kev.json", PUSHED_AT))
    run = replace(harness.policies, configs=configs).run()
    records = [harness.images.get(registry.host, "policy/run", str(image.digest)) for image in pushed]
    evaluated = [run.evaluate(record, {}) for record in records if record is not None]
    assert configs.reads == 3  # the integration's and the repository's settings, and the list: once for three images
    assert [record.policy["fail"] for record in evaluated] == [2, 2, 2]  # copyleft and attestations
    # With no list imported, "none" is read once per run too; a run that read the stored evaluations
    # together first writes nothing when the results are the same.
    unlisted = CountingConfigs(configs=dict(harness.configs.configs), listed=None)
    counting = CountingResults()
    policies = replace(harness.policies, configs=unlisted, results=counting)
    present = [record for record in records if record is not None]
    first = policies.run()
    evaluated = [first.evaluate(record, {}) for record in present]
    assert (unlisted.reads, counting.puts) == (3, 3)
    second = policies.run()
    second.read_current(present)
    again = [second.evaluate(record, {}) for record in present]
    assert (unlisted.reads, counting.puts) == (6, 3)
    assert [record.policy for record in again] == [record.policy for record in evaluated]


@dataclass
class CountingResults(MemoryPolicyResults):
    """The in-memory policy results, counting writes asked for."""

    puts: int = 0

    def put(self, registry: str, repository: str, digest: str, evaluation: PolicyEvaluation) -> PolicyEvaluation | None:
        self.puts += 1
        return super().put(registry, repository, digest, evaluation)
