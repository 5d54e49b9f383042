"""Vulnerability reports of analyzed images: matching, filtering, and their JSON and text forms.

:func:`match_platform` matches one :class:`~shared.analysis.model.PlatformAnalysis` against an
:class:`~shared.vulns.index.AdvisorySource` (through :func:`shared.vulns.sbom_refs.package_ref`)
and keeps the SBOM packages beside the findings, so that each finding can name the files it was
found in; :func:`match_image` does every platform of an :class:`~shared.analysis.model.ImageAnalysis`
with one :class:`~shared.vulns.matching.Matcher`. :func:`select` narrows a report to some
severities or to fixable findings, counts included.

The JSON forms are a contract (the command line prints them, the HTTP API serves them):

- :func:`finding_json`: ``id``, ``aliases``, ``advisory_ids``, ``package`` (the PURL), ``ecosystem``,
  ``name`` (the OSV package: the *source* package for distributions), ``installed_version`` and
  ``fixed_versions`` (as OSV writes them: ``1.19.8`` for ``go1.19.8``, the source version for dpkg),
  ``fixable``, ``severity`` (see :func:`severity_json`), ``summary``,
  ``references`` (``type``, ``url``), ``modified`` (RFC 3339, UTC), ``locations`` (``path``, ``layer``:
  where the package was found, possibly empty). Lists are never omitted; order is stable.
- :func:`counts_json`: ``total``, ``critical``, ``high``, ``medium``, ``low``, ``unknown``, ``fixable``.
- :func:`platform_json` and :func:`image_json`: the findings per platform with their counts, the
  advisory ``snapshot``, its ``coverage`` of the packages' ecosystems (see :func:`coverage_json`) with
  a ``warnings`` sentence for each ecosystem checked against no advisories — never a silent zero —
  and the ``problems`` and ``skipped`` packages (see :func:`problem_json`).

A finding a VEX statement suppresses (:class:`Suppression`, set by :func:`shared.vex.apply.apply_vex`)
stays among the findings, shown, with a ``suppressed`` object (``status``, ``justification``,
``statement``, ``source``, ``scope``; the key is present only on suppressed findings), but it is
left out of every count and of the fixable count; a platform with suppressed findings says how many
in ``suppressed`` (present only when there are some). The table marks them ``[VEX <status>]`` and
says how many were suppressed, with each one's justification.

Ratings are those of :mod:`shared.vulns.severity`; a finding rated ``none`` counts, and is
selected, as ``low``. Every form says where a rating came from: the JSON has the CVSS ``score`` and
``vector``, the ``source`` record and the ``origin``; the table shows ``high 7.5 (GHSA-…)`` for a
CVSS rating and ``medium (GitHub GHSA-…)`` or ``low (Debian urgency DEBIAN-CVE-…)`` for a word.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from shared.analysis.model import ImageAnalysis, OSInfo, Package, PlatformAnalysis
from shared.errors import InvalidInput
from shared.vulns.index import AdvisorySource
from shared.vulns.matching import Coverage, Finding, Matcher, MatchReport, SeverityCounts
from shared.vulns.model import Reference
from shared.vulns.parse import format_time, parse_time
from shared.vulns.problems import Problem
from shared.vulns.sbom_refs import package_refs
from shared.vulns.severity import SeverityScore

LEVELS = ("critical", "high", "medium", "low", "unknown")
"""The ratings findings are counted and selected under, most severe first."""


@dataclass(frozen=True)
class Location:
    """Where a vulnerable package was found: the ``path`` in the image and the blob digest of its ``layer``."""

    path: str
    layer: str


@dataclass(frozen=True)
class Suppression:
    """Why a finding is not counted: the VEX statement that says it does not apply.

    ``status`` as the document wrote it (OpenVEX ``not_affected`` or ``fixed``; CycloneDX
    ``not_affected``, ``resolved``, ``resolved_with_pedigree`` or ``false_positive``);
    ``justification`` its label (possibly empty); ``statement`` the impact statement or detail text
    (possibly empty); ``source`` the document and the statement in it (``openvex <id> statements[2]``);
    ``scope`` where the statement was imported (``integration <id>``, ``repository <name>``,
    ``image <digest>``).
    """

    status: str
    justification: str
    statement: str
    source: str
    scope: str

    def to_json(self) -> dict[str, str]:
        """``{"status", "justification", "statement", "source", "scope"}``."""
        return {"status": self.status, "justification": self.justification, "statement": self.statement,
                "source": self.source, "scope": self.scope}

    @staticmethod
    def from_json(value: Mapping[str, Any]) -> Suppression:
        """The inverse of :meth:`to_json` (missing keys read as empty)."""
        return Suppression(**{key: str(value.get(key) or "") for key in
                              ("status", "justification", "statement", "source", "scope")})


def finding_key(finding: Finding) -> tuple[str, str]:
    """What a suppression is filed under in a platform report: the finding's id and package URL."""
    return finding.id, finding.package


@dataclass(frozen=True)
class PlatformReport:
    """The findings of one platform image: ``match`` (findings most severe first, counts, problems)
    and the SBOM ``packages`` they were matched from (for :meth:`locations` and display names).

    ``suppressions`` are the findings VEX statements suppress, by :func:`finding_key`; ``match``'s
    counts and fixable count leave them out (:func:`with_suppressions` keeps that so).
    """

    platform: str
    digest: str
    os: OSInfo | None
    match: MatchReport
    packages: tuple[Package, ...] = ()
    suppressions: Mapping[tuple[str, str], Suppression] = field(default_factory=dict)

    def suppression(self, finding: Finding) -> Suppression | None:
        """The suppression of ``finding``, or None when it counts."""
        return self.suppressions.get(finding_key(finding))

    @property
    def counted(self) -> tuple[Finding, ...]:
        """The findings no VEX statement suppresses, most severe first."""
        return tuple(f for f in self.match.findings if finding_key(f) not in self.suppressions)

    @property
    def suppressed_count(self) -> int:
        """How many of the findings are suppressed."""
        return len(self.match.findings) - len(self.counted)

    @property
    def findings(self) -> tuple[Finding, ...]:
        """The findings, most severe first."""
        return self.match.findings

    @property
    def counts(self) -> SeverityCounts:
        """How many findings of each rating."""
        return self.match.counts

    @property
    def fixable(self) -> int:
        """How many findings have a fixed version."""
        return self.match.fixable

    @cached_property
    def _by_purl(self) -> Mapping[str, tuple[Package, ...]]:
        grouped: dict[str, list[Package]] = {}
        for package in self.packages:
            grouped.setdefault(package.purl, []).append(package)
        return {purl: tuple(found) for purl, found in grouped.items()}

    def packages_of(self, finding: Finding) -> tuple[Package, ...]:
        """The SBOM packages a finding is about (one per file the package was found in)."""
        return self._by_purl.get(finding.package, ())

    def locations(self, finding: Finding) -> tuple[Location, ...]:
        """Where the finding's package was found, in path order (empty when not among :attr:`packages`)."""
        found = {(p.path, p.layer) for p in self.packages_of(finding)}
        return tuple(Location(path, layer) for path, layer in sorted(found))


@dataclass(frozen=True)
class ImageReport:
    """The findings of an image: the ``reference`` analyzed, its manifest (or index) ``digest``, each platform."""

    reference: str
    digest: str
    platforms: tuple[PlatformReport, ...]

    @property
    def snapshot(self) -> str:
        """The advisory snapshot matched against (``""`` for an image without platforms)."""
        return self.platforms[0].match.snapshot if self.platforms else ""

    @property
    def finding_count(self) -> int:
        """How many findings all platforms have, in all (suppressed ones left out)."""
        return sum(len(p.counted) for p in self.platforms)


def match_platform(platform: PlatformAnalysis, source: AdvisorySource | Matcher) -> PlatformReport:
    """Match every package of ``platform``; raises only what the source raises (see :class:`Matcher`)."""
    matcher = source if isinstance(source, Matcher) else Matcher(source)
    report = matcher.match(package_refs(platform.packages, platform.os))
    return PlatformReport(platform.platform, platform.digest, platform.os, report, platform.packages)


def match_image(analysis: ImageAnalysis, source: AdvisorySource | Matcher) -> ImageReport:
    """:func:`match_platform` for each platform of ``analysis``, in its order, with one matcher."""
    matcher = source if isinstance(source, Matcher) else Matcher(source)
    platforms = tuple(match_platform(platform, matcher) for platform in analysis.platforms)
    return ImageReport(analysis.reference, analysis.digest, platforms)


def with_suppressions(report: PlatformReport, suppressions: Mapping[tuple[str, str], Suppression]) -> PlatformReport:
    """``report`` with exactly ``suppressions`` (those naming none of its findings dropped), its counts and
    fixable count recomputed over the findings that still count."""
    ids = {finding_key(f) for f in report.findings}
    kept = {key: value for key, value in suppressions.items() if key in ids}
    counted = [f for f in report.findings if finding_key(f) not in kept]
    match = replace(report.match, counts=SeverityCounts.of(counted), fixable=sum(f.fixable for f in counted))
    return replace(report, match=match, suppressions=kept)


def level_of(finding: Finding) -> str:
    """The rating ``finding`` is counted under: one of :data:`LEVELS` (``none`` is ``low``)."""
    rating = finding.severity.rating
    if rating == "none":
        return "low"
    return rating if rating in LEVELS else "unknown"


def level_of_json(value: Mapping[str, Any]) -> str:
    """:func:`level_of` the finding whose JSON (:func:`finding_json`) is ``value``, without reading the rest of it.

    Raises :class:`InvalidInput` when its severity is not that shape."""
    try:
        rating = str(value["severity"].get("rating", "unknown"))
    except (KeyError, TypeError, AttributeError) as exc:
        raise InvalidInput(f"not a finding: {type(exc).__name__} {exc}") from None
    if rating == "none":
        return "low"
    return rating if rating in LEVELS else "unknown"


def parse_levels(text: str) -> frozenset[str]:
    """The ratings named by ``text``, comma-separated (``critical,high``); raises :class:`InvalidInput`."""
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in LEVELS]
    if unknown or not names:
        raise InvalidInput(f"unknown severity {', '.join(unknown) or repr(text)}: use one or more of {', '.join(LEVELS)}")
    return frozenset(names)


def select(report: PlatformReport, *, levels: Collection[str] | None = None, fixable: bool = False) -> PlatformReport:
    """``report`` with only the findings rated one of ``levels`` (all when ``None``) and, with
    ``fixable``, only those with a fixed version; counts and fixable count describe what is kept."""
    kept = tuple(f for f in report.findings if (levels is None or level_of(f) in levels) and (not fixable or f.fixable))
    if len(kept) == len(report.findings):
        return report
    return with_suppressions(replace(report, match=replace(report.match, findings=kept)), report.suppressions)


def select_image(report: ImageReport, *, levels: Collection[str] | None = None, fixable: bool = False) -> ImageReport:
    """:func:`select` applied to every platform."""
    return replace(report, platforms=tuple(select(p, levels=levels, fixable=fixable) for p in report.platforms))


# -- JSON -----------------------------------------------------------------------------------------


def severity_json(severity: SeverityScore) -> dict[str, Any]:
    """``{"rating", "score", "type", "vector", "source", "origin"}``.

    ``score`` is the CVSS base score, ``null`` without a CVSS vector (``vector`` is then ``""``);
    ``type`` the field the rating was read from (``CVSS_V3``, ``database_specific``, ``Ubuntu``...);
    ``source`` the id of the record that gave the rating (possibly none of the finding's own
    records: a rating borrowed through an alias); ``origin`` who rated it (``CVSS_V3``, ``GitHub``,
    ``Debian urgency``, ``Ubuntu priority``...). All but ``rating`` are empty when it is ``unknown``.
    """
    return {
        "rating": severity.rating,
        "score": severity.score,
        "type": severity.type,
        "vector": severity.vector,
        "source": severity.source,
        "origin": severity.origin,
    }


def severity_from_json(value: Mapping[str, Any]) -> SeverityScore:
    """The inverse of :func:`severity_json`; a report stored before ``source`` and ``origin`` existed
    reads with both empty. Raises ``ValueError``/``TypeError``/``AttributeError`` for another shape."""
    score = value.get("score")
    return SeverityScore(
        rating=str(value.get("rating", "unknown")),
        score=float(score) if score is not None else None,
        type=str(value.get("type", "")),
        vector=str(value.get("vector", "")),
        source=str(value.get("source") or ""),
        origin=str(value.get("origin") or ""),
    )


def finding_json(finding: Finding, locations: Sequence[Location] = (),
                 suppression: Suppression | None = None) -> dict[str, Any]:
    """The JSON object of one finding (see the module notes); ``locations`` as :meth:`PlatformReport.locations`
    gives them; ``suppressed`` only with a ``suppression``."""
    document: dict[str, Any] = {
        "id": finding.id,
        "aliases": list(finding.aliases),
        "advisory_ids": list(finding.advisory_ids),
        "package": finding.package,
        "ecosystem": finding.ecosystem,
        "name": finding.name,
        "installed_version": finding.installed_version,
        "fixed_versions": list(finding.fixed_versions),
        "fixable": finding.fixable,
        "severity": severity_json(finding.severity),
        "summary": finding.summary,
        "references": [{"type": r.type, "url": r.url} for r in finding.references],
        "modified": format_time(finding.modified),
        "locations": [{"path": location.path, "layer": location.layer} for location in locations],
    }
    if suppression is not None:
        document["suppressed"] = suppression.to_json()
    return document


def finding_from_json(value: Mapping[str, Any]) -> Finding:
    """The inverse of :func:`finding_json` (locations are not part of a :class:`Finding`).

    Raises :class:`InvalidInput` when ``value`` is not that shape.
    """
    try:
        return Finding(
            id=str(value["id"]),
            aliases=tuple(str(a) for a in value.get("aliases", ())),
            advisory_ids=tuple(str(a) for a in value.get("advisory_ids", ())),
            package=str(value["package"]),
            ecosystem=str(value["ecosystem"]),
            name=str(value["name"]),
            installed_version=str(value["installed_version"]),
            fixed_versions=tuple(str(v) for v in value.get("fixed_versions", ())),
            severity=severity_from_json(value["severity"]),
            summary=str(value.get("summary", "")),
            references=tuple(Reference(str(r["type"]), str(r["url"])) for r in value.get("references", ())),
            modified=parse_time(str(value["modified"])),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidInput(f"not a finding: {type(exc).__name__} {exc}") from None


def counts_json(counts: SeverityCounts, fixable: int) -> dict[str, int]:
    """``{"total", "critical", "high", "medium", "low", "unknown", "fixable"}``."""
    return {
        "total": counts.total,
        "critical": counts.critical,
        "high": counts.high,
        "medium": counts.medium,
        "low": counts.low,
        "unknown": counts.unknown,
        "fixable": fixable,
    }


def problem_json(problem: Problem) -> dict[str, str]:
    """``{"code", "message"}`` plus whichever of ``origin``, ``record_id``, ``package`` are known."""
    document = {"code": problem.code, "message": problem.message}
    for key in ("origin", "record_id", "package"):
        value = getattr(problem, key)
        if value:
            document[key] = value
    return document


def coverage_json(coverage: Iterable[Coverage]) -> dict[str, dict[str, int | None]]:
    """``{ecosystem: {"packages": n, "advisories": n | null}}``: ``advisories`` 0 means none are loaded
    for those packages, null that the source holds no copy (the OSV API answers for every ecosystem)."""
    return {c.ecosystem: {"packages": c.packages, "advisories": c.advisories} for c in coverage}


def platform_json(report: PlatformReport) -> dict[str, Any]:
    """``{"platform", "digest", "os", "snapshot", "coverage", "warnings", "packages", "counts", "findings",
    "problems", "skipped"}``.

    ``packages`` is how many packages were matched; ``skipped`` lists those that map to no OSV
    ecosystem, ``problems`` what could not be evaluated.
    """
    document: dict[str, Any] = {
        "platform": report.platform,
        "digest": report.digest,
        "os": report.os.to_json() if report.os else None,
        "snapshot": report.match.snapshot,
        "coverage": coverage_json(report.match.coverage),
        "warnings": list(report.match.warnings),
        "packages": report.match.packages,
        "counts": counts_json(report.counts, report.fixable),
        "findings": [finding_json(f, report.locations(f), report.suppression(f)) for f in report.findings],
        "problems": [problem_json(p) for p in report.match.problems],
        "skipped": [problem_json(p) for p in report.match.skipped],
    }
    if report.suppressions:
        document["suppressed"] = len(report.suppressions)
    return document


def suppressions_from_json(findings: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], Suppression]:
    """The suppressions of a stored report's findings (the JSON of :func:`finding_json`), by :func:`finding_key`."""
    return {(str(value["id"]), str(value["package"])): Suppression.from_json(value["suppressed"])
            for value in findings if isinstance(value.get("suppressed"), Mapping)}


def image_json(report: ImageReport) -> dict[str, Any]:
    """``{"reference", "digest", "snapshot", "warnings", "platforms": [platform_json, ...]}``; ``warnings``
    are every platform's, each once."""
    return {
        "reference": report.reference,
        "digest": report.digest,
        "snapshot": report.snapshot,
        "warnings": list(dict.fromkeys(w for p in report.platforms for w in p.match.warnings)),
        "platforms": [platform_json(p) for p in report.platforms],
    }


# -- text -----------------------------------------------------------------------------------------


def summary_line(counts: SeverityCounts, fixable: int) -> str:
    """``12 vulnerabilities: 1 critical, 3 high, 5 medium, 2 low, 1 unknown (7 fixable)``; every level is named."""
    noun = "vulnerability" if counts.total == 1 else "vulnerabilities"
    levels = ", ".join(f"{getattr(counts, level)} {level}" for level in LEVELS)
    return f"{counts.total} {noun}: {levels} ({fixable} fixable)"


def severity_text(severity: SeverityScore) -> str:
    """The rating, its CVSS score if any, and where it came from: ``high 8.1 (GHSA-…)``,
    ``medium (GitHub GHSA-…)``, ``low (Debian urgency DEBIAN-CVE-…)``; ``unknown`` alone, and no
    parenthesis for a rating without a source (reports stored before sources were kept)."""
    text = f"{severity.rating} {severity.score:.1f}" if severity.score is not None else severity.rating
    given_by = severity_source_text(severity)
    return f"{text} ({given_by})" if given_by else text


def severity_source_text(severity: SeverityScore) -> str:
    """Who gave a rating, for people: the source record (``GHSA-…``) for a CVSS score, the origin
    and the source record (``GitHub GHSA-…``) for a word; ``""`` when the source is not known."""
    if not severity.source:
        return ""
    if severity.score is not None or not severity.origin:
        return severity.source
    return f"{severity.origin} {severity.source}"


def package_label(report: PlatformReport, finding: Finding) -> str:
    """The package as the SBOM names it, with the OSV (source) package in parentheses when it differs."""
    names = sorted({p.name for p in report.packages_of(finding)})
    if not names:
        return finding.name
    label = ", ".join(names)
    return label if finding.name in names else f"{label} ({finding.name})"


def table_rows(report: PlatformReport) -> list[tuple[str, str, str, str, str]]:
    """``(severity, id, package, installed, fixed in)`` per finding, most severe first; ``-`` when unfixed."""
    return [
        (
            severity_text(f.severity),
            _marked_id(report, f),
            package_label(report, f),
            f.installed_version,
            ", ".join(f.fixed_versions) or "-",
        )
        for f in report.findings
    ]


def _marked_id(report: PlatformReport, finding: Finding) -> str:
    suppression = report.suppression(finding)
    return f"{finding.id} [VEX {suppression.status}]" if suppression else finding.id


def suppressed_lines(report: PlatformReport) -> list[str]:
    """``N suppressed by VEX (not counted):`` and one line per suppressed finding with its justification
    and where the statement came from; no lines when nothing is suppressed."""
    if not report.suppressions:
        return []
    lines = [f"{report.suppressed_count} suppressed by VEX (not counted):"]
    for finding in report.findings:
        suppression = report.suppression(finding)
        if suppression is None:
            continue
        why = ", ".join(part for part in (suppression.justification, suppression.statement) if part)
        lines.append(f"  {finding.id} in {package_label(report, finding)} {finding.installed_version}: "
                     f"{suppression.status}{f' ({why})' if why else ''}; {suppression.source}, {suppression.scope}")
    return lines


def _columns(rows: Iterable[Sequence[str]]) -> list[str]:
    rows = list(rows)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]


def platform_text(report: PlatformReport, reference: str = "") -> str:
    """The summary line, a line naming the image, then the findings table (none when there are no findings)."""
    distro = (report.os.pretty_name or report.os.distro) if report.os else "unknown distribution"
    context = " ".join(part for part in (reference, report.platform, report.digest) if part)
    lines = [summary_line(report.counts, report.fixable), f"{context}: {distro}, {report.match.packages} packages"]
    lines.extend(f"warning: {warning}" for warning in report.match.warnings)
    lines.extend(suppressed_lines(report))
    rows = table_rows(report)
    if rows:
        lines.append("")
        lines.extend(_columns([("SEVERITY", "ID", "PACKAGE", "INSTALLED", "FIXED IN"), *rows]))
    return "\n".join(lines) + "\n"


def image_text(report: ImageReport) -> str:
    """:func:`platform_text` of each platform, separated by blank lines: the first line is a summary line."""
    if not report.platforms:
        return summary_line(SeverityCounts(), 0) + f"\n{report.reference}: no platform image\n"
    return "\n".join(platform_text(p, report.reference) for p in report.platforms)
