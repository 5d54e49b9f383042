"""``lookout recommendations IMAGE [--json]``: what to do about an analyzed image's base image.

Reads ``GET /api/images/recommendations`` (see :meth:`shared.bases.service.Bases.recommendations`) and
prints, per platform: the detected base (name, digest, how many layers it accounts for), ``rebuild
needed`` when the base's tag now points at another digest, how many of the image's vulnerabilities come
from the base and how many the image added, and the other tags of the base Lookout knows with what
moving to each would remove and add — or that no vulnerability data is known for it. ``--json`` prints
the API's document unchanged. Exit codes: 0; 1 when no platform has a detected base; 2 malformed
reference; 3 API unreachable.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from shared.cli.api import api_options, client_of, image_label, image_query
from shared.cli.manage import EXIT_FAILED, EXIT_OK
from shared.cli.output import Cell, Screen, Styled, counts_cell, short_digest
from shared.registry.reference import Reference


def _delta(counts: Mapping[str, int] | None, sign: str) -> Cell:
    if counts is None:
        return "-"
    return Styled(((f"{sign}{counts['total']} ", ""), *counts_cell(counts).parts))


def show(screen: Screen, label: str, document: Mapping[str, Any]) -> bool:
    """Print the recommendations ``document`` of image ``label``; whether any platform has a detected base."""
    screen.line(Styled.of(label, "bold"))
    detected = False
    for platform in document.get("platforms", []):
        base = platform.get("base")
        several = len(document.get("platforms", [])) > 1
        if several:
            screen.heading(f"Platform {platform['platform']}")
        if base is None:
            screen.line("no base image detected: no image Lookout knows has this image's first layers")
            continue
        detected = True
        fields: list[tuple[str, Cell]] = [
            ("base image", base["name"]),
            ("base digest", base["digest"]),
            ("base layers", str(base["layers"])),
        ]
        if platform.get("rebuild"):
            fields.append(("rebuild", Styled.of(platform["rebuild"], "bold red")))
        else:
            fields.append(("rebuild", "not needed: the base's tag still points at this digest"))
        if platform.get("from_base") is not None:
            fields.append(("from the base", counts_cell(platform["from_base"])))
            fields.append(("added by image", counts_cell(platform["added"])))
        current = platform.get("current") or {}
        if current.get("vulnerabilities") is not None:
            fields.append(("base findings", f"{current['vulnerabilities']['total']} (from the {current['source']})"))
        else:
            fields.append(("base findings", current.get("note") or "unknown"))
        screen.fields(fields)
        alternatives = platform.get("alternatives") or []
        if not alternatives:
            screen.line("")
            screen.line("no other tag of this base is known to Lookout")
            continue
        screen.heading("Other tags of the base")
        rows: list[list[Cell]] = []
        for alternative in alternatives:
            newer = {True: "newer", False: "older"}.get(alternative.get("newer"), "-")
            own = alternative.get("vulnerabilities")
            rows.append([alternative["name"], short_digest(alternative["digest"]), newer,
                         counts_cell(own) if own is not None else "-", _delta(alternative.get("remove"), "-"),
                         _delta(alternative.get("add"), "+"), alternative.get("note") or ""])
        screen.table(["BASE", "DIGEST", "BUILT", "VULNERABILITIES", "REMOVES", "ADDS", "NOTE"], rows)
    return detected


def cmd_recommendations(args: argparse.Namespace) -> int:
    """``lookout recommendations``: see the module notes."""
    reference = Reference.parse(args.image)
    client, screen, subject = client_of(args), Screen(), image_label(reference)
    with screen.waiting(f"reading {subject}"):
        document = client.get("images/recommendations", image_query(reference), subject=subject)
    if args.json:
        screen.json(document)
        detected = any(p.get("base") for p in document.get("platforms", []))
    else:
        detected = show(screen, subject, document)
    return EXIT_OK if detected else EXIT_FAILED


def add_parser(commands: Any) -> None:
    """Register ``recommendations`` on the top-level subparsers."""
    parser = commands.add_parser("recommendations", parents=[api_options()],
                                 help="an analyzed image's base image: rebuild needed, other tags and what they fix",
                                 description="The base image Lookout detected for an analyzed image, whether it "
                                             "needs a rebuild, and the other tags of the base it knows with how many "
                                             "vulnerabilities each would remove or add.")
    parser.add_argument("image", metavar="IMAGE", help="registry/repository:tag or registry/repository@sha256:...")
    parser.set_defaults(handler=cmd_recommendations)
