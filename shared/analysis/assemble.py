"""From per-layer results to the packages of the final filesystem (no I/O).

:func:`assemble` squashes each cataloger's per-layer results (:mod:`shared.analysis.squash`),
decides the distribution from the visible ``os-release`` (following symbolic links inside the
image), drops the records whose installed evidence (:data:`~shared.analysis.catalogers.base.REQUIRES`)
is not in the final filesystem, and only then makes each package's Package URL, so that an OS package found in a higher
layer gets the ``distro`` of an ``os-release`` in the base layer.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence

from shared.analysis.catalogers import distro
from shared.analysis.catalogers.base import REQUIRES, Cataloger
from shared.analysis.limits import Limits
from shared.analysis.model import FileResult, LayerIndex, LayerResult, OSInfo, Package, PackageRecord, Problem
from shared.analysis.paths import resolve
from shared.analysis.squash import Visible, final_symlinks, occupied_paths, squash


def _introduced(record: PackageRecord, path: str, top: int, layers: Sequence[LayerResult]) -> int:
    """The lowest layer from which the same package in the same file persisted up to layer ``top``."""
    key = record.key
    introduced = top
    for position in range(top - 1, -1, -1):
        below = layers[position].files.get(path)
        if below is None:
            continue
        if any(other.key == key for other in below.packages):
            introduced = position
        else:
            break
    return introduced


def _evidence(directory: str, installed: Sequence[str]) -> bool:
    """Whether a path of ``installed`` (sorted) lies under ``directory`` (which ends with ``/``)."""
    position = bisect.bisect_left(installed, directory)
    return position < len(installed) and installed[position].startswith(directory)


def resolve_os(
    visible: Mapping[str, Visible[FileResult]], symlinks: Mapping[str, str], limits: Limits
) -> tuple[OSInfo | None, list[str]]:
    """The distribution of the final filesystem, from the first ``os-release`` that resolves to a parsed file."""
    problems: list[str] = []
    for candidate in distro.OS_RELEASE_PATHS:
        real = resolve(candidate, symlinks, limits.max_symlink_hops)
        if real is None:
            problems.append(f"{candidate}: more than {limits.max_symlink_hops} symbolic links (a loop?)")
            continue
        entry = visible.get(real)
        if entry is not None and entry.value.link is None:
            found = distro.os_from_facts(dict(entry.value.facts))
            if found is not None:
                return found, problems
    return None, problems


def assemble(
    layers: Sequence[str],
    indexes: Sequence[LayerIndex],
    results: Mapping[str, Sequence[LayerResult]],
    catalogers: Sequence[Cataloger],
    limits: Limits | None = None,
) -> tuple[OSInfo | None, list[Package], list[Problem]]:
    """The distribution, packages (sorted by type, name, version, path) and problems of an image.

    ``layers`` are the layer blob digests, base first; ``indexes`` and each ``results[name]`` have
    one item per layer, in the same order.
    """
    limits = limits or Limits()
    count = len(layers)
    if len(indexes) != count or any(len(results[c.name]) != count for c in catalogers):
        raise ValueError("one index and one result per cataloger for every layer")
    occupied = [occupied_paths(results[c.name][i] for c in catalogers) for i in range(count)]
    symlinks = final_symlinks(indexes, occupied)
    problems: list[Problem] = []
    for position, index in enumerate(indexes):
        problems.extend(Problem("layer", message, layers[position]) for message in index.problems)
    os_info: OSInfo | None = None
    if distro.NAME in results:
        distro_visible = squash(indexes, occupied, [r.files for r in results[distro.NAME]])
        os_info, messages = resolve_os(distro_visible, symlinks, limits)
        problems.extend(Problem(distro.NAME, message) for message in messages)
    packages: list[Package] = []
    for cataloger in catalogers:
        per_layer = results[cataloger.name]
        visible = squash(indexes, occupied, [r.files for r in per_layer])
        installed = sorted(path for path, entry in visible.items() if entry.value.packages)
        for path in sorted(visible):
            entry = visible[path]
            for record in entry.value.packages:
                if REQUIRES in record.meta:
                    if not _evidence(record.meta[REQUIRES], installed):
                        continue
                    record = PackageRecord(record.type, record.name, record.version,
                                           {k: v for k, v in record.meta.items() if k != REQUIRES})
                layer = layers[_introduced(record, path, entry.layer, per_layer)]
                purl = cataloger.package_url(record, os_info)
                packages.append(
                    Package(record.type, record.name, record.version, purl, layer, path, cataloger.name, record.meta)
                )
            problems.extend(Problem(cataloger.name, message, layers[entry.layer], path) for message in entry.value.problems)
    packages.sort(key=lambda p: (p.type, p.name, p.version, p.path, p.purl))
    return os_info, packages, problems
