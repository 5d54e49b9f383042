"""Serving stored SBOMs: an image's platforms in Lookout's JSON, CycloneDX or SPDX."""

from __future__ import annotations

import json
from dataclasses import dataclass

from shared.analysis.formats import to_cyclonedx, to_document, to_spdx
from shared.analysis.model import ImageAnalysis
from shared.api.image_lookup import find_record
from shared.errors import Conflict, InvalidInput, NotFound
from shared.records import ImageRecords, SbomRecords

FORMATS = {
    "json": "application/json",
    "cyclonedx": "application/vnd.cyclonedx+json",
    "spdx": "application/spdx+json",
}


@dataclass(frozen=True)
class Rendered:
    """A document and its media type."""

    media_type: str
    body: str


def image_analysis(
    images: ImageRecords, sboms: SbomRecords, registry: object, repository: object, reference: object
) -> ImageAnalysis:
    """The stored analysis of an image (every platform); NotFound / Conflict when there is none (yet)."""
    record = find_record(images, registry, repository, reference)
    if record is None:
        raise NotFound("no such image has been recorded")
    if record.status != "analyzed":
        raise Conflict(f"the image is not analyzed (status {record.status}): {record.error or 'analysis pending'}")
    platforms = []
    for platform in record.platforms:
        stored = sboms.get(record.registry, record.repository, platform.digest)
        if stored is None:
            raise NotFound(f"the SBOM of platform {platform.platform} ({platform.digest}) is missing")
        platforms.append(stored)
    return ImageAnalysis(reference=f"{record.registry}/{record.repository}@{record.digest}", digest=record.digest,
                         media_type=record.media_type, platforms=tuple(platforms))


def render_sbom(analysis: ImageAnalysis, output: str, platform: str | None) -> Rendered:
    """``analysis`` as ``json`` (all platforms), ``cyclonedx`` or ``spdx`` (one platform: ``platform``, else
    linux/amd64 or the only one)."""
    if output not in FORMATS:
        raise InvalidInput(f"'format' must be one of {', '.join(FORMATS)}")
    known = [p.platform for p in analysis.platforms]
    if platform is not None and platform not in known:
        raise NotFound(f"the image has no platform {platform}; it has {', '.join(known) or 'none'}")
    if not known:
        raise Conflict("the image has no analyzed platform")
    if output == "json":
        document = to_document(analysis)
        if platform:
            document["platforms"] = [p for p in document["platforms"] if p["platform"] == platform]
        return Rendered(FORMATS[output], json.dumps(document))
    if output == "cyclonedx":
        return Rendered(FORMATS[output], to_cyclonedx(analysis, platform))
    return Rendered(FORMATS[output], json.dumps(to_spdx(analysis, platform)))
