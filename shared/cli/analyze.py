"""``lookout analyze``: the SBOM of an image straight from its registry, without Azure.

``lookout analyze REFERENCE [--username U] [--password-stdin] [--insecure] [--platform os/arch]
[--format table|json|cyclonedx|spdx]``. ``REFERENCE`` is ``host[:port]/repository[:tag|@digest]``.
The output goes to stdout; a progress display goes to stderr when it is a terminal. Runs the same
analysis as the queue worker (:func:`shared.analysis.analyze_image`), with an in-memory cache.
Exit codes: 0 success, 1 failure, 2 usage error (a malformed reference, a platform the image lacks,
a missing password).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from shared.analysis import ImageAnalysis, MemoryLayerCache, analyze_image
from shared.analysis.allocator import keep_large_blocks
from shared.errors import InvalidInput
from shared.registry import Credentials, Reference, RegistryClient

FORMATS = ("table", "json", "cyclonedx", "spdx")
PREFERRED_PLATFORM = "linux/amd64"


class TerminalProgress:
    """A one-line progress display, rewritten in place on a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._platform = ""
        self._layers = 0
        self._position = 0
        self._size = 0

    def _show(self, text: str) -> None:
        self._stream.write("\r\x1b[2K" + text[:200])
        self._stream.flush()

    def platform_started(self, platform: str, layers: int) -> None:
        self._platform, self._layers, self._position = platform, layers, 0

    def layer_started(self, digest: str, size: int, *, cached: bool) -> None:
        self._position += 1
        self._size = size
        state = "cached" if cached else f"0.0/{size / 1e6:.1f} MB"
        self._show(f"{self._platform} layer {self._position}/{self._layers} {digest[7:19]} {state}")

    def layer_advanced(self, digest: str, done: int) -> None:
        where = f"{self._platform} layer {self._position}/{self._layers} {digest[7:19]}"
        self._show(f"{where} {done / 1e6:.1f}/{self._size / 1e6:.1f} MB")

    def layer_finished(self, digest: str) -> None:
        if self._position == self._layers:
            self._show("")


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
            progress=progress,
        )


def add_image_arguments(parser: argparse.ArgumentParser) -> None:
    """REFERENCE, ``--username``, ``--password-stdin``, ``--insecure`` and ``--platform``: the image to analyze."""
    parser.add_argument("reference", metavar="REFERENCE", help="host[:port]/repository[:tag|@sha256:...]")
    parser.add_argument("--username", help="registry user name (for ACR, a token name)")
    parser.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    parser.add_argument("--insecure", action="store_true", help="plain HTTP, no TLS verification (local registries)")
    parser.add_argument("--platform", metavar="OS/ARCH[/VARIANT]", help="analyze only this platform of a multi-platform image")


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

