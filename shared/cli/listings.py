"""``lookout listings rebuild``: file every analyzed image in the listing indexes again.

Images analyzed by a Lookout older than the listing indexes (repository summaries, images by push
time, the advisory and package indexes) are missing from ``GET /api/repositories``, ``/api/images``,
``/api/vulnerabilities`` and ``/api/packages`` until they are filed again: run this once after the
upgrade (see :mod:`shared.worker.listings`). It talks to storage directly, with the app's settings
(environment, then ``local.settings.json``), like the function app itself: run it where the app's
settings are. Running it again changes nothing more. Exit code 0 when every image was filed, 1 when
an image's SBOM or report is missing (it is reported; the others were filed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.worker.listings import RepositoryRebuild

# The storage modules are imported by the command, so that every other ``lookout`` command starts
# without loading the Azure SDK.


def cmd_rebuild(args: argparse.Namespace) -> int:
    from shared.wiring import services
    from shared.worker.listings import rebuild_listings

    started = time.monotonic()
    repositories: list[dict[str, Any]] = []
    count = images = incomplete = 0
    for done in rebuild_listings(services().worker, args.registry):
        count += 1
        images += done.images
        incomplete += len(done.incomplete)
        if args.json:
            repositories.append(done.to_json())
        else:
            print(repository_lines(done), flush=True)
    seconds = round(time.monotonic() - started, 3)
    if args.json:
        print(json.dumps({"repositories": repositories, "images": images, "incomplete": incomplete,
                          "seconds": seconds}, indent=2))
    else:
        print(total_line(count, images, incomplete, seconds))
    if incomplete:
        print(f"lookout: {incomplete} image(s) could not be filed completely: their SBOM or report is missing "
              "(analyze them again)", file=sys.stderr)
    return 1 if incomplete else 0


def repository_lines(done: RepositoryRebuild) -> str:
    """One line for a repository, and one more per image it could not file completely."""
    line = f"{done.registry}/{done.repository}: {done.images} image(s) filed again"
    if done.incomplete:
        line += f", {len(done.incomplete)} incomplete"
    return "\n".join([line, *(f"  incomplete {image.digest}: missing {', '.join(image.missing)}"
                              for image in done.incomplete)])


def total_line(repositories: int, images: int, incomplete: int, seconds: float) -> str:
    """The closing line: images filed again in how many repositories (and those incomplete), seconds taken."""
    line = f"filed {images} image(s) of {repositories} repositories again in {seconds:.1f}s"
    if incomplete:
        line += f"; {incomplete} could not be filed completely"
    return line


def add_parser(commands: Any) -> None:
    """Register ``listings`` on the top-level subparsers."""
    parser = commands.add_parser("listings", help="keep the listing indexes (repositories, images, advisories, packages)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    rebuild = actions.add_parser(
        "rebuild", help="file every analyzed image in the listing indexes again (images analyzed before they existed)")
    rebuild.add_argument("--registry", metavar="HOST", help="only the images of this registry (default: every registry)")
    rebuild.add_argument("--json", action="store_true", help="print the result as JSON")
    rebuild.set_defaults(handler=cmd_rebuild)
