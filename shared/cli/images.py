"""``lookout images list [REGISTRY/REPOSITORY] [--integration ID] [--limit N] [--all] [--json]``.

Without a repository: the repositories Lookout knows (``GET /api/repositories``), activated ones first,
each with its number of images, last push and newest image. With one: its images, newest push first
(``GET /api/images?registry=&repository=``). One page is printed (``--limit`` results, the API's default
otherwise) and a note on stderr says when more follow; ``--all`` follows the continuation tokens to
the end. ``--json`` prints the API's document (``{"repositories"|"images": [...], "continuation"}``;
with ``--all`` every item and ``"continuation": null``).
"""

from __future__ import annotations

import argparse
from typing import Any

from shared.cli.api import api_options, client_of, read_pages
from shared.cli.manage import EXIT_OK
from shared.cli.output import Screen, Styled, counts_cell, moment, short_digest
from shared.errors import InvalidInput
from shared.registry.reference import Reference


def repository_of(text: str) -> Reference:
    """``registry/repository`` parsed; raises :class:`InvalidInput` when it names a tag or digest too."""
    reference = Reference.parse(text)
    if reference.tag is not None or reference.digest is not None:
        raise InvalidInput(f"{text}: name a repository (registry/repository), without a tag or digest")
    return reference


def latest_cell(latest: dict[str, Any] | None) -> str:
    """A repository's newest image: its tags, else its short digest; ``-`` when it has none."""
    if not latest:
        return "-"
    return ", ".join(latest.get("tags") or []) or short_digest(str(latest.get("digest", "")))


def status_cell(status: str) -> Styled:
    """An image status, red when the analysis failed."""
    return Styled.of(status, "red" if status == "failed" else "")


def list_repositories(args: argparse.Namespace, screen: Screen) -> int:
    params = {"integration": args.integration} if args.integration else {}
    with screen.waiting("reading repositories"):
        items, rest = read_pages(client_of(args), "repositories", "repositories", params, limit=args.limit,
                                 every=args.all)
    if args.json:
        screen.json({"repositories": items, "continuation": rest})
        return EXIT_OK
    if not items:
        screen.line("no repositories: activate some with `lookout repos enable INTEGRATION REPOSITORY`")
        return EXIT_OK
    rows = []
    for item in items:
        latest = item.get("latest")
        rows.append((f"{item['registry']}/{item['repository']}", "yes" if item["enabled"] else "no", str(item["images"]),
                     moment(item.get("last_push")), latest_cell(latest),
                     status_cell(latest["status"]) if latest else "-",
                     counts_cell(latest["vulnerabilities"]) if latest else "-",
                     str(latest["fixable"]) if latest else "-"))
    screen.table(["REPOSITORY", "ACTIVATED", "IMAGES", "LAST PUSH", "LATEST", "STATUS", "VULNERABILITIES", "FIXABLE"],
                 rows, numeric=("IMAGES", "FIXABLE"))
    if rest:
        screen.note("more repositories follow: pass --all to list them all")
    return EXIT_OK


def list_images(args: argparse.Namespace, screen: Screen) -> int:
    reference = repository_of(args.repository)
    params = {"registry": reference.registry, "repository": reference.repository}
    with screen.waiting(f"reading the images of {reference.name}"):
        items, rest = read_pages(client_of(args), "images", "images", params, limit=args.limit, every=args.all,
                                 subject=reference.name)
    if args.json:
        screen.json({"images": items, "continuation": rest})
        return EXIT_OK
    if not items:
        screen.line(f"{reference.name} has no analyzed images")
        return EXIT_OK
    rows = [(", ".join(image.get("tags") or []) or "-", short_digest(image["digest"]),
             ", ".join(p["platform"] for p in image.get("platforms", [])) or "-", status_cell(image["status"]),
             counts_cell(image.get("vulnerabilities") or {}) if image["status"] == "analyzed" else "-",
             str(image.get("fixable", 0)) if image["status"] == "analyzed" else "-", moment(image.get("analyzed")))
            for image in items]
    screen.table(["TAGS", "DIGEST", "PLATFORMS", "STATUS", "VULNERABILITIES", "FIXABLE", "ANALYZED"], rows,
                 numeric=("FIXABLE",))
    if rest:
        screen.note("more images follow: pass --all to list them all")
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    """``lookout images list``: repositories, or one repository's images (see the module notes)."""
    screen = Screen()
    if args.repository is None:
        return list_repositories(args, screen)
    if args.integration:
        raise InvalidInput("--integration lists repositories: give it without a repository")
    return list_images(args, screen)


def add_parser(commands: Any) -> None:
    """Register ``images`` on the top-level subparsers."""
    images = commands.add_parser("images", help="the repositories and images Lookout has analyzed")
    group = images.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = group.add_parser("list", parents=[api_options()],
                               help="the repositories, or the images of one repository, newest first",
                               description="Without a repository: the repositories Lookout knows, activated ones "
                                           "first. With one: its images, newest push first.")
    listing.add_argument("repository", nargs="?", metavar="REGISTRY/REPOSITORY", help="list this repository's images")
    listing.add_argument("--integration", metavar="ID", help="only the repositories of this integration")
    listing.add_argument("--limit", type=int, metavar="N", help="at most N per page (1-500; the API's default: 50)")
    listing.add_argument("--all", action="store_true", help="follow every page")
    listing.set_defaults(handler=cmd_list)
