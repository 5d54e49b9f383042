"""Image records and tag pointers on Azurite: keys, large values, out-of-order tag moves."""

from __future__ import annotations

from dataclasses import replace

import pytest
from azure.data.tables import UpdateMode

from shared.errors import InvalidInput
from shared.images.model import ImageRecord, PlatformRecord
from shared.registry.image import Layer
from shared.store import image_records
from shared.store.azure import Tables
from shared.store.keys import decode_key, encode_key
from shared.wiring import Services

DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64


def test_keys_round_trip_forbidden_characters() -> None:
    for name in ["team/app", "a#b?c\\d", "ünïcode/x", "%2F"]:
        key = encode_key(name)
        assert not any(c in key for c in "/\\#?")
        assert decode_key(key) == name
    with pytest.raises(InvalidInput):
        encode_key("x" * 2000)


def test_large_platform_list_is_chunked_and_read_back(svc: Services) -> None:
    layers = tuple(Layer(f"sha256:{i:064x}", i, "application/vnd.oci.image.layer.v1.tar+gzip", f"sha256:{i:064x}")
                   for i in range(400))
    platforms = tuple(PlatformRecord(digest=f"sha256:{p:064x}", os="linux", architecture=f"arch{p}", layers=layers,
                                    labels={"org.opencontainers.image.source": "x" * 500}) for p in range(3))
    record = ImageRecord(registry="r.example", repository="team/app", digest=DIGEST_A, status="analyzed",
                         platforms=platforms, event_time="2026-01-01T00:00:00.000000Z")
    svc.images.put(record)
    assert svc.images.get("r.example", "team/app", DIGEST_A) == record
    smaller = ImageRecord(registry="r.example", repository="team/app", digest=DIGEST_A, status="failed",
                          error_code="denied", error="no")
    svc.images.put(smaller)  # replacing drops the old chunks
    assert svc.images.get("r.example", "team/app", DIGEST_A) == smaller


def test_tag_moves_only_forward_in_event_time(svc: Services) -> None:
    assert svc.images.point_tag("r.example", "team/app", "latest", DIGEST_A, "2026-01-01T00:00:02.000000Z")
    assert not svc.images.point_tag("r.example", "team/app", "latest", DIGEST_B, "2026-01-01T00:00:01.000000Z")
    assert svc.images.get_tag("r.example", "team/app", "latest").digest == DIGEST_A  # type: ignore[union-attr]
    assert svc.images.point_tag("r.example", "team/app", "latest", DIGEST_B, "2026-01-01T00:00:03.000000Z")
    tag = svc.images.get_tag("r.example", "team/app", "latest")
    assert tag is not None and tag.digest == DIGEST_B
    assert tag.history[0]["digest"] == DIGEST_A
    assert svc.images.tags_of("r.example", "team/app", DIGEST_B) == ["latest"]
    svc.images.drop_tags("r.example", "team/app", DIGEST_B)
    assert svc.images.get_tag("r.example", "team/app", "latest") is None


def record(digest: str, pushed: str, status: str = "analyzed", repository: str = "team/order") -> ImageRecord:
    return ImageRecord(registry="r.example", repository=repository, digest=digest, status=status,  # type: ignore[arg-type]
                       event_time=pushed)


def test_live_images_are_listed_newest_push_first_and_keep_their_place(svc: Services) -> None:
    digests = [f"sha256:{n:064x}" for n in range(5)]
    for number, digest in enumerate(digests):
        svc.images.put(record(digest, f"2026-01-0{number + 1}T00:00:00.000000Z"))
    svc.images.put(record("sha256:" + "f" * 64, "2026-02-01T00:00:00.000000Z", status="deleted"))
    # Analyzed again later (another event), the oldest image keeps the place of its first push.
    svc.images.put(record(digests[0], "2026-03-01T00:00:00.000000Z", status="failed"))
    pages, cursor = [], None
    while True:
        page = svc.images.list_pushed("r.example", "team/order", 2, cursor)
        pages.append([r.digest for r in page.items])
        if page.cursor is None:
            break
        cursor = page.cursor
    assert pages == [[digests[4], digests[3]], [digests[2], digests[1]], [digests[0]]]
    assert svc.images.list_pushed("r.example", "team/order", 10).items[-1].status == "failed"
    assert svc.images.count_live("r.example", "team/order") == 5
    svc.images.put(record(digests[4], "2026-04-01T00:00:00.000000Z", status="deleted"))
    assert [r.digest for r in svc.images.list_pushed("r.example", "team/order", 1).items] == [digests[3]]
    assert svc.images.count_live("r.example", "team/order") == 4
    # Pushed again after its delete, it is the newest once more.
    svc.images.put(record(digests[4], "2026-05-01T00:00:00.000000Z"))
    assert [r.digest for r in svc.images.list_pushed("r.example", "team/order", 1).items] == [digests[4]]
    svc.images.purge_registry("r.example")
    assert svc.images.list_pushed("r.example", "team/order", 10).items == ()


def test_the_tags_of_a_digest_follow_the_pointers(svc: Services) -> None:
    svc.images.point_tag("r.example", "team/app", "1.0", DIGEST_A, "2026-01-01T00:00:01.000000Z")
    svc.images.point_tag("r.example", "team/app", "latest", DIGEST_A, "2026-01-01T00:00:01.000000Z")
    svc.images.point_tag("r.example", "team/app", "latest", DIGEST_B, "2026-01-01T00:00:02.000000Z")
    assert svc.images.tags_for("r.example", "team/app", [DIGEST_A, DIGEST_B, "sha256:" + "c" * 64]) == {
        DIGEST_A: ["1.0"], DIGEST_B: ["latest"], "sha256:" + "c" * 64: []}
    svc.images.drop_tags("r.example", "team/app", DIGEST_A)
    assert svc.images.tags_of("r.example", "team/app", DIGEST_A) == []
    assert svc.images.get_tag("r.example", "team/app", "1.0") is None
    assert svc.images.tags_of("r.example", "team/app", DIGEST_B) == ["latest"]


@pytest.mark.parametrize("one_read", [1000, 2])
def test_the_tags_of_many_digests_in_one_read_or_one_range_each(svc: Services, monkeypatch: pytest.MonkeyPatch,
                                                                  one_read: int) -> None:
    monkeypatch.setattr(image_records, "ONE_READ_ROWS", one_read)
    digests = [f"sha256:{n:064x}" for n in range(7)]
    for number, digest in enumerate(digests[:6]):
        svc.images.point_tag("r.example", "team/many", f"v{number}", digest, "2026-01-01T00:00:00.000000Z")
    svc.images.point_tag("r.example", "team/many", "latest", digests[5], "2026-01-01T00:00:01.000000Z")
    svc.images.point_tag("r.example", "team/many", "sha256", digests[0], "2026-01-01T00:00:00.000000Z")
    found = svc.images.tags_for("r.example", "team/many", digests)
    assert found == {**{d: [f"v{n}"] for n, d in enumerate(digests[:6])}, digests[0]: ["sha256", "v0"],
                     digests[5]: ["latest", "v5"], digests[6]: []}


def test_analyzed_records_are_streamed_a_page_at_a_time_repository_by_repository(
        svc: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(image_records, "SCAN_PAGE_ROWS", 2)
    for repository in ("team/one", "team/two"):
        for n in range(3):
            svc.images.put(record(f"sha256:{n:064x}", "2026-01-01T00:00:00.000000Z", repository=repository))
    svc.images.put(record("sha256:" + "e" * 64, "2026-01-02T00:00:00.000000Z", status="failed", repository="team/one"))
    svc.images.put(record("sha256:" + "f" * 64, "2026-01-02T00:00:00.000000Z", status="deleted", repository="team/two"))
    svc.images.put(ImageRecord(registry="s.example", repository="team/one", digest=DIGEST_A, status="analyzed"))
    found = [(r.registry, r.repository, r.digest) for r in svc.images.iter_analyzed("r.example")]
    assert found == [("r.example", repository, f"sha256:{n:064x}") for repository in ("team/one", "team/two")
                     for n in range(3)]
    assert len(list(svc.images.iter_analyzed())) == 7


def test_a_record_from_before_the_listings_is_listed_again_once(svc: Services) -> None:
    tables = Tables(svc.settings.storage, svc.settings.table_prefix)
    older = record(DIGEST_A, "2026-01-01T00:00:00.000000Z", repository="team/old")
    newer = record(DIGEST_B, "2026-01-02T00:00:00.000000Z", repository="team/old")
    for image, tag in [(older, "1.0"), (newer, "2.0")]:
        svc.images.put(image)
        svc.images.point_tag("r.example", "team/old", tag, image.digest, image.event_time)
    # What an older Lookout left: no push order, no listed_as on the record, no tag rows under the digests.
    partition = image_records.repository_partition("r.example", "team/old")
    pushed, tags, images = tables.table("imagesbypush"), tables.table("tags"), tables.table("images")
    for row in list(pushed.query_entities("PartitionKey eq @pk", parameters={"pk": partition})):
        pushed.delete_entity(partition, row["RowKey"])
    for image in (older, newer):
        tags.delete_entity(partition, image_records.digest_tag_key(image.digest, "1.0" if image is older else "2.0"))
        entity = images.get_entity(partition, image.digest)
        del entity["listed_as"]
        images.upsert_entity(entity, mode=UpdateMode.REPLACE)
    assert svc.images.list_pushed("r.example", "team/old", 10).items == ()
    assert svc.images.tags_for("r.example", "team/old", [DIGEST_A]) == {DIGEST_A: []}

    for _ in range(2):
        assert svc.images.relist("r.example", "team/old", DIGEST_B) == newer
        assert svc.images.relist("r.example", "team/old", DIGEST_A) == older
        assert [r.digest for r in svc.images.list_pushed("r.example", "team/old", 10).items] == [DIGEST_B, DIGEST_A]
        assert svc.images.tags_for("r.example", "team/old", [DIGEST_A, DIGEST_B]) == {DIGEST_A: ["1.0"],
                                                                                       DIGEST_B: ["2.0"]}
        assert svc.images.count_live("r.example", "team/old") == 2
    # Its place is now on the record: a later write keeps it.
    svc.images.put(replace(older, status="failed"))
    assert [r.digest for r in svc.images.list_pushed("r.example", "team/old", 10).items] == [DIGEST_B, DIGEST_A]
    svc.images.put(replace(older, status="deleted"))
    assert svc.images.relist("r.example", "team/old", DIGEST_A) is None
    assert svc.images.relist("r.example", "team/old", "sha256:" + "c" * 64) is None
    assert svc.images.count_live("r.example", "team/old") == 1
