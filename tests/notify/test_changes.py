"""What is new for a notification: findings by (advisory id, package), policies from pass to fail; messages."""

from __future__ import annotations

import pytest

from shared.images.model import ImageRecord, PlatformRecord, PlatformRef
from shared.notify.changes import announce, findings_notice, new_findings, policy_failures
from shared.notify.messages import InvalidMessage, NotifyMessage, decode_message, encode_message
from shared.notify.model import MAX_NOTICE_FINDINGS, FailedPolicy, Notice
from shared.policy.model import PolicyChange, PolicyEvaluation, PolicyResult, Reason
from tests.notify.support import finding, notice_with, report

A, B = "sha256:" + "1" * 64, "sha256:" + "2" * 64


def test_new_findings_by_advisory_and_package_worst_first() -> None:
    before = [report(A, finding("CVE-1", "requests", "2.0", "high"))]
    after = [report(A, finding("CVE-1", "requests", "2.0", "critical"),  # the same pair, now rated critical: not new
                    finding("CVE-2", "urllib3", "1.0", "medium"), finding("CVE-3", "flask", "1.0", "critical"),
                    finding("CVE-4", "x", "1.0", "unknown"), finding("CVE-5", "y", "1.0", "high", suppressed=True)),
             report(B, finding("CVE-3", "flask", "1.0", "critical"))]
    found = new_findings(before, after)
    assert [(f.id, f.name, f.level) for f in found] == [("CVE-3", "flask", "critical"), ("CVE-2", "urllib3", "medium")]
    assert new_findings([None], [report(A, finding("CVE-1", "a", "1", "low"))])[0].level == "low"
    assert new_findings(after, after) == []


def record() -> ImageRecord:
    platforms = tuple(PlatformRecord(digest=d, os="linux", architecture=arch) for d, arch in ((A, "amd64"), (B, "arm64")))
    return ImageRecord(registry="r.example", repository="team/app", digest="sha256:" + "9" * 64, status="analyzed",
                       platforms=platforms)


def test_findings_notice_of_an_image_is_bounded() -> None:
    many = report(A, *(finding(f"CVE-{n}", f"p{n}", "1", "high") for n in range(MAX_NOTICE_FINDINGS + 30)),
                  finding("CVE-X", "z", "1", "critical"))
    ref = PlatformRef("r.example", "team/app", A)
    notice = findings_notice(record(), {}, {ref: many}, "analysis")
    assert notice is not None and notice.event == "new-finding" and notice.trigger == "analysis"
    assert len(notice.findings) == MAX_NOTICE_FINDINGS and notice.findings[0].id == "CVE-X"
    assert notice.counts == {"critical": 1, "high": MAX_NOTICE_FINDINGS + 30, "medium": 0, "low": 0}
    assert findings_notice(record(), {ref: many}, {ref: many}, "rematch") is None
    assert findings_notice(record(), {}, {PlatformRef("r.example", "other", A): many}, "rematch") is None


def test_only_pass_to_fail_is_a_policy_failure() -> None:
    evaluation = PolicyEvaluation(results=(
        PolicyResult.of("no-root", 1, "Not running as root", "fail", [Reason("runs as root")]),
        PolicyResult.of("no-copyleft", 2, "No copyleft", "fail", [Reason("AGPL-3.0 in pkg:npm/x@1")]),
        PolicyResult.of("base-up-to-date", 1, "Base up to date", "fail", []),
    ), evaluated="2026-06-01T12:00:00.000000Z")
    changes = (PolicyChange("no-root", "Not running as root", "pass", "fail"),
               PolicyChange("no-copyleft", "No copyleft", None, "fail"),  # first evaluation: not a turn
               PolicyChange("base-up-to-date", "Base up to date", "unknown", "fail"))
    (failed,) = policy_failures(changes, evaluation)
    assert (failed.policy, failed.version, failed.reasons, failed.title) == ("no-root", 1, ("runs as root",),
                                                                            "Not running as root")


class ListQueue:
    """A queue keeping what it is given, in order (the real one is tested against Azurite)."""

    def __init__(self) -> None:
        self.messages: list[NotifyMessage] = []

    def put(self, message: NotifyMessage) -> None:
        self.messages.append(message)


def test_messages_round_trip_and_bad_ones_are_refused() -> None:
    notice = notice_with(3)
    message = NotifyMessage(kind="delivery", notice=notice, integration_id="i1", endpoint_id="e1", test=True)
    assert decode_message(encode_message(message)) == message
    assert decode_message(encode_message(NotifyMessage(kind="notice", notice=notice))).notice == notice
    policy = Notice.policy_failed("r.example", "a", A, ())
    assert decode_message(encode_message(NotifyMessage(kind="notice", notice=policy))).notice == policy
    for text in ("not json", "[]", '{"v": 2}', '{"v": 1, "kind": "other", "notice": {}}',
                 '{"v": 1, "kind": "notice", "notice": {"event": "x"}}', "x" * 50_000):
        with pytest.raises(InvalidMessage):
            decode_message(text)
    queue = ListQueue()
    assert announce(queue, notice) and queue.messages[0].kind == "notice"
    assert not announce(queue, None) and not announce(None, notice)


def test_the_same_change_announced_twice_is_one_notice_and_another_change_is_another() -> None:
    record = ImageRecord(registry="registry.test", repository="team/app", digest="sha256:" + "a" * 64,
                         status="analyzed", platforms=(PlatformRecord(digest="sha256:" + "b" * 64, os="linux",
                                                                      architecture="amd64"),))
    ref = PlatformRef("registry.test", "team/app", "sha256:" + "b" * 64)
    critical, high = finding("GHSA-x", "a", "1", "critical"), finding("GHSA-y", "a", "1", "high")
    first = findings_notice(record, {}, {ref: report(ref.digest, critical)}, "rematch")
    again = findings_notice(record, {}, {ref: report(ref.digest, critical)}, "rematch")
    other = findings_notice(record, {}, {ref: report(ref.digest, critical, high)}, "rematch")
    assert first is not None and again is not None and other is not None
    assert first.id == again.id and other.id != first.id
    failed = FailedPolicy("no-root-user", 1, ("runs as root",))
    assert (Notice.policy_failed("r", "p", "d", [failed]).id == Notice.policy_failed("r", "p", "d", [failed]).id
            != Notice.policy_failed("r", "p", "d2", [failed]).id)
