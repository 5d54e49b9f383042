"""``lookout advisories import|status``: fill the offline advisory mirror by hand, and look at it.

These commands talk to storage directly, with the app's settings (environment, then
``local.settings.json``), like the function app itself: run them where the app's settings are.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

# The storage and advisory modules are imported by the commands that use them, so that every other
# ``lookout`` command starts without loading the Azure SDK.


def cmd_import(args: argparse.Namespace) -> int:
    from shared.vulns.feeds import open_feed
    from shared.wiring import services

    svc = services()
    totals: list[dict[str, Any]] = []
    for location in args.locations:
        with open_feed(location) as opened:
            complete = opened.complete_ecosystems if args.complete else ()
            result, rematched = svc.vulnerabilities.import_and_rematch(svc.advisories, opened.feed.read(), complete)
        totals.append({
            "source": location.split("?", 1)[0], "added": result.added, "updated": result.updated,
            "removed": result.removed, "unchanged": result.unchanged, "stale": result.stale,
            "problems": len(result.problems), "snapshot": result.snapshot,
            "sboms_rematched": rematched.platforms_checked, "images_changed": list(rematched.images_changed),
        })
        if not args.json:
            print(f"{totals[-1]['source']}: {result.added} added, {result.updated} updated, {result.removed} removed, "
                  f"{result.unchanged} unchanged, {result.stale} stale, {len(result.problems)} problems")
            print(f"  re-matched {rematched.platforms_checked} stored SBOMs; {len(rematched.images_changed)} images changed")
            for image in rematched.images_changed:
                print(f"    {image}")
            for problem in result.problems[:20]:
                print(f"  problem: {problem.code}: {problem.message} {problem.origin}".rstrip())
    if args.json:
        print(json.dumps(totals, indent=2))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from shared.wiring import services

    svc = services()
    status = {"source": svc.settings.advisory_source, **svc.advisories.status()}
    print(json.dumps(status, indent=2) if args.json else
          f"source {status['source']}; snapshot {status.get('snapshot') or '(empty)'}; imported {status.get('imported_at')}")
    return 0


def add_parser(commands: Any) -> None:
    """Register ``advisories`` on the top-level subparsers."""
    parser = commands.add_parser("advisories", help="import OSV advisories into the offline mirror")
    group = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    imported = group.add_parser("import", help="import OSV records from directories, zip files or https zip URLs")
    imported.add_argument("locations", nargs="+", metavar="PATH_OR_URL")
    imported.add_argument("--complete", action="store_true",
                          help="an osv.dev <ecosystem>/all.zip is the whole ecosystem: remove records it no longer has")
    imported.add_argument("--json", action="store_true")
    imported.set_defaults(handler=cmd_import)
    status = group.add_parser("status", help="the mirror's snapshot and last import")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=cmd_status)
