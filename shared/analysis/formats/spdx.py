"""SPDX 2.3 JSON for one platform image, built directly as the SPDX 2.3 JSON schema describes.

The image is a package (``primaryPackagePurpose: CONTAINER``) the document ``DESCRIBES``; the
image ``CONTAINS`` every package, each with its Package URL as a ``PACKAGE-MANAGER``/``purl``
external reference and where it was found (layer blob digest and path) in ``sourceInfo``.
``licenseDeclared`` is the SPDX expression a package's metadata declares; a declaration that is no
SPDX expression (``BSD``) is ``NOASSERTION`` with the text in ``licenseComments``.
``licenseConcluded`` is always ``NOASSERTION``: the analysis does not conclude licenses.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from shared.analysis.formats.common import TOOL, declared_license, image_name, image_purl, pick, tool_version
from shared.analysis.model import ImageAnalysis, Package

_ID_CHARS = re.compile(r"[^A-Za-z0-9.\-]+")
NOASSERTION = "NOASSERTION"


def _spdx_id(prefix: str, index: int, name: str) -> str:
    return f"SPDXRef-{prefix}-{index}-{_ID_CHARS.sub('-', name)[:60]}"


def _declared(package: Package) -> dict[str, str]:
    declared = declared_license(package)
    if declared is None:
        return {"licenseDeclared": NOASSERTION}
    if declared.expression is not None:
        return {"licenseDeclared": declared.expression}
    return {"licenseDeclared": NOASSERTION, "licenseComments": f"declared as {declared.text!r}, not an SPDX license expression"}


def _purl_ref(locator: str) -> dict[str, str]:
    return {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": locator}


def to_spdx(analysis: ImageAnalysis, platform: str | None = None, *, created: dt.datetime | None = None) -> dict[str, Any]:
    """The SPDX 2.3 JSON document (a JSON-able dict) of one platform of ``analysis``.

    ``documentNamespace`` is unique per image digest, platform and creation time.
    """
    chosen = pick(analysis, platform)
    when = (created or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc).replace(microsecond=0)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    name = image_name(analysis)
    namespace_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{TOOL}:{name}@{chosen.digest}:{chosen.platform}:{stamp}")
    image_id = "SPDXRef-Image"
    packages: list[dict[str, Any]] = [
        {
            "SPDXID": image_id,
            "name": name,
            "versionInfo": chosen.digest,
            "downloadLocation": NOASSERTION,
            "filesAnalyzed": False,
            "primaryPackagePurpose": "CONTAINER",
            "licenseConcluded": NOASSERTION,
            "licenseDeclared": NOASSERTION,
            "copyrightText": NOASSERTION,
            "supplier": NOASSERTION,
            "externalRefs": [_purl_ref(image_purl(analysis, chosen))],
        }
    ]
    relationships: list[dict[str, str]] = [
        {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": image_id}
    ]
    if chosen.os is not None:
        os_id = _spdx_id("OperatingSystem", 0, chosen.os.id)
        packages.append(
            {
                "SPDXID": os_id,
                "name": chosen.os.id,
                "versionInfo": chosen.os.version_id or NOASSERTION,
                "downloadLocation": NOASSERTION,
                "filesAnalyzed": False,
                "primaryPackagePurpose": "OPERATING_SYSTEM",
                "licenseConcluded": NOASSERTION,
                "licenseDeclared": NOASSERTION,
                "copyrightText": NOASSERTION,
            }
        )
        relationships.append({"spdxElementId": image_id, "relationshipType": "CONTAINS", "relatedSpdxElement": os_id})
    for index, package in enumerate(chosen.packages, start=1):
        package_id = _spdx_id("Package", index, f"{package.type}-{package.name}")
        packages.append(
            {
                "SPDXID": package_id,
                "name": package.name,
                "versionInfo": package.version,
                "downloadLocation": NOASSERTION,
                "filesAnalyzed": False,
                "primaryPackagePurpose": "LIBRARY",
                "licenseConcluded": NOASSERTION,
                **_declared(package),
                "copyrightText": NOASSERTION,
                "sourceInfo": f"found by {TOOL} ({package.cataloger}) at {package.path} in layer {package.layer}",
                "externalRefs": [_purl_ref(package.purl)],
            }
        )
        relationships.append({"spdxElementId": image_id, "relationshipType": "CONTAINS", "relatedSpdxElement": package_id})
    return {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": f"{name}@{chosen.digest}",
        "documentNamespace": f"https://spdx.org/spdxdocs/{TOOL}/{namespace_id}",
        "creationInfo": {"created": stamp, "creators": [f"Tool: {TOOL}-{tool_version()}"]},
        "packages": packages,
        "relationships": relationships,
    }
