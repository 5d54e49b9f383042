"""Repository summaries on Azurite: ETag-checked updates under concurrency, activated-first paging, purge."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from shared.errors import InvalidContinuation
from shared.images.listing import LatestImage, RepositorySummary
from shared.wiring import Services

REGISTRY = "r.example"


def summary(repository: str, enabled: bool, images: int = 0) -> RepositorySummary:
    latest = LatestImage("sha256:" + "a" * 64, "analyzed", "2026-01-01T00:00:00.000000Z", ("1.0",),
                         {"critical": 1}, 1) if images else None
    return RepositorySummary(REGISTRY, repository, enabled, images, latest)


def test_updates_store_what_the_change_makes_and_none_removes(svc: Services) -> None:
    stored = svc.summaries.update(REGISTRY, "team/app", lambda current: summary("team/app", True, 2))
    assert stored == summary("team/app", True, 2)
    seen: list[RepositorySummary | None] = []

    def disable(current: RepositorySummary | None) -> RepositorySummary | None:
        seen.append(current)
        return replace(current, enabled=False) if current else None

    assert svc.summaries.update(REGISTRY, "team/app", disable) == summary("team/app", False, 2)
    assert seen == [summary("team/app", True, 2)]
    assert svc.summaries.update(REGISTRY, "team/app", lambda current: None) is None
    assert svc.summaries.list(REGISTRY, 10).items == ()


def test_concurrent_updates_all_count(svc: Services) -> None:
    def bump(_: int) -> None:
        svc.summaries.update(REGISTRY, "team/busy", lambda c: replace(c, images=c.images + 1) if c
                             else summary("team/busy", True, 0))

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(bump, range(13)))
    (only,) = svc.summaries.list(REGISTRY, 10).items
    assert only.images == 12  # the first update created it with 0


def test_listing_shows_activated_repositories_first_by_name_a_page_at_a_time(svc: Services) -> None:
    for name, enabled in [("b/two", True), ("a/one", False), ("c/three", True), ("d/four", False), ("a/zero", True)]:
        svc.summaries.update(REGISTRY, name, lambda _, n=name, e=enabled: summary(n, e, 1))  # type: ignore[misc]
    svc.summaries.update("other.example", "a/one", lambda _: replace(summary("a/one", True), registry="other.example"))
    seen: list[str] = []
    cursor = None
    while True:
        page = svc.summaries.list(REGISTRY, 2, cursor)
        seen += [s.repository for s in page.items]
        if page.cursor is None:
            break
        cursor = page.cursor
    assert seen == ["a/zero", "b/two", "c/three", "a/one", "d/four"]
    assert [s.latest.tags for s in svc.summaries.list(REGISTRY, 1).items if s.latest] == [("1.0",)]
    with pytest.raises(InvalidContinuation):
        svc.summaries.list(REGISTRY, 2, '["nowhere", "x"]')
    svc.summaries.purge_registry(REGISTRY)
    assert svc.summaries.list(REGISTRY, 10).items == ()
    assert len(svc.summaries.list("other.example", 10).items) == 1
