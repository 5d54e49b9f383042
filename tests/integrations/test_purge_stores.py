"""The purges an integration's removal calls, on Azurite and on the in-memory stand-ins: the rows of the
integration (or of its registry) are there before and gone after; every other row stays.

Each store is checked against its stand-in with the same steps, so the unit tests of
:class:`~shared.integrations.service.Integrations` over the stand-ins stand for what storage does.
"""

from __future__ import annotations

from typing import Any

import pytest

from shared.bases.model import ChainEntry, PublicBase
from shared.notify.model import Endpoint
from shared.policy.config import parse_config
from shared.policy.highprofile import HighProfileList
from shared.records import BaseRecords, NotificationEndpoints, PolicyConfigs, VexStatements
from shared.vex.model import Scope
from shared.wiring import Services
from testkit.memory_records import MemoryBases, MemoryEndpoints, MemoryPolicyConfigs, MemoryVex
from tests.vex.support import fixture, imported

REGISTRY, OTHER = "registry.test", "registry.test:5000"
WHEN = "2026-03-01T00:00:00.000000Z"


@pytest.fixture(params=["azurite", "memory"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def stores(backend: str, request: pytest.FixtureRequest) -> Any:
    """The Table storage stores on Azurite, or the stand-ins."""
    if backend == "azurite":
        svc: Services = request.getfixturevalue("svc")
        return svc
    return None


def test_policy_configurations_go_with_their_integration_only(backend: str, request: pytest.FixtureRequest) -> None:
    svc = stores(backend, request)
    store: PolicyConfigs = svc.policy_configs if svc else MemoryPolicyConfigs()
    config = parse_config("policies:\n  no-root-user: {enabled: false}\n")
    store.put("i1", None, config, WHEN)
    store.put("i1", "team/app", config, WHEN)
    store.put("i10", None, config, WHEN)  # an id the first one is a prefix of
    store.set_high_profile(HighProfileList(("CVE-2024-3094",), "list.txt", WHEN))
    assert store.purge_integration("i1") == 2
    assert store.list("i1") == {}
    assert store.list("i10") == {None: config}
    assert store.high_profile() is not None
    assert store.purge_integration("i1") == 0  # again: nothing left, no error


def test_vex_documents_go_with_their_registry_only(backend: str, request: pytest.FixtureRequest) -> None:
    svc = stores(backend, request)
    store: VexStatements = svc.vex if svc else MemoryVex()
    documents = [imported(fixture("openvex.json"), Scope("i1", REGISTRY), vex_id="a"),
                 imported(fixture("openvex.json"), Scope("i1", REGISTRY, "team/app"), vex_id="b"),
                 imported(fixture("openvex.json"), Scope("i1", REGISTRY, "team/app", "sha256:" + "1" * 64), vex_id="c")]
    kept = imported(fixture("openvex.json"), Scope("i2", OTHER), vex_id="d")
    for document in (*documents, kept):
        store.put(document)
    assert len(store.list_documents(REGISTRY)) == 3
    assert store.purge_registry(REGISTRY) == 3
    assert store.list_documents(REGISTRY) == [] and store.for_repository(REGISTRY, "team/app") == []
    assert store.list_documents() == [kept]
    assert store.purge_registry(REGISTRY) == 0


def test_notification_endpoints_and_their_secrets_go_with_their_integration(
    backend: str, request: pytest.FixtureRequest
) -> None:
    svc = stores(backend, request)
    store: NotificationEndpoints = svc.notification_endpoints if svc else MemoryEndpoints()

    def endpoint(integration: str, endpoint_id: str) -> Endpoint:
        return Endpoint(integration_id=integration, id=endpoint_id, name=endpoint_id, url_display="https://hooks.test",
                        url_encrypted="ciphertext-url", secret_encrypted="ciphertext-secret", created=WHEN)

    for integration, endpoint_id in (("i1", "e1"), ("i1", "e2"), ("i2", "e3")):
        store.put(endpoint(integration, endpoint_id))
    assert [e.id for e in store.list("i1")] == ["e1", "e2"]
    assert store.purge_integration("i1") == 2
    assert store.list("i1") == [] and store.get("i1", "e1") is None
    assert [e.id for e in store.list("i2")] == ["e3"]
    assert store.purge_integration("i1") == 0


def test_chain_entries_of_a_registry_are_unfiled_and_public_bases_and_other_registries_stay(
    backend: str, request: pytest.FixtureRequest
) -> None:
    svc = stores(backend, request)
    store: BaseRecords = svc.bases if svc else MemoryBases()
    chain_a, chain_b = "a" * 64, "b" * 64

    def image(registry: str, repository: str, digit: str) -> ChainEntry:
        return ChainEntry(kind="image", registry=registry, repository=repository, digest="sha256:" + digit * 64,
                          platform_digest="sha256:" + digit * 64, layers=2)

    public = PublicBase("library/debian", "12", "sha256:" + "9" * 64, ("sha256:" + "8" * 64,)).entry()
    mine = [image(REGISTRY, "team/app", "1"), image(REGISTRY, "team/other", "2")]
    theirs = image(OTHER, "team/app", "3")
    store.file(chain_a, mine[0])
    store.file(chain_a, theirs)
    store.file(chain_a, public)
    store.file(chain_b, mine[1])
    assert store.purge_registry(REGISTRY) == 2
    assert sorted(e.identity for e in store.entries(chain_a)) == sorted([theirs.identity, public.identity])
    assert store.entries(chain_b) == []
    assert store.purge_registry(REGISTRY) == 0
