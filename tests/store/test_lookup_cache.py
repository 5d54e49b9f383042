"""The lookup cache: reuse within the TTL, forgetting on writes, bounded size; and the integration stores using it."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from shared.integrations.model import Integration
from shared.store.integration_records import IntegrationStore, RepositorySettings
from shared.store.lookup_cache import LookupCache
from shared.wiring import Services

NOW = "2026-06-01T12:00:00.000000Z"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Loads:
    """A loader that counts its calls and answers what it is told."""

    def __init__(self, answer: object = "v1") -> None:
        self.answer = answer
        self.calls = 0

    def __call__(self) -> object:
        self.calls += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_an_answer_is_reused_until_the_ttl_then_read_again() -> None:
    clock = Clock()
    cache: LookupCache[str, object] = LookupCache(ttl=5, clock=clock)
    load = Loads()
    assert cache.get("k", load) == "v1" and cache.get("k", load) == "v1"
    assert load.calls == 1
    clock.now += 4.9
    load.answer = "v2"
    assert cache.get("k", load) == "v1"
    clock.now += 0.2
    assert cache.get("k", load) == "v2" and load.calls == 2


def test_an_absent_answer_is_kept_no_longer_than_the_ttl_and_a_failure_not_at_all() -> None:
    clock = Clock()
    cache: LookupCache[str, object] = LookupCache(ttl=5, clock=clock)
    absent = Loads(None)
    assert cache.get("missing", absent) is None and cache.get("missing", absent) is None
    assert absent.calls == 1
    clock.now += 5
    absent.answer = "created"
    assert cache.get("missing", absent) == "created"
    failing = Loads(RuntimeError("storage down"))
    for _ in range(2):
        with pytest.raises(RuntimeError):
            cache.get("broken", failing)
    assert failing.calls == 2
    failing.answer = "back"
    assert cache.get("broken", failing) == "back"


def test_forget_drops_one_answer_or_all_and_a_load_racing_a_forget_is_not_kept() -> None:
    cache: LookupCache[str, object] = LookupCache(ttl=60)
    load = Loads()
    cache.get("a", load)
    cache.get("b", load)
    cache.forget("a")
    assert cache.get("a", load) == "v1" and load.calls == 3
    cache.forget()
    cache.get("b", load)
    assert load.calls == 4

    def racing() -> object:
        cache.forget("c")  # a write lands while the read is on its way
        return "old"

    assert cache.get("c", racing) == "old"
    fresh = Loads("new")
    assert cache.get("c", fresh) == "new" and fresh.calls == 1


def test_the_least_recently_used_answer_goes_first_when_full() -> None:
    cache: LookupCache[int, object] = LookupCache(ttl=60, size=3)
    load = Loads()
    for key in (1, 2, 3):
        cache.get(key, load)
    cache.get(1, load)  # used again: 2 is now the oldest
    cache.get(4, load)
    assert load.calls == 4
    cache.get(1, load)
    cache.get(3, load)
    assert load.calls == 4
    cache.get(2, load)
    assert load.calls == 5


def test_ttl_zero_reads_every_time() -> None:
    cache: LookupCache[str, object] = LookupCache(ttl=0)
    load = Loads()
    cache.get("k", load)
    cache.get("k", load)
    assert load.calls == 2


def test_concurrent_readers_get_the_answer_of_their_own_key() -> None:
    cache: LookupCache[int, object] = LookupCache(ttl=60, size=8)
    errors: list[BaseException] = []

    def read(n: int) -> None:
        try:
            for i in range(300):
                key = (n + i) % 20
                assert cache.get(key, Loads(key * 10)) == key * 10
                if i % 50 == 0:
                    cache.forget((n + i) % 20)
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=read, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


RECORD = Integration(id="0a1b2c3d4e5f6a7b", registry="demo.azurecr.io", created=NOW,
                     webhook_secret_encrypted="not-a-real-ciphertext", status="connected", enabled=True)


def test_cached_reads_see_this_stores_writes_at_once_and_another_instances_after_the_ttl(svc: Services) -> None:
    cached = svc.integrations.with_cached_reads()
    other = IntegrationStore(svc.integrations._tables).with_cached_reads()  # another process: its own cache
    assert cached.get("0a1b2c3d4e5f6a7b") is None
    svc.integrations.put(RECORD)
    assert cached.get("0a1b2c3d4e5f6a7b") == RECORD  # the absent answer was forgotten by the write
    assert other.get("0a1b2c3d4e5f6a7b") == RECORD
    svc.integrations.put(replace(RECORD, enabled=False))
    assert cached.get("0a1b2c3d4e5f6a7b").enabled is False  # type: ignore[union-attr]
    assert other.get("0a1b2c3d4e5f6a7b").enabled is True  # type: ignore[union-attr]  # stale, within its TTL
    assert svc.integrations.get("0a1b2c3d4e5f6a7b").enabled is False  # type: ignore[union-attr]  # never cached
    cached.touch_last_event("0a1b2c3d4e5f6a7b", NOW)
    assert cached.get("0a1b2c3d4e5f6a7b").last_event == NOW  # type: ignore[union-attr]
    assert svc.integrations.get("0a1b2c3d4e5f6a7b").last_event == NOW  # type: ignore[union-attr]
    svc.integrations.delete("0a1b2c3d4e5f6a7b")
    assert cached.get("0a1b2c3d4e5f6a7b") is None
    cached.touch_last_event("0a1b2c3d4e5f6a7b", NOW)  # a delivery racing the removal recreates nothing
    assert svc.integrations.get("0a1b2c3d4e5f6a7b") is None and svc.integrations.list() == []


def test_cached_activation_is_forgotten_on_every_write_that_changes_it(svc: Services) -> None:
    cached = svc.repositories.with_cached_reads()
    assert cached.is_enabled("i1", "team/app") is False
    svc.repositories.set_enabled("i1", "team/app", True, NOW)
    assert cached.is_enabled("i1", "team/app") is True
    svc.repositories.set_enabled("i1", "team/other", True, NOW)
    assert cached.is_enabled("i1", "team/other") is True
    other = RepositorySettings(svc.integrations._tables).with_cached_reads()
    assert other.is_enabled("i1", "team/app") is True
    svc.repositories.delete_all("i1")
    assert cached.is_enabled("i1", "team/app") is False and cached.is_enabled("i1", "team/other") is False
    assert other.is_enabled("i1", "team/app") is True  # another process's cache: stale within its TTL
    assert svc.repositories.is_enabled("i1", "team/app") is False
