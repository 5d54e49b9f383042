"""Debian, RPM, RubyGems and NuGet ordering from ``univers`` (aboutcode's version library).

Each comparison goes through univers' own three-way comparison, never its ``==`` (univers' Debian
``==`` compares strings, while dpkg calls ``1.0`` and ``1.00`` equal):

- Debian (and Ubuntu): Debian Policy 5.6.12 — epoch, then upstream and revision compared by
  alternating non-digit parts (``~`` before everything, letters before other characters) and
  numeric parts. Checked against ``dpkg --compare-versions`` in the tests.
- RPM: rpmvercmp — epoch, then version, then release, by alphanumeric segments with ``~`` and ``^``.
- RubyGems: ``Gem::Version`` — segments, a letter starting a pre-release, trailing zeros ignored.
- NuGet: SemVer 2.0 with an optional fourth (revision) number and case-insensitive pre-release labels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from univers import debian as u_debian
from univers import gem as u_gem
from univers import nuget as u_nuget
from univers import rpm as u_rpm

from shared.vulns.errors import InvalidVersion
from shared.vulns.versions.base import CachedScheme, OrderedKey, VersionKey, leading_number

# univers has no annotations: its entry points are bound to typed names once, here.
_debian_parse: Callable[[str], Any] = u_debian.Version.from_string
_debian_cmp: Callable[[Any, Any], int] = u_debian.compare_versions
_rpm_parse: Callable[[str], Any] = u_rpm.RpmVersion.from_string
_rpm_cmp: Callable[[Any, Any], int] = u_rpm.compare_rpm_versions
_gem_valid: Callable[[str], object] = u_gem.GemVersion.is_correct
_gem_parse: Callable[[str], Any] = u_gem.GemVersion
_nuget_parse: Callable[[str], Any] = u_nuget.Version.from_string


def _three_way(a: Any, b: Any) -> int:
    if a < b:
        return -1
    if b < a:
        return 1
    return 0


def _epoch_bucket(text: str) -> tuple[int, int | str]:
    epoch, sep, rest = text.partition(":")
    if sep and epoch.isdigit():
        return int(epoch), leading_number(rest)
    return 0, leading_number(text)


def _debian(version: str) -> VersionKey:
    text = version.strip()
    try:
        value = _debian_parse(text)
    except ValueError:
        raise InvalidVersion(f"{version[:80]!r} is not a Debian version") from None
    return OrderedKey(text, value, _debian_compare, _epoch_bucket(text))


def _debian_compare(a: Any, b: Any) -> int:
    return int(_debian_cmp(a, b))


def _rpm(version: str) -> VersionKey:
    text = version.strip()
    if not text or any(ch.isspace() for ch in text):
        raise InvalidVersion(f"{version[:80]!r} is not an RPM version")
    epoch, sep, _ = text.partition(":")
    if sep and not epoch.isdigit():
        raise InvalidVersion(f"{version[:80]!r} has an epoch that is not a number")
    return OrderedKey(text, _rpm_parse(text), _rpm_compare, _epoch_bucket(text))


def _rpm_compare(a: Any, b: Any) -> int:
    return int(_rpm_cmp(a, b))


def _rubygems(version: str) -> VersionKey:
    text = version.strip()
    if not text or not _gem_valid(text):
        raise InvalidVersion(f"{version[:80]!r} is not a RubyGems version")
    return OrderedKey(text, _gem_parse(text), _three_way, leading_number(text))


def _nuget(version: str) -> VersionKey:
    text = version.strip()
    try:
        value = _nuget_parse(text)
    except (ValueError, u_nuget.InvalidNuGetVersion):
        raise InvalidVersion(f"{version[:80]!r} is not a NuGet version") from None
    if value is None:
        raise InvalidVersion("an empty string is not a NuGet version")
    return OrderedKey(text, value, _three_way, leading_number(text))


def _scheme(name: str, parse: Callable[[str], VersionKey]) -> CachedScheme:
    return CachedScheme(name, parse)


DEBIAN = _scheme("debian", _debian)
RPM = _scheme("rpm", _rpm)
RUBYGEMS = _scheme("rubygems", _rubygems)
NUGET = _scheme("nuget", _nuget)
