"""What tests put in images and advisory feeds: installed-package evidence as layer entries, and OSV records."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

METADATA = "Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: test\n"
"""A dist-info ``METADATA`` file (what pip writes), to be formatted with ``name`` and ``version``."""

SITE_PACKAGES = "usr/local/lib/python3.11/site-packages"
"""Where the official Python images install distributions (a layer path, without a leading slash)."""


def dist_info(name: str, version: str, site: str = SITE_PACKAGES) -> dict[str, str]:
    """An installed Python distribution under ``site``: its ``METADATA`` and an empty ``RECORD``, as layer entries."""
    base = f"{site}/{name}-{version}.dist-info"
    return {f"{base}/METADATA": METADATA.format(name=name, version=version), f"{base}/RECORD": ""}


def npm_package(name: str, version: str) -> dict[str, str]:
    """An installed npm package under ``app/node_modules``: its ``package.json``, as a layer entry."""
    return {f"app/node_modules/{name}/package.json": json.dumps({"name": name, "version": version})}


def osv_record(record_id: str, ecosystem: str, name: str, fixed: str | None, *, aliases: tuple[str, ...] = (),
               severity: str | None = None, modified: str = "2026-01-01T00:00:00Z") -> dict[str, Any]:
    """An OSV record (schema 1.6.0) as JSON data: ``name`` in ``ecosystem`` affected from version 0, fixed in
    ``fixed`` (never fixed when None), summarized as "<name> flaw", with one advisory reference at
    ``https://example.test/<record_id>`` and a CVSS v3 vector as its severity when given.

    ``modified`` is also the publication time.
    """
    events: list[dict[str, str]] = [{"introduced": "0"}, *([{"fixed": fixed}] if fixed else [])]
    record: dict[str, Any] = {
        "schema_version": "1.6.0", "id": record_id, "modified": modified, "published": modified,
        "aliases": list(aliases), "summary": f"{name} flaw", "details": "crafted for the test",
        "affected": [{"package": {"ecosystem": ecosystem, "name": name},
                      "ranges": [{"type": "ECOSYSTEM", "events": events}]}],
        "references": [{"type": "ADVISORY", "url": f"https://example.test/{record_id}"}],
    }
    if severity:
        record["severity"] = [{"type": "CVSS_V3", "score": severity}]
    return record


def write_records(root: Path, records: Mapping[str, dict[str, Any]]) -> Path:
    """Write ``records`` (path below ``root`` → OSV record) as JSON files, a directory feed; returns ``root``."""
    for path, record in records.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(json.dumps(record))
    return root
