"""Version ordering per ecosystem: which scheme orders an OSV ecosystem's versions.

- PyPI: PEP 440 (``packaging``).
- npm, crates.io, Go, Hex, Pub, SwiftURL, and every ``SEMVER`` range: SemVer 2.0 (``semver``).
- Debian, Ubuntu: dpkg ordering; AlmaLinux, Rocky Linux, Red Hat, SUSE, openSUSE, Mageia, openEuler,
  Photon OS, Azure Linux: rpmvercmp; RubyGems: ``Gem::Version``; NuGet: NuGet SemVer (``univers``).
- Alpine, Wolfi, Chainguard: apk-tools ordering; Maven: ``ComparableVersion``; Packagist: PHP's
  ``version_compare`` with Composer's normalization (implemented here, see each module).

An ecosystem string may carry a suffix (``Debian:12``, ``Alpine:v3.19``, ``Ubuntu:22.04:LTS``); the
part before the first colon chooses the scheme.
"""

from __future__ import annotations

from shared.vulns.model import RANGE_SEMVER
from shared.vulns.versions.apk import APK
from shared.vulns.versions.base import CachedScheme, OrderedKey, VersionKey, VersionScheme
from shared.vulns.versions.maven import MAVEN
from shared.vulns.versions.pep440 import PEP440
from shared.vulns.versions.php import PACKAGIST
from shared.vulns.versions.semver import SEMVER
from shared.vulns.versions.univers_based import DEBIAN, NUGET, RPM, RUBYGEMS

_BY_ECOSYSTEM: dict[str, VersionScheme] = {
    "PyPI": PEP440,
    "npm": SEMVER,
    "crates.io": SEMVER,
    "Go": SEMVER,
    "Hex": SEMVER,
    "Pub": SEMVER,
    "SwiftURL": SEMVER,
    "Maven": MAVEN,
    "RubyGems": RUBYGEMS,
    "NuGet": NUGET,
    "Packagist": PACKAGIST,
    "Debian": DEBIAN,
    "Ubuntu": DEBIAN,
    "Alpine": APK,
    "Wolfi": APK,
    "Chainguard": APK,
    "AlmaLinux": RPM,
    "Rocky Linux": RPM,
    "Red Hat": RPM,
    "SUSE": RPM,
    "openSUSE": RPM,
    "Mageia": RPM,
    "openEuler": RPM,
    "Photon OS": RPM,
    "Azure Linux": RPM,
    "Mariner": RPM,
}


def base_ecosystem(ecosystem: str) -> str:
    """The ecosystem without its release suffix: ``Debian:12`` → ``Debian``."""
    return ecosystem.split(":", 1)[0]


def scheme_for(ecosystem: str) -> VersionScheme | None:
    """The scheme ordering ``ecosystem``'s versions, or ``None`` when none is known here."""
    return _BY_ECOSYSTEM.get(base_ecosystem(ecosystem))


def scheme_for_range(range_type: str, ecosystem: str) -> VersionScheme | None:
    """The scheme of a range: SemVer for ``SEMVER`` ranges, the ecosystem's for ``ECOSYSTEM`` ones."""
    if range_type == RANGE_SEMVER:
        return SEMVER
    return scheme_for(ecosystem)


__all__ = [
    "APK",
    "DEBIAN",
    "MAVEN",
    "NUGET",
    "PACKAGIST",
    "PEP440",
    "RPM",
    "RUBYGEMS",
    "SEMVER",
    "CachedScheme",
    "OrderedKey",
    "VersionKey",
    "VersionScheme",
    "base_ecosystem",
    "scheme_for",
    "scheme_for_range",
]
