"""The chain index and the public bases on Table storage (Azurite)."""

from __future__ import annotations

import hashlib

from shared.bases.chains import chain_key
from shared.bases.model import MAX_CHAIN_ENTRIES, ChainEntry, PublicBase
from shared.wiring import Services

LONG_CHAIN = tuple("sha256:" + hashlib.sha256(str(n).encode()).hexdigest() for n in range(512))


def entry(repository: str, digest: str = "sha256:" + "a" * 64, tags: tuple[str, ...] = ("1",)) -> ChainEntry:
    return ChainEntry(kind="image", registry="r.example", repository=repository, digest=digest,
                      platform_digest="sha256:" + "b" * 64, layers=3, tags=tags, platform="linux/amd64")


def test_entries_are_filed_replaced_and_unfiled_by_chain(svc: Services) -> None:
    store, key, other = svc.bases, chain_key(LONG_CHAIN[:3]), chain_key(LONG_CHAIN[:2])
    assert store.entries(key) == []
    store.file(key, entry("team/a"))
    store.file(key, entry("team/b"))
    store.file(key, entry("team/a", tags=("1", "2")))
    store.file(other, entry("team/c"))
    assert sorted((e.repository, e.tags) for e in store.entries(key)) == [("team/a", ("1", "2")), ("team/b", ("1",))]
    store.unfile(key, entry("team/a"))
    store.unfile(key, entry("team/absent"))
    assert [e.repository for e in store.entries(key)] == ["team/b"]
    assert [e.repository for e in store.entries(other)] == ["team/c"]


def test_a_chain_read_is_bounded(svc: Services) -> None:
    key = chain_key(LONG_CHAIN[:1])
    for n in range(MAX_CHAIN_ENTRIES + 5):
        svc.bases.file(key, entry(f"team/r{n}"))
    assert len(svc.bases.entries(key)) == MAX_CHAIN_ENTRIES


def test_public_bases_keep_the_longest_chain_and_list_by_name_and_tag(svc: Services) -> None:
    store = svc.bases
    long = PublicBase("library/debian", "bookworm", "sha256:" + "c" * 64, LONG_CHAIN, "linux/amd64", "2026-01-01")
    store.put_public(long)
    store.put_public(PublicBase("library/alpine", "3.20", "sha256:" + "d" * 64, LONG_CHAIN[:1]))
    store.put_public(PublicBase("library/debian", "12", "sha256:" + "e" * 64, LONG_CHAIN[:2]))
    assert store.get_public("library/debian", "bookworm") == long
    assert store.get_public("library/debian", "trixie") is None
    assert [(b.name, b.tag) for b in store.list_public()] == [
        ("library/alpine", "3.20"), ("library/debian", "12"), ("library/debian", "bookworm")]
    assert [b.tag for b in store.list_public("library/debian")] == ["12", "bookworm"]
