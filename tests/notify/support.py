"""Reports and notices for the notification tests, in the stored report JSON's shape."""

from __future__ import annotations

from typing import Any

from shared.notify.model import Notice, NoticeFinding

SCORES = {"critical": 9.8, "high": 7.5, "medium": 5.0, "low": 2.0}


def finding(advisory: str, name: str, version: str, rating: str, *, fixed: tuple[str, ...] = (),
            suppressed: bool = False) -> dict[str, Any]:
    """One finding as :func:`shared.vulns.report.finding_json` writes it."""
    value: dict[str, Any] = {
        "id": advisory, "aliases": [], "advisory_ids": [advisory], "package": f"pkg:pypi/{name}@{version}",
        "ecosystem": "PyPI", "name": name, "installed_version": version, "fixed_versions": list(fixed),
        "fixable": bool(fixed), "severity": {"rating": rating, "score": SCORES.get(rating), "type": "CVSS_V3",
                                             "vector": "", "source": advisory, "origin": "CVSS_V3"},
        "summary": f"{name} is vulnerable", "references": [], "modified": "2026-01-01T00:00:00.000000Z",
        "locations": [],
    }
    if suppressed:
        value["suppressed"] = {"status": "not_affected"}
    return value


def report(digest: str, *findings: dict[str, Any]) -> dict[str, Any]:
    """A platform report holding ``findings``."""
    return {"platform": "linux/amd64", "digest": digest, "findings": list(findings)}


def notice_with(count: int, level: str = "critical") -> Notice:
    """A new-finding notice with ``count`` findings of ``level``."""
    findings = tuple(NoticeFinding(id=f"CVE-2026-{n:04d}", package=f"pkg:pypi/p{n}@1.0", name=f"p{n}", version="1.0",
                                   level=level, fixed_versions=("1.1",)) for n in range(count))
    return Notice(event="new-finding", registry="r.example", repository="team/app", digest="sha256:" + "a" * 64,
                  trigger="rematch", findings=findings, counts={level: count})
