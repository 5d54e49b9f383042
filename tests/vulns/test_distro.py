"""Distribution packages: crafted Debian and Alpine records in OSV schema, matched against the
installed versions of real package databases (testdata/debian: a Debian 12 dpkg status; testdata/alpine:
an Alpine 3.19 apk database), by source package, in the distribution's release ecosystem."""

from __future__ import annotations

import subprocess

from shared.vulns.index import MemoryIndex
from shared.vulns.matching import Matcher, MatchReport
from shared.vulns.packages import PackageRef
from tests.vulns.support import TESTDATA, advisory, affected, apk_packages, dpkg_packages

DEBIAN_RECORDS = [
    advisory(
        "DSA-9001-1", affected("Debian:12", "glibc", ("introduced", "0"), ("fixed", "2.36-9+deb12u15")), aliases=["CVE-2025-0001"]
    ),
    advisory(
        "DEBIAN-CVE-2025-0001",
        affected("Debian:12", "glibc", ("introduced", "0"), ("fixed", "2.36-9+deb12u15")),
        aliases=["CVE-2025-0001"],
    ),
    advisory("DSA-9002-1", affected("Debian:12", "openssl", ("introduced", "0"), ("fixed", "3.0.19-1~deb12u2"))),
    advisory("DSA-9003-1", affected("Debian:12", "openssl", ("introduced", "0"), ("fixed", "3.0.19-1~deb12u3"))),
    advisory("DSA-9004-1", affected("Debian:12", "bash", ("introduced", "0"), ("fixed", "5.2.15-2+b9"))),
    advisory("DSA-9005-1", affected("Debian:12", "shadow", ("introduced", "0"), ("fixed", "1:4.13+dfsg1-1+deb12u2"))),
    advisory("DSA-9006-1", affected("Debian:12", "shadow", ("introduced", "0"), ("fixed", "4.14-1"))),
    advisory("DSA-9007-1", affected("Debian:12", "zlib", ("introduced", "0"), ("fixed", "1:1.2.13.dfsg-1+deb12u1"))),
    advisory("DEBIAN-CVE-2025-0002", affected("Debian:12", "gzip", versions=("1.12-1",))),
    advisory("DEBIAN-CVE-2025-0003", affected("Debian", "systemd", ("introduced", "0"), ("fixed", "252.39-1~deb12u1"))),
    advisory("DEBIAN-CVE-2025-0004", affected("Debian:11", "glibc", ("introduced", "0"), ("fixed", "2.31-13+deb11u99"))),
    advisory("DEBIAN-CVE-2025-0005", affected("Debian:12", "curl", ("introduced", "0")), withdrawn="2025-02-01T00:00:00Z"),
    advisory("DEBIAN-CVE-2025-0006", affected("Debian:12", "tar", ("introduced", "0"))),
    advisory(
        "DEBIAN-CVE-2025-0007", affected("Debian:12", "libc6", ("introduced", "0"), ("fixed", "9:9"))
    ),  # a binary name: no match
]


def _by_package(report: MatchReport) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for finding in report.findings:
        out.setdefault(finding.package.split("@")[0].rsplit("/", 1)[1], set()).update(finding.advisory_ids)
    return out


def _dpkg_lt(a: str, b: str) -> bool:
    return subprocess.run(["dpkg", "--compare-versions", a, "lt", b], check=False).returncode == 0


def test_debian_packages_match_by_source_package_and_version() -> None:
    packages = dpkg_packages(TESTDATA / "debian")
    index = MemoryIndex()
    index.import_records(DEBIAN_RECORDS)

    report = Matcher(index).match(packages)

    assert _by_package(report) == {
        "libc6": {"DSA-9001-1", "DEBIAN-CVE-2025-0001"},  # glibc 2.36-9+deb12u14 < +deb12u15
        "libssl3": {"DSA-9003-1"},  # openssl 3.0.19-1~deb12u2: fixed by DSA-9002-1, not by DSA-9003-1
        "openssl": {"DSA-9003-1"},
        "bash": {"DSA-9004-1"},  # the source version 5.2.15-2 is compared, not the binNMU 5.2.15-2+b8
        "login": {"DSA-9005-1"},  # epoch 1: 1:4.13+... is above 4.14-1
        "zlib1g": {"DSA-9007-1"},
        "gzip": {"DEBIAN-CVE-2025-0002"},  # no Source: field, the binary name is the source name
        "libsystemd0": {"DEBIAN-CVE-2025-0003"},  # a release-less "Debian" record applies to Debian 12
        "tar": {"DEBIAN-CVE-2025-0006"},
    }
    glibc = next(f for f in report.findings if f.name == "glibc")
    assert glibc.id == "CVE-2025-0001"  # two records of one flaw: one finding
    assert glibc.ecosystem == "Debian:12"
    assert glibc.fixed_versions == ("2.36-9+deb12u15",)
    assert report.counts.unknown == report.counts.total == 9  # no severity in these records
    assert report.fixable == 7  # no fix known for tar (open range) nor gzip (listed version only)
    assert report.problems == ()
    # dpkg agrees with every version comparison behind those answers.
    installed = {p.source_name or p.name: p.source_version or p.version for p in packages}
    for record in DEBIAN_RECORDS:
        entry = record.affected[0]
        assert entry.package is not None
        fixed = [e.version for r in entry.ranges for e in r.events if e.kind == "fixed"]
        if entry.package.ecosystem.startswith("Debian") and fixed and entry.package.name in installed:
            version = installed[entry.package.name]
            assert version is not None
            hit = any(record.id in f.advisory_ids for f in report.findings)
            assert hit == (_dpkg_lt(version, fixed[0]) and entry.package.ecosystem != "Debian:11"), record.id


ALPINE_RECORDS = [
    advisory("ALPINE-CVE-2025-0001", affected("Alpine:v3.19", "busybox", ("introduced", "0"), ("fixed", "1.36.1-r16"))),
    advisory("ALPINE-CVE-2025-0002", affected("Alpine:v3.19", "openssl", ("introduced", "0"), ("fixed", "3.1.4-r6"))),
    advisory("ALPINE-CVE-2025-0003", affected("Alpine:v3.19", "musl", ("introduced", "0"), ("fixed", "1.2.4_git20230717-r5"))),
    advisory("ALPINE-CVE-2025-0004", affected("Alpine:v3.19", "musl", ("introduced", "0"), ("fixed", "1.2.4-r0"))),
    advisory("ALPINE-CVE-2025-0005", affected("Alpine:v3.19", "zlib", ("introduced", "0"), ("fixed", "1.3.1-r0"))),
    advisory("ALPINE-CVE-2025-0006", affected("Alpine:v3.18", "zlib", ("introduced", "0"), ("fixed", "1.3.1-r9"))),
    advisory("ALPINE-CVE-2025-0007", affected("Alpine:v3.19", "pax-utils", ("introduced", "0"), ("fixed", "1.3.7-r2"))),
    advisory(
        "ALPINE-CVE-2025-0008",
        affected("Alpine:v3.19", "ca-certificates", ("introduced", "20230506-r0"), ("fixed", "20241121-r0")),
    ),
]


def test_alpine_packages_match_by_origin_in_the_release_branch() -> None:
    packages = apk_packages(TESTDATA / "alpine")
    index = MemoryIndex()
    index.import_records(ALPINE_RECORDS)

    report = Matcher(index).match(packages)

    assert _by_package(report) == {
        "busybox": {"ALPINE-CVE-2025-0001"},
        "busybox-binsh": {"ALPINE-CVE-2025-0001"},
        "ssl_client": {"ALPINE-CVE-2025-0001"},
        "libcrypto3": {"ALPINE-CVE-2025-0002"},
        "libssl3": {"ALPINE-CVE-2025-0002"},
        "musl": {"ALPINE-CVE-2025-0003"},  # 1.2.4_git20230717 sorts after 1.2.4-r0 and before ..._git20230717-r5
        "musl-utils": {"ALPINE-CVE-2025-0003"},
        "ca-certificates-bundle": {"ALPINE-CVE-2025-0008"},
    }
    assert all(f.ecosystem == "Alpine:v3.19" for f in report.findings)
    assert report.fixable == len(report.findings) == 8


def test_an_unparseable_installed_version_is_reported() -> None:
    index = MemoryIndex()
    index.import_records(DEBIAN_RECORDS)
    report = Matcher(index).match([PackageRef("pkg:deb/debian/libc6@not_a_version?upstream=glibc&distro=debian-12")])
    assert report.findings == ()
    (problem,) = report.problems
    assert problem.code == "unevaluated"
    assert "not a Debian version" in problem.message
    assert "DSA-9001-1" in problem.message
    assert problem.package.startswith("pkg:deb/debian/libc6")
