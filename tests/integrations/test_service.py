"""Integration use cases over in-memory stores, with real connection tests against the session's registry."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest

from shared.bases.model import ChainEntry
from shared.errors import Conflict, InvalidInput, LookoutError, NotFound
from shared.images.listing import PackageOccurrence
from shared.images.model import ImageRecord, PlatformRef
from shared.integrations.service import Integrations, integration_json
from shared.notify.model import Delivery, Endpoint
from shared.policy.config import parse_config
from shared.policy.model import PolicyEvaluation, PolicyResult
from shared.secrets import SecretBox, generate_key
from shared.vex.model import Scope
from testkit.memory_records import (
    MemoryActivations,
    MemoryAffected,
    MemoryBases,
    MemoryDeliveries,
    MemoryEndpoints,
    MemoryImages,
    MemoryIntegrations,
    MemoryJobs,
    MemoryPackages,
    MemoryPolicyConfigs,
    MemoryPolicyResults,
    MemoryReports,
    MemorySboms,
    MemorySummaries,
    MemoryVex,
)
from testkit.registry import RegistryServer
from tests.vex.support import fixture, imported

PUBLIC_URL = "https://lookout.example"


@dataclass
class Harness:
    service: Integrations
    records: MemoryIntegrations
    jobs: MemoryJobs
    images: MemoryImages
    reports: MemoryReports
    summaries: MemorySummaries
    packages: MemoryPackages


@pytest.fixture
def harness() -> Harness:
    records, jobs, images, reports = MemoryIntegrations(), MemoryJobs(), MemoryImages(), MemoryReports()
    summaries, packages = MemorySummaries(), MemoryPackages()
    service = Integrations(records=records, repositories=MemoryActivations(), images=images, sboms=MemorySboms(),
                           reports=reports, jobs=jobs, box=SecretBox(generate_key()), public_url=PUBLIC_URL,
                           summaries=summaries, affected=MemoryAffected(), packages=packages)
    return Harness(service, records, jobs, images, reports, summaries, packages)


def test_a_wrong_password_keeps_the_integration_pending_and_the_right_one_enables_it(
    harness: Harness, registry: RegistryServer
) -> None:
    created = harness.service.create(registry.host, insecure=True)
    assert created.integration.status == "pending" and not created.integration.enabled
    refused = harness.service.set_token(created.integration.id, registry.readonly.username, "wrong")
    assert refused.connection is not None and not refused.connection.ok
    assert refused.integration.status == "pending" and refused.integration.password_encrypted is None
    accepted = harness.service.set_token(created.integration.id, registry.readonly.username, registry.readonly.password)
    assert accepted.integration.status == "connected" and accepted.integration.enabled
    stored = harness.records.get(created.integration.id)
    assert stored is not None and stored.password_encrypted
    assert registry.readonly.password not in stored.password_encrypted
    assert registry.readonly.password not in str(integration_json(stored))


def test_bad_hosts_duplicates_and_remote_plain_http_are_refused(harness: Harness, registry: RegistryServer) -> None:
    with pytest.raises(InvalidInput):
        harness.service.create("https://myregistry.azurecr.io/path")
    with pytest.raises(InvalidInput, match="plain HTTP"):
        harness.service.create("myregistry.azurecr.io", insecure=True)
    harness.service.create(registry.host, insecure=True)
    with pytest.raises(Conflict):
        harness.service.create(registry.host, insecure=True)
    with pytest.raises(NotFound):
        harness.service.get("nope")


def test_the_webhook_url_carries_a_secret_that_authenticates_deliveries(harness: Harness, registry: RegistryServer) -> None:
    integration = harness.service.create(registry.host, insecure=True).integration
    url = harness.service.webhook_url(integration)
    assert url.startswith(f"{PUBLIC_URL}/api/events?")
    query = parse_qs(urlsplit(url).query)
    secret = query["secret"][0]
    assert harness.service.authenticate_delivery(integration.id, secret) == integration
    assert harness.service.authenticate_delivery(integration.id, secret[:-1] + "x") is None
    assert harness.service.authenticate_delivery("other", secret) is None
    assert harness.service.authenticate_delivery(integration.id, "s" * 300) is None


def test_activation_queues_backfills_only_for_a_working_integration(harness: Harness, registry: RegistryServer) -> None:
    pending = harness.service.create(registry.host, insecure=True).integration
    answer = harness.service.set_repositories(pending.id, ["team/a"], True)
    assert answer["note"] and harness.jobs.jobs == []
    with pytest.raises(LookoutError, match="not enabled"):
        harness.service.registry_client(pending)
    harness.service.set_token(pending.id, registry.readonly.username, registry.readonly.password)
    answer = harness.service.set_repositories(pending.id, ["team/a", "team/b", "team/a"], True)
    assert [r["backfill_queued"] for r in answer["repositories"]] == [True, True]
    assert [(j.kind, j.repository) for j in harness.jobs.jobs] == [("backfill", "team/a"), ("backfill", "team/b")]
    with pytest.raises(InvalidInput):
        harness.service.set_repositories(pending.id, ["../etc"], True)


def test_removal_with_purge_forgets_the_analyses_and_names_what_remains_in_azure(
    harness: Harness, registry: RegistryServer
) -> None:
    integration = harness.service.create(registry.host, insecure=True).integration
    digest = "sha256:" + "a" * 64
    harness.images.put(ImageRecord(registry=registry.host, repository="team/a", digest=digest, status="analyzed"))
    harness.reports.put(PlatformRef(registry.host, "team/a", digest), {"findings": []})
    answer = harness.service.remove(integration.id, purge=True)
    assert answer["images_deleted"] == 1 and harness.images.records == {} and harness.reports.reports == {}
    assert any("docker-scout-readonly-token" in item for item in answer["remaining_azure_resources"])
    assert answer["cleanup_commands"]
    assert harness.records.get(integration.id) is None


def test_activation_shows_in_the_repository_summaries_and_removal_without_purge_deactivates_them(
    harness: Harness, registry: RegistryServer
) -> None:
    integration = harness.service.create(registry.host, insecure=True).integration
    harness.service.set_repositories(integration.id, ["team/a", "team/b"], True)
    assert {(s.repository, s.enabled, s.images) for s in harness.summaries.summaries.values()} == {
        ("team/a", True, 0), ("team/b", True, 0)}
    harness.images.put(ImageRecord(registry=registry.host, repository="team/a", digest="sha256:" + "a" * 64,
                                   status="analyzed", event_time="2026-01-01T00:00:00.000000Z"))
    harness.service.set_repositories(integration.id, ["team/a", "team/b"], False)
    # A deactivated repository with images stays listed; one without is no longer a repository of interest.
    assert [(s.repository, s.enabled, s.images) for s in harness.summaries.summaries.values()] == [("team/a", False, 1)]
    harness.service.set_repositories(integration.id, ["team/a"], True)
    harness.service.remove(integration.id, purge=False)
    assert [(s.repository, s.enabled) for s in harness.summaries.summaries.values()] == [("team/a", False)]


def test_removal_with_purge_empties_the_listings(harness: Harness, registry: RegistryServer) -> None:
    integration = harness.service.create(registry.host, insecure=True).integration
    digest = "sha256:" + "b" * 64
    harness.service.set_repositories(integration.id, ["team/a"], True)
    harness.packages.file(registry.host, "team/a", digest, [PackageOccurrence(
        registry.host, "team/a", digest, "linux/amd64", digest, "pkg:pypi/x@1", "x", "1", "pypi", "sha256:" + "c" * 64)])
    harness.service.remove(integration.id, purge=True)
    assert harness.summaries.summaries == {} and harness.packages.filed == {}


class FailingOnce(MemoryImages):
    """Image records whose first purge fails the way storage trouble does."""

    failed: bool = False

    def purge_registry(self, registry: str) -> int:
        if not self.failed:
            self.failed = True
            raise LookoutError("storage unavailable", temporary=True)
        return super().purge_registry(registry)


def test_removal_with_purge_deletes_every_store_of_the_integration_and_a_failed_one_completes_when_run_again(
    registry: RegistryServer,
) -> None:
    images = FailingOnce()
    records, configs, vex, bases = MemoryIntegrations(), MemoryPolicyConfigs(), MemoryVex(), MemoryBases()
    results, endpoints, deliveries = MemoryPolicyResults(), MemoryEndpoints(), MemoryDeliveries()
    service = Integrations(records=records, repositories=MemoryActivations(), images=images, sboms=MemorySboms(),
                           reports=MemoryReports(), jobs=MemoryJobs(), box=SecretBox(generate_key()),
                           public_url=PUBLIC_URL, summaries=MemorySummaries(), affected=MemoryAffected(),
                           packages=MemoryPackages(), policy_results=results, policy_configs=configs, vex=vex,
                           bases=bases, endpoints=endpoints, deliveries=deliveries)
    integration = service.create(registry.host, insecure=True).integration
    other = "elsewhere.test"
    when = "2026-03-01T00:00:00.000000Z"
    evaluation = PolicyEvaluation((PolicyResult.of("no-root-user", 1, "Not running as root", "pass"),), when)
    config = parse_config("policies:\n  no-root-user: {enabled: false}\n")
    for host, owner in ((registry.host, integration.id), (other, "other1")):
        digest = "sha256:" + "a" * 64
        images.put(ImageRecord(registry=host, repository="team/a", digest=digest, status="analyzed"))
        results.put(host, "team/a", digest, evaluation)
        configs.put(owner, None, config, when)
        vex.put(imported(fixture("openvex.json"), Scope(owner, host), vex_id="v-" + owner))
        bases.file("c" * 64, ChainEntry(kind="image", registry=host, repository="team/a", digest=digest,
                                        platform_digest=digest, layers=1))
        endpoints.put(Endpoint(integration_id=owner, id="e" + owner, name="hook", url_display="https://hooks.test",
                               url_encrypted="ciphertext", secret_encrypted="ciphertext", created=when))
        deliveries.put(Delivery(endpoint_id="e" + owner, id="n1-e" + owner, event="new-finding", image=host,
                                status="delivered", created=when, updated=when))
    with pytest.raises(LookoutError, match="storage unavailable"):
        service.remove(integration.id, purge=True)
    assert records.get(integration.id) is not None  # still there: the removal can be run again
    answer = service.remove(integration.id, purge=True)
    assert answer["images_deleted"] == 1 and records.get(integration.id) is None
    assert images.count_analyzed(registry.host) == 0 and images.count_analyzed(other) == 1
    assert results.get(registry.host, "team/a", "sha256:" + "a" * 64) is None
    assert configs.list(integration.id) == {} and configs.list("other1") == {None: config}
    assert [v.scope.registry for v in vex.list_documents()] == [other]
    assert [e.registry for e in bases.entries("c" * 64)] == [other]
    assert endpoints.list(integration.id) == [] and [e.id for e in endpoints.list("other1")] == ["eother1"]
    mine = "e" + integration.id
    assert deliveries.latest(mine) is None and deliveries.get(mine, "n1-" + mine) is None
    assert deliveries.latest("eother1") is not None
    with pytest.raises(NotFound):
        service.remove(integration.id, purge=True)


def test_removal_without_purge_keeps_the_analyses_but_not_what_was_configured_for_the_integration(
    registry: RegistryServer,
) -> None:
    images, results, bases = MemoryImages(), MemoryPolicyResults(), MemoryBases()
    configs, vex, endpoints, deliveries = MemoryPolicyConfigs(), MemoryVex(), MemoryEndpoints(), MemoryDeliveries()
    service = Integrations(records=MemoryIntegrations(), repositories=MemoryActivations(), images=images,
                           sboms=MemorySboms(), reports=MemoryReports(), jobs=MemoryJobs(), box=SecretBox(generate_key()),
                           public_url=PUBLIC_URL, summaries=MemorySummaries(), policy_results=results,
                           policy_configs=configs, vex=vex, bases=bases, endpoints=endpoints, deliveries=deliveries)
    integration = service.create(registry.host, insecure=True).integration
    digest, when = "sha256:" + "a" * 64, "2026-03-01T00:00:00.000000Z"
    images.put(ImageRecord(registry=registry.host, repository="team/a", digest=digest, status="analyzed"))
    results.put(registry.host, "team/a", digest,
                PolicyEvaluation((PolicyResult.of("no-root-user", 1, "Not running as root", "pass"),), when))
    bases.file("c" * 64, ChainEntry(kind="image", registry=registry.host, repository="team/a", digest=digest,
                                    platform_digest=digest, layers=1))
    configs.put(integration.id, "team/a", parse_config("policies:\n  no-root-user: {enabled: false}\n"), when)
    vex.put(imported(fixture("openvex.json"), Scope(integration.id, registry.host, "team/a", digest)))
    endpoints.put(Endpoint(integration_id=integration.id, id="e1", name="hook", url_display="https://hooks.test",
                           url_encrypted="ciphertext", secret_encrypted="ciphertext", created=when))
    deliveries.put(Delivery(endpoint_id="e1", id="n1-e1", event="new-finding", image="x", status="delivered",
                            created=when, updated=when))
    answer = service.remove(integration.id, purge=False)
    assert (answer["analyses_kept"], answer["notification_endpoints_deleted"], answer["vex_documents_deleted"],
            answer["policy_configurations_deleted"]) == (True, 1, 1, 1)
    assert images.count_analyzed(registry.host) == 1
    assert results.get(registry.host, "team/a", digest) is not None and len(bases.entries("c" * 64)) == 1
    assert configs.configs == {} and vex.documents == {} and endpoints.endpoints == {}
    assert deliveries.deliveries == {} and deliveries.last == {}
