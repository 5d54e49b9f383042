"""The analysis data model: what one layer holds (cacheable) and what an image contains (squashed).

Two families of values:

- per layer, independent of every other layer and so cacheable by content:
  :class:`LayerIndex` (whiteouts, opaque directories, symlinks) and, per cataloger,
  :class:`LayerResult` (the wanted files the layer holds and what was found in each, as
  :class:`PackageRecord` values without distro-dependent details such as the Package URL);
- per platform image, after the squash: :class:`Package`, :class:`Problem`, :class:`OSInfo`,
  gathered in :class:`PlatformAnalysis` and :class:`ImageAnalysis`.

Layers are named by their blob digest (``sha256:`` of the compressed blob, as the manifest lists
it), never by the diff ID: it is the digest the registry verifies as the blob streams.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.analysis.errors import InvalidCacheEntry
from shared.registry.image import Layer

SCHEMA = 1
"""The version of the serialized per-layer forms; a cached entry of another version is ignored."""


@dataclass(frozen=True)
class PackageRecord:
    """A package as found in one file of one layer: ecosystem ``type``, ``name``, ``version`` and details.

    ``meta`` holds ecosystem details (``arch``, ``source``, ``source_version``, ``origin``,
    ``epoch``, ``release``, ``license``, ``group``, ...). The Package URL is made later, when the
    distribution of the whole image is known.
    """

    type: str
    name: str
    version: str
    meta: Mapping[str, str] = field(default_factory=dict, hash=False)

    @property
    def key(self) -> tuple[str, str, str, str]:
        """What makes two records the same package: type, name, version and architecture."""
        return (self.type, self.name, self.version, self.meta.get("arch", ""))

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"type": self.type, "name": self.name, "version": self.version}
        if self.meta:
            document["meta"] = dict(self.meta)
        return document

    @classmethod
    def from_json(cls, value: Any) -> PackageRecord:
        if not isinstance(value, dict):
            raise InvalidCacheEntry("a package record is not an object")
        meta = value.get("meta") or {}
        if not isinstance(meta, dict):
            raise InvalidCacheEntry("a package record's meta is not an object")
        return cls(str(value["type"]), str(value["name"]), str(value["version"]), {str(k): str(v) for k, v in meta.items()})


@dataclass(frozen=True)
class FileResult:
    """What one cataloger made of one wanted path of one layer.

    ``link`` is the target when the entry is a symbolic link (then nothing was parsed). ``facts``
    are file-level findings that are not packages (the fields of an ``os-release``). ``problems``
    are messages about this file (unparseable, too large...). A result with nothing in it still
    matters: the path exists in this layer and hides the same path in lower layers.
    """

    packages: tuple[PackageRecord, ...] = ()
    facts: Mapping[str, str] = field(default_factory=dict, hash=False)
    problems: tuple[str, ...] = ()
    link: str | None = None

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {}
        if self.packages:
            document["packages"] = [p.to_json() for p in self.packages]
        if self.facts:
            document["facts"] = dict(self.facts)
        if self.problems:
            document["problems"] = list(self.problems)
        if self.link is not None:
            document["link"] = self.link
        return document

    @classmethod
    def from_json(cls, value: Any) -> FileResult:
        if not isinstance(value, dict):
            raise InvalidCacheEntry("a file result is not an object")
        facts = value.get("facts") or {}
        link = value.get("link")
        return cls(
            tuple(PackageRecord.from_json(p) for p in value.get("packages") or ()),
            {str(k): str(v) for k, v in facts.items()},
            tuple(str(p) for p in value.get("problems") or ()),
            str(link) if link is not None else None,
        )


@dataclass(frozen=True)
class LayerResult:
    """One cataloger's result for one layer: every wanted path the layer's tar holds, with what was found.

    Keyed in the cache by (layer blob digest, cataloger name, cataloger version). Paths are
    absolute and normalized.
    """

    files: Mapping[str, FileResult] = field(default_factory=dict, hash=False)
    fingerprint: str = ""
    """The cataloger's path selection (:attr:`Cataloger.fingerprint`) when the result was made."""

    def to_json(self) -> dict[str, Any]:
        """The compact, JSON-able serialized form: ``{"schema": 1, "fingerprint": ..., "files": {path: {...}}}``."""
        return {
            "schema": SCHEMA,
            "fingerprint": self.fingerprint,
            "files": {path: result.to_json() for path, result in sorted(self.files.items())},
        }

    @classmethod
    def from_json(cls, value: Any) -> LayerResult:
        """Read :meth:`to_json`'s form; raises :class:`InvalidCacheEntry` when it is not that."""
        if not isinstance(value, Mapping) or value.get("schema") != SCHEMA or not isinstance(value.get("files"), dict):
            raise InvalidCacheEntry("not a per-layer cataloger result of this schema")
        try:
            files = {str(path): FileResult.from_json(item) for path, item in value["files"].items()}
            return cls(files, str(value.get("fingerprint", "")))
        except (KeyError, TypeError, AttributeError) as error:
            raise InvalidCacheEntry(f"a per-layer cataloger result is malformed ({type(error).__name__})") from None


@dataclass(frozen=True)
class LayerIndex:
    """What one layer changes in the filesystem, besides file contents; cataloger-independent.

    ``whiteouts`` are the paths the layer deletes from lower layers (``.wh.<name>``), ``opaque`` the
    directories whose lower-layer content it hides (``.wh..wh..opq``), ``symlinks`` every symbolic
    link it holds (path → target as stored). ``entries`` and ``size`` count the tar's entries and
    uncompressed bytes; ``problems`` are layer-level messages (unsafe paths).
    """

    whiteouts: tuple[str, ...] = ()
    opaque: tuple[str, ...] = ()
    symlinks: Mapping[str, str] = field(default_factory=dict, hash=False)
    entries: int = 0
    size: int = 0
    problems: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"schema": SCHEMA, "entries": self.entries, "size": self.size}
        if self.whiteouts:
            document["whiteouts"] = sorted(self.whiteouts)
        if self.opaque:
            document["opaque"] = sorted(self.opaque)
        if self.symlinks:
            document["symlinks"] = dict(sorted(self.symlinks.items()))
        if self.problems:
            document["problems"] = list(self.problems)
        return document

    @classmethod
    def from_json(cls, value: Any) -> LayerIndex:
        if not isinstance(value, Mapping) or value.get("schema") != SCHEMA:
            raise InvalidCacheEntry("not a layer index of this schema")
        try:
            return cls(
                tuple(str(p) for p in value.get("whiteouts") or ()),
                tuple(str(p) for p in value.get("opaque") or ()),
                {str(k): str(v) for k, v in (value.get("symlinks") or {}).items()},
                int(value.get("entries", 0)),
                int(value.get("size", 0)),
                tuple(str(p) for p in value.get("problems") or ()),
            )
        except (TypeError, ValueError, AttributeError) as error:
            raise InvalidCacheEntry(f"a layer index is malformed ({type(error).__name__})") from None


@dataclass(frozen=True)
class OSInfo:
    """The distribution, from the image's ``os-release``: ``id`` (``debian``), ``version_id`` (``12``), and more."""

    id: str
    version_id: str | None = None
    version_codename: str | None = None
    name: str | None = None
    pretty_name: str | None = None

    @property
    def distro(self) -> str:
        """The PURL ``distro`` qualifier: ``debian-12``, or the bare id when there is no version."""
        return f"{self.id}-{self.version_id}" if self.version_id else self.id

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"id": self.id}
        for key in ("version_id", "version_codename", "name", "pretty_name"):
            value = getattr(self, key)
            if value:
                document[key] = value
        return document

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> OSInfo:
        """The inverse of :meth:`to_json`."""
        return cls(id=str(value["id"]), **{k: str(value[k]) for k in ("version_id", "version_codename", "name",
                                                                        "pretty_name") if value.get(k)})


@dataclass(frozen=True)
class Package:
    """A package of the final image filesystem.

    ``layer`` is the blob digest of the layer that introduced it (the lowest layer from which the
    same package in the same file persisted to the top); ``path`` the file it was found in.
    """

    type: str
    name: str
    version: str
    purl: str
    layer: str
    path: str
    cataloger: str
    meta: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "type": self.type,
            "name": self.name,
            "version": self.version,
            "purl": self.purl,
            "layer": self.layer,
            "path": self.path,
            "cataloger": self.cataloger,
        }
        if self.meta:
            document["meta"] = dict(self.meta)
        return document

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Package:
        """The inverse of :meth:`to_json`."""
        return cls(
            type=str(value["type"]), name=str(value["name"]), version=str(value["version"]), purl=str(value["purl"]),
            layer=str(value["layer"]), path=str(value["path"]), cataloger=str(value.get("cataloger", "")),
            meta={str(k): str(v) for k, v in (value.get("meta") or {}).items()},
        )


@dataclass(frozen=True)
class Problem:
    """Something the analysis could not read, with where: cataloger (or ``layer``), layer digest, path."""

    source: str
    message: str
    layer: str | None = None
    path: str | None = None

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"source": self.source, "message": self.message}
        if self.layer is not None:
            document["layer"] = self.layer
        if self.path is not None:
            document["path"] = self.path
        return document

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Problem:
        """The inverse of :meth:`to_json`."""
        return cls(source=str(value["source"]), message=str(value["message"]),
                   layer=value.get("layer"), path=value.get("path"))


@dataclass(frozen=True)
class LayerSummary(Layer):
    """One layer of an analyzed image (:class:`~shared.registry.image.Layer`), and whether the cache served it."""

    cached: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"digest": self.digest, "size": self.size, "media_type": self.media_type, "diff_id": self.diff_id}


@dataclass(frozen=True)
class PlatformAnalysis:
    """The analysis of one platform image: manifest ``digest``, distribution, packages (sorted) and problems."""

    platform: str
    digest: str
    os: OSInfo | None
    packages: tuple[Package, ...]
    problems: tuple[Problem, ...]
    layers: tuple[LayerSummary, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "digest": self.digest,
            "os": self.os.to_json() if self.os else None,
            "packages": [p.to_json() for p in self.packages],
            "problems": [p.to_json() for p in self.problems],
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> PlatformAnalysis:
        """The inverse of :meth:`to_json` (layer summaries are not part of it)."""
        return cls(
            platform=str(value["platform"]),
            digest=str(value["digest"]),
            os=OSInfo.from_json(value["os"]) if value.get("os") else None,
            packages=tuple(Package.from_json(p) for p in value.get("packages", [])),
            problems=tuple(Problem.from_json(p) for p in value.get("problems", [])),
        )


@dataclass(frozen=True)
class ImageAnalysis:
    """The analysis of an image: the ``reference`` asked for, the manifest (or index) ``digest``, each platform."""

    reference: str
    digest: str
    media_type: str
    platforms: tuple[PlatformAnalysis, ...]

    def to_json(self) -> dict[str, Any]:
        """The ``--format json`` document: ``{"reference", "digest", "platforms": [...]}``."""
        return {"reference": self.reference, "digest": self.digest, "platforms": [p.to_json() for p in self.platforms]}
