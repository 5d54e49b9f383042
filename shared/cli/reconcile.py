"""``lookout reconcile``: run the reconciliation sweep now, as the hourly timer does.

The sweep queues the jobs of registry events Event Grid never delivered (see
:mod:`shared.intake.reconcile`). The command talks to storage directly, with the app's settings
(environment, then ``local.settings.json``), like the function app itself: run it where the app's
settings are. The queued jobs are processed by the app's worker. Exit code 0 when every registry was
swept, 1 when one failed (the others were swept).
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.intake.reconcile import SweepReport

# The storage modules are imported by the command, so that every other ``lookout`` command starts
# without loading the Azure SDK.


def cmd_reconcile(args: argparse.Namespace) -> int:
    from shared.wiring import services

    report = services().reconciler.sweep(args.integration)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(summary(report))
    return 1 if report.failures else 0


def summary(report: SweepReport) -> str:
    """The report as lines of text for a terminal."""
    lines = [
        f"swept {report.repositories} repositories ({report.tags} tags, {report.requests} registry requests) "
        f"in {report.seconds:.1f}s",
        f"queued {report.push_jobs} push and {report.delete_jobs} delete jobs",
    ]
    if report.finished:
        lines.append("the sweep is complete; the next one starts from the beginning")
    elif report.resume_after is not None:
        integration, repository = report.resume_after
        lines.append(f"the sweep stopped at its bounds; the next run continues after {repository} (integration {integration})")
    for failure in report.failures:
        where = f" at {failure.repository}" if failure.repository else ""
        lines.append(f"failed: {failure.registry} (integration {failure.integration_id}){where}: "
                     f"{failure.code}: {failure.reason}")
    return "\n".join(lines)


def add_parser(commands: Any) -> None:
    """Register ``reconcile`` on the top-level subparsers."""
    parser = commands.add_parser(
        "reconcile", help="queue the jobs of registry events Event Grid never delivered (the hourly sweep, now)")
    parser.add_argument("--integration", metavar="ID", help="sweep only this integration (default: every enabled one)")
    parser.add_argument("--json", action="store_true", help="print the sweep's report as JSON")
    parser.set_defaults(handler=cmd_reconcile)
