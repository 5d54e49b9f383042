"""Where the app keeps its records: the storage seams of the services, as Protocols.

The services (:mod:`shared.intake.webhook`, :mod:`shared.worker`, :mod:`shared.integrations.service`,
:mod:`shared.vulns.service`, :mod:`shared.api`) receive the stores they use typed by these Protocols
and never import :mod:`shared.store`, which implements them on Azure Table and Queue storage. Tests
may pass in-memory stand-ins where a real store is not the point.

Contract shared by every store: a write returns only once storage acknowledged it; storage trouble is
raised as a :class:`~shared.errors.LookoutError` (temporary when a retry can succeed). Times are the
canonical UTC strings of :mod:`shared.clock`; digests are manifest digests (``sha256:...``).

The listing indexes (:class:`RepositorySummaries`, :class:`AffectedImages`, :class:`PackageOccurrences`
and the push order of :class:`ImageRecords`) are kept by the services that change what they index
and read by :mod:`shared.api`; their values are those of :mod:`shared.images.listing`. A listing
call reads a bounded number of rows and hands back a :class:`~shared.images.listing.Page` whose
cursor, given back unchanged, continues where it stopped; a cursor the store did not hand out raises
:class:`~shared.errors.InvalidContinuation`.

The library's own seams live with the library: :class:`~shared.analysis.cache.LayerCache` (per-layer
analysis results) and :class:`~shared.vulns.index.AdvisoryMirror` (the advisory mirror).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from shared.analysis.model import PlatformAnalysis
from shared.bases.model import ChainEntry, PublicBase
from shared.images.listing import (
    AdvisoryHit,
    AdvisorySummary,
    AffectedImage,
    PackageOccurrence,
    Page,
    RepositorySummary,
)
from shared.images.model import ImageRecord, PlatformRef, TagRecord
from shared.intake.jobs import Job
from shared.integrations.model import Integration
from shared.notify.model import Delivery, Endpoint
from shared.policy.config import PolicyConfig
from shared.policy.highprofile import HighProfileList
from shared.policy.model import PolicyEvaluation, StoredPolicies
from shared.vex.model import ImportedVex
from shared.vulns.packages import PackageKey


class ImageRecords(Protocol):
    """Image records (one per manifest digest, tombstones included) and tag pointers."""

    def get(self, registry: str, repository: str, digest: str) -> ImageRecord | None:
        """The record of ``digest`` (a tombstone included), or None."""
        ...

    def put(self, record: ImageRecord) -> None:
        """Store (replace) ``record``."""
        ...

    def list_repository(self, registry: str, repository: str) -> list[ImageRecord]:
        """Every record of the repository, tombstones included."""
        ...

    def list_pushed(self, registry: str, repository: str, limit: int, cursor: str | None = None) -> Page[ImageRecord]:
        """The repository's live records (no tombstones), newest push first: at most ``limit``, from ``cursor``.

        A record keeps the place of the push that first recorded it for as long as it lives.
        """
        ...

    def count_live(self, registry: str, repository: str) -> int:
        """How many live records (tombstones excluded) the repository has."""
        ...

    def tags_for(self, registry: str, repository: str, digests: Iterable[str]) -> dict[str, list[str]]:
        """The tags pointing at each of ``digests`` (sorted; a digest without tags maps to ``[]``), for listings:
        a bounded read per digest."""
        ...

    def get_tag(self, registry: str, repository: str, tag: str) -> TagRecord | None:
        """Where ``tag`` points, or None."""
        ...

    def point_tag(self, registry: str, repository: str, tag: str, digest: str, when: str) -> bool:
        """Point ``tag`` at ``digest`` unless a later event already moved it; whether it now points there."""
        ...

    def tags_of(self, registry: str, repository: str, digest: str) -> list[str]:
        """The tags pointing at ``digest``, sorted."""
        ...

    def drop_tags(self, registry: str, repository: str, digest: str) -> None:
        """Remove every tag pointing at ``digest``."""
        ...

    def count_analyzed(self, registry: str) -> int:
        """How many images of ``registry`` are analyzed."""
        ...

    def iter_analyzed(self, registry: str | None = None) -> Iterator[ImageRecord]:
        """Every analyzed record (of ``registry``, else of every registry), read from storage a bounded page at a
        time as the iteration goes on; the records of a repository come together."""
        ...

    def relist(self, registry: str, repository: str, digest: str) -> ImageRecord | None:
        """Put the live record of ``digest`` back in the listings this store keeps, as stored: the push order (at
        the place it was first given, else at its push time) and its tags as the listings read them.

        For records written before those listings existed; idempotent (what is there is not written
        again). Returns the record, or None when there is no live record (then it is in no listing).
        """
        ...

    def prune_tombstones(self, deleted_before: str) -> int:
        """Remove delete tombstones older than ``deleted_before``; how many."""
        ...

    def purge_registry(self, registry: str) -> int:
        """Remove every record and tag of ``registry``; how many images."""
        ...


class SbomRecords(Protocol):
    """Platform SBOMs, one per platform manifest digest of a repository."""

    def put(self, registry: str, repository: str, analysis: PlatformAnalysis, analyzed: str) -> None:
        """Store (replace) the SBOM of platform image ``analysis.digest``."""
        ...

    def get(self, registry: str, repository: str, digest: str) -> PlatformAnalysis | None:
        """The SBOM of platform image ``digest``, or None."""
        ...

    def get_many(self, refs: Sequence[PlatformRef]) -> dict[PlatformRef, PlatformAnalysis]:
        """The SBOMs of ``refs`` that are stored (read together: few requests for many SBOMs)."""
        ...

    def delete(self, registry: str, repository: str, digest: str) -> None:
        """Remove the SBOM of platform image ``digest`` (no error when there is none)."""
        ...

    def all_platforms(self) -> list[PlatformRef]:
        """Every platform image that has a stored SBOM."""
        ...

    def purge_registry(self, registry: str) -> None:
        """Remove every SBOM of ``registry``."""
        ...


class ReportRecords(Protocol):
    """Vulnerability reports, one per platform SBOM, and which SBOMs name which package."""

    def put(self, ref: PlatformRef, report: dict[str, Any], keys: Iterable[PackageKey] = ()) -> None:
        """Store the report of ``ref`` and file ``ref`` under ``keys`` (none when they are filed already)."""
        ...

    def get(self, ref: PlatformRef) -> dict[str, Any] | None:
        """The stored report of ``ref``, or None."""
        ...

    def get_many(self, refs: Sequence[PlatformRef]) -> dict[PlatformRef, dict[str, Any]]:
        """The stored reports of ``refs`` that have one (read together: few requests for many reports)."""
        ...

    def put_many(self, reports: Sequence[tuple[PlatformRef, dict[str, Any]]]) -> None:
        """:meth:`put` of reports whose SBOMs are filed already, written together (few requests)."""
        ...

    def delete(self, ref: PlatformRef) -> None:
        """Remove the report of ``ref``."""
        ...

    def platforms_naming(self, keys: Iterable[PackageKey]) -> set[PlatformRef]:
        """The platform SBOMs filed under any of ``keys``."""
        ...

    def forget(self, ref: PlatformRef, keys: Iterable[PackageKey]) -> None:
        """Unfile ``ref`` from ``keys`` (its SBOM is gone)."""
        ...

    def purge_registry(self, registry: str) -> None:
        """Remove every report of ``registry``."""
        ...


class IntegrationRecords(Protocol):
    """Integrations by id."""

    def get(self, integration_id: str) -> Integration | None:
        """The integration, or None."""
        ...

    def list(self) -> list[Integration]:
        """Every integration."""
        ...

    def put(self, integration: Integration) -> None:
        """Store (replace) ``integration``."""
        ...

    def touch_last_event(self, integration_id: str, when: str) -> None:
        """Record that an event for the integration arrived at ``when``."""
        ...

    def delete(self, integration_id: str) -> None:
        """Remove the integration."""
        ...


class RepositoryActivations(Protocol):
    """Which repositories of an integration are activated."""

    def set_enabled(self, integration_id: str, repository: str, enabled: bool, when: str) -> None:
        """Activate or deactivate ``repository``."""
        ...

    def is_enabled(self, integration_id: str, repository: str) -> bool:
        """Whether ``repository`` is activated."""
        ...

    def enabled_repositories(self, integration_id: str) -> dict[str, bool]:
        """Every repository with a setting, and whether it is activated."""
        ...

    def delete_all(self, integration_id: str) -> None:
        """Remove every repository setting of the integration."""
        ...


Claim = Literal["claimed", "accepted", "in-flight"]
"""The outcome of claiming an event id: see :meth:`AcceptedEvents.claim`."""


class AcceptedEvents(Protocol):
    """Event Grid event ids, claimed atomically per integration so that each event becomes at most one job.

    The webhook claims an event, enqueues its job, then confirms it; when the enqueue fails it releases
    the claim, so that Event Grid's redelivery can claim it again.
    """

    def claim(self, integration_id: str, event_id: str, when: str) -> Claim:
        """``claimed`` when this caller now holds the event (of concurrent claims exactly one does, and a
        claim left pending by a caller that died is taken over after a timeout), ``accepted`` when its
        job was queued before, ``in-flight`` when another caller holds a fresh claim."""
        ...

    def confirm(self, integration_id: str, event_id: str, when: str, job_key: str) -> None:
        """Record that the claimed event's job is durably enqueued."""
        ...

    def release(self, integration_id: str, event_id: str) -> None:
        """Give a claim up (no error when there is none)."""
        ...

    def claim_many(self, integration_id: str, event_ids: Sequence[str], when: str) -> dict[str, Claim]:
        """:meth:`claim` for distinct events at once (batched writes): each id's outcome."""
        ...

    def confirm_many(self, integration_id: str, jobs: Mapping[str, str], when: str) -> None:
        """:meth:`confirm` for many events at once; ``jobs`` maps event ids to job keys."""
        ...

    def release_many(self, integration_id: str, event_ids: Sequence[str]) -> None:
        """:meth:`release` for many events at once."""
        ...

    def prune(self, accepted_before: str) -> int:
        """Forget ids claimed or accepted before ``accepted_before``; how many."""
        ...


class AnalysisLeases(Protocol):
    """Who is analyzing an image now, so that duplicate jobs dequeued together analyze it once.

    A holder is a queue message id: the same message redelivered after a crash takes its own lease
    back at once; another message waits for the lease to expire (``until``, canonical UTC time).
    """

    def acquire(self, registry: str, repository: str, digest: str, holder: str, now: str, until: str) -> bool:
        """Take the image's lease for ``holder`` until ``until``; False while another holder's lease runs
        (of concurrent callers exactly one gets it)."""
        ...

    def release(self, registry: str, repository: str, digest: str, holder: str) -> None:
        """Give the lease up if ``holder`` still holds it."""
        ...


@dataclass(frozen=True)
class QueueMessage:
    """What a queue-triggered service needs of a Storage queue message: its ``id`` (kept across redeliveries),
    its ``text`` and how many times it has been dequeued (``dequeue_count``, 1 on the first delivery)."""

    id: str
    text: str
    dequeue_count: int


class JobSink(Protocol):
    """Where analysis jobs go: durably, or an exception is raised."""

    def put(self, job: Job) -> None:
        """Enqueue ``job``; returns only once it is durable."""
        ...


class SweepCursors(Protocol):
    """Where a bounded sweep over (integration, repository) pairs stopped, per scope (``all``, or one
    integration), so that its next run continues after the last repository it finished."""

    def last_finished(self, scope: str) -> tuple[str, str] | None:
        """The (integration id, repository) the last run of ``scope`` finished last; None: start from the beginning."""
        ...

    def record(self, scope: str, last: tuple[str, str] | None, when: str) -> None:
        """Remember ``last`` for ``scope`` at ``when``; None when the sweep went round (the next run starts over)."""
        ...


class RejectedMessages(Protocol):
    """Queue messages that were not jobs, kept for an operator to look at."""

    def record(self, message_id: str, text: str, reason: str, when: str) -> None:
        """Keep ``text`` (bounded by the store) with why it was rejected."""
        ...


class RepositorySummaries(Protocol):
    """One summary per repository that is activated or has live images, per registry."""

    def update(self, registry: str, repository: str,
               change: Callable[[RepositorySummary | None], RepositorySummary | None]) -> RepositorySummary | None:
        """Store what ``change`` makes of the repository's summary (None: there is none; returning None removes it).

        ``change`` is called again when another update got in between, so it reads what it needs
        itself. Returns what was stored.
        """
        ...

    def list(self, registry: str, limit: int, cursor: str | None = None) -> Page[RepositorySummary]:
        """The registry's summaries, activated repositories first, each group by name."""
        ...

    def purge_registry(self, registry: str) -> None:
        """Remove every summary of ``registry``."""
        ...


class AffectedImages(Protocol):
    """Which live images each advisory is found in, and every advisory found, worst first."""

    def file(self, registry: str, repository: str, digest: str, hits: Sequence[AdvisoryHit]) -> None:
        """Record that image ``digest`` has exactly ``hits`` now (none when it has no finding or is gone).

        Idempotent: filing the same hits again changes nothing, and a retry after a failure completes
        what the failed call started.
        """
        ...

    def file_many(self, filings: Sequence[tuple[str, str, str, Sequence[AdvisoryHit]]]) -> None:
        """:meth:`file` for each ``(registry, repository, digest, hits)``, with fewer storage calls when many
        images change together (a re-match). Idempotent and completed by a retry, as :meth:`file`."""
        ...

    def listing(self, levels: Collection[str], limit: int, cursor: str | None = None,
                keep: Callable[[AdvisorySummary], bool] | None = None) -> Page[AdvisorySummary]:
        """The advisories found in live images whose level is one of ``levels`` and that ``keep`` accepts,
        worst first: by level, then CVSS score (highest first, unscored last), then id."""
        ...

    def summary(self, advisory: str) -> AdvisorySummary | None:
        """The advisory with that id, else one found under that alias; None when no live image has it."""
        ...

    def affected(self, advisory: str, limit: int, cursor: str | None = None) -> Page[AffectedImage]:
        """The live images advisory ``advisory`` (an id) is found in, by registry, repository and digest."""
        ...

    def purge_registry(self, registry: str) -> None:
        """Unfile every image of ``registry``."""
        ...


class PackageOccurrences(Protocol):
    """Which live images hold each package, by package URL type and name."""

    def file(self, registry: str, repository: str, digest: str, occurrences: Sequence[PackageOccurrence]) -> None:
        """Record that image ``digest`` holds exactly ``occurrences`` now (none when it is gone); idempotent."""
        ...

    def find(self, name: str, type: str | None, limit: int, cursor: str | None = None, *, namespace: str | None = None,
             keep: Callable[[PackageOccurrence], bool] | None = None) -> Page[PackageOccurrence]:
        """The occurrences of packages named ``name`` (case-insensitive) of purl type ``type`` (every type when
        None) and, when given, purl namespace ``namespace``, that ``keep`` accepts; by type, name,
        namespace, then image."""
        ...

    def purge_registry(self, registry: str) -> None:
        """Unfile every image of ``registry``."""
        ...


class BaseRecords(Protocol):
    """The diff-ID chain index of base image detection, and the public base images users imported.

    ``chain`` is a :func:`~shared.bases.chains.chain_key`; an entry is told apart from the others of its chain
    by :attr:`~shared.bases.model.ChainEntry.identity`.
    """

    def file(self, chain: str, entry: ChainEntry) -> None:
        """File (replace) ``entry`` under ``chain``."""
        ...

    def unfile(self, chain: str, entry: ChainEntry) -> None:
        """Remove ``entry`` from ``chain`` (no error when it is not there)."""
        ...

    def entries(self, chain: str) -> list[ChainEntry]:
        """The entries filed under ``chain``: at most :data:`~shared.bases.model.MAX_CHAIN_ENTRIES`, one point query."""
        ...

    def put_public(self, base: PublicBase) -> None:
        """Point the public base's name and tag at ``base`` (replacing where it pointed)."""
        ...

    def get_public(self, name: str, tag: str) -> PublicBase | None:
        """Where the public base ``name:tag`` points now, or None."""
        ...

    def list_public(self, name: str | None = None) -> list[PublicBase]:
        """The imported public bases (of ``name`` only, when given), by name then tag; bounded by
        :data:`~shared.bases.model.MAX_PUBLIC_LISTED`."""
        ...

    def purge_registry(self, registry: str) -> int:
        """Unfile every image of ``registry`` from every chain (public bases stay); how many entries."""
        ...


class PolicyResults(Protocol):
    """The policy results of each image (:mod:`shared.policy`): the current evaluation and the previous one."""

    def get(self, registry: str, repository: str, digest: str) -> StoredPolicies | None:
        """What is stored of the image's policies, or None before its first evaluation."""
        ...

    def current_of(self, images: Sequence[tuple[str, str, str]]) -> dict[tuple[str, str, str], PolicyEvaluation]:
        """The current evaluation of each of ``images`` (registry, repository, digest) that has one, read
        together (few requests for many images)."""
        ...

    def put(self, registry: str, repository: str, digest: str, evaluation: PolicyEvaluation) -> PolicyEvaluation | None:
        """Store ``evaluation`` as the image's current one and return the one it replaces (None at first).

        When its results differ from the current one's, the current one becomes the previous; when they are
        the same nothing is written: the stored one stands, its ``evaluated`` time the first at which those
        results were found (a re-match that changes nothing about an image's policies writes nothing).
        """
        ...

    def delete(self, registry: str, repository: str, digest: str) -> None:
        """Remove the image's policy results (no error when there are none)."""
        ...

    def purge_registry(self, registry: str) -> None:
        """Remove the policy results of every image of ``registry``."""
        ...


class PolicyConfigs(Protocol):
    """Policy configurations per integration and per repository of an integration, and the high-profile list."""

    def get(self, integration_id: str, repository: str | None) -> PolicyConfig | None:
        """The configuration of the integration (``repository`` None) or of one of its repositories, or None."""
        ...

    def put(self, integration_id: str, repository: str | None, config: PolicyConfig, when: str) -> None:
        """Store (replace) a configuration."""
        ...

    def delete(self, integration_id: str, repository: str | None) -> None:
        """Remove a configuration (no error when there is none)."""
        ...

    def list(self, integration_id: str) -> dict[str | None, PolicyConfig]:
        """Every configuration of the integration: its own under None, each repository's under its name."""
        ...

    def high_profile(self) -> HighProfileList | None:
        """The imported high-profile list, or None before any import."""
        ...

    def set_high_profile(self, value: HighProfileList) -> None:
        """Replace the high-profile list."""
        ...

    def purge_integration(self, integration_id: str) -> int:
        """Remove every configuration of the integration (the high-profile list stays); how many."""
        ...


class VexStatements(Protocol):
    """Imported VEX documents (:class:`~shared.vex.model.ImportedVex`), by the registry of their scope."""

    def put(self, vex: ImportedVex) -> None:
        """Store (replace) ``vex``; raises :class:`~shared.errors.InvalidInput` when it is too large to store."""
        ...

    def get(self, registry: str, vex_id: str) -> ImportedVex | None:
        """The imported document ``vex_id`` of ``registry``, or None."""
        ...

    def list_documents(self, registry: str | None = None) -> list[ImportedVex]:
        """Every imported document (of ``registry``), in import order."""
        ...

    def for_repository(self, registry: str, repository: str) -> list[ImportedVex]:
        """The documents whose scope may cover images of ``repository``: those of the whole integration, of
        the repository and of its images, in import order."""
        ...

    def scoped_repositories(self, registry: str) -> set[str]:
        """The repositories of ``registry`` that documents are scoped to (an image's scope names its
        repository), with ``""`` when a document covers the whole integration: a cheap read of keys."""
        ...

    def delete(self, registry: str, vex_id: str) -> None:
        """Remove an imported document (no error when there is none)."""
        ...

    def purge_registry(self, registry: str) -> int:
        """Remove every document whose scope is in ``registry``; how many."""
        ...


class NotificationEndpoints(Protocol):
    """The outbound notification webhooks of each integration."""

    def get(self, integration_id: str, endpoint_id: str) -> Endpoint | None:
        """The endpoint, or None."""
        ...

    def list(self, integration_id: str) -> list[Endpoint]:
        """Every endpoint of the integration, oldest first."""
        ...

    def put(self, endpoint: Endpoint) -> None:
        """Store (replace) ``endpoint``."""
        ...

    def delete(self, integration_id: str, endpoint_id: str) -> None:
        """Remove the endpoint (no error when there is none)."""
        ...

    def purge_integration(self, integration_id: str) -> int:
        """Remove every endpoint of the integration, with its encrypted URL and secret; how many."""
        ...


class NotificationDeliveries(Protocol):
    """What became of each notification sent to an endpoint, and the latest one per endpoint."""

    def get(self, endpoint_id: str, delivery_id: str) -> Delivery | None:
        """The delivery, or None."""
        ...

    def latest(self, endpoint_id: str) -> Delivery | None:
        """The delivery recorded last for the endpoint, or None."""
        ...

    def put(self, delivery: Delivery) -> None:
        """Record (replace) ``delivery``; it becomes the endpoint's latest."""
        ...

    def delete_all(self, endpoint_id: str) -> None:
        """Remove every delivery of the endpoint."""
        ...

    def prune(self, updated_before: str) -> int:
        """Remove the deliveries last updated before ``updated_before`` but each endpoint's latest (and the
        delivery it copies); how many."""
        ...
