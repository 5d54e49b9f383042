"""Sweep cursors on Azurite: absent until recorded, one per scope, cleared when a sweep goes round."""

from __future__ import annotations

from shared.wiring import Services


def test_a_cursor_is_kept_per_scope_and_cleared(svc: Services) -> None:
    cursors = svc.sweep_cursors
    assert cursors.last_finished("all") is None
    cursors.record("all", ("abc123", "team/app"), "2026-01-01T00:00:00.000000Z")
    cursors.record("integration:abc123", ("abc123", "a/b#c?d"), "2026-01-01T00:00:01.000000Z")
    assert cursors.last_finished("all") == ("abc123", "team/app")
    assert cursors.last_finished("integration:abc123") == ("abc123", "a/b#c?d")
    cursors.record("all", ("def456", "z"), "2026-01-01T00:00:02.000000Z")
    assert cursors.last_finished("all") == ("def456", "z")
    cursors.record("all", None, "2026-01-01T00:00:03.000000Z")
    assert cursors.last_finished("all") is None
    assert cursors.last_finished("integration:abc123") == ("abc123", "a/b#c?d")
