"""The data model: manifests and indexes parsed from real-shaped JSON."""

from __future__ import annotations

import json

import pytest

from shared.registry import Descriptor, Digest, InvalidManifest, Manifest, Platform, is_attestation, mediatypes

D1, D2, D3, D4 = (f"sha256:{c * 64}" for c in "1234")

INDEX = {
    "schemaVersion": 2,
    "mediaType": mediatypes.OCI_INDEX,
    "manifests": [
        {"mediaType": mediatypes.OCI_MANIFEST, "digest": D1, "size": 500, "platform": {"architecture": "amd64", "os": "linux"}},
        {
            "mediaType": mediatypes.OCI_MANIFEST,
            "digest": D2,
            "size": 501,
            "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"},
        },
        {
            "mediaType": mediatypes.OCI_MANIFEST,
            "digest": D3,
            "size": 840,
            "platform": {"architecture": "unknown", "os": "unknown"},
            "annotations": {"vnd.docker.reference.digest": D1, "vnd.docker.reference.type": "attestation-manifest"},
        },
    ],
}

IMAGE = {
    "schemaVersion": 2,
    "mediaType": mediatypes.DOCKER_MANIFEST,
    "config": {"mediaType": mediatypes.DOCKER_CONFIG, "digest": D1, "size": 1469},
    "layers": [
        {"mediaType": mediatypes.DOCKER_LAYER_GZIP, "digest": D2, "size": 3_000_000},
        {"mediaType": mediatypes.DOCKER_LAYER_GZIP, "digest": D3, "size": 32},
    ],
}


def test_index_children_and_attestations() -> None:
    raw = json.dumps(INDEX).encode()
    manifest = Manifest.parse(raw)
    assert manifest.is_index
    assert manifest.digest == Digest.of(raw)
    assert manifest.size == len(raw)
    children = manifest.children()
    assert [str(c.platform) for c in children] == ["linux/amd64", "linux/arm64/v8", "unknown/unknown"]
    assert [is_attestation(c) for c in children] == [False, False, True]
    with pytest.raises(InvalidManifest):
        _ = manifest.config


def test_attestation_by_platform_alone() -> None:
    descriptor = Descriptor(mediatypes.OCI_MANIFEST, Digest(D1), 1, Platform("unknown", "unknown"))
    assert is_attestation(descriptor)
    assert not is_attestation(Descriptor(mediatypes.OCI_MANIFEST, Digest(D1), 1, Platform("linux", "amd64")))


def test_image_manifest_config_and_layers() -> None:
    manifest = Manifest.parse(json.dumps(IMAGE).encode())
    assert not manifest.is_index
    assert manifest.media_type == mediatypes.DOCKER_MANIFEST
    assert manifest.config == Descriptor(mediatypes.DOCKER_CONFIG, Digest(D1), 1469)
    assert [(layer.digest.value, layer.size) for layer in manifest.layers] == [(D2, 3_000_000), (D3, 32)]
    with pytest.raises(InvalidManifest):
        manifest.children()


def test_media_type_from_content_type_or_shape() -> None:
    document = {key: value for key, value in IMAGE.items() if key != "mediaType"}
    raw = json.dumps(document).encode()
    with_header = Manifest.parse(raw, content_type=f"{mediatypes.DOCKER_MANIFEST}; charset=utf-8")
    assert with_header.media_type == mediatypes.DOCKER_MANIFEST
    assert Manifest.parse(raw, content_type="application/json").media_type == mediatypes.OCI_MANIFEST
    index = {key: value for key, value in INDEX.items() if key != "mediaType"}
    assert Manifest.parse(json.dumps(index).encode()).is_index


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1, 2]",
        json.dumps({"mediaType": "application/vnd.example+json", "config": {}, "layers": []}).encode(),
        json.dumps({**IMAGE, "layers": [{"mediaType": "x", "digest": "md5:00", "size": 1}]}).encode(),
        json.dumps({**IMAGE, "layers": [{"mediaType": "x", "digest": D1, "size": -1}]}).encode(),
        json.dumps({**IMAGE, "config": "nope"}).encode(),
        json.dumps({**INDEX, "manifests": [{"mediaType": "x", "digest": D1, "size": 1, "platform": {"os": "linux"}}]}).encode(),
    ],
)
def test_malformed_manifests(raw: bytes) -> None:
    with pytest.raises(InvalidManifest) as raised:
        Manifest.parse(raw)
    assert not raised.value.temporary


def test_platform_parse_and_render() -> None:
    assert Platform.parse("linux/arm/v7") == Platform("linux", "arm", "v7")
    assert str(Platform("windows", "amd64")) == "windows/amd64"
    assert Platform("linux", "arm64", "v8").to_json() == {"architecture": "arm64", "os": "linux", "variant": "v8"}
    with pytest.raises(ValueError):
        Platform.parse("linux")


def test_descriptor_round_trip() -> None:
    entry = INDEX["manifests"][2]  # type: ignore[index]
    assert Descriptor.from_json(entry).to_json() == entry
