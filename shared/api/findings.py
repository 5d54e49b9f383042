"""Serving stored vulnerability reports: an image's findings, filtered by severity and fixability."""

from __future__ import annotations

from typing import Any

from shared.api.image_lookup import find_record
from shared.bases.origins import annotate, image_split
from shared.errors import Conflict, InvalidInput, NotFound
from shared.images.model import PlatformRef
from shared.records import ImageRecords, ReportRecords
from shared.vulns.report import LEVELS, finding_from_json, level_of, parse_levels


def image_vulnerabilities(
    images: ImageRecords, reports: ReportRecords, registry: object, repository: object, reference: object,
    severity: str | None = None, fixable: str | None = None,
) -> dict[str, Any]:
    """``{"registry", "repository", "digest", "tags", "vulnerabilities", "fixable", "platforms": [report...],
    "origin_counts"}``.

    Each platform report carries its detected ``base``, ``origin_counts`` and each finding's ``origin``
    (``base`` or ``image``; see :func:`shared.bases.origins.annotate`); the image's ``origin_counts`` split
    its findings the same way (null when no platform has a detected base).

    ``severity`` is a comma-separated list of levels (``critical,high``) and ``fixable`` ``true`` to
    keep only findings with a fixed version; the per-platform ``counts`` stay those of the whole
    report. NotFound for an unknown image, Conflict while it is not analyzed.
    """
    record = find_record(images, registry, repository, reference)
    if record is None:
        raise NotFound("no such image has been recorded")
    if record.status != "analyzed":
        raise Conflict(f"the image is not analyzed (status {record.status}): {record.error or 'analysis pending'}")
    levels = parse_levels(severity) if severity else frozenset(LEVELS)
    if fixable not in (None, "", "true", "false"):
        raise InvalidInput("'fixable' must be true or false")
    platforms = []
    whole: list[dict[str, Any]] = []
    for platform in record.platforms:
        report = reports.get(PlatformRef(record.registry, record.repository, platform.digest))
        if report is None:
            raise NotFound(f"no vulnerability report for platform {platform.platform} ({platform.digest}) yet")
        whole.append(dict(annotate(report, platform)))
        report["findings"] = [
            f for f in report.get("findings", [])
            if level_of(finding_from_json(f)) in levels and (fixable != "true" or f.get("fixable"))
        ]
        platforms.append(report)
    return {
        "registry": record.registry,
        "repository": record.repository,
        "digest": record.digest,
        "tags": images.tags_of(record.registry, record.repository, record.digest),
        "vulnerabilities": dict(record.vulnerabilities),
        "fixable": record.fixable,
        "platforms": platforms,
        "origin_counts": image_split(whole),
    }

