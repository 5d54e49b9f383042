"""The read side over in-memory stores: finding an image by tag or digest, and its findings filtered."""

from __future__ import annotations

import pytest

from shared.api.findings import image_vulnerabilities
from shared.api.image_lookup import find_image, find_record
from shared.errors import Conflict, InvalidInput, NotFound
from shared.images.model import ImageRecord, PlatformRecord, PlatformRef
from testkit.memory_records import MemoryImages, MemoryReports

REGISTRY = "myregistry.azurecr.io"
DIGEST = "sha256:" + "1" * 64
PLATFORM = "sha256:" + "2" * 64


def finding(record_id: str, rating: str, fixable: bool) -> dict[str, object]:
    """A stored finding as the report JSON has it."""
    return {"id": record_id, "aliases": [], "package": "pkg:pypi/pkg@1.0", "name": "pkg", "installed_version": "1.0",
            "ecosystem": "PyPI", "modified": "2026-01-01T00:00:00Z",
            "fixed_versions": ["1.1"] if fixable else [], "fixable": fixable,
            "severity": {"rating": rating, "score": None, "type": "", "vector": ""}}


@pytest.fixture
def images() -> MemoryImages:
    store = MemoryImages()
    store.put(ImageRecord(registry=REGISTRY, repository="team/app", digest=DIGEST, status="analyzed",
                          platforms=(PlatformRecord(digest=PLATFORM, os="linux", architecture="amd64"),)))
    store.point_tag(REGISTRY, "team/app", "1.0", DIGEST, "2026-01-01T00:00:00.000000Z")
    store.put(ImageRecord(registry=REGISTRY, repository="team/app", digest="sha256:" + "3" * 64, status="deleted"))
    return store


def test_an_image_is_found_by_tag_or_digest_and_a_deleted_one_is_not(images: MemoryImages) -> None:
    by_tag = find_image(images, REGISTRY, "team/app", "1.0")
    assert by_tag is not None and by_tag["digest"] == DIGEST and by_tag["tags"] == ["1.0"]
    assert find_record(images, "MyRegistry.azurecr.io", "team/app", DIGEST) is not None
    assert find_record(images, REGISTRY, "team/app", "2.0") is None
    assert find_record(images, REGISTRY, "team/app", "sha256:" + "3" * 64) is None


@pytest.mark.parametrize("reference", ["", "UPPER:case", "sha256:short", "a" * 200])
def test_malformed_references_are_refused(images: MemoryImages, reference: str) -> None:
    with pytest.raises(InvalidInput):
        find_record(images, REGISTRY, "team/app", reference)


def test_findings_are_filtered_by_severity_and_fixability(images: MemoryImages) -> None:
    reports = MemoryReports()
    reports.put(PlatformRef(REGISTRY, "team/app", PLATFORM),
                {"findings": [finding("A", "critical", True), finding("B", "high", False), finding("C", "low", True)],
                 "counts": {}, "snapshot": "s"})
    everything = image_vulnerabilities(images, reports, REGISTRY, "team/app", "1.0")
    assert [f["id"] for f in everything["platforms"][0]["findings"]] == ["A", "B", "C"]
    chosen = image_vulnerabilities(images, reports, REGISTRY, "team/app", "1.0", severity="critical,high", fixable="true")
    assert [f["id"] for f in chosen["platforms"][0]["findings"]] == ["A"]
    with pytest.raises(InvalidInput):
        image_vulnerabilities(images, reports, REGISTRY, "team/app", "1.0", fixable="maybe")


def test_findings_of_an_unknown_or_unanalyzed_image_say_why(images: MemoryImages) -> None:
    with pytest.raises(NotFound):
        image_vulnerabilities(images, MemoryReports(), REGISTRY, "team/app", "2.0")
    with pytest.raises(NotFound, match="no vulnerability report"):
        image_vulnerabilities(images, MemoryReports(), REGISTRY, "team/app", "1.0")
    images.put(ImageRecord(registry=REGISTRY, repository="team/app", digest="sha256:" + "4" * 64, status="failed",
                           error="denied"))
    with pytest.raises(Conflict, match="denied"):
        image_vulnerabilities(images, MemoryReports(), REGISTRY, "team/app", "sha256:" + "4" * 64)
