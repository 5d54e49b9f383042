"""Finding a repository's latest image: ACR's timestamped tag API, and the config fallback elsewhere."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from shared.registry.catalog import LatestImage, latest_image, list_repositories
from shared.registry.client import RegistryClient
from testkit.images import push_image
from testkit.registry import RegistryServer
from testkit.standin import Reply, Seen, StandIn

NEWEST = "sha256:" + "3" * 64


@pytest.fixture
def acr() -> Iterator[StandIn]:
    """A registry that speaks ACR's ``/acr/v1`` API (anonymous, plain HTTP on loopback)."""
    server = StandIn()
    server.route("GET", "/v2/", Reply(200, b"{}"))
    yield server
    server.close()


def test_acr_tags_newest_first_are_used(acr: StandIn) -> None:
    def tags(seen: Seen) -> Reply:
        assert seen.query["orderby"] == ["timedesc"]
        records = [{"name": "v3", "digest": NEWEST, "createdTime": "2026-01-03T00:00:00Z"},
                   {"name": "v2", "digest": "sha256:" + "2" * 64, "createdTime": "2026-01-02T00:00:00Z"}]
        return Reply(200, json.dumps({"registry": "x", "imageName": "app", "tags": records}).encode())

    acr.route("GET", "/acr/v1/app/_tags", tags)
    acr.route("GET", "/acr/v1/_catalog", Reply(200, json.dumps({"repositories": ["b/two", "app"]}).encode()))
    with RegistryClient(f"127.0.0.1:{acr.port}", insecure=True) as client:
        assert latest_image(client, "app") == LatestImage(tag="v3", digest=NEWEST)
        assert list_repositories(client) == (["app", "b/two"], False)
    assert not [s for s in acr.seen if s.path.startswith("/v2/app/")]  # no manifest was fetched


def test_acr_repository_without_tags(acr: StandIn) -> None:
    acr.route("GET", "/acr/v1/empty/_tags", Reply(200, json.dumps({"imageName": "empty", "tags": []}).encode()))
    with RegistryClient(f"127.0.0.1:{acr.port}", insecure=True) as client:
        assert latest_image(client, "empty") is None


def test_without_the_acr_api_the_newest_config_wins(registry: RegistryServer) -> None:
    push_image(registry, "latest/probe", "middle", [{"m": "1"}], created="2025-01-01T00:00:00Z")
    newest = push_image(registry, "latest/probe", "newest", [{"n": "1"}], created="2025-06-01T00:00:00.5Z")
    push_image(registry, "latest/probe", "oldest", [{"o": "1"}], created="2023-01-01T00:00:00Z")
    with registry.client(registry.readonly) as client:
        assert latest_image(client, "latest/probe") == LatestImage(tag="newest", digest=str(newest.digest))
