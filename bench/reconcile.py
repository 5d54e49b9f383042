"""The reconciliation sweep over one repository of 1,000 tags: how long one run takes.

Run from the project root: ``.venv/bin/python -m bench.reconcile`` (``--help`` for the options).

The benchmark starts its own Azurite and a :class:`~testkit.registry.RegistryServer` (Debian's
``docker-registry`` as a child process, with token auth; its token service is a thread of this
process, asked once per run), pushes ``--tags`` tiny image manifests that share one layer and one
config, each under its own tag, to one repository, and creates an enabled integration with that
repository activated. The registry has no ACR API, so every tag costs a manifest ``HEAD``: the
sweep's most expensive case (with ACR's ``_tags`` API the digests come 100 to a request). Timed:

- **cold**: a sweep with no image recorded: the tag listing (pages of 100), a ``HEAD`` per tag, the
  repository's records, and a push job per tag enqueued to Azurite's queue;
- **steady**: the same sweep once every image is recorded (the worker's analyzed records written
  straight to Table storage): no job, the hourly cost when no event was lost;
- **HEADs alone**: the same manifest ``HEAD`` requests sent in a row by one client, the floor of
  either sweep on this registry.

The sweeps run unpaced by default (``--min-interval 0``), to time the sweep's own work; the app paces
requests to one registry :data:`~shared.intake.reconcile.MIN_REQUEST_INTERVAL` apart, and the time
that adds is printed beside the figures. Each figure is the best of ``--repeat`` runs, with the
median beside it. The exit status is 1 when a sweep does not queue (cold) or skip (steady) exactly
what it should.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from dataclasses import replace

from shared.clock import utc_now
from shared.images.model import ImageRecord
from shared.intake.jobs import JOBS_QUEUE
from shared.intake.reconcile import MIN_REQUEST_INTERVAL, SweepLimits, SweepReport
from shared.integrations.model import Integration
from shared.registry import Digest, RegistryClient, mediatypes
from shared.registry.catalog import manifest_exists
from shared.secrets import generate_key, new_webhook_secret
from shared.settings import load
from shared.store.azure import queue_client
from shared.wiring import Services, build_services
from testkit.azurite import Azurite
from testkit.images import make_config, make_layer, push_blob, push_manifest
from testkit.registry import RegistryServer

REPOSITORY = "bench/tags"


def push_tags(client: RegistryClient, count: int) -> list[Digest]:
    """``count`` distinct manifests sharing one layer and one config, tagged ``t0000``...; their digests."""
    layer = make_layer({"hello.txt": "hello"})
    config = make_config([layer])
    push_blob(client, REPOSITORY, layer.blob)
    config_digest = push_blob(client, REPOSITORY, config)
    digests = []
    for number in range(count):
        document = {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_MANIFEST,
            "config": {"mediaType": mediatypes.OCI_CONFIG, "digest": str(config_digest), "size": len(config)},
            "layers": [layer.descriptor()],
            "annotations": {"bench.number": str(number)},
        }
        body = json.dumps(document).encode()
        digests.append(push_manifest(client, REPOSITORY, f"t{number:04d}", body, mediatypes.OCI_MANIFEST))
    return digests


def best_and_median(values: list[float]) -> str:
    return f"best {min(values):7.2f} s   median {statistics.median(values):7.2f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tags", type=int, default=1000, help="tags (images) in the repository (default 1000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each sweep (default 3)")
    parser.add_argument("--min-interval", type=float, default=0.0,
                        help=f"seconds between requests to the registry (default 0; the app uses {MIN_REQUEST_INTERVAL})")
    args = parser.parse_args()
    limits = SweepLimits(max_tags=max(args.tags, 1), max_requests=10 * args.tags + 100, max_seconds=3600,
                         min_interval=args.min_interval)

    storage = Azurite()
    storage.start()
    failed = False
    try:
        with RegistryServer() as registry:
            with registry.client(registry.admin) as admin:
                started = time.perf_counter()
                digests = push_tags(admin, args.tags)
                pushed_in = time.perf_counter() - started
            settings = {"AzureWebJobsStorage": storage.connection_string, "LOOKOUT_ENCRYPTION_KEY": generate_key(),
                        "LOOKOUT_TABLE_PREFIX": "bench", "LOOKOUT_ADVISORY_FEEDS": ""}
            svc = build_services(load(settings, None))
            integration = Integration(
                id=uuid.uuid4().hex[:16], registry=registry.host, created=utc_now(),
                webhook_secret_encrypted=svc.box.encrypt(new_webhook_secret()), username=registry.readonly.username,
                password_encrypted=svc.box.encrypt(registry.readonly.password), insecure=True, status="connected",
                enabled=True)
            svc.integrations.put(integration)
            svc.repositories.set_enabled(integration.id, REPOSITORY, True, utc_now())
            reconciler = replace(svc.reconciler, limits=limits)
            queue = queue_client(svc.settings.storage, JOBS_QUEUE)
            queue.create_queue()

            def sweep(expected_jobs: int) -> SweepReport:
                nonlocal failed
                queue.clear_messages()
                report = reconciler.sweep()
                if (report.push_jobs, report.tags, report.failures, report.finished) != (expected_jobs, args.tags, (), True):
                    print(f"unexpected sweep: {report.to_json()}", file=sys.stderr)
                    failed = True
                return report

            sweep(args.tags)  # warm-up: the tables and the queue exist afterwards
            cold = [sweep(args.tags) for _ in range(args.repeat)]
            record_all(svc, integration, digests)
            steady = [sweep(0) for _ in range(args.repeat)]
            heads = [time_heads(registry, digests) for _ in range(args.repeat)]
    finally:
        storage.close()

    requests = statistics.median(r.requests for r in steady)
    print(f"reconciliation sweep: 1 repository, {args.tags} tags (pushed in {pushed_in:.1f} s), registry without "
          f"the ACR API, pacing {args.min_interval:g} s, {args.repeat} runs each")
    print(f"  cold   (a push job per tag): {best_and_median([r.seconds for r in cold])}   "
          f"{statistics.median(r.requests for r in cold):.0f} registry requests")
    print(f"  steady (everything recorded): {best_and_median([r.seconds for r in steady])}   "
          f"{requests:.0f} registry requests")
    print(f"  HEADs alone ({args.tags} in a row): {best_and_median(heads)}")
    print(f"  the app's pacing ({MIN_REQUEST_INTERVAL:g} s between requests) makes a sweep of this repository last "
          f"at least {requests * MIN_REQUEST_INTERVAL:.0f} s")
    return 1 if failed else 0


def record_all(svc: Services, integration: Integration, digests: list[Digest]) -> None:
    """Write an analyzed record per image, as the worker would have."""
    now = utc_now()
    for digest in digests:
        svc.images.put(ImageRecord(registry=integration.registry, repository=REPOSITORY, digest=str(digest),
                                   status="analyzed", event_time=now, received=now, analyzed=now))


def time_heads(registry: RegistryServer, digests: list[Digest]) -> float:
    """Seconds for one client to ``HEAD`` every manifest (after a first request that fetches its token)."""
    with registry.client(registry.readonly) as client:
        manifest_exists(client, REPOSITORY, digests[0])
        started = time.perf_counter()
        for digest in digests:
            if not manifest_exists(client, REPOSITORY, digest):
                raise RuntimeError(f"{digest} is missing")
        return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
