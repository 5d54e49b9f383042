"""``lookout vulns list`` and ``lookout vulns show``: the advisories found in the images Lookout analyzed.

- ``lookout vulns list [--severity LEVELS] [--fixable] [--query TEXT] [--limit N] [--all] [--json]``:
  every advisory found in a live image, worst first (``GET /api/vulnerabilities``), with how many
  images, repositories and packages it is in. One page is printed (a note on stderr says when more
  follow); ``--all`` follows every page. ``--json``: ``{"vulnerabilities": [...], "continuation"}``.
- ``lookout vulns show ID [--json]``: one advisory by id or alias (``CVE-…``, ``GHSA-…``, ``PYSEC-…``):
  its aliases, summary, severity and who rated it, references, and every package of every live image
  it is found in, with the installed and fixed versions (``GET /api/vulnerabilities/{id}``, every page
  of images). ``--json``: the API's document with every ``affected`` entry and ``"continuation": null``.

Exit codes: 0; 1 for an advisory no live image has; 2 for a bad argument (an unknown severity, a
malformed id); 3 when the API is unreachable.
"""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import quote

from shared.cli.api import api_options, client_of, read_pages
from shared.cli.manage import EXIT_OK
from shared.cli.output import Cell, Screen, Styled, severity, short_digest

PAGE = 500
"""How many affected images ``vulns show`` asks for per page (the API's maximum)."""


def rating(value: dict[str, Any] | None, *, source: bool) -> Styled:
    """A stored severity as ``high 7.5``, with ``source``: ``high 7.5 (GHSA-…)`` or ``medium (GitHub GHSA-…)``."""
    from shared.vulns.report import severity_from_json, severity_text

    parsed = severity_from_json(value or {})
    level = "low" if parsed.rating == "none" else parsed.rating
    if source:
        return severity(level, severity_text(parsed))
    return severity(level, parsed.rating if parsed.score is None else f"{parsed.rating} {parsed.score:.1f}")


def cmd_list(args: argparse.Namespace) -> int:
    """``lookout vulns list``: see the module notes."""
    params = {key: value for key, value in (("severity", args.severity), ("fixable", "true" if args.fixable else None),
                                            ("q", args.query)) if value}
    screen = Screen()
    with screen.waiting("reading vulnerabilities"):
        items, rest = read_pages(client_of(args), "vulnerabilities", "vulnerabilities", params, limit=args.limit,
                                 every=args.all)
    if args.json:
        screen.json({"vulnerabilities": items, "continuation": rest})
        return EXIT_OK
    if not items:
        screen.line("no vulnerabilities match" if params else "no vulnerabilities in the analyzed images")
        return EXIT_OK
    rows = [(item["id"], rating(item.get("severity"), source=False), "yes" if item.get("fixable") else "no",
             str(item.get("images", 0)), str(item.get("repositories", 0)), ", ".join(item.get("packages", [])),
             item.get("summary") or "") for item in items]
    screen.table(["ID", "SEVERITY", "FIXABLE", "IMAGES", "REPOSITORIES", "PACKAGES", "SUMMARY"], rows,
                 numeric=("IMAGES", "REPOSITORIES"))
    if rest:
        screen.note("more vulnerabilities follow: pass --all to list them all")
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    """``lookout vulns show``: see the module notes."""
    client, screen = client_of(args), Screen()
    path = f"vulnerabilities/{quote(args.id, safe='')}"
    with screen.waiting(f"reading {args.id}"):
        first = client.get(path, {"limit": str(PAGE)})
        affected = list(first.get("affected", []))
        if first.get("continuation"):
            more, _ = read_pages(client, path, "affected", {"continuation": first["continuation"]}, limit=PAGE,
                                 every=True)
            affected.extend(more)
    document = {**first, "affected": affected, "continuation": None}
    if args.json:
        screen.json(document)
        return EXIT_OK
    fields: list[tuple[str, Cell]] = [("id", document["id"])]
    if document.get("aliases"):
        fields.append(("aliases", ", ".join(document["aliases"])))
    fields.append(("severity", rating(document.get("severity"), source=True)))
    if document.get("summary"):
        fields.append(("summary", document["summary"]))
    if document.get("references"):
        fields.append(("references", "\n".join(r["url"] for r in document["references"])))
    screen.fields(fields)
    images = {(a["registry"], a["repository"], a["digest"]) for a in affected}
    screen.heading(f"Affected: {len(images)} image{'s' if len(images) != 1 else ''}, "
                   f"{len(affected)} package{'s' if len(affected) != 1 else ''}")
    rows = [(f"{a['registry']}/{a['repository']}", ", ".join(a.get("tags", [])) or "-", short_digest(a["digest"]),
             a["platform"], a["name"], a["installed_version"], ", ".join(a.get("fixed_versions", [])) or "-")
            for a in affected]
    screen.table(["IMAGE", "TAGS", "DIGEST", "PLATFORM", "PACKAGE", "INSTALLED", "FIXED IN"], rows)
    return EXIT_OK


def add_parser(commands: Any) -> None:
    """Register ``vulns`` on the top-level subparsers."""
    vulns = commands.add_parser("vulns", help="the advisories found in the analyzed images")
    group = vulns.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = group.add_parser("list", parents=[api_options()], help="every advisory found in a live image, worst first",
                               description="Every advisory found in an image Lookout analyzed, worst first.")
    listing.add_argument("--severity", metavar="LEVELS", help="only these, comma-separated: critical,high,medium,low,unknown")
    listing.add_argument("--fixable", action="store_true", help="only advisories with a fixed version")
    listing.add_argument("--query", metavar="TEXT", help="only those whose id, an alias, a package name or the summary "
                                                         "contains TEXT (case-insensitive)")
    listing.add_argument("--limit", type=int, metavar="N", help="at most N per page (1-500; the API's default: 50)")
    listing.add_argument("--all", action="store_true", help="follow every page")
    listing.set_defaults(handler=cmd_list)
    show = group.add_parser("show", parents=[api_options()], help="one advisory and every image it is found in",
                            description="One advisory by id or alias: severity and its source, references, and "
                                        "every affected image, package and fixed version.")
    show.add_argument("id", metavar="ID", help="an advisory id or alias: CVE-…, GHSA-…, PYSEC-…")
    show.set_defaults(handler=cmd_show)
