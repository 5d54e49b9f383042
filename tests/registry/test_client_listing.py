"""Catalog and tag listing with paging against the real registry; the ACR API's absence."""

from __future__ import annotations

import math
import uuid

import pytest

from shared.registry import NotSupported
from testkit.images import push_image, tag_manifest
from testkit.registry import RegistryServer


def test_catalog_pages(registry: RegistryServer) -> None:
    prefix = f"paging-{uuid.uuid4().hex[:6]}"
    names = [f"{prefix}/repo{i}" for i in range(5)]
    for name in names:
        push_image(registry, name, "1", [{"f": name}])
    client = registry.client(registry.readonly)
    everything = list(client.catalog(page_size=1000))
    before = client.request_count
    paged = list(client.catalog(page_size=2))
    assert paged == everything and len(paged) == len(set(paged))
    assert set(names) <= set(paged)
    assert client.request_count - before >= math.ceil(len(paged) / 2)  # one request per page, at least


def test_tags(registry: RegistryServer) -> None:
    """Distribution 2.8 answers tag lists in one page (it ignores ``n``); paging is tested on a stand-in."""
    repository = f"paging/tags-{uuid.uuid4().hex[:6]}"
    image = push_image(registry, repository, "t0", [{"f": "tags"}])
    tags = ["t0"] + [f"t{i}" for i in range(1, 8)]
    for tag in tags[1:]:
        tag_manifest(registry, repository, tag, image)
    listed = list(registry.client(registry.readonly).tags(repository, page_size=3))
    assert sorted(listed) == tags


def test_acr_api_is_not_supported_by_distribution(registry: RegistryServer) -> None:
    client = registry.client(registry.readonly)
    with pytest.raises(NotSupported) as raised:
        next(client.acr_tags("anything"))
    assert not raised.value.temporary and raised.value.status == 404
    with pytest.raises(NotSupported):
        next(client.acr_catalog())
