"""CycloneDX 1.6 JSON for one platform image, through cyclonedx-python-lib.

The image is the BOM's ``metadata.component`` (type ``container``); the distribution is an
``operating-system`` component; every package is a ``library`` with its Package URL and the
properties ``lookout:layer`` (blob digest of the layer that introduced it) and ``lookout:path``,
and the license its metadata declares (an SPDX expression, else the license's name as written).
"""

from __future__ import annotations

from cyclonedx.model import Property
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.license import DisjunctiveLicense, License, LicenseExpression
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from shared.analysis.formats.common import TOOL, declared_license, image_name, image_purl, pick, tool_version
from shared.analysis.model import ImageAnalysis, Package


def _licenses(package: Package) -> list[License]:
    declared = declared_license(package)
    if declared is None:
        return []
    if declared.expression is not None:
        return [LicenseExpression(declared.expression)]
    return [DisjunctiveLicense(name=declared.text)]


def to_cyclonedx(analysis: ImageAnalysis, platform: str | None = None) -> str:
    """The CycloneDX 1.6 JSON text of one platform of ``analysis`` (see :func:`~.common.pick`)."""
    chosen = pick(analysis, platform)
    bom = Bom()
    image = Component(
        name=image_name(analysis),
        version=chosen.digest,
        type=ComponentType.CONTAINER,
        bom_ref=f"image:{chosen.digest}",
        purl=PackageURL.from_string(image_purl(analysis, chosen)),
        properties=[Property(name="lookout:platform", value=chosen.platform)],
    )
    bom.metadata.component = image
    bom.metadata.tools.components.add(Component(name=TOOL, version=tool_version(), type=ComponentType.APPLICATION))
    members: list[Component] = []
    if chosen.os is not None:
        members.append(
            Component(
                name=chosen.os.id,
                version=chosen.os.version_id,
                type=ComponentType.OPERATING_SYSTEM,
                bom_ref=f"os:{chosen.os.distro}",
                description=chosen.os.pretty_name,
            )
        )
    seen: dict[str, int] = {}
    for package in chosen.packages:
        reference = f"{package.purl}#{package.path}"
        seen[reference] = seen.get(reference, 0) + 1
        if seen[reference] > 1:
            reference += f"#{seen[reference]}"
        members.append(
            Component(
                name=package.name,
                version=package.version,
                type=ComponentType.LIBRARY,
                bom_ref=reference,
                purl=PackageURL.from_string(package.purl),
                licenses=_licenses(package),
                properties=[
                    Property(name="lookout:type", value=package.type),
                    Property(name="lookout:layer", value=package.layer),
                    Property(name="lookout:path", value=package.path),
                ],
            )
        )
    for member in members:
        bom.components.add(member)
    bom.register_dependency(image, members)
    return str(JsonV1Dot6(bom).output_as_string(indent=2))
