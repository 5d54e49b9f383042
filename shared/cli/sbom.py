"""``lookout sbom IMAGE [--format json|cyclonedx|spdx|list | --json] [--platform os/arch] [--output FILE]``.

The stored SBOM of an analyzed image (``GET /api/images/sbom``): Lookout's JSON (every platform, or
``--platform``'s), CycloneDX 1.6 or SPDX 2.3 (one platform: ``--platform``, else linux/amd64 or the only
one), each as indented JSON; ``list`` is a table of the packages (name, version, type, and platform when
there are several). ``--json`` is ``--format json``. ``--output FILE`` writes the document to ``FILE``
instead of standard output and says so on stderr. Exit codes: 0; 1 for an image the app has not
recorded or not analyzed (or a platform it lacks); 2 for a malformed reference; 3 when the API is
unreachable.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import Any

from shared.cli.api import api_options, client_of, image_label, image_query
from shared.cli.manage import EXIT_OK
from shared.cli.output import Screen
from shared.errors import InvalidInput
from shared.registry.reference import Reference

FORMATS = ("json", "cyclonedx", "spdx", "list")


def package_rows(document: dict[str, Any]) -> tuple[list[str], list[tuple[str, ...]]]:
    """Headers and rows of the ``list`` format from Lookout's SBOM JSON, in the SBOM's order."""
    platforms = document.get("platforms", [])
    several = len(platforms) > 1
    rows = [(p["name"], p["version"], p["type"], *([platform["platform"]] if several else []))
            for platform in platforms for p in platform.get("packages", [])]
    return ["NAME", "VERSION", "TYPE", *(["PLATFORM"] if several else [])], rows


def cmd_sbom(args: argparse.Namespace) -> int:
    """``lookout sbom``: see the module notes."""
    if args.json and args.format not in ("json", None):
        raise InvalidInput("--json is --format json: give one of them")
    output_format = args.format or "json"
    reference = Reference.parse(args.image)
    subject = image_label(reference)
    params = {**image_query(reference), "format": "json" if output_format == "list" else output_format}
    if args.platform:
        params["platform"] = args.platform
    with Screen().waiting(f"reading the SBOM of {subject}"):
        document = client_of(args).get("images/sbom", params, subject=subject)
    target = io.StringIO() if args.output else None
    screen = Screen(stdout=target)
    if output_format == "list":
        headers, rows = package_rows(document)
        screen.table(headers, rows)
    else:
        screen.json(document)
    if target is not None:
        Path(args.output).write_text(target.getvalue(), encoding="utf-8")
        screen.note(f"wrote the {output_format} SBOM of {subject} to {args.output}")
    return EXIT_OK


def add_parser(commands: Any) -> None:
    """Register ``sbom`` on the top-level subparsers."""
    parser = commands.add_parser("sbom", parents=[api_options()], help="the stored SBOM of an analyzed image",
                                 description="The SBOM Lookout stored for an image: Lookout's JSON, CycloneDX, SPDX, "
                                             "or a list of its packages.")
    parser.add_argument("image", metavar="IMAGE", help="registry/repository:tag or registry/repository@sha256:...")
    parser.add_argument("--format", choices=FORMATS, default=None,
                        help="json (default; every platform), cyclonedx or spdx (one platform), list (a table)")
    parser.add_argument("--platform", metavar="OS/ARCH[/VARIANT]", help="the platform to describe")
    parser.add_argument("--output", metavar="FILE", help="write the SBOM to FILE instead of standard output")
    parser.set_defaults(handler=cmd_sbom)
