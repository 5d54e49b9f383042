"""Keeping the C allocator from mapping and unmapping memory for every layer chunk.

An analysis streams hundreds of megabytes through buffers of about 1 MiB (decompressed chunks,
file contents). glibc's ``malloc`` serves blocks that large with ``mmap`` until its adaptive
threshold has risen past them, and returns the top of its heap to the system whenever more than
twice that threshold is free there: in a new process every chunk costs fresh page faults, about a
tenth of a cold analysis in measurements (and a fifth of its system time). A long-lived worker
reaches a steady state by itself after its first analysis; a command-line run never does.

:func:`keep_large_blocks` raises both thresholds once, so those blocks come from the heap and are
reused. The cost: up to the trim threshold of freed memory (per malloc arena) stays with the process
instead of going back to the system. Elsewhere than on glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

logger = logging.getLogger(__name__)

MMAP_THRESHOLD = 16 * 1024 * 1024
"""Blocks up to this size come from the heap (glibc's own upper bound for its adaptive value is 32 MiB)."""
TRIM_THRESHOLD = 64 * 1024 * 1024
"""Free memory at the top of the heap kept for reuse, at most."""

_M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
_M_MMAP_THRESHOLD = -3


def keep_large_blocks() -> bool:
    """Tune glibc's ``malloc`` for streaming (see the module documentation); ``True`` when it took effect."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    applied = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    logger.debug("malloc thresholds %s", "raised" if applied else "left as they were")
    return applied
