"""Run a module as ``__main__`` and write the process's peak resident memory to a file when it exits.

``python -m tests.faults.peak REPORT MODULE [ARG...]`` runs ``MODULE`` as ``python -m MODULE ARG...``
would, and at exit writes the ``VmHWM`` of ``/proc/self/status`` (bytes) to ``REPORT``. That is the
high-water mark of this process's own address space since its ``exec``: unlike ``ru_maxrss``, which
Linux carries over from the parent across ``fork`` and ``exec``, it does not include the memory of
the test process that started it.
"""

from __future__ import annotations

import atexit
import runpy
import sys
from pathlib import Path


def peak_resident_bytes() -> int:
    """``VmHWM`` of this process, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("/proc/self/status has no VmHWM")


def main() -> None:
    report, module, *args = sys.argv[1:]
    atexit.register(lambda: Path(report).write_text(str(peak_resident_bytes())))
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
