"""The per-layer cache: serialized forms, unreadable entries, and what a cataloger change re-reads."""

from __future__ import annotations

import json
import uuid

from shared.analysis import INDEX_NAME, CacheKey, LayerIndex, LayerResult, MemoryLayerCache, analyze_image, default_catalogers
from shared.analysis.catalogers import npm, python
from shared.analysis.catalogers.base import GlobCataloger, Parser
from shared.registry import RegistryClient
from testkit.images import Entry, make_layer, push_image, symlink, whiteout
from testkit.registry import RegistryServer
from tests.analysis.helpers import LayerEntries, scan, tree


def test_serialized_forms_round_trip_through_json() -> None:
    layer: dict[str, bytes | str | Entry] = {
        **tree("python"),
        **tree("dpkg"),
        "/etc/os-release": symlink("../usr/lib/os-release"),
    }
    layer.update(dict([whiteout("/opt/gone")]))
    result = scan(layer)
    for value in result.results.values():
        text = json.dumps(value.to_json(), separators=(",", ":"))
        assert LayerResult.from_json(json.loads(text)) == value
    index_text = json.dumps(result.index.to_json())
    again = LayerIndex.from_json(json.loads(index_text))
    assert again.whiteouts == ("/opt/gone",)
    assert dict(again.symlinks) == {"/etc/os-release": "../usr/lib/os-release"}
    assert again.entries == 6


def test_the_serialized_result_is_compact() -> None:
    document = scan(tree("dpkg")).results["dpkg"].to_json()
    assert set(document) == {"schema", "fingerprint", "files"}
    [entry] = document["files"].values()
    first = entry["packages"][0]
    assert set(first) <= {"type", "name", "version", "meta"}


def test_memory_cache_get_many_and_put_many() -> None:
    cache = MemoryLayerCache()
    one, two = CacheKey("sha256:" + "1" * 64, "dpkg", 1), CacheKey("sha256:" + "1" * 64, INDEX_NAME, 1)
    cache.put_many({one: {"schema": 1, "files": {}}, two: {"schema": 1}})
    assert cache.get_many([one, CacheKey("sha256:" + "2" * 64, "dpkg", 1)]) == {one: {"schema": 1, "files": {}}}
    assert len(cache) == 2 and cache.keys() == sorted([one, two]) and cache.size(one) > 0
    assert one.row == "dpkg@1"


def _client(registry: RegistryServer) -> RegistryClient:
    return registry.client(registry.readonly)


def test_unreadable_cache_entries_are_recomputed(registry: RegistryServer) -> None:
    repo = f"analysis/{uuid.uuid4().hex[:12]}"
    entries: LayerEntries = {**tree("npm"), "/id": uuid.uuid4().hex}
    layer = make_layer(entries)
    push_image(registry, repo, "v1", [layer])
    cache = MemoryLayerCache()
    with _client(registry) as client:
        analyze_image(client, repo, "v1", cache=cache)
        key = CacheKey(layer.digest.value, npm.NAME, npm.VERSION)
        cache.put_many({key: {"schema": 999, "files": "garbage"}})
        analysis = analyze_image(client, repo, "v1", cache=cache)
    assert registry.blob_downloads[layer.digest] == 2
    assert len(analysis.platforms[0].packages) == 5
    assert cache.get_many([key])[key]["schema"] == 1


def test_a_cataloger_reading_other_paths_rereads_every_layer(registry: RegistryServer) -> None:
    repo = f"analysis/{uuid.uuid4().hex[:12]}"
    python_entries: LayerEntries = {**tree("python"), "/id": uuid.uuid4().hex}
    layers = [make_layer({"/etc/hostname": uuid.uuid4().hex}), make_layer(python_entries)]
    push_image(registry, repo, "v1", layers)
    cache = MemoryLayerCache()
    current = python.cataloger()
    parser = Parser((*current.patterns, "**/*.whl.METADATA"), parse=python.parse_metadata)
    wider = GlobCataloger(python.NAME, python.VERSION + 1, [parser], python.package_url)
    catalogers = [wider if c.name == python.NAME else c for c in default_catalogers()]
    with _client(registry) as client:
        analyze_image(client, repo, "v1", cache=cache)
        analyze_image(client, repo, "v1", cache=cache, catalogers=catalogers)
    assert [registry.blob_downloads[layer.digest] for layer in layers] == [2, 2]
