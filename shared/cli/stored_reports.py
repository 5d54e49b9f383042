"""An image's stored results, read over Lookout's API, as the library's report values.

:func:`image_report` reads ``GET /api/images/vulnerabilities`` (the stored
:func:`~shared.vulns.report.platform_json` of each platform) and ``GET /api/images/sbom?format=json`` of the
same digest, and rebuilds the :class:`~shared.vulns.report.ImageReport` that matching the image would
have given: findings, counts, coverage, problems, and the SBOM packages (for package names and the
files each finding was found in). So :func:`shared.vulns.report.image_json`,
:func:`~shared.vulns.report.image_text` and :func:`shared.vulns.sarif.to_sarif` print stored results
exactly as they print a fresh match, except for the advisory snapshot's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.analysis.model import OSInfo, Package, PlatformAnalysis
from shared.cli.api import ApiClient, image_label, image_query
from shared.errors import InvalidInput
from shared.registry.reference import Reference
from shared.vulns.matching import Coverage, Finding, MatchReport, SeverityCounts
from shared.vulns.problems import Problem
from shared.vulns.report import LEVELS, ImageReport, PlatformReport, finding_from_json, suppressions_from_json


def problem_from_json(value: Mapping[str, Any]) -> Problem:
    """The inverse of :func:`shared.vulns.report.problem_json`."""
    return Problem(code=str(value.get("code", "")), message=str(value.get("message", "")),
                   origin=str(value.get("origin", "")), record_id=str(value.get("record_id", "")),
                   package=str(value.get("package", "")))


def located_packages(stored: Mapping[str, Any], findings: tuple[Finding, ...]) -> tuple[Package, ...]:
    """Packages standing in for a platform's SBOM when it is not at hand: one per stored finding location,
    named as the finding names its package."""
    packages = []
    for value, finding in zip(stored.get("findings", []), findings, strict=True):
        for location in value.get("locations", []):
            packages.append(Package(type="", name=finding.name, version=finding.installed_version, purl=finding.package,
                                    layer=str(location.get("layer", "")), path=str(location.get("path", "")),
                                    cataloger=""))
    return tuple(packages)


def platform_report(stored: Mapping[str, Any], analysis: PlatformAnalysis | None) -> PlatformReport:
    """One platform's report from its stored JSON and its SBOM (``None``: packages are rebuilt from the
    findings' locations). Raises :class:`InvalidInput` for JSON of another shape."""
    try:
        findings = tuple(finding_from_json(f) for f in stored.get("findings", []))
        counted = stored.get("counts") or {}
        counts = (SeverityCounts(**{level: int(counted.get(level, 0)) for level in LEVELS}) if counted
                  else SeverityCounts.of(findings))
        coverage = tuple(Coverage(str(ecosystem), int(value.get("packages", 0)),
                                  None if value.get("advisories") is None else int(value["advisories"]))
                         for ecosystem, value in (stored.get("coverage") or {}).items())
        match = MatchReport(
            findings=findings, counts=counts, fixable=int(counted.get("fixable", sum(f.fixable for f in findings))),
            packages=int(stored.get("packages", 0)), keys=frozenset(), snapshot=str(stored.get("snapshot", "")),
            problems=tuple(problem_from_json(p) for p in stored.get("problems", [])),
            skipped=tuple(problem_from_json(p) for p in stored.get("skipped", [])), coverage=coverage,
        )
        os = OSInfo.from_json(stored["os"]) if stored.get("os") else None
        packages = analysis.packages if analysis is not None else located_packages(stored, findings)
        return PlatformReport(str(stored["platform"]), str(stored["digest"]), os, match, packages,
                              suppressions_from_json(stored.get("findings", [])))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidInput(f"not a stored vulnerability report: {type(exc).__name__} {exc}") from None


def image_report(client: ApiClient, reference: Reference, *, platform: str | None = None) -> ImageReport:
    """The stored report of the image at ``reference``, named as the analysis names it (see
    :func:`~shared.cli.api.image_label`); only ``platform`` when given.

    Raises what :meth:`ApiClient.call` raises (:class:`~shared.cli.api.ApiFailure` 404 for an image the app
    has not recorded, 409 while it is not analyzed; :class:`~shared.cli.api.ApiUnreachable`), and
    :class:`InvalidInput` when the image has no such platform.
    """
    stored = client.call("GET", "images/vulnerabilities", params=image_query(reference))
    digest = str(stored["digest"])
    reports = [p for p in stored.get("platforms", []) if platform is None or p.get("platform") == platform]
    if platform is not None and not reports:
        known = ", ".join(str(p.get("platform")) for p in stored.get("platforms", []))
        raise InvalidInput(f"{image_label(reference)} has no platform {platform}; it has {known or 'none'}")
    sbom = client.call("GET", "images/sbom", params={**image_query(reference), "reference": digest, "format": "json"})
    analyses = {p.digest: p for p in (PlatformAnalysis.from_json(value) for value in sbom.get("platforms", []))}
    platforms = tuple(platform_report(report, analyses.get(str(report.get("digest")))) for report in reports)
    return ImageReport(image_label(reference), digest, platforms)
