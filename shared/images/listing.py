"""What the listing indexes hold: pages of results, repository summaries, and the advisories and packages
found in live images.

The worker and the re-match keep these indexes (see :mod:`shared.records`); the read side
(:mod:`shared.api`) pages through them. Values only: no I/O, nothing of the advisory model beyond
the JSON forms of :mod:`shared.vulns.report` (a severity is its ``severity_json``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from shared.images.model import ImageRecord

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """Some results in the listing's order, and where the next page starts.

    ``cursor`` is the store's own position (opaque to callers, who hand it back unchanged); None when
    nothing follows. A page may hold fewer items than asked for and still have a cursor: a store
    reads a bounded number of rows per call.
    """

    items: tuple[T, ...]
    cursor: str | None = None


@dataclass(frozen=True)
class LatestImage:
    """The newest pushed live image of a repository, as its summary shows it.

    ``vulnerabilities`` are the image's counts by severity level and ``fixable`` how many findings
    have a fixed version (both empty until it is analyzed); ``tags`` point at it now, sorted.
    """

    digest: str
    status: str
    pushed: str
    tags: tuple[str, ...] = ()
    vulnerabilities: Mapping[str, int] = field(default_factory=dict)
    fixable: int = 0

    @staticmethod
    def of(record: ImageRecord, tags: Sequence[str]) -> LatestImage:
        """The summary of ``record`` with the ``tags`` pointing at it."""
        return LatestImage(digest=record.digest, status=record.status, pushed=record.event_time or record.received,
                           tags=tuple(sorted(tags)), vulnerabilities=dict(record.vulnerabilities), fixable=record.fixable)

    def to_json(self) -> dict[str, Any]:
        return {"digest": self.digest, "status": self.status, "pushed": self.pushed, "tags": list(self.tags),
                "vulnerabilities": dict(self.vulnerabilities), "fixable": self.fixable}

    @staticmethod
    def from_json(value: Mapping[str, Any]) -> LatestImage:
        return LatestImage(digest=str(value["digest"]), status=str(value["status"]), pushed=str(value.get("pushed", "")),
                           tags=tuple(str(t) for t in value.get("tags", ())),
                           vulnerabilities={str(k): int(v) for k, v in (value.get("vulnerabilities") or {}).items()},
                           fixable=int(value.get("fixable", 0)))


@dataclass(frozen=True)
class RepositorySummary:
    """One repository of a registry: whether it is activated, how many live images it has, its newest."""

    registry: str
    repository: str
    enabled: bool
    images: int = 0
    latest: LatestImage | None = None

    @property
    def last_push(self) -> str | None:
        """When the newest live image was pushed (canonical UTC), None without one."""
        return self.latest.pushed if self.latest else None


@dataclass(frozen=True)
class AdvisoryHit:
    """One advisory found in one package of one platform of an image, as the platform's finding says.

    ``advisory`` is the finding's id; ``severity`` its severity JSON and ``level`` the level it is
    counted under (one of :data:`shared.vulns.report.LEVELS`); ``package`` the package URL and
    ``name`` the OSV package name.
    """

    advisory: str
    aliases: tuple[str, ...]
    summary: str
    severity: Mapping[str, Any]
    level: str
    references: tuple[Mapping[str, str], ...]
    platform: str
    platform_digest: str
    package: str
    name: str
    installed_version: str
    fixed_versions: tuple[str, ...]

    @property
    def score(self) -> float | None:
        """The CVSS base score, if the severity has one."""
        score = self.severity.get("score")
        return float(score) if isinstance(score, (int, float)) else None


@dataclass(frozen=True)
class AffectedImage:
    """A live image an advisory is found in, with every hit of that advisory in it."""

    registry: str
    repository: str
    digest: str
    hits: tuple[AdvisoryHit, ...]


@dataclass(frozen=True)
class AdvisorySummary:
    """One advisory across every live image of the installation.

    ``severity`` is the worst severity JSON among its hits (``level`` the level of that one);
    ``aliases`` and ``packages`` (OSV package names) are the union over the images; ``summary`` and
    ``references`` come from the latest image filed; ``fixable`` says whether some hit has a fixed version.
    """

    id: str
    aliases: tuple[str, ...]
    summary: str
    severity: Mapping[str, Any]
    level: str
    references: tuple[Mapping[str, str], ...]
    images: int
    repositories: int
    packages: tuple[str, ...]
    fixable: bool


@dataclass(frozen=True)
class PackageOccurrence:
    """A package found in one platform of a live image: its URL, name, version, purl type and introducing layer."""

    registry: str
    repository: str
    digest: str
    platform: str
    platform_digest: str
    purl: str
    name: str
    version: str
    type: str
    layer: str
