"""Helpers for the vulnerability tests: data locations, record builders, tiny package database readers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shared.vulns.feeds import DirectoryFeed
from shared.vulns.index import MemoryIndex
from shared.vulns.model import Advisory
from shared.vulns.packages import PackageRef
from shared.vulns.parse import parse_advisory
from testkit.images import Entry, file, symlink
from tests.analysis.helpers import tree

TESTDATA = Path(__file__).parent / "testdata"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
ADVISORIES = PROJECT_ROOT.parent / "shared" / "advisories"
"""The shipped advisory data, ``../shared/advisories`` from the project root."""
PYPA = ADVISORIES / "pypa" / "vulns"
GO = ADVISORIES / "go" / "osv"


def record(record_id: str, *affected: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """An OSV record as JSON data, with a fixed ``modified`` unless given."""
    data: dict[str, Any] = {"id": record_id, "modified": "2024-01-01T00:00:00Z", "affected": list(affected)}
    data.update(fields)
    return data


def affected(
    ecosystem: str, name: str, *events: tuple[str, str], versions: tuple[str, ...] = (), kind: str = "ECOSYSTEM"
) -> dict[str, Any]:
    """An ``affected`` entry with one range of ``events`` (pairs like ``("introduced", "0")``)."""
    entry: dict[str, Any] = {"package": {"ecosystem": ecosystem, "name": name}}
    if events:
        entry["ranges"] = [{"type": kind, "events": [{k: v} for k, v in events]}]
    if versions:
        entry["versions"] = list(versions)
    return entry


def advisory(record_id: str, *entries: dict[str, Any], **fields: Any) -> Advisory:
    """A parsed :class:`Advisory` built with :func:`record`."""
    return parse_advisory(record(record_id, *entries, **fields))


def as_bytes(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode()


def os_release(root: Path) -> dict[str, str]:
    """The ``KEY=value`` pairs of ``root/etc/os-release``."""
    values = {}
    for line in (root / "etc" / "os-release").read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key] = value.strip().strip('"')
    return values


def dpkg_packages(root: Path) -> list[PackageRef]:
    """The installed packages of ``root/var/lib/dpkg/status`` as the SBOM side would hand them over."""
    release = os_release(root)
    refs = []
    for stanza in (root / "var" / "lib" / "dpkg" / "status").read_text().strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in stanza.splitlines())
        source, _, source_version = fields.get("Source", "").partition(" ")
        refs.append(
            PackageRef(
                purl=f"pkg:deb/debian/{fields['Package']}@{fields['Version']}?arch={fields['Architecture']}",
                name=fields["Package"],
                version=fields["Version"],
                source_name=source or None,
                source_version=source_version.strip("()") or None,
                distro_id=release["ID"],
                distro_version=release["VERSION_ID"],
            )
        )
    return refs


def apk_packages(root: Path) -> list[PackageRef]:
    """The installed packages of ``root/lib/apk/db/installed`` (name, version, origin)."""
    release = os_release(root)
    refs = []
    for stanza in (root / "lib" / "apk" / "db" / "installed").read_text().strip().split("\n\n"):
        fields = dict(line.split(":", 1) for line in stanza.splitlines())
        refs.append(
            PackageRef(
                purl=f"pkg:apk/alpine/{fields['P']}@{fields['V']}?arch={fields['A']}",
                source_name=fields.get("o"),
                distro_id=release["ID"],
                distro_version=release["VERSION_ID"],
            )
        )
    return refs


# -- a vulnerable image and its advisories -------------------------------------------------------

GO_BINARY = Path("/usr/bin/docker-registry")
SITE_PACKAGES = "/usr/local/lib/python3.11/site-packages"
CRITICAL_VECTOR = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"  # base score 9.8
FINDING_KEYS = {
    "id", "aliases", "advisory_ids", "package", "ecosystem", "name", "installed_version", "fixed_versions", "fixable",
    "severity", "summary", "references", "modified", "locations",
}  # fmt: skip


def dist_info(name: str, version: str) -> dict[str, str]:
    """An installed Python distribution's ``METADATA`` (what pip writes), as a layer entry."""
    return {f"{SITE_PACKAGES}/{name}-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"}


def vulnerable_layers() -> list[dict[str, bytes | str | Entry]]:
    """Three layers: Debian 12 with dpkg packages; Python (urllib3 1.26.4, Jinja2 2.10...) and npm packages; a Go binary."""
    base: dict[str, bytes | str | Entry] = {**tree("distro/debian"), "/etc/os-release": symlink("../usr/lib/os-release")}
    base.update(tree("dpkg"))
    apps: dict[str, bytes | str | Entry] = {**tree("python"), **tree("npm")}
    apps.update({**dist_info("urllib3", "1.26.4"), **dist_info("Jinja2", "2.10")})
    go: dict[str, bytes | str | Entry] = {"/usr/local/bin/registry": file(GO_BINARY.read_bytes(), 0o755)}
    return [base, apps, go]


def debian_records() -> list[dict[str, Any]]:
    """Crafted Debian OSV records about packages of ``tests/analysis/testdata/dpkg``'s status file.

    Debian publishes by *source* package: ``openssl`` covers the binaries ``libssl3`` and ``openssl``,
    ``zlib`` covers ``zlib1g``. The records naming the binary ``libssl3`` and Debian 11 must match nothing.
    """
    return [
        record(
            "DEBIAN-CVE-2099-0001",
            affected("Debian:12", "openssl", ("introduced", "0"), ("fixed", "3.0.19-1~deb12u3")),
            aliases=["CVE-2099-0001"],
            summary="crafted: a flaw in OpenSSL",
            severity=[{"type": "CVSS_V3", "score": CRITICAL_VECTOR}],
            references=[{"type": "ADVISORY", "url": "https://security-tracker.debian.org/tracker/CVE-2099-0001"}],
        ),
        record(
            "DEBIAN-CVE-2099-0002",
            affected("Debian:12", "zlib", ("introduced", "0"), ("fixed", "1:1.2.13.dfsg-1+deb12u1")),
            aliases=["CVE-2099-0002"],
            details="crafted: a flaw in zlib, with an epoch in its versions",
        ),
        record("DEBIAN-CVE-2099-0003", affected("Debian:12", "libssl3", ("introduced", "0"), ("fixed", "9.9"))),
        record("DEBIAN-CVE-2099-0004", affected("Debian:11", "bash", ("introduced", "0"), ("fixed", "9.9"))),
    ]


def write_debian_advisories(root: Path) -> Path:
    """Write :func:`debian_records` as ``root/debian/<id>.json``; returns that directory."""
    directory = root / "debian"
    directory.mkdir(parents=True, exist_ok=True)
    for data in debian_records():
        (directory / f"{data['id']}.json").write_text(json.dumps(data), encoding="utf-8")
    return directory


def advisory_index(records: list[Advisory], root: Path) -> MemoryIndex:
    """An index of ``records`` (the shipped PyPA and Go ones) and of :func:`debian_records`, written under ``root``."""
    built = MemoryIndex()
    result = built.import_records([*records, *DirectoryFeed(write_debian_advisories(root)).read()])
    assert not result.problems
    return built
