"""What Lookout records of images: frozen values the worker writes and the API reads."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from typing import Any, Literal, TypeVar

from shared.registry.image import Layer, PlatformImage

ImageStatus = Literal["analyzed", "failed", "retrying", "deleted"]


@dataclass(frozen=True)
class BaseImage:
    """The base image a platform image was built on, recognised by its layer diff-ID chain.

    ``registry``/``repository``/``tag``/``digest`` name the base (``registry`` is empty for a public base
    imported with ``lookout bases import``, whose ``repository`` is then its full name, e.g.
    ``library/debian``); ``layers`` is how many of the image's first layers the base accounts for.
    ``current_digest`` is the digest the base's tag points at now when that is known and differs from
    ``digest`` (the image needs a rebuild), else ``None``.
    """

    registry: str
    repository: str
    tag: str
    digest: str
    layers: int
    current_digest: str | None = None

    @property
    def name(self) -> str:
        """``registry/repository:tag`` (without the registry for an imported public base)."""
        where = f"{self.registry}/{self.repository}" if self.registry else self.repository
        return f"{where}:{self.tag}" if self.tag else f"{where}@{self.digest}"

    def to_json(self) -> dict[str, Any]:
        return {"registry": self.registry, "repository": self.repository, "tag": self.tag, "digest": self.digest,
                "layers": self.layers, "current_digest": self.current_digest, "name": self.name}

    @staticmethod
    def from_json(value: dict[str, Any]) -> BaseImage:
        return BaseImage(registry=str(value.get("registry", "")), repository=str(value["repository"]),
                         tag=str(value.get("tag", "")), digest=str(value["digest"]), layers=int(value["layers"]),
                         current_digest=value.get("current_digest"))


@dataclass(frozen=True)
class PlatformRecord(PlatformImage):
    """A platform image as Lookout recorded it: the registry's facts and what the analysis found.

    ``package_counts`` by package type, ``problems`` the number of analysis problems, and
    ``vulnerabilities`` (counts by severity level), ``fixable``, ``advisory_snapshot`` and
    ``advisory_warnings`` (its packages' ecosystems the snapshot held no advisories for, as sentences)
    from the platform's latest vulnerability report.
    """

    distro: str | None = None
    package_counts: dict[str, int] = field(default_factory=dict)
    problems: int = 0
    vulnerabilities: dict[str, int] = field(default_factory=dict)
    fixable: int = 0
    advisory_snapshot: str = ""
    advisory_warnings: tuple[str, ...] = ()
    base: BaseImage | None = None

    @staticmethod
    def of(image: PlatformImage) -> PlatformRecord:
        """The record of a platform image the registry described, before anything was found in it."""
        return PlatformRecord(**{f.name: getattr(image, f.name) for f in fields(PlatformImage)})

    def to_json(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "digest": self.digest,
            "media_type": self.media_type,
            "os": self.os,
            "architecture": self.architecture,
            "variant": self.variant,
            "config_digest": self.config_digest,
            "created": self.created,
            "user": self.user,
            "labels": dict(self.labels),
            "layers": [
                {"digest": la.digest, "size": la.size, "media_type": la.media_type, "diff_id": la.diff_id}
                for la in self.layers
            ],
            "distro": self.distro,
            "package_counts": dict(self.package_counts),
            "problems": self.problems,
            "vulnerabilities": dict(self.vulnerabilities),
            "fixable": self.fixable,
            "advisory_snapshot": self.advisory_snapshot,
            "advisory_warnings": list(self.advisory_warnings),
            "base": self.base.to_json() if self.base else None,
        }

    @staticmethod
    def from_json(value: dict[str, Any]) -> PlatformRecord:
        return PlatformRecord(
            digest=value["digest"],
            media_type=value.get("media_type", ""),
            os=value.get("os", ""),
            architecture=value.get("architecture", ""),
            variant=value.get("variant"),
            config_digest=value.get("config_digest", ""),
            created=value.get("created"),
            user=value.get("user"),
            labels=dict(value.get("labels") or {}),
            layers=tuple(
                Layer(la["digest"], int(la["size"]), la.get("media_type", ""), la.get("diff_id"))
                for la in value.get("layers", [])
            ),
            distro=value.get("distro"),
            package_counts={str(k): int(v) for k, v in (value.get("package_counts") or {}).items()},
            problems=int(value.get("problems", 0)),
            vulnerabilities={str(k): int(v) for k, v in (value.get("vulnerabilities") or {}).items()},
            fixable=int(value.get("fixable", 0)),
            advisory_snapshot=str(value.get("advisory_snapshot", "")),
            advisory_warnings=tuple(str(w) for w in value.get("advisory_warnings") or ()),
            base=BaseImage.from_json(value["base"]) if value.get("base") else None,
        )


@dataclass(frozen=True)
class ImageRecord:
    """What Lookout knows of one manifest digest in one repository.

    ``status`` is ``analyzed`` (platforms recorded), ``failed`` (a permanent failure, with
    ``error_code``/``error``), ``retrying`` (a temporary failure; the queue retries) or ``deleted``
    (a tombstone: the registry deleted the manifest at ``event_time``; never shown by the API).
    ``event_time`` is the time of the event that last changed the record, used to order pushes and
    deletes that arrive out of order.

    ``attestations`` are the in-toto predicate types of the attestation manifests the pushed index carries
    (:attr:`~shared.registry.image.InspectedImage.attestations`; empty for a plain manifest), None when the
    image was recorded before Lookout looked at them. ``policy`` counts the image's policy results by
    outcome (``pass``, ``fail``, ``unknown``; see :mod:`shared.policy`), empty before any evaluation.
    """

    registry: str
    repository: str
    digest: str
    status: ImageStatus
    media_type: str = ""
    size: int = 0
    platforms: tuple[PlatformRecord, ...] = ()
    event_time: str = ""
    received: str = ""
    analyzed: str | None = None
    duration_ms: int | None = None
    attempts: int = 0
    error_code: str | None = None
    error: str | None = None
    vulnerabilities: dict[str, int] = field(default_factory=dict)
    fixable: int = 0
    attestations: tuple[str, ...] | None = None
    policy: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class TagRecord:
    """Where a tag points now, and where it pointed before (newest first, bounded)."""

    tag: str
    digest: str
    updated: str
    history: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True, order=True)
class PlatformRef:
    """One platform image of one repository, as its SBOM and vulnerability report are stored: registry,
    repository and platform manifest digest."""

    registry: str
    repository: str
    digest: str


T = TypeVar("T")


def by_repository(items: Iterable[T], ref_of: Callable[[T], PlatformRef]) -> dict[tuple[str, str], list[T]]:
    """``items`` by the ``(registry, repository)`` of their ref (``ref_of``), in the order met: the platforms of
    one repository share the tables' partition of that repository."""
    grouped: dict[tuple[str, str], list[T]] = {}
    for item in items:
        ref = ref_of(item)
        grouped.setdefault((ref.registry, ref.repository), []).append(item)
    return grouped
