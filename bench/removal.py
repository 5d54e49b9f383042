"""Removal and housekeeping on Azurite: the two purges that read a whole table, timed.

Run from the project root: ``.venv/bin/python -m bench.removal`` (``--help`` for the options).

The chain index is keyed by content, not by registry, so unfiling a registry's images on removal reads
every row of it (:meth:`~shared.store.base_records.BaseStore.purge_registry`); the daily prune of
notification deliveries reads every delivery last updated before the cutoff
(:meth:`~shared.store.notification_deliveries.NotificationDeliveryStore.prune`). The benchmark starts its
own Azurite and fills:

- the chain index with ``--chains`` entries, half of them of the registry being removed (written in
  batches, straight to the table), then times the purge;
- ``--endpoints`` endpoints with ``--deliveries`` deliveries each, three quarters of them older than
  the retention, then times the prune.

Each figure is printed with the rows read and deleted. The exit status is 1 when a purge or prune does
not delete exactly what it should.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from shared.bases.model import ChainEntry
from shared.notify.model import Delivery
from shared.secrets import generate_key
from shared.settings import load
from shared.store.azure import Tables
from shared.store.batches import upsert_rows
from shared.wiring import build_services
from testkit.azurite import Azurite

REMOVED, KEPT = "removed.example", "kept.example"
OLD, RECENT, CUTOFF = "2026-01-01T00:00:00.000000Z", "2026-03-01T00:00:00.000000Z", "2026-02-01T00:00:00.000000Z"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chains", type=int, default=10_000, help="entries in the chain index (default 10000)")
    parser.add_argument("--endpoints", type=int, default=20, help="notification endpoints (default 20)")
    parser.add_argument("--deliveries", type=int, default=500, help="deliveries per endpoint (default 500)")
    args = parser.parse_args()
    storage = Azurite()
    storage.start()
    failed = False
    try:
        settings = load({"AzureWebJobsStorage": storage.connection_string, "LOOKOUT_ENCRYPTION_KEY": generate_key(),
                         "LOOKOUT_TABLE_PREFIX": "bench", "LOOKOUT_ADVISORY_FEEDS": ""}, None)
        svc = build_services(settings)
        tables = Tables(settings.storage, settings.table_prefix)  # filled in batches, as no app path does
        rows = []
        for n in range(args.chains):
            registry = REMOVED if n % 2 == 0 else KEPT
            digest = f"sha256:{n:064x}"
            entry = ChainEntry(kind="image", registry=registry, repository="team/app", digest=digest,
                               platform_digest=digest, layers=3)
            rows.append({"PartitionKey": f"{n % 997:064x}", "RowKey": entry.identity,
                         "entry": json.dumps(entry.to_json(), separators=(",", ":"))})
        upsert_rows(tables.table("basechains"), rows, "fill the chain index")
        started = time.perf_counter()
        purged = svc.bases.purge_registry(REMOVED)
        elapsed = time.perf_counter() - started
        expected = (args.chains + 1) // 2
        print(f"chain index purge: {args.chains} entries read, {purged} unfiled in {elapsed:.2f} s "
              f"({elapsed / max(args.chains, 1) * 1000:.3f} ms per entry read)")
        failed |= purged != expected

        deliveries = []
        for e in range(args.endpoints):
            for d in range(args.deliveries):
                when = OLD if d < args.deliveries * 3 // 4 else RECENT
                deliveries.append(Delivery(endpoint_id=f"e{e}", id=f"n{d}-e{e}", event="new-finding", image="x",
                                           status="delivered", created=when, updated=when))
        table = tables.table("notifydeliveries")
        upsert_rows(table, [{"PartitionKey": d.endpoint_id, "RowKey": d.id, "delivery": d.id, "updated": d.updated}
                            for d in deliveries], "fill the deliveries")
        started = time.perf_counter()
        pruned = svc.notification_deliveries.prune(CUTOFF)
        elapsed = time.perf_counter() - started
        old = args.endpoints * (args.deliveries * 3 // 4)
        print(f"delivery prune: {len(deliveries)} deliveries, {old} old, {pruned} deleted in {elapsed:.2f} s")
        failed |= pruned != old
    finally:
        storage.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
