"""Building and pushing real images without Docker: tar layers, configs, manifests and indexes.

Layers are real tar archives built from ``{path: bytes | Entry}`` (files, directories, symlinks,
hard links, whiteouts ``.wh.<name>`` and opaque markers ``.wh..wh..opq``), compressed with gzip,
zstd or not at all. The config's ``rootfs.diff_ids`` lists the sha256 of each *uncompressed* layer;
the manifest lists the *compressed* blobs. Everything is pushed with the OCI upload API
(``POST /v2/<name>/blobs/uploads/`` then a monolithic ``PUT <location>&digest=...``) as the
registry's admin user, through the same token flow the client uses.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import zstandard

from shared.registry import Digest, Platform, RegistryClient, mediatypes
from testkit.registry import RegistryServer

Compression = Literal["gzip", "zstd", "none"]

DEFAULT_PLATFORM = Platform("linux", "amd64")
CREATED = "2024-01-02T03:04:05Z"
_MTIME = 1_704_164_645  # CREATED as a Unix time: layers are reproducible byte for byte


@dataclass(frozen=True)
class Entry:
    """One tar entry. Build them with :func:`file`, :func:`directory`, :func:`symlink`, :func:`hardlink`,
    :func:`whiteout` and :func:`opaque`."""

    kind: Literal["file", "dir", "symlink", "hardlink"]
    data: bytes = b""
    target: str = ""
    mode: int = 0o644
    uid: int = 0
    gid: int = 0


def file(data: bytes | str, mode: int = 0o644) -> Entry:
    """A regular file with ``data`` (text is UTF-8 encoded)."""
    return Entry("file", data.encode() if isinstance(data, str) else data, mode=mode)


def directory(mode: int = 0o755) -> Entry:
    """A directory entry."""
    return Entry("dir", mode=mode)


def symlink(target: str) -> Entry:
    """A symbolic link to ``target`` (absolute or relative, stored as given)."""
    return Entry("symlink", target=target, mode=0o777)


def hardlink(target: str) -> Entry:
    """A hard link to the archive member ``target``."""
    return Entry("hardlink", target=target)


def whiteout(path: str) -> tuple[str, Entry]:
    """The entry deleting ``path`` from lower layers: ``dir/.wh.name``. Use as ``dict([whiteout(p)])``."""
    parent, _, name = path.strip("/").rpartition("/")
    return (f"{parent}/.wh.{name}" if parent else f".wh.{name}"), Entry("file", mode=0o644)


def opaque(directory_path: str) -> tuple[str, Entry]:
    """The marker hiding everything lower layers had in ``directory_path``: ``dir/.wh..wh..opq``."""
    return f"{directory_path.strip('/')}/.wh..wh..opq", Entry("file", mode=0o644)


def tree_entries(root: str | Path) -> dict[str, bytes]:
    """The regular files under ``root`` as layer entries, keyed by image path (``/etc/os-release``), in path order.

    ``root`` is laid out like an image filesystem (``etc/os-release``, ``var/lib/dpkg/status``...).
    """
    base = Path(root)
    if not base.is_dir():
        raise FileNotFoundError(base)
    return {"/" + path.relative_to(base).as_posix(): path.read_bytes() for path in sorted(base.rglob("*")) if path.is_file()}


def build_tar(entries: Mapping[str, bytes | str | Entry] | Iterable[tuple[str, bytes | str | Entry]]) -> bytes:
    """A reproducible tar archive (PAX format, mtime fixed, owner root) of ``entries`` in the order given.

    Paths are stored as given without a leading ``/``; plain bytes or text mean a regular file.
    """
    items = entries.items() if isinstance(entries, Mapping) else entries
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path, value in items:
            entry = value if isinstance(value, Entry) else file(value)
            info = tarfile.TarInfo(path.lstrip("/"))
            info.mtime, info.mode, info.uid, info.gid = _MTIME, entry.mode, entry.uid, entry.gid
            info.uname = info.gname = "root" if entry.uid == 0 else ""
            if entry.kind == "file":
                info.size = len(entry.data)
                archive.addfile(info, io.BytesIO(entry.data))
                continue
            if entry.kind == "dir":
                info.type = tarfile.DIRTYPE
            elif entry.kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, entry.target
            else:
                info.type, info.linkname = tarfile.LNKTYPE, entry.target.lstrip("/")
            archive.addfile(info)
    return buffer.getvalue()


@dataclass(frozen=True)
class Layer:
    """A layer blob: ``blob`` as pushed (``digest``, ``size``) and ``tar``, the uncompressed archive (``diff_id``)."""

    blob: bytes = field(repr=False)
    tar: bytes = field(repr=False)
    media_type: str
    compression: Compression

    @property
    def digest(self) -> Digest:
        return Digest.of(self.blob)

    @property
    def size(self) -> int:
        return len(self.blob)

    @property
    def diff_id(self) -> Digest:
        """The sha256 of the uncompressed tar (what ``rootfs.diff_ids`` lists)."""
        return Digest.of(self.tar)

    def descriptor(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest.value, "size": self.size}


def make_layer(
    entries: Mapping[str, bytes | str | Entry] | Iterable[tuple[str, bytes | str | Entry]] | bytes,
    compression: Compression = "gzip",
    *,
    docker: bool = False,
) -> Layer:
    """A layer from entries (or from a ready tar archive), compressed as asked.

    ``docker`` uses Docker's layer media type, which exists only for gzip.
    """
    tar = entries if isinstance(entries, bytes) else build_tar(entries)
    if compression == "gzip":
        blob = gzip.compress(tar, mtime=0)
        media_type = mediatypes.DOCKER_LAYER_GZIP if docker else mediatypes.OCI_LAYER_GZIP
    elif compression == "zstd":
        if docker:
            raise ValueError("Docker's manifest has no zstd layer type")
        blob = zstandard.ZstdCompressor().compress(tar)
        media_type = mediatypes.OCI_LAYER_ZSTD
    elif compression == "none":
        if docker:
            raise ValueError("use gzip for Docker layers")
        blob = tar
        media_type = mediatypes.OCI_LAYER
    else:
        raise ValueError(f"unknown compression {compression!r}")
    return Layer(blob, tar, media_type, compression)


def make_config(
    layers: Sequence[Layer],
    platform: Platform = DEFAULT_PLATFORM,
    *,
    user: str | None = None,
    labels: Mapping[str, str] | None = None,
    env: Sequence[str] = ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",),
    created: str = CREATED,
) -> bytes:
    """An image config (OCI and Docker share it) whose ``rootfs.diff_ids`` match ``layers``."""
    config: dict[str, Any] = {"Env": list(env)}
    if user is not None:
        config["User"] = user
    if labels:
        config["Labels"] = dict(labels)
    document: dict[str, Any] = {
        "architecture": platform.architecture,
        "os": platform.os,
        "created": created,
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id.value for layer in layers]},
        "history": [{"created": created, "created_by": f"layer {i}"} for i in range(len(layers))],
    }
    if platform.variant:
        document["variant"] = platform.variant
    return json.dumps(document, indent=2, sort_keys=True).encode()


@dataclass(frozen=True)
class PushedImage:
    """An image manifest now in the registry, with what went into it."""

    repository: str
    tag: str | None
    digest: Digest
    size: int
    media_type: str
    manifest: bytes = field(repr=False)
    config_digest: Digest
    config: bytes = field(repr=False)
    layers: tuple[Layer, ...] = field(repr=False)
    platform: Platform

    @property
    def layer_digests(self) -> list[Digest]:
        return [layer.digest for layer in self.layers]

    @property
    def layer_sizes(self) -> list[int]:
        return [layer.size for layer in self.layers]

    @property
    def diff_ids(self) -> list[Digest]:
        return [layer.diff_id for layer in self.layers]

    @property
    def reference(self) -> str:
        """``repository@digest`` (without the registry host)."""
        return f"{self.repository}@{self.digest}"


@dataclass(frozen=True)
class PushedIndex:
    """An index (or Docker manifest list) now in the registry, its images and its attestation."""

    repository: str
    tag: str | None
    digest: Digest
    size: int
    media_type: str
    manifest: bytes = field(repr=False)
    images: tuple[PushedImage, ...]
    attestation: PushedImage | None = None


def pusher(registry: RegistryServer) -> RegistryClient:
    """A client authenticated as the registry's admin user (push, pull, delete)."""
    return registry.client(registry.admin, max_attempts=2)


def push_blob(registry: RegistryServer | RegistryClient, repository: str, data: bytes) -> Digest:
    """Upload ``data`` as a blob of ``repository`` (monolithic upload); return its digest."""
    client = _client(registry)
    digest = Digest.of(data)
    scopes = (f"repository:{repository}:pull,push",)
    started = client.request("POST", f"/v2/{repository}/blobs/uploads/", scopes=scopes, ok=(202,))
    location = started.headers.get("Location")
    if not location:
        raise AssertionError("the registry started an upload without a Location")
    separator = "&" if "?" in location else "?"
    client.request(
        "PUT",
        f"{location}{separator}digest={digest}",
        scopes=scopes,
        headers={"Content-Type": "application/octet-stream"},
        data=data,
        ok=(201,),
    )
    return digest


def push_manifest(
    registry: RegistryServer | RegistryClient, repository: str, reference: str | Digest, body: bytes, media_type: str
) -> Digest:
    """Put a manifest under a tag or its digest, with ``media_type`` as ``Content-Type``; return its digest."""
    client = _client(registry)
    response = client.request(
        "PUT",
        f"/v2/{repository}/manifests/{reference}",
        scopes=(f"repository:{repository}:pull,push",),
        headers={"Content-Type": media_type},
        data=body,
        ok=(201,),
    )
    digest = Digest.of(body)
    announced = response.headers.get("Docker-Content-Digest")
    if announced is not None and announced != digest.value:
        raise AssertionError(f"the registry stored {announced} for a manifest hashing to {digest}")
    return digest


def push_image(
    registry: RegistryServer | RegistryClient,
    repository: str,
    tag: str | None,
    layers: Sequence[Layer | Mapping[str, bytes | str | Entry]],
    *,
    platform: Platform = DEFAULT_PLATFORM,
    user: str | None = None,
    labels: Mapping[str, str] | None = None,
    docker: bool = False,
    annotations: Mapping[str, str] | None = None,
    created: str = CREATED,
) -> PushedImage:
    """Push an image: its layers (mappings become gzip layers), config and manifest.

    ``tag`` ``None`` pushes the manifest by digest only (as the children of an index are).
    ``docker`` uses Docker v2 media types for the manifest, the config and gzip layers.
    """
    client = _client(registry)
    built = tuple(layer if isinstance(layer, Layer) else make_layer(layer, docker=docker) for layer in layers)
    config = make_config(built, platform, user=user, labels=labels, created=created)
    for layer in built:
        push_blob(client, repository, layer.blob)
    config_digest = push_blob(client, repository, config)
    media_type = mediatypes.DOCKER_MANIFEST if docker else mediatypes.OCI_MANIFEST
    document: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": {
            "mediaType": mediatypes.DOCKER_CONFIG if docker else mediatypes.OCI_CONFIG,
            "digest": config_digest.value,
            "size": len(config),
        },
        "layers": [layer.descriptor() for layer in built],
    }
    if annotations:
        document["annotations"] = dict(annotations)
    body = json.dumps(document, indent=3).encode()
    digest = push_manifest(client, repository, tag or Digest.of(body), body, media_type)
    return PushedImage(repository, tag, digest, len(body), media_type, body, config_digest, config, built, platform)


SPDX_PREDICATE = "https://spdx.dev/Document"
PROVENANCE_PREDICATE = "https://slsa.dev/provenance/v0.2"


def push_attestation(registry: RegistryServer | RegistryClient, repository: str, subject: PushedImage,
                     predicate_types: Sequence[str] = (SPDX_PREDICATE,)) -> PushedImage:
    """Push a buildx-style attestation manifest for ``subject``, by digest: one in-toto statement layer per
    predicate type (by default an SBOM; buildx adds a provenance with ``--provenance``)."""
    client = _client(registry)
    statements = [json.dumps(
        {
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicateType": predicate_type,
            "subject": [{"name": "pkg:docker/example", "digest": {"sha256": subject.digest.hex}}],
            "predicate": {"spdxVersion": "SPDX-2.3", "name": "sbom"} if predicate_type == SPDX_PREDICATE
            else {"buildType": "https://mobyproject.org/buildkit@v1"},
        }
    ).encode() for predicate_type in predicate_types]
    statement_digests = [push_blob(client, repository, statement) for statement in statements]
    statement = statements[0]
    config = json.dumps(
        {
            "architecture": "unknown",
            "os": "unknown",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [d.value for d in statement_digests]},
        }
    ).encode()
    config_digest = push_blob(client, repository, config)
    document = {
        "schemaVersion": 2,
        "mediaType": mediatypes.OCI_MANIFEST,
        "config": {"mediaType": mediatypes.OCI_CONFIG, "digest": config_digest.value, "size": len(config)},
        "layers": [
            {
                "mediaType": mediatypes.IN_TOTO,
                "digest": each_digest.value,
                "size": len(each),
                "annotations": {"in-toto.io/predicate-type": predicate_type},
            }
            for each, each_digest, predicate_type in zip(statements, statement_digests, predicate_types, strict=True)
        ],
    }
    body = json.dumps(document).encode()
    digest = push_manifest(client, repository, Digest.of(body), body, mediatypes.OCI_MANIFEST)
    layer = Layer(statement, statement, mediatypes.IN_TOTO, "none")
    return PushedImage(
        repository,
        None,
        digest,
        len(body),
        mediatypes.OCI_MANIFEST,
        body,
        config_digest,
        config,
        (layer,),
        Platform("unknown", "unknown"),
    )


def push_index(
    registry: RegistryServer | RegistryClient,
    repository: str,
    tag: str | None,
    images: Sequence[PushedImage],
    *,
    with_attestation: bool = True,
    docker: bool = False,
    attestation_predicates: Sequence[str] = (SPDX_PREDICATE,),
) -> PushedIndex:
    """Push an index over ``images`` (already pushed to ``repository``, typically by digest).

    With ``with_attestation`` (OCI only) an attestation manifest for the first image is added, as
    buildx does: platform ``unknown/unknown`` and ``vnd.docker.reference.type: attestation-manifest``.
    ``docker`` pushes a Docker manifest list instead. ``attestation_predicates``: the in-toto predicate types of
    the attestation's statements.
    """
    client = _client(registry)
    for image in images:
        if image.repository != repository:
            raise ValueError(f"image {image.reference} is not in {repository}")
    entries: list[dict[str, Any]] = [
        {"mediaType": image.media_type, "digest": image.digest.value, "size": image.size, "platform": image.platform.to_json()}
        for image in images
    ]
    attestation = None
    if with_attestation and images and not docker:
        attestation = push_attestation(client, repository, images[0], attestation_predicates)
        entries.append(
            {
                "mediaType": attestation.media_type,
                "digest": attestation.digest.value,
                "size": attestation.size,
                "platform": {"architecture": "unknown", "os": "unknown"},
                "annotations": {
                    "vnd.docker.reference.digest": images[0].digest.value,
                    "vnd.docker.reference.type": "attestation-manifest",
                },
            }
        )
    media_type = mediatypes.DOCKER_MANIFEST_LIST if docker else mediatypes.OCI_INDEX
    body = json.dumps({"schemaVersion": 2, "mediaType": media_type, "manifests": entries}, indent=2).encode()
    digest = push_manifest(client, repository, tag or Digest.of(body), body, media_type)
    return PushedIndex(repository, tag, digest, len(body), media_type, body, tuple(images), attestation)


def tag_manifest(registry: RegistryServer | RegistryClient, repository: str, tag: str, image: PushedImage | PushedIndex) -> None:
    """Point another ``tag`` at an already pushed manifest."""
    push_manifest(registry, repository, tag, image.manifest, image.media_type)


def delete_manifest(registry: RegistryServer | RegistryClient, repository: str, digest: Digest | str) -> None:
    """Delete a manifest by digest (its tags go with it)."""
    _client(registry).request(
        "DELETE", f"/v2/{repository}/manifests/{digest}", scopes=(f"repository:{repository}:delete",), ok=(202,)
    )


def _client(registry: RegistryServer | RegistryClient) -> RegistryClient:
    return registry if isinstance(registry, RegistryClient) else pusher(registry)
