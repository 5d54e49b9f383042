"""The Table storage of policy results and configurations, on Azurite."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shared.policy.config import parse_config
from shared.policy.highprofile import HighProfileList
from shared.policy.model import PolicyEvaluation, PolicyResult, Reason
from shared.wiring import Services

REGISTRY, REPOSITORY, DIGEST = "registry.test", "team/app", "sha256:" + "e" * 64


def evaluation(outcome: str, when: str) -> PolicyEvaluation:
    return PolicyEvaluation((PolicyResult.of("no-root-user", 1, "Not running as root", outcome,  # type: ignore[arg-type]
                                             [Reason("platform linux/amd64 runs as root (no user set)")]
                                             if outcome == "fail" else []),), when)


def test_results_keep_the_previous_evaluation_while_results_differ(svc: Services) -> None:
    store = svc.policy_results
    assert store.get(REGISTRY, REPOSITORY, DIGEST) is None
    first = evaluation("pass", "2026-01-01T00:00:00.000000Z")
    assert store.put(REGISTRY, REPOSITORY, DIGEST, first) is None
    stored = store.get(REGISTRY, REPOSITORY, DIGEST)
    assert stored is not None and stored.current == first and stored.previous is None
    # The same results again: nothing is written, the first evaluation stands with its time.
    again = replace(first, evaluated="2026-01-02T00:00:00.000000Z")
    assert store.put(REGISTRY, REPOSITORY, DIGEST, again) == first
    stored = store.get(REGISTRY, REPOSITORY, DIGEST)
    assert stored is not None and stored.current == first and stored.previous is None
    failing = evaluation("fail", "2026-01-03T00:00:00.000000Z")
    assert store.put(REGISTRY, REPOSITORY, DIGEST, failing) == first
    rematched = replace(failing, evaluated="2026-01-04T00:00:00.000000Z")
    assert store.put(REGISTRY, REPOSITORY, DIGEST, rematched) == failing
    stored = store.get(REGISTRY, REPOSITORY, DIGEST)
    assert stored is not None and stored.current == failing and stored.previous == first
    passing = evaluation("pass", "2026-01-05T00:00:00.000000Z")
    assert store.put(REGISTRY, REPOSITORY, DIGEST, passing) == failing
    stored = store.get(REGISTRY, REPOSITORY, DIGEST)
    assert stored is not None and stored.current == passing and stored.previous == failing
    store.purge_registry("other.test")
    assert store.get(REGISTRY, REPOSITORY, DIGEST) is not None
    store.purge_registry(REGISTRY)
    assert store.get(REGISTRY, REPOSITORY, DIGEST) is None
    store.delete(REGISTRY, REPOSITORY, DIGEST)


def test_configurations_per_integration_and_repository(svc: Services) -> None:
    store = svc.policy_configs
    integration = parse_config("policies:\n  no-root-user: {enabled: false}\n")
    repository = parse_config("policies:\n  no-fixable-critical-high: {severities: [critical]}\n")
    store.put("i1", None, integration, "2026-01-01T00:00:00.000000Z")
    store.put("i1", "team/app", repository, "2026-01-01T00:00:00.000000Z")
    store.put("i2", None, repository, "2026-01-01T00:00:00.000000Z")
    assert store.get("i1", None) == integration and store.get("i1", "team/app") == repository
    assert store.get("i1", "team/other") is None
    assert store.list("i1") == {None: integration, "team/app": repository}
    store.delete("i1", "team/app")
    store.delete("i1", "team/app")
    assert store.list("i1") == {None: integration}


def test_the_high_profile_list_is_replaced_whole(svc: Services) -> None:
    store = svc.policy_configs
    assert store.high_profile() is None
    large = HighProfileList(tuple(f"CVE-2020-{i}" for i in range(20_000)), "kev.json", "2026-01-01T00:00:00.000000Z")
    store.set_high_profile(large)
    assert store.high_profile() == large
    small = HighProfileList(("CVE-2024-3094",), "list.txt", "2026-01-02T00:00:00.000000Z")
    store.set_high_profile(small)
    assert store.high_profile() == small


@pytest.mark.parametrize("name", ["team/app", "a/b/c"])
def test_repository_names_with_slashes_round_trip(svc: Services, name: str) -> None:
    config = parse_config("policies:\n  no-root-user: {}\n")
    svc.policy_configs.put("i1", name, config, "2026-01-01T00:00:00.000000Z")
    assert svc.policy_configs.list("i1") == {name: config}
