"""A short-lived, bounded, thread-safe memory of recent reads: what the webhook looks up on every delivery.

Every Event Grid delivery reads its integration and the activation of its repository; a busy registry
sends the same ones many times a second. :class:`LookupCache` keeps each answer for ``ttl`` seconds
(monotonic clock), at most ``size`` of them (the least recently used goes first).

Staleness: a store forgets a key when it writes it, so a reader in the same process sees its own
process's changes at once; a change made by another process (another Functions instance) is seen
at most ``ttl`` seconds later. A load that raced with a write is not kept. Absent answers (no such
integration, repository not activated) are kept exactly as long as present ones, never longer; a
failed read (an exception) is never kept. Values live in memory only.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

LOOKUP_TTL_S = 5.0
"""How long a looked-up integration or activation is reused: the bound on how late this process sees a
change another process made."""

LOOKUP_SIZE = 4096
"""How many answers one cache keeps at most."""


class LookupCache(Generic[K, V]):
    """Answers of ``load`` per key, reused for ``ttl`` seconds; ``ttl`` 0 turns the cache off."""

    def __init__(self, ttl: float = LOOKUP_TTL_S, size: int = LOOKUP_SIZE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if ttl < 0 or size < 1:
            raise ValueError("a lookup cache needs ttl >= 0 and size >= 1")
        self._ttl = ttl
        self._size = size
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._generation = 0

    def get(self, key: K, load: Callable[[], V]) -> V:
        """The answer for ``key``: a kept one younger than the TTL, else ``load()`` (kept unless it raised, or
        the key was forgotten while it ran)."""
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and now - entry[0] < self._ttl:
                self._entries.move_to_end(key)
                return entry[1]
            generation = self._generation
        value = load()
        if self._ttl > 0:
            with self._lock:
                if generation == self._generation:
                    self._entries[key] = (now, value)
                    self._entries.move_to_end(key)
                    while len(self._entries) > self._size:
                        self._entries.popitem(last=False)
        return value

    def update(self, key: K, change: Callable[[V], V]) -> None:
        """Apply ``change`` to the kept answer for ``key`` (a write this process made that does not alter
        what was looked up otherwise); nothing when none is kept. The answer keeps its age."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries[key] = (entry[0], change(entry[1]))

    def forget(self, key: K | None = None) -> None:
        """Drop the answer for ``key`` (every answer when None); a load running meanwhile is not kept."""
        with self._lock:
            self._generation += 1
            if key is None:
                self._entries.clear()
            else:
                self._entries.pop(key, None)

    def forget_where(self, predicate: Callable[[K], bool]) -> None:
        """Drop every answer whose key satisfies ``predicate``."""
        with self._lock:
            self._generation += 1
            for key in [k for k in self._entries if predicate(k)]:
                del self._entries[key]
