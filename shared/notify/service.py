"""The notifications service: endpoints configured per integration, and the queue messages turned into deliveries.

Configuration (:meth:`Notifications.add`, ``list``, ``remove``) validates every field and refuses with
the field at fault (:class:`~shared.notify.model.InvalidEndpoint`); the URL and a generated signing
secret are stored encrypted. :meth:`Notifications.process` is the notify function's whole job:

- a ``notice`` message is fanned out into one ``delivery`` message per endpoint that wants it (the
  endpoints of every integration of the notice's registry); a delivery already recorded is not queued
  again, so a retried fan-out sends nothing twice;
- a ``delivery`` message is sent once per attempt: the URL is checked again and its host resolved, the
  body signed, and the answer recorded. A temporary failure (no answer, 408, 429, 5xx, a name that does
  not resolve) raises :class:`DeliveryFailed` so that the host retries the message, until the
  :data:`MAX_ATTEMPTS`-th attempt, which records the delivery ``failed`` and still raises (the message
  goes to ``lookout-notifications-poison``); a permanent one (another answer, a URL no longer allowed)
  records it ``failed`` at once.

Secrets never leave this module but in the signature: logs and records name endpoints by id and by
scheme and host.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from shared.clock import utc_now
from shared.errors import LookoutError, NotFound
from shared.notify.changes import announce
from shared.notify.formats import Context, render
from shared.notify.messages import InvalidMessage, NotificationQueue, NotifyMessage, decode_message
from shared.notify.model import (
    DEFAULT_MIN_SEVERITY,
    EVENTS,
    FORMATS,
    MAX_ENDPOINTS,
    MAX_NAME,
    SEVERITIES,
    Delivery,
    Endpoint,
    InvalidEndpoint,
    Notice,
    NoticeFinding,
)
from shared.notify.sender import Answer, Sender
from shared.notify.signing import signed_headers
from shared.notify.urls import Address, Resolver, Target, Unresolvable, UrlPolicy, check_url, resolve_allowed, system_resolver
from shared.records import (
    ImageRecords,
    IntegrationRecords,
    NotificationDeliveries,
    NotificationEndpoints,
    QueueMessage,
)
from shared.secrets import SecretBox, new_webhook_secret

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
"""Attempts per delivery: host.json's ``extensions.queues.maxDequeueCount``."""

Outcome = Literal["rejected", "fanned-out", "delivered", "retrying", "failed", "moot", "duplicate"]


class DeliveryFailed(LookoutError):
    """A delivery attempt failed in a way another attempt may fix: the queue retries the message."""

    code = "notification-failed"
    temporary = True


@dataclass(frozen=True)
class Listed:
    """An endpoint and its latest delivery (None before the first)."""

    endpoint: Endpoint
    latest: Delivery | None


def sample_notice(registry: str) -> Notice:
    """The notice ``lookout notifications test`` sends: one made-up critical finding in a made-up image."""
    finding = NoticeFinding(id="LOOKOUT-TEST-0001", package="pkg:generic/lookout-test@1.0.0", name="lookout-test",
                            version="1.0.0", level="critical", fixed_versions=("1.0.1",),
                            summary="A sample finding sent by `lookout notifications test`.")
    return Notice(event="new-finding", registry=registry, repository="lookout/notification-test",
                  digest="sha256:" + "0" * 64, trigger="test", findings=(finding,), counts={"critical": 1})


@dataclass(frozen=True)
class Notifications:
    """Notification endpoints and their deliveries, with the stores and clients it is given.

    ``policy`` says where the app runs (for the URL rules); ``public_url`` is the base of dashboard links.
    """

    endpoints: NotificationEndpoints
    deliveries: NotificationDeliveries
    queue: NotificationQueue
    integrations: IntegrationRecords
    images: ImageRecords
    box: SecretBox
    policy: UrlPolicy
    public_url: str
    sender: Sender
    resolver: Resolver = system_resolver
    max_attempts: int = MAX_ATTEMPTS

    # -- configuration ------------------------------------------------------------------------------

    def add(self, integration_id: str, *, name: object, url: object, format: object = "generic",
            min_severity: object = DEFAULT_MIN_SEVERITY, events: object = EVENTS) -> tuple[Endpoint, str]:
        """Configure a new endpoint; the endpoint and its signing secret (the only time it is given out)."""
        integration = self.integrations.get(integration_id)
        if integration is None:
            raise NotFound(f"no integration {integration_id!r}")
        existing = self.endpoints.list(integration_id)
        checked_name = _name(name)
        if any(e.name == checked_name for e in existing):
            raise InvalidEndpoint("name", f"the integration has an endpoint named {checked_name!r} already")
        if len(existing) >= MAX_ENDPOINTS:
            raise InvalidEndpoint("name", f"an integration has at most {MAX_ENDPOINTS} endpoints")
        target = check_url(url, self.policy)
        resolve_allowed(target, self.policy, self.resolver)
        if format not in FORMATS:
            raise InvalidEndpoint("format", f"must be one of {', '.join(FORMATS)}, not {format!r}")
        if min_severity not in SEVERITIES:
            raise InvalidEndpoint("min_severity", f"must be one of {', '.join(SEVERITIES)}, not {min_severity!r}")
        chosen = _events(events)
        secret = new_webhook_secret()
        assert isinstance(url, str)
        endpoint = Endpoint(integration_id=integration_id, id=uuid.uuid4().hex, name=checked_name,
                            url_display=target.display, url_encrypted=self.box.encrypt(url.strip()),
                            secret_encrypted=self.box.encrypt(secret), format=str(format),
                            min_severity=str(min_severity), events=chosen, created=utc_now())
        self.endpoints.put(endpoint)
        log.info("notification endpoint %s (%s) added to integration %s", endpoint.id, target.display, integration_id)
        return endpoint, secret

    def list(self, integration_id: str | None = None) -> list[Listed]:
        """The endpoints of the integration (of every integration when None), each with its latest delivery."""
        ids = [integration_id] if integration_id else [i.id for i in self.integrations.list()]
        if integration_id and self.integrations.get(integration_id) is None:
            raise NotFound(f"no integration {integration_id!r}")
        return [Listed(e, self.deliveries.latest(e.id)) for i in ids for e in self.endpoints.list(i)]

    def get(self, integration_id: str, endpoint_id: str) -> Endpoint:
        """The endpoint; :class:`NotFound` when the integration has none with that id."""
        endpoint = self.endpoints.get(integration_id, endpoint_id)
        if endpoint is None:
            raise NotFound(f"integration {integration_id!r} has no notification endpoint {endpoint_id!r}")
        return endpoint

    def remove(self, integration_id: str, endpoint_id: str) -> None:
        """Remove the endpoint and its delivery records; queued deliveries to it become moot.

        The deliveries go first, so a removal that fails partway can be retried: the endpoint is still there to
        name them.
        """
        self.get(integration_id, endpoint_id)
        self.deliveries.delete_all(endpoint_id)
        self.endpoints.delete(integration_id, endpoint_id)

    def test(self, integration_id: str, endpoint_id: str) -> Delivery:
        """Queue a sample notice for the endpoint through the same path as real ones; its delivery record (queued).

        Follow it with :meth:`delivery` until its status is ``delivered`` or ``failed``.
        """
        endpoint = self.get(integration_id, endpoint_id)
        integration = self.integrations.get(integration_id)
        notice = sample_notice(integration.registry if integration else "")
        message = NotifyMessage(kind="delivery", notice=notice, integration_id=integration_id,
                                endpoint_id=endpoint.id, test=True)
        queued = self._record(message, "queued", 0, None, "")
        self.queue.put(message)
        return queued

    def delivery(self, endpoint_id: str, delivery_id: str) -> Delivery | None:
        """A delivery record, or None."""
        return self.deliveries.get(endpoint_id, delivery_id)

    def announce(self, notice: Notice) -> bool:
        """Queue ``notice`` (the policies hook may call this); whether it was queued. Never raises a LookoutError."""
        return announce(self.queue, notice)

    # -- the queue --------------------------------------------------------------------------------

    def process(self, message: QueueMessage) -> Outcome:
        """Handle one message of the notifications queue (see the module notes)."""
        try:
            parsed = decode_message(message.text)
        except InvalidMessage as exc:
            log.error("rejected notification message %s: %s", message.id, exc.message)
            return "rejected"
        if parsed.kind == "notice":
            return self._fan_out(parsed.notice)
        return self._deliver(parsed, message.dequeue_count)

    def _fan_out(self, notice: Notice) -> Outcome:
        queued = 0
        for integration in self.integrations.list():
            if integration.registry != notice.registry:
                continue
            for endpoint in self.endpoints.list(integration.id):
                if not endpoint.wants(notice):
                    continue
                message = NotifyMessage(kind="delivery", notice=notice, integration_id=integration.id,
                                        endpoint_id=endpoint.id)
                if self.deliveries.get(endpoint.id, message.delivery_id) is not None:
                    continue  # queued by an earlier attempt of this fan-out
                self.queue.put(message)
                self._record(message, "queued", 0, None, "")
                queued += 1
        log.info("%s notice for %s: %d deliveries queued", notice.event, notice.image, queued)
        return "fanned-out"

    def _deliver(self, message: NotifyMessage, attempt: int) -> Outcome:
        endpoint = self.endpoints.get(message.integration_id, message.endpoint_id)
        if endpoint is None:
            log.info("delivery %s is moot: endpoint %s was removed", message.delivery_id, message.endpoint_id)
            return "moot"
        recorded = self.deliveries.get(endpoint.id, message.delivery_id)
        if recorded is not None and recorded.status in ("delivered", "failed"):
            return "duplicate"
        integration = self.integrations.get(message.integration_id)
        if integration is None:
            return "moot"
        try:
            target = check_url(self.box.decrypt(endpoint.url_encrypted), self.policy)
            addresses = resolve_allowed(target, self.policy, self.resolver)
        except Unresolvable as exc:
            return self._failed_attempt(message, endpoint, attempt, Answer(None, exc.message, True))
        except InvalidEndpoint as exc:
            return self._failed_attempt(message, endpoint, attempt, Answer(None, f"not sent: {exc.message}", False))
        tags = () if message.test else tuple(self.images.tags_of(message.notice.registry, message.notice.repository,
                                                                 message.notice.digest))
        context = Context(integration_id=integration.id, registry=integration.registry, endpoint=endpoint.name,
                          format=endpoint.format, min_severity=endpoint.min_severity,
                          delivery_id=message.delivery_id, sent=utc_now(), public_url=self.public_url,
                          test=message.test, tags=tags[:20])
        body = json.dumps(render(message.notice, context), separators=(",", ":")).encode("utf-8")
        headers = {**signed_headers(self.box.decrypt(endpoint.secret_encrypted), body),
                   "X-Lookout-Event": message.notice.event, "X-Lookout-Delivery": message.delivery_id}
        answer = self._send(target, addresses, body, headers)
        if answer.delivered:
            self._record(message, "delivered", attempt, answer.status, answer.text)
            log.info("delivery %s to endpoint %s (%s): HTTP %s", message.delivery_id, endpoint.id, target.display,
                     answer.status)
            return "delivered"
        return self._failed_attempt(message, endpoint, attempt, answer, target.display)

    def _send(self, target: Target, addresses: Sequence[Address], body: bytes, headers: dict[str, str]) -> Answer:
        started = time.monotonic()
        answer = self.sender.post(target, addresses, body, headers)
        log.debug("posted to %s in %.2f s", target.display, time.monotonic() - started)
        return answer

    def _failed_attempt(self, message: NotifyMessage, endpoint: Endpoint, attempt: int, answer: Answer,
                        where: str = "") -> Outcome:
        what = f"HTTP {answer.status}" if answer.status is not None else answer.text
        where = where or endpoint.url_display
        if answer.temporary and attempt < self.max_attempts:
            self._record(message, "retrying", attempt, answer.status, answer.text)
            log.warning("delivery %s to endpoint %s (%s) failed (attempt %d of %d): %s", message.delivery_id,
                        endpoint.id, where, attempt, self.max_attempts, what)
            raise DeliveryFailed(f"notification to {where} failed: {what}")
        self._record(message, "failed", attempt, answer.status, answer.text)
        log.error("delivery %s to endpoint %s (%s) failed for good after %d attempt(s): %s", message.delivery_id,
                  endpoint.id, where, attempt, what)
        if answer.temporary:
            raise DeliveryFailed(f"notification to {where} failed {attempt} times: {what}")
        return "failed"

    def _record(self, message: NotifyMessage, status: Literal["queued", "retrying", "delivered", "failed"],
                attempts: int, http_status: int | None, answer: str) -> Delivery:
        now = utc_now()
        previous = self.deliveries.get(message.endpoint_id, message.delivery_id)
        delivery = Delivery(endpoint_id=message.endpoint_id, id=message.delivery_id, event=message.notice.event,
                            image=message.notice.image, status=status, created=previous.created if previous else now,
                            updated=now, attempts=attempts, http_status=http_status, answer=answer,
                            test=message.test)
        self.deliveries.put(delivery)
        return delivery


def _name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidEndpoint("name", "a name is required")
    name = value.strip()
    if len(name) > MAX_NAME or not name.isprintable():
        raise InvalidEndpoint("name", f"at most {MAX_NAME} printable characters")
    return name


def _events(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, (list, tuple)) or not value:
        raise InvalidEndpoint("events", f"one or more of {', '.join(EVENTS)}")
    unknown = [v for v in value if v not in EVENTS]
    if unknown:
        raise InvalidEndpoint("events", f"unknown event {unknown[0]!r}: use one or more of {', '.join(EVENTS)}")
    return tuple(e for e in EVENTS if e in value)

