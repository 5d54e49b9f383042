"""A repository's tags and latest image: ACR's timestamped tag API, and the OCI fallback elsewhere."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from shared.registry.catalog import (
    LatestImage,
    TaggedDigest,
    TagListing,
    latest_image,
    list_repositories,
    manifest_exists,
    tagged_digests,
)
from shared.registry.client import RegistryClient
from testkit.images import delete_manifest, push_image, tag_manifest
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


# -- tags with their digests, and whether a manifest is still there ------------------------------


def test_tags_resolve_to_their_digests_without_the_acr_api(registry: RegistryServer) -> None:
    repository = f"tagged/{uuid.uuid4().hex[:8]}"
    one = push_image(registry, repository, "one", [{"1": "1"}])
    two = push_image(registry, repository, "two", [{"2": "2"}])
    tag_manifest(registry, repository, "also-two", two)
    with registry.client(registry.readonly) as client:
        listing = tagged_digests(client, repository)
        limited = tagged_digests(client, repository, limit=2)
    assert sorted(listing.tags, key=lambda t: t.tag) == [
        TaggedDigest("also-two", str(two.digest)), TaggedDigest("one", str(one.digest)), TaggedDigest("two", str(two.digest))]
    assert (listing.complete, listing.acr) == (True, False)
    assert limited == TagListing(listing.tags[:2], complete=False, acr=False)  # in the registry's order


def test_an_unknown_repository_has_no_tags(registry: RegistryServer) -> None:
    with registry.client(registry.readonly) as client:
        assert tagged_digests(client, f"never/{uuid.uuid4().hex[:8]}") == TagListing((), complete=True, acr=False)


def test_manifest_exists_until_it_is_deleted_tagged_or_not(registry: RegistryServer) -> None:
    repository = f"present/{uuid.uuid4().hex[:8]}"
    tagged = push_image(registry, repository, "t", [{"t": "t"}])
    untagged = push_image(registry, repository, None, [{"u": "u"}])
    with registry.client(registry.readonly) as client:
        assert manifest_exists(client, repository, tagged.digest)
        assert manifest_exists(client, repository, str(untagged.digest))
        delete_manifest(registry, repository, tagged.digest)
        assert not manifest_exists(client, repository, tagged.digest)
        assert not manifest_exists(client, f"never/{uuid.uuid4().hex[:8]}", tagged.digest)
        assert tagged_digests(client, repository).tags == ()


def test_acr_tags_carry_digests_and_times_newest_first(acr: StandIn) -> None:
    records = [{"name": "v3", "digest": NEWEST, "createdTime": "2026-01-01T00:00:00Z", "lastUpdateTime": "2026-01-03T00:00:00Z"},
               {"name": "bad", "digest": "md5:0"},
               {"name": "v2", "digest": "sha256:" + "2" * 64, "createdTime": "2026-01-02T00:00:00.1234567Z"},
               {"name": "v1", "digest": "sha256:" + "1" * 64}]
    acr.route("GET", "/acr/v1/app/_tags", Reply(200, json.dumps({"imageName": "app", "tags": records}).encode()))
    with RegistryClient(acr.host, insecure=True) as client:
        listing = tagged_digests(client, "app")
        limited = tagged_digests(client, "app", limit=2)
    assert listing == TagListing((TaggedDigest("v3", NEWEST, "2026-01-03T00:00:00.000000Z"),
                                  TaggedDigest("v2", "sha256:" + "2" * 64, "2026-01-02T00:00:00.123456Z"),
                                  TaggedDigest("v1", "sha256:" + "1" * 64)), complete=True, acr=True)
    assert limited == TagListing(listing.tags[:2], complete=False, acr=True)
    assert not [s for s in acr.seen if s.path.startswith("/v2/app/")]  # the digests came with the listing


def test_without_acr_each_tag_costs_a_head(acr: StandIn) -> None:
    digest = "sha256:" + "4" * 64
    acr.route("GET", "/v2/app/tags/list", Reply(200, json.dumps({"name": "app", "tags": ["a", "gone"]}).encode()))
    acr.route("HEAD", "/v2/app/manifests/a", Reply(200, headers={"Docker-Content-Digest": digest}))
    acr.route("HEAD", "/v2/app/manifests/gone", Reply(404))
    with RegistryClient(acr.host, insecure=True) as client:
        assert tagged_digests(client, "app") == TagListing((TaggedDigest("a", digest),), complete=True, acr=False)
        assert tagged_digests(client, "app", acr=False).acr is False
    assert len(acr.requests_to("/acr/v1/app/_tags")) == 1  # asked once; told not to ask the second time
