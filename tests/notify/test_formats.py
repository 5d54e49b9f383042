"""Payload formats: generic JSON, Teams, Slack; bounded findings, minimum severity, no secrets."""

from __future__ import annotations

import json
from dataclasses import replace

from shared.notify.formats import MAX_SHOWN, Context, dashboard_link, render
from shared.notify.model import FailedPolicy, Notice, NoticeFinding
from tests.notify.support import notice_with

CONTEXT = Context(integration_id="abc123", registry="r.example", endpoint="ops", format="generic",
                  min_severity="high", delivery_id="n1-e1", sent="2026-06-01T12:00:00.000000Z",
                  public_url="https://lookout.example.net", tags=("1.0", "latest"))


def test_generic_lists_at_most_twenty_findings_and_counts_the_rest() -> None:
    body = render(notice_with(45), CONTEXT)
    assert body["schema"] == "lookout.notification/v1" and body["event"] == "new-finding"
    assert len(body["findings"]) == MAX_SHOWN == 20 and body["more_findings"] == 25
    assert body["counts"] == {"critical": 45}
    assert body["integration"] == {"id": "abc123", "registry": "r.example"}
    assert body["image"] == {"registry": "r.example", "repository": "team/app", "digest": "sha256:" + "a" * 64,
                             "tags": ["1.0", "latest"], "link": dashboard_link(CONTEXT.public_url, notice_with(1))}
    assert body["image"]["link"].startswith("https://lookout.example.net/api/dashboard/#/image?registry=r.example&")
    assert body["findings"][0] == {"id": "CVE-2026-0000", "package": "pkg:pypi/p0@1.0", "name": "p0", "version": "1.0",
                                   "level": "critical", "fixed_versions": ["1.1"], "summary": "", "aliases": []}
    assert body["title"] == "45 new findings (worst: critical) in team/app"


def test_findings_below_the_minimum_severity_are_left_out() -> None:
    notice = notice_with(2)
    low = NoticeFinding(id="CVE-2026-9999", package="pkg:pypi/x@1", name="x", version="1", level="low")
    notice = replace(notice, findings=(*notice.findings, low), counts={"critical": 2, "low": 1})
    assert [f["id"] for f in render(notice, CONTEXT)["findings"]] == ["CVE-2026-0000", "CVE-2026-0001"]
    assert render(notice, CONTEXT)["counts"] == {"critical": 2}
    assert len(render(notice, replace(CONTEXT, min_severity="low"))["findings"]) == 3


def test_policy_failures_carry_the_policies_and_reasons() -> None:
    notice = Notice.policy_failed("r.example", "team/app", "sha256:" + "b" * 64, [
        FailedPolicy("no-root", 1, ("the image runs as root",), "Not running as root")])
    body = render(notice, CONTEXT)
    assert body["event"] == "policy-failed" and "findings" not in body
    assert body["policies"] == [{"policy": "no-root", "version": 1, "reasons": ["the image runs as root"],
                                 "title": "Not running as root", "more_reasons": 0}]
    assert body["title"] == "Policy failed for team/app: no-root"
    slack = render(notice, replace(CONTEXT, format="slack"))
    assert "Not running as root (v1): the image runs as root" in json.dumps(slack)


def test_teams_is_an_adaptive_card_message() -> None:
    body = render(notice_with(30), replace(CONTEXT, format="teams"))
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    texts = [block.get("text", "") for block in card["body"]]
    assert texts[0] == "30 new findings (worst: critical) in team/app"
    assert sum(t.startswith("CRITICAL CVE-2026-") for t in texts) == 20
    assert "and 10 more" in texts
    assert card["actions"][0]["url"].startswith("https://lookout.example.net/api/dashboard/#/image?")


def test_slack_has_a_fallback_text_and_blocks() -> None:
    body = render(notice_with(3), replace(CONTEXT, format="slack", test=True))
    assert body["text"] == "[test] 3 new findings (worst: critical) in team/app"
    kinds = [block["type"] for block in body["blocks"]]
    assert kinds == ["header", "section", "section", "actions"]
    assert "• CRITICAL CVE-2026-0000: p0 1.0, fixed in 1.1" in body["blocks"][2]["text"]["text"]
    assert body["blocks"][3]["elements"][0]["url"].startswith("https://lookout.example.net/")


def test_slack_escapes_markup() -> None:
    finding = NoticeFinding(id="CVE-1", package="pkg:npm/a@1", name="<script>&", version="1", level="high")
    notice = replace(notice_with(0), findings=(finding,), counts={"high": 1})
    text = json.dumps(render(notice, replace(CONTEXT, format="slack")))
    assert "&lt;script&gt;&amp;" in text and "<script>" not in text
