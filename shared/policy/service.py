"""Policies in the app: evaluate an image's policies when it is analyzed or re-matched, store and serve the results.

:meth:`Policies.evaluate_image` reads the settings that apply to the image (its integration's and its
repository's configuration over the defaults, :mod:`shared.policy.config`) and the imported
high-profile list, evaluates every enabled policy (:mod:`shared.policy.evaluate`), stores the result
(the previous one is kept while results differ, so that a pass turning to fail can be told), and
returns the record carrying the counts per outcome (``ImageRecord.policy``) for the caller to store.
The integration of an image is the one whose registry it is in.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from shared.analysis.model import PlatformAnalysis
from shared.api.image_lookup import find_record
from shared.clock import utc_now
from shared.errors import Conflict, InvalidInput, NotFound
from shared.images.model import ImageRecord, PlatformRef
from shared.notify.changes import announce_policy_failures
from shared.notify.messages import NotificationQueue
from shared.policy.config import PolicyConfig, PolicySetting, effective_settings
from shared.policy.evaluate import Evidence, evaluate
from shared.policy.highprofile import HighProfileList
from shared.policy.model import PolicyChange, PolicyEvaluation, StoredPolicies, policy_changes
from shared.records import ImageRecords, IntegrationRecords, PolicyConfigs, PolicyResults, ReportRecords, SbomRecords

log = logging.getLogger(__name__)


class Stored(enum.Enum):
    """Read from storage: the default of an argument whose None means "there is none"."""

    READ = "read"


@dataclass(frozen=True)
class Evaluated:
    """What evaluating an image's policies did: the ``record`` with its policy counts (not stored yet), the
    ``evaluation`` stored, and the ``changes`` of outcome since the evaluation stored before it (every
    policy, with ``before`` None, on the first evaluation)."""

    record: ImageRecord
    evaluation: PolicyEvaluation
    changes: tuple[PolicyChange, ...]


@dataclass(frozen=True)
class Policies:
    """Evaluating, storing and serving policy results, with the stores it is given."""

    results: PolicyResults
    configs: PolicyConfigs
    integrations: IntegrationRecords
    images: ImageRecords
    sboms: SbomRecords
    reports: ReportRecords
    notices: NotificationQueue | None = None
    """Where an image's policies that turned from pass to fail are announced (None: no notifications)."""

    def integration_of(self, registry: str) -> str | None:
        """The id of the integration of ``registry``, None when there is none."""
        return next((i.id for i in self.integrations.list() if i.registry == registry), None)

    def settings_for(self, registry: str, repository: str, integration_id: str | None = None) -> tuple[PolicySetting, ...]:
        """The settings that apply to the images of ``registry/repository`` (the integration's configuration, then
        the repository's, over the defaults)."""
        integration_id = integration_id or self.integration_of(registry)
        if integration_id is None:
            return effective_settings([])
        return effective_settings([self.configs.get(integration_id, None), self.configs.get(integration_id, repository)])

    def evaluation_of(self, record: ImageRecord, reports: Mapping[PlatformRef, Mapping[str, Any]] | None = None,
                      analyses: Iterable[PlatformAnalysis] = (), integration_id: str | None = None,
                      high_profile: HighProfileList | Stored | None = Stored.READ,
                      settings: tuple[PolicySetting, ...] | None = None) -> PolicyEvaluation:
        """The policies' results for ``record`` (nothing is stored): its reports from ``reports``, else stored; its
        SBOMs from ``analyses``, else read when a policy needs them; the ``settings`` and ``high_profile`` list
        given (None: no list is imported), else read."""
        known = {ref.digest: report for ref, report in (reports or {}).items()
                 if (ref.registry, ref.repository) == (record.registry, record.repository)}
        for platform in record.platforms:
            if platform.digest not in known:
                stored = self.reports.get(PlatformRef(record.registry, record.repository, platform.digest))
                if stored is not None:
                    known[platform.digest] = stored
        in_hand = {a.digest: a for a in analyses}
        if settings is None:
            settings = self.settings_for(record.registry, record.repository, integration_id)
        evidence = Evidence(record=record, reports=known, sbom=_sbom_reader(self.sboms, record, in_hand),
                            high_profile=self.configs.high_profile() if high_profile is Stored.READ else high_profile)
        return evaluate(evidence, settings, utc_now())

    def evaluate_image(self, record: ImageRecord, reports: Mapping[PlatformRef, Mapping[str, Any]] | None = None,
                       analyses: Iterable[PlatformAnalysis] = (), integration_id: str | None = None,
                       high_profile: HighProfileList | Stored | None = Stored.READ,
                       settings: tuple[PolicySetting, ...] | None = None,
                       current: PolicyEvaluation | Stored | None = Stored.READ) -> Evaluated:
        """Evaluate the policies of analyzed image ``record`` (see :meth:`evaluation_of`) and store the results;
        the caller stores the returned record (it carries the counts per outcome). ``current``: the image's
        stored evaluation when the caller has read it (None: it has none); when the results are the same,
        nothing is read or written (see :meth:`shared.records.PolicyResults.put`)."""
        evaluation = self.evaluation_of(record, reports, analyses, integration_id, high_profile, settings)
        if isinstance(current, PolicyEvaluation) and evaluation.same_results(current):
            before: PolicyEvaluation | None = current
        else:
            before = self.results.put(record.registry, record.repository, record.digest, evaluation)
        changes = policy_changes(before, evaluation)
        if any(c.now_failing for c in changes if c.before is not None):
            log.info("%s/%s@%s: policies now failing: %s", record.registry, record.repository, record.digest,
                     ", ".join(c.id for c in changes if c.now_failing))
        announce_policy_failures(self.notices, record, evaluation, changes)
        return Evaluated(replace(record, policy=evaluation.summary), evaluation, changes)

    def evaluate(self, record: ImageRecord, reports: Mapping[PlatformRef, Mapping[str, Any]] | None = None,
                 analyses: Iterable[PlatformAnalysis] = (), integration_id: str | None = None) -> ImageRecord:
        """:meth:`evaluate_image`'s record: ``record`` with its policy counts, the results stored."""
        return self.evaluate_image(record, reports, analyses, integration_id).record

    def run(self) -> PolicyRun:
        """An evaluation of many images at once (a re-match) that reads the integrations, each repository's
        settings and the high-profile list once."""
        return PolicyRun(self)

    def reevaluate(self, registry: str | None = None, repository: str | None = None,
                   progress: Callable[[ImageRecord], None] | None = None) -> int:
        """Evaluate every analyzed image (of ``registry``, of its ``repository``) again and store the results and
        the records: after a configuration change or a new high-profile list. Returns how many images."""
        count = 0
        high_profile = self.configs.high_profile()
        for record in self.images.iter_analyzed(registry):
            if repository is not None and record.repository != repository:
                continue
            evaluated = self.evaluate_image(record, high_profile=high_profile)
            current = self.images.get(record.registry, record.repository, record.digest)
            if current is not None and current.status == "analyzed" and current.policy != evaluated.record.policy:
                self.images.put(replace(current, policy=evaluated.record.policy))
            count += 1
            if progress is not None:
                progress(record)
        return count

    def image_policy(self, registry: object, repository: object, reference: object) -> dict[str, Any]:
        """The API document of an image's policies (see :func:`policy_json`). NotFound for an unknown image,
        Conflict while it is not analyzed. An image analyzed before policies existed is evaluated on the
        spot (``"stored": false``; nothing is written)."""
        record = find_record(self.images, registry, repository, reference)
        if record is None:
            raise NotFound("no such image has been recorded")
        if record.status != "analyzed":
            raise Conflict(f"the image is not analyzed (status {record.status}): {record.error or 'analysis pending'}")
        stored = self.results.get(record.registry, record.repository, record.digest)
        tags = self.images.tags_of(record.registry, record.repository, record.digest)
        if stored is None:
            return policy_json(record, tags, StoredPolicies(self.evaluation_of(record)), stored=False)
        return policy_json(record, tags, stored)

    def set_config(self, integration_id: str, repository: str | None, config: PolicyConfig) -> None:
        """Store the configuration of an integration (``repository`` None) or of one of its repositories."""
        integration = self.integrations.get(integration_id)
        if integration is None:
            raise NotFound(f"no integration {integration_id}")
        if repository is not None and not repository.strip():
            raise InvalidInput("the repository name is empty")
        self.configs.put(integration_id, repository, config, utc_now())

    def registry_of(self, integration_id: str) -> str:
        """The registry of integration ``integration_id``; NotFound when there is none."""
        integration = self.integrations.get(integration_id)
        if integration is None:
            raise NotFound(f"no integration {integration_id}")
        return integration.registry


def _sbom_reader(sboms: SbomRecords, record: ImageRecord, in_hand: Mapping[str, PlatformAnalysis]
                 ) -> Callable[[str], PlatformAnalysis | None]:
    def read(digest: str) -> PlatformAnalysis | None:
        return in_hand.get(digest) or sboms.get(record.registry, record.repository, digest)
    return read


def policy_json(record: ImageRecord, tags: Sequence[str], policies: StoredPolicies, *, stored: bool = True
                ) -> dict[str, Any]:
    """``{"registry", "repository", "digest", "tags", "evaluated", "summary", "failed", "results", "disabled",
    "previous", "changes", "stored"}``: ``results`` each ``{"id", "version", "title", "result", "reasons",
    "omitted"}`` (reasons ``{"text", "package"?, "advisory"?}``); ``previous`` the evaluation before the last
    change of results (null before any), ``changes`` the outcomes that changed then."""
    current, previous = policies.current, policies.previous
    return {
        "registry": record.registry,
        "repository": record.repository,
        "digest": record.digest,
        "tags": list(tags),
        **current.to_json(),
        "failed": current.failed,
        "previous": previous.to_json() if previous is not None else None,
        "changes": [c.to_json() for c in policy_changes(previous, current)] if previous is not None else [],
        "stored": stored,
    }


class PolicyRun:
    """:meth:`Policies.evaluate` for many images, the integrations, each repository's settings and the
    high-profile list read once, when first needed (changes made meanwhile apply from the next run).
    Safe to share between threads."""

    def __init__(self, policies: Policies) -> None:
        self._policies = policies
        self._lock = threading.Lock()
        self._integrations: dict[str, str] | None = None
        self._high_profile: tuple[HighProfileList | None] | None = None
        self._settings: dict[tuple[str, str], tuple[PolicySetting, ...]] = {}
        self._current: dict[tuple[str, str, str], PolicyEvaluation] = {}

    def read_current(self, records: Sequence[ImageRecord]) -> None:
        """Read the stored evaluations of ``records`` together (a few per request), for the next
        :meth:`evaluate` calls on them; replaces what an earlier call read (its memory stays bounded)."""
        current = self._policies.results.current_of([(r.registry, r.repository, r.digest) for r in records])
        with self._lock:
            self._current = current

    def evaluate(self, record: ImageRecord, reports: Mapping[PlatformRef, Mapping[str, Any]],
                 analyses: Iterable[PlatformAnalysis] = ()) -> ImageRecord:
        """``record`` with its policy counts, the results stored (see :meth:`Policies.evaluate_image`; SBOMs
        not in ``analyses`` are read when a policy needs them; the stored evaluation from :meth:`read_current`
        when it read this image's)."""
        key = (record.registry, record.repository, record.digest)
        with self._lock:
            current = self._current.get(key, Stored.READ)
        return self._policies.evaluate_image(record, reports, analyses, high_profile=self._high_profile_list(),
                                             settings=self._settings_for(record.registry, record.repository),
                                             current=current).record

    def _high_profile_list(self) -> HighProfileList | None:
        with self._lock:
            if self._high_profile is None:
                self._high_profile = (self._policies.configs.high_profile(),)
            return self._high_profile[0]

    def _settings_for(self, registry: str, repository: str) -> tuple[PolicySetting, ...]:
        with self._lock:
            if self._integrations is None:
                self._integrations = {i.registry: i.id for i in self._policies.integrations.list()}
            integration_id = self._integrations.get(registry)
            known = self._settings.get((registry, repository))
        if known is None:
            known = (self._policies.settings_for(registry, repository, integration_id) if integration_id
                     else effective_settings([]))
            with self._lock:
                self._settings[(registry, repository)] = known
        return known
