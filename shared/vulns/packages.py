"""From an installed package to the OSV package it is published under.

The matcher takes plain values, :class:`PackageRef`, so that it depends on no SBOM code: a package
URL plus what the URL may not carry (the dpkg ``Source:`` package and its version, the apk origin,
the image's os-release ``ID``/``VERSION_ID``). :func:`osv_query` maps one to an :class:`OsvQuery`:

- ``pkg:pypi`` → ``PyPI``, the name normalized per PEP 503; ``pkg:npm`` → ``npm`` (``@scope/name``);
  ``pkg:golang`` → ``Go``, the module path (``stdlib`` for the standard library, whose ``go1.21.5``
  becomes ``1.21.5`` and ``go1.21rc2`` becomes ``1.21.0-rc.2``; a leading ``v`` is dropped);
  ``pkg:maven/g/a`` → ``Maven`` ``g:a``; ``pkg:cargo`` → ``crates.io``; ``pkg:gem`` → ``RubyGems``;
  ``pkg:composer/v/n`` → ``Packagist`` ``v/n``; ``pkg:nuget`` → ``NuGet``; ``pkg:hex`` → ``Hex``;
  ``pkg:pub`` → ``Pub``.
- ``pkg:deb`` → ``Debian:<major>`` or ``Ubuntu:<YY.MM>[:LTS]``, by *source* package and source
  version (falling back to the purl's ``upstream`` qualifier, then the binary name and version);
  ``pkg:apk`` → ``Alpine:v<major>.<minor>`` by origin (``Wolfi``, ``Chainguard`` without a release);
  ``pkg:rpm`` → ``AlmaLinux:<major>`` or ``Rocky Linux:<major>`` by source RPM name, version as
  ``[epoch:]version-release``. The release comes from ``distro_id``/``distro_version`` when given,
  else from the purl's ``distro`` qualifier (``debian-12``, ``alpine-3.19.1``).

Anything else raises :class:`~shared.vulns.errors.UnsupportedPackage` with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.errors import InvalidInput
from shared.vulns.errors import UnsupportedPackage
from shared.vulns.purl import Purl, parse_purl

_PEP503 = re.compile(r"[-_.]+")
_GO_RELEASE = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?(?:(rc|beta)(\d+))?")
_ECOSYSTEMS = (
    "PyPI", "npm", "Go", "Maven", "crates.io", "RubyGems", "NuGet", "Packagist", "Hex", "Pub", "Debian", "Ubuntu",
    "Alpine", "Wolfi", "Chainguard", "AlmaLinux", "Rocky Linux", "Red Hat", "SUSE", "openSUSE", "Mageia", "openEuler",
    "Photon OS", "Azure Linux",
)  # fmt: skip
_CANONICAL_ECOSYSTEMS = {name.lower(): name for name in _ECOSYSTEMS}
_DEBIAN_CODENAMES = {"buster": "10", "bullseye": "11", "bookworm": "12", "trixie": "13", "forky": "14"}
_SIMPLE_TYPES = {
    "pypi": "PyPI",
    "cargo": "crates.io",
    "gem": "RubyGems",
    "nuget": "NuGet",
    "hex": "Hex",
    "pub": "Pub",
}


@dataclass(frozen=True, order=True)
class PackageKey:
    """What OSV indexes packages by: ecosystem (``PyPI``, ``Debian:12``) and normalized name."""

    ecosystem: str
    name: str

    @classmethod
    def of(cls, ecosystem: str, name: str) -> PackageKey:
        """The key of an OSV ``package`` entry, with ecosystem and name normalized."""
        eco = normalize_ecosystem(ecosystem)
        return cls(eco, normalize_name(eco, name))


@dataclass(frozen=True)
class PackageRef:
    """An installed package, as plain values from the SBOM.

    ``purl`` is required and decides the ecosystem; ``name``/``version`` default to the purl's
    (``type`` is kept for reports only). ``source_name`` and ``source_version`` are the dpkg
    ``Source:`` package and version or the apk origin; ``distro_id`` and ``distro_version`` the
    image's os-release ``ID`` and ``VERSION_ID``.
    """

    purl: str
    type: str | None = None
    name: str | None = None
    version: str | None = None
    source_name: str | None = None
    source_version: str | None = None
    distro_id: str | None = None
    distro_version: str | None = None


@dataclass(frozen=True)
class OsvQuery:
    """Where to look a package up: ``keys`` (the exact ecosystem first, then release-less
    fallbacks such as ``Debian`` for ``Debian:12``) and the version to evaluate, in OSV's form."""

    ecosystem: str
    name: str
    version: str
    keys: tuple[PackageKey, ...]

    @property
    def key(self) -> PackageKey:
        """The primary key (exact ecosystem)."""
        return self.keys[0]


def normalize_ecosystem(ecosystem: str) -> str:
    """The canonical spelling of ``ecosystem``'s base name (``pypi`` → ``PyPI``), suffix kept."""
    base, sep, suffix = ecosystem.strip().partition(":")
    return _CANONICAL_ECOSYSTEMS.get(base.lower(), base) + sep + suffix


def normalize_name(ecosystem: str, name: str) -> str:
    """The name as matched: PEP 503 for PyPI, lower case for NuGet and Packagist, else unchanged."""
    base = ecosystem.split(":", 1)[0]
    if base == "PyPI":
        return _PEP503.sub("-", name).lower()
    if base in ("NuGet", "Packagist"):
        return name.lower()
    return name.strip()


def go_version(version: str, *, toolchain: bool = False) -> str:
    """Go's versions as OSV writes them: no ``v``; for the toolchain, ``go1.21rc2`` → ``1.21.0-rc.2``."""
    text = version.strip()
    if toolchain and text.startswith("go"):
        text = text[2:]
    if text[:1] in ("v", "V"):
        text = text[1:]
    if toolchain:
        match = _GO_RELEASE.fullmatch(text)
        if match:
            major, minor, patch, pre, number = match.groups()
            text = f"{major}.{minor}.{patch or 0}" + (f"-{pre}.{number}" if pre else "")
    return text


def osv_query(ref: PackageRef) -> OsvQuery:
    """Map ``ref`` to its OSV ecosystem, name and version; raises :class:`UnsupportedPackage`."""
    try:
        purl = parse_purl(ref.purl)
    except InvalidInput as exc:
        raise UnsupportedPackage(exc.message) from None
    name = ref.name or purl.name
    version = ref.version or purl.version
    if not version:
        raise UnsupportedPackage("the package has no version")
    kind = purl.type  # the package URL decides the ecosystem; ``ref.type`` is informational
    if kind in _SIMPLE_TYPES:
        return _query(_SIMPLE_TYPES[kind], name, version)
    if kind == "npm":
        scope = purl.namespace
        if scope and not scope.startswith("@"):
            scope = "@" + scope
        return _query("npm", f"{scope}/{purl.name}" if scope else purl.name, version)
    if kind == "golang":
        module = f"{purl.namespace}/{purl.name}" if purl.namespace else purl.name
        special = module in ("stdlib", "toolchain")
        return _query("Go", module, go_version(version, toolchain=special))
    if kind == "maven":
        if not purl.namespace:
            raise UnsupportedPackage("a Maven package URL needs a group (namespace)")
        return _query("Maven", f"{purl.namespace}:{purl.name}", version)
    if kind == "composer":
        return _query("Packagist", f"{purl.namespace}/{purl.name}" if purl.namespace else purl.name, version)
    if kind == "deb":
        return _deb(ref, purl, version)
    if kind == "apk":
        return _apk(ref, purl, version)
    if kind == "rpm":
        return _rpm(ref, purl, version)
    raise UnsupportedPackage(f"no OSV ecosystem for pkg:{kind} packages")


def _query(ecosystem: str, name: str, version: str, *fallbacks: str) -> OsvQuery:
    keys = [PackageKey.of(ecosystem, name)]
    keys.extend(PackageKey.of(other, name) for other in fallbacks if other != ecosystem)
    return OsvQuery(ecosystem=ecosystem, name=name, version=version, keys=tuple(keys))


def _distro(ref: PackageRef, purl: Purl) -> tuple[str, str]:
    """``(os-release ID, VERSION_ID)`` from the ref, else from the ``distro`` qualifier, else the namespace."""
    if ref.distro_id:
        return ref.distro_id.lower(), (ref.distro_version or "").strip()
    qualifier = purl.qualifiers.get("distro", "")
    if qualifier:
        distro, _, release = qualifier.partition("-")
        return distro.lower(), release
    return purl.namespace.lower(), ""


def _upstream(purl: Purl) -> tuple[str, str]:
    """The purl's ``upstream`` qualifier as ``(name, version)`` (``glibc`` or ``glibc@2.36-9``)."""
    name, _, version = purl.qualifiers.get("upstream", "").partition("@")
    return name.strip(), version.strip()


def _deb(ref: PackageRef, purl: Purl, version: str) -> OsvQuery:
    distro, release = _distro(ref, purl)
    up_name, up_version = _upstream(purl)
    name = ref.source_name or up_name or ref.name or purl.name
    source_version = ref.source_version or up_version or version
    if distro == "debian":
        release = _DEBIAN_CODENAMES.get(release, release).split(".", 1)[0]
        if not release.isdigit():
            raise UnsupportedPackage(f"unknown Debian release {release!r} (os-release VERSION_ID)")
        return _query(f"Debian:{release}", name, source_version, "Debian")
    if distro == "ubuntu":
        if not re.fullmatch(r"\d\d\.\d\d", release):
            raise UnsupportedPackage(f"unknown Ubuntu release {release!r} (os-release VERSION_ID)")
        year, month = release.split(".")
        lts = month == "04" and int(year) % 2 == 0
        return _query(f"Ubuntu:{release}" + (":LTS" if lts else ""), name, source_version)
    raise UnsupportedPackage(f"no OSV ecosystem for Debian-family distribution {distro!r}")


def _apk(ref: PackageRef, purl: Purl, version: str) -> OsvQuery:
    distro, release = _distro(ref, purl)
    up_name, _ = _upstream(purl)
    name = ref.source_name or up_name or ref.name or purl.name
    if distro == "alpine":
        match = re.match(r"v?(\d+)\.(\d+)", release)
        if not match:
            raise UnsupportedPackage(f"unknown Alpine release {release!r} (os-release VERSION_ID)")
        return _query(f"Alpine:v{match.group(1)}.{match.group(2)}", name, version)
    if distro in ("wolfi", "chainguard"):
        return _query("Wolfi" if distro == "wolfi" else "Chainguard", name, version)
    raise UnsupportedPackage(f"no OSV ecosystem for apk distribution {distro!r}")


def _rpm(ref: PackageRef, purl: Purl, version: str) -> OsvQuery:
    distro, release = _distro(ref, purl)
    up_name, _ = _upstream(purl)
    if up_name.endswith(".src.rpm"):
        up_name = up_name[: -len(".src.rpm")].rsplit("-", 2)[0]
    name = ref.source_name or up_name or ref.name or purl.name
    epoch = purl.qualifiers.get("epoch", "")
    if epoch and epoch != "0" and ":" not in version:
        version = f"{epoch}:{version}"
    major = release.split(".", 1)[0]
    ecosystems = {"almalinux": "AlmaLinux", "rocky": "Rocky Linux"}
    if distro in ecosystems and major.isdigit():
        return _query(f"{ecosystems[distro]}:{major}", name, version, ecosystems[distro])
    raise UnsupportedPackage(f"no OSV ecosystem for RPM distribution {distro!r} {release!r}")
