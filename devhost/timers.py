"""Timer triggers: one thread per timer function, firing on its NCRONTAB schedule in UTC.

Invocations of one timer never overlap: the next occurrence is computed after an invocation ends,
so occurrences missed while it ran are skipped, as in the host. ``runOnStartup`` fires once when
the host starts. The function gets an :class:`azure.functions.TimerRequest` whose ``past_due`` is
true when the invocation starts more than a second after its scheduled time (a suspended
machine, a long previous run), and whose ``schedule_status`` holds ``Last``, ``Next`` and
``LastUpdated`` as ISO 8601 strings. The host's schedule monitor (state kept in storage across
restarts) and its singleton lock across instances are not emulated.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone

from azure.functions.timer import TimerRequest  # the worker's; func.TimerRequest is its abstract base

from devhost.indexing import TimerFunction
from devhost.invocation import Invoker

logger = logging.getLogger(__name__)

PAST_DUE_AFTER = timedelta(seconds=1)
_MAX_SLEEP = 1.0  # wake up at least this often, so a changed wall clock or a stop is noticed


class TimerListener:
    """Runs one timer-triggered function on its schedule until :meth:`stop`."""

    def __init__(self, function: TimerFunction, invoker: Invoker) -> None:
        self.function = function
        self._invoker = invoker
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"devhost-timer-{function.name}", daemon=True)
        self.next_occurrence: datetime | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Fire no more; an invocation under way goes on (see :meth:`join`)."""
        self._stopping.set()

    def join(self, timeout: float) -> bool:
        """Wait for the thread to end, at most ``timeout`` seconds; True when it has."""
        self._thread.join(timeout=timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        schedule = self.function.schedule
        last: datetime | None = None
        if self.function.run_on_startup:
            now = _now()
            self._fire(now, last, schedule.next_after(now), past_due=False)
            last = now
        self.next_occurrence = schedule.next_after(_now())
        while not self._stopping.is_set():
            now = _now()
            scheduled = self.next_occurrence
            if now < scheduled:
                self._stopping.wait(min((scheduled - now).total_seconds(), _MAX_SLEEP))
                continue
            following = schedule.next_after(now)
            self._fire(scheduled, last, following, past_due=now - scheduled > PAST_DUE_AFTER)
            last = scheduled
            self.next_occurrence = schedule.next_after(max(_now(), scheduled))

    def _fire(self, scheduled: datetime, last: datetime | None, following: datetime, *, past_due: bool) -> None:
        now = _now()
        request = TimerRequest(
            past_due=past_due,
            schedule_status={
                "Last": last.isoformat() if last else None,
                "Next": following.isoformat(),
                "LastUpdated": now.isoformat(),
            },
            schedule={"AdjustForDST": True},
        )
        self._invoker.invoke(self.function, request, reason=f"Timer fired at {scheduled.isoformat()}")


def _now() -> datetime:
    return datetime.now(timezone.utc)
