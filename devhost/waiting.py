"""Waiting, with a time limit, until no work is in flight: how every part of the host drains on shutdown."""

from __future__ import annotations

import threading
from collections.abc import Callable


def wait_until_idle(state: threading.Condition, busy: Callable[[], bool], timeout: float) -> bool:
    """Block until ``busy()`` is false or ``timeout`` seconds pass; True when idle, False on timeout.

    ``busy`` is called with ``state`` held: first straight away (so a ``timeout`` of zero or less
    only checks), then again after each notification. Whoever changes what ``busy`` reads must do it
    holding ``state`` and then call ``state.notify_all()``, or the wait only ends at the timeout. The
    time limit is measured on the monotonic clock from the first check; notifications that leave
    ``busy()`` true do not extend it.
    """
    with state:
        return state.wait_for(lambda: not busy(), timeout=max(timeout, 0.0))
