"""Hostile images built without holding them in memory, pushed to the real registry, and measured child runs.

Layers are written as raw tar blocks (so names may climb with ``../`` or start with ``/``, sizes may
need GNU base-256, links may loop) and compressed piece by piece: each distinct piece of the
uncompressed stream is compressed once as its own gzip member (or zstd frame) and repeated, which is
how a decompression bomb of gigabytes or a tar of a million entries is built in a second from a few
kilobytes. Readers decompress every member in turn, so the repeated members are one tar stream.

:func:`run_measured` runs ``lookout analyze`` (or any module) as a child process and reports its
peak resident memory, as the child itself measured it (:mod:`tests.faults.peak`).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import zstandard

from shared.registry import Digest, mediatypes
from testkit.images import CREATED, push_blob, push_manifest
from testkit.localhost import PROJECT_ROOT
from testkit.registry import RegistryServer

BLOCK = 512
_MTIME = b"%011o\x00" % 1_704_164_645
_OCTAL_SIZE_LIMIT = 8**11

REGULAR, HARD_LINK, SYMLINK, DIRECTORY = b"0", b"1", b"2", b"5"


def tar_header(name: str, size: int = 0, kind: bytes = REGULAR, *, linkname: str = "", mode: int = 0o644) -> bytes:
    """One ustar header block for ``name`` exactly as given (no normalization); sizes of 8 GiB and more in base-256."""
    encoded, link = name.encode(), linkname.encode()
    if len(encoded) > 100 or len(link) > 100:
        raise ValueError("names and link names of hostile layers fit the 100-byte ustar fields")
    header = bytearray(BLOCK)
    header[0:len(encoded)] = encoded
    header[100:108] = b"%07o\x00" % mode
    header[108:116] = b"0000000\x00"
    header[116:124] = b"0000000\x00"
    if size < _OCTAL_SIZE_LIMIT:
        header[124:136] = b"%011o\x00" % size
    else:
        header[124:136] = b"\x80" + size.to_bytes(11, "big")
    header[136:148] = _MTIME
    header[148:156] = b" " * 8
    header[156:157] = kind
    header[157:157 + len(link)] = link
    header[257:265] = b"ustar\x0000"
    header[265:269] = b"root"
    header[297:301] = b"root"
    header[148:156] = b"%06o\x00 " % sum(header)
    return bytes(header)


def member(name: str, data: bytes = b"", kind: bytes = REGULAR, *, linkname: str = "") -> bytes:
    """A whole tar member: header, content, padding to the block size."""
    padding = -len(data) % BLOCK
    return tar_header(name, len(data), kind, linkname=linkname) + data + bytes(padding)


END_OF_ARCHIVE = bytes(2 * BLOCK)

Piece = tuple[bytes, int]
"""A piece of the uncompressed layer and how many times it repeats."""


@dataclass(frozen=True)
class RawLayer:
    """A layer blob as pushed, its media type, and the ``diff_id`` its config lists."""

    blob: bytes = field(repr=False)
    media_type: str
    diff_id: str
    uncompressed_size: int

    @property
    def digest(self) -> Digest:
        return Digest.of(self.blob)


def stream_layer(pieces: Iterable[Piece], compression: Literal["gzip", "zstd", "none"] = "gzip", *,
                 hash_content: bool = True) -> RawLayer:
    """A layer of ``pieces``, each compressed once and repeated; never the whole uncompressed stream in memory.

    ``diff_id`` is the sha256 of the uncompressed stream; with ``hash_content`` false (streams too long
    to hash in a test) it is the digest of an empty tar instead: nothing Lookout does checks it, and a
    hostile image's config says whatever its author wants.
    """
    digest = hashlib.sha256()
    parts: list[bytes] = []
    total = 0
    for data, times in pieces:
        if compression == "gzip":
            packed = gzip.compress(data, compresslevel=9, mtime=0)
        elif compression == "zstd":
            packed = zstandard.ZstdCompressor(level=19).compress(data)
        else:
            packed = data
        parts.append(packed * times)
        total += len(data) * times
        if hash_content:
            for _ in range(times):
                digest.update(data)
    if not hash_content:
        digest = hashlib.sha256(END_OF_ARCHIVE)
    media_type = {"gzip": mediatypes.OCI_LAYER_GZIP, "zstd": mediatypes.OCI_LAYER_ZSTD, "none": mediatypes.OCI_LAYER}
    return RawLayer(b"".join(parts), media_type[compression], "sha256:" + digest.hexdigest(), total)


def tar_layer(members: Sequence[bytes], compression: Literal["gzip", "zstd", "none"] = "gzip") -> RawLayer:
    """A small layer of ready members (and the end-of-archive marker)."""
    return stream_layer([(b"".join(members) + END_OF_ARCHIVE, 1)], compression)


def image_config(layers: Sequence[RawLayer], *, padding: int = 0, created: str = CREATED) -> bytes:
    """A linux/amd64 config listing the layers' ``diff_id``; ``padding`` bytes of label make it large."""
    config: dict[str, Any] = {"Env": ["PATH=/usr/bin:/bin"]}
    if padding:
        config["Labels"] = {"padding": "x" * padding}
    document = {"architecture": "amd64", "os": "linux", "created": created, "config": config,
                "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]}}
    return json.dumps(document).encode()


@dataclass(frozen=True)
class PushedRaw:
    """A hostile image in the registry: its manifest digest and what went into it."""

    repository: str
    tag: str
    digest: Digest
    manifest: bytes = field(repr=False)
    media_type: str


def push_raw_image(registry: RegistryServer, repository: str, tag: str, layers: Sequence[RawLayer], *,
                   config: bytes | None = None, claimed_sizes: Mapping[str, int] | None = None) -> PushedRaw:
    """Push the layers, a config and an OCI manifest under ``tag``.

    ``claimed_sizes`` replaces sizes in the manifest's descriptors (``"config"`` or the layer index as
    text): the registry stores such a manifest as it is, and the reader must not trust it.
    """
    claims = dict(claimed_sizes or {})
    config = config if config is not None else image_config(layers)
    for layer in layers:
        push_blob(registry, repository, layer.blob)
    config_digest = push_blob(registry, repository, config)
    document = {
        "schemaVersion": 2,
        "mediaType": mediatypes.OCI_MANIFEST,
        "config": {"mediaType": mediatypes.OCI_CONFIG, "digest": config_digest.value,
                   "size": claims.get("config", len(config))},
        "layers": [{"mediaType": layer.media_type, "digest": layer.digest.value, "size": claims.get(str(i), len(layer.blob))}
                   for i, layer in enumerate(layers)],
    }
    body = json.dumps(document).encode()
    digest = push_manifest(registry, repository, tag, body, mediatypes.OCI_MANIFEST)
    return PushedRaw(repository, tag, digest, body, mediatypes.OCI_MANIFEST)


def push_raw_index(registry: RegistryServer, repository: str, tag: str,
                   children: Sequence[tuple[Digest, int, str]]) -> PushedRaw:
    """Push an OCI index over ``(digest, size, media type)`` children (any media type, an index included)."""
    document = {
        "schemaVersion": 2,
        "mediaType": mediatypes.OCI_INDEX,
        "manifests": [{"mediaType": media_type, "digest": digest.value, "size": size,
                       "platform": {"architecture": "amd64", "os": "linux"}} for digest, size, media_type in children],
    }
    body = json.dumps(document).encode()
    digest = push_manifest(registry, repository, tag, body, mediatypes.OCI_INDEX)
    return PushedRaw(repository, tag, digest, body, mediatypes.OCI_INDEX)


@dataclass(frozen=True)
class ChildRun:
    """A finished child process: exit code, output, and its peak resident memory in bytes."""

    exit_code: int
    stdout: str = field(repr=False)
    stderr: str
    peak_rss: int
    seconds: float

    def document(self) -> dict[str, Any]:
        """The JSON the child printed."""
        value = json.loads(self.stdout)
        assert isinstance(value, dict)
        return value


def run_measured(module: str, args: Sequence[str], *, stdin: str = "", timeout: float = 60.0) -> ChildRun:
    """Run ``python -m MODULE ARGS`` from the project root under :mod:`tests.faults.peak`, fed ``stdin``.

    Fails after ``timeout`` seconds (the child is killed). The peak RSS is the child's own ``VmHWM``.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOOKOUT_", "AzureWebJobs"))}
    with tempfile.TemporaryDirectory(prefix="lookout-peak-") as directory:
        report = Path(directory) / "peak"
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "tests.faults.peak", str(report), module, *args], cwd=PROJECT_ROOT,
                              env=env, input=stdin, capture_output=True, text=True, timeout=timeout, check=False)
        seconds = time.monotonic() - started
        peak = int(report.read_text()) if report.exists() else 0
    assert peak > 0, f"the child reported no peak memory: {done.stderr[-2000:]}"
    return ChildRun(done.returncode, done.stdout, done.stderr, peak, seconds)


def lookout_analyze(registry: RegistryServer, reference: str, *, host: str | None = None,
                    timeout: float = 60.0) -> ChildRun:
    """``lookout analyze HOST/REFERENCE --format json`` as the registry's read-only user, measured."""
    args = ["analyze", f"{host or registry.host}/{reference}", "--insecure",
            "--username", registry.readonly.username, "--password-stdin", "--format", "json"]
    return run_measured("shared.cli.main", args, stdin=registry.readonly.password + "\n", timeout=timeout)
