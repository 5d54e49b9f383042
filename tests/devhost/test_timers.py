"""Timer triggers through the local host: firing on an NCRONTAB schedule, run on start-up."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from devhost import LocalHost
from testkit.processes import wait_until
from tests.devhost import sample_app


def test_timer_fires_on_its_schedule(start_host: Callable[..., LocalHost]) -> None:
    start_host(["tick"], settings={"DEVHOST_TICK_SCHEDULE": "*/1 * * * * *"})
    wait_until(lambda: len(sample_app.calls("tick")) >= 3, timeout=10, what="three ticks")
    ticks = sample_app.calls("tick")
    gaps = [later["at"] - earlier["at"] for earlier, later in itertools.pairwise(ticks)]
    assert all(0.5 < gap < 1.6 for gap in gaps), gaps
    assert not any(t["past_due"] for t in ticks)


def test_run_on_startup_fires_once_at_start(start_host: Callable[..., LocalHost]) -> None:
    start_host(["on_startup"])  # an async timer scheduled once a year
    wait_until(lambda: sample_app.calls("on_startup"), timeout=5, what="the start-up run")
    assert sample_app.calls("on_startup") == [{"past_due": False}]
