"""Ruby gems: the installed specifications ``specifications/**/*.gemspec`` (RubyGems writes them as Ruby code).

The generated gemspec assigns ``s.name``, ``s.version`` and ``s.licenses`` with string literals;
those assignments are read with regular expressions, never evaluated.
"""

from __future__ import annotations

import re

from shared.analysis.catalogers.base import GlobCataloger, ParseContext, ParseError, Parser, purl, text
from shared.analysis.model import FileResult, OSInfo, PackageRecord

NAME = "ruby"
VERSION = 1

_NAME = re.compile(r"""^\s*\w+\.name\s*=\s*["']([^"']+)["']""", re.MULTILINE)
_VERSION = re.compile(r"""^\s*\w+\.version\s*=\s*["']([^"']+)["']""", re.MULTILINE)
_LICENSES = re.compile(r"""^\s*\w+\.licenses?\s*=\s*\[?\s*["']([^"']+)["']""", re.MULTILINE)


def parse_gemspec(path: str, data: bytes, context: ParseContext) -> FileResult:
    """The gem an installed gemspec describes."""
    content = text(data)
    name, version = _NAME.search(content), _VERSION.search(content)
    if not name or not version:
        raise ParseError("gemspec without a literal name or version")
    license_match = _LICENSES.search(content)
    meta = {"license": license_match.group(1)} if license_match else {}
    return FileResult(packages=(PackageRecord("gem", name.group(1), version.group(1), meta),))


def package_url(record: PackageRecord, os: OSInfo | None) -> str:
    """``pkg:gem/rake@13.0.6``."""
    return purl("gem", record.name, record.version)


def cataloger() -> GlobCataloger:
    """The Ruby gem cataloger."""
    return GlobCataloger(NAME, VERSION, [Parser(("**/specifications/**/*.gemspec",), parse=parse_gemspec)], package_url)
