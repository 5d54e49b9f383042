"""End to end against the real test registry: pushed images analyzed layer by layer, cached, squashed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from shared.analysis import (
    CorruptLayer,
    LimitExceeded,
    Limits,
    MemoryLayerCache,
    PlatformNotFound,
    analyze_image,
    default_catalogers,
)
from shared.analysis.catalogers import python
from shared.analysis.catalogers.base import GlobCataloger, Parser
from shared.registry import Platform, RegistryClient
from testkit.images import Layer, make_layer, push_image, push_index, symlink, whiteout
from testkit.registry import RegistryServer
from tests.analysis.helpers import LayerEntries, names, tree

BASE_ENTRIES: LayerEntries = {**tree("distro/debian"), "/etc/os-release": symlink("../usr/lib/os-release"), **tree("dpkg")}


@pytest.fixture
def client(registry: RegistryServer) -> Iterator[RegistryClient]:
    with registry.client(registry.readonly) as reader:
        yield reader


def repository() -> str:
    return f"analysis/{uuid.uuid4().hex[:12]}"


def downloads(registry: RegistryServer, layers: list[Layer] | tuple[Layer, ...]) -> list[int]:
    """How often each layer was downloaded so far (layers are reproducible: other tests may share them)."""
    return [registry.blob_downloads[layer.digest] for layer in layers]


def delta(registry: RegistryServer, layers: list[Layer] | tuple[Layer, ...], start: list[int]) -> list[int]:
    """Downloads of each layer since ``start``."""
    return [now - before for now, before in zip(downloads(registry, layers), start, strict=True)]


def test_an_image_is_analyzed_from_the_registry(registry: RegistryServer, client: RegistryClient) -> None:
    repo = repository()
    base = make_layer(BASE_ENTRIES, "gzip")
    python_layer = make_layer(tree("python"), "zstd")
    npm_entries: LayerEntries = {**tree("npm"), **dict([whiteout("/usr/lib/python3/dist-packages/PyJWT-2.6.0.egg-info")])}
    npm_layer = make_layer(npm_entries, "none")
    pushed = push_image(registry, repo, "v1", [base, python_layer, npm_layer])

    analysis = analyze_image(client, repo, "v1")

    assert analysis.digest == pushed.digest.value
    assert analysis.reference == f"{registry.host}/{repo}:v1"
    [platform] = analysis.platforms
    assert (platform.platform, platform.digest) == ("linux/amd64", pushed.digest.value)
    assert platform.os is not None and platform.os.distro == "debian-12"
    assert platform.problems == ()
    by_type: dict[str, set[str]] = {}
    for package in platform.packages:
        by_type.setdefault(package.type, set()).add(package.name)
    assert by_type["deb"] == {"base-files", "bash", "libssl3", "openssl", "tzdata", "zlib1g"}
    assert by_type["pypi"] == {"requests", "packageurl-python"}  # PyJWT deleted by the top layer
    assert len(by_type["npm"]) == 5
    layer_of = {p.type: p.layer for p in platform.packages}
    assert layer_of == {"deb": base.digest.value, "pypi": python_layer.digest.value, "npm": npm_layer.digest.value}
    assert [layer.digest for layer in platform.layers] == [layer.digest.value for layer in pushed.layers]
    assert all(not layer.cached for layer in platform.layers)
    document = analysis.to_json()
    assert set(document) == {"reference", "digest", "platforms"}
    assert document["platforms"][0]["os"] == {
        "id": "debian",
        "version_id": "12",
        "version_codename": "bookworm",
        "name": "Debian GNU/Linux",
        "pretty_name": "Debian GNU/Linux 12 (bookworm)",
    }
    first = document["platforms"][0]["packages"][0]
    assert {"type", "name", "version", "purl", "layer", "path"} <= set(first)


def test_docker_media_types(registry: RegistryServer, client: RegistryClient) -> None:
    repo = repository()
    push_image(registry, repo, "docker", [BASE_ENTRIES], docker=True)
    [platform] = analyze_image(client, repo, "docker").platforms
    assert "libssl3@3.0.19-1~deb12u2" in names(platform.packages)


def test_a_second_analysis_downloads_no_layer(registry: RegistryServer, client: RegistryClient) -> None:
    repo = repository()
    pushed = push_image(registry, repo, "v1", [make_layer(BASE_ENTRIES), make_layer(tree("python"), "zstd")])
    cache = MemoryLayerCache()
    start = downloads(registry, pushed.layers)
    first = analyze_image(client, repo, "v1", cache=cache)
    assert delta(registry, pushed.layers, start) == [1, 1]

    second = analyze_image(client, repo, pushed.digest.value, cache=cache)

    assert delta(registry, pushed.layers, start) == [1, 1]
    assert second.platforms[0].packages == first.platforms[0].packages
    assert all(layer.cached for layer in second.platforms[0].layers)


def test_a_new_image_on_a_known_base_downloads_only_its_new_layers(registry: RegistryServer, client: RegistryClient) -> None:
    repo = repository()
    base = make_layer(BASE_ENTRIES)
    npm_layer = make_layer(tree("npm"))
    new_layer = make_layer(tree("python"), "zstd")
    start = downloads(registry, [base, npm_layer, new_layer])
    push_image(registry, repo, "old", [base, npm_layer])
    cache = MemoryLayerCache()
    analyze_image(client, repo, "old", cache=cache)
    push_image(registry, repo, "new", [base, new_layer])

    analysis = analyze_image(client, repo, "new", cache=cache)

    assert delta(registry, [base, npm_layer, new_layer], start) == [1, 1, 1]
    assert [layer.cached for layer in analysis.platforms[0].layers] == [True, False]
    assert {p.type for p in analysis.platforms[0].packages} == {"deb", "pypi"}


def test_bumping_one_cataloger_reruns_only_that_cataloger(registry: RegistryServer, client: RegistryClient) -> None:
    repo = repository()
    pushed = push_image(registry, repo, "v1", [make_layer(BASE_ENTRIES), make_layer(tree("python")), make_layer(tree("npm"))])
    cache = MemoryLayerCache()
    start = downloads(registry, pushed.layers)
    analyze_image(client, repo, "v1", cache=cache)
    assert delta(registry, pushed.layers, start) == [1, 1, 1]
    before = set(cache.keys())

    bumped = python.cataloger()
    python_v2 = GlobCataloger(
        bumped.name, bumped.version + 1, [Parser(tuple(bumped.patterns), parse=python.parse_metadata)], python.package_url
    )
    catalogers = [python_v2 if c.name == python.NAME else c for c in default_catalogers()]
    analysis = analyze_image(client, repo, "v1", cache=cache, catalogers=catalogers)

    # Only the layer holding Python metadata is read again; the others had no file for this cataloger.
    assert delta(registry, pushed.layers, start) == [1, 2, 1]
    added = set(cache.keys()) - before
    assert {(k.cataloger, k.version) for k in added} == {(python.NAME, python.VERSION + 1)}
    assert len(added) == 3
    assert len([p for p in analysis.platforms[0].packages if p.type == "pypi"]) == 3


def test_a_multi_platform_index(registry: RegistryServer, client: RegistryClient) -> None:
    repo = repository()
    amd64 = push_image(registry, repo, None, [BASE_ENTRIES], platform=Platform("linux", "amd64"))
    arm64 = push_image(registry, repo, None, [tree("apk")], platform=Platform("linux", "arm64", "v8"))
    index = push_index(registry, repo, "multi", [amd64, arm64])

    analysis = analyze_image(client, repo, "multi")

    assert analysis.digest == index.digest.value
    assert [(p.platform, p.digest) for p in analysis.platforms] == [
        ("linux/amd64", amd64.digest.value),
        ("linux/arm64/v8", arm64.digest.value),
    ]
    assert analysis.platforms[1].os is not None and analysis.platforms[1].os.id == "alpine"
    assert {p.type for p in analysis.platforms[1].packages} == {"apk"}
    assert index.attestation is not None
    assert registry.blob_downloads[index.attestation.layers[0].digest] == 0

    only_arm = analyze_image(client, repo, "multi", platform="linux/arm64")
    assert [p.platform for p in only_arm.platforms] == ["linux/arm64/v8"]
    with pytest.raises(PlatformNotFound, match="linux/amd64, linux/arm64/v8"):
        analyze_image(client, repo, "multi", platform="linux/s390x")


def test_an_image_over_the_size_limit_fails_before_any_download(registry: RegistryServer, client: RegistryClient) -> None:
    repo = repository()
    pushed = push_image(registry, repo, "big", [make_layer({"/data": uuid.uuid4().bytes * 1000}, "none")])
    with pytest.raises(LimitExceeded, match="the limit is 1000") as caught:
        analyze_image(client, repo, "big", limits=Limits(max_image_bytes=1000))
    assert caught.value.temporary is False
    assert downloads(registry, pushed.layers) == [0]


def test_a_layer_that_is_not_a_tar_archive_is_a_permanent_failure(registry: RegistryServer, client: RegistryClient) -> None:
    repo = repository()
    garbage = b"\x1f\x8b\x08\x00 this claims to be gzip but is not" * 10
    layer = Layer(garbage, garbage, "application/vnd.oci.image.layer.v1.tar+gzip", "gzip")
    push_image(registry, repo, "bad", [layer])
    with pytest.raises(CorruptLayer) as caught:
        analyze_image(client, repo, "bad")
    assert caught.value.temporary is False


def test_a_layer_of_another_media_type_is_recorded_not_read(registry: RegistryServer, client: RegistryClient) -> None:
    repo = repository()
    data = b'{"not": "a layer", "id": "%s"}' % uuid.uuid4().hex.encode()
    other = Layer(data, data, "application/vnd.example.data.v1+json", "none")
    pushed = push_image(registry, repo, "mixed", [make_layer(BASE_ENTRIES), other])
    [platform] = analyze_image(client, repo, "mixed").platforms
    assert registry.blob_downloads[pushed.layers[1].digest] == 0  # the blob is unique to this test
    assert [(p.source, p.layer) for p in platform.problems] == [("layer", pushed.layers[1].digest.value)]
    assert platform.os is not None


def test_layers_read_at_once_give_the_same_analysis_and_one_download_each(
    registry: RegistryServer, client: RegistryClient
) -> None:
    repo = repository()
    marker = {"/srv/marker": uuid.uuid4().bytes}  # blobs unique to this test: download counts are its own
    layers = [
        make_layer({**BASE_ENTRIES, **marker}, "gzip"),
        make_layer({**tree("python"), **marker}, "zstd"),
        make_layer({**tree("npm"), **marker}, "none"),
        make_layer({**tree("php"), **marker}, "gzip"),
    ]
    pushed = push_image(registry, repo, "v1", layers)
    one = analyze_image(client, repo, "v1", limits=Limits(max_concurrent_layers=1))
    assert downloads(registry, pushed.layers) == [1, 1, 1, 1]
    four = analyze_image(client, repo, "v1", limits=Limits(max_concurrent_layers=4))
    assert downloads(registry, pushed.layers) == [2, 2, 2, 2]
    assert four.to_json() == one.to_json()
    [platform] = four.platforms
    assert [layer.digest for layer in platform.layers] == [layer.digest.value for layer in pushed.layers]
    assert {p.type for p in platform.packages} == {"deb", "pypi", "npm", "composer"}


def test_a_failing_layer_among_concurrent_ones_fails_the_analysis(registry: RegistryServer, client: RegistryClient) -> None:
    repo = repository()
    garbage = b"\x1f\x8b\x08\x00 not gzip %s" % uuid.uuid4().hex.encode() * 10
    bad = Layer(garbage, garbage, "application/vnd.oci.image.layer.v1.tar+gzip", "gzip")
    good = make_layer({**BASE_ENTRIES, "/srv/marker": uuid.uuid4().bytes}, "gzip")
    push_image(registry, repo, "bad", [good, bad])
    cache = MemoryLayerCache()
    with pytest.raises(CorruptLayer):
        analyze_image(client, repo, "bad", cache=cache, limits=Limits(max_concurrent_layers=2))
    stored = cache.keys()
    assert {key.layer for key in stored} <= {good.digest.value}  # nothing stored for the bad layer


def test_the_concurrency_bound_is_checked() -> None:
    for wrong in (0, 17):
        with pytest.raises(ValueError, match="max_concurrent_layers"):
            Limits(max_concurrent_layers=wrong)
