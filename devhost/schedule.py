"""NCRONTAB schedules of timer triggers: six fields, seconds first, evaluated in UTC.

``{second} {minute} {hour} {day} {month} {day-of-week}``, as the Functions host reads them: ranges,
lists, steps, month and day names; a day must match *both* the day-of-month and the day-of-week
field (NCrontab's rule, unlike classic cron's "either"). ``%SettingName%`` is replaced by that app
setting first. TimeSpan schedules (``"00:05:00"``, App Service plans only) are not supported.

Next occurrences come from croniter with seconds first and AND-ed day fields.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from croniter import CroniterError, croniter  # type: ignore[import-untyped]

from shared.errors import ConfigurationError

_FIELD = re.compile(r"^[0-9A-Za-z*/,\-]+$")
_SETTING = re.compile(r"%([^%]+)%")


def resolve_setting_expressions(value: str, environ: Mapping[str, str] | None = None, *, what: str) -> str:
    """Replace every ``%Name%`` in ``value`` by the app setting ``Name``; unset names are an error."""
    env = os.environ if environ is None else environ

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise ConfigurationError(f"{what} {value!r} refers to the app setting {name}, which is not set")
        return env[name]

    return _SETTING.sub(replace, value)


@dataclass(frozen=True)
class CronSchedule:
    """A validated six-field NCRONTAB expression. Build it with :meth:`parse`."""

    expression: str

    @classmethod
    def parse(cls, expression: str) -> CronSchedule:
        """Validate ``expression``; raise :class:`ConfigurationError` saying what is wrong."""
        fields = expression.split()
        if len(fields) != 6:
            hint = " (TimeSpan schedules are not supported)" if ":" in expression else ""
            raise ConfigurationError(
                f"timer schedule {expression!r} must have six fields, seconds first "
                f"('{{second}} {{minute}} {{hour}} {{day}} {{month}} {{day-of-week}}'){hint}"
            )
        for value in fields:
            if not _FIELD.match(value):
                raise ConfigurationError(f"timer schedule {expression!r}: field {value!r} is not NCRONTAB")
        normalized = " ".join(fields)
        if not croniter.is_valid(normalized, second_at_beginning=True):
            raise ConfigurationError(f"timer schedule {expression!r} is not a valid NCRONTAB expression")
        schedule = cls(normalized)
        try:
            schedule.next_after(datetime.now(timezone.utc))
        except CroniterError as exc:
            raise ConfigurationError(f"timer schedule {expression!r} never occurs: {exc}") from exc
        return schedule

    def next_after(self, moment: datetime) -> datetime:
        """The first occurrence strictly after ``moment`` (an aware datetime), in UTC."""
        start = moment.astimezone(timezone.utc)
        iterator = croniter(self.expression, start, ret_type=datetime, second_at_beginning=True, day_or=False)
        result = iterator.get_next()
        if not isinstance(result, datetime):
            raise TypeError(f"croniter returned {type(result).__name__}, not datetime")
        return result.astimezone(timezone.utc)
