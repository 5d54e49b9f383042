"""The analysis entry point shared by the queue worker and ``lookout analyze``.

:func:`analyze_image` resolves a tag or digest to its platform images and analyzes each;
:func:`analyze_platform` analyzes one platform image already inspected (the worker has it). A
layer is downloaded only when some cataloger's result for it is missing from the cache — keyed by
(layer blob digest, cataloger name, cataloger version) — and then only the missing catalogers run
on it. A cataloger whose version changed but whose path selection (fingerprint) did not reuses an
older version's empty result without a download: it would find no file in that layer either.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

from shared.analysis.assemble import assemble
from shared.analysis.cache import INDEX_NAME, INDEX_VERSION, CacheKey, LayerCache, MemoryLayerCache
from shared.analysis.catalogers import default_catalogers
from shared.analysis.catalogers.base import Cataloger
from shared.analysis.errors import InvalidCacheEntry, LimitExceeded, PlatformNotFound
from shared.analysis.layer import scan_layer
from shared.analysis.limits import Limits
from shared.analysis.model import ImageAnalysis, LayerIndex, LayerResult, LayerSummary, PlatformAnalysis, Problem
from shared.analysis.progress import NoProgress, Progress
from shared.registry import mediatypes
from shared.registry.client import BlobReader, RegistryClient
from shared.registry.image import Layer, PlatformImage, inspect_image
from shared.registry.model import Platform

logger = logging.getLogger(__name__)

_PROGRESS_STEP = 1024 * 1024
_LOOK_BACK = 8
"""How many older versions of a cataloger are looked up for an empty result with the same fingerprint."""


def is_tar_layer(media_type: str) -> bool:
    """Whether a layer of this media type is a (possibly compressed) tar archive the analysis reads."""
    if media_type == mediatypes.DOCKER_FOREIGN_LAYER:
        return False
    return media_type in mediatypes.LAYER_TYPES or media_type.startswith(
        ("application/vnd.oci.image.layer.", "application/vnd.docker.image.rootfs.diff.tar")
    )


class _Reporting(io.RawIOBase):
    """A blob reader that tells :class:`Progress` how far the download is."""

    def __init__(self, reader: BlobReader, digest: str, progress: Progress) -> None:
        super().__init__()
        self._reader = reader
        self._digest = digest
        self._progress = progress
        self._reported = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self._reader.readinto(buffer)
        done = self._reader.bytes_read
        if done - self._reported >= _PROGRESS_STEP:
            self._reported = done
            self._progress.layer_advanced(self._digest, done)
        return count


def _result(value: Mapping[str, Any] | None, key: CacheKey, fingerprint: str | None = None) -> LayerResult | None:
    if value is None:
        return None
    try:
        result = LayerResult.from_json(value)
    except InvalidCacheEntry:
        logger.warning("ignoring an unreadable cache entry for %s %s", key.layer, key.row)
        return None
    if fingerprint is not None and result.fingerprint != fingerprint:
        return None
    return result


def _index(value: Mapping[str, Any] | None) -> LayerIndex | None:
    if value is None:
        return None
    try:
        return LayerIndex.from_json(value)
    except InvalidCacheEntry:
        return None


def _cached(cache: LayerCache, layer: str, catalogers: Sequence[Cataloger]) -> tuple[LayerIndex | None, dict[str, LayerResult]]:
    """The layer's cached index and cataloger results, in one call to the cache (two when versions changed).

    A cataloger missing at its version but whose older version (same fingerprint) found no file
    in this layer gets an empty result, stored under its new version: it would find nothing either.
    """
    index_key = CacheKey(layer, INDEX_NAME, INDEX_VERSION)
    keys = {c.name: CacheKey(layer, c.name, c.version) for c in catalogers}
    found = cache.get_many([index_key, *keys.values()])
    results: dict[str, LayerResult] = {}
    for cataloger in catalogers:
        result = _result(found.get(keys[cataloger.name]), keys[cataloger.name])
        if result is not None:
            results[cataloger.name] = result
    missing = [c for c in catalogers if c.name not in results and c.version > 1]
    older = {
        (c.name, version): CacheKey(layer, c.name, version)
        for c in missing
        for version in range(c.version - 1, max(c.version - 1 - _LOOK_BACK, 0), -1)
    }
    if older:
        previous = cache.get_many(list(older.values()))
        derived: dict[CacheKey, Mapping[str, Any]] = {}
        for cataloger in missing:
            for version in range(cataloger.version - 1, max(cataloger.version - 1 - _LOOK_BACK, 0), -1):
                key = older[(cataloger.name, version)]
                result = _result(previous.get(key), key, cataloger.fingerprint)
                if result is None:
                    continue
                if not result.files:  # the newest older version reading the same paths found none
                    results[cataloger.name] = LayerResult({}, cataloger.fingerprint)
                    derived[keys[cataloger.name]] = results[cataloger.name].to_json()
                break
        if derived:
            cache.put_many(derived)
    return _index(found.get(index_key)), results


def analyze_layer(
    client: RegistryClient,
    repository: str,
    layer: Layer,
    catalogers: Sequence[Cataloger],
    cache: LayerCache,
    limits: Limits,
    progress: Progress,
) -> tuple[LayerIndex, dict[str, LayerResult], bool]:
    """One layer's index and per-cataloger results: from the cache, or by downloading the blob once.

    Returns ``(index, results by cataloger name, cached)``; ``cached`` is true when nothing was
    downloaded. Whatever was computed is stored in ``cache``.
    """
    index, results = _cached(cache, layer.digest, catalogers)
    missing = [c for c in catalogers if c.name not in results]
    if index is not None and not missing:
        progress.layer_started(layer.digest, layer.size, cached=True)
        progress.layer_finished(layer.digest)
        return index, results, True
    progress.layer_started(layer.digest, layer.size, cached=False)
    with client.open_blob(repository, layer.digest, layer.size) as reader:
        scan = scan_layer(_Reporting(reader, layer.digest, progress), missing, limits, finish=reader.finish)
    progress.layer_finished(layer.digest)
    entries: dict[CacheKey, Mapping[str, Any]] = {}
    if index is None:
        index = scan.index
        entries[CacheKey(layer.digest, INDEX_NAME, INDEX_VERSION)] = index.to_json()
    for cataloger in missing:
        results[cataloger.name] = scan.results[cataloger.name]
        entries[CacheKey(layer.digest, cataloger.name, cataloger.version)] = results[cataloger.name].to_json()
    cache.put_many(entries)
    return index, results, False


def _read_layers(
    client: RegistryClient,
    repository: str,
    layers: Sequence[Layer],
    catalogers: Sequence[Cataloger],
    cache: LayerCache,
    limits: Limits,
    progress: Progress,
) -> dict[str, tuple[LayerIndex, dict[str, LayerResult], bool]]:
    """:func:`analyze_layer` for each distinct layer, up to ``limits.max_concurrent_layers`` at once, by blob digest.

    Largest layers first, so that the last to finish is a small one. Each layer is read by a thread
    of its own: downloading, verifying (sha256) and decompressing run without the interpreter lock,
    so they overlap with another layer's walk. On the first failure no further layer is started and
    the failure of the lowest failed layer is raised once the running ones end; what finished is in
    the cache (entries are keyed by content, so a retry reuses them).
    """
    distinct = list({layer.digest: layer for layer in layers}.values())
    workers = min(limits.max_concurrent_layers, len(distinct))
    if workers <= 1:
        return {layer.digest: analyze_layer(client, repository, layer, catalogers, cache, limits, progress) for layer in distinct}
    order = sorted(distinct, key=lambda layer: -layer.size)
    results: dict[str, tuple[LayerIndex, dict[str, LayerResult], bool]] = {}
    failures: dict[int, BaseException] = {}
    position = {layer.digest: number for number, layer in enumerate(distinct)}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="layer") as pool:
        futures = {
            pool.submit(analyze_layer, client, repository, layer, catalogers, cache, limits, progress): layer for layer in order
        }
        for future in as_completed(futures):
            layer = futures[future]
            try:
                results[layer.digest] = future.result()
            except Exception as error:  # re-raised below, once the running layers end
                failures[position[layer.digest]] = error
                for pending in futures:
                    pending.cancel()
    if failures:
        raise failures[min(failures)]
    return results


def analyze_platform(
    client: RegistryClient,
    repository: str,
    image: PlatformImage,
    *,
    cache: LayerCache | None = None,
    limits: Limits | None = None,
    catalogers: Sequence[Cataloger] | None = None,
    progress: Progress | None = None,
) -> PlatformAnalysis:
    """Analyze one platform image (as :func:`shared.registry.image.inspect_image` describes it).

    Raises :class:`LimitExceeded` (permanent) when the image breaks a limit, the registry's errors
    (temporary or not) when a layer cannot be downloaded, :class:`CorruptLayer` for a layer that
    is not a tar archive.
    """
    cache = cache if cache is not None else MemoryLayerCache()
    limits = limits or Limits()
    catalogers = tuple(catalogers) if catalogers is not None else default_catalogers()
    progress = progress or NoProgress()
    total = sum(layer.size for layer in image.layers)
    if total > limits.max_image_bytes:
        raise LimitExceeded(f"the image's layers add up to {total} bytes; the limit is {limits.max_image_bytes}")
    progress.platform_started(image.platform, len(image.layers))
    done = _read_layers(client, repository, [layer for layer in image.layers if is_tar_layer(layer.media_type)],
                        catalogers, cache, limits, progress)
    indexes: list[LayerIndex] = []
    per_cataloger: dict[str, list[LayerResult]] = {c.name: [] for c in catalogers}
    summaries: list[LayerSummary] = []
    skipped: list[Problem] = []
    for layer in image.layers:
        cached = True
        if is_tar_layer(layer.media_type):
            index, results, cached = done[layer.digest]
        else:
            index, results = LayerIndex(), {c.name: LayerResult() for c in catalogers}
            skipped.append(Problem("layer", f"a layer of media type {layer.media_type!r} is not analyzed", layer.digest))
        indexes.append(index)
        for cataloger in catalogers:
            per_cataloger[cataloger.name].append(results[cataloger.name])
        summaries.append(LayerSummary(layer.digest, layer.size, layer.media_type, layer.diff_id, cached))
    digests = [layer.digest for layer in image.layers]
    os_info, packages, problems = assemble(digests, indexes, per_cataloger, catalogers, limits)
    return PlatformAnalysis(image.platform, image.digest, os_info, tuple(packages), tuple(skipped + problems), tuple(summaries))


def _matches(image: PlatformImage, wanted: Platform) -> bool:
    if image.os != wanted.os or image.architecture != wanted.architecture:
        return False
    return wanted.variant is None or image.variant == wanted.variant


def analyze_image(
    client: RegistryClient,
    repository: str,
    reference: str,
    *,
    platform: str | Platform | None = None,
    cache: LayerCache | None = None,
    limits: Limits | None = None,
    catalogers: Sequence[Cataloger] | None = None,
    progress: Progress | None = None,
) -> ImageAnalysis:
    """Analyze the image at ``reference`` (a tag or ``sha256:`` digest) of ``repository``.

    For an index, every platform image except attestations is analyzed, or only those matching
    ``platform`` (``os/arch[/variant]``; :class:`PlatformNotFound` when none does). Layers shared
    between platforms are read once. See :func:`analyze_platform` for the errors.
    """
    wanted = Platform.parse(platform) if isinstance(platform, str) else platform
    cache = cache if cache is not None else MemoryLayerCache()
    inspected = inspect_image(client, repository, reference)
    images = list(inspected.platforms)
    if wanted is not None:
        images = [image for image in images if _matches(image, wanted)]
        if not images:
            available = ", ".join(image.platform for image in inspected.platforms) or "none"
            raise PlatformNotFound(f"the image has no {wanted} platform (it has: {available})")
    platforms = tuple(
        analyze_platform(client, repository, image, cache=cache, limits=limits, catalogers=catalogers, progress=progress)
        for image in images
    )
    separator = "@" if ":" in reference else ":"
    return ImageAnalysis(f"{client.host}/{repository}{separator}{reference}", inspected.digest, inspected.media_type, platforms)
