"""The composition root: the app's stores on Azure Storage and the services built on them, once per process.

Only the entry points (``functions/``, the ``lookout`` command line) import this module; the services
receive what they use (see :mod:`shared.records`) and never reach for it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from datetime import timedelta

from shared.analysis.limits import Limits
from shared.api.paging import Continuations
from shared.bases.service import Bases
from shared.intake.jobs import JOBS_QUEUE
from shared.intake.reconcile import Reconciler
from shared.intake.webhook import Webhook
from shared.integrations.service import Integrations
from shared.notify.sender import HttpSender
from shared.notify.service import Notifications
from shared.notify.urls import UrlPolicy
from shared.policy.service import Policies
from shared.process import configure_process
from shared.secrets import SecretBox
from shared.settings import Settings, load
from shared.store.advisory_mirror import TableAdvisoryIndex
from shared.store.affected_images import AffectedImageStore
from shared.store.analysis_leases import LeaseStore
from shared.store.azure import Tables
from shared.store.base_records import BaseStore
from shared.store.eventlog import EventLog
from shared.store.image_records import ImageStore
from shared.store.integration_records import IntegrationStore, RepositorySettings
from shared.store.jobqueue import StorageJobQueue
from shared.store.layer_cache import TableLayerCache
from shared.store.notification_deliveries import NotificationDeliveryStore
from shared.store.notification_endpoints import NotificationEndpointStore
from shared.store.notification_queue import StorageNotificationQueue
from shared.store.package_occurrences import PackageOccurrenceStore
from shared.store.policy_configs import PolicyConfigStore
from shared.store.policy_results import PolicyResultStore
from shared.store.rejected import RejectedJobs
from shared.store.report_records import ReportStore
from shared.store.repository_summaries import RepositorySummaryStore
from shared.store.sbom_records import SbomStore
from shared.store.sweep_cursors import SweepCursorStore
from shared.store.vex_statements import VexStore
from shared.vex.service import VexService
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
    notification_endpoints: NotificationEndpointStore
    notification_deliveries: NotificationDeliveryStore
    notification_queue: StorageNotificationQueue
    vex: VexStore
    policy_results: PolicyResultStore
    policy_configs: PolicyConfigStore
    bases: BaseStore

    @functools.cached_property
    def integration_service(self) -> Integrations:
        """Connecting registries, their tokens, repository activation and removal."""
        return Integrations(
            records=self.integrations, repositories=self.repositories, images=self.images, sboms=self.sboms,
            reports=self.reports, summaries=self.summaries, affected=self.affected, packages=self.packages,
            jobs=self.jobs, box=self.box, public_url=self.settings.public_url,
            allow_insecure_registries=self.settings.allow_insecure_registries,
            policy_results=self.policy_results, policy_configs=self.policy_configs, vex=self.vex, bases=self.bases,
            endpoints=self.notification_endpoints, deliveries=self.notification_deliveries,
        )

    @functools.cached_property
    def vulnerabilities(self) -> Vulnerabilities:
        """Matching against the configured advisory source, and re-matching stored SBOMs."""
        return Vulnerabilities(source=advisory_source(self.settings, self.advisories), reports=self.reports,
                               sboms=self.sboms, images=self.images, affected=self.affected, summaries=self.summaries,
                               policies=self.policies, vex=self.vex, notices=self.notification_queue,
                               concurrency=self.settings.rematch_concurrency)

    @functools.cached_property
    def vex_service(self) -> VexService:
        """VEX documents per integration, repository or image, and refreshing the reports they change."""
        return VexService(records=self.vex, integrations=self.integrations, images=self.images, reports=self.reports,
                          vulnerabilities=self.vulnerabilities)

    @functools.cached_property
    def webhook(self) -> Webhook:
        """The Event Grid webhook's decisions; it reads integrations and activations through the stores' lookup
        cache (a few seconds), which every write of this process through the same stores clears."""
        return Webhook(integrations=replace(self.integration_service, records=self.integrations.with_cached_reads()),
                       repositories=self.repositories.with_cached_reads(), events=self.events, jobs=self.jobs,
                       images=self.images)

    @functools.cached_property
    def reconciler(self) -> Reconciler:
        """The reconciliation sweep: jobs for the registry events Event Grid never delivered."""
        return Reconciler(integrations=self.integration_service, repositories=self.repositories, images=self.images,
                          jobs=self.jobs, cursors=self.sweep_cursors)

    @functools.cached_property
    def base_service(self) -> Bases:
        """Base image detection: the diff-ID chain index, public bases, recommendations."""
        return Bases(records=self.bases, images=self.images, reports=self.reports)

    @functools.cached_property
    def policies(self) -> Policies:
        """Policy evaluation on analysis and re-match, its configuration and results."""
        return Policies(results=self.policy_results, configs=self.policy_configs, integrations=self.integrations,
                        images=self.images, sboms=self.sboms, reports=self.reports, notices=self.notification_queue)

    @functools.cached_property
    def notifications(self) -> Notifications:
        """Notification endpoints per integration, and sending what the notifications queue holds."""
        return Notifications(endpoints=self.notification_endpoints, deliveries=self.notification_deliveries,
                             queue=self.notification_queue, integrations=self.integrations, images=self.images,
                             box=self.box, policy=UrlPolicy(local=not self.settings.in_azure,
                                                            allow_private=self.settings.notify_allow_private),
                             public_url=self.settings.public_url, sender=HttpSender())

    @functools.cached_property
    def worker(self) -> Worker:
        """The queue worker."""
        return Worker(integrations=self.integrations, images=self.images, sboms=self.sboms,
                      layer_cache=self.layer_cache, rejected=self.rejected, vulnerabilities=self.vulnerabilities,
                      packages=self.packages, summaries=self.summaries, leases=self.leases,
                      client_for=self.integration_service.registry_client, bases=self.base_service,
                      analysis_lease=timedelta(seconds=self.settings.analysis_lease_seconds),
                      policies=self.policies,
                      analysis_limits=Limits(max_concurrent_layers=self.settings.analysis_concurrency))


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
        notification_endpoints=NotificationEndpointStore(tables),
        notification_deliveries=NotificationDeliveryStore(tables),
        notification_queue=StorageNotificationQueue(settings.storage),
        vex=VexStore(tables),
        policy_results=PolicyResultStore(tables),
        policy_configs=PolicyConfigStore(tables),
        bases=BaseStore(tables),
    )


@functools.cache
def services() -> Services:
    """The process-wide services, from the current settings (raises ConfigurationError when they are wrong);
    the process is configured first (:func:`~shared.process.configure_process`)."""
    configure_process()
    return build_services(load())
