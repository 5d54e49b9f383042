"""The notifications service on Azurite with a real receiver on 127.0.0.1: configuration refused with the field
at fault, fan-out through the queue, signed deliveries, retries then failure, and no secret in logs."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from dataclasses import replace

import pytest
from azure.core.exceptions import ResourceExistsError

from shared.errors import NotFound
from shared.images.model import ImageRecord, PlatformRecord
from shared.integrations.model import Integration
from shared.notify.changes import announce
from shared.notify.messages import NOTIFICATIONS_QUEUE, NotifyMessage, decode_message, encode_message
from shared.notify.model import InvalidEndpoint
from shared.notify.service import MAX_ATTEMPTS, DeliveryFailed, Notifications
from shared.notify.signing import verify
from shared.records import QueueMessage
from shared.settings import PROJECT_ROOT
from shared.store.azure import queue_client
from shared.wiring import Services
from tests.notify.receiver import Receiver, receiving
from tests.notify.support import notice_with

REGISTRY = "r.example"


@pytest.fixture
def notifications(svc: Services) -> Iterator[Notifications]:
    queue = queue_client(svc.settings.storage, NOTIFICATIONS_QUEUE)
    with contextlib.suppress(ResourceExistsError):
        queue.create_queue()
    queue.clear_messages()
    svc.integrations.put(Integration(id="int1", registry=REGISTRY, created="2026-06-01T00:00:00.000000Z",
                                     webhook_secret_encrypted=svc.box.encrypt("x")))
    svc.integrations.put(Integration(id="int2", registry="other.example", created="2026-06-01T00:00:01.000000Z",
                                     webhook_secret_encrypted=svc.box.encrypt("y")))
    yield svc.notifications
    queue.clear_messages()


def drain(svc: Services) -> list[QueueMessage]:
    """Every message on the notifications queue, taken off it, as the host hands them over (first delivery)."""
    client = queue_client(svc.settings.storage, NOTIFICATIONS_QUEUE)
    taken = []
    for message in client.receive_messages(max_messages=32):
        taken.append(QueueMessage(id=message.id, text=message.content, dequeue_count=1))
        client.delete_message(message)
    return taken


def test_configuration_is_validated_field_by_field(notifications: Notifications) -> None:
    good = {"name": "ops", "url": "http://127.0.0.1:9/hook"}
    with pytest.raises(NotFound):
        notifications.add("nosuch", **good)
    for field, bad in [("name", ""), ("name", "x" * 65), ("url", "ftp://x.example/"),
                       ("url", "https://169.254.169.254/"), ("format", "xml"), ("min_severity", "urgent"),
                       ("events", "new-finding,everything"), ("events", "")]:
        with pytest.raises(InvalidEndpoint) as caught:
            notifications.add("int1", **{**good, field: bad})
        assert caught.value.field == field, (field, bad)
        assert caught.value.message.startswith(f"'{field}': ")
    endpoint, secret = notifications.add("int1", **good, format="slack", min_severity="critical", events="new-finding")
    assert (endpoint.format, endpoint.min_severity, endpoint.events) == ("slack", "critical", ("new-finding",))
    assert endpoint.url_display == "http://127.0.0.1:9" and len(secret) >= 40
    with pytest.raises(InvalidEndpoint, match=r"'name': .*already"):
        notifications.add("int1", **good)
    stored = notifications.get("int1", endpoint.id)
    assert secret not in repr(stored) and "/hook" not in json.dumps(stored.to_json())
    assert secret not in stored.secret_encrypted and "/hook" not in stored.url_encrypted
    (listed,) = notifications.list("int1")
    assert listed.endpoint == stored and listed.latest is None
    notifications.remove("int1", endpoint.id)
    assert notifications.list("int1") == []
    with pytest.raises(NotFound):
        notifications.remove("int1", endpoint.id)


def test_a_notice_is_fanned_out_signed_and_delivered(svc: Services, notifications: Notifications,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with receiving() as receiver, receiving() as critical_only:
        generic, secret = notifications.add("int1", name="generic", url=receiver.url + "?token=QUERYSECRET")
        notifications.add("int1", name="quiet", url=critical_only.url, min_severity="critical")
        notifications.add("int2", name="elsewhere", url=receiver.url)  # another registry's integration
        notifications.add("int1", name="policies", url=receiver.url, events="policy-failed")
        notice = notice_with(25, "high")
        assert announce(svc.notification_queue, notice)
        (fan_out,) = drain(svc)
        assert notifications.process(fan_out) == "fanned-out"
        deliveries = drain(svc)
        assert len(deliveries) == 1  # only "generic" wants 25 high findings of r.example
        assert notifications.process(fan_out) == "fanned-out" and drain(svc) == []  # a retried fan-out: nothing twice
        assert notifications.list("int1")[0].latest.status == "queued"  # type: ignore[union-attr]
        assert notifications.process(deliveries[0]) == "delivered"
        assert notifications.process(deliveries[0]) == "duplicate"  # redelivered after it was sent
        assert receiver.count() == 1 and critical_only.count() == 0
    (request,) = receiver.received
    assert request.path == "/hooks/lookout?token=QUERYSECRET"
    assert verify(secret, request.headers, request.body)
    assert request.headers["X-Lookout-Event"] == "new-finding"
    assert request.headers["X-Lookout-Delivery"] == f"{notice.id}-{generic.id}"
    body = json.loads(request.body)
    assert body["event"] == "new-finding" and len(body["findings"]) == 20 and body["more_findings"] == 5
    assert body["integration"] == {"id": "int1", "registry": REGISTRY}
    assert secret not in request.body.decode() and "QUERYSECRET" not in request.body.decode()
    latest = notifications.list("int1")[0].latest
    assert latest is not None and (latest.status, latest.http_status, latest.attempts) == ("delivered", 200, 1)
    assert "QUERYSECRET" not in caplog.text and secret not in caplog.text


def test_a_failing_endpoint_is_retried_then_recorded_failed(notifications: Notifications) -> None:
    with receiving(status=500) as receiver:
        endpoint, _ = notifications.add("int1", name="broken", url=receiver.url)
        text = encode_message(NotifyMessage(kind="delivery", notice=notice_with(1), integration_id="int1",
                                            endpoint_id=endpoint.id))
        for attempt in range(1, MAX_ATTEMPTS):
            with pytest.raises(DeliveryFailed):
                notifications.process(QueueMessage("m1", text, attempt))
            latest = notifications.list("int1")[0].latest
            assert latest is not None and (latest.status, latest.attempts, latest.http_status) == ("retrying", attempt, 500)
        with pytest.raises(DeliveryFailed):  # the last attempt: recorded failed, and the message goes to poison
            notifications.process(QueueMessage("m1", text, MAX_ATTEMPTS))
        assert receiver.count() == MAX_ATTEMPTS
    latest = notifications.list("int1")[0].latest
    assert latest is not None and (latest.status, latest.attempts, latest.answer) == ("failed", 5, "receiver failure")


def test_a_refusal_fails_at_once_and_a_removed_endpoint_is_moot(notifications: Notifications) -> None:
    with receiving(status=404) as receiver:
        endpoint, _ = notifications.add("int1", name="gone", url=receiver.url)
        message = NotifyMessage(kind="delivery", notice=notice_with(1), integration_id="int1", endpoint_id=endpoint.id)
        assert notifications.process(QueueMessage("m2", encode_message(message), 1)) == "failed"
        notifications.remove("int1", endpoint.id)
        assert notifications.process(QueueMessage("m3", encode_message(message), 1)) == "moot"
        assert receiver.count() == 1
    assert notifications.process(QueueMessage("m4", "garbage", 1)) == "rejected"


def test_nothing_listens_is_temporary(notifications: Notifications) -> None:
    closed = Receiver()
    url = closed.url
    closed.close()
    endpoint, _ = notifications.add("int1", name="nobody", url=url)
    message = NotifyMessage(kind="delivery", notice=notice_with(1), integration_id="int1", endpoint_id=endpoint.id)
    with pytest.raises(DeliveryFailed, match="no answer"):
        notifications.process(QueueMessage("m5", encode_message(message), 1))


def test_test_queues_a_sample_delivery(svc: Services, notifications: Notifications) -> None:
    with receiving() as receiver:
        endpoint, secret = notifications.add("int1", name="t", url=receiver.url, format="teams")
        queued = notifications.test("int1", endpoint.id)
        assert queued.status == "queued" and queued.test
        (message,) = drain(svc)
        assert decode_message(message.text).test
        assert notifications.process(message) == "delivered"
    (request,) = receiver.received
    assert verify(secret, request.headers, request.body)
    card = json.loads(request.body)["attachments"][0]["content"]
    assert card["body"][0]["text"].startswith("[test] 1 new finding")
    assert notifications.delivery(endpoint.id, queued.id).status == "delivered"  # type: ignore[union-attr]


def test_attempts_match_the_hosts_max_dequeue_count() -> None:
    host = json.loads((PROJECT_ROOT / "host.json").read_text())
    assert host["extensions"]["queues"]["maxDequeueCount"] == MAX_ATTEMPTS


def test_a_policy_turning_from_pass_to_fail_is_notified(svc: Services, notifications: Notifications) -> None:
    platform = PlatformRecord(digest="sha256:" + "3" * 64, os="linux", architecture="amd64", user="app")
    record = ImageRecord(registry=REGISTRY, repository="team/app", digest="sha256:" + "4" * 64, status="analyzed",
                         platforms=(platform,))
    with receiving() as receiver, receiving() as findings_only:
        endpoint, secret = notifications.add("int1", name="policies", url=receiver.url, events="policy-failed")
        notifications.add("int1", name="findings", url=findings_only.url, events="new-finding")
        svc.policies.evaluate_image(record)  # the first evaluation: no turn, nothing queued
        assert drain(svc) == []
        svc.policies.evaluate_image(replace(record, platforms=(replace(platform, user="root"),)))
        (fan_out,) = drain(svc)
        assert notifications.process(fan_out) == "fanned-out"
        (delivery,) = drain(svc)
        assert notifications.process(delivery) == "delivered"
        assert findings_only.count() == 0
    (request,) = receiver.received
    assert verify(secret, request.headers, request.body)
    body = json.loads(request.body)
    assert body["event"] == "policy-failed"
    (policy,) = body["policies"]
    assert policy["policy"] == "no-root-user" and "runs as root" in policy["reasons"][0]
    assert endpoint.events == ("policy-failed",)
