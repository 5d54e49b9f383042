"""Helpers for the vulnerability tests: data locations, record builders, tiny package database readers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shared.vulns.model import Advisory
from shared.vulns.packages import PackageRef
from shared.vulns.parse import parse_advisory

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
