"""In-memory stand-ins for the app's stores (:mod:`shared.records`), for tests where storage is not the point.

Each keeps plain dicts and follows the Protocol's contract as the Table storage implementations do:
writes replace, reads of what is absent give None, deletes of what is absent are no-ops.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from shared.analysis.model import PlatformAnalysis
from shared.bases.model import MAX_CHAIN_ENTRIES, MAX_PUBLIC_LISTED, ChainEntry, PublicBase
from shared.errors import InvalidContinuation
from shared.images.listing import AdvisoryHit, AdvisorySummary, AffectedImage, PackageOccurrence, Page, RepositorySummary
from shared.images.model import ImageRecord, PlatformRef, TagRecord
from shared.intake.jobs import Job
from shared.integrations.model import Integration
from shared.notify.model import Delivery, Endpoint
from shared.policy.config import PolicyConfig
from shared.policy.highprofile import HighProfileList
from shared.policy.model import PolicyEvaluation, StoredPolicies
from shared.store.affected_images import rank
from shared.vex.model import ImportedVex
from shared.vulns.packages import PackageKey
from shared.vulns.purl import parse_purl

T = TypeVar("T")


def page_of(items: Sequence[T], limit: int, cursor: str | None, keep: Callable[[T], bool] | None = None) -> Page[T]:
    """``items`` (already in listing order) a page at a time; cursors are positions in ``items``."""
    try:
        start = int(cursor) if cursor is not None else 0
    except ValueError:
        raise InvalidContinuation("not a cursor of this stand-in") from None
    if not 0 <= start <= len(items):
        raise InvalidContinuation("not a cursor of this stand-in")
    found: list[T] = []
    for position in range(start, len(items)):
        if keep is not None and not keep(items[position]):
            continue
        if len(found) == limit:
            return Page(tuple(found), str(position))
        found.append(items[position])
    return Page(tuple(found), None)


@dataclass
class MemoryImages:
    """:class:`~shared.records.ImageRecords` in a dict."""

    records: dict[tuple[str, str, str], ImageRecord] = field(default_factory=dict)
    tags: dict[tuple[str, str, str], TagRecord] = field(default_factory=dict)

    def get(self, registry: str, repository: str, digest: str) -> ImageRecord | None:
        return self.records.get((registry, repository, digest))

    def put(self, record: ImageRecord) -> None:
        self.records[(record.registry, record.repository, record.digest)] = record

    def list_repository(self, registry: str, repository: str) -> list[ImageRecord]:
        return [r for (g, p, _), r in sorted(self.records.items()) if (g, p) == (registry, repository)]

    def list_pushed(self, registry: str, repository: str, limit: int, cursor: str | None = None) -> Page[ImageRecord]:
        live = [r for r in self.list_repository(registry, repository) if r.status != "deleted"]
        newest_first = sorted(sorted(live, key=lambda r: r.digest), key=lambda r: r.event_time or r.received,
                              reverse=True)
        return page_of(newest_first, limit, cursor)

    def count_live(self, registry: str, repository: str) -> int:
        return sum(1 for r in self.list_repository(registry, repository) if r.status != "deleted")

    def tags_for(self, registry: str, repository: str, digests: Iterable[str]) -> dict[str, list[str]]:
        return {digest: self.tags_of(registry, repository, digest) for digest in digests}

    def get_tag(self, registry: str, repository: str, tag: str) -> TagRecord | None:
        return self.tags.get((registry, repository, tag))

    def point_tag(self, registry: str, repository: str, tag: str, digest: str, when: str) -> bool:
        current = self.tags.get((registry, repository, tag))
        if current is not None and current.updated > when:
            return current.digest == digest
        self.tags[(registry, repository, tag)] = TagRecord(tag=tag, digest=digest, updated=when)
        return True

    def tags_of(self, registry: str, repository: str, digest: str) -> list[str]:
        return sorted(t.tag for (g, p, _), t in self.tags.items() if (g, p) == (registry, repository) and t.digest == digest)

    def drop_tags(self, registry: str, repository: str, digest: str) -> None:
        for key in [k for k, t in self.tags.items() if k[:2] == (registry, repository) and t.digest == digest]:
            del self.tags[key]

    def count_analyzed(self, registry: str) -> int:
        return sum(1 for (g, _, _), r in self.records.items() if g == registry and r.status == "analyzed")

    def iter_analyzed(self, registry: str | None = None) -> Iterator[ImageRecord]:
        for (g, _, _), record in sorted(self.records.items()):
            if (registry is None or g == registry) and record.status == "analyzed":
                yield record

    def relist(self, registry: str, repository: str, digest: str) -> ImageRecord | None:
        # The push order and the tags of the listings are read from the records and pointers themselves here.
        record = self.records.get((registry, repository, digest))
        return record if record is not None and record.status != "deleted" else None

    def prune_tombstones(self, deleted_before: str) -> int:
        old = [k for k, r in self.records.items() if r.status == "deleted" and (r.event_time or "") < deleted_before]
        for key in old:
            del self.records[key]
        return len(old)

    def purge_registry(self, registry: str) -> int:
        mine = [k for k in self.records if k[0] == registry]
        for key in mine:
            del self.records[key]
        for key in [k for k in self.tags if k[0] == registry]:
            del self.tags[key]
        return len(mine)


@dataclass
class MemorySboms:
    """:class:`~shared.records.SbomRecords` in a dict."""

    sboms: dict[PlatformRef, PlatformAnalysis] = field(default_factory=dict)

    def put(self, registry: str, repository: str, analysis: PlatformAnalysis, analyzed: str) -> None:
        self.sboms[PlatformRef(registry, repository, analysis.digest)] = analysis

    def get(self, registry: str, repository: str, digest: str) -> PlatformAnalysis | None:
        return self.sboms.get(PlatformRef(registry, repository, digest))

    def get_many(self, refs: Sequence[PlatformRef]) -> dict[PlatformRef, PlatformAnalysis]:
        return {ref: self.sboms[ref] for ref in refs if ref in self.sboms}

    def delete(self, registry: str, repository: str, digest: str) -> None:
        self.sboms.pop(PlatformRef(registry, repository, digest), None)

    def all_platforms(self) -> list[PlatformRef]:
        return sorted(self.sboms)

    def purge_registry(self, registry: str) -> None:
        for ref in [r for r in self.sboms if r.registry == registry]:
            del self.sboms[ref]


@dataclass
class MemoryReports:
    """:class:`~shared.records.ReportRecords` in dicts: the reports and the package → SBOM index."""

    reports: dict[PlatformRef, dict[str, Any]] = field(default_factory=dict)
    filed: dict[PackageKey, set[PlatformRef]] = field(default_factory=dict)

    def put(self, ref: PlatformRef, report: dict[str, Any], keys: Iterable[PackageKey] = ()) -> None:
        self.reports[ref] = report
        for key in keys:
            self.filed.setdefault(key, set()).add(ref)

    def get(self, ref: PlatformRef) -> dict[str, Any] | None:
        return self.reports.get(ref)

    def get_many(self, refs: Sequence[PlatformRef]) -> dict[PlatformRef, dict[str, Any]]:
        return {ref: self.reports[ref] for ref in refs if ref in self.reports}

    def put_many(self, reports: Sequence[tuple[PlatformRef, dict[str, Any]]]) -> None:
        for ref, report in reports:
            self.put(ref, report)

    def delete(self, ref: PlatformRef) -> None:
        self.reports.pop(ref, None)

    def platforms_naming(self, keys: Iterable[PackageKey]) -> set[PlatformRef]:
        return {ref for key in keys for ref in self.filed.get(key, ())}

    def forget(self, ref: PlatformRef, keys: Iterable[PackageKey]) -> None:
        for key in keys:
            self.filed.get(key, set()).discard(ref)

    def purge_registry(self, registry: str) -> None:
        for ref in [r for r in self.reports if r.registry == registry]:
            del self.reports[ref]


@dataclass
class MemoryIntegrations:
    """:class:`~shared.records.IntegrationRecords` in a dict."""

    integrations: dict[str, Integration] = field(default_factory=dict)

    def get(self, integration_id: str) -> Integration | None:
        return self.integrations.get(integration_id)

    def list(self) -> list[Integration]:
        return [self.integrations[k] for k in sorted(self.integrations)]

    def put(self, integration: Integration) -> None:
        self.integrations[integration.id] = integration

    def touch_last_event(self, integration_id: str, when: str) -> None:
        if integration_id in self.integrations:
            self.integrations[integration_id] = replace(self.integrations[integration_id], last_event=when)

    def delete(self, integration_id: str) -> None:
        self.integrations.pop(integration_id, None)


@dataclass
class MemoryRejected:
    """:class:`~shared.records.RejectedMessages` as a list of (message id, text, reason)."""

    messages: list[tuple[str, str, str]] = field(default_factory=list)

    def record(self, message_id: str, text: str, reason: str, when: str) -> None:
        self.messages.append((message_id, text, reason))


@dataclass
class MemoryJobs:
    """:class:`~shared.records.JobSink` as a list."""

    jobs: list[Job] = field(default_factory=list)

    def put(self, job: Job) -> None:
        self.jobs.append(job)


@dataclass
class MemoryActivations:
    """:class:`~shared.records.RepositoryActivations` in a dict keyed by (integration id, repository)."""

    settings: dict[tuple[str, str], bool] = field(default_factory=dict)

    def set_enabled(self, integration_id: str, repository: str, enabled: bool, when: str) -> None:
        self.settings[(integration_id, repository)] = enabled

    def is_enabled(self, integration_id: str, repository: str) -> bool:
        return self.settings.get((integration_id, repository), False)

    def enabled_repositories(self, integration_id: str) -> dict[str, bool]:
        return {r: on for (i, r), on in sorted(self.settings.items()) if i == integration_id}

    def delete_all(self, integration_id: str) -> None:
        for key in [k for k in self.settings if k[0] == integration_id]:
            del self.settings[key]


@dataclass
class MemoryCursors:
    """:class:`~shared.records.SweepCursors` in a dict keyed by scope."""

    cursors: dict[str, tuple[str, str]] = field(default_factory=dict)

    def last_finished(self, scope: str) -> tuple[str, str] | None:
        return self.cursors.get(scope)

    def record(self, scope: str, last: tuple[str, str] | None, when: str) -> None:
        if last is None:
            self.cursors.pop(scope, None)
        else:
            self.cursors[scope] = last


@dataclass
class MemorySummaries:
    """:class:`~shared.records.RepositorySummaries` in a dict."""

    summaries: dict[tuple[str, str], RepositorySummary] = field(default_factory=dict)

    def update(self, registry: str, repository: str,
               change: Callable[[RepositorySummary | None], RepositorySummary | None]) -> RepositorySummary | None:
        wanted = change(self.summaries.get((registry, repository)))
        if wanted is None:
            self.summaries.pop((registry, repository), None)
        else:
            self.summaries[(registry, repository)] = wanted
        return wanted

    def list(self, registry: str, limit: int, cursor: str | None = None) -> Page[RepositorySummary]:
        mine = sorted((s for (g, _), s in self.summaries.items() if g == registry),
                      key=lambda s: (not s.enabled, s.repository))
        return page_of(mine, limit, cursor)

    def purge_registry(self, registry: str) -> None:
        for key in [k for k in self.summaries if k[0] == registry]:
            del self.summaries[key]


@dataclass
class MemoryAffected:
    """:class:`~shared.records.AffectedImages` as the hits filed per image; summaries are counted on reading."""

    filed: dict[tuple[str, str, str], list[AdvisoryHit]] = field(default_factory=dict)

    def file(self, registry: str, repository: str, digest: str, hits: Sequence[AdvisoryHit]) -> None:
        self.filed.pop((registry, repository, digest), None)
        if hits:
            self.filed[(registry, repository, digest)] = list(hits)

    def file_many(self, filings: Sequence[tuple[str, str, str, Sequence[AdvisoryHit]]]) -> None:
        for registry, repository, digest, hits in filings:
            self.file(registry, repository, digest, hits)

    def _summaries(self) -> dict[str, AdvisorySummary]:
        images: dict[str, list[tuple[tuple[str, str, str], list[AdvisoryHit]]]] = {}
        for key, hits in self.filed.items():
            for advisory in dict.fromkeys(h.advisory for h in hits):
                images.setdefault(advisory, []).append((key, [h for h in hits if h.advisory == advisory]))
        found = {}
        for advisory, where in images.items():
            every = [h for _, hits in where for h in hits]
            worst = min(every, key=lambda h: (rank(h.level, h.score), json.dumps(dict(h.severity), sort_keys=True)))
            last = where[-1][1][0]
            found[advisory] = AdvisorySummary(
                id=advisory, aliases=tuple(sorted({a for h in every for a in h.aliases})), summary=last.summary,
                severity=dict(worst.severity), level=worst.level, references=last.references, images=len(where),
                repositories=len({(k[0], k[1]) for k, _ in where}), packages=tuple(sorted({h.name for h in every})),
                fixable=any(h.fixed_versions for h in every))
        return found

    def listing(self, levels: Collection[str], limit: int, cursor: str | None = None,
                keep: Callable[[AdvisorySummary], bool] | None = None) -> Page[AdvisorySummary]:
        chosen = [s for s in self._summaries().values() if s.level in levels]
        ordered = sorted(chosen, key=lambda s: (rank(s.level, s.severity.get("score")), s.id))
        return page_of(ordered, limit, cursor, keep)

    def summary(self, advisory: str) -> AdvisorySummary | None:
        summaries = self._summaries()
        if advisory in summaries:
            return summaries[advisory]
        return next((s for _, s in sorted(summaries.items()) if advisory in s.aliases), None)

    def affected(self, advisory: str, limit: int, cursor: str | None = None) -> Page[AffectedImage]:
        found = [AffectedImage(g, p, d, tuple(h for h in hits if h.advisory == advisory))
                 for (g, p, d), hits in sorted(self.filed.items()) if any(h.advisory == advisory for h in hits)]
        return page_of(found, limit, cursor)

    def purge_registry(self, registry: str) -> None:
        for key in [k for k in self.filed if k[0] == registry]:
            del self.filed[key]


@dataclass
class MemoryPackages:
    """:class:`~shared.records.PackageOccurrences` as the occurrences filed per image."""

    filed: dict[tuple[str, str, str], list[PackageOccurrence]] = field(default_factory=dict)

    def file(self, registry: str, repository: str, digest: str, occurrences: Sequence[PackageOccurrence]) -> None:
        self.filed.pop((registry, repository, digest), None)
        if occurrences:
            self.filed[(registry, repository, digest)] = list(occurrences)

    def find(self, name: str, type: str | None, limit: int, cursor: str | None = None, *, namespace: str | None = None,
             keep: Callable[[PackageOccurrence], bool] | None = None) -> Page[PackageOccurrence]:
        def matches(occurrence: PackageOccurrence) -> bool:
            purl = parse_purl(occurrence.purl)
            return (purl.name.lower() == name.lower() and (type is None or purl.type == type)
                    and (namespace is None or purl.namespace.lower() == namespace.lower()))

        found = [o for hits in self.filed.values() for o in hits if matches(o)]
        ordered = sorted(found, key=lambda o: (parse_purl(o.purl).type, parse_purl(o.purl).namespace.lower(), o.registry,
                                               o.repository, o.digest, o.platform_digest, o.purl, o.layer))
        return page_of(ordered, limit, cursor, keep)

    def purge_registry(self, registry: str) -> None:
        for key in [k for k in self.filed if k[0] == registry]:
            del self.filed[key]


@dataclass
class MemoryLeases:
    """:class:`~shared.records.AnalysisLeases` in a dict: (registry, repository, digest) → (holder, until)."""

    leases: dict[tuple[str, str, str], tuple[str, str]] = field(default_factory=dict)

    def acquire(self, registry: str, repository: str, digest: str, holder: str, now: str, until: str) -> bool:
        current = self.leases.get((registry, repository, digest))
        if current is not None and current[0] != holder and current[1] > now:
            return False
        self.leases[(registry, repository, digest)] = (holder, until)
        return True

    def release(self, registry: str, repository: str, digest: str, holder: str) -> None:
        if self.leases.get((registry, repository, digest), ("", ""))[0] == holder:
            del self.leases[(registry, repository, digest)]


@dataclass
class MemoryBases:
    """:class:`~shared.records.BaseRecords` in dicts."""

    chains: dict[str, dict[str, ChainEntry]] = field(default_factory=dict)
    public: dict[tuple[str, str], PublicBase] = field(default_factory=dict)
    reads: int = 0
    """How many chain reads were made (one per :meth:`entries` call)."""

    def file(self, chain: str, entry: ChainEntry) -> None:
        self.chains.setdefault(chain, {})[entry.identity] = entry

    def unfile(self, chain: str, entry: ChainEntry) -> None:
        self.chains.get(chain, {}).pop(entry.identity, None)

    def entries(self, chain: str) -> list[ChainEntry]:
        self.reads += 1
        return [e for _, e in sorted(self.chains.get(chain, {}).items())][:MAX_CHAIN_ENTRIES]

    def put_public(self, base: PublicBase) -> None:
        self.public[(base.name, base.tag)] = base

    def get_public(self, name: str, tag: str) -> PublicBase | None:
        return self.public.get((name, tag))

    def list_public(self, name: str | None = None) -> list[PublicBase]:
        return [b for key, b in sorted(self.public.items()) if name is None or key[0] == name][:MAX_PUBLIC_LISTED]

    def purge_registry(self, registry: str) -> int:
        doomed = [(chain, identity) for chain, entries in self.chains.items() for identity, entry in entries.items()
                  if entry.kind == "image" and entry.registry == registry]
        for chain, identity in doomed:
            del self.chains[chain][identity]
        return len(doomed)


@dataclass
class MemoryVex:
    """:class:`~shared.records.VexStatements` in a dict, by (registry, id)."""

    documents: dict[tuple[str, str], ImportedVex] = field(default_factory=dict)

    def put(self, vex: ImportedVex) -> None:
        self.documents[(vex.scope.registry, vex.id)] = vex

    def get(self, registry: str, vex_id: str) -> ImportedVex | None:
        return self.documents.get((registry, vex_id))

    def list_documents(self, registry: str | None = None) -> list[ImportedVex]:
        return sorted((v for (r, _), v in self.documents.items() if registry is None or r == registry),
                      key=lambda v: (v.imported, v.id))

    def for_repository(self, registry: str, repository: str) -> list[ImportedVex]:
        return [v for v in self.list_documents(registry) if v.scope.repository in ("", repository)]

    def scoped_repositories(self, registry: str) -> set[str]:
        return {v.scope.repository for v in self.list_documents(registry)}

    def delete(self, registry: str, vex_id: str) -> None:
        self.documents.pop((registry, vex_id), None)

    def purge_registry(self, registry: str) -> int:
        doomed = [key for key in self.documents if key[0] == registry]
        for key in doomed:
            del self.documents[key]
        return len(doomed)


@dataclass
class MemoryPolicyResults:
    """:class:`~shared.records.PolicyResults` in a dict, by (registry, repository, digest)."""

    stored: dict[tuple[str, str, str], StoredPolicies] = field(default_factory=dict)

    def get(self, registry: str, repository: str, digest: str) -> StoredPolicies | None:
        return self.stored.get((registry, repository, digest))

    def current_of(self, images: Sequence[tuple[str, str, str]]) -> dict[tuple[str, str, str], PolicyEvaluation]:
        return {image: self.stored[image].current for image in images if image in self.stored}

    def put(self, registry: str, repository: str, digest: str, evaluation: PolicyEvaluation) -> PolicyEvaluation | None:
        existing = self.stored.get((registry, repository, digest))
        before = existing.current if existing is not None else None
        if before is not None and evaluation.same_results(before):
            return before
        self.stored[(registry, repository, digest)] = StoredPolicies(evaluation, before)
        return before

    def delete(self, registry: str, repository: str, digest: str) -> None:
        self.stored.pop((registry, repository, digest), None)

    def purge_registry(self, registry: str) -> None:
        self.stored = {k: v for k, v in self.stored.items() if k[0] != registry}


@dataclass
class MemoryPolicyConfigs:
    """:class:`~shared.records.PolicyConfigs` in dicts."""

    configs: dict[tuple[str, str | None], PolicyConfig] = field(default_factory=dict)
    listed: HighProfileList | None = None

    def get(self, integration_id: str, repository: str | None) -> PolicyConfig | None:
        return self.configs.get((integration_id, repository))

    def put(self, integration_id: str, repository: str | None, config: PolicyConfig, when: str) -> None:
        self.configs[(integration_id, repository)] = config

    def delete(self, integration_id: str, repository: str | None) -> None:
        self.configs.pop((integration_id, repository), None)

    def list(self, integration_id: str) -> dict[str | None, PolicyConfig]:
        return {r: c for (i, r), c in self.configs.items() if i == integration_id}

    def high_profile(self) -> HighProfileList | None:
        return self.listed

    def set_high_profile(self, value: HighProfileList) -> None:
        self.listed = value

    def purge_integration(self, integration_id: str) -> int:
        doomed = [key for key in self.configs if key[0] == integration_id]
        for key in doomed:
            del self.configs[key]
        return len(doomed)


@dataclass
class MemoryEndpoints:
    """:class:`~shared.records.NotificationEndpoints` in a dict, by (integration id, endpoint id)."""

    endpoints: dict[tuple[str, str], Endpoint] = field(default_factory=dict)

    def get(self, integration_id: str, endpoint_id: str) -> Endpoint | None:
        return self.endpoints.get((integration_id, endpoint_id))

    def list(self, integration_id: str) -> list[Endpoint]:
        return sorted((e for (i, _), e in self.endpoints.items() if i == integration_id), key=lambda e: (e.created, e.id))

    def put(self, endpoint: Endpoint) -> None:
        self.endpoints[(endpoint.integration_id, endpoint.id)] = endpoint

    def delete(self, integration_id: str, endpoint_id: str) -> None:
        self.endpoints.pop((integration_id, endpoint_id), None)

    def purge_integration(self, integration_id: str) -> int:
        doomed = [key for key in self.endpoints if key[0] == integration_id]
        for key in doomed:
            del self.endpoints[key]
        return len(doomed)


@dataclass
class MemoryDeliveries:
    """:class:`~shared.records.NotificationDeliveries` in dicts: the deliveries by (endpoint id, delivery id) and
    each endpoint's latest."""

    deliveries: dict[tuple[str, str], Delivery] = field(default_factory=dict)
    last: dict[str, Delivery] = field(default_factory=dict)

    def get(self, endpoint_id: str, delivery_id: str) -> Delivery | None:
        return self.deliveries.get((endpoint_id, delivery_id))

    def latest(self, endpoint_id: str) -> Delivery | None:
        return self.last.get(endpoint_id)

    def put(self, delivery: Delivery) -> None:
        self.deliveries[(delivery.endpoint_id, delivery.id)] = delivery
        self.last[delivery.endpoint_id] = delivery

    def delete_all(self, endpoint_id: str) -> None:
        self.deliveries = {k: d for k, d in self.deliveries.items() if k[0] != endpoint_id}
        self.last.pop(endpoint_id, None)

    def prune(self, updated_before: str) -> int:
        kept = {(d.endpoint_id, d.id) for d in self.last.values()}
        doomed = [k for k, d in self.deliveries.items() if d.updated < updated_before and k not in kept]
        for key in doomed:
            del self.deliveries[key]
        return len(doomed)
