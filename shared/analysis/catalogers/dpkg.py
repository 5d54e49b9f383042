"""Debian packages: the dpkg database ``/var/lib/dpkg/status`` and distroless ``/var/lib/dpkg/status.d/*``.

Paragraphs are read with python-debian's deb822 parser. Only installed packages count (``Status``
ending in ``installed``; distroless files have no ``Status`` and are all installed). The source
package and its version (``Source: openssl (3.0.11-1~deb12u1)``) are kept for matching advisories.
"""

from __future__ import annotations

import re

from debian.deb822 import Deb822

from shared.analysis.catalogers.base import GlobCataloger, ParseContext, Parser, purl
from shared.analysis.model import FileResult, OSInfo, PackageRecord

NAME = "dpkg"
VERSION = 1

_FIELDS = ["Package", "Status", "Version", "Architecture", "Source"]
_SOURCE = re.compile(r"^\s*(\S+)(?:\s*\(([^)]+)\))?\s*$")


def parse_status(path: str, data: bytes, context: ParseContext) -> FileResult:
    """Every installed package of a dpkg status file (or one distroless ``status.d`` file)."""
    packages: list[PackageRecord] = []
    problems: list[str] = []
    for paragraph in Deb822.iter_paragraphs(data.splitlines(keepends=True), fields=_FIELDS, use_apt_pkg=False):
        name = paragraph.get("Package")
        version = paragraph.get("Version")
        if not name:
            continue
        status = paragraph.get("Status")
        if status is not None and status.split()[-1:] != ["installed"]:
            continue
        if not version:
            problems.append(f"package {name} has no Version")
            continue
        meta = {"arch": paragraph.get("Architecture", "")}
        source = paragraph.get("Source")
        match = _SOURCE.match(source) if source else None
        if match:
            meta["source"] = match.group(1)
            meta["source_version"] = match.group(2) or version
        packages.append(PackageRecord("deb", name, version, {k: v for k, v in meta.items() if v}))
    return FileResult(packages=tuple(packages), problems=tuple(problems))


def package_url(record: PackageRecord, os: OSInfo | None) -> str:
    """``pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12`` (``upstream`` when the source differs)."""
    source = record.meta.get("source")
    upstream = None
    if source and (source != record.name or record.meta.get("source_version") != record.version):
        source_version = record.meta.get("source_version")
        upstream = source if not source_version or source_version == record.version else f"{source}@{source_version}"
    return purl(
        "deb",
        record.name,
        record.version,
        namespace=os.id if os else "debian",
        qualifiers={"arch": record.meta.get("arch"), "distro": os.distro if os else None, "upstream": upstream},
    )


def cataloger() -> GlobCataloger:
    """The dpkg cataloger."""
    return GlobCataloger(
        NAME,
        VERSION,
        [
            Parser(
                ("/var/lib/dpkg/status", "/var/lib/dpkg/status.d/*"),
                parse=parse_status,
                exclude=("/var/lib/dpkg/status.d/*.md5sums", "/var/lib/dpkg/status.d/*.sha256sums"),
            )
        ],
        package_url,
    )
