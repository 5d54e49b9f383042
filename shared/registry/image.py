"""Read a pushed image from its registry: the manifest (or index), each platform's manifest and config.

Pure registry I/O through :class:`RegistryClient` — no storage — so the worker and the command line
can share it. Everything fetched is verified by the client (digests, sizes, caps). The values here
(:class:`Layer`, :class:`PlatformImage`) are what the registry says of an image; what Lookout
learns of it later (packages, vulnerabilities) is recorded in :mod:`shared.images.model`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from shared.errors import LookoutError
from shared.registry.client import RegistryClient
from shared.registry.model import Descriptor, Manifest, is_attestation

MAX_CONFIG_BYTES = 4 * 1024 * 1024
MAX_PLATFORMS = 64
MAX_LAYERS = 512
MAX_ATTESTATION_LAYERS = 64
"""How many statements of one attestation manifest are looked at (buildx writes one or two)."""
PREDICATE_TYPE_ANNOTATION = "in-toto.io/predicate-type"
"""The annotation of an attestation manifest's layer naming the in-toto predicate type of its statement."""


@dataclass(frozen=True)
class Layer:
    """One layer of a platform image: ``digest`` and ``size`` of the compressed blob, ``diff_id`` of its uncompressed tar."""

    digest: str
    size: int
    media_type: str
    diff_id: str | None = None


@dataclass(frozen=True)
class PlatformImage:
    """One runnable image as its registry describes it: a manifest (``digest``) for one platform and its config."""

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

    @property
    def platform(self) -> str:
        """``os/architecture[/variant]``, as Docker prints it."""
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


class ImageTooLarge(LookoutError):
    """The image breaks one of Lookout's limits (platforms, layers, config size)."""

    code = "image-too-large"


class MalformedImage(LookoutError):
    """The registry served a manifest or config that does not follow the OCI/Docker schemas."""

    code = "malformed-image"


@dataclass(frozen=True)
class InspectedImage:
    """The pushed manifest and the platform images it stands for (one for a plain manifest).

    ``attestations`` are the in-toto predicate types (``https://spdx.dev/Document``,
    ``https://slsa.dev/provenance/v0.2`` ...) of the statements the index's attestation manifests carry,
    sorted, each once; empty for a plain manifest and for an index without attestation manifests.
    """

    digest: str
    media_type: str
    size: int
    platforms: tuple[PlatformImage, ...]
    attestations: tuple[str, ...] = ()


def inspect_image(client: RegistryClient, repository: str, digest: str) -> InspectedImage:
    """Fetch manifest ``digest`` of ``repository`` and, for an index, every platform child except attestations.

    Raises the client's registry errors (temporary or not) and :class:`ImageTooLarge` /
    :class:`MalformedImage` (permanent).
    """
    manifest = client.get_manifest(repository, digest)
    attestations: tuple[str, ...] = ()
    if manifest.is_index:
        children = [c for c in manifest.children() if not is_attestation(c)]
        if len(children) > MAX_PLATFORMS:
            raise ImageTooLarge(f"index lists {len(children)} platforms; the limit is {MAX_PLATFORMS}")
        platforms = tuple(_platform(client, repository, client.get_manifest(repository, c.digest), c) for c in children)
        attestations = _attestations(client, repository, [c for c in manifest.children() if is_attestation(c)])
    else:
        platforms = (_platform(client, repository, manifest, None),)
    return InspectedImage(digest=str(manifest.digest), media_type=manifest.media_type, size=len(manifest.raw),
                          platforms=platforms, attestations=attestations)


def _attestations(client: RegistryClient, repository: str, listed: list[Descriptor]) -> tuple[str, ...]:
    """The predicate types the attestation manifests ``listed`` in an index declare on their layers (at most
    :data:`MAX_PLATFORMS` manifests and :data:`MAX_ATTESTATION_LAYERS` layers each are read).

    An attestation manifest that is not an image manifest names nothing. Registry errors are raised as the
    client raises them.
    """
    if len(listed) > MAX_PLATFORMS:
        raise ImageTooLarge(f"index lists {len(listed)} attestation manifests; the limit is {MAX_PLATFORMS}")
    found: set[str] = set()
    for descriptor in listed:
        attestation = client.get_manifest(repository, descriptor.digest)
        if attestation.is_index:
            continue
        for layer in attestation.layers[:MAX_ATTESTATION_LAYERS]:
            predicate = layer.annotations.get(PREDICATE_TYPE_ANNOTATION, "").strip()
            if predicate and len(predicate) <= 200:
                found.add(predicate)
    return tuple(sorted(found))


def _platform(client: RegistryClient, repository: str, manifest: Manifest, listed: Descriptor | None) -> PlatformImage:
    if manifest.is_index:
        raise MalformedImage(f"{manifest.digest}: an index nested in an index is not supported")
    config_descriptor = manifest.config
    layers = manifest.layers
    if config_descriptor is None:
        raise MalformedImage(f"{manifest.digest}: the manifest has no config")
    if len(layers) > MAX_LAYERS:
        raise ImageTooLarge(f"{manifest.digest} has {len(layers)} layers; the limit is {MAX_LAYERS}")
    if config_descriptor.size > MAX_CONFIG_BYTES:
        raise ImageTooLarge(f"{manifest.digest}: config of {config_descriptor.size} bytes is over {MAX_CONFIG_BYTES}")
    raw = client.get_blob(repository, config_descriptor.digest, max_bytes=MAX_CONFIG_BYTES)
    config = _json_object(raw, f"{manifest.digest}: config")
    diff_ids = _list(_object(config.get("rootfs")).get("diff_ids"))
    runtime = _object(config.get("config"))
    labels = _object(runtime.get("Labels"))
    platform = listed.platform if listed is not None else None
    return PlatformImage(
        digest=str(manifest.digest),
        media_type=manifest.media_type,
        os=_text(config.get("os")) or (platform.os if platform else "") or "",
        architecture=_text(config.get("architecture")) or (platform.architecture if platform else "") or "",
        variant=_text(config.get("variant")) or (platform.variant if platform else None),
        config_digest=str(config_descriptor.digest),
        created=_text(config.get("created")),
        user=_text(runtime.get("User")),
        labels={str(k): str(v) for k, v in labels.items()},
        layers=tuple(
            Layer(
                digest=str(layer.digest),
                size=layer.size,
                media_type=layer.media_type,
                diff_id=str(diff_ids[i]) if i < len(diff_ids) else None,
            )
            for i, layer in enumerate(layers)
        ),
    )


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise MalformedImage(f"{what} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise MalformedImage(f"{what} is not a JSON object")
    return value


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
