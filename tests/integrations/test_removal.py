"""Removing an integration on Azurite, after the worker analyzed a real image of the session's registry: one row
(at least) in every store the integration or its registry owns before, none after; another registry's rows stay.
And what deleting one image takes with it (its policy results and chain entries, not the VEX documents
imported for its digest).

The image is pushed to the test registry and analyzed by the app's worker (so the image record, tags, SBOM,
report, listings, policy results and layer-chain entries are the ones a real analysis writes); a VEX
document, a policy configuration, a notification endpoint and a delivery are added through the app's
services and stores.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from shared.bases.chains import chain_key
from shared.bases.model import ChainEntry, PublicBase
from shared.images.listing import PackageOccurrence
from shared.images.model import ImageRecord, PlatformRef
from shared.intake.jobs import Job, encode_job
from shared.notify.model import Delivery, Endpoint
from shared.policy.config import parse_config
from shared.policy.model import PolicyEvaluation, PolicyResult
from shared.records import QueueMessage
from shared.vex.model import Scope
from shared.wiring import Services
from testkit.contents import dist_info
from testkit.images import push_image
from testkit.registry import RegistryServer
from tests.vex.support import encoded, fixture, imported

OTHER = "elsewhere.test"
OTHER_DIGEST = "sha256:" + "d" * 64
WHEN = "2026-03-01T10:00:00.000000Z"
OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'
CONFIG = "policies:\n  no-root-user: {enabled: false}\n"


@dataclass(frozen=True)
class Analyzed:
    integration: str
    repository: str
    digest: str
    platform: str
    chain: str
    endpoint: str


def analyzed_integration(svc: Services, registry: RegistryServer) -> Analyzed:
    """An integration of the test registry with one analyzed image and something in every store it owns."""
    created = svc.integration_service.create(registry.host, registry.readonly.username, registry.readonly.password,
                                             insecure=True)
    integration = created.integration
    repository = f"removal/{uuid.uuid4().hex[:8]}"
    svc.integration_service.set_repositories(integration.id, [repository], True)
    pushed = push_image(registry, repository, "1.0", [{"etc/os-release": OS_RELEASE},
                                                      dist_info("requests", "2.0.0", site="usr/lib/python3/dist-packages")])
    job = Job(kind="push", integration_id=integration.id, registry=registry.host, repository=repository,
              digest=str(pushed.digest), tag="1.0", media_type=pushed.media_type, event_time=WHEN)
    assert svc.worker.process(QueueMessage(id="m-push", text=encode_job(job), dequeue_count=1)) == "analyzed"
    record = svc.images.get(registry.host, repository, str(pushed.digest))
    assert record is not None and record.status == "analyzed"
    (platform,) = record.platforms
    chain = chain_key([layer.diff_id or "" for layer in platform.layers])
    scope = Scope(integration.id, registry.host, repository, str(pushed.digest))
    svc.vex_service.import_document(scope, encoded(fixture("openvex.json")), "vex.json")
    svc.policy_configs.put(integration.id, None, parse_config(CONFIG), WHEN)
    endpoint, _ = svc.notifications.add(integration.id, name="hook", url="http://127.0.0.1:9/hook")
    svc.notification_deliveries.put(Delivery(endpoint_id=endpoint.id, id=f"n1-{endpoint.id}", event="new-finding",
                                             image=str(pushed.digest), status="delivered", created=WHEN, updated=WHEN))
    return Analyzed(integration.id, repository, str(pushed.digest), platform.digest, chain, endpoint.id)


def other_registry_rows(svc: Services) -> None:
    """One row of another registry (integration ``other1``) in every store, and a public base in the chain index."""
    svc.images.put(ImageRecord(registry=OTHER, repository="team/a", digest=OTHER_DIGEST, status="analyzed",
                               event_time=WHEN))
    svc.reports.put(PlatformRef(OTHER, "team/a", OTHER_DIGEST), {"findings": []})
    svc.packages.file(OTHER, "team/a", OTHER_DIGEST, [PackageOccurrence(
        OTHER, "team/a", OTHER_DIGEST, "linux/amd64", OTHER_DIGEST, "pkg:pypi/x@1", "x", "1", "pypi", OTHER_DIGEST)])
    svc.policy_results.put(OTHER, "team/a", OTHER_DIGEST, PolicyEvaluation(
        (PolicyResult.of("no-root-user", 1, "Not running as root", "pass"),), WHEN))
    svc.policy_configs.put("other1", None, parse_config(CONFIG), WHEN)
    svc.vex.put(imported(fixture("openvex.json"), Scope("other1", OTHER), vex_id="theirs"))
    svc.bases.file("c" * 64, ChainEntry(kind="image", registry=OTHER, repository="team/a", digest=OTHER_DIGEST,
                                        platform_digest=OTHER_DIGEST, layers=1))
    svc.bases.file("c" * 64, PublicBase("library/debian", "12", "sha256:" + "9" * 64, ("sha256:" + "8" * 64,)).entry())
    svc.notification_endpoints.put(Endpoint(integration_id="other1", id="eother1", name="hook",
                                            url_display="https://hooks.test", url_encrypted="x", secret_encrypted="y",
                                            created=WHEN))
    svc.notification_deliveries.put(Delivery(endpoint_id="eother1", id="n1-eother1", event="new-finding", image="x",
                                             status="delivered", created=WHEN, updated=WHEN))


def assert_other_registry_untouched(svc: Services) -> None:
    assert svc.images.get(OTHER, "team/a", OTHER_DIGEST) is not None
    assert svc.reports.get(PlatformRef(OTHER, "team/a", OTHER_DIGEST)) is not None
    assert svc.packages.find("x", "pypi", 10).items
    assert svc.policy_results.get(OTHER, "team/a", OTHER_DIGEST) is not None
    assert svc.policy_configs.list("other1") != {}
    assert [v.id for v in svc.vex.list_documents()] == ["theirs"]
    assert sorted(e.kind for e in svc.bases.entries("c" * 64)) == ["image", "public"]
    assert [e.id for e in svc.notification_endpoints.list("other1")] == ["eother1"]
    assert svc.notification_deliveries.latest("eother1") is not None


def test_removal_with_purge_leaves_no_row_of_the_integration_in_any_store(svc: Services, registry: RegistryServer) -> None:
    other_registry_rows(svc)
    mine = analyzed_integration(svc, registry)
    host, ref = registry.host, PlatformRef(registry.host, mine.repository, mine.platform)
    # Before: a row in every store.
    assert svc.images.tags_of(host, mine.repository, mine.digest) == ["1.0"]
    assert svc.sboms.get(host, mine.repository, mine.platform) is not None and svc.reports.get(ref) is not None
    assert svc.packages.find("requests", "pypi", 10).items
    assert svc.summaries.list(host, 10).items
    assert svc.policy_results.get(host, mine.repository, mine.digest) is not None
    assert [e.digest for e in svc.bases.entries(mine.chain)] == [mine.digest]
    assert len(svc.vex.list_documents(host)) == 1 and svc.policy_configs.list(mine.integration) != {}
    assert svc.notification_endpoints.get(mine.integration, mine.endpoint) is not None
    assert svc.notification_deliveries.latest(mine.endpoint) is not None

    answer = svc.integration_service.remove(mine.integration, purge=True, actor="test")

    assert (answer["images_deleted"], answer["notification_endpoints_deleted"], answer["vex_documents_deleted"],
            answer["policy_configurations_deleted"]) == (1, 1, 1, 1)
    assert svc.integrations.get(mine.integration) is None
    assert svc.repositories.enabled_repositories(mine.integration) == {}
    assert svc.images.get(host, mine.repository, mine.digest) is None
    assert svc.images.tags_of(host, mine.repository, mine.digest) == []
    assert svc.sboms.get(host, mine.repository, mine.platform) is None and svc.reports.get(ref) is None
    assert not svc.packages.find("requests", "pypi", 10).items
    assert not svc.summaries.list(host, 10).items
    assert svc.policy_results.get(host, mine.repository, mine.digest) is None
    assert svc.bases.entries(mine.chain) == []
    assert svc.vex.list_documents(host) == [] and svc.policy_configs.list(mine.integration) == {}
    assert svc.notification_endpoints.list(mine.integration) == []
    assert svc.notification_deliveries.latest(mine.endpoint) is None
    assert svc.notification_deliveries.get(mine.endpoint, f"n1-{mine.endpoint}") is None
    assert_other_registry_untouched(svc)


def test_removal_without_purge_keeps_the_analyses_and_drops_what_was_set_for_the_integration(
    svc: Services, registry: RegistryServer
) -> None:
    other_registry_rows(svc)
    mine = analyzed_integration(svc, registry)
    host = registry.host
    answer = svc.integration_service.remove(mine.integration, purge=False, actor="test")
    assert answer["analyses_kept"] is True and answer["images_deleted"] == 0
    assert svc.images.get(host, mine.repository, mine.digest) is not None
    assert svc.policy_results.get(host, mine.repository, mine.digest) is not None
    assert [e.digest for e in svc.bases.entries(mine.chain)] == [mine.digest]
    assert [(s.repository, s.enabled) for s in svc.summaries.list(host, 10).items] == [(mine.repository, False)]
    assert svc.vex.list_documents(host) == [] and svc.policy_configs.list(mine.integration) == {}
    assert svc.notification_endpoints.list(mine.integration) == []
    assert svc.notification_deliveries.latest(mine.endpoint) is None
    assert_other_registry_untouched(svc)


@pytest.mark.parametrize("purge", [True, False])
def test_a_second_registry_integrated_after_removal_sees_none_of_the_old_settings(
    svc: Services, registry: RegistryServer, purge: bool
) -> None:
    mine = analyzed_integration(svc, registry)
    svc.integration_service.remove(mine.integration, purge=purge)
    again = svc.integration_service.create(registry.host, insecure=True).integration
    assert svc.vex.for_repository(registry.host, mine.repository) == []  # nothing applies to its images unseen
    assert svc.vex_service.list_documents(again.id) == [] and svc.policy_configs.list(again.id) == {}
    assert svc.notifications.list(again.id) == []


def test_deleting_an_image_takes_its_policy_results_and_chains_and_keeps_the_vex_documents_of_its_digest(
    svc: Services, registry: RegistryServer
) -> None:
    mine = analyzed_integration(svc, registry)
    host = registry.host
    deleted = Job(kind="delete", integration_id=mine.integration, registry=host, repository=mine.repository,
                  digest=mine.digest, tag=None, media_type=None, event_time="2026-03-01T11:00:00.000000Z")
    assert svc.worker.process(QueueMessage(id="m-delete", text=encode_job(deleted), dequeue_count=1)) == "deleted"
    assert svc.policy_results.get(host, mine.repository, mine.digest) is None
    assert svc.bases.entries(mine.chain) == []
    # The statements about that digest stay: a push of the same digest again is covered by them.
    assert [v.scope.image for v in svc.vex.for_repository(host, mine.repository)] == [mine.digest]
    # Running the delete again (a redelivered message) finds nothing more to do and fails on nothing.
    assert svc.worker.process(QueueMessage(id="m-delete", text=encode_job(deleted), dequeue_count=2)) == "deleted"
