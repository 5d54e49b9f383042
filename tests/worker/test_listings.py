"""Rebuilding the listing indexes from stored records, SBOMs and reports, over the in-memory stores.

An install older than the listings is simulated by wiping the listing stand-ins after the worker
analyzed its images; :func:`~shared.worker.listings.rebuild_listings` must bring every index back
exactly as the worker left it, and a second run must change nothing.
"""

from __future__ import annotations

import copy

from shared.images.model import PlatformRef
from shared.worker.listings import IncompleteImage, RepositoryRebuild, rebuild_listings
from tests.worker.test_process import Harness, harness, push  # noqa: F401 - the worker's harness fixture


def indexes(h: Harness) -> tuple[object, ...]:
    """Everything the listing stand-ins hold (the push order of MemoryImages is read from its records)."""
    pushed = {key: h.images.list_pushed(*key, 100).items for key in h.summaries.summaries}
    return copy.deepcopy((h.summaries.summaries, h.packages.filed, h.affected.filed, pushed))


def wipe(h: Harness) -> None:
    h.summaries.summaries.clear()
    h.packages.filed.clear()
    h.affected.filed.clear()


def test_a_rebuild_files_every_analyzed_image_again_and_a_second_changes_nothing(harness: Harness) -> None:  # noqa: F811
    host = harness.registry.host
    first = push(harness.registry, tag="a1", version="2.0.11", repository="team/rebuild-a")
    second = push(harness.registry, tag="a2", version="2.0.12", repository="team/rebuild-a")
    other = push(harness.registry, tag="b1", version="2.0.13", repository="team/rebuild-b")
    gone = push(harness.registry, tag="b2", version="2.0.14", repository="team/rebuild-b")
    for image, tag, repository in [(first, "a1", "team/rebuild-a"), (second, "a2", "team/rebuild-a"),
                                   (other, "b1", "team/rebuild-b"), (gone, "b2", "team/rebuild-b")]:
        assert harness.worker.process(harness.job("push", image, tag=tag, repository=repository)) == "analyzed"
    assert harness.worker.process(harness.job("delete", gone, repository="team/rebuild-b",
                                              event_time="2026-03-01T11:00:00.000000Z")) == "deleted"
    kept = indexes(harness)
    assert len(harness.packages.filed) == len(harness.affected.filed) == 3

    wipe(harness)
    assert harness.packages.find("requests", "pypi", 10).items == ()
    assert list(rebuild_listings(harness.worker)) == [RepositoryRebuild(host, "team/rebuild-a", 2),
                                                      RepositoryRebuild(host, "team/rebuild-b", 1)]
    assert indexes(harness) == kept
    assert (host, "team/rebuild-b", str(gone.digest)) not in harness.packages.filed

    assert list(rebuild_listings(harness.worker)) == [RepositoryRebuild(host, "team/rebuild-a", 2),
                                                      RepositoryRebuild(host, "team/rebuild-b", 1)]
    assert indexes(harness) == kept
    assert list(rebuild_listings(harness.worker, "other.example")) == []


def test_an_image_without_its_sbom_or_report_is_reported_and_the_rest_filed(harness: Harness) -> None:  # noqa: F811
    host = harness.registry.host
    broken = push(harness.registry, tag="x1", version="2.0.15", repository="team/rebuild-x")
    fine = push(harness.registry, tag="x2", version="2.0.16", repository="team/rebuild-x")
    for image, tag in [(broken, "x1"), (fine, "x2")]:
        assert harness.worker.process(harness.job("push", image, tag=tag, repository="team/rebuild-x")) == "analyzed"
    record = harness.images.get(host, "team/rebuild-x", str(broken.digest))
    assert record is not None
    platform = record.platforms[0].digest
    harness.sboms.delete(host, "team/rebuild-x", platform)
    harness.reports.delete(PlatformRef(host, "team/rebuild-x", platform))
    wipe(harness)

    (done,) = rebuild_listings(harness.worker)
    assert done == RepositoryRebuild(host, "team/rebuild-x", 1, (
        IncompleteImage(str(broken.digest), (f"SBOM of {platform}", f"report of {platform}")),))
    assert [o.digest for o in harness.packages.find("requests", "pypi", 10).items] == [str(fine.digest)]
    summary = harness.summaries.summaries[(host, "team/rebuild-x")]
    assert summary.images == 2
