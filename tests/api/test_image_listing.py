"""Listing a repository's images over in-memory stores: newest first, live only, tags, paging, validation."""

from __future__ import annotations

import pytest

from shared.api.image_listing import list_images
from shared.api.paging import Continuations
from shared.errors import InvalidContinuation, InvalidInput
from shared.images.model import ImageRecord
from shared.secrets import generate_key
from testkit.memory_records import MemoryImages

REGISTRY = "myregistry.azurecr.io"


def digest(number: int) -> str:
    return f"sha256:{number:064x}"


@pytest.fixture
def images() -> MemoryImages:
    store = MemoryImages()
    for number in range(1, 4):
        store.put(ImageRecord(registry=REGISTRY, repository="team/app", digest=digest(number), status="analyzed",
                              event_time=f"2026-01-0{number}T00:00:00.000000Z", vulnerabilities={"high": number}))
    store.put(ImageRecord(registry=REGISTRY, repository="team/app", digest=digest(9), status="deleted",
                          event_time="2026-02-01T00:00:00.000000Z"))
    store.put(ImageRecord(registry=REGISTRY, repository="team/other", digest=digest(8), status="analyzed"))
    store.point_tag(REGISTRY, "team/app", "latest", digest(3), "2026-01-03T00:00:00.000000Z")
    store.point_tag(REGISTRY, "team/app", "1.0", digest(1), "2026-01-01T00:00:00.000000Z")
    return store


def test_live_images_newest_first_with_tags_a_page_at_a_time(images: MemoryImages) -> None:
    tokens = Continuations(generate_key())
    first = list_images(images, tokens, "MyRegistry.azurecr.io", "team/app", "2")
    assert [(i["digest"], i["tags"]) for i in first["images"]] == [(digest(3), ["latest"]), (digest(2), [])]
    assert first["images"][0]["vulnerabilities"] == {"high": 3} and first["images"][0]["platforms"] == []
    rest = list_images(images, tokens, REGISTRY, "team/app", "2", first["continuation"])
    assert [(i["digest"], i["tags"]) for i in rest["images"]] == [(digest(1), ["1.0"])]
    assert rest["continuation"] is None
    everything = list_images(images, tokens, REGISTRY, "team/app")
    assert len(everything["images"]) == 3 and everything["continuation"] is None
    with pytest.raises(InvalidContinuation):
        list_images(images, tokens, REGISTRY, "team/other", "2", first["continuation"])


@pytest.mark.parametrize(("registry", "repository", "limit"), [
    ("", "team/app", None), ("https://r.example", "team/app", None), ("r.example", None, None),
    ("r.example", "Team/App", None), ("r.example", "team/app", "0"), ("r.example", "team/app", "abc")])
def test_inputs_are_validated(images: MemoryImages, registry: str, repository: str | None, limit: str | None) -> None:
    with pytest.raises(InvalidInput):
        list_images(images, Continuations(generate_key()), registry, repository, limit)
