"""A vulnerability report as SARIF 2.1.0 (the format code scanning services import).

:func:`to_sarif` writes one run whose tool is ``lookout``:

- one *rule* per advisory id (the finding id: a CVE when there is one), in order of first use,
  with the advisory's summary, a help text (aliases, references) and a ``helpUri`` (an ``ADVISORY``
  reference, else a ``WEB`` one, else the first, else the record on osv.dev); its default level
  and ``security-severity`` are those of its most severe finding;
- one *result* per finding per platform, with the level of its severity (critical and high:
  ``error``; medium and unknown: ``warning``; low and none: ``note``), a message naming package,
  installed and fixed versions, one location per file the package was found in (a path relative
  to the image root, base id :data:`ROOT_BASE_ID`, with the layer's blob digest in its
  properties), and ``partialFingerprints`` that stay the same while the same flaw is in the same
  package at the same path of the same platform, whatever its version; its properties say where
  the severity came from (see :func:`severity_properties`);
- the matcher's problems and skipped packages as tool execution notifications.

A finding a VEX statement suppresses is still a result, with one ``suppressions`` entry of kind
``external`` (the statement lives outside the analyzed files), status ``accepted`` and the
statement's status, justification and impact text as its ``justification`` (SARIF 2.1.0 §3.35);
the entry's properties repeat them with the statement's source and scope. Viewers that honour
suppressions list such results as suppressed rather than open.

``security-severity`` is the CVSS base score; a rating without a score is given the lowest
score of its band (critical 9.0, high 7.0, medium 4.0, low 0.1); unknown has none. GitHub code
scanning reads it from the rule; results carry it too, with their own finding's score.
"""

from __future__ import annotations

import hashlib
from importlib import metadata
from typing import Any
from urllib.parse import quote

from shared.errors import InvalidInput
from shared.vulns.matching import Finding
from shared.vulns.problems import Problem
from shared.vulns.purl import parse_purl
from shared.vulns.report import (
    ImageReport,
    PlatformReport,
    coverage_json,
    level_of,
    package_label,
    severity_source_text,
)

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
TOOL_NAME = "lookout"
ROOT_BASE_ID = "IMAGEROOT"
"""The ``uriBaseId`` of every location: the root of the image's filesystem."""
FINGERPRINT = "lookoutFinding/v1"
"""The ``partialFingerprints`` key results are identified by across runs."""

_LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "unknown": "warning"}
_BAND_FLOOR = {"critical": 9.0, "high": 7.0, "medium": 4.0, "low": 0.1}
_RANK = {"critical": 4, "high": 3, "medium": 2, "unknown": 1, "low": 0}


def sarif_level(finding: Finding) -> str:
    """The SARIF ``level`` of a finding (see the module notes)."""
    return _LEVELS[level_of(finding)]


def security_severity(finding: Finding) -> str | None:
    """The ``security-severity`` property: the CVSS score as text (``"8.1"``), or ``None`` when unknown."""
    if finding.severity.score is not None:
        return f"{finding.severity.score:.1f}"
    floor = _BAND_FLOOR.get(level_of(finding))
    return f"{floor:.1f}" if floor is not None else None


def severity_properties(finding: Finding) -> dict[str, Any]:
    """A result's severity properties: ``severity`` (the rating), ``security-severity`` (as on
    rules, when known), ``cvssV3_score`` (or ``cvssV4_score``, ``cvssV2_score``: the base score
    as a number) and ``cvssVector`` for a CVSS rating, ``severitySource`` (the record that gave
    the rating) and ``severityOrigin`` (``CVSS_V3``, ``GitHub``, ``Debian urgency``...) when known."""
    severity = finding.severity
    properties: dict[str, Any] = {"severity": severity.rating}
    score = security_severity(finding)
    if score is not None:
        properties["security-severity"] = score
    if severity.score is not None and severity.type.startswith("CVSS_V"):
        properties[f"cvss{severity.type.removeprefix('CVSS_')}_score"] = severity.score
        properties["cvssVector"] = severity.vector
    if severity.source:
        properties["severitySource"] = severity.source
    if severity.origin:
        properties["severityOrigin"] = severity.origin
    return properties


def _severity_phrase(finding: Finding) -> str:
    """``high 8.1, rated by GHSA-…`` (``medium, rated by GitHub GHSA-…``), or the rating alone."""
    severity = finding.severity
    text = f"{severity.rating} {severity.score:.1f}" if severity.score is not None else severity.rating
    given_by = severity_source_text(severity)
    return f"{text}, rated by {given_by}" if given_by else text


def help_uri(finding: Finding) -> str:
    """Where to read about the advisory (see the module notes)."""
    for wanted in ("ADVISORY", "WEB"):
        for reference in finding.references:
            if reference.type == wanted:
                return reference.url
    if finding.references:
        return finding.references[0].url
    return f"https://osv.dev/vulnerability/{quote(finding.id, safe='')}"


def fingerprint(platform: str, finding: Finding, paths: tuple[str, ...]) -> str:
    """A hex SHA-256 over platform, finding id, the package URL without its version, and the paths."""
    try:
        purl = parse_purl(finding.package)
        package = f"{purl.type}/{purl.namespace}/{purl.name}"
    except InvalidInput:
        package = finding.package
    text = "\0".join((platform, finding.id, package, *paths))
    return hashlib.sha256(text.encode()).hexdigest()


def _rule(finding: Finding) -> dict[str, Any]:
    description = finding.summary or finding.id
    text = [f"{finding.id}: {description}"]
    markdown = [f"**{finding.id}**: {description}"]
    if finding.aliases:
        text.append("Also known as: " + ", ".join(finding.aliases))
        markdown.append("Also known as: " + ", ".join(finding.aliases))
    if finding.references:
        text.append("References:\n" + "\n".join(f"- {r.url}" for r in finding.references))
        markdown.append("References:\n\n" + "\n".join(f"- <{r.url}>" for r in finding.references))
    properties: dict[str, Any] = {"tags": ["security", "vulnerability", level_of(finding)]}
    score = security_severity(finding)
    if score is not None:
        properties["security-severity"] = score
    return {
        "id": finding.id,
        "shortDescription": {"text": description},
        "fullDescription": {"text": description},
        "help": {"text": "\n\n".join(text), "markdown": "\n\n".join(markdown)},
        "helpUri": help_uri(finding),
        "defaultConfiguration": {"level": sarif_level(finding)},
        "properties": properties,
    }


def _result(report: PlatformReport, finding: Finding, rule_index: int) -> dict[str, Any]:
    locations = report.locations(finding)
    fixed = ", ".join(finding.fixed_versions)
    message = (
        f"{package_label(report, finding)} {finding.installed_version} ({finding.ecosystem}) is affected by {finding.id} "
        f"({_severity_phrase(finding)}) on {report.platform}. "
        + (f"Fixed in {fixed}." if fixed else "No fixed version is known.")
    )
    result: dict[str, Any] = {
        "ruleId": finding.id,
        "ruleIndex": rule_index,
        "level": sarif_level(finding),
        "message": {"text": message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": quote(location.path.lstrip("/"), safe="/"), "uriBaseId": ROOT_BASE_ID},
                    "region": {"startLine": 1},
                },
                "properties": {"layer": location.layer},
            }
            for location in locations
        ],
        "partialFingerprints": {FINGERPRINT: fingerprint(report.platform, finding, tuple(loc.path for loc in locations))},
        "properties": {
            "platform": report.platform,
            "purl": finding.package,
            "ecosystem": finding.ecosystem,
            "package": finding.name,
            "installedVersion": finding.installed_version,
            "fixedVersions": list(finding.fixed_versions),
            "aliases": list(finding.aliases),
            **severity_properties(finding),
        },
    }
    suppression = report.suppression(finding)
    if suppression is not None:
        why = "; ".join(part for part in (suppression.justification, suppression.statement) if part)
        result["suppressions"] = [{
            "kind": "external",
            "status": "accepted",
            "justification": f"VEX {suppression.status}" + (f": {why}" if why else ""),
            "properties": suppression.to_json(),
        }]
    return result


def _notification(problem: Problem, level: str) -> dict[str, Any]:
    return {"level": level, "message": {"text": str(problem)}}


def _tool_version() -> str:
    try:
        return metadata.version("lookout")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def to_sarif(report: ImageReport, *, tool_version: str | None = None) -> dict[str, Any]:
    """The SARIF log of ``report`` (one run; see the module notes) as JSON-able data."""
    rules: list[dict[str, Any]] = []
    rule_index: dict[str, int] = {}
    worst: dict[str, Finding] = {}
    results: list[dict[str, Any]] = []
    notifications: list[dict[str, Any]] = []
    for platform in report.platforms:
        for finding in platform.findings:
            if finding.id not in rule_index:
                rule_index[finding.id] = len(rules)
                rules.append(_rule(finding))
                worst[finding.id] = finding
            elif _RANK[level_of(finding)] > _RANK[level_of(worst[finding.id])]:
                worst[finding.id] = finding
                rules[rule_index[finding.id]] = _rule(finding)
            results.append(_result(platform, finding, rule_index[finding.id]))
        notifications.extend({"level": "warning", "message": {"text": f"{platform.platform}: {warning}"}}
                             for warning in platform.match.warnings)
        notifications.extend(_notification(p, "warning") for p in platform.match.problems)
        notifications.extend(_notification(p, "note") for p in platform.match.skipped)
    version = tool_version or _tool_version()
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {"driver": {"name": TOOL_NAME, "version": version, "semanticVersion": version, "rules": rules}},
                "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
                "originalUriBaseIds": {
                    ROOT_BASE_ID: {"uri": "file:///", "description": {"text": "The root of the image's filesystem."}}
                },
                "results": results,
                "properties": {"image": report.reference, "digest": report.digest, "advisorySnapshot": report.snapshot,
                               "advisoryCoverage": {p.platform: coverage_json(p.match.coverage)
                                                    for p in report.platforms}},
            }
        ],
    }
