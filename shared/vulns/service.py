"""Vulnerabilities in the app: match stored SBOMs, keep the reports current when advisories change.

The advisory source is the offline mirror in Table storage (default) or the OSV API, chosen by
``LOOKOUT_ADVISORY_SOURCE`` (:func:`advisory_source`). Matching needs no registry traffic: it reads
stored SBOMs only.

Once an image's platform reports are stored, its findings are filed in the advisory index
(:class:`~shared.records.AffectedImages`, :meth:`Vulnerabilities.file_image`); a re-match files the
images whose reports it replaced again and refreshes their repositories' summaries.

Every report, first match or re-match, is made in one place (:meth:`Vulnerabilities.make_report`). A
re-match after an advisory update (:meth:`Vulnerabilities.rematch`) revisits only the stored SBOMs
filed under a changed package key, matches them against the advisory source pinned to one snapshot
(the Table mirror keeps its parsed records process-wide and reloads only changed packages), on
``LOOKOUT_REMATCH_CONCURRENCY`` threads, and writes only what changed — the reports last, so that a
re-match stopped partway is finished by the next.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from shared.analysis.model import PlatformAnalysis
from shared.api.repository_listing import refresh_repository
from shared.clock import utc_now
from shared.errors import LookoutError
from shared.images.listing import AdvisoryHit
from shared.images.model import ImageRecord, PlatformRecord, PlatformRef, by_repository
from shared.notify.changes import announce_new_findings
from shared.notify.messages import NotificationQueue
from shared.policy.evaluate import findings_read
from shared.policy.service import Policies, PolicyRun
from shared.records import AffectedImages, ImageRecords, ReportRecords, RepositorySummaries, SbomRecords, VexStatements
from shared.settings import Settings
from shared.vex.scoped import RememberedDocuments, RepositoryDocuments, apply_stored_vex
from shared.vulns.feeds import open_feed
from shared.vulns.index import AdvisoryMirror, AdvisorySource, ImportResult, pinned
from shared.vulns.matching import Matcher
from shared.vulns.packages import PackageKey
from shared.vulns.report import LEVELS, level_of_json, match_platform, platform_json

log = logging.getLogger(__name__)

REMATCH_CONCURRENCY = 8
"""How many stored SBOMs a re-match handles at a time unless told otherwise: storage calls wait on the
network, so a few threads overlap them; eight keeps a Functions instance's connections and memory modest."""

REMATCH_CHUNK = 256
"""Stored SBOMs a re-match holds at once (each with its reports before and after): its memory bound."""

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
    seen: dict[tuple[str, str, str], tuple[str, bool]] = {}
    for report in reports:
        for value in report.get("findings", []):
            if value.get("suppressed"):
                continue  # suppressed by a VEX statement: shown, not counted
            key = (str(value["id"]), str(value["name"]), str(value["installed_version"]))
            if key not in seen:
                seen[key] = (level_of_json(value), bool(value.get("fixed_versions")))
    counts = Counter(level for level, _ in seen.values())
    return {level: counts.get(level, 0) for level in LEVELS}, sum(fixable for _, fixable in seen.values())


def advisory_hits(reports: Iterable[dict[str, Any]]) -> list[AdvisoryHit]:
    """The findings of an image's platform reports (:func:`~shared.vulns.report.platform_json`) as advisory hits,
    each (advisory, platform, package, installed version) once."""
    hits: dict[tuple[str, str, str, str], AdvisoryHit] = {}
    for report in reports:
        digest, platform = str(report.get("digest", "")), str(report.get("platform", ""))
        for value in report.get("findings", []):
            key = (str(value["id"]), digest, str(value["package"]), str(value["installed_version"]))
            if key in hits:
                continue
            hits[key] = AdvisoryHit(
                advisory=key[0], aliases=tuple(str(a) for a in value.get("aliases", ())),
                summary=str(value.get("summary", "")), severity=dict(value["severity"]), level=level_of_json(value),
                references=tuple({"type": str(r["type"]), "url": str(r["url"])} for r in value.get("references", ())),
                platform=platform, platform_digest=digest, package=key[2], name=str(value["name"]),
                installed_version=key[3], fixed_versions=tuple(str(v) for v in value.get("fixed_versions", ())))
    return list(hits.values())


@dataclass(frozen=True)
class _Rematched:
    """One stored SBOM (``analysis``) matched again: the report stored ``before`` (None: none) and the one made now."""

    ref: PlatformRef
    before: dict[str, Any] | None
    after: dict[str, Any]
    analysis: PlatformAnalysis

    @cached_property
    def rewrite(self) -> bool:
        """Whether the new report says anything about the image the stored one does not (see :func:`_content`)."""
        return self.before is None or _content(self.before) != _content(self.after)

    @cached_property
    def current(self) -> dict[str, Any]:
        """The report that holds once the re-match is stored: the new one, or the stored one when it says the same."""
        return self.after if self.rewrite or self.before is None else self.before

    @cached_property
    def findings_changed(self) -> bool:
        """Whether a finding came, went or changed rating."""
        return self.before is None or _finding_ids(self.before) != _finding_ids(self.after)


@dataclass(frozen=True)
class _Settled:
    """An image a re-match brought up to date: its ``record`` as stored now, its platforms' reports
    (``known``) and those stored ``before``, whether the record was written, and whether its findings changed."""

    record: ImageRecord
    known: dict[PlatformRef, dict[str, Any]]
    before: dict[PlatformRef, dict[str, Any] | None]
    stored: bool
    changed: bool


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
    policies: Policies | None = None
    """Policy evaluation: a re-matched image's policies are evaluated again and stored (None: off)."""
    vex: VexStatements | None = None
    """Imported VEX documents, applied to every report made (None: no VEX)."""
    notices: NotificationQueue | None = None
    """Where a re-match queues the notice of an image's new findings (None: no notifications)."""

    concurrency: int = REMATCH_CONCURRENCY
    """How many stored SBOMs a re-match reads, matches and writes at a time (``LOOKOUT_REMATCH_CONCURRENCY``)."""

    def matcher(self) -> Matcher:
        """A matcher over the advisory source, pinned to its current snapshot (see
        :func:`~shared.vulns.index.pinned`): use one per job or re-match."""
        return Matcher(pinned(self.source))

    def make_report(self, matcher: Matcher, ref: PlatformRef, analysis: PlatformAnalysis,
                    image_digest: str = "", documents: RepositoryDocuments | None = None
                    ) -> tuple[dict[str, Any], frozenset[PackageKey]]:
        """The one place a platform's report is made, for the first match and every re-match: match the
        SBOM, apply the VEX statements that cover it (``image_digest``: the image it is a platform of,
        when known; ``documents``: where to read them, by default :attr:`vex`); return the report to store
        (:func:`~shared.vulns.report.platform_json` plus ``matched``) and the package keys it was looked up
        under."""
        report = match_platform(analysis, matcher)
        source = documents if documents is not None else self.vex
        if source is not None:
            report = apply_stored_vex(report, ref, source, self.images, image_digest)
        return platform_json(report) | {"matched": utc_now()}, report.match.keys

    def match_and_store(
        self, matcher: Matcher, ref: PlatformRef, analysis: PlatformAnalysis, *, file_keys: bool = True,
        image_digest: str = "",
    ) -> dict[str, Any]:
        """Match one platform SBOM, apply the VEX statements that cover it (``image_digest``: the image it is
        a platform of, when known), store the report (:func:`~shared.vulns.report.platform_json` plus
        ``matched``) and, unless ``file_keys`` is false (a re-match: they are filed already), file it
        under its package keys; return the stored report."""
        stored, keys = self.make_report(matcher, ref, analysis, image_digest)
        self.reports.put(ref, stored, keys if file_keys else ())
        return stored

    def file_image(self, record: ImageRecord, known: Mapping[PlatformRef, dict[str, Any]] | None = None) -> None:
        """File the findings of an analyzed image's platforms in the advisory index (reports from ``known``,
        else stored; a platform without a report adds nothing)."""
        self.file_images([(record, known or {})])

    def file_images(self, images: Sequence[tuple[ImageRecord, Mapping[PlatformRef, dict[str, Any]]]]) -> None:
        """:meth:`file_image` for each (record, known reports), in one filing of the advisory index."""
        filings = []
        for record, known in images:
            reports = []
            for platform in record.platforms:
                ref = PlatformRef(record.registry, record.repository, platform.digest)
                report = known.get(ref) or self.reports.get(ref)
                if report is not None:
                    reports.append(report)
            filings.append((record.registry, record.repository, record.digest, advisory_hits(reports)))
        self.affected.file_many(filings)

    def unfile_image(self, registry: str, repository: str, digest: str) -> None:
        """Remove an image from the advisory index (it was deleted)."""
        self.affected.file(registry, repository, digest, [])

    def rematch(self, changed_keys: Iterable[PackageKey]) -> Rematch:
        """Match again every stored SBOM naming one of ``changed_keys``; update reports and image records.

        Returns the images (``registry/repository@digest``) whose findings changed. The SBOMs go in
        chunks of up to :data:`REMATCH_CHUNK`, of about the same size (whole repositories where they
        fit; see :func:`_chunks`), so that memory stays bounded however many are stored. Each chunk
        runs in steps, each on up to :attr:`concurrency` threads: read the SBOMs and their reports (a
        few per request) and match them again (:meth:`_match_again`); for each analyzed image with a
        platform whose report changed, store its record (only when it changed) and evaluate its
        policies with the SBOMs in hand (:meth:`_settle_image`; only where they may change: a report
        that changed only in text leaves every policy's result as it was, see
        :func:`_policies_may_change`); file those images in the advisory
        index together (:meth:`file_images`) and announce their new findings; refresh the summaries
        of the repositories whose records changed; store the changed reports (a repository's together).
        Reports go last: a re-match that stops partway leaves them as they were, so the next one finds
        the same differences and finishes the images (every write before is idempotent). A report that
        says nothing new about its image is not written again (so its ``snapshot``, ``matched`` and
        advisory counts name the data it was last written from; see :func:`_content`).
        """
        keys = set(changed_keys)
        if not keys:
            return Rematch(0, ())
        refs = sorted(self.reports.platforms_naming(keys) if len(keys) <= FULL_SCAN_THRESHOLD
                      else set(self.sboms.all_platforms()))
        if not refs:
            return Rematch(0, ())
        matcher = self.matcher()
        documents = RememberedDocuments(self.vex) if self.vex is not None else None
        policies = self.policies.run() if self.policies is not None else None
        rewritten = 0
        images_changed: list[str] = []
        with ThreadPoolExecutor(max_workers=max(1, min(self.concurrency, len(refs))),
                                thread_name_prefix="rematch") as pool:
            chunks = -(-len(refs) // REMATCH_CHUNK)
            for chunk in _chunks(refs, -(-len(refs) // chunks)):  # chunks of about the same size
                done, changed = self._rematch_chunk(pool, chunk, keys, matcher, documents, policies)
                rewritten += done
                images_changed += changed
        log.info("re-matched %d SBOMs: %d reports changed, %d images changed", len(refs), rewritten,
                 len(images_changed))
        return Rematch(len(refs), tuple(images_changed))

    def _rematch_chunk(self, pool: ThreadPoolExecutor, refs: Sequence[PlatformRef], keys: set[PackageKey],
                       matcher: Matcher, documents: RepositoryDocuments | None, policies: PolicyRun | None
                       ) -> tuple[int, list[str]]:
        """One chunk of :meth:`rematch`: how many reports it rewrote, and the images whose findings changed."""
        stored = list(pool.map(self._read_together, by_repository(refs, lambda ref: ref).values()))
        analyses = {ref: analysis for sboms, _ in stored for ref, analysis in sboms.items()}
        befores = {ref: report for _, reports in stored for ref, report in reports.items()}
        outcomes = list(pool.map(lambda ref: self._match_again(matcher, ref, analyses.get(ref), befores.get(ref),
                                                               documents), refs))
        list(pool.map(lambda ref: self.reports.forget(ref, keys),
                      [ref for ref, done in zip(refs, outcomes, strict=True) if done is None]))
        matched = {done.ref: done for done in outcomes if done is not None}
        rewritten = [done for done in matched.values() if done.rewrite]
        repositories = sorted({(done.ref.registry, done.ref.repository) for done in rewritten})
        listed = list(pool.map(lambda repo: self.images.list_repository(*repo), repositories))
        digests = {(d.ref.registry, d.ref.repository, d.ref.digest) for d in rewritten}
        records = [record for found in listed for record in found if record.status == "analyzed"
                   and any((record.registry, record.repository, p.digest) in digests for p in record.platforms)]
        evaluated = {id(record) for record in records if policies is not None and _policies_may_change(record, matched)}
        if policies is not None:
            policies.read_current([record for record in records if id(record) in evaluated])
        settled = list(pool.map(lambda record: self._settle_image(record, matched, policies if id(record) in evaluated
                                                                  else None), records))
        if settled:
            self.file_images([(image.record, image.known) for image in settled])
        list(pool.map(lambda image: announce_new_findings(self.notices, image.record, image.before, image.known,
                                                          "rematch"), settled))
        touched = sorted({(i.record.registry, i.record.repository) for i in settled if i.stored})
        list(pool.map(lambda repo: refresh_repository(self.images, self.summaries, *repo), touched))
        list(pool.map(lambda group: self.reports.put_many([(done.ref, done.after) for done in group]),
                      by_repository(rewritten, lambda done: done.ref).values()))
        return len(rewritten), [f"{i.record.registry}/{i.record.repository}@{i.record.digest}"
                                for i in settled if i.changed]

    def _read_together(self, refs: Sequence[PlatformRef]
                       ) -> tuple[dict[PlatformRef, PlatformAnalysis], dict[PlatformRef, dict[str, Any]]]:
        """The stored SBOMs and reports of ``refs`` (of one repository), read a few at a time."""
        return self.sboms.get_many(refs), self.reports.get_many(refs)

    def _match_again(self, matcher: Matcher, ref: PlatformRef, analysis: PlatformAnalysis | None,
                     before: dict[str, Any] | None, documents: RepositoryDocuments | None) -> _Rematched | None:
        """The stored SBOM ``analysis`` of ``ref`` matched again (VEX documents read from ``documents``), with
        the report stored ``before``; None when the SBOM is gone."""
        if analysis is None:
            return None
        after, _ = self.make_report(matcher, ref, analysis, documents=documents)
        return _Rematched(ref, before, after, analysis)

    def _settle_image(self, record: ImageRecord, matched: Mapping[PlatformRef, _Rematched],
                      policies: PolicyRun | None) -> _Settled:
        """Bring an analyzed image whose platform reports changed up to date with them: its record (stored
        only when more than its advisory snapshot changed, see :func:`_without_snapshot`) and its
        policies (evaluated by ``policies``, the re-match's run; None: kept as they are). Its filing and
        notice follow for all images at once."""
        mine = [PlatformRef(record.registry, record.repository, p.digest) for p in record.platforms]
        known = {ref: matched[ref].current for ref in mine if ref in matched}
        refreshed = self.refresh_record(record, known)
        if policies is not None:
            refreshed = policies.evaluate(refreshed, known, [matched[ref].analysis for ref in mine if ref in matched])
        stored = _without_snapshot(refreshed) != _without_snapshot(record)
        if stored:
            self.images.put(refreshed)
        return _Settled(refreshed, known, {ref: matched[ref].before for ref in mine if ref in matched}, stored,
                        any(matched[ref].findings_changed for ref in mine if ref in matched))

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


def _chunks(refs: Sequence[PlatformRef], size: int) -> Iterator[list[PlatformRef]]:
    """``refs`` (sorted) in chunks of at most ``size``, whole repositories together where they fit: a
    repository of more than ``size`` SBOMs is cut (an image whose platforms fall in two chunks is brought up
    to date by each; the second sees the first's reports)."""
    chunk: list[PlatformRef] = []
    start = 0
    while start < len(refs):
        end = start
        repository = (refs[start].registry, refs[start].repository)
        while end < len(refs) and (refs[end].registry, refs[end].repository) == repository:
            end += 1
        group = list(refs[start:end])
        start = end
        if chunk and len(chunk) + len(group) > size:
            yield chunk
            chunk = []
        while len(group) > size:
            yield group[:size]
            group = group[size:]
        chunk += group
    if chunk:
        yield chunk


def _without_snapshot(record: ImageRecord) -> ImageRecord:
    """``record`` without what only names the advisory data its platforms were matched against: a record
    whose counts, warnings and policy results stay the same is not written again for a new snapshot."""
    return replace(record, platforms=tuple(replace(p, advisory_snapshot="") for p in record.platforms))


def _policies_may_change(record: ImageRecord, matched: Mapping[PlatformRef, _Rematched]) -> bool:
    """Whether the re-match may change ``record``'s policy results: it has none yet, or a platform's report
    changed in what the policies read (:func:`~shared.policy.evaluate.findings_read`), not only in text."""
    if not record.policy:
        return True
    refs = (PlatformRef(record.registry, record.repository, p.digest) for p in record.platforms)
    return any(findings_read(matched[ref].before) != findings_read(matched[ref].current) for ref in refs if ref in matched)


def _content(report: dict[str, Any]) -> dict[str, Any]:
    """What a report says about its image: all but when and against which data it was made (``matched``,
    ``snapshot``, and how many advisories each ecosystem held — only whether it held none counts)."""
    content = {k: v for k, v in report.items() if k not in ("matched", "snapshot", "coverage")}
    coverage = report.get("coverage")
    if isinstance(coverage, dict):
        content["coverage"] = {ecosystem: (c.get("packages"), None if c.get("advisories") is None else c.get("advisories") == 0)
                               for ecosystem, c in coverage.items() if isinstance(c, dict)}
    return content


def _finding_ids(report: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    return {(f["id"], f["name"], f["installed_version"], str(f["severity"]["rating"])) for f in report.get("findings", [])}
