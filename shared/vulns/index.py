"""Where the matcher finds advisories: the :class:`AdvisorySource` seam, and the offline mirror index.

Three protocols, each a refinement of the one before:

- :class:`AdvisorySource` answers "which records may concern these packages?" for matching, and
  "how severe is the flaw with this id?" for findings whose own records give no rating (see
  :mod:`shared.vulns.severity`). The offline mirror (an :class:`AdvisoryMirror`) and the OSV API
  (:mod:`shared.vulns.osvapi`) both implement it; settings choose one.
- :class:`AdvisoryMirror` is the mirror: records keyed by (ecosystem, normalized package name), filled
  from feeds by *incremental* imports. Its Table storage form is in :mod:`shared.store.advisory_mirror`.
- :class:`AdvisoryIndex` also answers by package key and record id; :class:`MemoryIndex` is one, in
  memory.
- :class:`PinnableSource` is a source that can pin one snapshot for a run of lookups (:func:`pinned`):
  the Table mirror reads its snapshot row once per job or re-match instead of once per lookup.

Import contract (:meth:`AdvisoryMirror.import_records`):

- A record is *changed* when its digest differs from the stored one (``modified`` alone cannot be
  trusted: the Go database publishes one placeholder time for every record). Importing the same data
  again changes nothing and reports zero changes.
- A record whose ``modified`` is older than the stored one's is *stale* and ignored (an old mirror
  must not roll the index back), unless either time is a placeholder before 1971.
- With ``complete_ecosystems``, the feed is the whole truth for those ecosystems (an ``all.zip``):
  stored records naming one of them (by base name, ``Debian`` for ``Debian:12``) but missing from
  the feed are removed.
- The result names every (ecosystem, name) key whose records were added, changed or removed —
  old and new keys both, so an SBOM naming a package a record no longer mentions is matched again.
- Withdrawn records are stored like any other (their withdrawal is a change); matching ignores them.
- Severity by id: every id and alias of a record that rates itself
  (:func:`~shared.vulns.severity.self_rating`) is filed with that rating; an id named by several
  such records keeps the preferred rating (:func:`~shared.vulns.severity.best`), and falls back to
  the next when a record changes or goes. When the rating filed under an id changes, the result
  also names the package keys of every record naming that id (its id, aliases or upstream ids):
  their findings may borrow it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Protocol, runtime_checkable

from shared.vulns.feeds import AdvisoryFeed, FeedItem
from shared.vulns.model import Advisory
from shared.vulns.packages import OsvQuery, PackageKey
from shared.vulns.problems import Problem
from shared.vulns.severity import SeverityScore, best, self_rating
from shared.vulns.versions import base_ecosystem

_PLACEHOLDER_BEFORE = datetime(1971, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Lookup:
    """What a source answered: the records per package key, and problems met while answering."""

    records: Mapping[PackageKey, tuple[Advisory, ...]]
    problems: tuple[Problem, ...] = ()

    def for_query(self, query: OsvQuery) -> tuple[Advisory, ...]:
        """The records found under any of ``query``'s keys, each once."""
        seen: dict[str, Advisory] = {}
        for key in query.keys:
            for advisory in self.records.get(key, ()):
                seen.setdefault(advisory.id, advisory)
        return tuple(seen.values())


class AdvisorySource(Protocol):
    """Answers which advisories may concern packages; the matcher decides which actually do."""

    @property
    def snapshot(self) -> str:
        """An identity of the data answered from (changes whenever the data does); ``""`` if unknown."""
        ...

    def lookup(self, queries: Sequence[OsvQuery]) -> Lookup:
        """Records that may concern each query, under every key of the query.

        A source may return more records than concern the versions (the index returns every record
        naming the package); it must not return fewer. Raises
        :class:`~shared.vulns.errors.AdvisorySourceUnavailable` when it cannot answer now.
        """
        ...

    def coverage(self) -> Mapping[str, int] | None:
        """How many records the data holds per exact ecosystem (``Debian:12``, ``PyPI``); an ecosystem
        it holds nothing of is absent (so an empty mirror answers ``{}``). None when the source answers
        for every ecosystem it knows without holding a copy (the OSV API)."""
        ...

    def severities(self, ids: Collection[str]) -> Mapping[str, SeverityScore]:
        """The preferred rating known for each of ``ids``, from the records that rate themselves
        and carry that id as their id or an alias (see :func:`~shared.vulns.severity.self_rating`);
        each rating's ``source`` names the record it came from.

        Ids without a known rating are left out. A source may bound how many ids one call looks
        up: it then answers the first ones in ``ids``'s iteration order, and leaves the rest out.
        Raises :class:`~shared.vulns.errors.AdvisorySourceUnavailable` when it cannot answer now.
        """
        ...


@runtime_checkable
class PinnableSource(AdvisorySource, Protocol):
    """A source that can answer many lookups in a row from one snapshot, reading it once."""

    def pinned(self) -> AdvisorySource:
        """A view answering from the snapshot current now (its ``snapshot`` and ``coverage`` fixed
        for its lifetime). Take one per job or re-match: it may not see imports made by another
        process after it was taken."""
        ...


def pinned(source: AdvisorySource) -> AdvisorySource:
    """``source``'s pinned view (:class:`PinnableSource`), or ``source`` itself when it has none."""
    return source.pinned() if isinstance(source, PinnableSource) else source


@dataclass(frozen=True)
class ImportResult:
    """What an import did. ``changed_keys`` are the package keys to re-match stored SBOMs for."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0
    removed: int = 0
    withdrawn: int = 0
    changed_ids: frozenset[str] = frozenset()
    changed_keys: frozenset[PackageKey] = frozenset()
    problems: tuple[Problem, ...] = ()
    snapshot: str = ""
    imported_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def changed(self) -> int:
        """How many records were added, updated or removed."""
        return self.added + self.updated + self.removed


class AdvisoryMirror(AdvisorySource, Protocol):
    """An advisory source updated by incremental imports (the offline mirror)."""

    def import_records(self, items: Iterable[FeedItem], *, complete_ecosystems: Collection[str] = ()) -> ImportResult:
        """Bring the mirror up to date with ``items`` (see the module notes for the contract)."""
        ...


class AdvisoryIndex(AdvisoryMirror, Protocol):
    """A mirror that also answers by package key and by record id."""

    def records_for(self, key: PackageKey) -> tuple[Advisory, ...]:
        """Every stored record (withdrawn ones too) with an affected entry under ``key``."""
        ...

    def get(self, record_id: str) -> Advisory | None:
        """The stored record with that id, if any."""
        ...


def advisory_keys(advisory: Advisory) -> frozenset[PackageKey]:
    """The package keys a record is filed under: one per affected package."""
    return frozenset(PackageKey.of(a.package.ecosystem, a.package.name) for a in advisory.affected if a.package is not None)


def rated_ids(advisory: Advisory) -> frozenset[str]:
    """The ids a record's own rating is filed under: its id and aliases."""
    return advisory.all_ids


def naming_ids(advisory: Advisory) -> frozenset[str]:
    """The ids whose rating a record's findings may borrow: its id, aliases and upstream ids."""
    return advisory.all_ids | frozenset(advisory.upstream)


def ecosystem_counts(filed: Iterable[tuple[str, str]]) -> dict[str, int]:
    """How many distinct records are filed under each ecosystem, from (record id, ecosystem) pairs."""
    ids: dict[str, set[str]] = {}
    for record_id, ecosystem in filed:
        ids.setdefault(ecosystem, set()).add(record_id)
    return {ecosystem: len(found) for ecosystem, found in sorted(ids.items())}


def snapshot_of(digests: Mapping[str, str]) -> str:
    """The identity of a set of records: SHA-256 over their sorted ``id``/``digest`` pairs (16 hex)."""
    hasher = hashlib.sha256()
    for record_id in sorted(digests):
        hasher.update(f"{record_id}\0{digests[record_id]}\n".encode())
    return hasher.hexdigest()[:16]


def is_stale(incoming: Advisory, stored: Advisory) -> bool:
    """Whether ``incoming`` is older than ``stored`` by trustworthy ``modified`` times."""
    if incoming.modified < _PLACEHOLDER_BEFORE or stored.modified < _PLACEHOLDER_BEFORE:
        return False
    return incoming.modified < stored.modified


def dedupe(items: Iterable[FeedItem]) -> tuple[dict[str, Advisory], list[Problem]]:
    """The feed's records by id (a later ``modified`` wins a duplicate) and its problems."""
    records: dict[str, Advisory] = {}
    problems: list[Problem] = []
    for item in items:
        if isinstance(item, Problem):
            problems.append(item)
            continue
        previous = records.get(item.id)
        if previous is not None and previous.digest != item.digest:
            problems.append(Problem("duplicate-advisory", "the feed holds two different records with this id", record_id=item.id))
            if item.modified <= previous.modified:
                continue
        records[item.id] = item
    return records, problems


class MemoryIndex:
    """An :class:`AdvisoryIndex` in memory (tests, the command line, and a cache for the worker)."""

    def __init__(self) -> None:
        self._records: dict[str, Advisory] = {}
        self._by_key: dict[PackageKey, dict[str, Advisory]] = {}
        self._ratings: dict[str, SeverityScore] = {}
        self._carriers: dict[str, dict[str, SeverityScore]] = {}
        self._rated_before: dict[str, SeverityScore] = {}
        self._snapshot = snapshot_of({})
        self._coverage: tuple[str, Mapping[str, int]] | None = None

    @classmethod
    def from_feed(cls, feed: AdvisoryFeed) -> tuple[MemoryIndex, ImportResult]:
        """A new index holding ``feed``'s records, and the import's result."""
        index = cls()
        return index, index.import_records(feed.read())

    @property
    def snapshot(self) -> str:
        return self._snapshot

    def __len__(self) -> int:
        return len(self._records)

    def records_for(self, key: PackageKey) -> tuple[Advisory, ...]:
        return tuple(self._by_key.get(key, {}).values())

    def get(self, record_id: str) -> Advisory | None:
        return self._records.get(record_id)

    def coverage(self) -> Mapping[str, int]:
        if self._coverage is None or self._coverage[0] != self._snapshot:
            self._coverage = (self._snapshot, ecosystem_counts(
                (record_id, key.ecosystem) for key, records in self._by_key.items() for record_id in records))
        return self._coverage[1]

    def package_keys(self) -> frozenset[PackageKey]:
        """Every package key some record is filed under."""
        return frozenset(self._by_key)

    def lookup(self, queries: Sequence[OsvQuery]) -> Lookup:
        found: dict[PackageKey, tuple[Advisory, ...]] = {}
        for query in queries:
            for key in query.keys:
                if key not in found:
                    found[key] = self.records_for(key)
        return Lookup(records=found)

    def severities(self, ids: Collection[str]) -> Mapping[str, SeverityScore]:
        """The preferred rating filed under each of ``ids`` (no bound: it is a dictionary lookup)."""
        found: dict[str, SeverityScore] = {}
        for record_id in ids:
            carried = self._carriers.get(record_id)
            if carried:
                found[record_id] = best(carried.values())
        return found

    def import_records(self, items: Iterable[FeedItem], *, complete_ecosystems: Collection[str] = ()) -> ImportResult:
        incoming, problems = dedupe(items)
        added = updated = unchanged = stale = removed = withdrawn = 0
        changed_ids: set[str] = set()
        changed_keys: set[PackageKey] = set()
        self._rated_before = {}
        for record_id, advisory in incoming.items():
            stored = self._records.get(record_id)
            if stored is not None and stored.digest == advisory.digest:
                unchanged += 1
                continue
            if stored is not None and is_stale(advisory, stored):
                stale += 1
                continue
            if stored is None:
                added += 1
            else:
                updated += 1
                changed_keys |= self._remove(stored)
            withdrawn += advisory.is_withdrawn
            changed_keys |= self._add(advisory)
            changed_ids.add(record_id)
        complete = {base_ecosystem(e) for e in complete_ecosystems}
        if complete:
            for record_id, stored in list(self._records.items()):
                if record_id in incoming:
                    continue
                if any(base_ecosystem(key.ecosystem) in complete for key in advisory_keys(stored)):
                    changed_keys |= self._remove(stored)
                    changed_ids.add(record_id)
                    removed += 1
        rerated = {name for name, before in self._rated_before.items() if self._rating_of(name) != before}
        self._rated_before = {}
        changed_keys |= self._keys_naming(rerated)
        self._snapshot = snapshot_of({i: a.digest for i, a in self._records.items()})
        return ImportResult(
            added=added,
            updated=updated,
            unchanged=unchanged,
            stale=stale,
            removed=removed,
            withdrawn=withdrawn,
            changed_ids=frozenset(changed_ids),
            changed_keys=frozenset(changed_keys),
            problems=tuple(problems),
            snapshot=self._snapshot,
        )

    def _add(self, advisory: Advisory) -> frozenset[PackageKey]:
        keys = advisory_keys(advisory)
        self._records[advisory.id] = advisory
        for key in keys:
            self._by_key.setdefault(key, {})[advisory.id] = advisory
        rating = self_rating(advisory)
        if rating.known:
            self._ratings[advisory.id] = rating
            for name in rated_ids(advisory):
                self._rated_before.setdefault(name, self._rating_of(name))
                self._carriers.setdefault(name, {})[advisory.id] = rating
        return keys

    def _remove(self, advisory: Advisory) -> frozenset[PackageKey]:
        keys = advisory_keys(advisory)
        self._records.pop(advisory.id, None)
        for key in keys:
            bucket = self._by_key.get(key)
            if bucket is not None:
                bucket.pop(advisory.id, None)
                if not bucket:
                    del self._by_key[key]
        if self._ratings.pop(advisory.id, None) is not None:
            for name in rated_ids(advisory):
                self._rated_before.setdefault(name, self._rating_of(name))
                carriers = self._carriers.get(name)
                if carriers is not None:
                    carriers.pop(advisory.id, None)
                    if not carriers:
                        del self._carriers[name]
        return keys

    def _rating_of(self, name: str) -> SeverityScore:
        """The preferred rating filed under ``name`` now."""
        return best(self._carriers.get(name, {}).values())

    def _keys_naming(self, ids: set[str]) -> frozenset[PackageKey]:
        """The package keys of every stored record naming one of ``ids`` (see :func:`naming_ids`):
        one pass over the records, only after an import that changed some rating."""
        keys: set[PackageKey] = set()
        if ids:
            for advisory in self._records.values():
                if advisory.id in ids or not ids.isdisjoint(advisory.aliases) or not ids.isdisjoint(advisory.upstream):
                    keys |= advisory_keys(advisory)
        return frozenset(keys)
