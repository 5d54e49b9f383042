"""Each cataloger on a real file tree laid out like an image filesystem (``testdata/<cataloger>/``)."""

from __future__ import annotations

import pytest

from shared.analysis import OSInfo
from shared.analysis.catalogers import dotnet, dpkg, npm, php, python, rpm, ruby
from shared.analysis.catalogers.base import ParseError
from tests.analysis.helpers import names, scan, squashed, tree

DEBIAN = tree("distro/debian")


def test_distro_reads_os_release_through_the_etc_symlink() -> None:
    from testkit.images import symlink

    os_info, _, problems, _ = squashed([{**DEBIAN, "/etc/os-release": symlink("../usr/lib/os-release")}])
    assert os_info == OSInfo("debian", "12", "bookworm", "Debian GNU/Linux", "Debian GNU/Linux 12 (bookworm)")
    assert problems == []


def test_distro_alpine() -> None:
    os_info, _, _, _ = squashed([tree("distro/alpine")])
    assert os_info is not None
    assert (os_info.id, os_info.version_id, os_info.distro) == ("alpine", "3.19.1", "alpine-3.19.1")


def test_dpkg_status_keeps_installed_packages_and_their_source() -> None:
    _, packages, problems, digests = squashed([{**DEBIAN, **tree("dpkg")}])
    assert problems == []
    debs = {p.name: p for p in packages if p.type == "deb"}
    assert sorted(debs) == ["base-files", "bash", "libssl3", "openssl", "tzdata", "zlib1g"]  # not the removed ca-certificates
    libssl = debs["libssl3"]
    assert libssl.meta["source"] == "openssl"
    assert libssl.meta["source_version"] == libssl.version
    assert libssl.purl == f"pkg:deb/debian/libssl3@{libssl.version}?arch=amd64&distro=debian-12&upstream=openssl"
    bash = debs["bash"]
    assert (bash.meta["source"], bash.meta["source_version"]) == ("bash", "5.2.15-2")
    assert bash.purl == "pkg:deb/debian/bash@5.2.15-2%2Bb8?arch=amd64&distro=debian-12&upstream=bash%405.2.15-2"
    assert debs["zlib1g"].version.startswith("1:")
    assert debs["base-files"].purl.endswith("?arch=amd64&distro=debian-12")
    assert {p.path for p in debs.values()} == {"/var/lib/dpkg/status"}
    assert {p.layer for p in debs.values()} == {digests[0]}


def test_dpkg_distroless_status_d_skips_checksum_files() -> None:
    _, packages, problems, _ = squashed([{**DEBIAN, **tree("dpkg-distroless")}])
    assert problems == []
    assert sorted((p.name, p.path) for p in packages) == [
        ("base-files", "/var/lib/dpkg/status.d/base-files"),
        ("libssl3", "/var/lib/dpkg/status.d/libssl3"),
    ]


def test_dpkg_without_os_release_uses_the_debian_namespace() -> None:
    _, packages, _, _ = squashed([tree("dpkg")])
    purl = next(p.purl for p in packages if p.name == "openssl")
    assert purl.startswith("pkg:deb/debian/openssl@") and "distro=" not in purl


def test_apk_installed_with_origin() -> None:
    os_info, packages, problems, _ = squashed([tree("apk")])
    assert problems == []
    assert os_info is not None and os_info.id == "alpine"
    by_name = {p.name: p for p in packages}
    assert names(packages) == ["alpine-baselayout-data@3.4.3-r2", "libcrypto3@3.1.4-r5", "musl@1.2.4_git20230717-r4"]
    assert by_name["libcrypto3"].meta == {"arch": "x86_64", "origin": "openssl", "license": "Apache-2.0"}
    assert by_name["libcrypto3"].purl == "pkg:apk/alpine/libcrypto3@3.1.4-r5?arch=x86_64&distro=alpine-3.19.1&upstream=openssl"
    assert by_name["musl"].purl == "pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=alpine-3.19.1"


def test_python_dist_info_and_egg_info() -> None:
    _, packages, problems, _ = squashed([tree("python")])
    assert problems == []
    found = {p.name: p for p in packages}
    assert set(found) == {"requests", "packageurl-python", "PyJWT"}
    assert found["PyJWT"].path == "/usr/lib/python3/dist-packages/PyJWT-2.6.0.egg-info/PKG-INFO"
    assert found["PyJWT"].purl == "pkg:pypi/pyjwt@2.6.0"
    assert found["requests"].purl == f"pkg:pypi/requests@{found['requests'].version}"
    assert found["requests"].path.startswith("/usr/local/lib/python3.11/site-packages/requests-")


def test_python_egg_info_file_form() -> None:
    metadata = b"Metadata-Version: 1.1\nName: Old_Style\nVersion: 0.1\n"
    _, packages, _, _ = squashed([{"/usr/lib/python3/dist-packages/Old_Style-0.1.egg-info": metadata}])
    assert [p.purl for p in packages] == ["pkg:pypi/old-style@0.1"]


def test_npm_installed_packages_and_the_root_project() -> None:
    _, packages, problems, _ = squashed([{**tree("npm"), **tree("npm-app")}])
    assert problems == []  # dist/browser/package.json (no name, no version) is not a package and not read
    purls = sorted(p.purl for p in packages)
    assert [purl.split("@")[0] if not purl.startswith("pkg:npm/%40") else purl.rsplit("@", 1)[0] for purl in purls] == [
        "pkg:npm/%40azure-rest/core-client",
        "pkg:npm/%40azure/core-auth",
        "pkg:npm/accepts",
        "pkg:npm/ansi-styles",
        "pkg:npm/orders-service",
        "pkg:npm/wrap-ansi",
    ]
    root = next(p for p in packages if p.name == "orders-service")
    assert (root.version, root.path, root.purl) == ("2.4.1", "/app/package.json", "pkg:npm/orders-service@2.4.1")
    assert dict(root.meta) == {"license": "MIT", "root": "true"}
    assert all("root" not in p.meta for p in packages if p is not root)
    nested = next(p for p in packages if p.name == "ansi-styles")
    assert nested.path == "/app/node_modules/wrap-ansi/node_modules/ansi-styles/package.json"


def test_rpm_sqlite_database_made_by_rpm() -> None:
    os_info, packages, problems, _ = squashed([tree("rpm")])
    assert problems == []
    assert os_info is not None and os_info.distro == "fedora-39"
    assert [(p.name, p.version) for p in packages] == [("lookout-hello", "2:1.2.3-4.fc39"), ("lookout-world", "0.9-1.fc39")]
    hello = packages[0]
    assert hello.purl == (
        "pkg:rpm/fedora/lookout-hello@1.2.3-4.fc39?arch=noarch&distro=fedora-39&epoch=2"
        "&upstream=lookout-hello-1.2.3-4.fc39.src.rpm"
    )
    assert hello.meta["license"] == "MIT"


def test_rpm_berkeley_db_is_recorded_as_unsupported() -> None:
    _, packages, problems, _ = squashed([{"/var/lib/rpm/Packages": b"\x00" * 64}])
    assert packages == []
    assert [(p.source, p.path) for p in problems] == [("rpm", "/var/lib/rpm/Packages")]
    assert "Berkeley DB" in problems[0].message


def test_rpm_header_blobs_that_do_not_fit_are_problems() -> None:
    assert rpm.parse_header(b"\x00\x00\x00\x01\x00\x00\x00\x00" + b"\x00" * 16) == {}
    with pytest.raises(ParseError, match="do not fit"):
        rpm.parse_header(b"\x00\x00\x00\x09\x00\x00\x10\x00")
    with pytest.raises(ParseError, match="too short"):
        rpm.parse_header(b"\x00\x00")


def test_ruby_gemspecs_including_default_gems() -> None:
    _, packages, problems, _ = squashed([tree("ruby")])
    assert problems == []
    assert [(p.name, p.version, p.purl) for p in packages] == [
        ("csv", "3.2.2", "pkg:gem/csv@3.2.2"),
        ("rake", "13.0.6", "pkg:gem/rake@13.0.6"),
    ]
    assert packages[0].meta["license"] == "Ruby"


def test_php_composer_installed_json_and_the_root_project() -> None:
    _, packages, _, _ = squashed([{**tree("php"), **tree("php-app")}])
    assert [p.purl for p in packages] == [
        "pkg:composer/acme/billing@1.7.0",
        "pkg:composer/psr/log@3.0.0",
        "pkg:composer/symfony/console@v6.4.1",
    ]
    assert (packages[0].path, dict(packages[0].meta)) == ("/app/composer.json", {"root": "true"})


def test_a_root_project_needs_installed_evidence_in_the_final_filesystem() -> None:
    from testkit.images import whiteout

    npm_root, php_root = tree("npm-app")["/app/package.json"], tree("php-app")["/app/composer.json"]
    declared_only = {"/srv/tool/package.json": npm_root, "/srv/site/composer.json": php_root}
    _, packages, problems, _ = squashed([declared_only])
    assert packages == [] and problems == []  # no node_modules, no vendor/composer: declared, not installed
    # node_modules in a lower layer than the project, as a Dockerfile adds them: the project is reported
    _, packages, _, digests = squashed([tree("npm"), {"/app/package.json": npm_root.replace(b"2.4.1", b"2.5.0")}])
    assert names([p for p in packages if p.meta.get("root")]) == ["orders-service@2.5.0"]
    root = next(p for p in packages if p.meta.get("root"))
    assert (root.version, root.layer) == ("2.5.0", digests[1])
    # node_modules removed in a higher layer: the project is declared only
    _, packages, _, _ = squashed([{**tree("npm"), **tree("npm-app")}, dict([whiteout("/app/node_modules")])])
    assert packages == []
    _, packages, _, _ = squashed([{**tree("php"), **tree("php-app")}, dict([whiteout("/app/vendor")])])
    assert packages == []
    # an application without a version is reported without one; a package.json that is not an object is nothing
    unversioned = {**tree("npm"), "/app/package.json": b'{"name": "app", "private": true}', "/app/x/package.json": b"[]"}
    _, packages, problems, _ = squashed([unversioned])
    assert [(p.name, p.version, p.purl) for p in packages if p.meta.get("root")] == [("app", "", "pkg:npm/app")]
    assert problems == []


def test_dotnet_deps_json_packages_not_projects() -> None:
    _, packages, _, _ = squashed([tree("dotnet")])
    assert [p.purl for p in packages] == ["pkg:nuget/Newtonsoft.Json@13.0.3", "pkg:nuget/Serilog@3.1.1"]


def test_a_file_that_cannot_be_parsed_is_a_problem_with_its_location() -> None:
    layer = {
        "/app/node_modules/broken/package.json": b"{not json",
        "/app/node_modules/fine/package.json": b'{"name": "fine", "version": "1.0.0"}',
        "/var/lib/dpkg/status": (
            b"Package: ok\nStatus: install ok installed\nVersion: 1\n\nPackage: nover\nStatus: install ok installed\n"
        ),
        "/app/vendor/composer/installed.json": b'"a string"',
    }
    _, packages, problems, digests = squashed([layer])
    assert names(packages) == ["fine@1.0.0", "ok@1"]
    where = {(p.source, p.path, p.layer) for p in problems}
    assert where == {
        (npm.NAME, "/app/node_modules/broken/package.json", digests[0]),
        (dpkg.NAME, "/var/lib/dpkg/status", digests[0]),
        (php.NAME, "/app/vendor/composer/installed.json", digests[0]),
    }


def test_cataloger_names_and_versions_are_stable() -> None:
    from shared.analysis import default_catalogers

    catalogers = default_catalogers()
    assert [c.name for c in catalogers][:2] == ["distro", "dpkg"]
    assert len({c.name for c in catalogers}) == len(catalogers)
    assert all(c.version >= 1 and len(c.fingerprint) == 16 for c in catalogers)
    assert python.cataloger().fingerprint == python.cataloger().fingerprint
    assert ruby.cataloger().fingerprint != dotnet.cataloger().fingerprint


def test_scan_records_only_wanted_files() -> None:
    result = scan({**tree("python"), "/usr/bin/tool": b"#!/bin/sh\n", "/etc/hosts": b"127.0.0.1 localhost\n"})
    assert sorted(result.results["python"].files) == sorted(tree("python"))
    assert all(not r.files for name, r in result.results.items() if name != "python")
