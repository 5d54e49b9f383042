"""Deliveries under stress, through HTTP to ``lookout serve``: duplicates in a burst, and storage failing mid-delivery.

Event Grid delivers at least once: the same delivery may arrive many times at once, the same image
may come under many event ids, and every answer but 2xx (and the four it gives up on) means the
delivery comes again. These tests emulate that sender against the real app and look at what it
left behind: the jobs on its queue, and the image records its worker wrote.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.data.tables import TableClient, TableServiceClient, UpdateMode
from azure.storage.queue import QueueClient

from devhost.config import HOST_JSON, HostConfig
from shared.analysis import MemoryLayerCache, analyze_image
from shared.intake.jobs import JOBS_QUEUE
from shared.registry import mediatypes
from shared.store.azure import queue_client
from testkit.events import image_pushed
from testkit.images import push_image, tree_entries
from testkit.localhost import PROJECT_ROOT
from testkit.processes import wait_until
from testkit.stack import Stack
from testkit.storage import queued_jobs
from tests.faults.conftest import Intake
from tests.faults.deliveries import REGISTRY

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(150)]

TESTDATA = Path(__file__).resolve().parents[1] / "analysis" / "testdata"
OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'
COPIES = 20


def answer_of(response: requests.Response) -> dict[str, Any]:
    body = response.json()
    assert isinstance(body, dict)
    return body


def test_twenty_concurrent_copies_of_a_delivery_queue_exactly_one_job(
    intake: Intake, record_property: Callable[[str, object], None]
) -> None:
    intake.clear_jobs()
    event_id = str(uuid.uuid4())
    event = image_pushed(REGISTRY, "lookout/fuzz", "sha256:" + uuid.uuid4().hex * 2, "burst",
                         mediatypes.OCI_MANIFEST, 1234, event_id=event_id)
    start = threading.Barrier(COPIES)

    def deliver(_: int) -> requests.Response:
        start.wait(timeout=30)
        return requests.post(intake.url, params=intake.params, json=[event], timeout=30,
                             headers={"aeg-event-type": "Notification"})

    with ThreadPoolExecutor(max_workers=COPIES) as pool:
        answers = list(pool.map(deliver, range(COPIES)))
    statuses = Counter(a.status_code for a in answers)
    assert set(statuses) <= {200, 503}, statuses
    first = [answer_of(a) for a in answers]
    assert all(b["in_flight"] == 1 for a, b in zip(answers, first, strict=True) if a.status_code == 503), first
    finals: list[dict[str, Any]] = []
    redelivered = 0
    for answer in answers:  # Event Grid delivers a 503 again; by now the winner has queued the job
        while answer.status_code == 503:
            redelivered += 1
            answer = requests.post(intake.url, params=intake.params, json=[event], timeout=30)
        finals.append(answer_of(answer))
    assert sum(b["accepted"] for b in finals) == 1, finals
    assert all(b["accepted"] + b["duplicates"] == 1 for b in finals), finals
    assert [job.event_id for job in queued_jobs(intake.svc)] == [event_id]
    record_property("tried", COPIES)
    record_property("held", COPIES)
    record_property("first_answers", dict(statuses))
    record_property("redelivered_503", redelivered)


def packaged_image_layers() -> list[dict[str, bytes | str]]:
    """A Debian base with dpkg packages, and a layer of Python packages: an image whose SBOM has content."""
    return [
        {**tree_entries(TESTDATA / "distro" / "debian"), **tree_entries(TESTDATA / "dpkg")},
        dict(tree_entries(TESTDATA / "python")),
    ]


def test_one_digest_under_twenty_event_ids_is_recorded_once_and_completely(
    stack: Stack, record_property: Callable[[str, object], None]
) -> None:
    repository = "faults/many-ids"
    stack.activate(repository)
    pushed = push_image(stack.registry, repository, "v1", packaged_image_layers())
    with stack.registry.client(stack.registry.readonly) as client:
        expected = analyze_image(client, repository, "v1", cache=MemoryLayerCache()).platforms[0]
    assert expected.packages
    events = [image_pushed(stack.registry.host, repository, str(pushed.digest), "v1", pushed.media_type, pushed.size)
              for _ in range(COPIES)]
    start = threading.Barrier(COPIES)

    def deliver(event: dict[str, Any]) -> requests.Response:
        start.wait(timeout=30)
        return requests.post(stack.integration["webhook_url"], json=[event], timeout=30)

    with ThreadPoolExecutor(max_workers=COPIES) as pool:
        answers = list(pool.map(deliver, events))
    assert [a.status_code for a in answers] == [200] * COPIES
    assert sum(answer_of(a)["accepted"] for a in answers) == COPIES  # one job per event id

    def settled() -> bool:
        records = stack.svc.images.list_repository(stack.registry.host, repository)
        return stack.drained() and len(records) == 1 and records[0].status == "analyzed"

    wait_until(settled, timeout=60, what="the twenty jobs to be processed")
    (record,) = stack.svc.images.list_repository(stack.registry.host, repository)
    assert (record.digest, record.status, record.error_code) == (str(pushed.digest), "analyzed", None)
    (platform,) = record.platforms
    assert [layer.digest for layer in platform.layers] == [str(d) for d in pushed.layer_digests]
    assert [layer.diff_id for layer in platform.layers] == [str(d) for d in pushed.diff_ids]
    assert platform.package_counts == dict(sorted(Counter(p.type for p in expected.packages).items()))
    assert platform.problems == len(expected.problems)
    assert stack.svc.images.tags_of(stack.registry.host, repository, str(pushed.digest)) == ["v1"]
    sbom = stack.svc.sboms.get(stack.registry.host, repository, platform.digest)
    assert sbom is not None
    assert sorted(p.purl for p in sbom.packages) == sorted(p.purl for p in expected.packages)
    record_property("tried", COPIES)
    record_property("held", COPIES)
    record_property("packages", len(expected.packages))


# -- storage down mid-delivery ---------------------------------------------------------------------

NEW_BATCH_THRESHOLD = HostConfig.load(PROJECT_ROOT / HOST_JSON).queues.new_batch_threshold
"""The host fetches more messages only while no more than this many are in flight."""
HELD_BY_WORKER = NEW_BATCH_THRESHOLD + 2
"""Jobs sent before the outage: the worker takes more of them than ``NEW_BATCH_THRESHOLD`` and holds them
while the registry is frozen, so its poller fetches nothing during the outage."""
BATCH = 30
"""Events of the one large delivery that storage fails in the middle of."""
SINGLES = 8
"""One-event deliveries that keep arriving through the outage."""
IMAGES = HELD_BY_WORKER + BATCH + SINGLES

STAGGER_S = 0.1
REDELIVERY_PAUSE_S = 0.2
STALE_CLAIM = "2000-01-01T00:00:00.000000Z"


@contextmanager
def frozen(process: subprocess.Popen[bytes] | None) -> Iterator[None]:
    """Stop ``process`` (SIGSTOP) for the block: the kernel still accepts connections to it; nothing answers."""
    assert process is not None and process.poll() is None
    os.kill(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(process.pid, signal.SIGCONT)


@dataclass
class Sender:
    """One delivery sent as Event Grid does: again after any answer but 2xx, until a 2xx arrives."""

    events: list[dict[str, Any]]
    delay: float
    answers: list[tuple[int, dict[str, Any] | None]] = field(default_factory=list)
    accepted: threading.Event = field(default_factory=threading.Event)

    def held_up_since(self, mark: int) -> bool:
        """Whether the latest answer, after the first ``mark``, is a 503 for events another delivery holds."""
        if len(self.answers) <= mark:
            return False
        code, body = self.answers[-1]
        return code == 503 and body is not None and body.get("in_flight", 0) > 0

    def run(self, stack: Stack, stop: threading.Event) -> None:
        stop.wait(self.delay)
        while not stop.is_set():
            try:
                response = stack.post_events(self.events, timeout=60)
            except requests.RequestException:
                self.answers.append((0, None))
            else:
                try:
                    body = response.json()
                except ValueError:
                    body = None
                self.answers.append((response.status_code, body))
                if 200 <= response.status_code < 300:
                    self.accepted.set()
                    return
            stop.wait(REDELIVERY_PAUSE_S)


def waited(stack: Stack, condition: Callable[[], object], what: str, timeout: float = 30) -> None:
    """:func:`wait_until`, failing with the end of the app's log."""
    try:
        wait_until(condition, timeout=timeout, what=what)
    except AssertionError as error:
        raise AssertionError(f"{error}\n--- app log ---\n{stack.app.log_tail(80)}") from None


def in_flight(jobs: QueueClient) -> int:
    """Messages taken off the queue and not yet completed (counted, but invisible)."""
    total = jobs.get_queue_properties().approximate_message_count or 0
    return total - len(jobs.peek_messages(max_messages=32))


def event_log(stack: Stack) -> TableClient:
    """The app's table of claimed event ids."""
    service = TableServiceClient.from_connection_string(stack.storage.connection_string)
    return service.get_table_client(f"{stack.svc.settings.table_prefix}events")


def queued_among(table: TableClient, event_ids: set[str]) -> int:
    """How many of ``event_ids`` the event log has confirmed (their jobs are on the queue)."""
    return sum(1 for row in table.query_entities("state eq 'queued'", select=["event"]) if row["event"] in event_ids)


def age_stranded_claims(table: TableClient) -> int:
    """Make the pending claims of the event log older than the claim timeout; return how many there were.

    A delivery cut off between claiming an event and confirming its job leaves a pending claim that
    storage could not release; redeliveries get 503 ``in-flight`` until it expires (two minutes),
    well before Event Grid's fourth retry (five minutes). Ageing it stands for that wait.
    """
    stranded = list(table.query_entities("state eq 'pending'"))
    for entity in stranded:
        entity["claimed"] = STALE_CLAIM
        table.update_entity(entity, mode=UpdateMode.MERGE)
    return len(stranded)


def test_storage_down_mid_delivery_answers_503_and_loses_no_event(
    stack: Stack, record_property: Callable[[str, object], None]
) -> None:
    repository = "faults/outage"
    stack.activate(repository)
    images = [push_image(stack.registry, repository, f"v{i}", [{"etc/os-release": OS_RELEASE, f"srv/{i}": str(i)}])
              for i in range(IMAGES)]
    events = [image_pushed(stack.registry.host, repository, str(p.digest), p.tag, p.media_type, p.size) for p in images]
    held, batched, singles = (events[:HELD_BY_WORKER], events[HELD_BY_WORKER:HELD_BY_WORKER + BATCH],
                              events[HELD_BY_WORKER + BATCH:])
    jobs = queue_client(stack.svc.settings.storage, JOBS_QUEUE)
    table = event_log(stack)
    batch = Sender(batched, 0.0)
    senders = [batch, *(Sender([event], 0.3 + i * STAGGER_S) for i, event in enumerate(singles))]
    stop = threading.Event()
    threads = [threading.Thread(target=s.run, args=(stack, stop), daemon=True) for s in senders]
    aged = 0
    try:
        with frozen(stack.registry.process):
            for event in held:
                assert answer_of(stack.post_events([event]))["accepted"] == 1
            waited(stack, lambda: in_flight(jobs) > NEW_BATCH_THRESHOLD, "the worker to take the first jobs")
            for thread in threads:
                thread.start()
            batch_ids = {event["id"] for event in batched}
            wait_until(lambda: queued_among(table, batch_ids), timeout=30, interval=0.005,
                       what="the large delivery to be under way")
            stack.storage.stop()
            try:
                wait_until(lambda: all(s.accepted.is_set() or s.answers for s in senders)
                           and sum(code == 503 for s in senders for code, _ in s.answers) >= 3,
                           timeout=90, what="every remaining delivery to meet the outage")
            finally:
                stack.storage.start()
            marks = [len(s.answers) for s in senders]
            wait_until(lambda: all(s.accepted.is_set() or s.held_up_since(mark) for s, mark in zip(senders, marks, strict=True)),
                       timeout=60, what="redeliveries to be accepted or held up by a claim")
            if not all(s.accepted.is_set() for s in senders):
                aged = age_stranded_claims(table)
            wait_until(lambda: all(s.accepted.is_set() for s in senders), timeout=30, what="redeliveries")
    finally:
        stop.set()
        for thread in threads:
            if thread.ident is not None:
                thread.join(timeout=60)

    answers = [answer for s in senders for answer in s.answers]
    statuses = Counter(code for code, _ in answers)
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[503] >= 3 and any(code == 503 for code, _ in batch.answers), statuses
    assert all(body is not None and body["error"]["message"] for code, body in answers if code == 503), answers
    for sender in senders:
        code, body = sender.answers[-1]
        assert code == 200 and body is not None, sender.answers
        assert body["accepted"] + body["duplicates"] == len(sender.events), body
    _, final = batch.answers[-1]
    assert final is not None

    def analyzed() -> int:
        records = stack.svc.images.list_repository(stack.registry.host, repository)
        return sum(r.status == "analyzed" for r in records)

    wait_until(lambda: analyzed() == IMAGES, timeout=90, what=f"all {IMAGES} images to be analyzed")
    records = stack.svc.images.list_repository(stack.registry.host, repository)
    assert sorted(r.digest for r in records) == sorted(str(p.digest) for p in images)
    assert all(r.status == "analyzed" and r.platforms for r in records)
    record_property("tried", IMAGES)
    record_property("held", analyzed())
    record_property("answers", dict(statuses))
    record_property("batch_duplicates_on_redelivery", final["duplicates"])
    record_property("stranded_claims_aged", aged)
