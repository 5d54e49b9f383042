"""Group commit: concurrent submits written together, each caller with its own outcome or the batch's failure."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from shared.store.group_commit import GroupCommit


class Writer:
    """Records the batches it writes; the first one waits until ``release`` so that others queue behind it."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.release = threading.Event()
        self.started = threading.Event()
        self.fail_on = fail_on
        self._lock = threading.Lock()

    def __call__(self, items: Sequence[int]) -> list[int]:
        with self._lock:
            self.batches.append(list(items))
            first = len(self.batches) == 1
        if first:
            self.started.set()
            assert self.release.wait(timeout=30)
        if self.fail_on is not None and self.fail_on in items:
            raise RuntimeError(f"cannot write {self.fail_on}")
        return [item * 2 for item in items]


def submit_behind_a_slow_write(writer: Writer, group: GroupCommit[int, int], items: list[int]) -> list[object]:
    """Submit 0 alone, then ``items`` while 0 is being written; every outcome (result or exception)."""

    def submit(item: int) -> object:
        try:
            return group.submit(item)
        except RuntimeError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=len(items) + 1) as pool:
        first = pool.submit(submit, 0)
        assert writer.started.wait(timeout=30)
        rest = [pool.submit(submit, item) for item in items]
        while sum(len(b) for b in writer.batches) == 1 and len(group._waiting) < len(items):  # all queued
            threading.Event().wait(0.005)
        writer.release.set()
        return [first.result(), *(f.result() for f in rest)]


def test_submits_that_arrive_during_a_write_are_written_together_up_to_the_limit() -> None:
    writer = Writer()
    group: GroupCommit[int, int] = GroupCommit(writer, limit=4)
    outcomes = submit_behind_a_slow_write(writer, group, list(range(1, 11)))
    assert outcomes == [n * 2 for n in range(11)]
    assert writer.batches[0] == [0]
    assert [len(b) for b in writer.batches[1:]] == [4, 4, 2]
    assert sorted(n for b in writer.batches for n in b) == list(range(11))


def test_a_failed_write_fails_its_own_batch_only() -> None:
    writer = Writer(fail_on=3)
    group: GroupCommit[int, int] = GroupCommit(writer, limit=4)
    outcomes = submit_behind_a_slow_write(writer, group, list(range(1, 9)))
    failed = next(b for b in writer.batches if 3 in b)
    for item, outcome in enumerate(outcomes):
        if item in failed:
            assert isinstance(outcome, RuntimeError) and "cannot write 3" in str(outcome)
        else:
            assert outcome == item * 2


def test_a_lone_submit_is_written_at_once_and_many_threads_never_lose_one() -> None:
    written: list[int] = []

    def write(items: Sequence[int]) -> list[int]:
        written.extend(items)
        return [item + 1 for item in items]

    group: GroupCommit[int, int] = GroupCommit(write, 7)
    assert group.submit(41) == 42
    with ThreadPoolExecutor(max_workers=32) as pool:
        assert list(pool.map(group.submit, range(2000))) == [n + 1 for n in range(2000)]
    assert sorted(written) == sorted([41, *range(2000)])


def test_a_write_giving_the_wrong_number_of_outcomes_fails_its_callers() -> None:
    group: GroupCommit[int, int] = GroupCommit(lambda items: [], 3)
    with pytest.raises(RuntimeError, match="0 outcomes for 1 items"):
        group.submit(1)
    with pytest.raises(ValueError):
        GroupCommit(lambda items: list(items), 0)
