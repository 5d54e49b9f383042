"""Severity: CVSS base scores and ratings, and textual fallbacks."""

from __future__ import annotations

import pytest

from shared.vulns.model import Severity
from shared.vulns.severity import cvss_score, rate, rating_of
from tests.vulns.support import advisory, affected

V3_CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"  # 9.8 in the CVSS 3.1 calculator
V3_MEDIUM = "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N"  # 5.4
V4_MEDIUM = "CVSS:4.0/AV:N/AC:L/AT:N/PR:H/UI:N/VC:L/VI:L/VA:N/SC:N/SI:N/SA:N"  # 5.1, the schema's example


@pytest.mark.parametrize(
    ("kind", "vector", "score", "rating"),
    [
        ("CVSS_V3", V3_CRITICAL, 9.8, "critical"),
        ("CVSS_V3", V3_MEDIUM, 5.4, "medium"),
        ("CVSS_V3", "CVSS:3.0/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.8, "low"),
        ("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0, "none"),
        ("CVSS_V4", V4_MEDIUM, 5.1, "medium"),
        ("CVSS_V2", "AV:N/AC:L/Au:N/C:P/I:P/A:P", 7.5, "high"),
    ],
)
def test_cvss_scores(kind: str, vector: str, score: float, rating: str) -> None:
    result = cvss_score(Severity(kind, vector))
    assert (result.score, result.rating, result.type, result.vector) == (score, rating, kind, vector)


def test_rating_scale_boundaries() -> None:
    assert [rating_of(s) for s in (0.0, 0.1, 3.9, 4.0, 6.9, 7.0, 8.9, 9.0, 10.0)] == [
        "none", "low", "low", "medium", "medium", "high", "high", "critical", "critical",
    ]  # fmt: skip


def test_v3_is_preferred_over_v4_and_bad_vectors_are_skipped_and_reported() -> None:
    record = advisory(
        "GHSA-1",
        affected("PyPI", "x", ("introduced", "0")),
        severity=[
            {"type": "CVSS_V4", "score": V4_MEDIUM},
            {"type": "CVSS_V3", "score": "CVSS:3.1/AV:X"},
            {"type": "CVSS_V3", "score": V3_CRITICAL},
        ],
    )
    score, problems = rate(record, record.affected[0])
    assert (score.type, score.score) == ("CVSS_V3", 9.8)
    assert len(problems) == 1 and "does not parse" in problems[0]
    only_v4 = advisory("GHSA-2", affected("PyPI", "x", ("introduced", "0")), severity=[{"type": "CVSS_V4", "score": V4_MEDIUM}])
    assert rate(only_v4)[0].rating == "medium"


def test_an_affected_entrys_own_severity_wins() -> None:
    entry = affected("Debian:12", "openssl", ("introduced", "0"))
    entry["severity"] = [{"type": "CVSS_V3", "score": V3_MEDIUM}]
    record = advisory("DSA-1-1", entry, severity=[{"type": "CVSS_V3", "score": V3_CRITICAL}])
    assert rate(record, record.affected[0])[0].score == 5.4


@pytest.mark.parametrize(
    ("fields", "entry_fields", "rating", "source"),
    [
        ({"database_specific": {"severity": "MODERATE"}}, {}, "medium", "database_specific"),
        ({}, {"database_specific": {"severity": "HIGH"}}, "high", "database_specific"),
        ({}, {"ecosystem_specific": {"severity": "critical"}}, "critical", "ecosystem_specific"),
        ({"severity": [{"type": "Ubuntu", "score": "negligible"}]}, {}, "low", "Ubuntu"),
        ({"database_specific": {"severity": "whatever"}}, {}, "unknown", ""),
        ({}, {}, "unknown", ""),
    ],
)
def test_textual_fallbacks(fields: dict[str, object], entry_fields: dict[str, object], rating: str, source: str) -> None:
    entry = affected("PyPI", "x", ("introduced", "0"))
    entry.update(entry_fields)
    record = advisory("GHSA-3", entry, **fields)
    score, _ = rate(record, record.affected[0])
    assert (score.rating, score.score, score.type) == (rating, None, source)
