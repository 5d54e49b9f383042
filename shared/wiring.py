"""The app's collaborators, built once per process from the settings."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from shared.intake.jobs import JOBS_QUEUE
from shared.secrets import SecretBox
from shared.settings import Settings, load
from shared.store.advisories import TableAdvisoryIndex
from shared.store.azure import Tables
from shared.store.eventlog import EventLog
from shared.store.images import ImageStore
from shared.store.integrations import IntegrationStore, RepositorySettings
from shared.store.jobqueue import JobSink, StorageJobQueue
from shared.store.layers import TableLayerCache
from shared.store.rejected import RejectedJobs
from shared.store.sboms import SbomStore
from shared.store.vulns import VulnStore


@dataclass(frozen=True)
class Services:
    """Everything a trigger needs: settings, stores, the job queue and the secret box."""

    settings: Settings
    integrations: IntegrationStore
    repositories: RepositorySettings
    images: ImageStore
    sboms: SbomStore
    layer_cache: TableLayerCache
    vulns: VulnStore
    advisories: TableAdvisoryIndex
    events: EventLog
    rejected: RejectedJobs
    jobs: JobSink
    box: SecretBox


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
        vulns=VulnStore(tables),
        advisories=TableAdvisoryIndex(tables),
        events=EventLog(tables),
        rejected=RejectedJobs(tables),
        jobs=StorageJobQueue(settings.storage, JOBS_QUEUE),
        box=SecretBox(settings.encryption_key),
    )


@functools.cache
def services() -> Services:
    """The process-wide services, from the current settings (raises ConfigurationError when they are wrong)."""
    return build_services(load())
