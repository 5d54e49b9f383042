"""Importing feeds in the app: one result per feed, a failing feed reported without stopping the rest."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from shared.vulns.index import MemoryIndex
from shared.vulns.service import PROGRESS_EVERY, Vulnerabilities, refresh_due
from testkit.memory_records import MemoryAffected, MemoryImages, MemoryReports, MemorySboms, MemorySummaries

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(("imported_at", "due"), [
    (None, True), ("", True), ("not a time", True),
    ("2026-06-01T08:00:00+00:00", False), ("2026-06-01T07:00:00Z", True), ("2026-05-31T12:00:00+00:00", True),
])
def test_an_import_is_due_unless_a_recent_one_happened(imported_at: str | None, due: bool) -> None:
    assert refresh_due(imported_at, NOW) is due


def write_records(root: Path, count: int) -> Path:
    root.mkdir()
    for number in range(count):
        record = {"id": f"PYSEC-2026-{number}", "modified": "2026-01-01T00:00:00Z",
                  "affected": [{"package": {"ecosystem": "PyPI", "name": f"pkg{number}"}, "versions": ["1.0"]}]}
        (root / f"PYSEC-2026-{number}.json").write_text(json.dumps(record))
    return root


def test_each_feed_is_imported_and_a_bad_one_is_reported_without_stopping_the_others(tmp_path: Path) -> None:
    sboms, images = MemorySboms(), MemoryImages()
    mirror = MemoryIndex()
    service = Vulnerabilities(source=mirror, reports=MemoryReports(), sboms=sboms, images=images,
                              affected=MemoryAffected(), summaries=MemorySummaries())
    seen: list[tuple[str, int]] = []
    good = write_records(tmp_path / "good", PROGRESS_EVERY + 5)
    done = service.import_feeds(mirror, [str(tmp_path / "missing"), str(good)],
                                progress=lambda name, count: seen.append((name, count)))
    assert [d.source for d in done] == [str(tmp_path / "missing"), str(good)]
    assert done[0].result is None and done[0].error and "neither a directory nor a file" in done[0].error
    assert "failed after" in done[0].summary()
    assert done[1].result is not None and done[1].result.added == PROGRESS_EVERY + 5 and done[1].error is None
    assert done[1].summary().startswith(f"{good}: {PROGRESS_EVERY + 5} added, 0 updated")
    assert seen == [(str(good), PROGRESS_EVERY), (str(good), PROGRESS_EVERY + 5)]
    again = service.import_feeds(mirror, [str(good)])
    assert again[0].result is not None and again[0].result.changed == 0
