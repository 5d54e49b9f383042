"""Matching installed packages against advisories: findings per package and counts per image.

:meth:`Matcher.match` maps each :class:`~shared.vulns.packages.PackageRef` to its OSV package,
asks the :class:`~shared.vulns.index.AdvisorySource` for candidate records in one batch, evaluates
every affected entry naming the package (:mod:`shared.vulns.ranges`), and merges the records that
describe one flaw into one :class:`Finding` per package.

Merging and naming (stable whatever the order of records):

- Records matched for the same package are merged when they share an id through ``aliases``
  (transitively: PYSEC-x → CVE-y ← GHSA-z is one flaw). Withdrawn records are ignored.
- A record that names, as ``upstream`` ids, the ids of other records matched for the package joins
  their findings instead of making its own (a Debian DSA naming ``CVE-x`` and ``DEBIAN-CVE-x`` is the
  finding of ``DEBIAN-CVE-x``); one naming several such flaws joins each of them.
- The finding's ``id`` is the group's lowest CVE id (by year, then number); without a CVE, the
  lowest GHSA id; else the lowest id. ``aliases`` are all the other ids, ``advisory_ids`` the
  records that matched.
- ``fixed_versions`` is the union of the fixes of the matching entries, in version order.
- ``severity`` is the preferred rating among the merged records (CVSS-scored before a publisher's
  word before a distribution's word, then the most severe; see :mod:`shared.vulns.severity`). A
  finding left without one (or, for a language package, with only a distribution's word) borrows
  the rating of another record of the source that names one of its ids, aliases or upstream ids
  (:meth:`~shared.vulns.index.AdvisorySource.severities`): one call per :meth:`Matcher.match`,
  only when some finding needs it, asking first for each such finding's GHSA ids, then its CVE
  ids, then the rest. ``severity.source`` names the record the rating came from.

Counts: each finding counts once under its rating (``none`` counts as ``low``); ``fixable`` counts
findings with at least one fixed version. Packages that map to no OSV ecosystem are listed in
``skipped``; versions or ranges that could not be evaluated are reported in ``problems`` (never a
silent "not affected").
"""

from __future__ import annotations

import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property, lru_cache
from itertools import zip_longest
from typing import Generic, TypeVar

from shared.vulns.errors import InvalidVersion, UnsupportedPackage
from shared.vulns.index import AdvisorySource, naming_ids
from shared.vulns.model import Advisory, Affected, Reference
from shared.vulns.packages import OsvQuery, PackageKey, PackageRef, osv_query
from shared.vulns.problems import Problem
from shared.vulns.ranges import CompiledAffected, Verdict
from shared.vulns.severity import SeverityScore, best, rate, wants_borrowed
from shared.vulns.versions import base_ecosystem, scheme_for

MAX_REFERENCES = 50
_CVE = re.compile(r"CVE-(\d+)-(\d+)")
_CACHE_LIMIT = 50_000
"""The most prepared records kept (each with its compiled ranges), process-wide."""


@dataclass(frozen=True)
class Finding:
    """One flaw affecting one installed package."""

    id: str
    aliases: tuple[str, ...]
    advisory_ids: tuple[str, ...]
    package: str
    ecosystem: str
    name: str
    installed_version: str
    fixed_versions: tuple[str, ...]
    severity: SeverityScore
    summary: str
    references: tuple[Reference, ...]
    modified: datetime

    @property
    def fixable(self) -> bool:
        """Whether a fixed version is known."""
        return bool(self.fixed_versions)


@dataclass(frozen=True)
class SeverityCounts:
    """How many findings of each rating an image has."""

    critical: int = 0
    high: int = 0
    medium: int = 0
    low: int = 0
    unknown: int = 0

    @property
    def total(self) -> int:
        """All findings."""
        return self.critical + self.high + self.medium + self.low + self.unknown

    @classmethod
    def of(cls, findings: Iterable[Finding]) -> SeverityCounts:
        """Count ``findings`` by rating (``none`` as ``low``)."""
        counts = dict.fromkeys(("critical", "high", "medium", "low", "unknown"), 0)
        for finding in findings:
            rating = "low" if finding.severity.rating == "none" else finding.severity.rating
            counts[rating if rating in counts else "unknown"] += 1
        return cls(**counts)


@dataclass(frozen=True)
class Coverage:
    """What the advisory data held for one ecosystem of the matched packages: ``packages`` of them
    were looked up in ``ecosystem`` (exact, e.g. ``Debian:12``), where the data holds ``advisories``
    records (None: the source does not hold a copy and answers for every ecosystem it knows)."""

    ecosystem: str
    packages: int
    advisories: int | None

    @property
    def warning(self) -> str | None:
        """A sentence for a person when these packages were checked against nothing; else None."""
        if self.advisories != 0:
            return None
        return (f"no advisories loaded for {self.ecosystem}: its {self.packages} "
                f"package{'s were' if self.packages != 1 else ' was'} not checked")


@dataclass(frozen=True)
class MatchReport:
    """The findings for one set of packages (an image), sorted most severe first, with counts.

    ``keys`` are the package keys looked up: store them with the image, and match it again when an
    import reports one of them in :attr:`~shared.vulns.index.ImportResult.changed_keys`. ``snapshot``
    names the advisory data matched against, and ``coverage`` what it held for each ecosystem the
    packages belong to (so that a package checked against nothing never reads as "no findings").
    """

    findings: tuple[Finding, ...]
    counts: SeverityCounts
    fixable: int
    packages: int
    keys: frozenset[PackageKey]
    snapshot: str
    problems: tuple[Problem, ...] = ()
    skipped: tuple[Problem, ...] = field(default=())
    coverage: tuple[Coverage, ...] = ()

    @property
    def warnings(self) -> tuple[str, ...]:
        """Sentences for a person about packages that were checked against no advisories."""
        return tuple(w for c in self.coverage if (w := c.warning) is not None)


@dataclass(frozen=True)
class _Hit:
    prepared: _Prepared
    verdict: Verdict
    severity: SeverityScore

    @property
    def advisory(self) -> Advisory:
        return self.prepared.advisory


@lru_cache(maxsize=65536)
def _primary(ids: frozenset[str]) -> str:
    pool = sorted(ids)
    cves = [(int(m.group(1)), int(m.group(2)), i) for i in pool if (m := _CVE.fullmatch(i))]
    if cves:
        return min(cves)[2]
    ghsas = [i for i in pool if i.startswith("GHSA-")]
    return ghsas[0] if ghsas else pool[0]


def primary_id(ids: Iterable[str]) -> str:
    """The id a group of aliases is shown under: lowest CVE, else lowest GHSA, else lowest id."""
    return _primary(frozenset(ids))


def package_keys(refs: Iterable[PackageRef]) -> frozenset[PackageKey]:
    """The package keys a set of packages would be looked up under (unsupported ones left out)."""
    keys: set[PackageKey] = set()
    for ref in refs:
        try:
            keys.update(osv_query(ref).keys)
        except UnsupportedPackage:
            continue
    return frozenset(keys)


class _Prepared:
    """One record as the matcher uses it: its affected entries by package key, compiled on demand,
    and the parts of a finding that depend on the record alone."""

    def __init__(self, advisory: Advisory) -> None:
        self.advisory = advisory
        self.entries = tuple(
            (index, PackageKey.of(a.package.ecosystem, a.package.name), a)
            for index, a in enumerate(advisory.affected)
            if a.package is not None
        )
        self._compiled: dict[int, CompiledAffected] = {}
        self._severity: dict[int, SeverityScore] = {}

    def compiled(self, index: int, affected: Affected) -> CompiledAffected:
        found = self._compiled.get(index)
        if found is None:
            assert affected.package is not None
            found = self._compiled[index] = CompiledAffected(affected, affected.package.ecosystem)
        return found

    @cached_property
    def summary(self) -> str:
        return _summary([self.advisory])

    @cached_property
    def references(self) -> tuple[Reference, ...]:
        return _references([self.advisory])

    @cached_property
    def primary(self) -> str:
        return primary_id(self.advisory.all_ids)

    def severity(self, index: int, affected: Affected) -> SeverityScore:
        found = self._severity.get(index)
        if found is None:
            found = self._severity[index] = rate(self.advisory, affected)[0]
        return found


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Lru(Generic[K, V]):
    """A process-wide, bounded map: the least recently used entries go first. Thread-safe."""

    def __init__(self, maxsize: int) -> None:
        self._maxsize = maxsize
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, make: Callable[[], V]) -> V:
        """The value held for ``key``, made by ``make`` (outside the lock) when none is."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        made = make()
        with self._lock:
            found = self._items.setdefault(key, made)
            self._items.move_to_end(key)
            while len(self._items) > self._maxsize:
                self._items.popitem(last=False)
        return found

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._items.clear()


_PREPARED: _Lru[tuple[str, str, tuple[tuple[str, str], ...]], _Prepared] = _Lru(_CACHE_LIMIT)
"""The records prepared for matching, keyed by (id, digest, packages named) — a stored copy may be cut
down to some packages (see :func:`shared.store.advisory_rows.project`): same id and digest, fewer
affected entries — so a changed record is a new key and its old form simply ages out."""

_EvaluationKey = tuple[tuple[PackageKey, ...], str, tuple[tuple[str, str, int], ...]]

_EVALUATED: _Lru[_EvaluationKey, tuple[tuple[_Hit, ...], tuple[str, ...]]] = _Lru(_CACHE_LIMIT)
"""Evaluations of a package version against records, keyed by the package's keys, its version and each
record's (id, digest, entries): the same package at the same version against the same records — most
packages of a fleet's images, and most of a re-matched SBOM's after a small update — is evaluated once."""


def clear_prepared() -> None:
    """Forget the records prepared and the evaluations made process-wide (a benchmark measuring a cold
    start calls this)."""
    _PREPARED.clear()
    _EVALUATED.clear()


class Matcher:
    """Matches packages against one advisory source. Parsed records and compiled ranges are kept
    process-wide (bounded), so a matcher is cheap to make; it is safe to share between threads."""

    def __init__(self, source: AdvisorySource) -> None:
        self._source = source

    def match(self, packages: Iterable[PackageRef]) -> MatchReport:
        """Findings for ``packages`` (see the module notes). Raises only what the source raises."""
        refs = list(packages)
        skipped: list[Problem] = []
        queries: list[tuple[PackageRef, OsvQuery]] = []
        for ref in refs:
            try:
                queries.append((ref, osv_query(ref)))
            except UnsupportedPackage as exc:
                skipped.append(Problem(exc.code, exc.message, package=ref.purl))
        unique = list({(q.keys, q.version): q for _, q in queries}.values())
        lookup = self._source.lookup(unique)
        problems = list(lookup.problems)
        findings: dict[tuple[str, str, str], Finding] = {}
        borrowing: dict[tuple[str, str, str], frozenset[str]] = {}
        for ref, query in queries:
            hits, package_problems = self._evaluated_once(query, lookup.for_query(query))
            problems.extend(Problem("unevaluated", message, package=ref.purl) for message in package_problems)
            for finding, names in _findings(ref, query, hits):
                key = (finding.package, finding.installed_version, finding.id)
                if key not in findings:
                    findings[key] = finding
                    if names:
                        borrowing[key] = names
        if borrowing:
            self._borrow(findings, borrowing)
        ordered = sorted(findings.values(), key=lambda f: (-f.severity.rank()[0], -f.severity.rank()[1], f.package, f.id))
        return MatchReport(
            findings=tuple(ordered),
            counts=SeverityCounts.of(ordered),
            fixable=sum(f.fixable for f in ordered),
            packages=len(refs),
            keys=frozenset(key for _, query in queries for key in query.keys),
            snapshot=self._source.snapshot,
            problems=tuple(problems),
            skipped=tuple(skipped),
            coverage=self._coverage(query for _, query in queries),
        )

    def _coverage(self, queries: Iterable[OsvQuery]) -> tuple[Coverage, ...]:
        """Per exact ecosystem of ``queries``: how many packages, and how many records the source holds
        there (its base name's records count too: ``Debian`` records serve ``Debian:12`` packages)."""
        packages = Counter(query.key.ecosystem for query in queries)
        if not packages:
            return ()
        held = self._source.coverage()
        return tuple(
            Coverage(ecosystem, count, None if held is None else
                     held.get(ecosystem, 0) + (held.get(base_ecosystem(ecosystem), 0) if ":" in ecosystem else 0))
            for ecosystem, count in sorted(packages.items())
        )

    def _borrow(
        self, findings: dict[tuple[str, str, str], Finding], borrowing: Mapping[tuple[str, str, str], frozenset[str]]
    ) -> None:
        """Give each finding of ``borrowing`` the preferred rating the source knows for its ids, if any."""
        ranked = [sorted(names, key=_asking_order) for _, names in sorted(borrowing.items())]
        wanted = list(dict.fromkeys(name for layer in zip_longest(*ranked) for name in layer if name is not None))
        answered = self._source.severities(wanted)
        if not answered:
            return
        for key, names in borrowing.items():
            borrowed = best(answered[name] for name in names if name in answered)
            if borrowed.known:
                findings[key] = replace(findings[key], severity=borrowed)

    def _prepare(self, advisory: Advisory) -> _Prepared:
        named = tuple((a.package.ecosystem, a.package.name) for a in advisory.affected if a.package is not None)
        return _PREPARED.get((advisory.id, advisory.digest, named), lambda: _Prepared(advisory))

    def _evaluated_once(self, query: OsvQuery, candidates: Sequence[Advisory]) -> tuple[tuple[_Hit, ...], tuple[str, ...]]:
        """:meth:`_evaluate`, remembered process-wide (bounded, see :data:`_EVALUATED`)."""
        if not candidates:
            return (), ()
        key = (query.keys, query.version, tuple((a.id, a.digest, len(a.affected)) for a in candidates))
        return _EVALUATED.get(key, lambda: self._evaluate(query, candidates))

    def _evaluate(self, query: OsvQuery, candidates: Sequence[Advisory]) -> tuple[tuple[_Hit, ...], tuple[str, ...]]:
        hits: list[_Hit] = []
        unevaluated: dict[str, list[str]] = {}
        for advisory in candidates:
            if advisory.is_withdrawn:
                continue
            prepared = self._prepare(advisory)
            for index, key, affected in prepared.entries:
                if key not in query.keys:
                    continue
                verdict = prepared.compiled(index, affected).evaluate(query.version)
                if verdict.affected:
                    hits.append(_Hit(prepared, verdict, prepared.severity(index, affected)))
                for message in verdict.problems:
                    unevaluated.setdefault(message, []).append(advisory.id)
        matched = {hit.advisory.id for hit in hits}
        messages = []
        for message, ids in unevaluated.items():
            unique = sorted(set(ids) - matched)
            if not unique:
                continue
            shown = ", ".join(unique[:5]) + (", ..." if len(unique) > 5 else "")
            messages.append(f"{message} (advisories not fully evaluated: {shown})")
        return tuple(hits), tuple(messages)


def _findings(ref: PackageRef, query: OsvQuery, hits: Sequence[_Hit]) -> list[tuple[Finding, frozenset[str]]]:
    """The findings of one package's hits, each with the ids to borrow a rating for (empty when its
    own records' rating stands)."""
    out = []
    for group in _alias_groups(hits):
        if len({hit.advisory.id for hit in group}) == 1:  # the common case: one record
            prepared = group[0].prepared
            ids, primary = prepared.advisory.all_ids, prepared.primary
            records = [prepared.advisory]
            summary, references = prepared.summary, prepared.references
        else:
            ids = frozenset().union(*(hit.advisory.all_ids for hit in group))
            primary = primary_id(ids)
            records = sorted({hit.advisory.id: hit.advisory for hit in group}.values(), key=lambda a: (a.id != primary, a.id))
            summary, references = _summary(records), _references(records)
        severity = best(hit.severity for hit in group)
        names = frozenset().union(*(naming_ids(a) for a in records)) if wants_borrowed(severity, query.ecosystem) else frozenset()
        finding = Finding(
            id=primary,
            aliases=tuple(sorted(ids - {primary})),
            advisory_ids=tuple(sorted(a.id for a in records)),
            package=ref.purl,
            ecosystem=query.ecosystem,
            name=query.name,
            installed_version=query.version,
            fixed_versions=_sorted_versions(query.ecosystem, {f for hit in group for f in hit.verdict.fixed}),
            severity=severity,
            summary=summary,
            references=references,
            modified=max(a.modified for a in records),
        )
        out.append((finding, names))
    return out


def _alias_groups(hits: Sequence[_Hit]) -> list[list[_Hit]]:
    """Hits partitioned by shared ids (union-find over each record's id and aliases)."""
    if len(hits) <= 1:
        return [list(hits)] if hits else []
    parent: dict[str, str] = {}

    def find(item: str) -> str:
        while parent.setdefault(item, item) != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    for hit in hits:
        ids = sorted(hit.advisory.all_ids)
        for other in ids[1:]:
            root_a, root_b = find(ids[0]), find(other)
            if root_a != root_b:
                parent[max(root_a, root_b)] = min(root_a, root_b)
    groups: dict[str, list[_Hit]] = {}
    for hit in hits:
        groups.setdefault(find(hit.advisory.id), []).append(hit)
    return _fold_upstream(groups)


def _fold_upstream(groups: dict[str, list[_Hit]]) -> list[list[_Hit]]:
    """The groups in root order, each group whose records name, as upstream ids, ids of other groups
    (a Debian DSA naming ``CVE-x`` and ``DEBIAN-CVE-x``) folded into those groups: one finding per flaw.
    A record naming several flaws joins each of them; a group naming none stays as it is."""
    owner = {name: root for root, group in groups.items() for hit in group for name in hit.advisory.all_ids}
    folded: dict[str, list[str]] = {}
    for root, group in groups.items():
        upstream = {name for hit in group for name in hit.advisory.upstream}
        targets = sorted({owner[name] for name in upstream if name in owner} - {root})
        if targets:
            folded[root] = targets
    # Fold only into groups that fold nowhere themselves: no chains, no cycles.
    folding = {root: sinks for root, targets in folded.items() if (sinks := [t for t in targets if t not in folded])}
    kept = {root: list(group) for root, group in groups.items() if root not in folding}
    for root, targets in folding.items():
        for target in targets:
            kept[target].extend(groups[root])
    return [kept[root] for root in sorted(kept)]


def _asking_order(name: str) -> tuple[int, str]:
    """GHSA ids first (GitHub rates nearly every advisory it reviews), then CVE ids, then the rest."""
    return (0 if name.startswith("GHSA-") else 1 if name.startswith("CVE-") else 2, name)


def _summary(records: list[Advisory]) -> str:
    for advisory in records:
        if advisory.summary.strip():
            return advisory.summary.strip()
    for advisory in records:
        line = advisory.details.strip().split("\n", 1)[0].strip()
        if line:
            return line if len(line) <= 200 else line[:199] + "…"
    return ""


def _references(records: list[Advisory]) -> tuple[Reference, ...]:
    seen: dict[str, Reference] = {}
    for advisory in records:
        for reference in advisory.references:
            seen.setdefault(reference.url, reference)
    return tuple(list(seen.values())[:MAX_REFERENCES])


def _sorted_versions(ecosystem: str, versions: set[str]) -> tuple[str, ...]:
    if len(versions) <= 1:
        return tuple(versions)
    scheme = scheme_for(ecosystem)
    if scheme is None:
        return tuple(sorted(versions))
    parsed = []
    unparsed = []
    for version in versions:
        try:
            parsed.append((scheme.key(version), version))
        except InvalidVersion:
            unparsed.append(version)
    parsed.sort(key=lambda pair: pair[0])
    return tuple(v for _, v in parsed) + tuple(sorted(unparsed))
