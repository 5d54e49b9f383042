"""Ratings borrowed through ids: the severity-by-id contract of an advisory mirror (see
:mod:`shared.vulns.index`) as one scenario that every mirror runs (the memory index in
``test_index``, the Table storage mirror in ``tests/store``), and GitHub-shaped records to lend them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shared.vulns.index import AdvisoryMirror
from shared.vulns.model import Advisory
from shared.vulns.packages import PackageKey
from shared.vulns.severity import SeverityScore
from tests.vulns.support import advisory, affected

V3_HIGH = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"  # 7.5
V3_CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"  # 9.8
HIGH_FROM_AAAA = SeverityScore("high", 7.5, "CVSS_V3", V3_HIGH, "GHSA-aaaa-aaaa-aaaa", "CVSS_V3")
CRITICAL_FROM_CCCC = SeverityScore("critical", 9.8, "CVSS_V3", V3_CRITICAL, "GHSA-cccc-cccc-cccc", "CVSS_V3")
ASKED = ["CVE-2024-20", "GHSA-aaaa-aaaa-aaaa", "GHSA-cccc-cccc-cccc", "PYSEC-2024-20", "UBUNTU-CVE-2024-20",
         "CVE-2024-21", "GHSA-bbbb-bbbb-bbbb", "CVE-2024-99"]  # fmt: skip
FLASK = PackageKey("PyPI", "flask")
UBUNTU = PackageKey("Ubuntu:22.04:LTS", "python-flask")
OTHER = PackageKey("PyPI", "other")
NPM = PackageKey("npm", "left-pad")


def _ghsa_cccc(rated: bool, modified: str) -> Advisory:
    fields: dict[str, object] = {"severity": [{"type": "CVSS_V3", "score": V3_CRITICAL}]} if rated else {}
    return advisory("GHSA-cccc-cccc-cccc", affected("npm", "left-pad", ("introduced", "0"), kind="SEMVER"),
                    aliases=["CVE-2024-20"], modified=modified, **fields)  # fmt: skip


def check_severity_by_id(mirror: AdvisoryMirror) -> None:
    """Import, add, change and remove records and check the ratings filed by id after each step,
    and that each import names the package keys of the records naming an id whose rating changed."""
    first = mirror.import_records(
        [
            advisory("PYSEC-2024-20", affected("PyPI", "flask", ("introduced", "0"), ("fixed", "3.0")),
                     aliases=["CVE-2024-20", "GHSA-aaaa-aaaa-aaaa"]),
            advisory("GHSA-aaaa-aaaa-aaaa", affected("PyPI", "other", ("introduced", "0")), aliases=["CVE-2024-20"],
                     severity=[{"type": "CVSS_V3", "score": V3_HIGH}], database_specific={"severity": "HIGH"}),
            advisory("UBUNTU-CVE-2024-20", affected("Ubuntu:22.04:LTS", "python-flask", ("introduced", "0")),
                     upstream=["CVE-2024-20"], severity=[{"type": "Ubuntu", "score": "high"}]),
            advisory("GHSA-bbbb-bbbb-bbbb", affected("PyPI", "flask", ("introduced", "0")), aliases=["CVE-2024-21"],
                     severity=[{"type": "CVSS_V3", "score": V3_CRITICAL}], withdrawn="2024-02-01T00:00:00Z"),
        ]
    )  # fmt: skip
    assert first.problems == ()
    # The GitHub record rates itself, under its id and alias; Ubuntu's priority and a withdrawn record lend nothing.
    assert dict(mirror.severities(ASKED)) == {"CVE-2024-20": HIGH_FROM_AAAA, "GHSA-aaaa-aaaa-aaaa": HIGH_FROM_AAAA}

    added = mirror.import_records([_ghsa_cccc(True, "2024-03-01T00:00:00Z")])
    assert dict(mirror.severities(ASKED)) == {
        "CVE-2024-20": CRITICAL_FROM_CCCC,  # the more severe of the two records carrying it
        "GHSA-aaaa-aaaa-aaaa": HIGH_FROM_AAAA,
        "GHSA-cccc-cccc-cccc": CRITICAL_FROM_CCCC,
    }
    # Every record naming CVE-2024-20 (as id, alias or upstream id) may now borrow another rating.
    assert added.changed_keys == {FLASK, UBUNTU, OTHER, NPM}

    unrated = mirror.import_records([_ghsa_cccc(False, "2024-04-01T00:00:00Z")])
    assert dict(mirror.severities(ASKED)) == {"CVE-2024-20": HIGH_FROM_AAAA, "GHSA-aaaa-aaaa-aaaa": HIGH_FROM_AAAA}
    assert unrated.changed_keys == {FLASK, UBUNTU, OTHER, NPM}

    unrelated = mirror.import_records([advisory("PYSEC-2024-30", affected("PyPI", "jinja2", ("introduced", "0")))])
    assert unrelated.changed_keys == {PackageKey("PyPI", "jinja2")}

    # A complete PyPI feed without the GitHub record removes it: nothing rates CVE-2024-20 any more.
    kept = [
        advisory("PYSEC-2024-20", affected("PyPI", "flask", ("introduced", "0"), ("fixed", "3.0")),
                 aliases=["CVE-2024-20", "GHSA-aaaa-aaaa-aaaa"]),
        advisory("PYSEC-2024-30", affected("PyPI", "jinja2", ("introduced", "0"))),
        advisory("GHSA-bbbb-bbbb-bbbb", affected("PyPI", "flask", ("introduced", "0")), aliases=["CVE-2024-21"],
                 severity=[{"type": "CVSS_V3", "score": V3_CRITICAL}], withdrawn="2024-02-01T00:00:00Z"),
    ]  # fmt: skip
    removed = mirror.import_records(kept, complete_ecosystems=["PyPI"])
    assert (removed.removed, removed.changed_ids) == (1, frozenset({"GHSA-aaaa-aaaa-aaaa"}))
    assert dict(mirror.severities(ASKED)) == {}
    assert removed.changed_keys == {FLASK, UBUNTU, OTHER, NPM}


def ghsa_record(
    ghsa_id: str,
    published: str,
    cve: str,
    summary: str,
    ecosystem: str,
    package: str,
    ranges: list[list[dict[str, str]]],
    severity: str,
    vectors: list[tuple[str, str]],
    cwe: str,
) -> dict[str, Any]:
    """An OSV record in the shape GitHub's advisory database publishes (reviewed, one package)."""
    return {
        "schema_version": "1.4.0",
        "id": ghsa_id,
        "modified": "2024-11-19T19:36:05Z",
        "published": published,
        "aliases": [cve],
        "summary": summary,
        "details": f"{summary}.",
        "severity": [{"type": kind, "score": vector} for kind, vector in vectors],
        "affected": [
            {
                "package": {"ecosystem": ecosystem, "name": package},
                "ranges": [{"type": "ECOSYSTEM", "events": events} for events in ranges],
            }
        ],
        "references": [
            {"type": "ADVISORY", "url": f"https://nvd.nist.gov/vuln/detail/{cve}"},
            {"type": "ADVISORY", "url": f"https://github.com/advisories/{ghsa_id}"},
        ],
        "database_specific": {
            "cwe_ids": [cwe],
            "severity": severity,
            "github_reviewed": True,
            "github_reviewed_at": published,
            "nvd_published_at": None,
        },
    }


def write_github_database(root: Path, records: list[dict[str, Any]]) -> Path:
    """``records`` laid out as GitHub's repository lays them out under ``root``; returns ``root``."""
    for record in records:
        year, month = record["published"][:4], record["published"][5:7]
        path = root / "advisories" / "github-reviewed" / year / month / record["id"] / f"{record['id']}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, indent=2), encoding="utf-8")
    return root


def pyyaml_records() -> list[Advisory]:
    """PyPA's unrated record of CVE-2020-14343 and GitHub's rated one, which starts later (5.1)."""
    return [
        advisory(
            "PYSEC-2021-142",
            affected("PyPI", "pyyaml", ("introduced", "0"), ("fixed", "5.4")),
            aliases=["CVE-2020-14343", "GHSA-8q59-q68h-6hv4"],
        ),
        advisory(
            "GHSA-8q59-q68h-6hv4",
            affected("PyPI", "PyYAML", ("introduced", "5.1"), ("fixed", "5.4")),
            aliases=["CVE-2020-14343"],
            severity=[{"type": "CVSS_V3", "score": V3_CRITICAL}],
            database_specific={"severity": "CRITICAL", "github_reviewed": True},
        ),
        advisory("PYSEC-2019-1", affected("PyPI", "pyyaml", ("introduced", "0"), ("fixed", "5.1")), aliases=["CVE-2019-1"]),
    ]
