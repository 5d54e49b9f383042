"""Findings: one per flaw and package, with merged aliases, fixes, severity and counts per image."""

from __future__ import annotations

from shared.vulns.index import ImportResult, MemoryIndex
from shared.vulns.matching import Matcher, package_keys, primary_id
from shared.vulns.packages import PackageKey, PackageRef
from tests.vulns.support import advisory, affected

V3_HIGH = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"  # 7.5
V3_CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"  # 9.8


def _index(*records: object) -> MemoryIndex:
    index = MemoryIndex()
    index.import_records(records)  # type: ignore[arg-type]
    return index


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
