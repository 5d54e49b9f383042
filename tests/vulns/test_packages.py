"""Package URLs, and the mapping of installed packages to OSV ecosystems and names."""

from __future__ import annotations

import pytest

from shared.errors import InvalidInput
from shared.vulns.errors import UnsupportedPackage
from shared.vulns.packages import PackageKey, PackageRef, go_version, normalize_name, osv_query
from shared.vulns.purl import parse_purl


def test_purl_parts_are_split_and_decoded() -> None:
    purl = parse_purl("pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&upstream=glibc&distro=debian-12#sub/dir")
    assert (purl.type, purl.namespace, purl.name, purl.version, purl.subpath) == (
        "deb",
        "debian",
        "libc6",
        "2.36-9+deb12u4",
        "sub/dir",
    )
    assert dict(purl.qualifiers) == {"arch": "amd64", "upstream": "glibc", "distro": "debian-12"}
    scoped = parse_purl("pkg:npm/%40angular/core@16.2.0")
    assert (scoped.namespace, scoped.name, scoped.version) == ("@angular", "core", "16.2.0")
    unencoded = parse_purl("pkg:npm/@angular/core")
    assert (unencoded.namespace, unencoded.name, unencoded.version) == ("@angular", "core", "")
    assert parse_purl("pkg:golang/github.com/foo/bar@v1.2.3").namespace == "github.com/foo"
    assert parse_purl("PKG:PyPI/Django@4.2").type == "pypi"


@pytest.mark.parametrize("bad", ["", "django", "https://pypi.org/project/django", "pkg:pypi", "pkg:/x"])
def test_not_a_purl(bad: str) -> None:
    with pytest.raises(InvalidInput):
        parse_purl(bad)


@pytest.mark.parametrize(
    ("ref", "ecosystem", "name", "version"),
    [
        (PackageRef("pkg:pypi/Django_REST.framework@3.14.0"), "PyPI", "django-rest-framework", "3.14.0"),
        (PackageRef("pkg:npm/%40angular/core@16.2.0"), "npm", "@angular/core", "16.2.0"),
        (PackageRef("pkg:npm/lodash@4.17.20"), "npm", "lodash", "4.17.20"),
        (PackageRef("pkg:golang/golang.org/x/text@v0.3.7"), "Go", "golang.org/x/text", "0.3.7"),
        (PackageRef("pkg:golang/stdlib@go1.21.5"), "Go", "stdlib", "1.21.5"),
        (PackageRef("pkg:golang/stdlib@1.21rc2"), "Go", "stdlib", "1.21.0-rc.2"),
        (PackageRef("pkg:golang/stdlib@go1.20"), "Go", "stdlib", "1.20.0"),
        (
            PackageRef("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"),
            "Maven",
            "org.apache.logging.log4j:log4j-core",
            "2.14.1",
        ),
        (PackageRef("pkg:cargo/smallvec@1.6.0"), "crates.io", "smallvec", "1.6.0"),
        (PackageRef("pkg:gem/rails@7.0.8"), "RubyGems", "rails", "7.0.8"),
        (PackageRef("pkg:composer/symfony/http-kernel@v5.4.20"), "Packagist", "symfony/http-kernel", "v5.4.20"),
        (PackageRef("pkg:nuget/Newtonsoft.Json@12.0.1"), "NuGet", "newtonsoft.json", "12.0.1"),
        (
            PackageRef("pkg:deb/debian/libc6@2.36-9+deb12u4?arch=amd64&upstream=glibc&distro=debian-12"),
            "Debian:12",
            "glibc",
            "2.36-9+deb12u4",
        ),
        (
            PackageRef(
                "pkg:deb/debian/bash@5.2.15-2+b8",
                source_name="bash",
                source_version="5.2.15-2",
                distro_id="debian",
                distro_version="12",
            ),
            "Debian:12",
            "bash",
            "5.2.15-2",
        ),
        (
            PackageRef("pkg:deb/debian/libssl3@3.0.11-1~deb12u2?distro=debian-bookworm"),
            "Debian:12",
            "libssl3",
            "3.0.11-1~deb12u2",
        ),
        (
            PackageRef("pkg:deb/ubuntu/libssl3@3.0.2-0ubuntu1.10?distro=ubuntu-22.04&upstream=openssl"),
            "Ubuntu:22.04:LTS",
            "openssl",
            "3.0.2-0ubuntu1.10",
        ),
        (PackageRef("pkg:deb/ubuntu/libssl3@3.0.10-1ubuntu2?distro=ubuntu-23.10"), "Ubuntu:23.10", "libssl3", "3.0.10-1ubuntu2"),
        (
            PackageRef("pkg:apk/alpine/busybox-binsh@1.36.1-r15?arch=x86_64&upstream=busybox&distro=alpine-3.19.1"),
            "Alpine:v3.19",
            "busybox",
            "1.36.1-r15",
        ),
        (
            PackageRef("pkg:apk/alpine/libcrypto3@3.1.4-r5", source_name="openssl", distro_id="alpine", distro_version="3.19.1"),
            "Alpine:v3.19",
            "openssl",
            "3.1.4-r5",
        ),
        (PackageRef("pkg:apk/wolfi/glibc@2.38-r1"), "Wolfi", "glibc", "2.38-r1"),
        (
            PackageRef(
                "pkg:rpm/almalinux/glibc-common@2.34-60.el9?epoch=0&upstream=glibc-2.34-60.el9.src.rpm&distro=almalinux-9.3"
            ),
            "AlmaLinux:9",
            "glibc",
            "2.34-60.el9",
        ),
        (
            PackageRef("pkg:rpm/rocky/bind-libs@9.16.23-14.el9?epoch=32&upstream=bind-9.16.23-14.el9.src.rpm&distro=rocky-9.3"),
            "Rocky Linux:9",
            "bind",
            "32:9.16.23-14.el9",
        ),
    ],
)
def test_osv_query(ref: PackageRef, ecosystem: str, name: str, version: str) -> None:
    query = osv_query(ref)
    assert (query.ecosystem, query.version) == (ecosystem, version)
    assert query.key == PackageKey.of(ecosystem, name)


def test_the_purl_decides_the_ecosystem_whatever_the_sbom_type() -> None:
    assert osv_query(PackageRef("pkg:pypi/Flask@2.0", type="python", name="Flask")).key == PackageKey("PyPI", "flask")


def test_distro_packages_also_look_under_the_release_less_ecosystem() -> None:
    query = osv_query(PackageRef("pkg:deb/debian/libc6@2.36-9?upstream=glibc&distro=debian-12"))
    assert query.keys == (PackageKey("Debian:12", "glibc"), PackageKey("Debian", "glibc"))


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        (PackageRef("pkg:generic/openssl@3.0.0"), "pkg:generic"),
        (PackageRef("pkg:pypi/requests"), "no version"),
        (PackageRef("pkg:deb/debian/libc6@2.36-9"), "unknown Debian release"),
        (PackageRef("pkg:deb/debian/libc6@2.36-9?distro=debian-sid"), "unknown Debian release"),
        (PackageRef("pkg:deb/kali/libc6@2.36-9?distro=kali-2024.1"), "Debian-family distribution 'kali'"),
        (PackageRef("pkg:apk/alpine/musl@1.2.4-r2"), "unknown Alpine release"),
        (PackageRef("pkg:rpm/redhat/openssl@3.0.7-27.el9?distro=rhel-9.3"), "RPM distribution 'rhel'"),
        (PackageRef("pkg:maven/log4j-core@2.14.1"), "needs a group"),
        (PackageRef("not a purl"), "not a package URL"),
    ],
)
def test_unsupported_packages_say_why(ref: PackageRef, reason: str) -> None:
    with pytest.raises(UnsupportedPackage, match=reason):
        osv_query(ref)


def test_names_are_normalized_per_ecosystem() -> None:
    assert normalize_name("PyPI", "Zope.Interface__x") == "zope-interface-x"
    assert normalize_name("NuGet", "Newtonsoft.Json") == "newtonsoft.json"
    assert normalize_name("Go", "github.com/BurntSushi/toml") == "github.com/BurntSushi/toml"
    assert PackageKey.of("pypi", "Django") == PackageKey("PyPI", "django")
    assert PackageKey.of("Debian:12", "glibc") == PackageKey("Debian:12", "glibc")


def test_go_versions() -> None:
    assert go_version("v1.2.3") == "1.2.3"
    assert go_version("go1.22.0", toolchain=True) == "1.22.0"
    assert go_version("go1.21beta1", toolchain=True) == "1.21.0-beta.1"
    assert go_version("(devel)") == "(devel)"
