"""Repository summaries over in-memory stores: how they are recomputed, and the listing across integrations."""

from __future__ import annotations

import pytest

from shared.api.paging import Continuations
from shared.api.repository_listing import list_repositories, refresh_repository
from shared.errors import InvalidContinuation, InvalidInput, NotFound
from shared.images.model import ImageRecord
from shared.integrations.model import Integration
from shared.secrets import generate_key
from testkit.memory_records import MemoryImages, MemoryIntegrations, MemorySummaries

FIRST, SECOND = "a.azurecr.io", "b.azurecr.io"


def digest(number: int) -> str:
    return f"sha256:{number:064x}"


def pushed(images: MemoryImages, registry: str, repository: str, number: int, status: str = "analyzed") -> None:
    images.put(ImageRecord(registry=registry, repository=repository, digest=digest(number), status=status,  # type: ignore[arg-type]
                           event_time=f"2026-01-{number:02d}T00:00:00.000000Z", vulnerabilities={"critical": 1, "low": 2},
                           fixable=1))


def test_a_summary_counts_live_images_and_shows_the_newest_with_its_tags() -> None:
    images, summaries = MemoryImages(), MemorySummaries()
    pushed(images, FIRST, "team/app", 1)
    pushed(images, FIRST, "team/app", 2, status="failed")
    pushed(images, FIRST, "team/app", 3, status="deleted")
    images.point_tag(FIRST, "team/app", "main", digest(2), "2026-01-02T00:00:00.000000Z")
    summary = refresh_repository(images, summaries, FIRST, "team/app")
    assert summary is not None and (summary.enabled, summary.images, summary.last_push) == (
        True, 2, "2026-01-02T00:00:00.000000Z")
    assert summary.latest is not None and (summary.latest.digest, summary.latest.status, summary.latest.tags) == (
        digest(2), "failed", ("main",))
    # Deactivated, it stays while it has images; without images and not activated it goes.
    assert refresh_repository(images, summaries, FIRST, "team/app", enabled=False) is not None
    assert refresh_repository(images, summaries, FIRST, "team/empty", enabled=False) is None
    assert (FIRST, "team/empty") not in summaries.summaries


@pytest.fixture
def world() -> tuple[MemoryIntegrations, MemorySummaries, Continuations]:
    integrations, images, summaries = MemoryIntegrations(), MemoryImages(), MemorySummaries()
    for identifier, registry in [("i2", SECOND), ("i1", FIRST)]:
        integrations.put(Integration(id=identifier, registry=registry, created="2026-01-01T00:00:00.000000Z",
                                     webhook_secret_encrypted="unused"))
    pushed(images, FIRST, "team/zeta", 1)
    pushed(images, FIRST, "team/alpha", 2)
    refresh_repository(images, summaries, FIRST, "team/zeta", enabled=True)
    refresh_repository(images, summaries, FIRST, "team/alpha", enabled=False)
    refresh_repository(images, summaries, FIRST, "team/new", enabled=True)
    pushed(images, SECOND, "other/app", 3)
    refresh_repository(images, summaries, SECOND, "other/app")
    return integrations, summaries, Continuations(generate_key())


def test_one_integration_lists_activated_repositories_first(world: tuple[MemoryIntegrations, MemorySummaries,
                                                                         Continuations]) -> None:
    integrations, summaries, tokens = world
    answer = list_repositories(integrations, summaries, tokens, "i1")
    assert [(r["repository"], r["enabled"], r["images"]) for r in answer["repositories"]] == [
        ("team/new", True, 0), ("team/zeta", True, 1), ("team/alpha", False, 1)]
    zeta = answer["repositories"][1]
    assert zeta["integration"] == "i1" and zeta["registry"] == FIRST and zeta["last_push"] == "2026-01-01T00:00:00.000000Z"
    assert zeta["latest"] == {"digest": digest(1), "tags": [], "status": "analyzed", "fixable": 1, "vulnerabilities": {
        "critical": 1, "high": 0, "medium": 0, "low": 2, "none": 0, "unknown": 0}}
    assert answer["repositories"][0]["latest"] is None and answer["continuation"] is None


def test_every_integration_a_page_at_a_time(world: tuple[MemoryIntegrations, MemorySummaries, Continuations]) -> None:
    integrations, summaries, tokens = world
    seen: list[tuple[str, str]] = []
    token = None
    for _ in range(10):
        answer = list_repositories(integrations, summaries, tokens, None, "1", token)
        seen += [(r["integration"], r["repository"]) for r in answer["repositories"]]
        token = answer["continuation"]
        if token is None:
            break
    assert seen == [("i1", "team/new"), ("i1", "team/zeta"), ("i1", "team/alpha"), ("i2", "other/app")]
    page = list_repositories(integrations, summaries, tokens, None, "2")
    with pytest.raises(InvalidContinuation):
        list_repositories(integrations, summaries, tokens, "i1", "2", page["continuation"])


def test_unknown_or_malformed_integrations(world: tuple[MemoryIntegrations, MemorySummaries, Continuations]) -> None:
    integrations, summaries, tokens = world
    with pytest.raises(NotFound):
        list_repositories(integrations, summaries, tokens, "nope")
    with pytest.raises(InvalidInput):
        list_repositories(integrations, summaries, tokens, "x" * 65)
