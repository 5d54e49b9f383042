"""Webhook throughput and latency on the local host, beside the raw enqueue rate to the same Azurite.

Run: ``make bench`` (or ``.venv/bin/python -m bench.webhook --events 2000 --concurrency 8``).

Each delivery carries one ``ImagePushed`` event (``maxEventsPerBatch: 1``, as the registry template
sets), for an activated repository of an enabled integration, so every delivery authenticates,
checks activation and the event log, enqueues one job and records the event id. The worker function
is disabled for the run (``AzureWebJobs.analyze.Disabled``, as in Azure) so only the webhook is
measured. The raw rate is ``send_message`` of the same job text to another queue of the same Azurite
with the same concurrency: the bound the webhook could reach if it did nothing but enqueue.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import requests

from shared.clock import utc_now
from shared.intake.jobs import Job, encode_job
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    storage = Azurite()
    storage.start()
    settings = {"AzureWebJobsStorage": storage.connection_string, "LOOKOUT_ENCRYPTION_KEY": generate_key(),
                "LOOKOUT_TABLE_PREFIX": "bench", "AzureWebJobs.analyze.Disabled": "true"}
    app = ServedApp(settings)
    try:
        app.start()
        svc = build_services(load(settings, None))
        secret = new_webhook_secret()
        integration = Integration(id=uuid.uuid4().hex[:16], registry=REGISTRY, created=utc_now(),
                                  webhook_secret_encrypted=svc.box.encrypt(secret), status="connected", enabled=True)
        svc.integrations.put(integration)
        svc.repositories.set_enabled(integration.id, REPOSITORY, True, utc_now())
        url = f"{app.url}/api/events?integration={integration.id}&secret={secret}"
        sessions = threading.local()

        def deliver(i: int) -> None:
            session = getattr(sessions, "s", None) or requests.Session()
            sessions.s = session
            digest = "sha256:" + uuid.uuid4().hex * 2
            body = [image_pushed(REGISTRY, REPOSITORY, digest, f"t{i}", "application/vnd.oci.image.manifest.v1+json", 1000)]
            response = session.post(url, json=body, timeout=30)
            if response.status_code != 200 or response.json().get("accepted") != 1:
                raise RuntimeError(f"delivery {i} failed: {response.status_code} {response.text[:200]}")

        deliver(-1)  # warm up: tables and the queue exist afterwards
        webhook_wall, webhook_latencies = timed_run(args.events, args.concurrency, deliver)

        raw = queue_client(svc.settings.storage, "bench-raw")
        raw.create_queue()
        text = encode_job(Job(kind="push", integration_id=integration.id, registry=REGISTRY, repository=REPOSITORY,
                              digest="sha256:" + "0" * 64, tag="t", event_time=utc_now()))
        raw_wall, raw_latencies = timed_run(args.events, args.concurrency, lambda _: raw.send_message(text))
    finally:
        app.close()
        storage.close()

    print(f"webhook: {args.events} single-event deliveries, concurrency {args.concurrency}")
    print(f"  {args.events / webhook_wall:8.1f} events/s   p50 {percentile(webhook_latencies, 0.5) * 1000:6.1f} ms   "
          f"p99 {percentile(webhook_latencies, 0.99) * 1000:6.1f} ms   mean {statistics.mean(webhook_latencies) * 1000:6.1f} ms")
    print(f"raw enqueue: {args.events} send_message calls, concurrency {args.concurrency}")
    print(f"  {args.events / raw_wall:8.1f} messages/s p50 {percentile(raw_latencies, 0.5) * 1000:6.1f} ms   "
          f"p99 {percentile(raw_latencies, 0.99) * 1000:6.1f} ms")
    print(f"webhook rate / raw enqueue rate: {(args.events / webhook_wall) / (args.events / raw_wall):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
