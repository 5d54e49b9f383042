"""Group commit: writes that concurrent callers ask for at the same time, sent to storage together.

Each caller hands its item to :meth:`GroupCommit.submit` and blocks until it is written. One caller
at a time writes (the *leader*): it takes up to ``limit`` waiting items, its own first, writes them
with one call of ``write``, hands each caller its outcome, and passes the lead to the oldest caller
still waiting. A caller that meets no other waits no longer than it would writing alone; under load
a batch forms from everything that arrived while the previous one was being written, so the number
of storage requests falls as concurrency rises, and no caller waits for more than two writes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _Slot(Generic[T, R]):
    __slots__ = ("done", "error", "item", "lead", "result")

    def __init__(self, item: T) -> None:
        self.item = item
        self.done = threading.Event()
        self.lead = False
        self.result: R | None = None
        self.error: BaseException | None = None


class GroupCommit(Generic[T, R]):
    """Batches concurrent :meth:`submit` calls into calls of ``write(items) -> outcomes`` (one outcome per
    item, in order); an exception ``write`` raises is raised to every caller of that batch."""

    def __init__(self, write: Callable[[Sequence[T]], Sequence[R]], limit: int) -> None:
        if limit < 1:
            raise ValueError("a group commit needs a limit of at least one item")
        self._write = write
        self._limit = limit
        self._lock = threading.Lock()
        self._waiting: list[_Slot[T, R]] = []
        self._writing = False

    def submit(self, item: T) -> R:
        """Write ``item`` (with whatever other items are waiting) and return its outcome."""
        slot: _Slot[T, R] = _Slot(item)
        with self._lock:
            lead = not self._writing
            if lead:
                self._writing = True
            else:
                self._waiting.append(slot)
        if not lead:
            slot.done.wait()
            if not slot.lead:
                return self._outcome(slot)
        self._lead(slot)
        return self._outcome(slot)

    def _lead(self, own: _Slot[T, R]) -> None:
        """Write one batch (the leader's own item first, then the oldest waiting ones), then pass the lead
        to the oldest caller still waiting or give it up. A waiting caller is in no batch yet: it is taken
        out of the queue when it joins a batch or is handed the lead."""
        with self._lock:
            batch = [own, *self._waiting[: self._limit - 1]]
            del self._waiting[: self._limit - 1]
        try:
            outcomes = self._write([slot.item for slot in batch])
            if len(outcomes) != len(batch):
                raise RuntimeError(f"a group write gave {len(outcomes)} outcomes for {len(batch)} items")
        except BaseException as exc:  # every caller of the batch gets the failure, then it propagates
            for slot in batch:
                slot.error = exc
        else:
            for slot, outcome in zip(batch, outcomes, strict=True):
                slot.result = outcome
        with self._lock:
            successor = self._waiting.pop(0) if self._waiting else None
            if successor is None:
                self._writing = False
            else:
                successor.lead = True
        for slot in batch[1:]:
            slot.done.set()
        if successor is not None:
            successor.done.set()

    @staticmethod
    def _outcome(slot: _Slot[T, R]) -> R:
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]  # set for every slot whose write succeeded
