"""The bodies notifications are sent with: Lookout's generic JSON, a Microsoft Teams message, Slack blocks.

Every format shows the event, the image, a link to the image in the dashboard and at most
:data:`MAX_SHOWN` findings (the worst first, those at or above the endpoint's minimum severity) with how
many more there are; or, for a failed policy, the policies and their reasons. Nothing in a body comes
from a secret: the endpoint's URL and signing secret, and the integration's credentials, are never part
of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from shared.notify.model import Notice, NoticeFinding, severity_rank

MAX_SHOWN = 20
"""A notification lists at most this many findings; the rest are counted."""

MAX_REASONS = 10
"""At most this many reasons per failed policy."""

SCHEMA = "lookout.notification/v1"


@dataclass(frozen=True)
class Context:
    """Who a notification goes to and how it is introduced: the integration (id and registry), the endpoint's
    name, format and minimum severity, the delivery id, when it is sent, the app's public URL, whether it
    is a test, and the image's tags."""

    integration_id: str
    registry: str
    endpoint: str
    format: str
    min_severity: str
    delivery_id: str
    sent: str
    public_url: str
    test: bool = False
    tags: tuple[str, ...] = ()


def dashboard_link(public_url: str, notice: Notice) -> str:
    """The dashboard page of the notice's image."""
    query = urlencode({"registry": notice.registry, "repository": notice.repository, "reference": notice.digest})
    return f"{public_url.rstrip('/')}/api/dashboard/#/image?{query}"


def shown_findings(notice: Notice, min_severity: str) -> tuple[list[NoticeFinding], int]:
    """The findings to show (at most :data:`MAX_SHOWN`, at or above ``min_severity``) and how many more there are."""
    limit = severity_rank(min_severity)
    kept = [f for f in notice.findings if severity_rank(f.level) <= limit]
    total = sum(count for level, count in notice.counts.items() if severity_rank(level) <= limit)
    shown = kept[:MAX_SHOWN]
    return shown, max(total - len(shown), 0)


def _title(notice: Notice, context: Context) -> str:
    prefix = "[test] " if context.test else ""
    if notice.event == "policy-failed":
        names = ", ".join(p.policy for p in notice.policies)
        return f"{prefix}Policy failed for {notice.repository}: {names}"
    shown, more = shown_findings(notice, context.min_severity)
    total = len(shown) + more
    worst = shown[0].level if shown else context.min_severity
    noun = "finding" if total == 1 else "findings"
    return f"{prefix}{total} new {noun} (worst: {worst}) in {notice.repository}"


def _image_name(notice: Notice, context: Context) -> str:
    tags = ", ".join(context.tags[:5])
    return f"{notice.registry}/{notice.repository}@{notice.digest}" + (f" ({tags})" if tags else "")


def _finding_line(finding: NoticeFinding) -> str:
    fixed = f", fixed in {', '.join(finding.fixed_versions[:3])}" if finding.fixed_versions else ", no fix yet"
    return f"{finding.level.upper()} {finding.id}: {finding.name} {finding.version}{fixed}"


def generic(notice: Notice, context: Context) -> dict[str, Any]:
    """Lookout's own JSON document (see the README, *Notifications*)."""
    shown, more = shown_findings(notice, context.min_severity)
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "event": notice.event,
        "test": context.test,
        "delivery": context.delivery_id,
        "notice": notice.id,
        "sent": context.sent,
        "trigger": notice.trigger,
        "title": _title(notice, context),
        "integration": {"id": context.integration_id, "registry": context.registry},
        "endpoint": context.endpoint,
        "image": {"registry": notice.registry, "repository": notice.repository, "digest": notice.digest,
                  "tags": list(context.tags), "link": dashboard_link(context.public_url, notice)},
    }
    if notice.event == "new-finding":
        document["min_severity"] = context.min_severity
        document["counts"] = {level: count for level, count in notice.counts.items()
                              if severity_rank(level) <= severity_rank(context.min_severity)}
        document["findings"] = [f.to_json() for f in shown]
        document["more_findings"] = more
    else:
        document["policies"] = [{**p.to_json(), "reasons": list(p.reasons[:MAX_REASONS]),
                                 "more_reasons": max(len(p.reasons) - MAX_REASONS, 0)} for p in notice.policies]
    return document


def _lines(notice: Notice, context: Context) -> tuple[list[str], int]:
    if notice.event == "policy-failed":
        lines = []
        for policy in notice.policies:
            reasons = "; ".join(policy.reasons[:MAX_REASONS]) or "failed"
            lines.append(f"{policy.title or policy.policy} (v{policy.version}): {reasons}")
        return lines, 0
    shown, more = shown_findings(notice, context.min_severity)
    return [_finding_line(f) for f in shown], more


def teams(notice: Notice, context: Context) -> dict[str, Any]:
    """A Teams message with an Adaptive Card (1.4), as a Teams incoming webhook or workflow accepts it."""
    lines, more = _lines(notice, context)
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": _title(notice, context), "weight": "Bolder", "size": "Medium", "wrap": True},
        {"type": "FactSet", "facts": [
            {"title": "Image", "value": _image_name(notice, context)},
            {"title": "Event", "value": f"{notice.event} ({notice.trigger})"},
            {"title": "Registry", "value": context.registry},
        ]},
    ]
    body.extend({"type": "TextBlock", "text": line, "wrap": True, "spacing": "Small"} for line in lines)
    if more:
        body.append({"type": "TextBlock", "text": f"and {more} more", "isSubtle": True, "wrap": True})
    card = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4",
            "body": body, "actions": [{"type": "Action.OpenUrl", "title": "Open in Lookout",
                                       "url": dashboard_link(context.public_url, notice)}]}
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}]}


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack(notice: Notice, context: Context) -> dict[str, Any]:
    """A Slack incoming-webhook message: ``text`` (the fallback) and blocks."""
    title = _title(notice, context)
    lines, more = _lines(notice, context)
    link = dashboard_link(context.public_url, notice)
    listing = "\n".join(f"• {_slack_escape(line)}" for line in lines)
    if more:
        listing += f"\n…and {more} more"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*Image* `{_slack_escape(_image_name(notice, context))}`"
                                                                  f"\n*Event* {notice.event} ({notice.trigger})"}},
    ]
    if listing:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": listing[:2900]}})
    blocks.append({"type": "actions", "elements": [
        {"type": "button", "text": {"type": "plain_text", "text": "Open in Lookout"}, "url": link}]})
    return {"text": title, "blocks": blocks}


FORMATTERS = {"generic": generic, "teams": teams, "slack": slack}


def render(notice: Notice, context: Context) -> dict[str, Any]:
    """The body of ``notice`` in ``context.format``."""
    return FORMATTERS[context.format](notice, context)
