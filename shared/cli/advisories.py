"""``lookout advisories import|status``: fill the offline advisory mirror by hand, and look at it.

These commands talk to storage directly, with the app's settings (environment, then
``local.settings.json``), like the function app itself: run them where the app's settings are.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from shared.vulns.service import FeedImport

# The storage and advisory modules are imported by the commands that use them, so that every other
# ``lookout`` command starts without loading the Azure SDK.

NO_IMPORT_YET = ("no advisories imported yet — run `lookout advisories import PATH_OR_URL…` "
                 "(an OSV directory or all.zip, or the Debian tracker's JSON), or set LOOKOUT_ADVISORY_FEEDS")


class ProgressLine:
    """A one-line progress display on a terminal (``stream``): rewritten in place, nothing when not a TTY."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._shown = False
        self._enabled = stream.isatty()

    def __call__(self, name: str, count: int) -> None:
        if self._enabled:
            self._stream.write(f"\r\x1b[K{name}: {count:,} records read")
            self._stream.flush()
            self._shown = True

    def clear(self) -> None:
        """Remove the line, so the next output starts on a clean one."""
        if self._shown:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
            self._shown = False


def cmd_import(args: argparse.Namespace) -> int:
    from shared.wiring import services

    svc = services()
    progress = ProgressLine(sys.stderr)
    imports = []
    for location in args.locations:
        (done,) = svc.vulnerabilities.import_feeds(svc.advisories, [location], complete=args.complete,
                                                   progress=None if args.json else progress)
        progress.clear()
        imports.append(done)
        if not args.json:
            print(done.summary())
            if done.rematch is not None:
                for image in done.rematch.images_changed:
                    print(f"    {image}")
            for problem in done.result.problems[:20] if done.result is not None else ():
                print(f"  problem: {problem.code}: {problem.message} {problem.origin}".rstrip())
    if args.json:
        print(json.dumps([_feed_json(done) for done in imports], indent=2))
    return 0 if all(done.error is None for done in imports) else 1


def _feed_json(done: FeedImport) -> dict[str, Any]:
    body: dict[str, Any] = {"source": done.source, "seconds": round(done.seconds, 3), "error": done.error}
    if done.result is not None and done.rematch is not None:
        result = done.result
        body |= {"added": result.added, "updated": result.updated, "removed": result.removed,
                 "unchanged": result.unchanged, "stale": result.stale, "problems": len(result.problems),
                 "snapshot": result.snapshot, "sboms_rematched": done.rematch.platforms_checked,
                 "images_changed": list(done.rematch.images_changed)}
    return body


def cmd_status(args: argparse.Namespace) -> int:
    from shared.wiring import services

    svc = services()
    status = {"source": svc.settings.advisory_source, **svc.advisories.status()}
    if args.json:
        print(json.dumps(status, indent=2))
    elif not status.get("snapshot"):
        print(f"source {status['source']}: {NO_IMPORT_YET}")
    else:
        print(f"source {status['source']}; snapshot {status['snapshot']}; imported {status.get('imported_at')}")
        ecosystems = status.get("ecosystems") or {}
        for ecosystem, count in sorted(ecosystems.items()):
            print(f"  {ecosystem}: {count:,} records")
    return 0


def add_parser(commands: Any) -> None:
    """Register ``advisories`` on the top-level subparsers."""
    parser = commands.add_parser("advisories", help="import advisories into the offline mirror, and show it")
    group = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    imported = group.add_parser("import", help="import OSV records (directories, zip files, https zip URLs) "
                                               "or the Debian security tracker's JSON")
    imported.add_argument("locations", nargs="+", metavar="PATH_OR_URL")
    imported.add_argument("--complete", action="store_true",
                          help="an osv.dev <ecosystem>/all.zip is the whole ecosystem: remove records it no longer has")
    imported.add_argument("--json", action="store_true")
    imported.set_defaults(handler=cmd_import)
    status = group.add_parser("status", help="the mirror's snapshot and last import")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=cmd_status)
