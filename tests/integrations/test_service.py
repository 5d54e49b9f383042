"""Integration use cases over in-memory stores, with real connection tests against the session's registry."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest

from shared.errors import Conflict, InvalidInput, LookoutError, NotFound
from shared.images.listing import PackageOccurrence
from shared.images.model import ImageRecord, PlatformRef
from shared.integrations.service import Integrations, integration_json
from shared.secrets import SecretBox, generate_key
from testkit.memory_records import (
    MemoryActivations,
    MemoryAffected,
    MemoryImages,
    MemoryIntegrations,
    MemoryJobs,
    MemoryPackages,
    MemoryReports,
    MemorySboms,
    MemorySummaries,
)
from testkit.registry import RegistryServer

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
