"""The event log on Azurite: claims one at a time, in batches and from concurrent callers; confirm, release, expiry."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from azure.data.tables import TableServiceClient

from shared.store.eventlog import EventLog
from shared.wiring import Services
from testkit.azurite import Azurite

NOW = "2026-06-01T12:00:00.000000Z"
SOON = "2026-06-01T12:00:30.000000Z"
LATER = "2026-06-01T12:05:00.000000Z"


def states(azurite: Azurite, svc: Services, integration: str) -> dict[str, str]:
    """Event id -> state, read straight from the table."""
    table = TableServiceClient.from_connection_string(azurite.connection_string).get_table_client(
        f"{svc.settings.table_prefix}events")
    return {row["event"]: row["state"] for row in table.query_entities("PartitionKey eq @pk", parameters={"pk": integration})}


def test_a_claim_is_claimed_once_accepted_after_confirm_and_free_again_after_release(svc: Services) -> None:
    log = svc.events
    assert log.claim("i1", "e1", NOW) == "claimed"
    assert log.claim("i1", "e1", SOON) == "in-flight"
    assert log.claim("i2", "e1", SOON) == "claimed"  # another integration's event of the same id
    log.confirm("i1", "e1", SOON, "job-1")
    assert log.claim("i1", "e1", LATER) == "accepted"
    assert log.claim("i1", "e2", NOW) == "claimed"
    log.release("i1", "e2")
    assert log.claim("i1", "e2", SOON) == "claimed"
    assert log.claim("i1", "e2", LATER) == "claimed"  # a pending claim older than the timeout is taken over


def test_claim_many_inserts_in_transactions_and_decides_each_existing_row(azurite: Azurite, svc: Services) -> None:
    log = svc.events
    assert log.claim("i1", "queued", NOW) == "claimed"
    log.confirm("i1", "queued", NOW, "job")
    assert log.claim("i1", "fresh", SOON) == "claimed"
    assert log.claim("i1", "stale", NOW) == "claimed"
    new = [f"new-{n}" for n in range(230)]  # three transactions, the second of which meets existing rows
    ids = [*new[:150], "queued", "fresh", "stale", *new[150:]]
    outcomes = log.claim_many("i1", ids, "2026-06-01T12:02:10.000000Z")
    assert outcomes == {**dict.fromkeys(new, "claimed"), "queued": "accepted", "fresh": "in-flight", "stale": "claimed"}
    assert set(states(azurite, svc, "i1")) == set(ids)
    log.confirm_many("i1", {event_id: f"job-{event_id}" for event_id in new}, LATER)
    log.release_many("i1", ["stale", "never-claimed"])
    table = states(azurite, svc, "i1")
    assert "stale" not in table and all(table[e] == "queued" for e in new) and table["fresh"] == "pending"
    again = log.claim_many("i1", [*new[:120], "stale"], LATER)
    assert again == {**dict.fromkeys(new[:120], "accepted"), "stale": "claimed"}


def test_claim_many_refuses_repeated_ids(svc: Services) -> None:
    with pytest.raises(ValueError, match="distinct"):
        svc.events.claim_many("i1", ["a", "b", "a"], NOW)


def test_concurrent_claims_of_one_event_give_exactly_one_holder(svc: Services) -> None:
    start = threading.Barrier(16)

    def claim(_: int) -> str:
        start.wait(timeout=30)
        return svc.events.claim("i1", "raced", NOW)

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(claim, range(16)))
    assert outcomes.count("claimed") == 1 and set(outcomes) == {"claimed", "in-flight"}


def test_concurrent_claims_and_confirms_written_together_keep_every_outcome(azurite: Azurite, svc: Services) -> None:
    log = EventLog(svc.events._tables)  # a second log on the same table: another instance of the app
    for n in range(20):
        assert log.claim("i1", f"done-{n}", NOW) == "claimed"
    start = threading.Barrier(60)

    def work(n: int) -> str | None:
        start.wait(timeout=30)
        if n < 20:
            svc.events.confirm("i1", f"done-{n}", NOW, f"job-{n}")
            return None
        if n < 40:
            return svc.events.claim("i1", f"new-{n}", NOW)
        return svc.events.claim("i1", f"new-{n - 20}", NOW)  # the same 20 events, claimed twice at once

    with ThreadPoolExecutor(max_workers=60) as pool:
        outcomes = list(pool.map(work, range(60)))
    for n in range(20, 40):
        assert sorted([str(outcomes[n]), str(outcomes[n + 20])]) == ["claimed", "in-flight"], (n, outcomes)
    table = states(azurite, svc, "i1")
    assert all(table[f"done-{n}"] == "queued" for n in range(20))
    assert all(table[f"new-{n}"] == "pending" for n in range(20, 40))
    assert [log.claim("i1", f"done-{n}", SOON) for n in range(3)] == ["accepted"] * 3
