"""Distribution packages: crafted Debian and Alpine records in OSV schema, matched against the
installed versions of real package databases (testdata/debian: a Debian 12 dpkg status; testdata/alpine:
an Alpine 3.19 apk database), by source package, in the distribution's release ecosystem.

The second part reads the real-shaped records of testdata/distro (Debian, Ubuntu, Alpine, Wolfi and
Chainguard) through the feeds, and matches them against images whose packages come from the real
catalogers: every binary of a source package gets the finding, and a release's records stay in it."""

from __future__ import annotations

import re
import subprocess
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest

from shared.vulns.feeds import DirectoryFeed, ZipFeed
from shared.vulns.index import MemoryIndex
from shared.vulns.matching import Matcher, MatchReport
from shared.vulns.model import Advisory
from shared.vulns.packages import PackageRef
from shared.vulns.sbom_refs import package_refs
from testkit.images import tree_entries
from tests.analysis.helpers import squashed
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


# -- real-shaped distribution records (testdata/distro) against images read by the real catalogers --------

DISTRO = TESTDATA / "distro"
"""``<ecosystem>/``: OSV records shaped like each publisher's (ids, ``upstream``, release ecosystems,
``-rN``/epoch/``~`` versions); ``rootfs/<image>/``: the package databases of small images."""
FIXTURE_COUNTS = {"debian": 16, "ubuntu": 14, "alpine": 13, "wolfi": 12}
ID_SCHEMES = {
    "debian": re.compile(r"DEBIAN-CVE-\d{4}-\d+|DSA-\d{4}-\d+|DLA-\d{4}-\d+"),
    "ubuntu": re.compile(r"UBUNTU-CVE-\d{4}-\d+|USN-\d{4}-\d+"),
    "alpine": re.compile(r"ALPINE-CVE-\d{4}-\d+"),
    "wolfi": re.compile(r"CGA(-[0-9a-z]{4}){3}"),
}
ECOSYSTEMS = {
    "debian": re.compile(r"Debian:1[123]"),
    "ubuntu": re.compile(r"Ubuntu:\d\d\.\d\d(:LTS)?"),
    "alpine": re.compile(r"Alpine:v3\.\d+"),
    "wolfi": re.compile(r"Wolfi|Chainguard"),
}


def image_packages(image: str) -> list[PackageRef]:
    """The packages of ``distro/rootfs/<image>`` as the worker hands them to the matcher: one layer of
    that tree through the real catalogers and the squash, then :func:`package_refs`."""
    os_info, packages, problems, _ = squashed([tree_entries(DISTRO / "rootfs" / image)])
    assert problems == []
    return package_refs(packages, os_info)


def distro_index(*feeds: DirectoryFeed | ZipFeed) -> MemoryIndex:
    """An index of every record of ``feeds`` (which must hold no bad record)."""
    index = MemoryIndex()
    for feed in feeds:
        result = index.import_records(feed.read())
        assert result.problems == ()
    return index


def _fixed(report: MatchReport, package: str) -> dict[str, tuple[str, ...]]:
    """Finding id → fixed versions, for the findings of one binary package."""
    return {f.id: f.fixed_versions for f in report.findings if f.package.split("@")[0].rsplit("/", 1)[1] == package}


@pytest.mark.parametrize("ecosystem", sorted(FIXTURE_COUNTS))
def test_distro_fixtures_are_valid_records_in_each_publishers_scheme(ecosystem: str) -> None:
    items = list(DirectoryFeed(DISTRO / ecosystem).read())
    records = [item for item in items if isinstance(item, Advisory)]
    assert len(records) == len(items) == FIXTURE_COUNTS[ecosystem]
    for record in records:
        assert ID_SCHEMES[ecosystem].fullmatch(record.id), record.id
        assert record.affected and all(
            a.package is not None and ECOSYSTEMS[ecosystem].fullmatch(a.package.ecosystem) for a in record.affected
        ), record.id
        assert record.upstream or record.related, record.id  # distributions link the CVE, not alias it
        assert not [a for a in record.aliases if a.startswith("CVE-")], record.id


def test_debian_records_match_every_binary_of_a_source_in_a_bookworm_image() -> None:
    report = Matcher(distro_index(DirectoryFeed(DISTRO / "debian"))).match(image_packages("bookworm"))

    assert _by_package(report) == {
        "libc6": {"DEBIAN-CVE-2024-2961", "DSA-5673-1"},  # glibc 2.36-9+deb12u3; DEBIAN-CVE-2023-4911 fixed at u3
        "libc-bin": {"DEBIAN-CVE-2024-2961", "DSA-5673-1"},
        "libssl3": {"DEBIAN-CVE-2023-5678", "DEBIAN-CVE-2024-0727"},  # DSA-5532-1 is fixed at exactly 3.0.11-1~deb12u2
        "openssl": {"DEBIAN-CVE-2023-5678", "DEBIAN-CVE-2024-0727"},
        "zlib1g": {"DEBIAN-CVE-2023-45853"},
        "libcurl4": {"DEBIAN-CVE-2024-8096"},  # +deb12u5 < +deb12u8; DEBIAN-CVE-2023-38545 fixed at +deb12u4
        "curl": {"DEBIAN-CVE-2024-8096"},
        "libxml2": {"DEBIAN-CVE-2024-56171"},
        "libsystemd0": {"DEBIAN-CVE-2023-50387"},
        "libudev1": {"DEBIAN-CVE-2023-50387"},
        "login": {"DEBIAN-CVE-2023-4641"},  # the source version 1:4.13+dfsg1-1, not the binNMU +b1, is compared
        "libtinfo6": {"DEBIAN-CVE-2023-50495"},
        "ncurses-base": {"DEBIAN-CVE-2023-50495"},
    }  # tar: fixed for Debian 12 at the installed version, and its Debian 11 entry (no fix) does not apply
    assert {f.ecosystem for f in report.findings} == {"Debian:12"}
    assert {f.name for f in report.findings if f.package.startswith("pkg:deb/debian/libc6@")} == {"glibc"}
    # A DSA names its CVEs as upstream ids, not aliases: it joins the finding of DEBIAN-CVE (one flaw, one finding).
    assert _fixed(report, "libc6") == {"DEBIAN-CVE-2024-2961": ("2.36-9+deb12u7",)}
    libc6 = next(f for f in report.findings if f.package.startswith("pkg:deb/debian/libc6@"))
    assert (libc6.advisory_ids, libc6.aliases) == (("DEBIAN-CVE-2024-2961", "DSA-5673-1"), ("DSA-5673-1",))
    assert _fixed(report, "zlib1g") == {"DEBIAN-CVE-2023-45853": ()}
    assert _fixed(report, "ncurses-base") == {"DEBIAN-CVE-2023-50495": ()}
    assert (len(report.findings), report.fixable) == (15, 12)
    assert (report.problems, report.skipped) == ((), ())


def test_debian_records_match_a_bullseye_image_in_its_own_release() -> None:
    report = Matcher(distro_index(DirectoryFeed(DISTRO / "debian"))).match(image_packages("bullseye"))

    assert _by_package(report) == {
        "libc6": {"DEBIAN-CVE-2023-4911", "DEBIAN-CVE-2024-2961", "DSA-5673-1"},
        "libssl1.1": {"DEBIAN-CVE-2023-5678", "DEBIAN-CVE-2024-0727"},  # DSA-5532-1 names Debian 12 only
        "openssl": {"DEBIAN-CVE-2023-5678", "DEBIAN-CVE-2024-0727"},
        "zlib1g": {"DEBIAN-CVE-2023-45853", "DSA-5218-1"},
        "libcurl4": {"DEBIAN-CVE-2023-38545", "DEBIAN-CVE-2024-8096", "DLA-3910-1"},  # +deb11u7 < u10 < u14
    }
    assert {f.ecosystem for f in report.findings} == {"Debian:11"}
    assert _fixed(report, "zlib1g") == {"DEBIAN-CVE-2023-45853": (), "DSA-5218-1": ("1:1.2.11.dfsg-2+deb11u2",)}


@pytest.mark.parametrize(("image", "release", "entries"), [("bookworm", "12", 14), ("bullseye", "11", 10)])
def test_every_debian_fixture_verdict_agrees_with_dpkg(image: str, release: str, entries: int) -> None:
    packages = image_packages(image)
    report = Matcher(distro_index(DirectoryFeed(DISTRO / "debian"))).match(packages)
    installed = {p.source_name or p.name: p.source_version or p.version for p in packages}
    hits = {(f.name, advisory_id) for f in report.findings for advisory_id in f.advisory_ids}
    checked = 0
    for record in DirectoryFeed(DISTRO / "debian").read():
        assert isinstance(record, Advisory)
        for entry in record.affected:
            assert entry.package is not None
            version = installed.get(entry.package.name)
            if entry.package.ecosystem != f"Debian:{release}" or version is None:
                continue
            fixed = [e.version for r in entry.ranges for e in r.events if e.kind == "fixed"]
            assert ((entry.package.name, record.id) in hits) == (not fixed or _dpkg_lt(version, fixed[0])), record.id
            checked += 1
    assert checked == entries


@pytest.mark.parametrize(
    ("record_id", "source", "version", "affected"),
    [
        ("DEBIAN-CVE-2023-4641", "shadow", "1:4.13+dfsg1-1", True),
        ("DEBIAN-CVE-2023-4641", "shadow", "1:4.13+dfsg1-1+deb12u1", False),  # the fix itself
        ("DEBIAN-CVE-2023-4641", "shadow", "1:4.13+dfsg1-1+deb12u2", False),
        ("DEBIAN-CVE-2023-4641", "shadow", "4.14+dfsg1-1", True),  # epoch 0 sorts below epoch 1, whatever follows
        ("DEBIAN-CVE-2023-4641", "shadow", "2:4.0-1", False),
        ("DEBIAN-CVE-2023-5678", "openssl", "3.0.13~rc1-1", True),  # ~ sorts before the release
        ("DEBIAN-CVE-2023-5678", "openssl", "3.0.13-1~deb11u1", True),
        ("DEBIAN-CVE-2023-5678", "openssl", "3.0.13-1~deb12u1", False),
        ("DEBIAN-CVE-2023-5678", "openssl", "3.0.13-1", False),  # the fix 3.0.13-1~deb12u1 sorts before 3.0.13-1
        ("DEBIAN-CVE-2024-8096", "curl", "7.88.1-10+deb12u10", False),  # u10 > u8: numbers, not text
        ("DEBIAN-CVE-2024-8096", "curl", "7.88.1-10+deb12u7", True),
    ],
)
def test_debian_version_ordering_on_real_shaped_records(record_id: str, source: str, version: str, affected: bool) -> None:
    index = MemoryIndex()
    index.import_records([item for item in DirectoryFeed(DISTRO / "debian").read() if isinstance(item, Advisory)
                          and item.id == record_id])
    ref = PackageRef(f"pkg:deb/debian/{source}@{quote(version)}?arch=amd64&distro=debian-12", name=source,
                     version=version, source_name=source, source_version=version, distro_id="debian",
                     distro_version="12")
    report = Matcher(index).match([ref])
    assert bool(report.findings) is affected
    fixed = index.get(record_id)
    assert fixed is not None
    (bound,) = [e.version for a in fixed.affected if a.package and a.package.ecosystem == "Debian:12"
                for r in a.ranges for e in r.events if e.kind == "fixed"]
    assert _dpkg_lt(version, bound) is affected


def test_ubuntu_records_from_a_zip_match_a_jammy_image(tmp_path: Path) -> None:
    archive = tmp_path / "Ubuntu" / "all.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for path in sorted((DISTRO / "ubuntu").glob("*.json")):
            out.write(path, path.name)
    report = Matcher(distro_index(ZipFeed(archive))).match(image_packages("jammy"))

    assert _by_package(report) == {
        "libssl3": {"UBUNTU-CVE-2023-5678", "UBUNTU-CVE-2023-3817", "USN-6435-1"},  # 2650 fixed at ubuntu1.10
        "openssl": {"UBUNTU-CVE-2023-5678", "UBUNTU-CVE-2023-3817", "USN-6435-1"},
        "libc6": {"UBUNTU-CVE-2023-4911"},
        "libc-bin": {"UBUNTU-CVE-2023-4911"},
        "zlib1g": {"UBUNTU-CVE-2023-45853"},  # CVE-2022-37434 fixed at ubuntu9.1 < the installed ubuntu9.2
        "curl": {"UBUNTU-CVE-2023-38545"},
        "libcurl4": {"UBUNTU-CVE-2023-38545"},
        "libxml2": {"UBUNTU-CVE-2024-25062"},
        "libsystemd0": {"UBUNTU-CVE-2023-7008"},
        "perl-base": {"UBUNTU-CVE-2023-47038"},  # CVE-2020-16156: unfixed for 20.04 only, fixed in 22.04
        "tar": {"UBUNTU-CVE-2023-39804"},  # ubuntu0.1.22.04.1 < ubuntu0.1.22.04.2
    }  # ncurses: fixed at the installed version
    assert {f.ecosystem for f in report.findings} == {"Ubuntu:22.04:LTS"}
    priority_only = next(f for f in report.findings if f.id == "UBUNTU-CVE-2023-3817")
    assert (priority_only.severity.rating, priority_only.severity.type) == ("low", "Ubuntu")
    assert _fixed(report, "libsystemd0") == {"UBUNTU-CVE-2023-7008": ()}
    assert (report.problems, report.skipped) == ((), ())


def test_alpine_records_match_by_origin_in_the_image_branch_only() -> None:
    report = Matcher(distro_index(DirectoryFeed(DISTRO / "alpine"))).match(image_packages("alpine-3.19"))

    assert _by_package(report) == {
        "libcrypto3": {"ALPINE-CVE-2024-2511", "ALPINE-CVE-2024-4603"},  # 3.1.4-r5 < r6; CVE-2024-0727 fixed at r5
        "libssl3": {"ALPINE-CVE-2024-2511", "ALPINE-CVE-2024-4603"},
        "busybox": {"ALPINE-CVE-2023-42363", "ALPINE-CVE-2023-42366"},
        "busybox-binsh": {"ALPINE-CVE-2023-42363", "ALPINE-CVE-2023-42366"},
        "ssl_client": {"ALPINE-CVE-2023-42363", "ALPINE-CVE-2023-42366"},
        "curl": {"ALPINE-CVE-2024-2398"},
        "libcurl": {"ALPINE-CVE-2024-2398"},
        "libxml2": {"ALPINE-CVE-2024-25062"},
        "musl": {"ALPINE-CVE-2025-26519"},  # _git20230717-r4 < _git20230717-r5
        "musl-utils": {"ALPINE-CVE-2025-26519"},
    }  # CVE-2024-6119 names v3.18 and v3.20 only; zlib 1.3.1-r0 > 1.3-r2; ncurses fixed at the installed version
    assert {f.ecosystem for f in report.findings} == {"Alpine:v3.19"}
    assert _fixed(report, "musl") == {"ALPINE-CVE-2025-26519": ("1.2.4_git20230717-r5",)}
    assert report.fixable == len(report.findings) == 15


@pytest.mark.parametrize(
    ("version", "affected"),
    [("3.1.4-r5", True), ("3.1.4-r6", False), ("3.1.4-r10", False), ("3.1.4_rc1-r0", True), ("3.1.3-r9", True)],
)
def test_alpine_revisions_order_as_numbers(version: str, affected: bool) -> None:
    index = MemoryIndex()
    index.import_records([item for item in DirectoryFeed(DISTRO / "alpine").read()
                          if isinstance(item, Advisory) and item.id == "ALPINE-CVE-2024-2511"])
    ref = PackageRef(f"pkg:apk/alpine/libssl3@{version}?arch=x86_64&distro=alpine-3.19.1", source_name="openssl",
                     distro_id="alpine", distro_version="3.19.1")
    assert bool(Matcher(index).match([ref]).findings) is affected


def test_wolfi_and_chainguard_records_stay_in_their_own_ecosystem() -> None:
    index = distro_index(DirectoryFeed(DISTRO / "wolfi"))

    wolfi = Matcher(index).match(image_packages("wolfi"))
    chainguard = Matcher(index).match(image_packages("chainguard"))

    assert _by_package(wolfi) == {
        "libcrypto3": {"CGA-3xmg-9c3w-fq5h"},  # 3.3.2-r0 < 3.3.2-r2; CVE-2024-5535's Chainguard fix does not apply
        "libssl3": {"CGA-3xmg-9c3w-fq5h"},
        "glibc": {"CGA-f7hq-2c6m-wx9r"},
        "glibc-locale-posix": {"CGA-f7hq-2c6m-wx9r"},
        "ld-linux": {"CGA-f7hq-2c6m-wx9r"},
        "curl": {"CGA-5vj8-qm3c-h6tp"},
        "libcurl-openssl4": {"CGA-5vj8-qm3c-h6tp"},
        "libxml2": {"CGA-hx4m-6w9c-q2rf"},
    }
    assert {f.ecosystem for f in wolfi.findings} == {"Wolfi"}
    assert _by_package(chainguard) == {"libcrypto3": {"CGA-m6c2-7qvf-3h8x"}, "libssl3": {"CGA-m6c2-7qvf-3h8x"}}
    assert {f.ecosystem for f in chainguard.findings} == {"Chainguard"}
    assert _fixed(chainguard, "libssl3") == {"CGA-m6c2-7qvf-3h8x": ("3.3.2-r1",)}
