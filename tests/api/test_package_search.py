"""Which images hold a package, over in-memory stores: by purl (with or without version), by name and type."""

from __future__ import annotations

import pytest

from shared.api.package_search import search_packages
from shared.api.paging import Continuations
from shared.errors import InvalidContinuation, InvalidInput
from shared.images.listing import PackageOccurrence
from shared.secrets import generate_key
from testkit.memory_records import MemoryImages, MemoryPackages

REGISTRY = "myregistry.azurecr.io"
LAYER = "sha256:" + "1" * 64


def held(repository: str, number: int, purl: str, name: str, version: str, kind: str) -> PackageOccurrence:
    return PackageOccurrence(REGISTRY, repository, f"sha256:{number:064x}", "linux/amd64", f"sha256:{number:064x}",
                             purl, name, version, kind, LAYER)


@pytest.fixture
def world() -> tuple[MemoryPackages, MemoryImages, Continuations]:
    packages, images = MemoryPackages(), MemoryImages()
    packages.file(REGISTRY, "team/a", f"sha256:{1:064x}", [
        held("team/a", 1, "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", "log4j-core", "2.14.1", "maven"),
        held("team/a", 1, "pkg:pypi/requests@2.31.0", "requests", "2.31.0", "pypi")])
    packages.file(REGISTRY, "team/b", f"sha256:{2:064x}", [
        held("team/b", 2, "pkg:maven/org.apache.logging.log4j/log4j-core@2.17.1", "log4j-core", "2.17.1", "maven"),
        held("team/b", 2, "pkg:npm/log4j-core@1.0.0", "log4j-core", "1.0.0", "npm")])
    images.point_tag(REGISTRY, "team/b", "prod", f"sha256:{2:064x}", "2026-01-01T00:00:00.000000Z")
    return packages, images, Continuations(generate_key())


def test_by_name_with_and_without_type(world: tuple[MemoryPackages, MemoryImages, Continuations]) -> None:
    packages, images, tokens = world
    everywhere = search_packages(packages, images, tokens, name="Log4j-Core")["packages"]
    assert sorted((p["type"], p["version"]) for p in everywhere) == [("maven", "2.14.1"), ("maven", "2.17.1"),
                                                                     ("npm", "1.0.0")]
    maven = search_packages(packages, images, tokens, name="log4j-core", type="maven")["packages"]
    assert [(p["repository"], p["version"], p["tags"]) for p in maven] == [("team/a", "2.14.1", []),
                                                                          ("team/b", "2.17.1", ["prod"])]
    assert set(maven[0]) == {"purl", "name", "version", "type", "registry", "repository", "digest", "tags", "platform",
                             "layer"}


def test_by_purl_version_narrows(world: tuple[MemoryPackages, MemoryImages, Continuations]) -> None:
    packages, images, tokens = world
    exact = search_packages(packages, images, tokens, purl="pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1")
    assert [p["repository"] for p in exact["packages"]] == ["team/a"]
    any_version = search_packages(packages, images, tokens, purl="pkg:maven/org.apache.logging.log4j/log4j-core")
    assert [p["version"] for p in any_version["packages"]] == ["2.14.1", "2.17.1"]
    first = search_packages(packages, images, tokens, name="log4j-core", limit="1")
    rest = search_packages(packages, images, tokens, name="log4j-core", continuation=first["continuation"])
    assert len(first["packages"]) == 1 and len(rest["packages"]) == 2 and rest["continuation"] is None
    with pytest.raises(InvalidContinuation):
        search_packages(packages, images, tokens, name="requests", continuation=first["continuation"])


@pytest.mark.parametrize("query", [{}, {"purl": "not-a-purl"}, {"name": "x" * 300}, {"name": "log4j", "type": "Bad Type"},
                                   {"purl": "pkg:" + "a" * 2000}])
def test_bad_queries_are_refused(world: tuple[MemoryPackages, MemoryImages, Continuations], query: dict[str, str]) -> None:
    packages, images, tokens = world
    with pytest.raises(InvalidInput):
        search_packages(packages, images, tokens, **query)
