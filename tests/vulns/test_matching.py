"""Findings: one per flaw and package, with merged aliases, fixes, severity and counts per image."""

from __future__ import annotations

import io
import json
from collections.abc import Collection, Mapping, Sequence

from shared.vulns.debian_tracker import TrackerFeed
from shared.vulns.index import ImportResult, Lookup, MemoryIndex
from shared.vulns.matching import Matcher, package_keys, primary_id
from shared.vulns.packages import OsvQuery, PackageKey, PackageRef
from shared.vulns.severity import UNKNOWN, SeverityScore
from tests.vulns.alias_severity import pyyaml_records
from tests.vulns.support import advisory, affected

V3_HIGH = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"  # 7.5
V3_CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"  # 9.8
DEBIAN_TRACKER = "debian-security-tracker"


def _index(*records: object) -> MemoryIndex:
    index = MemoryIndex()
    index.import_records(records)  # type: ignore[arg-type]
    return index


class _Recording:
    """An advisory source answering from an index and recording the severity questions asked."""

    def __init__(self, index: MemoryIndex) -> None:
        self.index = index
        self.asked: list[list[str]] = []

    @property
    def snapshot(self) -> str:
        return self.index.snapshot

    def lookup(self, queries: Sequence[OsvQuery]) -> Lookup:
        return self.index.lookup(queries)

    def severities(self, ids: Collection[str]) -> Mapping[str, SeverityScore]:
        self.asked.append(list(ids))
        return self.index.severities(ids)

    def coverage(self) -> Mapping[str, int]:
        return self.index.coverage()


def _openssl(version: str) -> PackageRef:
    return PackageRef(f"pkg:deb/debian/libssl3@{version}?arch=amd64", name="libssl3", version=version,
                      source_name="openssl", distro_id="debian", distro_version="12")  # fmt: skip


def test_primary_id_rule() -> None:
    assert primary_id(["PYSEC-2021-1", "GHSA-aaaa", "CVE-2021-9999", "CVE-2021-10000"]) == "CVE-2021-9999"
    assert primary_id(["CVE-2022-1", "CVE-2021-50000"]) == "CVE-2021-50000"
    assert primary_id(["PYSEC-2021-1", "GHSA-bbbb", "GHSA-aaaa"]) == "GHSA-aaaa"
    assert primary_id(["PYSEC-2021-2", "GO-2021-1"]) == "GO-2021-1"


def test_aliases_merge_transitively_into_one_finding_per_package() -> None:
    index = _index(
        advisory(
            "PYSEC-2021-1", affected("PyPI", "jinja2", ("introduced", "0"), ("fixed", "2.11.3")), aliases=["CVE-2020-28493"]
        ),
        advisory(
            "GHSA-g3rq-g295-4j3m",
            affected("PyPI", "jinja2", ("introduced", "0"), ("fixed", "2.11.3")),
            aliases=["CVE-2020-28493"],
            severity=[{"type": "CVSS_V3", "score": V3_HIGH}],
            summary="ReDoS in Jinja2",
        ),
        advisory(
            "OSV-2021-5", affected("PyPI", "jinja2", ("introduced", "2.0"), ("fixed", "2.11.4")), aliases=["GHSA-g3rq-g295-4j3m"]
        ),
        advisory(
            "PYSEC-2019-2", affected("PyPI", "jinja2", ("introduced", "0"), ("fixed", "2.10.1")), aliases=["CVE-2019-10906"]
        ),
    )
    report = Matcher(index).match([PackageRef("pkg:pypi/Jinja2@2.10")])
    by_id = {f.id: f for f in report.findings}
    assert set(by_id) == {"CVE-2020-28493", "CVE-2019-10906"}
    merged = by_id["CVE-2020-28493"]
    assert merged.advisory_ids == ("GHSA-g3rq-g295-4j3m", "OSV-2021-5", "PYSEC-2021-1")
    assert merged.aliases == ("GHSA-g3rq-g295-4j3m", "OSV-2021-5", "PYSEC-2021-1")
    assert merged.fixed_versions == ("2.11.3", "2.11.4")
    assert (merged.severity.rating, merged.severity.score) == ("high", 7.5)
    assert merged.summary == "ReDoS in Jinja2"
    assert (merged.package, merged.ecosystem, merged.name, merged.installed_version) == (
        "pkg:pypi/Jinja2@2.10",
        "PyPI",
        "Jinja2",
        "2.10",
    )
    assert report.counts.high == 1 and report.counts.unknown == 1
    assert report.fixable == 2
    # Most severe first.
    assert [f.id for f in report.findings] == ["CVE-2020-28493", "CVE-2019-10906"]


def test_the_same_flaw_in_two_packages_is_two_findings() -> None:
    index = _index(
        advisory(
            "GHSA-xxxx",
            affected("PyPI", "a", ("introduced", "0"), ("fixed", "2.0")),
            affected("PyPI", "b", ("introduced", "0"), ("fixed", "3.0")),
            severity=[{"type": "CVSS_V3", "score": V3_CRITICAL}],
        )
    )
    report = Matcher(index).match([PackageRef("pkg:pypi/a@1.0"), PackageRef("pkg:pypi/b@2.5"), PackageRef("pkg:pypi/b@3.0")])
    assert [(f.package, f.fixed_versions) for f in report.findings] == [
        ("pkg:pypi/a@1.0", ("2.0",)),
        ("pkg:pypi/b@2.5", ("3.0",)),
    ]
    assert report.counts.critical == 2


def test_a_record_naming_matched_flaws_as_upstream_joins_their_findings() -> None:
    """A Debian DSA names its CVEs as upstream ids: it joins each matched DEBIAN-CVE finding; one naming
    a flaw no other record matched stays a finding of its own."""
    debian = "Debian:12"
    index = _index(
        advisory("DEBIAN-CVE-2024-1", affected(debian, "glibc", ("introduced", "0"), ("fixed", "2.36-9+deb12u7")),
                 upstream=["CVE-2024-1"]),
        advisory("DEBIAN-CVE-2024-2", affected(debian, "glibc", ("introduced", "0"), ("fixed", "2.36-9+deb12u8")),
                 upstream=["CVE-2024-2"]),
        advisory("DSA-5001-1", affected(debian, "glibc", ("introduced", "0"), ("fixed", "2.36-9+deb12u8")),
                 upstream=["CVE-2024-1", "DEBIAN-CVE-2024-1", "CVE-2024-2", "DEBIAN-CVE-2024-2"]),
        advisory("DSA-5002-1", affected(debian, "glibc", ("introduced", "0"), ("fixed", "2.36-9+deb12u9")),
                 upstream=["CVE-2024-3", "DEBIAN-CVE-2024-3"]),
    )
    report = Matcher(index).match([PackageRef("pkg:deb/debian/glibc@2.36-9+deb12u3?distro=debian-12")])
    assert {(f.id, f.advisory_ids, f.fixed_versions) for f in report.findings} == {
        ("DEBIAN-CVE-2024-1", ("DEBIAN-CVE-2024-1", "DSA-5001-1"), ("2.36-9+deb12u7", "2.36-9+deb12u8")),
        ("DEBIAN-CVE-2024-2", ("DEBIAN-CVE-2024-2", "DSA-5001-1"), ("2.36-9+deb12u8",)),
        ("DSA-5002-1", ("DSA-5002-1",), ("2.36-9+deb12u9",)),
    }
    assert report.counts.total == 3


def test_withdrawn_records_are_ignored_and_a_withdrawn_alias_does_not_hide_others() -> None:
    index = _index(
        advisory("GHSA-w", affected("npm", "lodash", ("introduced", "0"), kind="SEMVER"), withdrawn="2024-01-02T00:00:00Z"),
        advisory(
            "GHSA-v", affected("npm", "lodash", ("introduced", "0"), ("fixed", "4.17.21"), kind="SEMVER"), aliases=["GHSA-w"]
        ),
    )
    report = Matcher(index).match([PackageRef("pkg:npm/lodash@4.17.20")])
    assert [(f.id, f.advisory_ids) for f in report.findings] == [("GHSA-v", ("GHSA-v",))]


def test_counts_skipped_packages_keys_and_snapshot() -> None:
    index = _index(
        advisory(
            "GHSA-1",
            affected("PyPI", "a", ("introduced", "0")),
            severity=[{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N"}],
        ),
        advisory("GHSA-2", affected("PyPI", "a", ("introduced", "0")), database_specific={"severity": "LOW"}),
        advisory(
            "GHSA-3", affected("PyPI", "a", ("introduced", "0"), ("fixed", "9")), database_specific={"severity": "MODERATE"}
        ),
    )
    packages = [PackageRef("pkg:pypi/a@1.0"), PackageRef("pkg:generic/thing@1.0"), PackageRef("pkg:pypi/untouched@1.0")]
    report = Matcher(index).match(packages)
    assert (report.counts.low, report.counts.medium, report.counts.total) == (2, 1, 3)  # a 0.0 score counts as low
    assert report.fixable == 1
    assert report.packages == 3
    assert [p.package for p in report.skipped] == ["pkg:generic/thing@1.0"]
    assert report.keys == {PackageKey("PyPI", "a"), PackageKey("PyPI", "untouched")} == package_keys(packages)
    assert report.snapshot == index.snapshot


def test_an_import_names_the_keys_whose_images_must_be_matched_again(real_index: tuple[MemoryIndex, ImportResult]) -> None:
    """Stored SBOMs keep ``report.keys``; an import's ``changed_keys`` say which to re-match."""
    index = _index(advisory("PYSEC-2024-1", affected("PyPI", "flask", ("introduced", "0"), ("fixed", "2.0"))))
    image_a = Matcher(index).match([PackageRef("pkg:pypi/flask@1.0"), PackageRef("pkg:pypi/requests@2.0")])
    image_b = Matcher(index).match([PackageRef("pkg:pypi/django@4.0")])
    result = index.import_records(
        [advisory("PYSEC-2024-2", affected("PyPI", "requests", ("introduced", "0"), ("fixed", "2.31")))]
    )
    assert [bool(image.keys & result.changed_keys) for image in (image_a, image_b)] == [True, False]
    again = Matcher(index).match([PackageRef("pkg:pypi/flask@1.0"), PackageRef("pkg:pypi/requests@2.0")])
    assert again.counts.total == image_a.counts.total + 1
    assert again.snapshot != image_a.snapshot


def test_a_realistic_python_image(real_index: tuple[MemoryIndex, ImportResult]) -> None:
    index, _ = real_index
    report = Matcher(index).match(
        [
            PackageRef("pkg:pypi/django@3.2.0"),
            PackageRef("pkg:pypi/requests@2.25.0"),
            PackageRef("pkg:pypi/pyyaml@5.3"),
            PackageRef("pkg:pypi/pip@23.3.1"),
            PackageRef("pkg:pypi/setuptools@65.5.0"),
            PackageRef("pkg:pypi/werkzeug@3.0.0"),
            PackageRef("pkg:golang/stdlib@go1.21.0"),
        ]
    )
    names = {f.name for f in report.findings}
    assert {"django", "requests", "pyyaml", "setuptools", "stdlib"} <= names
    pyyaml = next(f for f in report.findings if f.name == "pyyaml" and f.id == "CVE-2020-14343")
    assert (pyyaml.fixed_versions, pyyaml.advisory_ids, pyyaml.severity.rating) == (("5.4",), ("PYSEC-2021-142",), "unknown")
    werkzeug = next(f for f in report.findings if f.advisory_ids == ("PYSEC-2023-221",))
    assert (werkzeug.id, werkzeug.aliases) == ("CVE-2023-46136", ("GHSA-hrfv-mqp8-q5rw", "PYSEC-2023-221"))
    assert werkzeug.fixed_versions == ("3.0.1",)  # the fix of the interval 3.0.0 is in, not 2.3.8
    assert (werkzeug.severity.rating, werkzeug.severity.score, werkzeug.severity.type) == ("high", 7.5, "CVSS_V3")
    assert report.counts.total == len(report.findings)
    assert sum(getattr(report.counts, r) for r in ("critical", "high", "medium", "low", "unknown")) == report.counts.total
    assert all(f.references for f in report.findings)


def test_a_finding_without_a_rating_borrows_its_aliases_rating_in_one_call() -> None:
    """GitHub's record of the flaw starts at 5.1, PyPA's at 0: at 3.12 only PyPA's (unrated) record
    matches, and the finding takes the GitHub record's rating through the shared ids."""
    source = _Recording(
        _index(
            *pyyaml_records(),
            advisory(
                "PYSEC-2020-96",
                affected("PyPI", "pyyaml", ("introduced", "0"), ("fixed", "5.3.1")),
                aliases=["CVE-2020-1747"],
                severity=[{"type": "CVSS_V3", "score": V3_HIGH}],
            ),
        )
    )
    report = Matcher(source).match([PackageRef("pkg:pypi/pyyaml@3.12")])
    by_id = {f.id: f for f in report.findings}
    borrowed = by_id["CVE-2020-14343"]
    assert borrowed.advisory_ids == ("PYSEC-2021-142",)
    assert borrowed.severity == SeverityScore("critical", 9.8, "CVSS_V3", V3_CRITICAL, "GHSA-8q59-q68h-6hv4", "CVSS_V3")
    assert by_id["CVE-2020-1747"].severity == SeverityScore("high", 7.5, "CVSS_V3", V3_HIGH, "PYSEC-2020-96", "CVSS_V3")
    assert by_id["CVE-2019-1"].severity == UNKNOWN  # no record anywhere rates it
    assert (report.counts.critical, report.counts.high, report.counts.unknown) == (1, 1, 1)
    assert [f.id for f in report.findings] == ["CVE-2020-14343", "CVE-2020-1747", "CVE-2019-1"]
    # One call, only for the findings still unknown: each one's GHSA ids first, then CVE ids, then the rest.
    assert source.asked == [["CVE-2019-1", "GHSA-8q59-q68h-6hv4", "PYSEC-2019-1", "CVE-2020-14343", "PYSEC-2021-142"]]
    Matcher(source).match([PackageRef("pkg:pypi/pyyaml@5.3.1")])  # only GitHub's record matches: rated, nothing asked
    assert len(source.asked) == 1


def test_a_distributions_own_rating_beats_an_aliases_cvss_for_os_packages() -> None:
    github = {"severity": [{"type": "CVSS_V3", "score": V3_CRITICAL}]}
    index = _index(
        advisory(
            "DEBIAN-CVE-2099-0005",
            affected("Debian:12", "openssl", ("introduced", "0"), ("fixed", "3.0.20-1")),
            upstream=["CVE-2099-0005"],
            database_specific={"source": DEBIAN_TRACKER, "urgency": "low"},
        ),
        advisory("GHSA-aaaa-aaaa-aaaa", affected("npm", "x", ("introduced", "0")), aliases=["CVE-2099-0005"], **github),
        advisory(
            "DEBIAN-CVE-2099-0006",
            affected("Debian:12", "openssl", ("introduced", "0"), ("fixed", "3.0.20-1")),
            upstream=["CVE-2099-0006"],
            database_specific={"source": DEBIAN_TRACKER, "urgency": "not yet assigned"},
        ),
        advisory("GHSA-bbbb-bbbb-bbbb", affected("npm", "y", ("introduced", "0")), aliases=["CVE-2099-0006"], **github),
    )
    report = Matcher(index).match([_openssl("3.0.19-1")])
    by_id = {f.id: f for f in report.findings}
    assert by_id["DEBIAN-CVE-2099-0005"].severity == SeverityScore(
        "low", None, "database_specific", "", "DEBIAN-CVE-2099-0005", "Debian urgency"
    )
    # No urgency yet: the upstream CVE's rating, borrowed from the GitHub record carrying it.
    assert by_id["DEBIAN-CVE-2099-0006"].severity == SeverityScore(
        "critical", 9.8, "CVSS_V3", V3_CRITICAL, "GHSA-bbbb-bbbb-bbbb", "CVSS_V3"
    )


def test_a_language_package_prefers_an_aliases_rating_to_a_distributions_word() -> None:
    index = _index(
        advisory("UBUNTU-CVE-2099-7", affected("PyPI", "a", ("introduced", "0")), aliases=["CVE-2099-7"],
                 severity=[{"type": "Ubuntu", "score": "low"}]),
        advisory("GHSA-cccc-cccc-cccc", affected("npm", "a", ("introduced", "0")), aliases=["CVE-2099-7"],
                 database_specific={"severity": "HIGH"}),
        advisory("UBUNTU-CVE-2099-8", affected("PyPI", "a", ("introduced", "0")), severity=[{"type": "Ubuntu", "score": "low"}]),
    )  # fmt: skip
    by_id = {f.id: f for f in Matcher(index).match([PackageRef("pkg:pypi/a@1.0")]).findings}
    assert by_id["CVE-2099-7"].severity == SeverityScore("high", None, "database_specific", "", "GHSA-cccc-cccc-cccc", "GitHub")
    assert by_id["UBUNTU-CVE-2099-8"].severity == SeverityScore("low", None, "Ubuntu", "", "UBUNTU-CVE-2099-8", "Ubuntu priority")


def test_debian_tracker_records_are_rated_by_their_releases_urgency() -> None:
    """Records read from the Debian security tracker's JSON: each release's urgency rates its own
    entry; a release without one borrows the CVE's rating from a record that carries it."""
    repositories = {"bookworm": "3.0.19-1~deb12u2"}
    tracker = {
        "openssl": {
            "CVE-2099-0010": {"description": "crafted", "releases": {
                "bookworm": {"status": "open", "urgency": "medium", "repositories": repositories},
                "trixie": {"status": "open", "urgency": "high**", "repositories": {"trixie": "3.5.0-1"}},
            }},
            "CVE-2099-0011": {"description": "crafted", "releases": {
                "bookworm": {"status": "resolved", "fixed_version": "3.0.20-1", "urgency": "not yet assigned",
                             "repositories": repositories},
                "trixie": {"status": "open", "urgency": "low", "repositories": {"trixie": "3.5.0-1"}},
            }},
        }
    }  # fmt: skip
    index = MemoryIndex()
    result = index.import_records(TrackerFeed(io.BytesIO(json.dumps(tracker).encode())).read())
    assert (result.added, result.problems) == (2, ())
    index.import_records(
        [advisory("GHSA-dddd-dddd-dddd", affected("npm", "z", ("introduced", "0")), aliases=["CVE-2099-0011"],
                  severity=[{"type": "CVSS_V3", "score": V3_CRITICAL}])]
    )  # fmt: skip
    by_id = {f.id: f for f in Matcher(index).match([_openssl("3.0.19-1~deb12u2")]).findings}
    assert by_id["CVE-2099-0010"].severity == SeverityScore(
        "medium", None, "database_specific", "", "DEBIAN-TRACKER-CVE-2099-0010-openssl", "Debian urgency"
    )
    assert by_id["CVE-2099-0011"].severity == SeverityScore(
        "critical", 9.8, "CVSS_V3", V3_CRITICAL, "GHSA-dddd-dddd-dddd", "CVSS_V3"
    )


def test_coverage_says_which_ecosystems_were_checked_against_nothing() -> None:
    index = _index(advisory("PYSEC-2026-9", affected("PyPI", "requests", ("introduced", "0"), ("fixed", "2.0"))),
                   advisory("DEBIAN-CVE-2026-1", affected("Debian:11", "zlib", ("introduced", "0"), ("fixed", "1:1.2"))))
    assert index.coverage() == {"Debian:11": 1, "PyPI": 1}
    report = Matcher(index).match([
        PackageRef("pkg:pypi/requests@1.0", name="requests", version="1.0"),
        _openssl("3.0.11-1~deb12u2"),
        PackageRef("pkg:deb/debian/libssl-dev@3.0.11-1~deb12u2?arch=amd64", name="libssl-dev",
                   version="3.0.11-1~deb12u2", source_name="openssl", distro_id="debian", distro_version="12"),
    ])
    assert [(c.ecosystem, c.packages, c.advisories) for c in report.coverage] == [("Debian:12", 2, 0), ("PyPI", 1, 1)]
    assert report.warnings == ("no advisories loaded for Debian:12: its 2 packages were not checked",)
    assert [f.id for f in report.findings] == ["PYSEC-2026-9"]
    empty = Matcher(MemoryIndex()).match([PackageRef("pkg:pypi/requests@1.0", name="requests", version="1.0")])
    assert empty.warnings == ("no advisories loaded for PyPI: its 1 package was not checked",)
