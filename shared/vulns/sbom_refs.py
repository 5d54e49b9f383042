"""From an SBOM package to the plain values the matcher takes: :func:`package_ref`.

The one place where the analysis model (:class:`~shared.analysis.model.Package`,
:class:`~shared.analysis.model.OSInfo`) meets the matcher's input
(:class:`~shared.vulns.packages.PackageRef`); the command line and the queue worker both go
through it, so an image is matched the same way wherever it was analyzed.
"""

from __future__ import annotations

from collections.abc import Iterable

from shared.analysis.model import OSInfo, Package
from shared.vulns.packages import PackageRef


def package_ref(package: Package, os_info: OSInfo | None) -> PackageRef:
    """The :class:`PackageRef` of ``package``, found in a platform image whose os-release is ``os_info``.

    - ``purl``, ``type``, ``name`` and ``version`` are the SBOM's own (the purl decides the ecosystem).
    - The source package is the dpkg ``Source:`` package and version (``meta["source"]``,
      ``meta["source_version"]``; the dpkg cataloger sets the version to the binary's when
      ``Source:`` names none) or the apk origin (``meta["origin"]``; apk source versions are the
      package's own). Other types carry none: an RPM's source RPM reaches the matcher through the
      purl's ``upstream`` qualifier.
    - The distribution is ``os_info``'s ``id`` and ``version_id``; without a ``VERSION_ID`` (a
      Debian testing image) the ``VERSION_CODENAME`` is passed instead, which the matcher maps to
      the release (``trixie`` → ``Debian:13``). Without ``os_info`` the purl's ``distro`` qualifier
      decides.

    Never raises: whether the package can be matched at all is decided by
    :func:`shared.vulns.packages.osv_query`, which reports unsupported packages as skipped.
    """
    meta = package.meta
    source_name: str | None = None
    source_version: str | None = None
    if package.type == "deb":
        source_name = meta.get("source") or None
        source_version = meta.get("source_version") or None
    elif package.type == "apk":
        source_name = meta.get("origin") or None
    return PackageRef(
        purl=package.purl,
        type=package.type,
        name=package.name,
        version=package.version,
        source_name=source_name,
        source_version=source_version,
        distro_id=os_info.id if os_info is not None else None,
        distro_version=(os_info.version_id or os_info.version_codename) if os_info is not None else None,
    )


def package_refs(packages: Iterable[Package], os_info: OSInfo | None) -> list[PackageRef]:
    """:func:`package_ref` of each package, in order."""
    return [package_ref(package, os_info) for package in packages]
