"""``lookout analyze``: the SBOM of an image straight from its registry, without Azure.

``lookout analyze REFERENCE [--username U] [--password-stdin] [--insecure] [--platform os/arch]
[--concurrency N] [--format table|json|cyclonedx|spdx]``. ``REFERENCE`` is ``host[:port]/repository[:tag|@digest]``.
The output goes to stdout; a progress display goes to stderr when it is a terminal. Runs the same
analysis as the queue worker (:func:`shared.analysis.analyze_image`), with an in-memory cache.
Exit codes: 0 success, 1 failure, 2 usage error (a malformed reference, a platform the image lacks,
a missing password).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from typing import Any, TextIO

from shared.analysis import ImageAnalysis, Limits, MemoryLayerCache, analyze_image
from shared.analysis.allocator import keep_large_blocks
from shared.analysis.limits import MAX_CONCURRENT_LAYERS
from shared.errors import InvalidInput
from shared.registry import Credentials, Reference, RegistryClient

FORMATS = ("table", "json", "cyclonedx", "spdx")
PREFERRED_PLATFORM = "linux/amd64"


class TerminalProgress:
    """A one-line progress display, rewritten in place on a terminal; layers read at once share the line.

    Thread-safe: layers read concurrently report from their own threads.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._platform = ""
        self._layers = 0
        self._finished = 0
        self._running: dict[str, tuple[int, int]] = {}  # digest -> (done, size) of the layers being read

    def _show(self) -> None:
        parts = [f"{digest[7:19]} {done / 1e6:.1f}/{size / 1e6:.1f} MB" for digest, (done, size) in self._running.items()]
        text = f"{self._platform} layers {self._finished}/{self._layers} done" + ("; " if parts else "") + ", ".join(parts)
        if self._finished == self._layers:
            text = ""
        self._stream.write("\r\x1b[2K" + text[:200])
        self._stream.flush()

    def platform_started(self, platform: str, layers: int) -> None:
        with self._lock:
            self._platform, self._layers, self._finished = platform, layers, 0
            self._running.clear()

    def layer_started(self, digest: str, size: int, *, cached: bool) -> None:
        with self._lock:
            if not cached:
                self._running[digest] = (0, size)
                self._show()

    def layer_advanced(self, digest: str, done: int) -> None:
        with self._lock:
            if digest in self._running:
                self._running[digest] = (done, self._running[digest][1])
                self._show()

    def layer_finished(self, digest: str) -> None:
        with self._lock:
            self._running.pop(digest, None)
            self._finished += 1
            self._show()


def credentials_from(args: argparse.Namespace, stdin: TextIO) -> Credentials | None:
    """The registry credentials of ``--username``/``--password-stdin`` (None for anonymous access)."""
    if args.password_stdin and not args.username:
        raise InvalidInput("--password-stdin needs --username")
    if not args.username:
        return None
    password = stdin.readline().rstrip("\r\n") if args.password_stdin else ""
    if not password:
        raise InvalidInput("a password is needed with --username: pass it on standard input with --password-stdin")
    return Credentials(args.username, password)


def analyze_reference(args: argparse.Namespace, *, stdin: TextIO, stderr: TextIO) -> ImageAnalysis:
    """Analyze the image named by the arguments of :func:`add_image_arguments`, straight from its registry.

    Shows progress on ``stderr`` when it is a terminal; raises the registry's and the analysis's errors.
    The process's allocator is tuned for streaming first (:func:`keep_large_blocks`).
    """
    reference = Reference.parse(args.reference)
    credentials = credentials_from(args, stdin)
    keep_large_blocks()
    progress = TerminalProgress(stderr) if stderr.isatty() else None
    with RegistryClient(reference.registry, credentials, insecure=args.insecure) as client:
        return analyze_image(
            client,
            reference.repository,
            reference.identifier,
            platform=args.platform,
            cache=MemoryLayerCache(),
            limits=Limits(max_concurrent_layers=args.concurrency),
            progress=progress,
        )


def add_image_arguments(parser: argparse.ArgumentParser) -> None:
    """REFERENCE, ``--username``, ``--password-stdin``, ``--insecure`` and ``--platform``: the image to analyze."""
    parser.add_argument("reference", metavar="REFERENCE", help="host[:port]/repository[:tag|@sha256:...]")
    parser.add_argument("--username", help="registry user name (for ACR, a token name)")
    parser.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    parser.add_argument("--insecure", action="store_true", help="plain HTTP, no TLS verification (local registries)")
    parser.add_argument("--platform", metavar="OS/ARCH[/VARIANT]", help="analyze only this platform of a multi-platform image")
    parser.add_argument(
        "--concurrency", type=_concurrency, default=Limits().max_concurrent_layers, metavar="N",
        help=f"layers downloaded and read at the same time, 1 to {MAX_CONCURRENT_LAYERS} "
        f"(default: {Limits().max_concurrent_layers})",
    )


def _concurrency(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_CONCURRENT_LAYERS:
        raise argparse.ArgumentTypeError(f"a whole number from 1 to {MAX_CONCURRENT_LAYERS}, not {text!r}")
    return value


def render(analysis: ImageAnalysis, output_format: str, platform: str | None = None) -> str:
    """The text printed for ``output_format``; SBOM formats describe one platform (``platform``, else the preferred)."""
    from shared.analysis.formats import to_cyclonedx, to_document, to_spdx, to_table  # cyclonedx-python-lib loads slowly

    if output_format == "table":
        return to_table(analysis)
    if output_format == "json":
        return json.dumps(to_document(analysis), indent=2) + "\n"
    names = [p.platform for p in analysis.platforms]
    chosen = platform if platform in names else (PREFERRED_PLATFORM if PREFERRED_PLATFORM in names else names[0])
    if output_format == "cyclonedx":
        return to_cyclonedx(analysis, chosen) + "\n"
    return json.dumps(to_spdx(analysis, chosen), indent=2) + "\n"


def run(
    args: argparse.Namespace, *, stdin: TextIO | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """Run ``lookout analyze`` for parsed ``args``; returns the exit code (errors raise :class:`LookoutError`)."""
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    analysis = analyze_reference(args, stdin=stdin, stderr=stderr)
    if len(analysis.platforms) > 1 and args.format in ("cyclonedx", "spdx"):
        names = [p.platform for p in analysis.platforms]
        chosen = PREFERRED_PLATFORM if PREFERRED_PLATFORM in names else names[0]
        note = f"the image has {len(names)} platforms; writing the SBOM of {chosen} (choose with --platform)"
        print(f"lookout: {note}", file=stderr)
    stdout.write(render(analysis, args.format, args.platform))
    stdout.flush()
    return 0


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``analyze`` subcommand on ``subparsers`` (``argparse``'s ``add_subparsers()`` result)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "analyze",
        help="list the packages of an image straight from its registry (SBOM)",
        description="Analyze an image straight from its registry: OS and language packages, as a table, JSON, CycloneDX or SPDX.",
    )
    add_image_arguments(parser)
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    parser.set_defaults(handler=run)
    return parser

