"""GitHub's advisory database imports as a plain OSV feed, and lends its ratings to PyPA's records.

The GHSA records here are hand-written in the shape GitHub publishes (``github/advisory-database``:
OSV JSON under ``advisories/github-reviewed/<year>/<month>/<id>/<id>.json``, with CVSS vectors in
``severity`` and GitHub's word in ``database_specific.severity``). They sit beside the real PyPA
records of PyYAML shipped in ``../shared/advisories``, which carry no severity. The record of
CVE-2017-18342 gives GitHub's word only, and an affected range narrower than PyPA's, as happens
when the two databases disagree: at 4.2b1 only PyPA's record matches, and borrows the rating.
"""

from __future__ import annotations

import pytest

from shared.vulns.feeds import DirectoryFeed
from shared.vulns.index import MemoryIndex
from shared.vulns.matching import Finding, Matcher
from shared.vulns.packages import PackageRef
from shared.vulns.report import finding_json, severity_text
from shared.vulns.severity import SeverityScore
from tests.vulns.alias_severity import ghsa_record, write_github_database
from tests.vulns.support import PYPA

V3_CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"  # 9.8
V3_LODASH = "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H"  # 7.2
V3_CROSS_SPAWN = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"  # 7.5
V4_CROSS_SPAWN = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N"  # 8.7
GITHUB_RECORDS = [
    ghsa_record("GHSA-8q59-q68h-6hv4", "2021-03-25T21:26:26Z", "CVE-2020-14343", "Improper Input Validation in PyYAML",
                "PyPI", "PyYAML", [[{"introduced": "0"}, {"fixed": "5.4"}]], "CRITICAL", [("CVSS_V3", V3_CRITICAL)], "CWE-20"),
    ghsa_record("GHSA-rprw-h62v-c2w7", "2018-07-26T15:12:33Z", "CVE-2017-18342", "PyYAML unsafe load", "PyPI", "PyYAML",
                [[{"introduced": "0"}, {"fixed": "4.1"}]], "CRITICAL", [], "CWE-502"),
    ghsa_record("GHSA-35jh-r3h4-6jhm", "2021-05-06T16:05:51Z", "CVE-2021-23337", "Command Injection in lodash", "npm",
                "lodash", [[{"introduced": "0"}, {"fixed": "4.17.21"}]], "HIGH", [("CVSS_V3", V3_LODASH)], "CWE-77"),
    ghsa_record("GHSA-3xgq-45jj-v275", "2024-11-08T18:30:46Z", "CVE-2024-21538",
                "Regular Expression Denial of Service in cross-spawn", "npm", "cross-spawn",
                [[{"introduced": "0"}, {"fixed": "6.0.6"}], [{"introduced": "7.0.0"}, {"fixed": "7.0.5"}]],
                "HIGH", [("CVSS_V3", V3_CROSS_SPAWN), ("CVSS_V4", V4_CROSS_SPAWN)], "CWE-1333"),
]  # fmt: skip


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> MemoryIndex:
    built = MemoryIndex()
    pypa = built.import_records(DirectoryFeed(PYPA / "pyyaml").read())
    github = built.import_records(DirectoryFeed(write_github_database(tmp_path_factory.mktemp("github"), GITHUB_RECORDS)).read())
    assert (pypa.problems, github.problems) == ((), ())
    assert (pypa.added, github.added) == (4, 4)
    return built


def _findings(index: MemoryIndex, purl: str) -> dict[str, Finding]:
    return {f.id: f for f in Matcher(index).match([PackageRef(purl)]).findings}


def test_pypa_alone_leaves_pyyaml_unrated() -> None:
    pypa_only = MemoryIndex()
    pypa_only.import_records(DirectoryFeed(PYPA / "pyyaml").read())
    report = Matcher(pypa_only).match([PackageRef("pkg:pypi/pyyaml@4.2b1")])
    assert {f.id for f in report.findings} == {"CVE-2017-18342", "CVE-2020-14343"}
    assert report.counts.unknown == 2


def test_a_pysec_record_borrows_githubs_word_through_its_alias(index: MemoryIndex) -> None:
    findings = _findings(index, "pkg:pypi/pyyaml@4.2b1")
    unsafe_load = findings["CVE-2017-18342"]
    assert unsafe_load.advisory_ids == ("PYSEC-2018-49",)  # GitHub's range ends at 4.1: only PyPA's record matches
    assert unsafe_load.severity == SeverityScore("critical", None, "database_specific", "", "GHSA-rprw-h62v-c2w7", "GitHub")
    assert severity_text(unsafe_load.severity) == "critical (GitHub GHSA-rprw-h62v-c2w7)"
    merged = findings["CVE-2020-14343"]
    assert merged.advisory_ids == ("GHSA-8q59-q68h-6hv4", "PYSEC-2021-142")
    assert merged.severity == SeverityScore("critical", 9.8, "CVSS_V3", V3_CRITICAL, "GHSA-8q59-q68h-6hv4", "CVSS_V3")
    assert finding_json(merged)["severity"] == {
        "rating": "critical", "score": 9.8, "type": "CVSS_V3", "vector": V3_CRITICAL,
        "source": "GHSA-8q59-q68h-6hv4", "origin": "CVSS_V3",
    }  # fmt: skip


def test_a_flaw_no_record_rates_stays_unknown(index: MemoryIndex) -> None:
    """At 5.3 PyPA's PYSEC-2020-96 (CVE-2020-1747) matches and no GitHub record of it is imported:
    it stays unknown. Ratings are filed under GitHub's ids and aliases, not under PyPA's ids."""
    findings = _findings(index, "pkg:pypi/pyyaml@5.3")
    assert findings["CVE-2020-1747"].severity == SeverityScore()
    assert findings["CVE-2020-14343"].severity.source == "GHSA-8q59-q68h-6hv4"
    assert index.severities(["PYSEC-2021-142", "CVE-2020-14343", "CVE-2020-1747"]) == {
        "CVE-2020-14343": SeverityScore("critical", 9.8, "CVSS_V3", V3_CRITICAL, "GHSA-8q59-q68h-6hv4", "CVSS_V3")
    }


def test_npm_records_import_with_their_cvss(index: MemoryIndex) -> None:
    (lodash,) = _findings(index, "pkg:npm/lodash@4.17.20").values()
    assert (lodash.id, lodash.fixed_versions) == ("CVE-2021-23337", ("4.17.21",))
    assert lodash.severity == SeverityScore("high", 7.2, "CVSS_V3", V3_LODASH, "GHSA-35jh-r3h4-6jhm", "CVSS_V3")
    assert severity_text(lodash.severity) == "high 7.2 (GHSA-35jh-r3h4-6jhm)"
    (cross_spawn,) = _findings(index, "pkg:npm/cross-spawn@7.0.3").values()
    assert cross_spawn.fixed_versions == ("7.0.5",)
    # CVSS v3.1 is preferred to the v4.0 vector GitHub also gives (8.7).
    assert cross_spawn.severity == SeverityScore("high", 7.5, "CVSS_V3", V3_CROSS_SPAWN, "GHSA-3xgq-45jj-v275", "CVSS_V3")
    assert _findings(index, "pkg:npm/cross-spawn@7.0.5") == {}
