"""The squash: per-layer results combined into what the final image filesystem holds.

Layers are applied like ``mutate.Extract`` flattens them, top layer first. A path found in layer
``i`` is visible in the final filesystem unless a higher layer

- holds an entry at the same path (a file a cataloger recorded, or a symbolic link),
- deletes it or one of its ancestors (whiteout ``.wh.<name>``),
- marks one of its ancestors opaque (``.wh..wh..opq``), or
- replaced one of its ancestor directories by a symbolic link.

A layer's own whiteouts and opaque markers affect lower layers only, never its own entries.

The inputs are exactly what the cache holds per layer (:class:`LayerIndex` and each cataloger's
:class:`LayerResult`), so an image is squashed without reading any layer again. Limits: a lower
file replaced by a regular file or directory that no cataloger recorded (a wanted path always is)
or whose ancestor directory became a regular file is not seen as hidden.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from shared.analysis.model import LayerIndex, LayerResult
from shared.analysis.paths import ancestors

T = TypeVar("T")


@dataclass(frozen=True)
class Visible(Generic[T]):
    """A path's entry in the final filesystem and the index of the layer it comes from (0 is the base)."""

    layer: int
    value: T


class _Shadow:
    """What the layers above the current one hide."""

    def __init__(self) -> None:
        self.occupied: set[str] = set()
        self.deleted: set[str] = set()
        self.opaque: set[str] = set()
        self.linked: set[str] = set()

    def hides(self, path: str) -> bool:
        if path in self.occupied or path in self.deleted or "/" in self.opaque:
            return True
        return any(a in self.deleted or a in self.opaque or a in self.linked for a in ancestors(path))

    def add(self, index: LayerIndex, paths: Iterable[str]) -> None:
        self.occupied.update(paths)
        self.occupied.update(index.symlinks)
        self.linked.update(index.symlinks)
        self.deleted.update(index.whiteouts)
        self.opaque.update(index.opaque)


def occupied_paths(results: Iterable[LayerResult]) -> set[str]:
    """Every path that some cataloger recorded in one layer (all results of that layer)."""
    paths: set[str] = set()
    for result in results:
        paths.update(result.files)
    return paths


def squash(
    indexes: Sequence[LayerIndex], occupied: Sequence[set[str]], entries: Sequence[Mapping[str, T]]
) -> dict[str, Visible[T]]:
    """The entries (path → value, one mapping per layer, base first) visible in the final filesystem.

    ``indexes`` and ``occupied`` (the paths any cataloger recorded in each layer) say what each
    layer hides below it; all three sequences have one item per layer.
    """
    if not len(indexes) == len(occupied) == len(entries):
        raise ValueError("one index, one occupied set and one entry mapping per layer")
    shadow = _Shadow()
    visible: dict[str, Visible[T]] = {}
    for position in range(len(indexes) - 1, -1, -1):
        for path, value in entries[position].items():
            if not shadow.hides(path):
                visible[path] = Visible(position, value)
        shadow.add(indexes[position], occupied[position])
    return visible


def final_symlinks(indexes: Sequence[LayerIndex], occupied: Sequence[set[str]]) -> dict[str, str]:
    """The symbolic links of the final filesystem (path → target as stored)."""
    return {path: item.value for path, item in squash(indexes, occupied, [index.symlinks for index in indexes]).items()}
