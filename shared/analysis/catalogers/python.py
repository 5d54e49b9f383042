"""Python packages installed anywhere: ``*.dist-info/METADATA`` and ``*.egg-info/PKG-INFO`` (or an ``*.egg-info`` file).

The core-metadata headers are read with the standard library's e-mail header parser (the format
is RFC 822 headers). Requirements files and lock files are never read: only installed evidence.
"""

from __future__ import annotations

import re
from email.parser import BytesHeaderParser

from shared.analysis.catalogers.base import GlobCataloger, ParseContext, ParseError, Parser, purl
from shared.analysis.model import FileResult, OSInfo, PackageRecord

NAME = "python"
VERSION = 1

_END_OF_HEADERS = re.compile(rb"\r?\n\r?\n")


def parse_metadata(path: str, data: bytes, context: ParseContext) -> FileResult:
    """The one distribution described by a ``METADATA`` / ``PKG-INFO`` file."""
    # The headers end at the first empty line; the long description after it is not parsed.
    headers = BytesHeaderParser().parsebytes(_END_OF_HEADERS.split(data, maxsplit=1)[0])
    name, version = headers.get("Name"), headers.get("Version")
    if not name or not version:
        raise ParseError("core metadata without Name or Version")
    meta: dict[str, str] = {}
    license_text = headers.get("License-Expression") or headers.get("License")
    if license_text and "\n" not in license_text and len(license_text) <= 100 and license_text != "UNKNOWN":
        meta["license"] = license_text.strip()
    return FileResult(packages=(PackageRecord("pypi", str(name).strip(), str(version).strip(), meta),))


def package_url(record: PackageRecord, os: OSInfo | None) -> str:
    """``pkg:pypi/requests@2.31.0`` (the name lowercased, ``_`` as ``-``, per the PURL spec)."""
    return purl("pypi", record.name.lower().replace("_", "-"), record.version)


def cataloger() -> GlobCataloger:
    """The Python cataloger."""
    return GlobCataloger(
        NAME,
        VERSION,
        [Parser(("**/*.dist-info/METADATA", "**/*.egg-info/PKG-INFO", "**/*.egg-info"), parse=parse_metadata)],
        package_url,
    )
