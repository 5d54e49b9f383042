"""The advisory index on Azurite: exact counters, the listing worst first, moves, aliases, retries, concurrency."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from shared.errors import StorageUnavailable
from shared.images.listing import AdvisoryHit, AdvisorySummary
from shared.store.affected_images import GROUP_IMAGES, AffectedImageStore
from shared.vulns.report import LEVELS
from shared.wiring import Services

REGISTRY = "r.example"
PLATFORM = "sha256:" + "e" * 64


def hit(advisory: str, name: str = "pkg", level: str = "high", score: float | None = 7.5, aliases: Sequence[str] = (),
        fixed: Sequence[str] = ("1.1",), version: str = "1.0") -> AdvisoryHit:
    severity = {"rating": level, "score": score, "type": "CVSS_V3" if score else "", "vector": "", "source": advisory,
                "origin": ""}
    return AdvisoryHit(advisory=advisory, aliases=tuple(aliases), summary=f"{advisory} in {name}", severity=severity,
                       level=level, references=({"type": "WEB", "url": f"https://example.test/{advisory}"},),
                       platform="linux/amd64", platform_digest=PLATFORM, package=f"pkg:pypi/{name}@{version}",
                       name=name, installed_version=version, fixed_versions=tuple(fixed))


def digest(number: int) -> str:
    return f"sha256:{number:064x}"


def everything(store: AffectedImageStore, levels: Sequence[str] = LEVELS, limit: int = 2) -> list[AdvisorySummary]:
    found: list[AdvisorySummary] = []
    cursor = None
    while True:
        page = store.listing(levels, limit, cursor)
        found += page.items
        if page.cursor is None:
            return found
        cursor = page.cursor


def test_counters_listing_and_detail_follow_filings(svc: Services) -> None:
    store = svc.affected
    store.file(REGISTRY, "team/a", digest(1), [
        hit("CVE-2024-1", "openssl", "critical", 9.8, aliases=["GHSA-aaaa-bbbb-cccc"]),
        hit("CVE-2024-2", "zlib", "high", 8.1, fixed=()),
        hit("CVE-2024-3", "curl", "medium", None)])
    store.file(REGISTRY, "team/b", digest(2), [
        hit("CVE-2024-1", "openssl", "critical", 9.8, aliases=["DEBIAN-CVE-2024-1"]),
        hit("CVE-2024-1", "libssl", "critical", 9.8),
        hit("CVE-2024-4", "bash", "critical", None)])
    store.file(REGISTRY, "team/b", digest(3), [hit("CVE-2024-2", "zlib", "high", 7.0, fixed=())])
    listed = everything(store)
    assert [s.id for s in listed] == ["CVE-2024-1", "CVE-2024-4", "CVE-2024-2", "CVE-2024-3"]
    first = listed[0]
    assert (first.images, first.repositories, first.packages, first.fixable) == (2, 2, ("libssl", "openssl"), True)
    assert first.aliases == ("DEBIAN-CVE-2024-1", "GHSA-aaaa-bbbb-cccc") and first.severity["score"] == 9.8
    zlib = listed[2]
    assert (zlib.images, zlib.repositories, zlib.fixable, zlib.severity["score"]) == (2, 2, False, 8.1)
    assert [s.id for s in everything(store, ["high", "medium"])] == ["CVE-2024-2", "CVE-2024-3"]
    by_alias = store.summary("GHSA-aaaa-bbbb-cccc")
    assert by_alias is not None and by_alias.id == "CVE-2024-1" and by_alias.references
    page = store.affected("CVE-2024-1", 1)
    assert [(a.repository, a.digest) for a in page.items] == [("team/a", digest(1))]
    rest = store.affected("CVE-2024-1", 5, page.cursor)
    assert [(a.repository, sorted(h.name for h in a.hits)) for a in rest.items] == [("team/b", ["libssl", "openssl"])]
    assert rest.cursor is None

    # The image that made zlib's worst severity goes: the advisory moves within its level.
    store.file(REGISTRY, "team/a", digest(1), [hit("CVE-2024-1", "openssl", "critical", 9.8)])
    assert [(s.id, s.images) for s in everything(store)] == [("CVE-2024-1", 2), ("CVE-2024-4", 1), ("CVE-2024-2", 1)]
    assert store.summary("CVE-2024-3") is None
    # Filing the same again changes nothing; unfiling every image empties the listing.
    store.file(REGISTRY, "team/b", digest(3), [hit("CVE-2024-2", "zlib", "high", 7.0, fixed=())])
    assert [s.images for s in everything(store)] == [2, 1, 1]
    for number, repository in [(1, "team/a"), (2, "team/b"), (3, "team/b")]:
        store.file(REGISTRY, repository, digest(number), [])
    assert everything(store) == [] and store.summary("CVE-2024-1") is None


def test_a_severity_change_moves_the_advisory_to_its_new_level(svc: Services) -> None:
    store = svc.affected
    store.file(REGISTRY, "team/a", digest(1), [hit("GHSA-moves", "pkg", "low", 2.0)])
    assert [s.level for s in everything(store)] == ["low"]
    store.file(REGISTRY, "team/a", digest(1), [hit("GHSA-moves", "pkg", "critical", 9.1)])
    assert [(s.id, s.level) for s in everything(store)] == [("GHSA-moves", "critical")]
    assert everything(store, ["low"]) == []


def test_concurrent_filings_of_one_advisory_all_count(svc: Services) -> None:
    def file(number: int) -> None:
        svc.affected.file(REGISTRY, f"team/c{number % 3}", digest(number), [hit("CVE-2024-9", f"p{number}")])

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(file, range(12)))
    (only,) = everything(svc.affected)
    assert (only.images, only.repositories, len(only.packages)) == (12, 3, 12)


def test_an_interrupted_filing_is_completed_by_the_next(svc: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    store = svc.affected
    original = AffectedImageStore._write_listing

    def fail(self: AffectedImageStore, entity: dict[str, object], version: int) -> None:
        raise StorageUnavailable("storage went away")

    monkeypatch.setattr(AffectedImageStore, "_write_listing", fail)
    with pytest.raises(StorageUnavailable):
        store.file(REGISTRY, "team/a", digest(1), [hit("CVE-2024-7", aliases=["GHSA-late-late-late"])])
    monkeypatch.setattr(AffectedImageStore, "_write_listing", original)
    assert everything(store) == []  # counted, not listed yet
    store.file(REGISTRY, "team/a", digest(1), [hit("CVE-2024-7", aliases=["GHSA-late-late-late"])])
    assert [(s.id, s.images) for s in everything(store)] == [("CVE-2024-7", 1)]
    found = store.summary("GHSA-late-late-late")
    assert found is not None and found.id == "CVE-2024-7"


def test_purge_unfiles_one_registry(svc: Services) -> None:
    svc.affected.file(REGISTRY, "team/a", digest(1), [hit("CVE-2024-5")])
    svc.affected.file("other.example", "team/a", digest(1), [hit("CVE-2024-5")])
    svc.affected.purge_registry(REGISTRY)
    (left,) = everything(svc.affected)
    assert (left.images, [a.registry for a in svc.affected.affected("CVE-2024-5", 10).items]) == (1, ["other.example"])


def test_many_images_filed_together_count_as_if_filed_one_by_one(svc: Services) -> None:
    """More images of one advisory than one group holds, some gaining it, some losing it, one unchanged:
    the counters, the detail and the listing are those of filing each image on its own."""
    store = svc.affected
    store.file_many([])  # nothing to file: no storage call, no error
    count = GROUP_IMAGES * 2 + 3
    for number in range(4):  # filed before; then digests 0 and 1 lose it, 2 keeps it, "team/b" gets digest 3 too
        store.file(REGISTRY, "team/a", digest(number), [hit("CVE-2024-7", "openssl", "high", 7.5)])
    store.file_many([(REGISTRY, "team/b" if n >= 3 and not n % 3 else "team/a", digest(n),
                      [] if n in (0, 1) else [hit("CVE-2024-7", "zlib" if n == 3 else "openssl", "critical", 9.1)])
                     for n in range(count)] + [(REGISTRY, "team/a", digest(2), [hit("CVE-2024-7", "openssl")])])
    summary = store.summary("CVE-2024-7")
    assert summary is not None
    team_a = {n for n in range(2, count) if n % 3}
    team_b = {n for n in range(3, count) if not n % 3}
    assert summary.images == len(team_a) + len(team_b) + 1  # digest 3 of "team/a" was filed before and kept
    assert (summary.repositories, summary.packages, summary.level) == (2, ("openssl", "zlib"), "critical")
    affected = store.affected("CVE-2024-7", 1000).items
    assert len(affected) == summary.images
    assert [s.id for s in everything(store)] == ["CVE-2024-7"]

    store.file_many([(REGISTRY, image.repository, image.digest, []) for image in affected])
    assert store.summary("CVE-2024-7") is None and everything(store) == []


def test_a_group_too_heavy_for_one_transaction_is_filed_in_halves(svc: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows that would not fit one transaction's body: the group is settled in smaller transactions, and
    the counters are those of filing each image on its own."""
    monkeypatch.setattr("shared.store.affected_images.TRANSACTION_BYTES", 6_000)
    store = svc.affected
    store.file_many([(REGISTRY, "team/heavy", digest(n), [hit("CVE-2024-8", f"pkg{n}-{k}") for k in range(3)])
                     for n in range(21)])
    summary = store.summary("CVE-2024-8")
    assert summary is not None and (summary.images, summary.repositories, len(summary.packages)) == (21, 1, 63)
    assert len(store.affected("CVE-2024-8", 1000).items) == 21
    store.file_many([(REGISTRY, "team/heavy", digest(n), []) for n in range(0, 21, 2)])
    summary = store.summary("CVE-2024-8")
    assert summary is not None and summary.images == 10
