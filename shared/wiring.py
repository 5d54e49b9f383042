"""The composition root: the app's stores on Azure Storage and the services built on them, once per process.

Only the entry points (``functions/``, the ``lookout`` command line) import this module; the services
receive what they use (see :mod:`shared.records`) and never reach for it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from shared.api.paging import Continuations
from shared.intake.jobs import JOBS_QUEUE
from shared.intake.reconcile import Reconciler
from shared.intake.webhook import Webhook
from shared.integrations.service import Integrations
from shared.secrets import SecretBox
from shared.settings import Settings, load
from shared.store.advisory_mirror import TableAdvisoryIndex
from shared.store.affected_images import AffectedImageStore
from shared.store.analysis_leases import LeaseStore
from shared.store.azure import Tables
from shared.store.eventlog import EventLog
from shared.store.image_records import ImageStore
from shared.store.integration_records import IntegrationStore, RepositorySettings
from shared.store.jobqueue import StorageJobQueue
from shared.store.layer_cache import TableLayerCache
from shared.store.package_occurrences import PackageOccurrenceStore
from shared.store.rejected import RejectedJobs
from shared.store.report_records import ReportStore
from shared.store.repository_summaries import RepositorySummaryStore
from shared.store.sbom_records import SbomStore
from shared.store.sweep_cursors import SweepCursorStore
from shared.vulns.service import Vulnerabilities, advisory_source
from shared.worker.process import Worker


@dataclass(frozen=True)
class Services:
    """The settings, every store, and the services wired from them."""

    settings: Settings
    integrations: IntegrationStore
    repositories: RepositorySettings
    images: ImageStore
    sboms: SbomStore
    layer_cache: TableLayerCache
    reports: ReportStore
    summaries: RepositorySummaryStore
    affected: AffectedImageStore
    packages: PackageOccurrenceStore
    advisories: TableAdvisoryIndex
    events: EventLog
    rejected: RejectedJobs
    jobs: StorageJobQueue
    box: SecretBox
    continuations: Continuations
    sweep_cursors: SweepCursorStore
    leases: LeaseStore

    @functools.cached_property
    def integration_service(self) -> Integrations:
        """Connecting registries, their tokens, repository activation and removal."""
        return Integrations(
            records=self.integrations, repositories=self.repositories, images=self.images, sboms=self.sboms,
            reports=self.reports, summaries=self.summaries, affected=self.affected, packages=self.packages,
            jobs=self.jobs, box=self.box, public_url=self.settings.public_url,
            allow_insecure_registries=self.settings.allow_insecure_registries,
        )

    @functools.cached_property
    def vulnerabilities(self) -> Vulnerabilities:
        """Matching against the configured advisory source, and re-matching stored SBOMs."""
        return Vulnerabilities(source=advisory_source(self.settings, self.advisories), reports=self.reports,
                               sboms=self.sboms, images=self.images, affected=self.affected, summaries=self.summaries)

    @functools.cached_property
    def webhook(self) -> Webhook:
        """The Event Grid webhook's decisions."""
        return Webhook(integrations=self.integration_service, repositories=self.repositories, events=self.events,
                       jobs=self.jobs, images=self.images)

    @functools.cached_property
    def reconciler(self) -> Reconciler:
        """The reconciliation sweep: jobs for the registry events Event Grid never delivered."""
        return Reconciler(integrations=self.integration_service, repositories=self.repositories, images=self.images,
                          jobs=self.jobs, cursors=self.sweep_cursors)

    @functools.cached_property
    def worker(self) -> Worker:
        """The queue worker."""
        return Worker(integrations=self.integrations, images=self.images, sboms=self.sboms,
                      layer_cache=self.layer_cache, rejected=self.rejected, vulnerabilities=self.vulnerabilities,
                      packages=self.packages, summaries=self.summaries, leases=self.leases,
                      client_for=self.integration_service.registry_client)


def build_services(settings: Settings) -> Services:
    """Wire the stores for ``settings``; does no I/O (tables and the queue are created on first use)."""
    tables = Tables(settings.storage, settings.table_prefix)
    return Services(
        settings=settings,
        integrations=IntegrationStore(tables),
        repositories=RepositorySettings(tables),
        images=ImageStore(tables),
        sboms=SbomStore(tables),
        layer_cache=TableLayerCache(tables),
        reports=ReportStore(tables),
        summaries=RepositorySummaryStore(tables),
        affected=AffectedImageStore(tables),
        packages=PackageOccurrenceStore(tables),
        advisories=TableAdvisoryIndex(tables),
        events=EventLog(tables),
        rejected=RejectedJobs(tables),
        jobs=StorageJobQueue(settings.storage, JOBS_QUEUE),
        box=SecretBox(settings.encryption_key),
        continuations=Continuations(settings.encryption_key),
        sweep_cursors=SweepCursorStore(tables),
        leases=LeaseStore(tables),
    )


@functools.cache
def services() -> Services:
    """The process-wide services, from the current settings (raises ConfigurationError when they are wrong)."""
    return build_services(load())
