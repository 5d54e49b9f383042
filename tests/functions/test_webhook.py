"""The webhook trigger, called with real ``func.HttpRequest`` objects on Azurite."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest

from functions.webhook import events
from shared.clock import utc_now
from shared.errors import LookoutError, StorageUnavailable
from shared.images.model import ImageRecord
from shared.intake.jobs import JOBS_QUEUE, Job, decode_job
from shared.integrations.model import Integration
from shared.secrets import new_webhook_secret
from shared.store.azure import queue_client
from shared.wiring import Services
from testkit.storage import queued_jobs

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "reference" / "eventgrid-samples"
handler = events.build().get_user_function()


def sample(name: str) -> list[dict[str, Any]]:
    samples: list[dict[str, Any]] = json.loads((SAMPLES / name).read_text())
    return samples


@pytest.fixture
def integration(svc: Services) -> tuple[Integration, str]:
    secret = new_webhook_secret()
    record = Integration(id="0a1b2c3d4e5f6a7b", registry="demo.azurecr.io", created="2026-01-01T00:00:00.000000Z",
                         webhook_secret_encrypted=svc.box.encrypt(secret), status="connected", enabled=True)
    svc.integrations.put(record)
    svc.repositories.set_enabled(record.id, "aci-helloworld", True, "2026-01-01T00:00:00.000000Z")
    return record, secret


def post(body: bytes | list[Any], integration: tuple[Integration, str] | None, method: str = "POST",
         headers: dict[str, str] | None = None) -> func.HttpResponse:
    params = {"integration": integration[0].id, "secret": integration[1]} if integration else {}
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = func.HttpRequest(method, "http://localhost/api/events", headers=headers or {}, params=params, body=raw)
    response = handler(request)
    assert isinstance(response, func.HttpResponse)
    return response


def body_of(response: func.HttpResponse) -> Any:
    return json.loads(response.get_body())


def test_subscription_validation_handshake(integration: tuple[Integration, str]) -> None:
    response = post(sample("SubscriptionValidationEvent.json"), integration)
    assert response.status_code == 200
    assert body_of(response) == {"validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}


def test_cloudevents_abuse_protection_handshake(integration: tuple[Integration, str]) -> None:
    response = post(b"", integration, method="OPTIONS", headers={"WebHook-Request-Origin": "eventgrid.azure.net"})
    assert response.status_code == 200
    assert response.headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"
    assert "POST" in response.headers["Allow"]


@pytest.mark.parametrize("secret", [None, "wrong"])
def test_wrong_or_missing_secret_is_refused_for_good(
    svc: Services, integration: tuple[Integration, str], secret: str | None
) -> None:
    response = post(sample("ImagePushed.json"), (integration[0], secret) if secret else None)
    assert response.status_code == 401
    assert body_of(response)["error"]["code"] == "unauthorized"
    assert queued_jobs(svc) == []


def test_push_becomes_one_job_and_duplicates_are_dropped(svc: Services, integration: tuple[Integration, str]) -> None:
    for _ in range(3):
        response = post(sample("ImagePushed.json"), integration)
        assert response.status_code == 200
    (job,) = queued_jobs(svc)
    assert (job.kind, job.registry, job.repository, job.tag) == ("push", "demo.azurecr.io", "aci-helloworld", "v1")
    assert job.integration_id == integration[0].id
    assert job.event_time == "2018-04-25T21:39:47.654961Z"
    assert svc.integrations.get(integration[0].id).last_event  # type: ignore[union-attr]


def test_batch_counts(svc: Services, integration: tuple[Integration, str]) -> None:
    pushed = sample("ImagePushed.json")[0]
    other_repo = {**pushed, "id": "other-repo",
                  "data": {**pushed["data"], "target": {**pushed["data"]["target"], "repository": "inactive"}}}
    other_registry = {**pushed, "id": "other-registry",
                      "data": {**pushed["data"], "request": {**pushed["data"]["request"], "host": "evil.example"}}}
    chart = sample("ChartPushed.json")[0]
    deleted = sample("ImageDeleted.json")[0]
    response = post([pushed, pushed, other_repo, other_registry, chart, deleted], integration)
    assert response.status_code == 200
    assert body_of(response) == {"accepted": 2, "duplicates": 1, "ignored": 1, "dropped": 1, "refused": 1, "invalid": 0,
                                 "in_flight": 0, "stale": 0}
    assert sorted(j.kind for j in queued_jobs(svc)) == ["delete", "push"]


def test_disabled_integration_queues_nothing(svc: Services, integration: tuple[Integration, str]) -> None:
    svc.integrations.put(replace(integration[0], enabled=False, status="pending"))
    response = post(sample("ImagePushed.json"), integration)
    assert response.status_code == 200
    assert body_of(response)["dropped"] == 1
    assert queued_jobs(svc) == []


@pytest.mark.parametrize(("body", "status"), [
    (b"nope", 400), (b'{"a": 1}', 400), (b"[" + b" " * 1200000 + b"]", 413),
    (b"[" * 1000 + b"]" * 1000, 400),  # nested too deeply for the JSON parser
    (b"[" * 200000 + b"]" * 200000, 400),
    (b'[{"id": "a", "id": "b", "eventType": "x"}]', 400),  # duplicate keys: ambiguous
    (b'[{"id": "a", "eventType": "x", "n": NaN}]', 400),
    (b'[{"id": "a", "eventType": "x", "n": 1' + b"0" * 5000 + b'}]', 400),  # over Python's integer digit limit
    (b'[{"id": "\xff", "eventType": "x"}]', 400),  # not UTF-8
    (b"\xff\xfe[]", 400),
])
def test_undeliverable_bodies_get_4xx_with_reason(integration: tuple[Integration, str], body: bytes, status: int) -> None:
    response = post(body, integration)
    assert response.status_code == status
    assert body_of(response)["error"]["message"]


def pushed_event(event_id: str, **target: Any) -> dict[str, Any]:
    """The sample push with another id and ``target`` fields replaced."""
    pushed = sample("ImagePushed.json")[0]
    return {**pushed, "id": event_id, "data": {**pushed["data"], "target": {**pushed["data"]["target"], **target}}}


@pytest.mark.parametrize(("event", "reason"), [
    (pushed_event("x" * 257), "printable ASCII"),
    (pushed_event("€" * 200), "printable ASCII"),
    (pushed_event("bad-tag", tag="\x00\u202e../x"), "invalid tag"),
    (pushed_event("long-tag", tag="t" * 1024), "invalid tag"),
    (pushed_event("bad-repository", repository="../../etc"), "invalid repository"),
    (pushed_event("bad-digest", digest="sha256:" + "z" * 64), "digest"),
    (pushed_event("bad-media-type", mediaType="text/html; <script>"), "media type"),
])
def test_an_unusable_event_is_counted_with_its_reason_and_the_rest_of_the_batch_proceeds(
    svc: Services, integration: tuple[Integration, str], event: dict[str, Any], reason: str
) -> None:
    good = pushed_event("good-event")
    response = post([event, good], integration)
    assert response.status_code == 200
    body = body_of(response)
    assert (body["accepted"], body["invalid"]) == (1, 1)
    assert reason in body["reasons"][0]["reason"]
    assert len(body["reasons"][0]["id"]) <= 64
    (job,) = queued_jobs(svc)
    assert job.tag == "v1"


def test_the_longest_event_id_fits_the_event_log(svc: Services, integration: tuple[Integration, str]) -> None:
    longest = "%" * 256  # the longest id the parser accepts, of the character that encodes longest
    response = post([pushed_event(longest)], integration)
    assert response.status_code == 200 and body_of(response)["accepted"] == 1
    response = post([pushed_event(longest)], integration)
    assert body_of(response)["duplicates"] == 1


def test_a_delivery_whose_events_another_delivery_is_queueing_is_retried(
    svc: Services, integration: tuple[Integration, str]
) -> None:
    event = pushed_event("claimed-elsewhere")
    assert svc.events.claim(integration[0].id, "claimed-elsewhere", utc_now()) == "claimed"
    response = post([event, pushed_event("free")], integration)
    assert response.status_code == 503
    assert (body_of(response)["in_flight"], body_of(response)["accepted"]) == (1, 1)
    assert [j.event_id for j in queued_jobs(svc)] == ["free"]
    stale = "2026-01-01T00:00:00.000000Z"
    assert svc.events.claim(integration[0].id, "stale-claim", stale) == "claimed"
    response = post([pushed_event("stale-claim")], integration)
    assert response.status_code == 200 and body_of(response)["accepted"] == 1  # a dead delivery's claim is taken over


class FailingQueue:
    """A job queue whose storage is down."""

    def put(self, job: Job) -> None:
        raise StorageUnavailable("queue down")


def test_a_failed_enqueue_releases_the_claim_so_the_redelivery_is_accepted(
    svc: Services, integration: tuple[Integration, str]
) -> None:
    webhook = replace(svc.webhook, jobs=FailingQueue())
    reply = webhook.receive(integration[0], json.dumps([pushed_event("retry-me")]).encode())
    assert reply.status == 503
    assert queued_jobs(svc) == []
    response = post([pushed_event("retry-me")], integration)
    assert response.status_code == 200 and body_of(response)["accepted"] == 1
    assert [j.event_id for j in queued_jobs(svc)] == ["retry-me"]


def test_concurrent_duplicate_deliveries_make_exactly_one_job(svc: Services, integration: tuple[Integration, str]) -> None:
    body = [pushed_event("raced")]
    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(lambda _: post(body, integration).status_code, range(20)))
    assert set(statuses) <= {200, 503}
    assert [j.event_id for j in queued_jobs(svc)] == ["raced"]


def test_a_delete_older_than_the_last_push_is_counted_stale_and_queues_nothing(
    svc: Services, integration: tuple[Integration, str]
) -> None:
    deleted = sample("ImageDeleted.json")[0]
    target = deleted["data"]["target"]
    svc.images.put(ImageRecord(registry="demo.azurecr.io", repository=target["repository"], digest=target["digest"],
                               status="analyzed", event_time="2030-01-01T00:00:00.000000Z"))
    response = post([deleted], integration)
    assert response.status_code == 200
    assert (body_of(response)["stale"], body_of(response)["accepted"]) == (1, 0)
    assert queued_jobs(svc) == []


def drained_jobs(svc: Services) -> list[Job]:
    """Every job on the queue, taken off it."""
    client = queue_client(svc.settings.storage, JOBS_QUEUE)
    jobs: list[Job] = []
    while batch := list(client.receive_messages(messages_per_page=32, max_messages=32, visibility_timeout=60)):
        for message in batch:
            jobs.append(decode_job(message.content))
            client.delete_message(message)
    return jobs


class FlakyQueue:
    """The real job queue that fails (temporarily, or for good for some events) after ``good`` jobs."""

    def __init__(self, svc: Services, good: int, permanent: frozenset[str] = frozenset()) -> None:
        self.svc = svc
        self.good = good
        self.permanent = permanent
        self.lock = threading.Lock()

    def put(self, job: Job) -> None:
        if job.event_id in self.permanent:
            raise LookoutError("the job is too large for the queue", code="storage-rejected")
        with self.lock:
            self.good -= 1
            allowed = self.good >= 0
        if not allowed:
            raise StorageUnavailable("queue down")
        self.svc.jobs.put(job)


def test_a_large_batch_queues_every_event_once_and_its_redelivery_nothing(
    svc: Services, integration: tuple[Integration, str]
) -> None:
    events = [pushed_event(f"batch-{n}", digest="sha256:" + f"{n:064x}") for n in range(250)]
    response = post([*events, events[7], events[200]], integration)
    assert response.status_code == 200
    assert (body_of(response)["accepted"], body_of(response)["duplicates"]) == (250, 2)
    jobs = drained_jobs(svc)
    assert sorted(str(j.event_id) for j in jobs) == sorted(e["id"] for e in events)
    assert {j.digest for j in jobs} == {e["data"]["target"]["digest"] for e in events}
    again = post(events, integration)
    assert again.status_code == 200
    assert (body_of(again)["accepted"], body_of(again)["duplicates"]) == (0, 250)
    assert drained_jobs(svc) == []


def test_a_batch_cut_off_by_a_queue_outage_is_503_and_its_redelivery_queues_only_the_rest(
    svc: Services, integration: tuple[Integration, str]
) -> None:
    events = [pushed_event(f"cut-{n}", digest="sha256:" + f"{n:064x}") for n in range(60)]
    webhook = replace(svc.webhook, jobs=FlakyQueue(svc, good=25))
    reply = webhook.receive(integration[0], json.dumps(events).encode())
    assert reply.status == 503
    first = drained_jobs(svc)
    assert len(first) == 25 and len({j.event_id for j in first}) == 25
    response = post(events, integration)  # Event Grid delivers the whole batch again
    assert response.status_code == 200
    assert (body_of(response)["accepted"], body_of(response)["duplicates"]) == (35, 25)
    rest = drained_jobs(svc)
    assert sorted(str(j.event_id) for j in first + rest) == sorted(e["id"] for e in events)


def test_an_event_the_queue_refuses_for_good_is_invalid_and_the_rest_of_the_batch_is_queued(
    svc: Services, integration: tuple[Integration, str]
) -> None:
    events = [pushed_event(f"mixed-{n}", digest="sha256:" + f"{n:064x}") for n in range(10)]
    webhook = replace(svc.webhook, jobs=FlakyQueue(svc, good=100, permanent=frozenset({"mixed-3"})))
    reply = webhook.receive(integration[0], json.dumps(events).encode())
    assert reply.status == 200 and reply.body is not None
    assert (reply.body["accepted"], reply.body["invalid"], reply.body["reasons"][0]["id"]) == (9, 1, "mixed-3")
    assert len(queued_jobs(svc)) == 9
    response = post([events[3]], integration)  # its claim was released: with a working queue it is queued
    assert body_of(response)["accepted"] == 1


def test_changes_made_in_this_process_reach_the_webhook_at_once_despite_its_lookup_cache(
    svc: Services, integration: tuple[Integration, str]
) -> None:
    assert body_of(post([pushed_event("before", tag="a")], integration))["accepted"] == 1  # lookups now cached
    svc.repositories.set_enabled(integration[0].id, "aci-helloworld", False, utc_now())
    assert body_of(post([pushed_event("deactivated", tag="b")], integration))["dropped"] == 1
    svc.repositories.set_enabled(integration[0].id, "aci-helloworld", True, utc_now())
    svc.integrations.put(replace(integration[0], enabled=False, status="pending"))
    assert body_of(post([pushed_event("disabled", tag="c")], integration))["dropped"] == 1
    rotated = new_webhook_secret()
    svc.integrations.put(replace(integration[0], webhook_secret_encrypted=svc.box.encrypt(rotated)))
    assert post([pushed_event("old-secret", tag="d")], integration).status_code == 401
    assert body_of(post([pushed_event("new-secret", tag="e")], (integration[0], rotated)))["accepted"] == 1
    svc.integrations.delete(integration[0].id)
    assert post([pushed_event("removed", tag="f")], (integration[0], rotated)).status_code == 401
    assert sorted(str(j.event_id) for j in drained_jobs(svc)) == ["before", "new-secret"]


def test_a_batch_of_deletes_queues_those_not_older_than_the_last_push(
    svc: Services, integration: tuple[Integration, str]
) -> None:
    deleted = sample("ImageDeleted.json")[0]
    events = []
    for n in range(6):
        digest = "sha256:" + f"{n:064x}"
        events.append({**deleted, "id": f"delete-{n}",
                       "data": {**deleted["data"], "target": {**deleted["data"]["target"], "digest": digest}}})
        if n % 2 == 0:  # pushed again after the delete: the delete is stale
            svc.images.put(ImageRecord(registry="demo.azurecr.io", repository=deleted["data"]["target"]["repository"],
                                       digest=digest, status="analyzed", event_time="2030-01-01T00:00:00.000000Z"))
    response = post(events, integration)
    assert response.status_code == 200
    assert (body_of(response)["stale"], body_of(response)["accepted"]) == (3, 3)
    assert sorted(str(j.event_id) for j in drained_jobs(svc)) == ["delete-1", "delete-3", "delete-5"]
