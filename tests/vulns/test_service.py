"""Importing feeds in the app: one result per feed, a failing feed reported without stopping the rest."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest

from shared.analysis.model import Package, PlatformAnalysis
from shared.errors import StorageUnavailable
from shared.images.model import ImageRecord, PlatformRecord, PlatformRef
from shared.vulns.index import MemoryIndex
from shared.vulns.service import PROGRESS_EVERY, Vulnerabilities, _chunks, refresh_due
from testkit.memory_records import MemoryAffected, MemoryImages, MemoryReports, MemorySboms, MemorySummaries
from tests.vulns.support import advisory, affected

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(("imported_at", "due"), [
    (None, True), ("", True), ("not a time", True),
    ("2026-06-01T08:00:00+00:00", False), ("2026-06-01T07:00:00Z", True), ("2026-05-31T12:00:00+00:00", True),
])
def test_an_import_is_due_unless_a_recent_one_happened(imported_at: str | None, due: bool) -> None:
    assert refresh_due(imported_at, NOW) is due


def write_records(root: Path, count: int) -> Path:
    root.mkdir()
    for number in range(count):
        record = {"id": f"PYSEC-2026-{number}", "modified": "2026-01-01T00:00:00Z",
                  "affected": [{"package": {"ecosystem": "PyPI", "name": f"pkg{number}"}, "versions": ["1.0"]}]}
        (root / f"PYSEC-2026-{number}.json").write_text(json.dumps(record))
    return root


def test_each_feed_is_imported_and_a_bad_one_is_reported_without_stopping_the_others(tmp_path: Path) -> None:
    sboms, images = MemorySboms(), MemoryImages()
    mirror = MemoryIndex()
    service = Vulnerabilities(source=mirror, reports=MemoryReports(), sboms=sboms, images=images,
                              affected=MemoryAffected(), summaries=MemorySummaries())
    seen: list[tuple[str, int]] = []
    good = write_records(tmp_path / "good", PROGRESS_EVERY + 5)
    done = service.import_feeds(mirror, [str(tmp_path / "missing"), str(good)],
                                progress=lambda name, count: seen.append((name, count)))
    assert [d.source for d in done] == [str(tmp_path / "missing"), str(good)]
    assert done[0].result is None and done[0].error and "neither a directory nor a file" in done[0].error
    assert "failed after" in done[0].summary()
    assert done[1].result is not None and done[1].result.added == PROGRESS_EVERY + 5 and done[1].error is None
    assert done[1].summary().startswith(f"{good}: {PROGRESS_EVERY + 5} added, 0 updated")
    assert seen == [(str(good), PROGRESS_EVERY), (str(good), PROGRESS_EVERY + 5)]
    again = service.import_feeds(mirror, [str(good)])
    assert again[0].result is not None and again[0].result.changed == 0


REGISTRY = "r.example"


@dataclass
class CountingImages(MemoryImages):
    """Image records in memory that count their writes, and fail them while ``failing``."""

    writes: int = 0
    failing: bool = False

    def put(self, record: ImageRecord) -> None:
        if self.failing:
            raise StorageUnavailable("storage unavailable while trying to save an image")
        self.writes += 1
        super().put(record)


def _service(index: MemoryIndex) -> tuple[Vulnerabilities, CountingImages]:
    images = CountingImages()
    return Vulnerabilities(source=index, reports=MemoryReports(), sboms=MemorySboms(), images=images,
                           affected=MemoryAffected(), summaries=MemorySummaries(), concurrency=4), images


def _analyzed(service: Vulnerabilities, repository: str, number: int, *packages: tuple[str, str]) -> PlatformRef:
    """Store an analyzed single-platform image holding PyPI ``packages`` as the worker leaves it."""
    digest = f"sha256:{number:064x}"
    analysis = PlatformAnalysis(platform="linux/amd64", digest=digest, os=None, problems=(), packages=tuple(
        Package(type="pypi", name=name, version=version, purl=f"pkg:pypi/{name}@{version}", layer=digest,
                path=f"/site-packages/{name}", cataloger="python") for name, version in packages))
    ref = PlatformRef(REGISTRY, repository, digest)
    service.sboms.put(REGISTRY, repository, analysis, "2026-01-01T00:00:00Z")
    report = service.match_and_store(service.matcher(), ref, analysis)
    bare = ImageRecord(registry=REGISTRY, repository=repository, digest=digest, status="analyzed",
                       platforms=(PlatformRecord(digest, "linux", "amd64"),))
    record = service.refresh_record(bare, {ref: report})
    service.images.put(record)
    service.file_image(record, {ref: report})
    return ref


def _ids(service: Vulnerabilities, ref: PlatformRef) -> set[str]:
    report = service.reports.get(ref)
    assert report is not None
    return {f["id"] for f in report["findings"]}


def test_a_rematch_writes_only_the_reports_and_records_that_changed() -> None:
    index = MemoryIndex()
    index.import_records([advisory("PYSEC-1", affected("PyPI", "alpha", ("introduced", "0"), ("fixed", "1.1")))])
    service, images = _service(index)
    one = _analyzed(service, "team/one", 1, ("alpha", "1.0"), ("beta", "1.0"))
    two = _analyzed(service, "team/two", 2, ("beta", "1.0"))
    writes = images.writes

    _, rematched = service.import_and_rematch(index, [advisory("PYSEC-2", affected("PyPI", "beta", ("introduced", "0")))])
    assert rematched.platforms_checked == 2
    assert sorted(rematched.images_changed) == [f"{REGISTRY}/team/one@{one.digest}", f"{REGISTRY}/team/two@{two.digest}"]
    assert (_ids(service, one), _ids(service, two)) == ({"PYSEC-1", "PYSEC-2"}, {"PYSEC-2"})
    record = images.get(REGISTRY, "team/two", two.digest)
    assert record is not None and record.vulnerabilities["unknown"] == 1 and images.writes == writes + 2
    assert service.affected.summary("PYSEC-2") is not None and service.affected.summary("PYSEC-2").images == 2  # type: ignore[union-attr]

    # A new record for alpha that affects no installed version: one SBOM matched again, nothing written.
    before, writes = service.reports.get(one), images.writes
    _, rematched = service.import_and_rematch(index, [advisory("PYSEC-3", affected("PyPI", "alpha", ("introduced", "2.0")))])
    assert (rematched.platforms_checked, rematched.images_changed) == (1, ())
    assert service.reports.get(one) == before  # its "matched" time too: not written again
    assert images.writes == writes

    # A new summary for PYSEC-2: both reports say something new, no count changed: no record written.
    reworded = advisory("PYSEC-2", affected("PyPI", "beta", ("introduced", "0")), summary="reworded",
                        modified="2025-01-01T00:00:00Z")
    _, rematched = service.import_and_rematch(index, [reworded])
    assert (rematched.platforms_checked, rematched.images_changed, images.writes) == (2, (), writes)
    report = service.reports.get(two)
    assert report is not None and [f["summary"] for f in report["findings"]] == ["reworded"]


def test_a_rematch_stopped_partway_leaves_the_reports_and_the_next_one_finishes() -> None:
    index = MemoryIndex()
    service, images = _service(index)
    one = _analyzed(service, "team/one", 1, ("beta", "1.0"))
    two = _analyzed(service, "team/one", 2, ("beta", "1.0"), ("gamma", "1.0"))

    images.failing = True
    result = index.import_records([advisory("PYSEC-2", affected("PyPI", "beta", ("introduced", "0")))])
    with pytest.raises(StorageUnavailable):
        service.rematch(result.changed_keys)
    assert (_ids(service, one), _ids(service, two)) == (set(), set())  # reports left as they were
    assert service.affected.summary("PYSEC-2") is None

    images.failing = False
    rematched = service.rematch(result.changed_keys)
    assert len(rematched.images_changed) == 2
    assert (_ids(service, one), _ids(service, two)) == ({"PYSEC-2"}, {"PYSEC-2"})
    assert all(r.vulnerabilities["unknown"] == 1 for r in images.list_repository(REGISTRY, "team/one"))
    assert service.affected.summary("PYSEC-2").images == 2  # type: ignore[union-attr]


def test_refs_go_in_chunks_of_whole_repositories_and_a_large_repository_is_cut() -> None:
    refs = sorted([PlatformRef(REGISTRY, "a", f"sha256:{n}") for n in range(3)]
                  + [PlatformRef(REGISTRY, "b", f"sha256:{n}") for n in range(5)]
                  + [PlatformRef(REGISTRY, "c", "sha256:0")])
    chunks = list(_chunks(refs, 4))
    assert [len(chunk) for chunk in chunks] == [3, 4, 2]
    assert [ref for chunk in chunks for ref in chunk] == refs
    assert {r.repository for r in chunks[0]} == {"a"} and {r.repository for r in chunks[2]} == {"b", "c"}
    assert list(_chunks(refs, 100)) == [refs] and list(_chunks([], 4)) == []


def test_an_image_whose_platforms_fall_in_two_chunks_ends_up_with_both_reports_counted(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shared.vulns.service.REMATCH_CHUNK", 1)
    index = MemoryIndex()
    service, images = _service(index)
    digest = "sha256:" + "a" * 64
    platforms = []
    for number, arch in enumerate(("amd64", "arm64")):
        platform_digest = f"sha256:{number + 10:064x}"
        analysis = PlatformAnalysis(platform=f"linux/{arch}", digest=platform_digest, os=None, problems=(), packages=(
            Package(type="pypi", name="beta", version="1.0", purl="pkg:pypi/beta@1.0", layer=platform_digest,
                    path="/site-packages/beta", cataloger="python"),))
        service.sboms.put(REGISTRY, "team/multi", analysis, "2026-01-01T00:00:00Z")
        service.match_and_store(service.matcher(), PlatformRef(REGISTRY, "team/multi", platform_digest), analysis)
        platforms.append(PlatformRecord(platform_digest, "linux", arch))
    record = service.refresh_record(ImageRecord(registry=REGISTRY, repository="team/multi", digest=digest,
                                                status="analyzed", platforms=tuple(platforms)))
    images.put(record)
    assert record.vulnerabilities["unknown"] == 0

    _, rematched = service.import_and_rematch(index, [advisory("PYSEC-2", affected("PyPI", "beta", ("introduced", "0")))])
    assert rematched.platforms_checked == 2
    stored = images.get(REGISTRY, "team/multi", digest)
    assert stored is not None and stored.vulnerabilities["unknown"] == 1  # one finding, on both platforms
    assert [p.vulnerabilities["unknown"] for p in stored.platforms] == [1, 1]
    assert service.affected.summary("PYSEC-2").images == 1  # type: ignore[union-attr]
