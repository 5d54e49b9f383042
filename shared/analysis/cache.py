"""The per-layer result cache: the storage seam of the analysis.

An entry is keyed by (layer blob digest, cataloger name, cataloger version) and holds a JSON-able
mapping (:meth:`LayerResult.to_json`, or :meth:`LayerIndex.to_json` under the reserved cataloger
name :data:`INDEX_NAME`). Entries are immutable: the same key always describes the same bytes, so
an implementation may keep them forever and never needs to update one. The analysis runs the same
from the queue worker (Table storage) and the command line (memory).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

INDEX_NAME = "layer-index"
"""The cache name of the cataloger-independent :class:`LayerIndex`."""

INDEX_VERSION = 1


@dataclass(frozen=True, order=True)
class CacheKey:
    """(``layer``: the layer's blob digest ``sha256:...``, ``cataloger`` name, cataloger ``version``)."""

    layer: str
    cataloger: str
    version: int

    @property
    def row(self) -> str:
        """``<cataloger>@<version>``: a natural row name under a partition per layer digest."""
        return f"{self.cataloger}@{self.version}"


class LayerCache(Protocol):
    """Where per-layer results are kept between analyses.

    Calls name the keys of one layer at a time (the index and every cataloger), so a store keyed
    by layer digest (a Table partition per layer) answers each call with one query or one batch.
    """

    def get_many(self, keys: Sequence[CacheKey]) -> dict[CacheKey, Mapping[str, Any]]:
        """The stored values of those ``keys`` that are present (an unreadable one counts as absent)."""
        ...

    def put_many(self, entries: Mapping[CacheKey, Mapping[str, Any]]) -> None:
        """Store JSON-able values. May raise (a temporary :class:`LookoutError` when the store is down)."""
        ...


class MemoryLayerCache:
    """A :class:`LayerCache` in process memory (the command line's, and the tests'). Thread-safe.

    Values are kept as JSON text, so what comes back is exactly what a JSON store would return.
    """

    def __init__(self) -> None:
        self._entries: dict[CacheKey, str] = {}
        self._lock = threading.Lock()

    def get_many(self, keys: Sequence[CacheKey]) -> dict[CacheKey, Mapping[str, Any]]:
        with self._lock:
            texts = {key: self._entries[key] for key in keys if key in self._entries}
        values = {key: json.loads(text) for key, text in texts.items()}
        return {key: value for key, value in values.items() if isinstance(value, dict)}

    def put_many(self, entries: Mapping[CacheKey, Mapping[str, Any]]) -> None:
        texts = {key: json.dumps(value, separators=(",", ":"), sort_keys=True) for key, value in entries.items()}
        with self._lock:
            self._entries.update(texts)

    def keys(self) -> list[CacheKey]:
        """Every key stored, sorted."""
        with self._lock:
            return sorted(self._entries)

    def size(self, key: CacheKey) -> int:
        """The length of the stored JSON text (0 when absent)."""
        with self._lock:
            return len(self._entries.get(key, ""))

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
