"""wait_until_idle: the one drain wait of the HTTP front end, the queue listeners and the invoker."""

from __future__ import annotations

import threading
import time

from devhost.waiting import wait_until_idle


def test_idle_already_returns_true_at_once() -> None:
    started = time.monotonic()
    assert wait_until_idle(threading.Condition(), lambda: False, timeout=5)
    assert time.monotonic() - started < 1


def test_zero_or_negative_timeout_only_checks() -> None:
    state = threading.Condition()
    assert not wait_until_idle(state, lambda: True, timeout=0)
    assert not wait_until_idle(state, lambda: True, timeout=-1)
    assert wait_until_idle(state, lambda: False, timeout=-1)


def test_busy_until_the_timeout_returns_false_after_it() -> None:
    started = time.monotonic()
    assert not wait_until_idle(threading.Condition(), lambda: True, timeout=0.2)
    assert time.monotonic() - started >= 0.2


def test_wakes_when_another_thread_finishes_and_notifies() -> None:
    state = threading.Condition()
    in_flight = [2]

    def finish_one() -> None:
        time.sleep(0.05)
        with state:
            in_flight[0] -= 1
            state.notify_all()

    workers = [threading.Thread(target=finish_one) for _ in range(2)]
    for worker in workers:
        worker.start()
    started = time.monotonic()
    assert wait_until_idle(state, lambda: in_flight[0] > 0, timeout=10)
    assert time.monotonic() - started < 5
    for worker in workers:
        worker.join()


def test_notifications_that_leave_it_busy_do_not_extend_the_timeout() -> None:
    state = threading.Condition()
    stop = threading.Event()

    def keep_notifying() -> None:
        while not stop.is_set():
            with state:
                state.notify_all()
            time.sleep(0.01)

    notifier = threading.Thread(target=keep_notifying)
    notifier.start()
    try:
        started = time.monotonic()
        assert not wait_until_idle(state, lambda: True, timeout=0.2)
        assert time.monotonic() - started < 2
    finally:
        stop.set()
        notifier.join()
