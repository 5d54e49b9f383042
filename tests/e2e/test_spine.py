"""End to end: Event Grid deliveries → webhook → queue → worker → Table storage → API.

Everything real: ``lookout serve`` as a child process, its own Azurite, the session's token-authenticated
registry, images pushed by the tests, events shaped as a registry sends them.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableServiceClient

from shared.intake.jobs import JOBS_QUEUE
from shared.store.azure import queue_client
from testkit.events import image_deleted, image_pushed
from testkit.images import push_image, push_index
from testkit.processes import wait_until
from testkit.stack import Stack

pytestmark = pytest.mark.e2e

OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'


def test_integration_is_connected_and_never_shows_the_password(stack: Stack) -> None:
    assert stack.integration["status"] == "connected"
    assert stack.integration["enabled"] is True
    listed = stack.http.get(f"{stack.app.url}/api/integrations", timeout=10)
    assert listed.status_code == 200
    assert stack.registry.readonly.password not in listed.text
    assert stack.registry.readonly.password not in str(stack.integration)
    assert stack.registry.readonly.password not in stack.app.log_tail(10_000)


def test_event_grid_and_cloudevents_handshakes(stack: Stack) -> None:
    validation = [{"id": str(uuid.uuid4()), "topic": "/subscriptions/x", "subject": "",
                   "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent", "eventTime": "2026-01-01T00:00:00Z",
                   "data": {"validationCode": "code-123", "validationUrl": "https://eventgrid.example/validate?id=1"},
                   "dataVersion": "1", "metadataVersion": "1"}]
    response = stack.http.post(stack.integration["webhook_url"], json=validation,
                               headers={"aeg-event-type": "SubscriptionValidation"}, timeout=10)
    assert response.status_code == 200
    assert response.json() == {"validationResponse": "code-123"}
    options = stack.http.options(stack.integration["webhook_url"], headers={"WebHook-Request-Origin": "eventgrid.azure.net"},
                                 timeout=10)
    assert options.status_code == 200
    assert options.headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"


def test_push_is_analyzed_and_readable(stack: Stack) -> None:
    stack.activate("team/app")
    pushed = push_image(stack.registry, "team/app", "1.0", [{"etc/os-release": OS_RELEASE}, {"app/main.py": "print(1)"}],
                        user="app", labels={"org.opencontainers.image.source": "https://example.test/app"})
    response = stack.post_events([image_pushed(stack.registry.host, "team/app", str(pushed.digest), "1.0",
                                               pushed.media_type, pushed.size)])
    assert response.status_code == 200
    assert response.json()["accepted"] == 1
    image = stack.wait_for_image("team/app", "1.0")
    assert image["digest"] == str(pushed.digest)
    assert image["tags"] == ["1.0"]
    (platform,) = image["platforms"]
    assert platform["platform"] == "linux/amd64"
    assert platform["user"] == "app"
    assert platform["labels"] == {"org.opencontainers.image.source": "https://example.test/app"}
    assert [la["digest"] for la in platform["layers"]] == [str(d) for d in pushed.layer_digests]
    assert [la["diff_id"] for la in platform["layers"]] == [str(la.diff_id) for la in pushed.layers]
    assert platform["config_digest"] == str(pushed.config_digest)
    by_digest = stack.image("team/app", str(pushed.digest))
    assert by_digest.status_code == 200 and by_digest.json()["digest"] == image["digest"]


def test_index_records_every_platform_but_the_attestation(stack: Stack) -> None:
    stack.activate("team/multi")
    children = [
        push_image(stack.registry, "team/multi", None, [{"etc/os-release": OS_RELEASE}], platform=platform)
        for platform in _platforms("linux/amd64", "linux/arm64/v8")
    ]
    index = push_index(stack.registry, "team/multi", "latest", children, with_attestation=True)
    assert index.attestation is not None
    response = stack.post_events([image_pushed(stack.registry.host, "team/multi", str(index.digest), "latest",
                                               index.media_type, index.size)])
    assert response.status_code == 200
    image = stack.wait_for_image("team/multi", "latest")
    assert sorted(p["platform"] for p in image["platforms"]) == ["linux/amd64", "linux/arm64/v8"]
    assert {p["digest"] for p in image["platforms"]} == {str(c.digest) for c in children}
    assert str(index.attestation.digest) not in {p["digest"] for p in image["platforms"]}


def test_duplicate_deliveries_yield_one_analysis(stack: Stack) -> None:
    stack.activate("team/dup")
    pushed = push_image(stack.registry, "team/dup", "v1", [{"a.txt": "a"}])
    event = image_pushed(stack.registry.host, "team/dup", str(pushed.digest), "v1", pushed.media_type, pushed.size)
    answers = [stack.post_events([event]).json() for _ in range(3)]
    assert [a["accepted"] for a in answers] == [1, 0, 0]
    assert [a["duplicates"] for a in answers] == [0, 1, 1]
    first = stack.wait_for_image("team/dup", "v1")
    # A different event for the same digest (a second tag) is queued, but not analyzed again.
    again = image_pushed(stack.registry.host, "team/dup", str(pushed.digest), "v2", pushed.media_type, pushed.size)
    assert stack.post_events([again]).json()["accepted"] == 1
    wait_until(lambda: stack.image("team/dup", "v2").status_code == 200, timeout=30, what="tag v2")
    second = stack.image("team/dup", "v2").json()
    assert second["analyzed"] == first["analyzed"]
    assert second["tags"] == ["v1", "v2"]


def test_delete_removes_the_analysis_and_its_tags(stack: Stack) -> None:
    stack.activate("team/gone")
    pushed = push_image(stack.registry, "team/gone", "old", [{"x": "x"}])
    stack.post_events([image_pushed(stack.registry.host, "team/gone", str(pushed.digest), "old", pushed.media_type, pushed.size)])
    stack.wait_for_image("team/gone", "old")
    answer = stack.post_events([image_deleted(stack.registry.host, "team/gone", str(pushed.digest), pushed.media_type)])
    assert answer.json()["accepted"] == 1
    wait_until(lambda: stack.image("team/gone", str(pushed.digest)).status_code == 404, timeout=30, what="delete")
    assert stack.image("team/gone", "old").status_code == 404


def test_a_delete_that_arrives_before_its_push_leaves_nothing(stack: Stack) -> None:
    stack.activate("team/race")
    pushed = push_image(stack.registry, "team/race", "t", [{"y": "y"}])
    stack.post_events([image_deleted(stack.registry.host, "team/race", str(pushed.digest), pushed.media_type,
                                     time=_in_seconds(5))])
    wait_until(stack.drained, timeout=30, what="the delete to be processed")
    stack.post_events([image_pushed(stack.registry.host, "team/race", str(pushed.digest), "t", pushed.media_type,
                                    pushed.size, time=_in_seconds(1))])
    wait_until(stack.drained, timeout=30, what="the push to be processed")
    time.sleep(1)  # the message leaves the queue count before the worker's last write; give it a moment
    assert stack.image("team/race", str(pushed.digest)).status_code == 404
    assert stack.image("team/race", "t").status_code == 404


def test_pushes_to_inactive_repositories_and_other_events_are_acknowledged_not_queued(stack: Stack) -> None:
    pushed = push_image(stack.registry, "team/inactive", "1", [{"z": "z"}])
    chart = {"id": str(uuid.uuid4()), "topic": "t", "subject": "c", "eventType": "Microsoft.ContainerRegistry.ChartPushed",
             "eventTime": "2026-01-01T00:00:00Z", "data": {}, "dataVersion": "1.0", "metadataVersion": "1"}
    response = stack.post_events([
        image_pushed(stack.registry.host, "team/inactive", str(pushed.digest), "1", pushed.media_type, pushed.size),
        image_pushed("other.azurecr.io", "team/app", str(pushed.digest), "1", pushed.media_type, pushed.size),
        chart,
    ])
    assert response.status_code == 200
    assert response.json() == {"accepted": 0, "duplicates": 0, "ignored": 1, "dropped": 1, "refused": 1, "invalid": 0,
                               "in_flight": 0, "stale": 0}


@pytest.mark.parametrize(("body", "status"), [(b"{oops", 400), (b'"text"', 400), (b"[{}]", 400)])
def test_malformed_deliveries_get_a_4xx_with_a_reason(stack: Stack, body: bytes, status: int) -> None:
    response = stack.http.post(stack.integration["webhook_url"], data=body, timeout=10,
                               headers={"Content-Type": "application/json"})
    assert response.status_code == status
    assert response.json()["error"]["message"]


def test_unknown_webhook_secret_is_refused(stack: Stack) -> None:
    url = stack.integration["webhook_url"].split("&secret=")[0] + "&secret=wrong"
    assert stack.http.post(url, json=[], timeout=10).status_code == 401


def test_storage_outage_answers_5xx_and_loses_nothing(stack: Stack) -> None:
    stack.activate("team/outage")
    pushed = push_image(stack.registry, "team/outage", "1", [{"o": "o"}])
    event = image_pushed(stack.registry.host, "team/outage", str(pushed.digest), "1", pushed.media_type, pushed.size)
    stack.storage.stop()
    try:
        started = time.monotonic()
        refused = stack.post_events([event])
        elapsed = time.monotonic() - started
    finally:
        stack.storage.start()
    assert refused.status_code in (500, 503)
    assert refused.status_code == 503, refused.text
    assert elapsed < 30, f"Event Grid waits 30 s; the webhook took {elapsed:.1f} s"
    # Event Grid delivers the same event again; now it is accepted and analyzed.
    retried = stack.post_events([event])
    assert retried.status_code == 200, retried.text
    assert retried.json()["accepted"] == 1
    stack.wait_for_image("team/outage", "1")


def test_a_wrong_token_password_is_recorded_on_the_image(stack: Stack) -> None:
    stack.activate("team/locked")
    pushed = push_image(stack.registry, "team/locked", "1", [{"l": "l"}])
    readonly = stack.registry.readonly
    stack.registry.add_user(readonly.username, "rotated-" + uuid.uuid4().hex)
    try:
        stack.post_events([image_pushed(stack.registry.host, "team/locked", str(pushed.digest), "1",
                                        pushed.media_type, pushed.size)])
        image = stack.wait_for_image("team/locked", "1", status="failed")
    finally:
        stack.registry.add_user(readonly.username, readonly.password)
    assert image["error"]["code"] == "unauthorized"
    integrations = stack.http.get(f"{stack.app.url}/api/integrations", timeout=10).json()["integrations"]
    assert integrations[0]["status"] == "error"


def test_a_message_that_is_not_a_job_is_recorded_and_completed(stack: Stack) -> None:
    client = queue_client(stack.svc.settings.storage, JOBS_QUEUE)
    client.send_message('{"v": 99, "what": "not a job"}')
    wait_until(stack.drained, timeout=30, what="the bad message to be completed")
    service = TableServiceClient.from_connection_string(stack.storage.connection_string)

    def recorded() -> bool:
        return any('"v": 99' in row["text"] for row in service.get_table_client("e2erejectedjobs").list_entities())

    wait_until(recorded, timeout=10, what="the rejected message to be recorded")
    poison = queue_client(stack.svc.settings.storage, JOBS_QUEUE + "-poison")
    assert not any("not a job" in m.content for m in poison.peek_messages(max_messages=32)) if _exists(poison) else True


def _exists(client: Any) -> bool:
    try:
        client.get_queue_properties()
    except ResourceNotFoundError:
        return False
    return True


def _in_seconds(seconds: float) -> str:
    """An event time ``seconds`` from now, as Event Grid writes it."""
    moment = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def _platforms(*names: str) -> list[Any]:
    from shared.registry.model import Platform

    return [Platform.parse(name) for name in names]
