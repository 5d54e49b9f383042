"""Vulnerability reports of a real image: pushed to the test registry, analyzed, matched against the
shipped PyPA and Go advisories plus crafted Debian records; the SBOM-to-matcher mapping; JSON and text."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest

from shared.analysis import ImageAnalysis, OSInfo, Package, analyze_image
from shared.errors import InvalidInput
from shared.vulns.index import MemoryIndex
from shared.vulns.matching import Finding, Matcher, SeverityCounts
from shared.vulns.model import Advisory
from shared.vulns.packages import osv_query
from shared.vulns.report import (
    ImageReport,
    Location,
    PlatformReport,
    finding_from_json,
    finding_json,
    image_json,
    image_text,
    level_of,
    match_image,
    match_platform,
    parse_levels,
    platform_json,
    select,
    severity_text,
    summary_line,
)
from shared.vulns.sbom_refs import package_ref
from shared.vulns.severity import UNKNOWN, SeverityScore
from testkit.images import push_image
from testkit.registry import RegistryServer
from tests.analysis.helpers import squashed, tree
from tests.vulns.support import (
    FINDING_KEYS,
    SITE_PACKAGES,
    advisory_index,
    vulnerable_layers,
)

"""A real Go executable (Debian's docker-registry, go1.19.8): its standard library has many Go advisories."""


def push_vulnerable_image(registry: RegistryServer) -> tuple[str, str]:
    """Push the :func:`vulnerable_layers` image as ``<repo>:1.0``; returns ``(repository, tag)``."""
    repository = f"vulns/{uuid.uuid4().hex[:12]}"
    push_image(registry, repository, "1.0", vulnerable_layers())
    return repository, "1.0"


@pytest.fixture(scope="module")
def analysis(registry: RegistryServer) -> Iterator[ImageAnalysis]:
    repository, tag = push_vulnerable_image(registry)
    with registry.client(registry.readonly) as client:
        yield analyze_image(client, repository, tag)


@pytest.fixture(scope="module")
def index(pypa_records: list[Advisory], go_records: list[Advisory], tmp_path_factory: pytest.TempPathFactory) -> MemoryIndex:
    return advisory_index([*pypa_records, *go_records], tmp_path_factory.mktemp("advisories"))


@pytest.fixture(scope="module")
def report(analysis: ImageAnalysis, index: MemoryIndex) -> ImageReport:
    return match_image(analysis, index)


@pytest.fixture(scope="module")
def amd64(report: ImageReport) -> PlatformReport:
    assert [p.platform for p in report.platforms] == ["linux/amd64"]
    return report.platforms[0]


def by_package(report: PlatformReport, name: str) -> dict[str, Finding]:
    """The findings of the SBOM package ``name``, by finding id."""
    return {f.id: f for f in report.findings if any(p.name == name for p in report.packages_of(f))}


def sbom_package(analysis: ImageAnalysis, name: str) -> Package:
    return next(p for p in analysis.platforms[0].packages if p.name == name)


# -- from SBOM packages to the matcher -----------------------------------------------------------


def test_dpkg_packages_are_referred_to_by_source_package_and_release(analysis: ImageAnalysis) -> None:
    os_info = analysis.platforms[0].os
    assert os_info is not None and (os_info.id, os_info.version_id) == ("debian", "12")
    libssl = package_ref(sbom_package(analysis, "libssl3"), os_info)
    assert (libssl.source_name, libssl.source_version) == ("openssl", "3.0.19-1~deb12u2")
    assert (libssl.distro_id, libssl.distro_version) == ("debian", "12")
    query = osv_query(libssl)
    assert (query.ecosystem, query.name, query.version) == ("Debian:12", "openssl", "3.0.19-1~deb12u2")
    bash = osv_query(package_ref(sbom_package(analysis, "bash"), os_info))  # binNMU: 5.2.15-2+b8 built from 5.2.15-2
    assert (bash.name, bash.version) == ("bash", "5.2.15-2")
    zlib = osv_query(package_ref(sbom_package(analysis, "zlib1g"), os_info))
    assert (zlib.name, zlib.version) == ("zlib", "1:1.2.13.dfsg-1")


def test_apk_packages_are_referred_to_by_origin() -> None:
    os_info, packages, _, _ = squashed([tree("apk")])
    libcrypto = package_ref(next(p for p in packages if p.name == "libcrypto3"), os_info)
    assert libcrypto.source_name == "openssl" and libcrypto.source_version is None
    query = osv_query(libcrypto)
    assert (query.ecosystem, query.name, query.version) == ("Alpine:v3.19", "openssl", "3.1.4-r5")


def test_language_packages_keep_their_purl_name_and_version(analysis: ImageAnalysis) -> None:
    os_info = analysis.platforms[0].os
    jinja = package_ref(sbom_package(analysis, "Jinja2"), os_info)
    assert (jinja.purl, jinja.type, jinja.name, jinja.version) == ("pkg:pypi/jinja2@2.10", "pypi", "Jinja2", "2.10")
    assert jinja.source_name is None
    stdlib = osv_query(package_ref(sbom_package(analysis, "stdlib"), os_info))
    assert (stdlib.ecosystem, stdlib.name, stdlib.version) == ("Go", "stdlib", "1.19.8")


def test_release_from_the_codename_or_from_the_purl() -> None:
    package = Package("deb", "libc6", "2.38-1", "pkg:deb/debian/libc6@2.38-1?distro=debian-12", "sha256:" + "0" * 64,
                      "/var/lib/dpkg/status", "dpkg", {"source": "glibc", "source_version": "2.38-1"})  # fmt: skip
    testing = package_ref(package, OSInfo("debian", None, "trixie"))
    assert testing.distro_version == "trixie" and osv_query(testing).ecosystem == "Debian:13"
    unknown = package_ref(package, None)
    assert (unknown.distro_id, unknown.distro_version) == (None, None)
    assert osv_query(unknown).ecosystem == "Debian:12"  # from the purl's distro qualifier


# -- matching an image ----------------------------------------------------------------------------


def test_python_packages_match_the_pypa_advisories(amd64: PlatformReport, index: MemoryIndex) -> None:
    urllib3 = by_package(amd64, "urllib3")
    assert {"CVE-2023-43804", "CVE-2023-45803", "CVE-2021-33503"} <= set(urllib3)
    cookie = urllib3["CVE-2023-43804"]
    assert (cookie.ecosystem, cookie.name, cookie.installed_version) == ("PyPI", "urllib3", "1.26.4")
    assert cookie.fixed_versions == ("1.26.17",) and cookie.fixable
    assert (cookie.severity.rating, cookie.severity.score) == ("high", 8.1)
    assert "PYSEC-2023-192" in cookie.aliases
    for finding in urllib3.values():  # the PyPA records' explicit version lists agree with the range evaluation
        listed = {v for a in finding.advisory_ids if (r := index.get(a)) for e in r.affected for v in e.versions}
        assert "1.26.4" in listed, finding.id
    assert {"CVE-2019-10906", "CVE-2020-28493"} <= set(by_package(amd64, "Jinja2"))
    assert by_package(amd64, "requests") == {}  # 2.34.2 is newer than every fix


def test_the_go_binary_matches_the_go_advisories(amd64: PlatformReport, analysis: ImageAnalysis) -> None:
    stdlib = by_package(amd64, "stdlib")
    assert len(stdlib) > 50
    html = stdlib["CVE-2023-24539"]
    assert "GO-2023-1751" in html.advisory_ids and html.fixed_versions == ("1.19.9",)
    assert html.installed_version == "1.19.8" and html.ecosystem == "Go"
    go_layer = analysis.platforms[0].layers[2].digest
    assert amd64.locations(html) == (Location("/usr/local/bin/registry", go_layer),)


def test_debian_packages_match_by_source_package_in_debian_12(amd64: PlatformReport, analysis: ImageAnalysis) -> None:
    flaw = [f for f in amd64.findings if f.id == "CVE-2099-0001"]
    assert sorted(f.package.split("@")[0] for f in flaw) == ["pkg:deb/debian/libssl3", "pkg:deb/debian/openssl"]
    for finding in flaw:
        assert (finding.ecosystem, finding.name, finding.installed_version) == ("Debian:12", "openssl", "3.0.19-1~deb12u2")
        assert finding.advisory_ids == ("DEBIAN-CVE-2099-0001",) and finding.aliases == ("DEBIAN-CVE-2099-0001",)
        assert (finding.severity.rating, finding.severity.score) == ("critical", 9.8)
        assert amd64.locations(finding) == (Location("/var/lib/dpkg/status", analysis.platforms[0].layers[0].digest),)
    zlib = by_package(amd64, "zlib1g")
    assert list(zlib) == ["CVE-2099-0002"] and zlib["CVE-2099-0002"].fixed_versions == ("1:1.2.13.dfsg-1+deb12u1",)
    ids = {a for f in amd64.findings for a in f.advisory_ids}
    assert "DEBIAN-CVE-2099-0003" not in ids  # names the binary package
    assert "DEBIAN-CVE-2099-0004" not in ids  # another release


def test_counts_summarize_the_findings(amd64: PlatformReport) -> None:
    assert amd64.counts == SeverityCounts.of(amd64.findings)
    assert amd64.counts.critical == 2 and amd64.counts.high >= 1 and amd64.counts.unknown > 50
    assert amd64.fixable == sum(f.fixable for f in amd64.findings) == len(amd64.findings)
    assert amd64.match.packages == len(amd64.packages) and not amd64.match.skipped and not amd64.match.problems
    ranks = [f.severity.rank() for f in amd64.findings]
    assert ranks == sorted(ranks, reverse=True)


def test_one_matcher_serves_every_platform(analysis: ImageAnalysis, index: MemoryIndex, amd64: PlatformReport) -> None:
    matcher = Matcher(index)
    again = match_platform(analysis.platforms[0], matcher)
    assert again.findings == amd64.findings and again.match.snapshot == index.snapshot


# -- filters --------------------------------------------------------------------------------------


def test_select_by_severity_and_fixable(amd64: PlatformReport) -> None:
    severe = select(amd64, levels={"critical", "high"})
    assert severe.findings and {level_of(f) for f in severe.findings} == {"critical", "high"}
    assert (severe.counts.medium, severe.counts.unknown) == (0, 0)
    assert severe.counts.total == len(severe.findings) == severe.fixable
    assert select(amd64, fixable=True) is amd64  # every finding here has a fix
    unfixed = replace(amd64.findings[0], fixed_versions=())
    partial = replace(amd64, match=replace(amd64.match, findings=(unfixed, *amd64.findings[1:])))
    assert len(select(partial, fixable=True).findings) == len(amd64.findings) - 1
    assert select(amd64, levels={"low"}).counts == SeverityCounts()


def test_parse_levels() -> None:
    assert parse_levels("Critical, high") == {"critical", "high"}
    for bad in ("severe", "", " , ", "high,nope"):
        with pytest.raises(InvalidInput, match="critical, high, medium, low, unknown"):
            parse_levels(bad)


# -- JSON -----------------------------------------------------------------------------------------


def test_finding_json_shape_and_round_trip(amd64: PlatformReport, analysis: ImageAnalysis) -> None:
    finding = by_package(amd64, "urllib3")["CVE-2023-43804"]
    document = finding_json(finding, amd64.locations(finding))
    assert set(document) == FINDING_KEYS
    assert document["package"] == "pkg:pypi/urllib3@1.26.4"
    assert document["severity"] == {
        "rating": "high", "score": 8.1, "type": "CVSS_V3", "vector": "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:N",
        "source": "PYSEC-2023-192", "origin": "CVSS_V3",
    }  # fmt: skip
    metadata = f"{SITE_PACKAGES}/urllib3-1.26.4.dist-info/METADATA"
    assert document["locations"] == [{"path": metadata, "layer": analysis.platforms[0].layers[1].digest}]
    assert document["modified"].endswith("Z") and all(set(r) == {"type", "url"} for r in document["references"])
    for each in amd64.findings:
        text = json.dumps(finding_json(each))
        assert finding_from_json(json.loads(text)) == each
    with pytest.raises(InvalidInput):
        finding_from_json({"id": "x"})


def test_findings_stored_before_severity_sources_still_read(amd64: PlatformReport) -> None:
    finding = by_package(amd64, "urllib3")["CVE-2023-43804"]
    document = json.loads(json.dumps(finding_json(finding)))
    del document["severity"]["source"], document["severity"]["origin"]
    old = finding_from_json(document)
    assert old.severity == SeverityScore("high", 8.1, "CVSS_V3", finding.severity.vector)
    assert (old.severity.source, old.severity.origin) == ("", "")
    assert severity_text(old.severity) == "high 8.1"
    assert (
        finding_from_json({**document, "severity": {"rating": "unknown", "score": None, "type": "", "vector": ""}}).severity
        == UNKNOWN
    )


def test_severity_text_names_who_rated() -> None:
    assert (
        severity_text(SeverityScore("high", 7.5, "CVSS_V3", "v", "GHSA-aaaa-bbbb-cccc", "CVSS_V3"))
        == "high 7.5 (GHSA-aaaa-bbbb-cccc)"
    )
    assert severity_text(SeverityScore("medium", None, "database_specific", "", "GHSA-aaaa-bbbb-cccc", "GitHub")) == (
        "medium (GitHub GHSA-aaaa-bbbb-cccc)"
    )
    assert severity_text(SeverityScore("low", None, "database_specific", "", "DEBIAN-CVE-2099-1", "Debian urgency")) == (
        "low (Debian urgency DEBIAN-CVE-2099-1)"
    )
    assert severity_text(UNKNOWN) == "unknown"


def test_platform_and_image_json(report: ImageReport, amd64: PlatformReport) -> None:
    document = json.loads(json.dumps(image_json(report)))
    assert set(document) == {"reference", "digest", "snapshot", "warnings", "platforms"}
    assert document["warnings"] == ["no advisories loaded for npm: its 5 packages were not checked"]
    assert document["reference"].endswith(":1.0") and document["digest"] == report.digest
    platform = document["platforms"][0]
    assert platform == json.loads(json.dumps(platform_json(amd64)))
    assert set(platform) == {"platform", "digest", "os", "snapshot", "coverage", "warnings", "packages", "counts",
                             "findings", "problems", "skipped"}
    assert platform["coverage"]["npm"] == {"packages": 5, "advisories": 0}
    assert platform["coverage"]["PyPI"]["advisories"] > 2000
    assert platform["os"]["id"] == "debian"
    assert platform["counts"] == {
        "total": len(amd64.findings), "critical": 2, "high": amd64.counts.high, "medium": amd64.counts.medium,
        "low": amd64.counts.low, "unknown": amd64.counts.unknown, "fixable": amd64.fixable,
    }  # fmt: skip
    assert all(set(f) == FINDING_KEYS for f in platform["findings"])
    assert all(f["locations"] for f in platform["findings"])


# -- text -----------------------------------------------------------------------------------------


def test_summary_line() -> None:
    counts = SeverityCounts(critical=1, high=3, medium=5, low=2, unknown=1)
    assert summary_line(counts, 7) == "12 vulnerabilities: 1 critical, 3 high, 5 medium, 2 low, 1 unknown (7 fixable)"
    assert summary_line(SeverityCounts(low=1), 0) == "1 vulnerability: 0 critical, 0 high, 0 medium, 1 low, 0 unknown (0 fixable)"
    assert summary_line(SeverityCounts(), 0).startswith("0 vulnerabilities: 0 critical")


def test_table_starts_with_the_summary_line(report: ImageReport, amd64: PlatformReport) -> None:
    lines = image_text(report).splitlines()
    assert lines[0] == summary_line(amd64.counts, amd64.fixable)
    assert lines[1].startswith(f"{report.reference} linux/amd64 {amd64.digest}: Debian GNU/Linux 12 (bookworm), ")
    assert lines[2] == "warning: no advisories loaded for npm: its 5 packages were not checked"
    assert re.split(r"\s{2,}", lines[4]) == ["SEVERITY", "ID", "PACKAGE", "INSTALLED", "FIXED IN"]
    rows = [re.split(r"\s{2,}", line) for line in lines[5:]]
    assert len(rows) == len(amd64.findings)
    assert ["high 8.1 (PYSEC-2023-192)", "CVE-2023-43804", "urllib3", "1.26.4", "1.26.17"] in rows
    assert ["critical 9.8 (DEBIAN-CVE-2099-0001)", "CVE-2099-0001", "libssl3 (openssl)", "3.0.19-1~deb12u2",
            "3.0.19-1~deb12u3"] in rows  # fmt: skip
    assert ["unknown", "CVE-2023-24539", "stdlib", "1.19.8", "1.19.9"] in rows
    assert rows[0][0] == "critical 9.8 (DEBIAN-CVE-2099-0001)"


def test_text_without_findings_or_platforms(amd64: PlatformReport) -> None:
    clean = select(amd64, levels={"low"})
    text = image_text(ImageReport("registry.test/app:1", "sha256:" + "1" * 64, (clean,)))
    assert text.splitlines()[0] == "0 vulnerabilities: 0 critical, 0 high, 0 medium, 0 low, 0 unknown (0 fixable)"
    assert "SEVERITY" not in text and len(text.splitlines()) == 3
    assert text.splitlines()[2].startswith("warning: no advisories loaded for npm")
    assert image_text(ImageReport("registry.test/app:1", "sha256:" + "1" * 64, ())).startswith("0 vulnerabilities")
