"""``lookout cves``: the known vulnerabilities of an image, straight from its registry, without Azure.

``lookout cves REFERENCE [--username U] [--password-stdin] [--insecure] [--platform os/arch]
[--format table|json|sarif] [--advisories PATH_OR_ZIP ... | --osv-api URL] [--severity LEVELS]
[--fixable] [--exit-code]``.

The image is analyzed exactly as ``lookout analyze`` does it (:mod:`shared.cli.analyze`), then
matched (:mod:`shared.vulns.report`). Advisory data is not shipped with Lookout; it comes from:

- ``--advisories PATH_OR_ZIP``, repeatable: a directory of OSV records (JSON or YAML, searched
  recursively), an osv.dev ``all.zip`` or its https URL (:func:`shared.vulns.feeds.open_feed`);
  all of them are loaded into one in-memory index before the image is read;
- or ``--osv-api URL``: an OSV API (``https://api.osv.dev`` or a mirror of it);
- or else the ``LOOKOUT_ADVISORIES`` environment variable: locations as for ``--advisories``,
  comma-separated.

Output goes to stdout: the table starts with the severity summary line; ``json`` is
:func:`shared.vulns.report.image_json`, ``sarif`` :func:`shared.vulns.sarif.to_sarif`. Every format
says which record gave a finding's severity (``high 7.5 (GHSA-…)`` in the table; ``source``,
``origin``, ``score`` and ``vector`` in JSON; result properties in SARIF). A finding whose own records
give no rating takes one from any record loaded that names one of its ids (see
:mod:`shared.vulns.severity`): passing GitHub's advisory database (a clone of
``github/advisory-database`` or osv.dev's zips, which include it) beside PyPA's rates most Python
findings that PyPA's records leave ``unknown``.
``--severity critical,high`` keeps findings of those ratings, ``--fixable`` those with a fixed
version; counts describe what is kept. Notes about unreadable advisories, unsupported packages and
unevaluated ranges go to stderr.

Exit codes: 0 whether or not vulnerabilities were found; with ``--exit-code``,
:data:`EXIT_VULNERABLE` (4) when some finding is left after the filters. 1 failure, 2 usage error
(including no advisory data).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from shared.cli import analyze
from shared.errors import InvalidInput

if TYPE_CHECKING:
    from shared.vulns.index import MemoryIndex
    from shared.vulns.problems import Problem
    from shared.vulns.report import ImageReport

# The advisory and matching modules are imported where they are used, so that other ``lookout``
# commands start without loading them.

FORMATS = ("table", "json", "sarif")
ADVISORIES_ENV = "LOOKOUT_ADVISORIES"
EXIT_VULNERABLE = 4
"""The exit code with ``--exit-code`` when vulnerabilities are found (2 already means a usage error)."""
_NOTES_SHOWN = 3


def advisory_locations(paths: Sequence[str] | None, environ: Mapping[str, str]) -> list[str]:
    """The ``--advisories`` arguments, else the comma-separated :data:`ADVISORIES_ENV`; raises
    :class:`InvalidInput` when neither names any."""
    chosen = list(paths or [part.strip() for part in environ.get(ADVISORIES_ENV, "").split(",") if part.strip()])
    if not chosen:
        raise InvalidInput(
            "no advisory data: pass --advisories PATH_OR_ZIP (a directory of OSV records or an all.zip), "
            f"--osv-api URL, or set {ADVISORIES_ENV}"
        )
    return chosen


def load_index(locations: Sequence[str]) -> tuple[MemoryIndex, list[Problem]]:
    """An in-memory index of every record at ``locations`` (see :func:`shared.vulns.feeds.open_feed`)
    and the records that could not be read; raises :class:`InvalidInput` for a location that is none."""
    from shared.vulns.feeds import open_feed
    from shared.vulns.index import MemoryIndex

    index = MemoryIndex()
    problems: list[Problem] = []
    for location in locations:
        with open_feed(location) as opened:
            problems.extend(index.import_records(opened.feed.read()).problems)
    return index, problems


def render(report: ImageReport, output_format: str) -> str:
    """The text printed for ``output_format`` (one of :data:`FORMATS`)."""
    from shared.vulns.report import image_json, image_text
    from shared.vulns.sarif import to_sarif

    if output_format == "json":
        return json.dumps(image_json(report), indent=2) + "\n"
    if output_format == "sarif":
        return json.dumps(to_sarif(report), indent=2) + "\n"
    return image_text(report)


def _note(stderr: TextIO, what: str, problems: Sequence[Problem]) -> None:
    if problems:
        shown = "; ".join(str(p) for p in problems[:_NOTES_SHOWN]) + ("; ..." if len(problems) > _NOTES_SHOWN else "")
        print(f"lookout: {len(problems)} {what}: {shown}", file=stderr)


def run(
    args: argparse.Namespace,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Run ``lookout cves`` for parsed ``args``; returns the exit code (errors raise :class:`LookoutError`)."""
    from shared.vulns.matching import Matcher
    from shared.vulns.osvapi import OsvApiClient, OsvApiSource
    from shared.vulns.report import match_image, parse_levels, select_image

    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    environ = os.environ if environ is None else environ
    levels = parse_levels(args.severity) if args.severity else None
    if args.osv_api:
        client = OsvApiClient(args.osv_api)
        try:
            report = match_image(analyze.analyze_reference(args, stdin=stdin, stderr=stderr), OsvApiSource(client))
        finally:
            client.close()
    else:
        index, unreadable = load_index(advisory_locations(args.advisories, environ))
        _note(stderr, "advisory records could not be read", unreadable)
        report = match_image(analyze.analyze_reference(args, stdin=stdin, stderr=stderr), Matcher(index))
    for platform in report.platforms:
        _note(stderr, f"packages of {platform.platform} have no OSV ecosystem", platform.match.skipped)
        _note(stderr, f"packages of {platform.platform} could not be fully evaluated", platform.match.problems)
    report = select_image(report, levels=levels, fixable=args.fixable)
    stdout.write(render(report, args.format))
    stdout.flush()
    return EXIT_VULNERABLE if args.exit_code and report.finding_count else 0


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``cves`` subcommand on ``subparsers`` (``argparse``'s ``add_subparsers()`` result)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "cves",
        help="list the known vulnerabilities of an image straight from its registry",
        description="Analyze an image straight from its registry and match its packages against OSV advisories.",
    )
    analyze.add_image_arguments(parser)
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--advisories",
        metavar="PATH_OR_ZIP",
        action="append",
        help=f"OSV records: a directory, an all.zip or its https URL (repeatable; default: ${ADVISORIES_ENV}, comma-separated)",
    )
    source.add_argument("--osv-api", metavar="URL", help="query an OSV API instead (e.g. https://api.osv.dev)")
    parser.add_argument(
        "--severity", metavar="LEVELS", help="only these ratings, comma-separated: critical,high,medium,low,unknown"
    )
    parser.add_argument("--fixable", action="store_true", help="only vulnerabilities with a fixed version")
    parser.add_argument(
        "--exit-code", action="store_true", help=f"exit with {EXIT_VULNERABLE} when vulnerabilities are found (after the filters)"
    )
    parser.set_defaults(handler=run)
    return parser

