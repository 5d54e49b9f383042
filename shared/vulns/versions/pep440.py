"""PyPI versions: PEP 440, as implemented by ``packaging`` (the library pip itself uses).

Keys are :class:`packaging.version.Version` objects, whose equality already follows PEP 440
(``1.0 == 1.0.0``, ``1.0a1 == 1.0.alpha1``). Legacy, non-PEP 440 versions do not parse.
"""

from __future__ import annotations

from packaging.version import InvalidVersion as PackagingInvalidVersion
from packaging.version import Version

from shared.vulns.errors import InvalidVersion
from shared.vulns.versions.base import CachedScheme, VersionKey


def _parse(version: str) -> VersionKey:
    try:
        return Version(version)
    except PackagingInvalidVersion:
        raise InvalidVersion(f"{version[:80]!r} is not a PEP 440 version") from None


PEP440 = CachedScheme("pep440", _parse)
