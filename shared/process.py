"""What the app's processes (the functions, the local host, the commands that use storage) set for themselves once,
before their first piece of work (:func:`shared.wiring.services` applies it)."""

from __future__ import annotations

import gc

COLLECTOR_THRESHOLDS = (20_000, 20, 20)
"""The cyclic garbage collector's thresholds (Python's default: 700, 10, 10). The advisory index and the
matcher's caches are hundreds of thousands of objects that live as long as the process, and a re-match
or an analysis makes millions of short-lived ones: at the default thresholds, collections walking the
long-lived objects take about a tenth of a re-match's time. Reference counting still frees garbage at
once; only reference cycles wait a little longer for a collection."""


def configure_process() -> None:
    """Set the process-wide runtime settings above (idempotent)."""
    gc.set_threshold(*COLLECTOR_THRESHOLDS)
