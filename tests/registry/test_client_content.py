"""Manifests and blobs from the real registry: verified, streamed, redirected to storage without credentials."""

from __future__ import annotations

import io
import json
import os
import tarfile
import uuid

import pytest
import requests
import zstandard

from shared.registry import (
    BlobUnknown,
    Digest,
    DigestMismatch,
    ManifestUnknown,
    NameUnknown,
    Platform,
    TooLarge,
    is_attestation,
    mediatypes,
)
from testkit.images import (
    Entry,
    delete_manifest,
    directory,
    make_layer,
    opaque,
    push_image,
    push_index,
    symlink,
    whiteout,
)
from testkit.registry import RegistryServer


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_multi_platform_index_by_tag_then_children_by_digest(registry: RegistryServer) -> None:
    repository = unique("content/multi")
    amd64 = push_image(registry, repository, None, [{"etc/os-release": "ID=debian\n"}])
    arm64 = push_image(
        registry,
        repository,
        None,
        [make_layer({"etc/os-release": "ID=alpine\n"}, "zstd")],
        platform=Platform("linux", "arm64", "v8"),
    )
    index = push_index(registry, repository, "2.0", [amd64, arm64])
    client = registry.client(registry.readonly)

    fetched = client.get_manifest(repository, "2.0")
    assert fetched.is_index and fetched.media_type == mediatypes.OCI_INDEX
    assert fetched.digest == index.digest and fetched.raw == index.manifest
    children = fetched.children()
    assert [str(c.platform) for c in children] == ["linux/amd64", "linux/arm64/v8", "unknown/unknown"]
    assert [is_attestation(c) for c in children] == [False, False, True]
    assert index.attestation is not None and children[2].digest == index.attestation.digest

    child = client.get_manifest(repository, children[1].digest)
    assert child.digest == arm64.digest and not child.is_index
    assert child.config.digest == arm64.config_digest
    assert [(d.digest, d.size, d.media_type) for d in child.layers] == [
        (arm64.layers[0].digest, arm64.layers[0].size, mediatypes.OCI_LAYER_ZSTD)
    ]
    config = json.loads(client.get_blob(repository, child.config.digest, expected_size=child.config.size))
    assert config["architecture"] == "arm64" and config["variant"] == "v8"
    assert config["rootfs"]["diff_ids"] == [d.value for d in arm64.diff_ids]


def test_docker_v2_media_types(registry: RegistryServer) -> None:
    repository = unique("content/docker")
    image = push_image(registry, repository, None, [{"bin/sh": b"\x7fELF"}], docker=True, user="1000", labels={"a": "b"})
    listing = push_index(registry, repository, "latest", [image], docker=True)
    client = registry.client(registry.readonly)
    fetched = client.get_manifest(repository, "latest")
    assert fetched.media_type == mediatypes.DOCKER_MANIFEST_LIST and fetched.digest == listing.digest
    child = client.get_manifest(repository, fetched.children()[0].digest)
    assert child.media_type == mediatypes.DOCKER_MANIFEST
    assert child.config.media_type == mediatypes.DOCKER_CONFIG
    assert child.layers[0].media_type == mediatypes.DOCKER_LAYER_GZIP
    config = json.loads(client.get_blob(repository, child.config.digest))
    assert config["config"]["User"] == "1000" and config["config"]["Labels"] == {"a": "b"}


def test_manifest_digest_is_verified(registry: RegistryServer) -> None:
    repository = unique("content/verify")
    image = push_image(registry, repository, "v1", [{"f": "1"}])
    client = registry.client(registry.readonly)
    assert client.get_manifest(repository, image.digest).raw == image.manifest
    with pytest.raises(ManifestUnknown):
        client.get_manifest(repository, Digest.of(image.manifest + b" "))
    with pytest.raises(ManifestUnknown):
        client.get_manifest(repository, "no-such-tag")


def test_layer_streams_through_storage_redirect_without_authorization(registry: RegistryServer) -> None:
    repository = unique("content/stream")
    payload = os.urandom(3 * 1024 * 1024)  # incompressible: the blob is about 3 MiB
    entries: dict[str, bytes | Entry] = {"usr/lib/big.bin": payload, "usr/lib/link": symlink("big.bin"), "var": directory()}
    layer = make_layer(entries)
    image = push_image(registry, repository, "1", [layer])
    client = registry.client(registry.readonly)
    descriptor = client.get_manifest(repository, "1").layers[0]
    rejected_before = registry.rejected_blob_requests
    with client.open_blob(repository, descriptor.digest, descriptor.size) as reader:
        with tarfile.open(fileobj=reader, mode="r|gz") as archive:
            members = {}
            for member in archive:
                extracted = archive.extractfile(member) if member.isfile() else None
                members[member.name] = (member.type, extracted.read() if extracted else member.linkname)
        reader.finish()
        assert reader.verified and reader.bytes_read == image.layers[0].size
    assert members["usr/lib/big.bin"] == (tarfile.REGTYPE, payload)
    assert members["usr/lib/link"] == (tarfile.SYMTYPE, "big.bin")
    assert registry.blob_downloads[descriptor.digest] == 1
    assert registry.rejected_blob_requests == rejected_before


def test_storage_refuses_the_registry_token(registry: RegistryServer) -> None:
    """The control for the test above: a client that forwarded Authorization would fail."""
    repository = unique("content/control")
    image = push_image(registry, repository, "1", [{"x": repository}])
    client = registry.client(registry.readonly)
    client.get_manifest(repository, "1")  # caches a token for the repository
    authorization = client.authenticator.authorization(frozenset({f"repository:{repository}:pull"}))
    assert authorization is not None
    headers = {"Authorization": authorization.header}
    redirect = requests.get(
        f"{registry.url}/v2/{repository}/blobs/{image.layers[0].digest}", headers=headers, allow_redirects=False, timeout=5
    )
    assert redirect.status_code == 307 and redirect.headers["Location"].startswith("http://127.0.0.2:")
    leaked = requests.get(redirect.headers["Location"], headers=headers, allow_redirects=False, timeout=5)
    assert leaked.status_code == 400 and b"InvalidAuthenticationInfo" in leaked.content
    assert registry.blob_downloads[image.layers[0].digest] == 0


def test_zstd_and_uncompressed_layers_with_whiteouts(registry: RegistryServer) -> None:
    repository = unique("content/whiteout")
    upper = make_layer([whiteout("etc/old.conf"), opaque("var/cache"), ("etc/new.conf", b"new")], "zstd")
    plain = make_layer({"README": "hi"}, "none")
    image = push_image(registry, repository, "1", [plain, upper])
    client = registry.client(registry.readonly)
    layers = client.get_manifest(repository, "1").layers
    assert [d.media_type for d in layers] == [mediatypes.OCI_LAYER, mediatypes.OCI_LAYER_ZSTD]
    blob = client.get_blob(repository, layers[1].digest, expected_size=layers[1].size)
    tar = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(blob)).read()
    assert Digest.of(tar) == image.diff_ids[1]
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        assert archive.getnames() == ["etc/.wh.old.conf", "var/cache/.wh..wh..opq", "etc/new.conf"]


def test_wrong_expected_size_and_limits(registry: RegistryServer) -> None:
    repository = unique("content/size")
    image = push_image(registry, repository, "1", [{"data": os.urandom(10_000)}])
    client = registry.client(registry.readonly)
    layer = image.layers[0]
    with pytest.raises(DigestMismatch):
        client.open_blob(repository, layer.digest, layer.size + 1).__enter__()
    with pytest.raises(TooLarge):
        client.get_blob(repository, layer.digest, max_bytes=100)
    with pytest.raises(BlobUnknown):
        client.get_blob(repository, Digest.of(b"never pushed"))


def test_deleted_manifest_is_gone(registry: RegistryServer) -> None:
    repository = unique("content/delete")
    image = push_image(registry, repository, "1", [{"x": "1"}])
    client = registry.client(registry.readonly)
    assert client.get_manifest(repository, "1").digest == image.digest
    delete_manifest(registry, repository, image.digest)
    with pytest.raises(ManifestUnknown):
        client.get_manifest(repository, image.digest)
    assert list(client.tags(repository)) == []


def test_unknown_repository(registry: RegistryServer) -> None:
    with pytest.raises(NameUnknown):
        list(registry.client(registry.readonly).tags(unique("content/never")))
