"""Image records: frozen values the worker writes and the API reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ImageStatus = Literal["analyzed", "failed", "retrying", "deleted"]


@dataclass(frozen=True)
class Layer:
    """One layer of a platform image: ``digest`` and ``size`` of the compressed blob, ``diff_id`` of its uncompressed tar."""

    digest: str
    size: int
    media_type: str
    diff_id: str | None = None


@dataclass(frozen=True)
class PlatformImage:
    """One runnable image: a manifest (``digest``) for one platform and what its config says."""

    digest: str
    os: str
    architecture: str
    variant: str | None = None
    media_type: str = ""
    config_digest: str = ""
    created: str | None = None
    user: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    layers: tuple[Layer, ...] = ()
    distro: str | None = None
    package_counts: dict[str, int] = field(default_factory=dict)
    problems: int = 0
    vulnerabilities: dict[str, int] = field(default_factory=dict)
    fixable: int = 0
    advisory_snapshot: str = ""

    @property
    def platform(self) -> str:
        """``os/architecture[/variant]``, as Docker prints it."""
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)

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
        }

    @staticmethod
    def from_json(value: dict[str, Any]) -> PlatformImage:
        return PlatformImage(
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
        )


@dataclass(frozen=True)
class ImageRecord:
    """What Lookout knows of one manifest digest in one repository.

    ``status`` is ``analyzed`` (platforms recorded), ``failed`` (a permanent failure, with
    ``error_code``/``error``), ``retrying`` (a temporary failure; the queue retries) or ``deleted``
    (a tombstone: the registry deleted the manifest at ``event_time``; never shown by the API).
    ``event_time`` is the time of the event that last changed the record, used to order pushes and
    deletes that arrive out of order.
    """

    registry: str
    repository: str
    digest: str
    status: ImageStatus
    media_type: str = ""
    size: int = 0
    platforms: tuple[PlatformImage, ...] = ()
    event_time: str = ""
    received: str = ""
    analyzed: str | None = None
    duration_ms: int | None = None
    attempts: int = 0
    error_code: str | None = None
    error: str | None = None
    vulnerabilities: dict[str, int] = field(default_factory=dict)
    fixable: int = 0


@dataclass(frozen=True)
class TagRecord:
    """Where a tag points now, and where it pointed before (newest first, bounded)."""

    tag: str
    digest: str
    updated: str
    history: tuple[dict[str, str], ...] = ()
