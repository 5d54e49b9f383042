"""The VEX service over in-memory stores: an import suppresses findings of the analyzed images in its scope
through the re-match, a re-match keeps them suppressed, a removal lifts the suppression."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from shared.errors import InvalidInput, NotFound
from shared.images.model import ImageRecord, PlatformRecord, PlatformRef
from shared.integrations.model import Integration
from shared.registry.image import PlatformImage
from shared.vex.errors import InvalidVex
from shared.vex.model import ImportedVex
from shared.vex.service import VexService
from shared.vulns.packages import PackageKey
from shared.vulns.service import Vulnerabilities
from testkit.memory_records import (
    MemoryAffected,
    MemoryImages,
    MemoryIntegrations,
    MemoryReports,
    MemorySboms,
    MemorySummaries,
    MemoryVex,
)
from tests.vex.support import DIGEST, REGISTRY, REPOSITORY, advisories, analysis, encoded, fixture

REF = PlatformRef(REGISTRY, REPOSITORY, DIGEST)


@dataclass
class World:
    service: VexService
    vulnerabilities: Vulnerabilities
    images: MemoryImages
    reports: MemoryReports

    def record(self) -> ImageRecord:
        found = self.images.get(REGISTRY, REPOSITORY, DIGEST)
        assert found is not None
        return found

    def suppressed(self) -> dict[str, str]:
        report = self.reports.get(REF)
        assert report is not None
        return {f["id"]: f["suppressed"]["status"] for f in report["findings"] if "suppressed" in f}


@pytest.fixture
def world() -> World:
    images, reports, sboms = MemoryImages(), MemoryReports(), MemorySboms()
    integrations = MemoryIntegrations()
    integrations.put(Integration(id="int1", registry=REGISTRY, created="2026-01-01T00:00:00Z",
                                 webhook_secret_encrypted="x"))
    vex = MemoryVex()
    vulnerabilities = Vulnerabilities(source=advisories(), reports=reports, sboms=sboms, images=images,
                                      affected=MemoryAffected(), summaries=MemorySummaries(), vex=vex)
    platform = analysis()
    sboms.put(REGISTRY, REPOSITORY, platform, "2026-03-01T00:00:00Z")
    stored = vulnerabilities.match_and_store(vulnerabilities.matcher(), REF, platform, image_digest=DIGEST)
    record = ImageRecord(registry=REGISTRY, repository=REPOSITORY, digest=DIGEST, status="analyzed",
                         platforms=(PlatformRecord.of(PlatformImage(DIGEST, "linux", "amd64")),))
    images.put(vulnerabilities.refresh_record(record, {REF: stored}))
    service = VexService(records=vex, integrations=integrations, images=images, reports=reports,
                         vulnerabilities=vulnerabilities)
    return World(service, vulnerabilities, images, reports)


def test_an_import_suppresses_through_the_rematch_and_a_removal_lifts_it(world: World) -> None:
    assert world.record().vulnerabilities == {"critical": 1, "high": 1, "medium": 0, "low": 0, "unknown": 1}
    change = world.service.import_document(world.service.scope("int1", REPOSITORY), encoded(fixture("cyclonedx.json")),
                                           "app.cdx.json")
    assert change.rematch.platforms_checked == 1  # only the SBOMs naming requests or lodash
    assert world.suppressed() == {"CVE-2099-1001": "false_positive", "CVE-2099-2002": "not_affected"}
    assert world.record().vulnerabilities == {"critical": 0, "high": 0, "medium": 0, "low": 0, "unknown": 1}
    assert (world.record().fixable, world.record().platforms[0].fixable) == (0, 0)

    world.vulnerabilities.rematch({PackageKey.of("PyPI", "requests")})  # an advisory update: still suppressed
    assert world.suppressed() == {"CVE-2099-1001": "false_positive", "CVE-2099-2002": "not_affected"}

    (listed,) = world.service.list_documents("int1")
    assert listed == change.vex and listed.scope.label == f"repository {REGISTRY}/{REPOSITORY}"
    again = world.service.import_document(change.vex.scope, encoded(fixture("cyclonedx.json")), "again.json")
    assert again.vex.id == change.vex.id and len(world.service.list_documents()) == 1  # replaced, not doubled

    world.service.remove("int1", change.vex.id)
    assert world.suppressed() == {}
    assert world.record().vulnerabilities == {"critical": 1, "high": 1, "medium": 0, "low": 0, "unknown": 1}
    assert world.service.list_documents() == []


def test_an_image_scope_covers_only_that_image(world: World) -> None:
    scope = world.service.scope("int1", REPOSITORY, DIGEST)
    world.service.import_document(scope, encoded(fixture("openvex.json")), "app.vex.json")
    assert world.suppressed() == {"CVE-2099-1001": "not_affected"}
    other = world.service.scope("int1", REPOSITORY, "sha256:" + "9" * 64)
    world.service.import_document(other, encoded(fixture("cyclonedx.json")), "other.json")
    assert world.suppressed() == {"CVE-2099-1001": "not_affected"}


def test_an_invalid_document_or_scope_stores_nothing(world: World) -> None:
    bad = fixture("openvex.json")
    bad["statements"][1]["status"] = "maybe"
    with pytest.raises(InvalidVex, match=r"^statements\[1\]\.status: 'maybe' is not one of"):
        world.service.import_document(world.service.scope("int1"), encoded(bad), "bad.json")
    assert world.service.list_documents() == [] and world.suppressed() == {}
    with pytest.raises(NotFound):
        world.service.scope("nosuch")
    with pytest.raises(InvalidInput, match="needs its repository"):
        world.service.scope("int1", None, DIGEST)
    with pytest.raises(InvalidInput):
        world.service.scope("int1", REPOSITORY, "sha256:short")
    with pytest.raises(InvalidInput):
        world.service.scope("int1", "Team/App")
    with pytest.raises(NotFound):
        world.service.remove("int1", "nosuch")


@dataclass
class CountingVex(MemoryVex):
    """The in-memory documents, counting the reads of a repository's documents."""

    reads: int = 0

    def for_repository(self, registry: str, repository: str) -> list[ImportedVex]:
        self.reads += 1
        return super().for_repository(registry, repository)


def test_a_rematch_reads_each_repositorys_documents_once(world: World) -> None:
    world.service.import_document(world.service.scope("int1", REPOSITORY), encoded(fixture("openvex.json")),
                                  "app.vex.json")
    vex = CountingVex(documents=dict(world.service.records.documents))  # type: ignore[attr-defined]
    counting = replace(world.vulnerabilities, vex=vex)
    matcher = counting.matcher()
    for n in range(5):  # five more platforms of the repository, each naming the same packages
        platform = replace(analysis(), digest=f"sha256:{n:064d}")
        world.vulnerabilities.sboms.put(REGISTRY, REPOSITORY, platform, "2026-03-01T00:00:00Z")
        counting.match_and_store(matcher, PlatformRef(REGISTRY, REPOSITORY, platform.digest), platform)
    vex.reads = 0
    done = counting.rematch({PackageKey.of("PyPI", "requests")})
    assert done.platforms_checked == 6 and vex.reads == 1
    assert world.suppressed() == {"CVE-2099-1001": "not_affected"}
