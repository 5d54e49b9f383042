"""In-memory stand-ins for the app's stores (:mod:`shared.records`), for tests where storage is not the point.

Each keeps plain dicts and follows the Protocol's contract as the Table storage implementations do:
writes replace, reads of what is absent give None, deletes of what is absent are no-ops.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from shared.analysis.model import PlatformAnalysis
from shared.images.model import ImageRecord, PlatformRef, TagRecord
from shared.intake.jobs import Job
from shared.integrations.model import Integration
from shared.vulns.packages import PackageKey


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
