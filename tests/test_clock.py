"""Canonical times: every time that has one orders correctly as text; the others have none."""

from __future__ import annotations

import pytest

from shared.clock import normalize_time


@pytest.mark.parametrize(("text", "canonical"), [
    ("2018-04-25T21:39:47.6549614Z", "2018-04-25T21:39:47.654961Z"),
    ("2026-01-01T01:00:00+01:00", "2026-01-01T00:00:00.000000Z"),
    ("2026-01-01T00:00:00", "2026-01-01T00:00:00.000000Z"),
    ("0001-01-01T00:00:00+14:00", ""),  # overflows when moved to UTC
    ("0009-01-01T00:00:00Z", ""),  # no four-digit year: would sort after every real time
    ("9999-12-31T23:59:59-01:00", ""),
    ("yesterday", ""),
    ("", ""),
])
def test_normalize_time(text: str, canonical: str) -> None:
    assert normalize_time(text) == canonical
