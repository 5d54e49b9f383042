"""What notifications are made of: endpoints, notices, delivery records.

An :class:`Endpoint` is one outbound webhook of an integration. Its URL (which may itself carry a
credential, as Slack and Teams webhook URLs do) and its signing secret are kept encrypted
(``*_encrypted``); ``url_display`` is the scheme and host only, for listings.

A :class:`Notice` says what happened to one image: ``new-finding`` (an analysis or a re-match found
findings the image did not have before, by advisory id and package) or ``policy-failed`` (a policy
turned from pass to fail). It carries at most :data:`MAX_NOTICE_FINDINGS` findings, worst first, with
the counts of every new finding by level, and never a secret.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from shared.clock import utc_now
from shared.errors import InvalidInput

EventName = Literal["new-finding", "policy-failed"]
EVENTS: tuple[EventName, ...] = ("new-finding", "policy-failed")
"""The events an endpoint may subscribe to."""

FORMATS = ("generic", "teams", "slack")
"""Payload formats: Lookout's own JSON, a Microsoft Teams message with an Adaptive Card, Slack blocks."""

SEVERITIES = ("critical", "high", "medium", "low")
"""The minimum severities an endpoint may ask for, most severe first."""

DEFAULT_MIN_SEVERITY = "high"

MAX_NOTICE_FINDINGS = 100
"""A notice carries at most this many findings (worst first); ``counts`` still counts them all."""

MAX_NAME = 64
MAX_ENDPOINTS = 20
"""An integration has at most this many endpoints."""

DeliveryStatus = Literal["queued", "retrying", "delivered", "failed"]


class InvalidEndpoint(InvalidInput):
    """An endpoint configuration that is refused; ``field`` names the field at fault."""

    code = "invalid-endpoint"

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"'{field_name}': {message}")
        self.field = field_name


def severity_rank(level: str) -> int:
    """0 for critical, 1 for high, ... ; ``unknown`` and anything else rank after low."""
    return SEVERITIES.index(level) if level in SEVERITIES else len(SEVERITIES)


@dataclass(frozen=True)
class Endpoint:
    """One outbound webhook of an integration."""

    integration_id: str
    id: str
    name: str
    url_display: str
    url_encrypted: str = field(repr=False)
    secret_encrypted: str = field(repr=False)
    format: str = "generic"
    min_severity: str = DEFAULT_MIN_SEVERITY
    events: tuple[str, ...] = EVENTS
    created: str = ""

    def wants(self, notice: Notice) -> bool:
        """Whether this endpoint is sent ``notice``: it subscribes to its event and, for new findings, at least
        one of them is at or above its minimum severity."""
        if notice.event not in self.events:
            return False
        if notice.event == "new-finding":
            return any(severity_rank(level) <= severity_rank(self.min_severity)
                       for level, count in notice.counts.items() if count)
        return True

    def to_json(self) -> dict[str, Any]:
        """The endpoint as listings show it: no URL path, no secret."""
        return {"id": self.id, "integration_id": self.integration_id, "name": self.name, "url": self.url_display,
                "format": self.format, "min_severity": self.min_severity, "events": list(self.events),
                "created": self.created}


@dataclass(frozen=True)
class NoticeFinding:
    """One new finding as a notification shows it."""

    id: str
    package: str
    name: str
    version: str
    level: str
    fixed_versions: tuple[str, ...] = ()
    summary: str = ""
    aliases: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "package": self.package, "name": self.name, "version": self.version,
                "level": self.level, "fixed_versions": list(self.fixed_versions), "summary": self.summary,
                "aliases": list(self.aliases)}

    @staticmethod
    def from_json(value: dict[str, Any]) -> NoticeFinding:
        return NoticeFinding(id=str(value["id"]), package=str(value["package"]), name=str(value["name"]),
                             version=str(value["version"]), level=str(value["level"]),
                             fixed_versions=tuple(str(v) for v in value.get("fixed_versions", ())),
                             summary=str(value.get("summary", "")),
                             aliases=tuple(str(a) for a in value.get("aliases", ())))


@dataclass(frozen=True)
class FailedPolicy:
    """A policy of an image that turned from pass to fail: its id, version and the reasons it fails."""

    policy: str
    version: int | str = 1
    reasons: tuple[str, ...] = ()
    title: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"policy": self.policy, "version": self.version, "reasons": list(self.reasons), "title": self.title}

    @staticmethod
    def from_json(value: dict[str, Any]) -> FailedPolicy:
        version = value.get("version", 1)
        return FailedPolicy(policy=str(value["policy"]), version=version if isinstance(version, int) else str(version),
                            reasons=tuple(str(r) for r in value.get("reasons", ())), title=str(value.get("title", "")))


@dataclass(frozen=True)
class Notice:
    """What happened to one image, for every endpoint of the integrations of its registry.

    ``trigger`` is ``analysis``, ``rematch``, ``policy`` or ``test``; ``counts`` counts every new finding by
    level (``findings`` holds at most :data:`MAX_NOTICE_FINDINGS` of them, worst first); ``policies`` the
    policy changes of a ``policy-failed`` notice. ``id`` identifies the notice (deliveries derive theirs
    from it).
    """

    event: EventName
    registry: str
    repository: str
    digest: str
    trigger: str
    tags: tuple[str, ...] = ()
    findings: tuple[NoticeFinding, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)
    policies: tuple[FailedPolicy, ...] = ()
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created: str = field(default_factory=utc_now)

    @property
    def image(self) -> str:
        """``registry/repository@digest``."""
        return f"{self.registry}/{self.repository}@{self.digest}"

    @staticmethod
    def policy_failed(registry: str, repository: str, digest: str, changes: tuple[FailedPolicy, ...] | list[FailedPolicy],
                      tags: tuple[str, ...] = ()) -> Notice:
        """The notice that ``changes`` (policies that passed before and fail now) happened to an image."""
        return Notice(event="policy-failed", registry=registry, repository=repository, digest=digest,
                      trigger="policy", tags=tuple(tags), policies=tuple(changes),
                      id=change_id("policy-failed", registry, repository, digest,
                                   [f"{c.policy}@{c.version}" for c in changes]))

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "event": self.event, "registry": self.registry, "repository": self.repository,
                "digest": self.digest, "trigger": self.trigger, "tags": list(self.tags), "created": self.created,
                "findings": [f.to_json() for f in self.findings], "counts": dict(self.counts),
                "policies": [p.to_json() for p in self.policies]}

    @staticmethod
    def from_json(value: dict[str, Any]) -> Notice:
        """The inverse of :meth:`to_json`; :class:`InvalidInput` for another shape."""
        try:
            event = value["event"]
            if event not in EVENTS:
                raise ValueError(f"unknown event {event!r}")
            return Notice(
                event=event, registry=str(value["registry"]), repository=str(value["repository"]),
                digest=str(value["digest"]), trigger=str(value["trigger"]),
                tags=tuple(str(t) for t in value.get("tags", ())),
                findings=tuple(NoticeFinding.from_json(f) for f in value.get("findings", ())),
                counts={str(k): int(v) for k, v in dict(value.get("counts", {})).items()},
                policies=tuple(FailedPolicy.from_json(p) for p in value.get("policies", ())),
                id=str(value["id"]), created=str(value["created"]))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidInput(f"not a notice: {type(exc).__name__} {exc}") from None


def change_id(event: str, registry: str, repository: str, digest: str, keys: Iterable[str]) -> str:
    """The id of the notice of one change to one image: the same ``event`` with the same ``keys`` (the new
    findings' advisory and package, or the failed policies) for the same image always gets the same id, so
    a change announced twice — a re-match run again after failing partway, two processes re-matching at
    once — is delivered once (the fan-out skips deliveries already recorded)."""
    text = "\n".join([event, registry, repository, digest, *sorted(set(keys))])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Delivery:
    """The record of one notice sent (or being sent) to one endpoint.

    ``id`` is ``<notice id>-<endpoint id>``; ``status`` is ``queued``, ``retrying`` (an attempt failed and
    the queue tries again), ``delivered`` or ``failed`` (given up: the endpoint refused it, the URL is not
    allowed, or every attempt failed); ``http_status`` and ``answer`` (the start of the response body, or
    what went wrong) are those of the latest attempt.
    """

    endpoint_id: str
    id: str
    event: str
    image: str
    status: DeliveryStatus
    created: str
    updated: str
    attempts: int = 0
    http_status: int | None = None
    answer: str = ""
    test: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"endpoint_id": self.endpoint_id, "id": self.id, "event": self.event, "image": self.image,
                "status": self.status, "created": self.created, "updated": self.updated, "attempts": self.attempts,
                "http_status": self.http_status, "answer": self.answer, "test": self.test}
