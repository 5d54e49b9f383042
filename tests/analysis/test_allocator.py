"""The allocator tuning of command-line analyses: layer-sized blocks are reused instead of mapped again."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHURN = """
import resource, sys
from shared.analysis.allocator import keep_large_blocks
if sys.argv[1] == "tuned":
    assert keep_large_blocks() is True
def churn():
    for _ in range(100):
        blocks = [bytes(1024 * 1024) for _ in range(4)]  # a few layer-sized chunks alive at once, then freed
        del blocks
churn()  # the heap grows once
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
churn()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _page_faults(mode: str) -> int:
    return int(subprocess.run([sys.executable, "-c", CHURN, mode], capture_output=True, text=True, check=True).stdout)


@pytest.mark.skipif(
    not sys.platform.startswith("linux"),
    reason="mallopt is glibc's: on other systems keep_large_blocks does nothing, so there is nothing to measure",
)
def test_large_blocks_are_reused_instead_of_mapped_again() -> None:
    # Untuned, glibc returns the freed top of its heap to the system and faults it in again: ~256 faults per MiB.
    assert _page_faults("untuned") > 5_000
    assert _page_faults("tuned") < 500
