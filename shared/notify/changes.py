"""What counts as new for a notification, and the hooks the analysis and re-match paths call.

A finding is new to an image when its (advisory id, package URL) pair is in none of the image's platform
reports before and in one after. For a push, "before" is the image its tag pointed at until then (so a new
build announces only what it added); an untagged push, or the first push of a tag, makes every finding new.
For a re-match, the findings an advisory update added. The hooks never raise: a
notification that cannot be queued is logged and the analysis or re-match goes on.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from shared.errors import LookoutError
from shared.images.model import ImageRecord, PlatformRef
from shared.notify.messages import NotificationQueue, NotifyMessage
from shared.notify.model import (
    MAX_NOTICE_FINDINGS,
    SEVERITIES,
    FailedPolicy,
    Notice,
    NoticeFinding,
    change_id,
    severity_rank,
)
from shared.policy.model import PolicyChange, PolicyEvaluation
from shared.vulns.report import finding_from_json, level_of

log = logging.getLogger(__name__)

MAX_POLICY_REASONS = 20
"""A notice carries at most this many reasons per failed policy."""


def _keys(reports: Iterable[dict[str, Any] | None]) -> set[tuple[str, str]]:
    return {(str(f["id"]), str(f["package"])) for report in reports if report for f in report.get("findings", [])}


def new_findings(before: Iterable[dict[str, Any] | None], after: Iterable[dict[str, Any]]) -> list[NoticeFinding]:
    """The findings of the ``after`` reports whose (advisory id, package) is in no ``before`` report, each once,
    rated critical to low (``unknown`` is left out) and not suppressed by a VEX statement, worst first."""
    old = _keys(before)
    found: dict[tuple[str, str], NoticeFinding] = {}
    for report in after:
        for value in report.get("findings", []):
            if value.get("suppressed"):
                continue  # a VEX statement says it does not apply
            key = (str(value["id"]), str(value["package"]))
            if key in old or key in found:
                continue
            finding = finding_from_json(value)
            level = level_of(finding)
            if level not in SEVERITIES:
                continue
            found[key] = NoticeFinding(id=finding.id, package=finding.package, name=finding.name,
                                       version=finding.installed_version, level=level,
                                       fixed_versions=finding.fixed_versions, summary=finding.summary[:300],
                                       aliases=finding.aliases[:5])
    return sorted(found.values(), key=lambda f: (severity_rank(f.level), f.id, f.package))


def findings_notice(record: ImageRecord, before: Mapping[PlatformRef, dict[str, Any] | None],
                    after: Mapping[PlatformRef, dict[str, Any]], trigger: str) -> Notice | None:
    """The ``new-finding`` notice of ``record`` comparing its platforms' reports ``before`` and ``after`` (the
    platforms with a report in ``after``); None when nothing is new."""
    refs = [ref for ref in (PlatformRef(record.registry, record.repository, p.digest) for p in record.platforms)
            if ref in after]
    found = new_findings((before.get(ref) for ref in refs), (after[ref] for ref in refs))
    if not found:
        return None
    counts = Counter(f.level for f in found)
    return Notice(event="new-finding", registry=record.registry, repository=record.repository, digest=record.digest,
                  trigger=trigger, findings=tuple(found[:MAX_NOTICE_FINDINGS]),
                  counts={level: counts.get(level, 0) for level in SEVERITIES},
                  id=change_id("new-finding", record.registry, record.repository, record.digest,
                               [f"{f.id} {f.package}" for f in found]))


def announce(queue: NotificationQueue | None, notice: Notice | None) -> bool:
    """Put ``notice`` on the notifications queue; whether it was queued. Never raises a :class:`LookoutError`."""
    if queue is None or notice is None:
        return False
    try:
        queue.put(NotifyMessage(kind="notice", notice=notice))
    except LookoutError as exc:
        log.warning("the %s notice of %s could not be queued: %s", notice.event, notice.image, exc.code)
        return False
    log.info("queued a %s notice for %s", notice.event, notice.image)
    return True


def announce_new_findings(queue: NotificationQueue | None, record: ImageRecord,
                          before: Mapping[PlatformRef, dict[str, Any] | None],
                          after: Mapping[PlatformRef, dict[str, Any]], trigger: str) -> bool:
    """The hook of the analysis (``before`` empty) and re-match paths: queue the image's new findings, if any."""
    if queue is None:
        return False
    try:
        notice = findings_notice(record, before, after, trigger)
    except LookoutError as exc:  # a stored report of another shape: nothing to announce
        log.warning("new findings of %s/%s@%s not computed: %s", record.registry, record.repository, record.digest,
                    exc.code)
        return False
    return announce(queue, notice)


def policy_failures(changes: Iterable[PolicyChange], evaluation: PolicyEvaluation) -> tuple[FailedPolicy, ...]:
    """The policies of ``changes`` that turned from pass to fail, with their version and reasons from ``evaluation``."""
    failed = []
    for change in changes:
        if change.before != "pass" or change.after != "fail":
            continue
        result = evaluation.result(change.id)
        reasons = tuple(r.text for r in result.reasons[:MAX_POLICY_REASONS]) if result else ()
        failed.append(FailedPolicy(policy=change.id, version=result.version if result else 1, reasons=reasons,
                                   title=change.title))
    return tuple(failed)


def announce_policy_failures(queue: NotificationQueue | None, record: ImageRecord, evaluation: PolicyEvaluation,
                             changes: Iterable[PolicyChange]) -> bool:
    """The hook of policy evaluation: queue the policies of ``record`` that turned from pass to fail, if any."""
    failed = policy_failures(changes, evaluation)
    if not failed:
        return False
    return announce(queue, Notice.policy_failed(record.registry, record.repository, record.digest, failed))
