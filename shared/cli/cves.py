"""``lookout cves``: the known vulnerabilities of an image, from Lookout's stored results or straight from
its registry.

``lookout cves REFERENCE [--api URL] [--key KEY] [--from-registry] [--username U] [--password-stdin]
[--insecure] [--platform os/arch] [--format table|json|sarif | --json]
[--advisories PATH_OR_ZIP ... | --osv-api URL] [--severity LEVELS] [--fixable] [--exit-code]``.

When a Lookout app is named (``--api URL``, else ``LOOKOUT_URL``) and ``--from-registry`` is not given,
the app's stored results for the image are read (:mod:`shared.cli.stored_reports`) and printed exactly
as a fresh match would be; when the app is unreachable, has not recorded the image or has not analyzed
it, a note on stderr says so and the image is analyzed from its registry instead. Without an app, or
with ``--from-registry``, the image is analyzed exactly as ``lookout analyze`` does it
(:mod:`shared.cli.analyze`), then matched (:mod:`shared.vulns.report`). Advisory data for that is not
shipped with Lookout; it comes from:

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
from shared.cli.api import KEY_ENV, URL_ENV, ApiClient, ApiFailure, ApiUnreachable
from shared.cli.output import Screen
from shared.errors import InvalidInput
from shared.registry.reference import Reference

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


def stored_report(args: argparse.Namespace, *, stderr: TextIO, environ: Mapping[str, str]) -> ImageReport | None:
    """The app's stored report of the image (see the module notes); None, after a note on ``stderr``, when
    the app cannot give it, and None without a note when no app is named or ``--from-registry`` is given."""
    from shared.cli.stored_reports import image_report

    url = args.api or environ.get(URL_ENV, "")
    if args.from_registry or not url:
        return None
    reference = Reference.parse(args.reference)
    client = ApiClient(base_url=url, key=args.key or environ.get(KEY_ENV) or None)
    screen = Screen(stderr=stderr)
    try:
        with screen.waiting(f"reading the stored results of {args.reference}"):
            return image_report(client, reference, platform=args.platform)
    except ApiUnreachable as exc:
        reason = exc.message
    except ApiFailure as exc:
        reason = f"Lookout at {url} has no results for {args.reference} ({exc.status}: {exc.message})"
    screen.note(f"{reason}; analyzing the image from its registry")
    return None


def registry_report(args: argparse.Namespace, *, stdin: TextIO, stderr: TextIO,
                    environ: Mapping[str, str]) -> ImageReport:
    """The image analyzed from its registry and matched against the advisories of the arguments."""
    from shared.vulns.matching import Matcher
    from shared.vulns.osvapi import OsvApiClient, OsvApiSource
    from shared.vulns.report import match_image

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
    return report


def with_origins(text: str, report: ImageReport, args: argparse.Namespace, environ: Mapping[str, str]) -> str:
    """``text`` (the stored report printed as ``args.format``) with the detected base and the split of the findings
    into those from the base and those the image added (:mod:`shared.cli.bases`): an ``origin`` per finding and a
    ``base`` and ``origin_counts`` per platform in JSON, a few lines per platform after the table. Unchanged for
    SARIF, for an image without a detected base, or when the app cannot say."""
    from shared.cli.bases import add_origins, origin_text, stored_origins
    from shared.vulns.report import image_json

    if args.format == "sarif":
        return text
    client = ApiClient(base_url=args.api or environ.get(URL_ENV, ""), key=args.key or environ.get(KEY_ENV) or None)
    query = {"registry": Reference.parse(args.reference).registry,
             "repository": Reference.parse(args.reference).repository, "reference": report.digest}
    try:
        origins = stored_origins(client, query)
    except (ApiUnreachable, ApiFailure):
        return text
    if not any(known.get("base") for known in origins.values()):
        return text
    if args.format == "json":
        return json.dumps(add_origins(json.loads(text), origins), indent=2) + "\n"
    return text + origin_text(image_json(report), origins)


def run(
    args: argparse.Namespace,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Run ``lookout cves`` for parsed ``args``; returns the exit code (errors raise :class:`LookoutError`)."""
    from shared.vulns.report import parse_levels, select_image

    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    environ = os.environ if environ is None else environ
    levels = parse_levels(args.severity) if args.severity else None
    report = stored = stored_report(args, stderr=stderr, environ=environ)
    if report is None:
        report = registry_report(args, stdin=stdin, stderr=stderr, environ=environ)
    for platform in report.platforms:
        _note(stderr, f"packages of {platform.platform} have no OSV ecosystem", platform.match.skipped)
        _note(stderr, f"packages of {platform.platform} could not be fully evaluated", platform.match.problems)
    report = select_image(report, levels=levels, fixable=args.fixable)
    text = render(report, args.format)
    if stored is not None:
        text = with_origins(text, report, args, environ)
    stdout.write(text)
    stdout.flush()
    return EXIT_VULNERABLE if args.exit_code and report.finding_count else 0


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``cves`` subcommand on ``subparsers`` (``argparse``'s ``add_subparsers()`` result)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "cves",
        help="list the known vulnerabilities of an image (stored by Lookout, or straight from its registry)",
        description="The vulnerabilities of an image: Lookout's stored results when --api or LOOKOUT_URL names an "
                    "app that has analyzed it; otherwise the image is analyzed straight from its registry and its "
                    "packages matched against OSV advisories.",
    )
    analyze.add_image_arguments(parser)
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    output.add_argument("--json", dest="format", action="store_const", const="json", help="the same as --format json")
    parser.add_argument("--api", metavar="URL", help=f"read stored results from this Lookout (default: ${URL_ENV})")
    parser.add_argument("--key", help=f"function key of that Lookout's API (default: ${KEY_ENV})")
    parser.add_argument("--from-registry", action="store_true",
                        help="analyze the image from its registry even when Lookout has results for it")
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

