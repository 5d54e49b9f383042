"""Webhook throughput and latency on the local host, each figure beside the raw enqueue rate of the same Azurite.

Run: ``make bench`` (or ``.venv/bin/python -m bench.webhook --events 1200 --rounds 4``).

Single-event deliveries (``maxEventsPerBatch: 1``, as the registry template sets) go to ``lookout
serve`` for an activated repository of an enabled integration, so every delivery authenticates,
checks activation, claims its event id, enqueues one job and confirms the claim. The worker function
is disabled (``AzureWebJobs.analyze.Disabled``, as in Azure) so only the webhook is measured.

The yardstick is ``send_message`` of the same job text to another queue of the same Azurite at the
same concurrency, from this process: the bound the webhook could reach if it did nothing but
enqueue. The machine may be busy, so webhook and yardstick run in alternating rounds (``--rounds``)
and the ratio printed is the median of the rounds' ratios; the load average is printed too.

Figures: for each concurrency (1, 8, 64 by default) the webhook's events/s with p50/p99 latency, the
yardstick's messages/s and the ratio, and the local host's floor: the rate of CloudEvents handshakes
(``OPTIONS``: HTTP, the function and the cached authentication, no storage call), which no delivery
can beat, as a fraction of the yardstick; then batched deliveries (``--batch`` events each, one delivery
at a time), whose events/s is set beside the yardstick at the webhook's enqueue concurrency.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests

from shared.clock import utc_now
from shared.intake.jobs import Job, encode_job
from shared.intake.webhook import ENQUEUE_CONCURRENCY
from shared.integrations.model import Integration
from shared.secrets import generate_key, new_webhook_secret
from shared.settings import load
from shared.store.azure import queue_client
from shared.wiring import build_services
from testkit.azurite import Azurite
from testkit.events import image_pushed
from testkit.localhost import ServedApp

REGISTRY = "bench.azurecr.io"
REPOSITORY = "bench/app"
MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"


def timed_run(count: int, concurrency: int, action: Callable[[int], object]) -> tuple[float, list[float]]:
    """Run ``action(i)`` for i < count on ``concurrency`` threads; wall time and per-call latencies (s)."""
    latencies: list[float] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        started = time.perf_counter()
        action(i)
        elapsed = time.perf_counter() - started
        with lock:
            latencies.append(elapsed)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(count)))
    return time.perf_counter() - started, latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@dataclass
class Series:
    """Rounds of one measurement: items done, wall seconds and latencies per round."""

    items: int = 0
    wall: float = 0.0
    latencies: list[float] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)

    def add(self, items: int, wall: float, latencies: list[float]) -> None:
        self.items += items
        self.wall += wall
        self.latencies += latencies
        self.rates.append(items / wall)

    @property
    def rate(self) -> float:
        return self.items / self.wall


def ratio(webhook: Series, raw: Series) -> float:
    """The median over rounds of webhook rate / yardstick rate (each pair measured back to back)."""
    return statistics.median(w / r for w, r in zip(webhook.rates, raw.rates, strict=True))


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} CPUs"


class Bench:
    """Deliveries to the served app's webhook URL, and the raw ``send_message`` they are compared with."""

    def __init__(self, url: str, raw_send: Callable[[], object]) -> None:
        self.url = url
        self.raw_send = raw_send
        self._sessions = threading.local()
        self._counter = 0
        self._lock = threading.Lock()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._sessions, "s", None)
        if session is None:
            session = requests.Session()
            self._sessions.s = session
        return session

    def _events(self, count: int) -> list[dict[str, Any]]:
        with self._lock:
            first = self._counter
            self._counter += count
        return [image_pushed(REGISTRY, REPOSITORY, "sha256:" + uuid.uuid4().hex * 2, f"t{first + n}", MEDIA_TYPE, 1000)
                for n in range(count)]

    def deliver(self, events: list[dict[str, Any]]) -> None:
        body = json.dumps(events).encode()
        response = self._session().post(self.url, data=body, timeout=60, headers={"Content-Type": "application/json"})
        if response.status_code != 200 or response.json().get("accepted") != len(events):
            raise RuntimeError(f"a delivery failed: {response.status_code} {response.text[:300]}")

    def singles(self, count: int, concurrency: int) -> tuple[float, list[float]]:
        bodies = [self._events(1) for _ in range(count)]
        return timed_run(count, concurrency, lambda i: self.deliver(bodies[i]))

    def batches(self, deliveries: int, size: int) -> tuple[float, list[float]]:
        bodies = [self._events(size) for _ in range(deliveries)]
        return timed_run(deliveries, 1, lambda i: self.deliver(bodies[i]))

    def handshake(self) -> None:
        response = self._session().options(self.url, timeout=60, headers={"WebHook-Request-Origin": "eventgrid.azure.net"})
        if response.status_code != 200:
            raise RuntimeError(f"a handshake failed: {response.status_code} {response.text[:300]}")

    def handshakes(self, count: int, concurrency: int) -> tuple[float, list[float]]:
        return timed_run(count, concurrency, lambda _: self.handshake())

    def raw(self, count: int, concurrency: int) -> tuple[float, list[float]]:
        return timed_run(count, concurrency, lambda _: self.raw_send())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1200, help="single-event deliveries per concurrency")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--rounds", type=int, default=4, help="alternating webhook/yardstick rounds per figure")
    parser.add_argument("--batch", type=int, default=1000, help="events per batched delivery")
    parser.add_argument("--batches", type=int, default=4, help="batched deliveries (one per round)")
    args = parser.parse_args()

    storage = Azurite()
    storage.start()
    settings = {"AzureWebJobsStorage": storage.connection_string, "LOOKOUT_ENCRYPTION_KEY": generate_key(),
                "LOOKOUT_TABLE_PREFIX": "bench", "AzureWebJobs.analyze.Disabled": "true"}
    app = ServedApp(settings)
    lines = [f"at start: {load_average()}"]
    try:
        app.start()
        svc = build_services(load(settings, None))
        secret = new_webhook_secret()
        integration = Integration(id=uuid.uuid4().hex[:16], registry=REGISTRY, created=utc_now(),
                                  webhook_secret_encrypted=svc.box.encrypt(secret), status="connected", enabled=True)
        svc.integrations.put(integration)
        svc.repositories.set_enabled(integration.id, REPOSITORY, True, utc_now())
        raw_queue = queue_client(svc.settings.storage, "bench-raw")
        raw_queue.create_queue()
        text = encode_job(Job(kind="push", integration_id=integration.id, registry=REGISTRY, repository=REPOSITORY,
                              digest="sha256:" + "0" * 64, tag="t", event_time=utc_now()))
        bench = Bench(f"{app.url}/api/events?integration={integration.id}&secret={secret}",
                      lambda: raw_queue.send_message(text))
        bench.singles(16, 8)  # warm up: tables, the queue and connections exist afterwards
        bench.raw(16, 8)

        for concurrency in args.concurrency:
            webhook, raw, floor = Series(), Series(), Series()
            per_round = max(args.events // args.rounds, concurrency)
            for _ in range(args.rounds):
                webhook.add(per_round, *bench.singles(per_round, concurrency))
                raw.add(per_round, *bench.raw(per_round, concurrency))
                floor.add(per_round, *bench.handshakes(per_round, concurrency))
            lines.append(
                f"concurrency {concurrency:3d}: webhook {webhook.rate:7.1f} events/s "
                f"(p50 {percentile(webhook.latencies, 0.5) * 1000:6.1f} ms, "
                f"p99 {percentile(webhook.latencies, 0.99) * 1000:6.1f} ms)   "
                f"raw enqueue {raw.rate:7.1f} messages/s (p50 {percentile(raw.latencies, 0.5) * 1000:5.1f} ms, "
                f"p99 {percentile(raw.latencies, 0.99) * 1000:6.1f} ms)   "
                f"ratio {ratio(webhook, raw):.2f}")
            lines.append(
                f"               the local host's floor: {floor.rate:7.1f} handshakes/s (p50 "
                f"{percentile(floor.latencies, 0.5) * 1000:5.1f} ms; HTTP, function and cached authentication, no "
                f"storage call), {floor.rate / max(raw.rate, 1e-9):.2f} of the raw enqueue rate")

        batched, raw = Series(), Series()
        for _ in range(args.batches):
            wall, latencies = bench.batches(1, args.batch)
            batched.add(args.batch, wall, latencies)
            raw.add(args.batch, *bench.raw(args.batch, ENQUEUE_CONCURRENCY))
        lines.append(
            f"batched: {args.batches} deliveries of {args.batch} events, one at a time: {batched.rate:7.1f} events/s "
            f"(per delivery p50 {percentile(batched.latencies, 0.5):.2f} s)   raw enqueue at concurrency "
            f"{ENQUEUE_CONCURRENCY} {raw.rate:7.1f} messages/s   ratio {ratio(batched, raw):.2f}")
    finally:
        app.close()
        storage.close()
    lines.append(f"at end: {load_average()}")
    print(f"webhook: {args.events} single-event deliveries per concurrency in {args.rounds} rounds, "
          "each round beside the raw enqueue of the same Azurite")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
