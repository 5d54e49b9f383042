"""The package index on Azurite: search by name, type, namespace; filing again replaces; purge."""

from __future__ import annotations

from shared.images.listing import PackageOccurrence
from shared.wiring import Services

REGISTRY = "r.example"
LAYER = "sha256:" + "1" * 64


def occurrence(purl: str, name: str, version: str, kind: str, repository: str = "team/a", number: int = 1,
               platform: str = "linux/amd64") -> PackageOccurrence:
    return PackageOccurrence(REGISTRY, repository, f"sha256:{number:064x}", platform, f"sha256:{number + 100:064x}",
                             purl, name, version, kind, LAYER)


LOG4J = "pkg:maven/org.apache.logging.log4j/log4j-core@{}"


def test_packages_are_found_by_name_type_and_namespace(svc: Services) -> None:
    store = svc.packages
    store.file(REGISTRY, "team/a", f"sha256:{1:064x}", [
        occurrence(LOG4J.format("2.14.1"), "log4j-core", "2.14.1", "maven"),
        occurrence("pkg:npm/log4j-core@1.0.0", "log4j-core", "1.0.0", "npm"),
        occurrence("pkg:maven/org.apache.logging.log4j/log4j-api@2.14.1", "log4j-api", "2.14.1", "maven"),
        occurrence("pkg:maven/other.group/log4j-core@9", "log4j-core", "9", "maven")])
    store.file(REGISTRY, "team/b", f"sha256:{2:064x}", [
        occurrence(LOG4J.format("2.17.1"), "log4j-core", "2.17.1", "maven", "team/b", 2)])
    maven = store.find("Log4j-Core", "maven", 10)
    assert sorted(o.version for o in maven.items) == ["2.14.1", "2.17.1", "9"] and maven.cursor is None
    assert {o.type for o in store.find("log4j-core", None, 10).items} == {"maven", "npm"}
    scoped = store.find("log4j-core", "maven", 10, namespace="org.apache.logging.log4j")
    assert sorted(o.repository for o in scoped.items) == ["team/a", "team/b"]
    first = store.find("log4j-core", None, 1)
    second = store.find("log4j-core", None, 10, first.cursor)
    assert len(first.items) == 1 and len(second.items) == 3 and second.cursor is None
    fixed = store.find("log4j-core", "maven", 10, keep=lambda o: o.version == "2.17.1")
    assert [(o.repository, o.digest) for o in fixed.items] == [("team/b", f"sha256:{2:064x}")]

    # Filing again replaces the image's rows; an empty filing removes them; a purge removes a registry's.
    store.file(REGISTRY, "team/a", f"sha256:{1:064x}", [occurrence("pkg:npm/log4j-core@1.0.0", "log4j-core", "1.0.0", "npm")])
    assert [o.type for o in store.find("log4j-core", None, 10).items] == ["maven", "npm"]
    store.file(REGISTRY, "team/a", f"sha256:{1:064x}", [])
    assert [o.repository for o in store.find("log4j-core", None, 10).items] == ["team/b"]
    store.purge_registry(REGISTRY)
    assert store.find("log4j-core", None, 10).items == ()
