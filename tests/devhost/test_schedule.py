"""NCRONTAB schedules: six fields, seconds first, both day fields must match."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from devhost.schedule import CronSchedule, resolve_setting_expressions
from shared.errors import ConfigurationError

START = datetime(2026, 1, 1, 0, 0, 7, tzinfo=timezone.utc)  # a Thursday


def occurrences(expression: str, count: int = 3) -> list[str]:
    schedule = CronSchedule.parse(expression)
    moment, found = START, []
    for _ in range(count):
        moment = schedule.next_after(moment)
        found.append(moment.isoformat())
    return found


def test_seconds_come_first() -> None:
    assert occurrences("*/5 * * * * *") == [
        "2026-01-01T00:00:10+00:00",
        "2026-01-01T00:00:15+00:00",
        "2026-01-01T00:00:20+00:00",
    ]
    assert occurrences("0 */5 * * * *", 2) == ["2026-01-01T00:05:00+00:00", "2026-01-01T00:10:00+00:00"]


def test_names_and_ranges() -> None:
    assert occurrences("0 30 9 * * Mon-Fri") == [
        "2026-01-01T09:30:00+00:00",
        "2026-01-02T09:30:00+00:00",
        "2026-01-05T09:30:00+00:00",
    ]


def test_day_of_month_and_day_of_week_must_both_match() -> None:
    # The first of a month that is a Monday (classic cron would fire on every 1st and every Monday).
    assert occurrences("0 0 0 1 * Mon", 2) == ["2026-06-01T00:00:00+00:00", "2027-02-01T00:00:00+00:00"]


def test_next_occurrence_is_in_utc() -> None:
    schedule = CronSchedule.parse("0 0 12 * * *")
    local = datetime(2026, 1, 1, 13, 0, tzinfo=timezone.utc).astimezone()
    assert schedule.next_after(local).isoformat() == "2026-01-02T12:00:00+00:00"


@pytest.mark.parametrize("expression", ["* * * * *", "00:05:00", "0 0 0 * * 8", "0 0 0 30 2 *", "0 0 0 ? * *", ""])
def test_invalid_schedules(expression: str) -> None:
    with pytest.raises(ConfigurationError):
        CronSchedule.parse(expression)


def test_setting_expressions() -> None:
    assert resolve_setting_expressions("%S%", {"S": "0 0 * * * *"}, what="schedule") == "0 0 * * * *"
    assert resolve_setting_expressions("jobs-%ENV%", {"ENV": "dev"}, what="queue") == "jobs-dev"
    with pytest.raises(ConfigurationError, match="MISSING"):
        resolve_setting_expressions("%MISSING%", {}, what="schedule")
