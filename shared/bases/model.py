"""The values of base image detection: what the chain index holds and what a user imports.

:class:`ChainEntry` is one image filed under the key of its whole diff-ID chain
(:func:`~shared.bases.chains.chain_key`): an image Lookout analyzed (``kind`` ``image``: ``registry``,
``repository``, manifest or index ``digest``, the ``platform_digest`` of the platform whose chain it is)
or a public base imported with ``lookout bases import`` (``kind`` ``public``: ``registry`` empty,
``repository`` its full name such as ``library/debian``, the ``tag`` it was imported under).
:class:`PublicBase` is one entry of the import document (:mod:`shared.bases.public`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

EntryKind = Literal["image", "public"]


@dataclass(frozen=True)
class ChainEntry:
    """One image filed under the key of its whole chain (see the module notes).

    ``layers`` is the length of its chain; ``tags`` the tags known to point at ``digest`` when it was filed
    (for an image, filed again whenever it is tagged; a tag that has moved on since then is how Lookout
    tells that an image built on it needs a rebuild); ``platform`` is ``os/architecture[/variant]`` when
    known, else ``""``.
    """

    kind: EntryKind
    registry: str
    repository: str
    digest: str
    platform_digest: str
    layers: int
    tags: tuple[str, ...] = ()
    platform: str = ""

    @property
    def identity(self) -> str:
        """What tells two entries of one chain apart: kind, registry, repository, digest, platform digest and (for
        a public base) tag, as a hex sha256 (Table-key safe, bounded)."""
        parts = [self.kind, self.registry, self.repository, self.digest, self.platform_digest]
        if self.kind == "public":
            parts.extend(self.tags)
        return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()

    @property
    def name(self) -> str:
        """``registry/repository`` (just ``repository`` for a public base)."""
        return f"{self.registry}/{self.repository}" if self.registry else self.repository

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "registry": self.registry, "repository": self.repository, "digest": self.digest,
                "platform_digest": self.platform_digest, "layers": self.layers, "tags": list(self.tags),
                "platform": self.platform}

    @staticmethod
    def from_json(value: dict[str, Any]) -> ChainEntry:
        kind = value.get("kind")
        return ChainEntry(kind="public" if kind == "public" else "image", registry=str(value.get("registry", "")),
                          repository=str(value["repository"]), digest=str(value["digest"]),
                          platform_digest=str(value.get("platform_digest", "")), layers=int(value["layers"]),
                          tags=tuple(str(t) for t in value.get("tags") or ()), platform=str(value.get("platform", "")))


@dataclass(frozen=True)
class PublicBase:
    """A public base image a user imported: ``name`` (``library/debian``), ``tag``, the manifest ``digest`` the tag
    pointed at, the chain (``diff_ids``, lowest layer first), the ``platform`` when given (``linux/amd64``),
    and when it was ``imported`` (canonical UTC time; empty before it is stored)."""

    name: str
    tag: str
    digest: str
    diff_ids: tuple[str, ...]
    platform: str = ""
    imported: str = ""

    def entry(self) -> ChainEntry:
        """The chain index entry of this base."""
        return ChainEntry(kind="public", registry="", repository=self.name, digest=self.digest,
                          platform_digest=self.digest, layers=len(self.diff_ids), tags=(self.tag,),
                          platform=self.platform)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "tag": self.tag, "digest": self.digest, "diff_ids": list(self.diff_ids),
                "platform": self.platform, "imported": self.imported}

    @staticmethod
    def from_json(value: dict[str, Any]) -> PublicBase:
        return PublicBase(name=str(value["name"]), tag=str(value["tag"]), digest=str(value["digest"]),
                          diff_ids=tuple(str(d) for d in value.get("diff_ids") or ()),
                          platform=str(value.get("platform", "")), imported=str(value.get("imported", "")))


@dataclass(frozen=True)
class ImportOutcome:
    """What ``lookout bases import`` did: how many entries were ``added`` (a new name and tag), ``moved`` (a known
    tag now at another digest) and ``unchanged``."""

    added: int
    moved: int
    unchanged: int

    def to_json(self) -> dict[str, int]:
        return {"added": self.added, "moved": self.moved, "unchanged": self.unchanged}


MAX_CHAIN_ENTRIES = 100
"""The most entries one read of a chain returns (images sharing one whole chain beyond that are not told apart)."""
MAX_PUBLIC_LISTED = 5000
"""The most public bases one listing returns."""
