"""Base detection, filing and recommendations over the in-memory stand-ins of the stores.

The chain index's Table storage is covered by ``test_base_records.py`` and the whole path, from a push to
``lookout recommendations``, by ``test_e2e.py``; here the rules: the longest prefix wins, what is preferred
among the entries of one chain, tags that moved, stale entries, and the figures of recommendations.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

from shared.bases.model import PublicBase
from shared.bases.origins import annotate, image_split
from shared.bases.service import NO_DATA, Bases
from shared.images.model import BaseImage, ImageRecord, PlatformRecord, PlatformRef
from shared.registry.image import Layer
from testkit.memory_records import MemoryBases, MemoryImages, MemoryReports

REGISTRY = "registry.test"
T1, T2, T3 = "2026-01-01T00:00:00.000000Z", "2026-02-01T00:00:00.000000Z", "2026-03-01T00:00:00.000000Z"


def diff_id(name: str) -> str:
    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


def blob(name: str) -> str:
    return "sha256:" + hashlib.sha256(b"blob " + name.encode()).hexdigest()


def manifest(name: str) -> str:
    return "sha256:" + hashlib.sha256(b"manifest " + name.encode()).hexdigest()


def record(repository: str, name: str, layers: list[str], *, created: str = T1) -> ImageRecord:
    platform = PlatformRecord(digest=manifest(name + "/amd64"), os="linux", architecture="amd64", created=created,
                              layers=tuple(Layer(blob(la), 10, "", diff_id(la)) for la in layers))
    return ImageRecord(registry=REGISTRY, repository=repository, digest=manifest(name), status="analyzed",
                       platforms=(platform,))


def finding(flaw: str, package: str, level: str, layer: str, fixable: bool = True) -> dict[str, Any]:
    return {"id": flaw, "aliases": [], "advisory_ids": [flaw], "package": f"pkg:deb/debian/{package}@1",
            "ecosystem": "Debian:12", "name": package, "installed_version": "1", "fixed_versions": ["2"],
            "fixable": fixable, "severity": {"rating": level}, "summary": "", "references": [],
            "modified": "2026-01-01T00:00:00Z", "locations": [{"path": "/var/lib/dpkg/status", "layer": blob(layer)}]}


class World:
    """The stand-in stores, and the worker's order of calls for an analyzed image."""

    def __init__(self) -> None:
        self.images, self.reports, self.store = MemoryImages(), MemoryReports(), MemoryBases()
        self.bases = Bases(self.store, self.images, self.reports)

    def analyze(self, image: ImageRecord, tag: str | None = None, when: str = T1,
                findings: list[dict[str, Any]] | None = None) -> ImageRecord:
        image = self.bases.detect(image)
        self.images.put(image)
        if tag:
            self.images.point_tag(REGISTRY, image.repository, tag, image.digest, when)
        self.bases.file_image(image)
        (platform,) = image.platforms
        self.reports.put(PlatformRef(REGISTRY, image.repository, platform.digest),
                         {"platform": platform.platform, "digest": platform.digest, "findings": findings or []})
        return image

    def base_of(self, image: ImageRecord) -> BaseImage | None:
        (platform,) = self.bases.detect(image).platforms
        return platform.base


def test_the_longest_chain_that_is_another_image_is_the_base() -> None:
    world = World()
    world.analyze(record("base/os", "os", ["os"]), tag="1")
    debian = world.analyze(record("base/debian", "deb", ["os", "deb"]), tag="12")
    app = world.analyze(record("team/app", "app", ["os", "deb", "app1", "app2"]), tag="v1")
    assert debian.platforms[0].base == BaseImage(REGISTRY, "base/os", "1", manifest("os"), 1)
    assert app.platforms[0].base == BaseImage(REGISTRY, "base/debian", "12", manifest("deb"), 2)
    assert app.platforms[0].base.name == f"{REGISTRY}/base/debian:12"


def test_detection_reads_one_chain_per_layer_at_most_and_stops_at_the_first_match() -> None:
    world = World()
    world.analyze(record("base/debian", "deb", ["os", "deb"]), tag="12")
    world.store.reads = 0
    assert world.base_of(record("team/none", "none", [f"x{n}" for n in range(30)])) is None
    assert world.store.reads == 29
    world.store.reads = 0
    assert world.base_of(record("team/app", "app", ["os", "deb", *(f"a{n}" for n in range(28))])) is not None
    assert world.store.reads == 28


def test_an_image_with_the_same_layers_or_itself_is_not_a_base() -> None:
    world = World()
    first = world.analyze(record("team/a", "a", ["os", "deb"]), tag="1")
    assert first.platforms[0].base is None
    copy = world.analyze(record("team/b", "b", ["os", "deb"]), tag="1")
    assert copy.platforms[0].base is None


def test_a_tagged_image_is_preferred_and_an_imported_public_base_over_both() -> None:
    world = World()
    world.analyze(record("mirror/untagged", "u", ["os", "deb"]))
    world.analyze(record("mirror/tagged", "t", ["os", "deb"]), tag="12")
    app = record("team/app", "app", ["os", "deb", "app"])
    assert world.base_of(app) == BaseImage(REGISTRY, "mirror/tagged", "12", manifest("t"), 2)
    outcome = world.bases.import_public([PublicBase("library/debian", "bookworm", manifest("pub"),
                                                    (diff_id("os"), diff_id("deb")))])
    assert (outcome.added, outcome.moved, outcome.unchanged) == (1, 0, 0)
    assert world.base_of(app) == BaseImage("", "library/debian", "bookworm", manifest("pub"), 2)
    assert world.base_of(app).name == "library/debian:bookworm"  # type: ignore[union-attr]


def test_a_tag_that_moved_on_names_the_base_and_says_a_rebuild_is_needed() -> None:
    world = World()
    world.analyze(record("base/debian", "deb-old", ["os", "deb-old"]), tag="12", when=T1)
    app = record("team/app", "app", ["os", "deb-old", "app"])
    assert world.base_of(app) == BaseImage(REGISTRY, "base/debian", "12", manifest("deb-old"), 2, None)
    world.analyze(record("base/debian", "deb-new", ["os", "deb-new"]), tag="12", when=T2)
    assert world.base_of(app) == BaseImage(REGISTRY, "base/debian", "12", manifest("deb-old"), 2, manifest("deb-new"))


def test_a_public_base_imported_again_at_another_digest_has_moved() -> None:
    world = World()
    old = PublicBase("library/debian", "bookworm", manifest("old"), (diff_id("os"), diff_id("old")))
    new = PublicBase("library/debian", "bookworm", manifest("new"), (diff_id("os"), diff_id("new")))
    world.bases.import_public([old])
    again = world.bases.import_public([old])
    assert (again.added, again.moved, again.unchanged) == (0, 0, 1)
    moved = world.bases.import_public([new])
    assert (moved.added, moved.moved, moved.unchanged) == (0, 1, 0)
    base = world.base_of(record("team/app", "app", ["os", "old", "app"]))
    assert base == BaseImage("", "library/debian", "bookworm", manifest("old"), 2, manifest("new"))
    assert [b.digest for b in world.bases.list_public()] == [manifest("new")]


def test_a_deleted_base_is_unfiled_and_a_stale_entry_is_ignored() -> None:
    world = World()
    deb = world.analyze(record("base/debian", "deb", ["os", "deb"]), tag="12")
    osimage = world.analyze(record("base/os", "os", ["os"]), tag="1")
    app = record("team/app", "app", ["os", "deb", "app"])
    world.bases.unfile_image(deb)
    assert world.base_of(app) == BaseImage(REGISTRY, "base/os", "1", manifest("os"), 1)
    world.images.put(replace(osimage, status="deleted", platforms=()))  # deleted without being unfiled
    assert world.base_of(app) is None


def test_findings_are_split_by_the_layer_their_package_came_from() -> None:
    world = World()
    world.analyze(record("base/debian", "deb", ["os", "deb"]), tag="12")
    app = world.analyze(record("team/app", "app", ["os", "deb", "app"]))
    report = {"findings": [finding("CVE-1", "openssl", "high", "os"), finding("CVE-2", "zlib", "medium", "deb"),
                           finding("CVE-3", "app", "critical", "app", fixable=False)]}
    annotated = annotate(report, app.platforms[0])
    assert [f["origin"] for f in annotated["findings"]] == ["base", "base", "image"]
    assert annotated["origin_counts"]["base"] == {"total": 2, "critical": 0, "high": 1, "medium": 1, "low": 0,
                                                  "unknown": 0, "fixable": 2}
    assert annotated["origin_counts"]["image"]["critical"] == 1
    assert image_split([annotated])["image"]["total"] == 1  # type: ignore[index]
    bare = annotate({"findings": [finding("CVE-1", "openssl", "high", "os")]}, replace(app.platforms[0], base=None))
    assert (bare["findings"][0]["origin"], bare["origin_counts"], image_split([bare])) == (None, None, None)


def test_recommendations_compare_the_other_tags_with_the_current_base() -> None:
    world = World()
    f1, f2, f3 = (finding("CVE-1", "openssl", "high", "os"), finding("CVE-2", "zlib", "medium", "v1"),
                  finding("CVE-3", "glibc", "critical", "v3"))
    world.analyze(record("base/debian", "v1", ["os", "v1"], created=T1), tag="12", when=T1, findings=[f1, f2])
    app = world.analyze(record("team/app", "app", ["os", "v1", "app"]), tag="1",
                        findings=[f1, f2, finding("CVE-9", "app", "low", "app")])
    world.analyze(record("base/debian", "v2", ["os", "v2"], created=T2), tag="12", when=T2, findings=[f2])
    world.analyze(record("base/debian", "v3", ["os", "v3"], created=T3), tag="13", when=T3, findings=[f2, f3])
    (platform,) = world.bases.recommendations(app)["platforms"]
    assert platform["base"]["digest"] == manifest("v1")
    assert platform["rebuild_needed"] is True
    assert platform["rebuild"] == f"rebuild needed: 12 now points at {manifest('v2')}"
    assert (platform["from_base"]["total"], platform["added"]["total"]) == (2, 1)
    assert platform["current"]["vulnerabilities"]["total"] == 2
    assert platform["current"]["source"] == "base image report"
    (v2, v3) = platform["alternatives"]
    assert (v2["tag"], v2["newer"], v2["remove"]["high"], v2["remove"]["total"], v2["add"]["total"]) == (
        "12", True, 1, 1, 0)
    assert (v3["tag"], v3["remove"]["high"], v3["add"]["critical"], v3["note"]) == ("13", 1, 1, None)


def test_a_public_base_without_an_analyzed_twin_has_no_figures_never_zero() -> None:
    world = World()
    world.bases.import_public([PublicBase("library/debian", "12.1", manifest("p1"), (diff_id("os"), diff_id("p1"))),
                               PublicBase("library/debian", "12.2", manifest("p2"), (diff_id("os"), diff_id("p2"))),
                               PublicBase("library/debian", "12.3", manifest("p3"), (diff_id("os"), diff_id("p3")))])
    world.analyze(record("mirror/debian", "p3", ["os", "p3"]), tag="12.3", findings=[])
    app = world.analyze(record("team/app", "app", ["os", "p1", "app"]),
                        findings=[finding("CVE-1", "openssl", "high", "os")])
    (platform,) = world.bases.recommendations(app)["platforms"]
    assert platform["base"]["name"] == "library/debian:12.1" and platform["rebuild_needed"] is False
    assert platform["current"]["source"] == "this image's base layers"
    by_tag = {a["tag"]: a for a in platform["alternatives"]}
    assert (by_tag["12.2"]["vulnerabilities"], by_tag["12.2"]["remove"], by_tag["12.2"]["note"]) == (None, None, NO_DATA)
    assert (by_tag["12.3"]["remove"]["total"], by_tag["12.3"]["add"]["total"]) == (1, 0)
    assert [a["tag"] for a in platform["alternatives"]] == ["12.3", "12.2"]


def test_an_image_without_a_base_gets_no_recommendation() -> None:
    world = World()
    app = world.analyze(record("team/app", "app", ["a", "b"]))
    assert world.bases.recommendations(app)["platforms"] == [
        {"platform": "linux/amd64", "digest": app.platforms[0].digest, "base": None}]


def test_findings_a_vex_statement_suppressed_are_shown_with_their_origin_but_not_counted() -> None:
    world = World()
    world.analyze(record("base/debian", "deb", ["os"]), tag="12")
    app = world.analyze(record("team/app", "app", ["os", "app"]))
    quiet = {**finding("CVE-1", "openssl", "high", "os"), "suppressed": {"status": "not_affected"}}
    annotated = annotate({"findings": [quiet, finding("CVE-3", "app", "critical", "app")]}, app.platforms[0])
    assert [f["origin"] for f in annotated["findings"]] == ["base", "image"]
    assert (annotated["origin_counts"]["base"]["total"], annotated["origin_counts"]["image"]["total"]) == (0, 1)
    assert image_split([annotated]) == annotated["origin_counts"]
