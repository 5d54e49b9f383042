"""Timestamps: one canonical text form, so that times compare correctly as strings."""

from __future__ import annotations

import re
from datetime import datetime, timezone

_FRACTION = re.compile(r"(\.\d{6})\d+")


def utc_now() -> str:
    """The current UTC time as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""
    return format_time(datetime.now(timezone.utc))


def format_time(moment: datetime) -> str:
    """``moment`` (timezone-aware) in the canonical form."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def normalize_time(text: str) -> str:
    """An ISO-8601 time (Event Grid sends up to 7 fractional digits) in the canonical form; "" when it has
    none: unparseable, overflowing when moved to UTC, or with a UTC year outside 1000-9999 (canonical
    times compare as text only with four-digit years: ``0009-01-01`` would sort after every real time)."""
    try:
        moment = datetime.fromisoformat(_FRACTION.sub(r"\1", text.strip()).replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        utc = moment.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return ""
    return format_time(utc) if 1000 <= utc.year <= 9999 else ""
