"""Analysis leases on Azurite: one holder at a time, the holder's own retry, expiry, release."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from shared.wiring import Services

DIGEST = "sha256:" + "5" * 64
NOW = "2026-06-01T12:00:00.000000Z"
LATER = "2026-06-01T12:15:00.000000Z"
AFTER = "2026-06-01T12:20:00.000000Z"


def test_of_concurrent_takers_exactly_one_gets_the_lease(svc: Services) -> None:
    with ThreadPoolExecutor(max_workers=10) as pool:
        taken = list(pool.map(lambda n: svc.leases.acquire("r.example", "app", DIGEST, f"m{n}", NOW, LATER), range(20)))
    assert taken.count(True) == 1


def test_the_holder_takes_its_lease_back_others_wait_for_expiry_or_release(svc: Services) -> None:
    assert svc.leases.acquire("r.example", "app", DIGEST, "first", NOW, LATER)
    assert svc.leases.acquire("r.example", "app", DIGEST, "first", NOW, LATER)  # the same message, redelivered
    assert not svc.leases.acquire("r.example", "app", DIGEST, "second", NOW, LATER)
    assert svc.leases.acquire("r.example", "app", DIGEST, "second", AFTER, "2026-06-01T12:35:00.000000Z")  # expired
    svc.leases.release("r.example", "app", DIGEST, "first")  # not the holder any more: nothing happens
    assert not svc.leases.acquire("r.example", "app", DIGEST, "third", AFTER, LATER)
    svc.leases.release("r.example", "app", DIGEST, "second")
    assert svc.leases.acquire("r.example", "app", DIGEST, "third", AFTER, LATER)
    svc.leases.release("r.example", "app", "sha256:" + "6" * 64, "nobody")  # no lease: no error


def test_the_current_lease_is_readable_until_released(svc: Services) -> None:
    assert svc.leases.current("r.example", "app", DIGEST) is None
    assert svc.leases.acquire("r.example", "app", DIGEST, "first", NOW, LATER)
    lease = svc.leases.current("r.example", "app", DIGEST)
    assert lease is not None and (lease.holder, lease.until) == ("first", LATER)
    svc.leases.release("r.example", "app", DIGEST, "first")
    assert svc.leases.current("r.example", "app", DIGEST) is None
