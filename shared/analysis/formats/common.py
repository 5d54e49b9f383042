"""What the SBOM writers share: the tool's identity and the image's name."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from packageurl import PackageURL

from shared.analysis.model import ImageAnalysis, Package, PlatformAnalysis

TOOL = "lookout"


def tool_version() -> str:
    """The installed version of Lookout (``0.0.0`` when it is not installed as a distribution)."""
    try:
        return metadata.version("lookout")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def image_name(analysis: ImageAnalysis) -> str:
    """``registry/repository`` of the analyzed reference, without tag or digest."""
    reference = analysis.reference
    if "@" in reference:
        return reference.split("@", 1)[0]
    head, _, tail = reference.rpartition(":")
    return head if head and "/" not in tail else reference


def image_purl(analysis: ImageAnalysis, platform: PlatformAnalysis) -> str:
    """``pkg:oci/<name>@sha256:...?repository_url=<registry/repository>`` of one platform image."""
    name = image_name(analysis)
    short = name.rsplit("/", 1)[-1]
    qualifiers = {"repository_url": name}
    if platform.platform:
        qualifiers["arch"] = platform.platform.split("/")[1] if "/" in platform.platform else platform.platform
    return str(PackageURL(type="oci", name=short, version=platform.digest, qualifiers=qualifiers).to_string())


def pick(analysis: ImageAnalysis, platform: str | None = None) -> PlatformAnalysis:
    """The platform an SBOM is written for: ``platform`` when given, else the only one, else the first."""
    if not analysis.platforms:
        raise ValueError("the analysis has no platform")
    if platform is not None:
        for candidate in analysis.platforms:
            if candidate.platform == platform:
                return candidate
        raise ValueError(f"the analysis has no platform {platform}")
    return analysis.platforms[0]


@dataclass(frozen=True)
class DeclaredLicense:
    """The license a package's own metadata declares: the ``text`` as found, and the SPDX
    ``expression`` it is (normalized, e.g. ``GPL-2.0+`` as ``GPL-2.0-or-later``), if it is one."""

    text: str
    expression: str | None


_MAX_LICENSE_TEXT = 200


@functools.cache
def _spdx_licensing() -> Any:
    from license_expression import get_spdx_licensing  # loads the SPDX license list: only when an SBOM is written

    return get_spdx_licensing()


def declared_license(package: Package) -> DeclaredLicense | None:
    """What the package declares (its ``license`` detail, from Python, npm, Composer, RubyGems, apk or rpm
    metadata), or ``None``. Free text such as ``BSD`` or ``Apache Software License`` is no SPDX
    expression and is kept as text; a value over 200 characters or of several lines (a license's
    whole text) is left out. Nothing is concluded from license files."""
    text = package.meta.get("license", "").strip()
    if not text or len(text) > _MAX_LICENSE_TEXT or "\n" in text:
        return None  # a license's whole text pasted into a metadata field is no declaration to repeat
    try:
        checked = _spdx_licensing().validate(text, strict=True)
    except Exception:  # the parser raises on some malformed input ("MIT/Apache-2.0", "()") instead of reporting it
        return DeclaredLicense(text, None)
    expression = str(checked.normalized_expression) if not checked.errors and checked.normalized_expression else None
    return DeclaredLicense(text, expression)
