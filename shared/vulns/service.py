"""Vulnerabilities in the app: match stored SBOMs, keep the reports current when advisories change.

The advisory source is the offline mirror in Table storage (default) or the OSV API, chosen by
``LOOKOUT_ADVISORY_SOURCE`` (:func:`advisory_source`). Matching needs no registry traffic: it reads
stored SBOMs only.

Once an image's platform reports are stored, its findings are filed in the advisory index
(:class:`~shared.records.AffectedImages`, :meth:`Vulnerabilities.file_image`); a re-match files the
images whose reports it replaced again and refreshes their repositories' summaries.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from shared.analysis.model import PlatformAnalysis
from shared.api.repository_listing import refresh_repository
from shared.clock import utc_now
from shared.errors import LookoutError
from shared.images.listing import AdvisoryHit
from shared.images.model import ImageRecord, PlatformRecord, PlatformRef
from shared.records import AffectedImages, ImageRecords, ReportRecords, RepositorySummaries, SbomRecords
from shared.settings import Settings
from shared.vulns.feeds import open_feed
from shared.vulns.index import AdvisoryMirror, AdvisorySource, ImportResult
from shared.vulns.matching import Finding, Matcher
from shared.vulns.packages import PackageKey
from shared.vulns.report import LEVELS, finding_from_json, level_of, match_platform, platform_json

log = logging.getLogger(__name__)

FULL_SCAN_THRESHOLD = 500
"""Above this many changed package keys, a re-match looks at every stored SBOM instead of the index."""

FRESH_IMPORT = timedelta(hours=5)
"""A mirror imported less than this long ago is not imported again when the app starts (the timer
refreshes it every six hours), so that restarts and scale-outs do not download every feed again."""

PROGRESS_EVERY = 1000
"""A feed import reports its progress every this many records."""

Progress = Callable[[str, int], None]
"""Told (feed name, records read so far) while a feed is imported, and once more at its end."""


def refresh_due(imported_at: str | None, now: datetime) -> bool:
    """Whether a mirror last imported at ``imported_at`` (ISO 8601, or None for never) should import now."""
    if not imported_at:
        return True
    try:
        then = datetime.fromisoformat(imported_at.replace("Z", "+00:00"))
    except ValueError:
        return True
    return now - then >= FRESH_IMPORT


@dataclass(frozen=True)
class FeedImport:
    """What importing one feed did: its ``result`` and the ``rematch`` that followed, or the ``error``
    that stopped it (the mirror then keeps what it held before). ``source`` has no query string."""

    source: str
    seconds: float
    result: ImportResult | None = None
    rematch: Rematch | None = None
    error: str | None = None

    def summary(self) -> str:
        """One line for a person: the feed, what changed, how many images changed, and the time taken."""
        if self.result is None or self.rematch is None:
            return f"{self.source}: failed after {self.seconds:.1f} s: {self.error}"
        r = self.result
        return (f"{self.source}: {r.added} added, {r.updated} updated, {r.removed} removed, {r.unchanged} unchanged, "
                f"{r.stale} stale, {len(r.problems)} problems; {self.rematch.platforms_checked} SBOMs re-matched, "
                f"{len(self.rematch.images_changed)} images changed ({self.seconds:.1f} s)")


def _counted(items: Iterable[Any], name: str, progress: Progress | None) -> Iterator[Any]:
    count = 0
    for count, item in enumerate(items, 1):
        if progress is not None and count % PROGRESS_EVERY == 0:
            progress(name, count)
        yield item
    if progress is not None:
        progress(name, count)


def advisory_source(settings: Settings, mirror: AdvisorySource) -> AdvisorySource:
    """The advisory source ``settings`` choose: ``mirror``, or the OSV API."""
    if settings.advisory_source == "osv-api":
        from shared.vulns.osvapi import OsvApiClient, OsvApiSource

        return OsvApiSource(OsvApiClient(settings.osv_api_url))
    return mirror


def with_vulnerabilities(platform: PlatformRecord, report: dict[str, Any]) -> PlatformRecord:
    """The platform record carrying the report's counts, snapshot and coverage warnings."""
    counts = report["counts"]
    return replace(platform, vulnerabilities={level: int(counts[level]) for level in LEVELS},
                   fixable=int(counts["fixable"]), advisory_snapshot=str(report["snapshot"]),
                   advisory_warnings=tuple(str(w) for w in report.get("warnings", ())))


def image_counts(reports: Sequence[dict[str, Any]]) -> tuple[dict[str, int], int]:
    """Counts by severity and the fixable count over an image's platforms, each (flaw, package, version) once."""
    seen: dict[tuple[str, str, str], Finding] = {}
    for report in reports:
        for value in report.get("findings", []):
            finding = finding_from_json(value)
            seen.setdefault((finding.id, finding.name, finding.installed_version), finding)
    counts = Counter(level_of(f) for f in seen.values())
    return {level: counts.get(level, 0) for level in LEVELS}, sum(f.fixable for f in seen.values())


def advisory_hits(reports: Iterable[dict[str, Any]]) -> list[AdvisoryHit]:
    """The findings of an image's platform reports (:func:`~shared.vulns.report.platform_json`) as advisory hits,
    each (advisory, platform, package, installed version) once."""
    hits: dict[tuple[str, str, str, str], AdvisoryHit] = {}
    for report in reports:
        for value in report.get("findings", []):
            finding = finding_from_json(value)
            key = (finding.id, str(report.get("digest", "")), finding.package, finding.installed_version)
            hits.setdefault(key, AdvisoryHit(
                advisory=finding.id, aliases=finding.aliases, summary=finding.summary,
                severity=dict(value["severity"]), level=level_of(finding),
                references=tuple({"type": r.type, "url": r.url} for r in finding.references),
                platform=str(report.get("platform", "")), platform_digest=str(report.get("digest", "")),
                package=finding.package, name=finding.name, installed_version=finding.installed_version,
                fixed_versions=finding.fixed_versions))
    return list(hits.values())


@dataclass(frozen=True)
class Rematch:
    """What a re-match after an advisory update did."""

    platforms_checked: int
    images_changed: tuple[str, ...]


@dataclass(frozen=True)
class Vulnerabilities:
    """Matching platform SBOMs against ``source`` and keeping the stored reports, image counts, the advisory
    index (``affected``) and the repository summaries current."""

    source: AdvisorySource
    reports: ReportRecords
    sboms: SbomRecords
    images: ImageRecords
    affected: AffectedImages
    summaries: RepositorySummaries

    def matcher(self) -> Matcher:
        """A matcher over the advisory source (it caches lookups: use one per job)."""
        return Matcher(self.source)

    def match_and_store(
        self, matcher: Matcher, ref: PlatformRef, analysis: PlatformAnalysis, *, file_keys: bool = True
    ) -> dict[str, Any]:
        """Match one platform SBOM, store the report (:func:`~shared.vulns.report.platform_json` plus
        ``matched``) and, unless ``file_keys`` is false (a re-match: they are filed already), file it
        under its package keys; return the stored report."""
        report = match_platform(analysis, matcher)
        stored = platform_json(report) | {"matched": utc_now()}
        self.reports.put(ref, stored, report.match.keys if file_keys else ())
        return stored

    def file_image(self, record: ImageRecord, known: dict[PlatformRef, dict[str, Any]] | None = None) -> None:
        """File the findings of an analyzed image's platforms in the advisory index (reports from ``known``,
        else stored; a platform without a report adds nothing)."""
        reports = []
        for platform in record.platforms:
            ref = PlatformRef(record.registry, record.repository, platform.digest)
            report = (known or {}).get(ref) or self.reports.get(ref)
            if report is not None:
                reports.append(report)
        self.affected.file(record.registry, record.repository, record.digest, advisory_hits(reports))

    def unfile_image(self, registry: str, repository: str, digest: str) -> None:
        """Remove an image from the advisory index (it was deleted)."""
        self.affected.file(registry, repository, digest, [])

    def rematch(self, changed_keys: Iterable[PackageKey]) -> Rematch:
        """Match again every stored SBOM naming one of ``changed_keys``; update reports and image records.

        Returns the images (``registry/repository@digest``) whose findings changed.
        """
        keys = set(changed_keys)
        if not keys:
            return Rematch(0, ())
        refs = self.reports.platforms_naming(keys) if len(keys) <= FULL_SCAN_THRESHOLD else set(self.sboms.all_platforms())
        matcher = self.matcher()
        checked: dict[tuple[str, str], set[str]] = {}
        changed: set[PlatformRef] = set()
        reports: dict[PlatformRef, dict[str, Any]] = {}
        for ref in sorted(refs):
            analysis = self.sboms.get(ref.registry, ref.repository, ref.digest)
            if analysis is None:
                self.reports.forget(ref, keys)
                continue
            before = self.reports.get(ref)
            after = self.match_and_store(matcher, ref, analysis, file_keys=False)
            reports[ref] = after
            checked.setdefault((ref.registry, ref.repository), set()).add(ref.digest)
            if before is None or _finding_ids(before) != _finding_ids(after):
                changed.add(ref)
        images_changed: list[str] = []
        for (registry, repository), digests in sorted(checked.items()):
            for record in self.images.list_repository(registry, repository):
                mine = {p.digest for p in record.platforms}
                if record.status != "analyzed" or not mine & digests:
                    continue
                refreshed = self.refresh_record(record, reports)
                self.images.put(refreshed)
                self.file_image(refreshed, reports)
                if any(PlatformRef(registry, repository, d) in changed for d in mine):
                    images_changed.append(f"{registry}/{repository}@{record.digest}")
            refresh_repository(self.images, self.summaries, registry, repository)
        log.info("re-matched %d SBOMs; %d images changed", len(refs), len(images_changed))
        return Rematch(len(refs), tuple(images_changed))

    def refresh_record(self, record: ImageRecord, known: dict[PlatformRef, dict[str, Any]] | None = None) -> ImageRecord:
        """``record`` with every platform's counts (and the image's) from its reports (``known``, else stored)."""
        platforms = []
        reports = []
        for platform in record.platforms:
            ref = PlatformRef(record.registry, record.repository, platform.digest)
            report = (known or {}).get(ref) or self.reports.get(ref)
            if report is None:
                platforms.append(platform)
                continue
            reports.append(report)
            platforms.append(with_vulnerabilities(platform, report))
        counts, fixable = image_counts(reports)
        return replace(record, platforms=tuple(platforms), vulnerabilities=counts, fixable=fixable)

    def import_and_rematch(self, mirror: AdvisoryMirror, items: Iterable[Any],
                           complete_ecosystems: Sequence[str] = ()) -> tuple[ImportResult, Rematch]:
        """Import advisories into ``mirror``, then re-match the stored SBOMs the changes concern."""
        result = mirror.import_records(items, complete_ecosystems=complete_ecosystems)
        return result, self.rematch(result.changed_keys)

    def import_feeds(self, mirror: AdvisoryMirror, locations: Sequence[str], *, complete: bool = True,
                     progress: Progress | None = None) -> list[FeedImport]:
        """Import each feed (directory, zip, tracker JSON or https URL) in turn, re-matching after each.

        ``complete``: an OSV ``<ecosystem>/all.zip`` is the whole ecosystem, so records it no longer
        holds leave the mirror. A feed that fails is reported in its :class:`FeedImport` and the next
        one is still imported; an unusable location (:class:`~shared.errors.InvalidInput`) is too.
        """
        done = []
        for location in locations:
            source = location.split("?", 1)[0]
            started = time.monotonic()
            try:
                with open_feed(location) as opened:
                    items = _counted(opened.feed.read(), opened.feed.name, progress)
                    result, rematched = self.import_and_rematch(
                        mirror, items, opened.complete_ecosystems if complete else ())
            except LookoutError as exc:
                log.error("advisory feed %s failed (%s): %s", source, exc.code, exc.message)
                done.append(FeedImport(source, time.monotonic() - started, error=exc.message))
                continue
            done.append(FeedImport(source, time.monotonic() - started, result, rematched))
            log.info("advisory feed imported: %s", done[-1].summary())
        return done


def _finding_ids(report: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    return {(f["id"], f["name"], f["installed_version"], str(f["severity"]["rating"])) for f in report.get("findings", [])}
