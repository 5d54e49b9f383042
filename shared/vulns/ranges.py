"""Is this version affected? OSV's evaluation of one ``affected[]`` entry.

Per the OSV schema's evaluation pseudocode, a version is affected when it is listed in ``versions``
or lies in any range. A range is evaluated by walking its events sorted by version — ``introduced``
``"0"`` first, ``limit`` ``"*"`` last, events of equal versions in the publisher's order —
setting "affected" at an ``introduced`` at or below the version, clearing it at a ``fixed`` at or
below it and at a ``last_affected`` strictly below it; a range with ``limit`` events only applies
below one of them. ``SEMVER`` ranges use SemVer ordering, ``ECOSYSTEM`` ranges the ecosystem's;
``GIT`` ranges (commits) do not apply to installed packages and are skipped.

Equal versions keep the publisher's order (the sort is stable), which the schema leaves open:
``fixed: 3.1.1`` then ``introduced: 3.1.1`` joins two intervals (3.1.1 is affected), while
``introduced: X`` then ``fixed: X`` is an empty interval.

A ``versions`` entry matches when it is the same string, or an equal version in the ecosystem's
ordering (PEP 440's ``1.0`` is ``1.0.0``). Nothing here raises for bad data: a range whose events do
not parse, or an installed version that does not parse, is reported in :attr:`Verdict.problems`
rather than read as "not affected".
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.vulns.errors import InvalidVersion
from shared.vulns.model import RANGE_GIT, Affected, Event, Range
from shared.vulns.versions import VersionKey, VersionScheme, scheme_for, scheme_for_range

_MIN, _NORMAL, _MAX = 0, 1, 2
_SortKey = tuple[int, VersionKey | None]


@dataclass(frozen=True)
class Verdict:
    """The answer for one version: ``affected``, the ``fixed`` versions that end the affecting
    interval(s) (empty when no fix is known), and — for a "not affected" — the ``problems`` that kept
    part of the entry from being evaluated, so that answer may be wrong (messages for people)."""

    affected: bool
    fixed: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class _CompiledRange:
    scheme: VersionScheme
    events: tuple[tuple[_SortKey, Event], ...]  # sorted
    limits: tuple[_SortKey, ...]


class CompiledAffected:
    """An ``affected[]`` entry prepared for evaluating many versions (event versions parsed once)."""

    def __init__(self, affected: Affected, ecosystem: str) -> None:
        self.affected = affected
        self.ecosystem = ecosystem
        self._listed = frozenset(affected.versions)
        self._scheme = scheme_for(ecosystem)
        self._listed_keys: frozenset[VersionKey] | None = None
        self._ranges: list[_CompiledRange] = []
        self._problems: list[str] = []
        for index, item in enumerate(affected.ranges):
            if item.type == RANGE_GIT:
                continue
            compiled = self._compile(item, index)
            if compiled is not None:
                self._ranges.append(compiled)

    @property
    def problems(self) -> tuple[str, ...]:
        """Why some ranges of the entry cannot be evaluated at all (unknown type, bad versions)."""
        return tuple(self._problems)

    def _compile(self, item: Range, index: int) -> _CompiledRange | None:
        scheme = scheme_for_range(item.type, self.ecosystem)
        if scheme is None:
            self._problems.append(f"ranges[{index}]: no {item.type} version ordering for ecosystem {self.ecosystem!r}")
            return None
        events = []
        for event in item.events:
            try:
                events.append((_sort_key(event, scheme), event))
            except InvalidVersion as exc:
                self._problems.append(f"ranges[{index}]: {event.kind} {exc.message}")
                return None
        events.sort(key=lambda pair: pair[0])
        limits = tuple(key for key, event in events if event.kind == "limit")
        return _CompiledRange(scheme=scheme, events=tuple(events), limits=limits)

    def evaluate(self, version: str) -> Verdict:
        """Whether ``version`` (in the ecosystem's own form) is affected by this entry."""
        problems = list(self._problems)
        keys: dict[str, VersionKey | None] = {}

        def key_of(scheme: VersionScheme) -> VersionKey | None:
            if scheme.name not in keys:
                try:
                    keys[scheme.name] = scheme.key(version)
                except InvalidVersion as exc:
                    keys[scheme.name] = None
                    problems.append(f"installed version cannot be compared: {exc.message}")
            return keys[scheme.name]

        listed = version in self._listed or self._listed_equal(version)
        hit_fixes: list[str | None] = []
        other_fixes: list[str | None] = []
        for compiled in self._ranges:
            key = key_of(compiled.scheme)
            if key is None:
                continue
            hit, fix = _walk(key, compiled)
            (hit_fixes if hit else other_fixes).append(fix)
        in_range = bool(hit_fixes)
        if in_range:
            fixes = hit_fixes
        elif listed:
            fixes = hit_fixes + other_fixes
        else:
            return Verdict(affected=False, problems=tuple(problems))
        fixed = tuple(dict.fromkeys(fix for fix in fixes if fix is not None))
        return Verdict(affected=True, fixed=fixed)  # problems only matter for a "not affected"

    def _listed_equal(self, version: str) -> bool:
        if not self._listed or self._scheme is None:
            return False
        if self._listed_keys is None:
            parsed = []
            for item in self._listed:
                try:
                    parsed.append(self._scheme.key(item))
                except InvalidVersion:
                    continue  # such an entry can still match by its exact string
            self._listed_keys = frozenset(parsed)
        try:
            return self._scheme.key(version) in self._listed_keys
        except InvalidVersion:
            return False


def _sort_key(event: Event, scheme: VersionScheme) -> _SortKey:
    if event.kind == "introduced" and event.version == "0":
        return (_MIN, None)
    if event.kind == "limit" and event.version == "*":
        return (_MAX, None)
    return (_NORMAL, scheme.key(event.version))


def _walk(key: VersionKey, compiled: _CompiledRange) -> tuple[bool, str | None]:
    """``(affected, fix)`` for ``key`` in one range: the schema's event walk, and the ``fixed`` version
    closing the interval ``key`` is in (``None`` when a ``last_affected`` closes it, or nothing does).

    Events are sorted, so the walk stops at the first event above ``key``: none after it can change
    the answer. The fix is the first ``fixed`` above ``key``, unless a ``last_affected`` at or above
    it comes first.
    """
    if compiled.limits and not any(value is None or key < value for _, value in compiled.limits):
        return False, None
    vulnerable = False
    for (bucket, value), event in compiled.events:
        if bucket == _MAX or (value is not None and key < value):
            break
        if event.kind == "introduced":
            vulnerable = True
        elif event.kind == "fixed" or (event.kind == "last_affected" and key != value):
            vulnerable = False
    for (_, value), event in compiled.events:
        if value is None:  # "0" and "*" close no interval
            continue
        if event.kind == "last_affected" and not value < key:
            return vulnerable, None
        if event.kind == "fixed" and key < value:
            return vulnerable, event.version
    return vulnerable, None
