"""The image data model: platforms, descriptors and manifests (image manifests and indexes).

Values only; nothing here does I/O. :meth:`Manifest.parse` checks the document's shape so that the
helpers (:meth:`Manifest.children`, :attr:`Manifest.config`, :attr:`Manifest.layers`) can trust it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.registry import mediatypes
from shared.registry.errors import InvalidManifest, InvalidReference
from shared.registry.reference import Digest

ATTESTATION_ANNOTATION = "vnd.docker.reference.type"
ATTESTATION_VALUE = "attestation-manifest"
ATTESTATION_SUBJECT_ANNOTATION = "vnd.docker.reference.digest"


@dataclass(frozen=True)
class Platform:
    """Where an image runs: ``os``/``architecture`` with an optional ``variant`` (``linux/arm64/v8``)."""

    os: str
    architecture: str
    variant: str | None = None

    @classmethod
    def parse(cls, text: str) -> Platform:
        """Parse ``os/architecture[/variant]``."""
        parts = text.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"platform {text!r} is not os/architecture[/variant]")
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else None)

    @classmethod
    def from_json(cls, value: object) -> Platform:
        """The platform of a descriptor's ``platform`` object."""
        if not isinstance(value, dict):
            raise InvalidManifest("a descriptor's platform is not a JSON object")
        os_name, architecture, variant = value.get("os"), value.get("architecture"), value.get("variant")
        if not isinstance(os_name, str) or not isinstance(architecture, str):
            raise InvalidManifest("a descriptor's platform lacks os or architecture")
        if variant is not None and not isinstance(variant, str):
            raise InvalidManifest("a descriptor's platform variant is not a string")
        return cls(os_name, architecture, variant or None)

    def to_json(self) -> dict[str, str]:
        """The ``platform`` object of an OCI descriptor."""
        document = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            document["variant"] = self.variant
        return document

    @property
    def is_unknown(self) -> bool:
        """``unknown/unknown``: how buildx marks the attestation manifests of an index."""
        return self.os == "unknown" and self.architecture == "unknown"

    def __str__(self) -> str:
        return f"{self.os}/{self.architecture}" + (f"/{self.variant}" if self.variant else "")


@dataclass(frozen=True)
class Descriptor:
    """A pointer to content: its media type, digest and size in bytes, plus optional metadata.

    For a layer, ``digest`` and ``size`` are those of the blob as stored (usually compressed), not
    the uncompressed diff ID.
    """

    media_type: str
    digest: Digest
    size: int
    platform: Platform | None = None
    annotations: Mapping[str, str] = field(default_factory=dict, hash=False)
    artifact_type: str | None = None

    @classmethod
    def from_json(cls, value: object) -> Descriptor:
        """A descriptor from its JSON object; raises :class:`InvalidManifest` when malformed."""
        if not isinstance(value, dict):
            raise InvalidManifest("a descriptor is not a JSON object")
        media_type, digest, size = value.get("mediaType"), value.get("digest"), value.get("size")
        if not isinstance(media_type, str) or not media_type:
            raise InvalidManifest("a descriptor has no mediaType")
        if not isinstance(digest, str):
            raise InvalidManifest("a descriptor has no digest")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InvalidManifest("a descriptor has no valid size")
        try:
            parsed_digest = Digest(digest)
        except InvalidReference as error:
            raise InvalidManifest(f"a descriptor's digest is invalid: {error.message}") from None
        platform = Platform.from_json(value["platform"]) if value.get("platform") is not None else None
        annotations = value.get("annotations") or {}
        if not isinstance(annotations, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in annotations.items()
        ):
            raise InvalidManifest("a descriptor's annotations are not a map of strings")
        artifact_type = value.get("artifactType")
        if artifact_type is not None and not isinstance(artifact_type, str):
            raise InvalidManifest("a descriptor's artifactType is not a string")
        return cls(media_type, parsed_digest, size, platform, dict(annotations), artifact_type)

    def to_json(self) -> dict[str, Any]:
        """The descriptor as an OCI JSON object."""
        document: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest.value, "size": self.size}
        if self.platform is not None:
            document["platform"] = self.platform.to_json()
        if self.annotations:
            document["annotations"] = dict(self.annotations)
        if self.artifact_type is not None:
            document["artifactType"] = self.artifact_type
        return document


def is_attestation(descriptor: Descriptor) -> bool:
    """Whether an index entry is an attestation manifest rather than a runnable image.

    True for buildx's annotation ``vnd.docker.reference.type: attestation-manifest`` and for the
    platform ``unknown/unknown`` it uses for them.
    """
    if descriptor.annotations.get(ATTESTATION_ANNOTATION) == ATTESTATION_VALUE:
        return True
    return descriptor.platform is not None and descriptor.platform.is_unknown


@dataclass(frozen=True)
class Manifest:
    """A manifest exactly as the registry served it.

    ``digest`` is the sha256 of ``raw`` (verified by the client), ``media_type`` the document's own
    ``mediaType`` (or the response's ``Content-Type`` when the document has none) and ``document``
    the parsed JSON. An index (OCI index or Docker manifest list) has :meth:`children`; an image
    manifest has :attr:`config` and :attr:`layers`.
    """

    digest: Digest
    media_type: str
    raw: bytes = field(repr=False)
    document: Mapping[str, Any] = field(repr=False, hash=False, compare=False)

    @classmethod
    def parse(cls, raw: bytes, *, content_type: str | None = None, digest: Digest | None = None) -> Manifest:
        """Parse a manifest's bytes; ``digest`` defaults to their sha256 (the caller verifies it).

        Raises :class:`InvalidManifest` when the bytes are not a JSON object of a known manifest
        type, or when its descriptors are malformed.
        """
        try:
            document = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise InvalidManifest("the manifest is not valid JSON") from None
        if not isinstance(document, dict):
            raise InvalidManifest("the manifest is not a JSON object")
        declared = document.get("mediaType")
        if declared is not None and not isinstance(declared, str):
            raise InvalidManifest("the manifest's mediaType is not a string")
        header_type = (content_type or "").split(";", 1)[0].strip()
        if header_type not in mediatypes.MANIFEST_TYPES:
            header_type = ""
        media_type = declared or header_type or _guess_media_type(document)
        if media_type not in mediatypes.MANIFEST_TYPES:
            raise InvalidManifest(f"unsupported manifest media type {media_type!r}")
        manifest = cls(digest or Digest.of(raw), media_type, raw, document)
        # Validate the descriptors once, so the helpers cannot fail later.
        if manifest.is_index:
            manifest.children()
        else:
            _ = manifest.config, manifest.layers
        return manifest

    @property
    def size(self) -> int:
        """The manifest's size in bytes."""
        return len(self.raw)

    @property
    def is_index(self) -> bool:
        """Whether this is an OCI index or a Docker manifest list."""
        return self.media_type in mediatypes.INDEX_TYPES

    def children(self) -> list[Descriptor]:
        """The descriptors of an index's ``manifests``, in document order (attestations included)."""
        if not self.is_index:
            raise InvalidManifest(f"a {self.media_type} manifest has no child manifests")
        entries = self.document.get("manifests")
        if not isinstance(entries, list):
            raise InvalidManifest("the index has no manifests list")
        return [Descriptor.from_json(entry) for entry in entries]

    @property
    def config(self) -> Descriptor:
        """The config blob's descriptor of an image manifest."""
        if self.is_index:
            raise InvalidManifest("an index has no config")
        return Descriptor.from_json(self.document.get("config"))

    @property
    def layers(self) -> list[Descriptor]:
        """The layer descriptors of an image manifest, base layer first."""
        if self.is_index:
            raise InvalidManifest("an index has no layers")
        entries = self.document.get("layers")
        if not isinstance(entries, list):
            raise InvalidManifest("the manifest has no layers list")
        return [Descriptor.from_json(entry) for entry in entries]

    @property
    def annotations(self) -> Mapping[str, str]:
        """The manifest's own annotations (empty when it has none)."""
        value = self.document.get("annotations")
        if isinstance(value, dict):
            return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}
        return {}

    def descriptor(self, *, platform: Platform | None = None) -> Descriptor:
        """A descriptor pointing at this manifest."""
        return Descriptor(self.media_type, self.digest, self.size, platform)


def _guess_media_type(document: Mapping[str, Any]) -> str | None:
    """OCI allows omitting ``mediaType``; tell an index from an image manifest by its fields."""
    if "manifests" in document:
        return mediatypes.OCI_INDEX
    if "config" in document and "layers" in document:
        return mediatypes.OCI_MANIFEST
    return None
