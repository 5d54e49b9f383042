"""Image records and tag pointers on Azurite: keys, large values, out-of-order tag moves."""

from __future__ import annotations

import pytest

from shared.errors import InvalidInput
from shared.images.model import ImageRecord, PlatformRecord
from shared.registry.image import Layer
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
