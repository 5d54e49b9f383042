"""Property-based fuzzing of the Event Grid webhook, on Azurite.

Most examples call the trigger directly with real ``func.HttpRequest`` objects (fast); a smaller run
goes over HTTP to ``lookout serve``. For every delivery, whatever its body, headers or query string:

- the answer is 200, 400, 401 or 413 — or 503 only with an ``in_flight`` count — never a 500, with
  a JSON body that says why (an error code and message, the handshake, or the counts of a batch,
  which add up to its events);
- wrong or missing credentials always get 401, and an authenticated delivery gets the status the
  Event Grid contract gives its body (:func:`~tests.faults.deliveries.predicted_status`);
- the jobs on the queue afterwards are exactly those :class:`~tests.faults.deliveries.JobModel`
  predicts: none for a refused delivery, and never one for an event that breaks the grammar.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import azure.functions as func
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.webhook import events
from shared.clock import utc_now
from shared.intake.eventgrid import MAX_NESTING
from shared.intake.jobs import JOBS_QUEUE, Job
from shared.integrations.model import Integration
from shared.secrets import new_webhook_secret
from shared.store.azure import queue_client
from shared.wiring import Services
from testkit.storage import queued_jobs
from tests.faults.conftest import Intake
from tests.faults.deliveries import (
    ACTIVATED,
    CANONICAL_TIME,
    COUNTERS,
    REGISTRY,
    SAMPLES,
    Credentials,
    ExpectedJob,
    JobModel,
    byte_mutations,
    check_reply,
    credentials,
    delivery_items,
    headers,
    json_ish_bodies,
    predicted_status,
    raw_bodies,
    sample_deliveries,
)

pytestmark = pytest.mark.timeout(120)

handler = events.build().get_user_function()

FUZZ = settings(deadline=None, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
                                       HealthCheck.filter_too_much])


@dataclass
class Probe:
    """Checks deliveries to one integration against the model and counts what happened."""

    integration_id: str
    jobs: Callable[[], list[Job]]
    model: JobModel = field(default_factory=JobModel)
    statuses: Counter[int] = field(default_factory=Counter)
    queued: int = 0

    def check(self, creds: Credentials, method: str, body: bytes, status: int, answer: bytes) -> None:
        """Assert everything the module promises about one delivery and its answer."""
        self.statuses[status] += 1
        reply = check_reply(status, answer, method)
        jobs = self.jobs()
        if not creds.valid:
            assert status == 401, (status, reply)
        if status not in (200, 503) or method == "OPTIONS" or reply is None or "validationResponse" in reply:
            assert jobs == [], (status, reply, jobs)
            if creds.valid and method == "POST":
                assert status == predicted_status(body), (status, reply, body[:300])
            return
        assert creds.valid and method == "POST"
        assert predicted_status(body) == 200, (status, reply, body[:300])
        items = delivery_items(body)
        assert sum(reply[name] for name in COUNTERS) == len(items), reply
        expected = self.model.expect(items)
        got = {job.event_id: ExpectedJob.of(job) for job in jobs}
        assert got == expected, (reply, body[:500])
        assert all(job.registry == REGISTRY and job.integration_id == self.integration_id for job in jobs)
        assert all(CANONICAL_TIME.fullmatch(job.event_time) for job in jobs), [job.event_time for job in jobs]
        assert reply["accepted"] == len(expected), reply
        self.model.note(expected)
        self.queued += len(expected)


@pytest.fixture
def integration(svc: Services) -> tuple[Integration, str]:
    secret = new_webhook_secret()
    record = Integration(id="0a1b2c3d4e5f6a7b", registry=REGISTRY, created=utc_now(),
                         webhook_secret_encrypted=svc.box.encrypt(secret), status="connected", enabled=True)
    svc.integrations.put(record)
    for repository in ACTIVATED:
        svc.repositories.set_enabled(record.id, repository, True, utc_now())
    return record, secret


def call(method: str, body: bytes, params: dict[str, str], request_headers: dict[str, str]) -> func.HttpResponse:
    """The trigger's answer to one request, as the Functions host would pass it in."""
    request = func.HttpRequest(method, "http://localhost/api/events", headers=request_headers, params=params, body=body)
    response = handler(request)
    assert isinstance(response, func.HttpResponse)
    return response


def direct_probe(svc: Services, integration: tuple[Integration, str],
                 bodies: st.SearchStrategy[bytes], examples: int) -> Probe:
    """Run ``examples`` deliveries of ``bodies`` (with varied credentials, headers, methods) through the trigger."""
    record, secret = integration
    jobs_queue = queue_client(svc.settings.storage, JOBS_QUEUE)
    probe = Probe(record.id, lambda: queued_jobs(svc))

    @settings(FUZZ, max_examples=examples)
    @given(body=bodies, creds=credentials(record.id, secret), request_headers=headers,
           method=st.sampled_from(["POST"] * 12 + ["OPTIONS"]))
    def deliver(body: bytes, creds: Credentials, request_headers: dict[str, str], method: str) -> None:
        jobs_queue.clear_messages()
        response = call(method, body, creds.params, request_headers)
        probe.check(creds, method, body, response.status_code, response.get_body())

    deliver()
    return probe


def report(record_property: Callable[[str, object], None], probe: Probe) -> None:
    """Attach the probe's figures to the test's report (``--junitxml``): deliveries tried and held, statuses, jobs."""
    tried = sum(probe.statuses.values())
    record_property("tried", tried)
    record_property("held", tried)
    record_property("statuses", dict(sorted(probe.statuses.items())))
    record_property("jobs_queued", probe.queued)


def test_mutated_event_grid_samples(svc: Services, integration: tuple[Integration, str],
                                    record_property: Callable[[str, object], None]) -> None:
    bodies = st.one_of(sample_deliveries(), sample_deliveries(), byte_mutations(sample_deliveries()))
    probe = direct_probe(svc, integration, bodies, examples=150)
    assert probe.statuses[200] > 0 and probe.queued > 0, probe.statuses  # the batches do reach the queue
    report(record_property, probe)


def test_json_ish_structures_deep_nesting_and_huge_numbers(svc: Services, integration: tuple[Integration, str],
                                                           record_property: Callable[[str, object], None]) -> None:
    probe = direct_probe(svc, integration, st.one_of(json_ish_bodies, byte_mutations(json_ish_bodies)), examples=100)
    report(record_property, probe)


def test_random_bytes(svc: Services, integration: tuple[Integration, str],
                      record_property: Callable[[str, object], None]) -> None:
    probe = direct_probe(svc, integration, raw_bodies, examples=50)
    report(record_property, probe)


@st.composite
def raw_queries(draw: st.DrawFn, creds: Credentials) -> tuple[str, Credentials]:
    """The query string of ``creds``, percent-encoded, sometimes with a repeated or undecodable parameter."""
    query = urlencode(creds.params)
    extra = draw(st.sampled_from(["", "", "", "&integration=0000000000000000", "&secret=%ff%fe", "&secret", "&%zz=1",
                                  "&code=abc"]))
    repeated = ("&integration=" in extra and "integration" in creds.params) or (
        extra.startswith("&secret") and "secret" in creds.params)
    still_valid = creds.valid and not repeated
    return query + extra, Credentials(creds.params, still_valid)


@pytest.mark.e2e
def test_over_http_to_the_served_app(intake: Intake, record_property: Callable[[str, object], None]) -> None:
    probe = Probe(intake.integration.id, lambda: queued_jobs(intake.svc))
    bodies = st.one_of(sample_deliveries(), byte_mutations(sample_deliveries()), json_ish_bodies, raw_bodies)

    @settings(FUZZ, max_examples=60)
    @given(body=bodies, drawn=credentials(intake.integration.id, intake.secret).flatmap(raw_queries),
           request_headers=headers, method=st.sampled_from(["POST"] * 8 + ["OPTIONS"]))
    def deliver(body: bytes, drawn: tuple[str, Credentials], request_headers: dict[str, str], method: str) -> None:
        query, creds = drawn
        intake.clear_jobs()
        response = intake.http.request(method, f"{intake.url}?{query}", data=body, headers=request_headers, timeout=30)
        probe.check(creds, method, body, response.status_code, response.content)

    deliver()
    report(record_property, probe)


def test_the_probe_sees_a_job_the_model_does_not_expect(svc: Services, integration: tuple[Integration, str]) -> None:
    """The checks can fail: a job queued behind the webhook's back is caught."""
    record, secret = integration
    probe = Probe(record.id, lambda: queued_jobs(svc))
    pushed = json.loads((SAMPLES / "ImagePushed.json").read_text())
    body = json.dumps(pushed).encode()
    response = call("POST", body, {"integration": record.id, "secret": secret}, {})
    probe.model.note({pushed[0]["id"]: ExpectedJob("push", "aci-helloworld", pushed[0]["data"]["target"]["digest"],
                                                   "v1", None)})
    with pytest.raises(AssertionError):
        probe.check(Credentials({"integration": record.id, "secret": secret}, True), "POST", body,
                    response.status_code, response.get_body())


@pytest.mark.parametrize("event_time", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0009-01-01T00:00:00Z"])
def test_an_event_time_that_cannot_be_ordered_counts_as_absent(
    svc: Services, integration: tuple[Integration, str], event_time: str
) -> None:
    """Such a time would make the trigger raise (a 500) or sort after every real time: it counts as absent."""
    record, secret = integration
    pushed = json.loads((SAMPLES / "ImagePushed.json").read_text())
    pushed[0]["eventTime"] = event_time
    before = utc_now()
    response = call("POST", json.dumps(pushed).encode(), {"integration": record.id, "secret": secret}, {})
    assert response.status_code == 200 and json.loads(response.get_body())["accepted"] == 1
    (job,) = queued_jobs(svc)
    assert CANONICAL_TIME.fullmatch(job.event_time) and job.event_time >= before  # the time of receipt


def nested_delivery(depth: int) -> bytes:
    """One event of an unknown type (acknowledged, ignored) in a body that nests ``depth`` deep."""
    inner = "[" * (depth - 2) + "]" * (depth - 2)
    return f'[{{"id": "deep-{depth}", "eventType": "Custom.Deep", "x": {inner}}}]'.encode()


def from_deep_stack(frames: int, call: Callable[[], func.HttpResponse]) -> func.HttpResponse:
    """``call()`` made ``frames`` Python frames further down the stack (as a host's own frames would put it)."""
    return call() if frames == 0 else from_deep_stack(frames - 1, call)


@pytest.mark.parametrize(("depth", "status"), [(MAX_NESTING, 200), (MAX_NESTING + 1, 400), (900, 400)])
def test_the_nesting_limit_does_not_depend_on_the_callers_stack(
    svc: Services, integration: tuple[Integration, str], depth: int, status: int
) -> None:
    """The limit is the webhook's own, not Python's recursion limit: a body gets the same answer whether the
    parser's caller is near the top of the stack or deep in it, as under the served host."""
    record, secret = integration
    params = {"integration": record.id, "secret": secret}
    body = nested_delivery(depth)
    shallow = call("POST", body, params, {})
    deep = from_deep_stack(sys.getrecursionlimit() // 2, lambda: call("POST", body, params, {}))
    assert (shallow.status_code, deep.status_code) == (status, status)
