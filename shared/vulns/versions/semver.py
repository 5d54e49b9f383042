"""Semantic Versioning 2.0.0 ordering (npm, crates.io, Go, SEMVER ranges), parsed by ``semver``.

Precedence follows section 11 of the specification: major, minor, patch numerically; a pre-release
sorts before its release; pre-release identifiers compare numerically when both are numeric,
numeric before alphanumeric, alphanumeric in ASCII order, and a longer list wins when all before
are equal. Build metadata (``+incompatible``, ``+build.5``) is ignored, so ``1.0.0+a == 1.0.0+b``.

Keys are plain tuples. One leading ``v`` (Go tags, some npm metadata) or ``=`` is tolerated; the
rest must be strict SemVer (``1.2`` or ``01.2.3`` do not parse).
"""

from __future__ import annotations

import semver as _semver

from shared.vulns.errors import InvalidVersion
from shared.vulns.versions.base import CachedScheme, VersionKey

_PreKey = tuple[tuple[int, int | str], ...]


def semver_key(version: str) -> tuple[int, int, int, int, _PreKey]:
    """``(major, minor, patch, 0 for a pre-release else 1, pre-release identifiers)``."""
    text = version.strip()
    if text[:1] in ("v", "V", "="):
        text = text[1:]
    try:
        parsed = _semver.Version.parse(text)
    except (ValueError, TypeError):
        raise InvalidVersion(f"{version[:80]!r} is not a semantic version") from None
    if not parsed.prerelease:
        return (parsed.major, parsed.minor, parsed.patch, 1, ())
    identifiers: list[tuple[int, int | str]] = []
    for part in parsed.prerelease.split("."):
        identifiers.append((0, int(part)) if part.isdigit() else (1, part))
    return (parsed.major, parsed.minor, parsed.patch, 0, tuple(identifiers))


def _parse(version: str) -> VersionKey:
    return semver_key(version)


SEMVER = CachedScheme("semver", _parse)
