"""End to end: an image pushed without its event is found by ``lookout reconcile`` and analyzed by the app.

The command runs as a user runs it, with the served app's settings (its storage), while ``lookout
serve`` works the queue.
"""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest

from testkit.images import push_image
from testkit.processes import wait_until
from testkit.stack import Stack

pytestmark = pytest.mark.e2e

OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'


def reconcile(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """``lookout reconcile ARGS`` with the served app's settings in the environment."""
    return stack.lookout("reconcile", *args, timeout=120)


def test_an_image_whose_event_never_came_is_queued_by_the_sweep_and_analyzed(stack: Stack) -> None:
    repository = f"team/unnoticed{uuid.uuid4().hex[:6]}"
    stack.activate(repository)  # empty yet: its backfill finds nothing
    pushed = push_image(stack.registry, repository, "1.0", [{"etc/os-release": OS_RELEASE}])  # no event is posted
    assert stack.image(repository, "1.0").status_code == 404

    swept = reconcile(stack, "--json")
    assert swept.returncode == 0, swept.stderr
    report = json.loads(swept.stdout)
    assert report["push_jobs"] >= 1 and report["delete_jobs"] == 0
    assert report["finished"] is True and report["failures"] == [] and report["repositories"] >= 1
    image = stack.wait_for_image(repository, "1.0")
    assert image["digest"] == str(pushed.digest)
    assert image["tags"] == ["1.0"]

    wait_until(stack.drained, timeout=30, what="the sweep's jobs to be processed")
    again = reconcile(stack, "--integration", stack.integration["id"])
    assert again.returncode == 0, again.stderr
    assert "queued 0 push and 0 delete jobs" in again.stdout
    assert "the sweep is complete" in again.stdout
