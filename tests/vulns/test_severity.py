"""Severity: CVSS base scores and ratings, textual fallbacks, distribution words, who gave a rating,
and which rating a finding prefers."""

from __future__ import annotations

import pytest

from shared.vulns.model import Severity
from shared.vulns.severity import (
    UNKNOWN,
    SeverityScore,
    best,
    cvss_score,
    is_os_ecosystem,
    rate,
    rating_of,
    self_rating,
    wants_borrowed,
)
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


def test_a_rating_names_its_record_and_origin() -> None:
    record = advisory(
        "PYSEC-2024-1", affected("PyPI", "x", ("introduced", "0")), severity=[{"type": "CVSS_V3", "score": V3_MEDIUM}]
    )
    assert rate(record, record.affected[0])[0] == SeverityScore("medium", 5.4, "CVSS_V3", V3_MEDIUM, "PYSEC-2024-1", "CVSS_V3")
    github = advisory(
        "GHSA-aaaa-bbbb-cccc", affected("npm", "x", ("introduced", "0")), database_specific={"severity": "MODERATE"}
    )
    assert rate(github)[0] == SeverityScore("medium", None, "database_specific", "", "GHSA-aaaa-bbbb-cccc", "GitHub")
    other = advisory("RUSTSEC-2024-1", affected("crates.io", "x", ("introduced", "0")), database_specific={"severity": "low"})
    assert (rate(other)[0].origin, rate(other)[0].source) == ("database_specific", "RUSTSEC-2024-1")
    ubuntu = advisory("UBUNTU-CVE-2024-1", affected("Ubuntu:22.04:LTS", "x", ("introduced", "0")),
                      severity=[{"type": "Ubuntu", "score": "medium"}])  # fmt: skip
    assert rate(ubuntu)[0] == SeverityScore("medium", None, "Ubuntu", "", "UBUNTU-CVE-2024-1", "Ubuntu priority")
    assert rate(advisory("PYSEC-2024-2", affected("PyPI", "x", ("introduced", "0"))))[0] == UNKNOWN


@pytest.mark.parametrize(
    ("urgency", "rating"),
    [
        ("high", "high"),
        ("medium", "medium"),
        ("low", "low"),
        ("unimportant", "low"),
        ("low**", "low"),
        ("not yet assigned", "unknown"),
        ("end-of-life", "unknown"),
    ],
)
def test_debian_urgency(urgency: str, rating: str) -> None:
    tracker = {"source": "debian-security-tracker", "urgency": urgency}
    record = advisory("DEBIAN-CVE-2024-1", affected("Debian:12", "openssl", ("introduced", "0")), database_specific=tracker)
    score = rate(record, record.affected[0])[0]
    expected = SeverityScore(rating, None, "database_specific", "", "DEBIAN-CVE-2024-1", "Debian urgency")
    assert score == (expected if rating != "unknown" else UNKNOWN)
    entry = affected("Debian:12", "openssl", ("introduced", "0"))
    entry["database_specific"] = tracker
    per_entry = advisory("DEBIAN-CVE-2024-2", entry)
    assert rate(per_entry, per_entry.affected[0])[0].rating == rating


def test_an_urgency_from_elsewhere_is_not_debians() -> None:
    record = advisory("X-1", affected("Debian:12", "openssl", ("introduced", "0")), database_specific={"urgency": "high"})
    assert rate(record)[0] == UNKNOWN


def test_cvss_then_a_publishers_word_then_a_distributions_word() -> None:
    both = advisory(
        "UBUNTU-CVE-2024-2",
        affected("Ubuntu:22.04:LTS", "x", ("introduced", "0")),
        severity=[{"type": "Ubuntu", "score": "high"}],
        database_specific={"severity": "low"},
    )
    assert (rate(both)[0].rating, rate(both)[0].origin) == ("low", "database_specific")
    scored = advisory(
        "UBUNTU-CVE-2024-3",
        affected("Ubuntu:22.04:LTS", "x", ("introduced", "0")),
        severity=[{"type": "Ubuntu", "score": "high"}, {"type": "CVSS_V3", "score": V3_MEDIUM}],
    )
    assert (rate(scored)[0].rating, rate(scored)[0].origin) == ("medium", "CVSS_V3")


def test_what_a_record_lends_through_its_ids() -> None:
    entry = affected("npm", "x", ("introduced", "0"))
    entry["severity"] = [{"type": "CVSS_V3", "score": V3_CRITICAL}]
    per_entry = advisory("GHSA-1111-2222-3333", affected("npm", "y", ("introduced", "0")), entry)
    assert self_rating(per_entry) == SeverityScore("critical", 9.8, "CVSS_V3", V3_CRITICAL, "GHSA-1111-2222-3333", "CVSS_V3")
    ubuntu = advisory("UBUNTU-CVE-2024-4", affected("Ubuntu:22.04:LTS", "x", ("introduced", "0")),
                      severity=[{"type": "Ubuntu", "score": "high"}])  # fmt: skip
    assert self_rating(ubuntu) == UNKNOWN  # a distribution's word stays with its packages
    tracker = {"source": "debian-security-tracker", "urgency": "high"}
    assert self_rating(advisory("DEBIAN-CVE-2024-3", affected("Debian:12", "x"), database_specific=tracker)) == UNKNOWN
    withdrawn = advisory("GHSA-4444-5555-6666", affected("npm", "x", ("introduced", "0")),
                         severity=[{"type": "CVSS_V3", "score": V3_CRITICAL}], withdrawn="2024-02-01T00:00:00Z")  # fmt: skip
    assert self_rating(withdrawn) == UNKNOWN
    github = advisory("GHSA-7777-8888-9999", affected("PyPI", "x", ("introduced", "0")), database_specific={"severity": "HIGH"})
    assert self_rating(github) == SeverityScore("high", None, "database_specific", "", "GHSA-7777-8888-9999", "GitHub")


def test_best_prefers_cvss_then_words_then_distribution_words_then_severity_then_source() -> None:
    cvss_low = SeverityScore("low", 1.8, "CVSS_V3", "v", "GHSA-b", "CVSS_V3")
    word_critical = SeverityScore("critical", None, "database_specific", "", "GHSA-a", "GitHub")
    distro_high = SeverityScore("high", None, "Ubuntu", "", "UBUNTU-CVE-1", "Ubuntu priority")
    assert best([distro_high, word_critical, cvss_low]) == cvss_low
    assert best([distro_high, word_critical]) == word_critical
    assert best([distro_high, UNKNOWN]) == distro_high
    assert best([UNKNOWN]) == best([]) == UNKNOWN
    high_a = SeverityScore("high", 7.5, "CVSS_V3", "v", "GHSA-a", "CVSS_V3")
    high_b = SeverityScore("high", 8.1, "CVSS_V3", "v", "GHSA-b", "CVSS_V3")
    assert best([high_a, high_b]) == best([high_b, high_a]) == high_b
    same_c = SeverityScore("high", 7.5, "CVSS_V3", "v", "GHSA-c", "CVSS_V3")
    assert best([same_c, high_a]) == best([high_a, same_c]) == high_a


def test_which_findings_borrow_a_rating() -> None:
    distro = SeverityScore("low", None, "database_specific", "", "DEBIAN-CVE-1", "Debian urgency")
    word = SeverityScore("medium", None, "database_specific", "", "GHSA-a", "GitHub")
    assert wants_borrowed(UNKNOWN, "PyPI") and wants_borrowed(UNKNOWN, "Debian:12")
    assert not wants_borrowed(distro, "Debian:12")  # the distribution's own rating stands for OS packages
    assert wants_borrowed(distro, "PyPI")
    assert not wants_borrowed(word, "PyPI")
    assert [is_os_ecosystem(e) for e in ("Debian:12", "Ubuntu:22.04:LTS", "Alpine:v3.19", "Wolfi", "PyPI", "npm", "Go")] == [
        True, True, True, True, False, False, False,
    ]  # fmt: skip


def test_an_entrys_own_urgency_counts_before_the_records() -> None:
    record_urgency = {"source": "debian-security-tracker", "urgency": "high"}
    entries = []
    for urgency in ("medium", "not yet assigned"):
        entry = affected("Debian:12", "openssl", ("introduced", "0"))
        entry["database_specific"] = {"source": "debian-security-tracker", "status": "open", "urgency": urgency}
        entries.append(entry)
    entries.append(affected("Debian:11", "openssl", ("introduced", "0")))
    record = advisory("DEBIAN-TRACKER-CVE-2099-1-openssl", *entries, database_specific=record_urgency)
    assert [rate(record, entry)[0].rating for entry in record.affected] == ["medium", "unknown", "high"]
