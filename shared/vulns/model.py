"""The OSV data model: one vulnerability record and its parts, as immutable values.

Field names follow the OSV schema (https://ossf.github.io/osv-schema/). Timestamps are aware UTC
datetimes. ``ecosystem_specific`` and ``database_specific`` stay free-form JSON objects (read-only
mappings) and take no part in equality or hashing. A record's ``digest`` (the SHA-256 of its
canonical JSON, see :func:`shared.vulns.parse.digest_of`) identifies its content: the index compares
digests, not fields, to tell whether a record changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from types import MappingProxyType
from typing import Any, Literal

EventKind = Literal["introduced", "fixed", "last_affected", "limit"]
EVENT_KINDS: tuple[EventKind, ...] = ("introduced", "fixed", "last_affected", "limit")

RANGE_GIT = "GIT"
RANGE_SEMVER = "SEMVER"
RANGE_ECOSYSTEM = "ECOSYSTEM"

EMPTY_OBJECT: Mapping[str, Any] = MappingProxyType({})


def _empty() -> Mapping[str, Any]:
    return EMPTY_OBJECT


@dataclass(frozen=True)
class Event:
    """One point of a range's timeline: ``introduced``, ``fixed``, ``last_affected`` or ``limit``."""

    kind: EventKind
    version: str


@dataclass(frozen=True)
class Range:
    """An affected range: its ``type`` (``ECOSYSTEM``, ``SEMVER``, ``GIT``) and events in file order."""

    type: str
    events: tuple[Event, ...]
    repo: str = ""
    database_specific: Mapping[str, Any] = field(default_factory=_empty, compare=False, hash=False)


@dataclass(frozen=True)
class OsvPackage:
    """A package as OSV names it: ``ecosystem`` (``PyPI``, ``Debian:12``...), ``name`` and optional ``purl``."""

    ecosystem: str
    name: str
    purl: str = ""


@dataclass(frozen=True)
class Severity:
    """A severity entry: ``type`` (``CVSS_V3``, ``CVSS_V4``, ``CVSS_V2``, ``Ubuntu``...) and its ``score`` string."""

    type: str
    score: str


@dataclass(frozen=True)
class Reference:
    """A link about the vulnerability, with its OSV reference ``type`` (``ADVISORY``, ``FIX``, ``WEB``...)."""

    type: str
    url: str


@dataclass(frozen=True)
class Affected:
    """One ``affected[]`` entry: which package, which versions (ranges and/or explicit list)."""

    package: OsvPackage | None
    ranges: tuple[Range, ...] = ()
    versions: tuple[str, ...] = ()
    severity: tuple[Severity, ...] = ()
    ecosystem_specific: Mapping[str, Any] = field(default_factory=_empty, compare=False, hash=False)
    database_specific: Mapping[str, Any] = field(default_factory=_empty, compare=False, hash=False)


@dataclass(frozen=True)
class Advisory:
    """One OSV vulnerability record.

    ``digest`` identifies the record's content (two records with the same id and digest are the
    same data); ``modified`` is the publisher's last-modified time (some databases publish a constant
    placeholder, so change detection relies on the digest, see :mod:`shared.vulns.index`).
    ``aliases`` name the same flaw in other databases; ``upstream`` names the flaws this record
    derives from (a distribution's record of an upstream CVE), which are not the same record.
    """

    id: str
    modified: datetime
    digest: str
    published: datetime | None = None
    withdrawn: datetime | None = None
    aliases: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    upstream: tuple[str, ...] = ()
    summary: str = ""
    details: str = ""
    severity: tuple[Severity, ...] = ()
    affected: tuple[Affected, ...] = ()
    references: tuple[Reference, ...] = ()
    schema_version: str = ""
    database_specific: Mapping[str, Any] = field(default_factory=_empty, compare=False, hash=False)

    @property
    def is_withdrawn(self) -> bool:
        """Whether the publisher withdrew the record (it must then be ignored by matching)."""
        return self.withdrawn is not None

    @cached_property
    def all_ids(self) -> frozenset[str]:
        """The record's id and its aliases: every name of the flaw this record describes."""
        return frozenset((self.id, *self.aliases))
