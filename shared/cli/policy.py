"""``lookout policy``: an image's policy results, the policies' configuration and the high-profile list.

- ``lookout policy IMAGE [--json]``: the results stored for an analyzed image
  (``GET /api/images/policy``): each policy's outcome (pass, fail, unknown) and its reasons, the packages
  and advisories at fault, or what is missing to decide. Exit codes: 0 when no policy fails (unknowns
  included), :data:`EXIT_VIOLATION` (4) when one fails (2 already means a usage error, as for
  ``lookout cves --exit-code``), 1 for an image that is unknown or not analyzed, 3 when the API is
  unreachable.
- ``lookout policy config set --integration ID [--repository R] FILE``: validate a configuration
  document (JSON or YAML; ``-`` reads standard input; see :mod:`shared.policy.config`) and store it for the
  integration or one of its repositories, then evaluate the images it applies to again. A document that
  is not valid is refused (exit 2) with the field and line at fault, and nothing is stored.
- ``lookout policy config unset --integration ID [--repository R]``: remove it (the level below applies).
- ``lookout policy config show [--integration ID [--repository R]] [--json]``: the settings that apply
  (the defaults without ``--integration``) and the documents stored.
- ``lookout policy kev import FILE``: import the high-profile list (the CISA KEV catalog's JSON, or ids one a
  line; see :mod:`shared.policy.highprofile`), replacing the one before, then evaluate every image again.

``config`` and ``kev`` talk to storage directly, with the app's settings (environment, then
``local.settings.json``), like ``lookout advisories import``: run them where the app's settings are.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from shared.cli.api import api_options, client_of, image_label, image_query
from shared.cli.manage import EXIT_OK
from shared.cli.output import Screen, Styled
from shared.errors import InvalidInput
from shared.registry.reference import Reference

EXIT_VIOLATION = 4
"""The exit code when some policy fails."""

OUTCOME_STYLES = {"pass": "green", "fail": "red", "unknown": "yellow"}
MAX_INPUT_BYTES = 16 * 1024 * 1024


def _read_input(name: str) -> tuple[bytes, str]:
    """The bytes of file ``name`` (``-``: standard input), at most :data:`MAX_INPUT_BYTES`, and its shown name."""
    if name == "-":
        return sys.stdin.buffer.read(MAX_INPUT_BYTES + 1), "standard input"
    path = Path(name)
    try:
        with path.open("rb") as handle:
            return handle.read(MAX_INPUT_BYTES + 1), path.name
    except OSError as exc:
        raise InvalidInput(f"cannot read {name}: {exc.strerror or exc}") from None


def show_results(screen: Screen, document: dict[str, Any], label: str) -> None:
    """Print an image's policy document (``GET /api/images/policy``) as text."""
    summary = document.get("summary") or {}
    screen.line(Styled.of(label, "bold"))
    screen.fields([("digest", document["digest"]), ("evaluated", document.get("evaluated") or "-"),
                   ("summary", f"{summary.get('pass', 0)} pass, {summary.get('fail', 0)} fail, "
                               f"{summary.get('unknown', 0)} unknown")])
    rows = []
    for result in document.get("results", []):
        reasons = [r["text"] for r in result.get("reasons", [])]
        if result.get("omitted"):
            reasons.append(f"... and {result['omitted']} more")
        outcome = str(result["result"])
        rows.append((Styled.of(outcome.upper(), OUTCOME_STYLES.get(outcome, "")), result["id"],
                     "\n".join(reasons) or "-"))
    screen.table(["RESULT", "POLICY", "REASONS"], rows)
    if document.get("disabled"):
        screen.note(f"switched off: {', '.join(document['disabled'])}")
    for change in document.get("changes", []):
        screen.note(f"{change['id']} changed from {change['before'] or 'not evaluated'} to {change['after']}")
    if not document.get("stored", True):
        screen.note("evaluated now: the image was analyzed before policies were evaluated")


def cmd_image(args: argparse.Namespace) -> int:
    """``lookout policy IMAGE``: see the module notes."""
    reference = Reference.parse(args.image)
    client, screen, label = client_of(args), Screen(), image_label(reference)
    with screen.waiting(f"reading {label}"):
        document = client.get("images/policy", image_query(reference), subject=label)
    if args.json:
        screen.json(document)
    else:
        show_results(screen, document, label)
    return EXIT_VIOLATION if document.get("failed") else EXIT_OK


def cmd_config_set(args: argparse.Namespace) -> int:
    from shared.policy.config import parse_config

    data, name = _read_input(args.file)
    config = parse_config(data)  # before any storage is touched: a bad document changes nothing
    from shared.wiring import services

    policies = services().policies
    registry = policies.registry_of(args.integration)
    policies.set_config(args.integration, args.repository, config)
    scope = f"repository {args.repository} of integration {args.integration}" if args.repository else \
        f"integration {args.integration}"
    print(f"policy configuration of {scope} set from {name}")
    count = policies.reevaluate(registry, args.repository)
    print(f"{count} image(s) evaluated again")
    return EXIT_OK


def cmd_config_unset(args: argparse.Namespace) -> int:
    from shared.wiring import services

    svc = services()
    registry = svc.policies.registry_of(args.integration)
    svc.policy_configs.delete(args.integration, args.repository)
    print("policy configuration removed")
    print(f"{svc.policies.reevaluate(registry, args.repository)} image(s) evaluated again")
    return EXIT_OK


def cmd_config_show(args: argparse.Namespace) -> int:
    from shared.policy.config import effective_settings, settings_json

    if args.repository and not args.integration:
        raise InvalidInput("--repository needs --integration")
    stored: dict[str, Any] = {}
    if args.integration:
        from shared.wiring import services

        svc = services()
        registry = svc.policies.registry_of(args.integration)
        settings = (svc.policies.settings_for(registry, args.repository, args.integration) if args.repository
                    else effective_settings([svc.policy_configs.get(args.integration, None)]))
        stored = {("integration" if key is None else key): config.to_json()
                  for key, config in svc.policy_configs.list(args.integration).items()
                  if key is None or args.repository in (None, key)}
    else:
        settings = effective_settings([])
    document = {"effective": settings_json(settings), "stored": stored,
                "policies": [{"id": s.spec.id, "version": s.spec.version, "title": s.spec.title,
                              "description": s.spec.description} for s in settings]}
    if args.json:
        print(json.dumps(document, indent=2))
        return EXIT_OK
    screen = Screen()
    rows = [(s.spec.id, "on" if s.enabled else "off",
             "; ".join(f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in s.params.items()) or "-",
             s.spec.description) for s in settings]
    screen.table(["POLICY", "ENABLED", "PARAMETERS", "CHECKS"], rows)
    for where in stored:
        screen.note(f"configured for {where}")
    return EXIT_OK


def cmd_kev_import(args: argparse.Namespace) -> int:
    from shared.clock import utc_now
    from shared.policy.highprofile import HighProfileList, parse_high_profile

    data, name = _read_input(args.file)
    ids = parse_high_profile(data)  # before any storage is touched
    from shared.wiring import services

    svc = services()
    svc.policy_configs.set_high_profile(HighProfileList(ids, name, utc_now()))
    print(f"imported {len(ids)} high-profile id(s) from {name}")
    print(f"{svc.policies.reevaluate()} image(s) evaluated again")
    return EXIT_OK


def _sub_parsers() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lookout policy", description="Policies: results, configuration, the "
                                     "high-profile list.")
    actions = parser.add_subparsers(dest="area", required=True, metavar="config|kev")
    config = actions.add_parser("config", help="the policies' configuration per integration and repository")
    config_actions = config.add_subparsers(dest="action", required=True, metavar="set|unset|show")
    set_ = config_actions.add_parser("set", help="validate and store a configuration document (JSON or YAML)")
    set_.add_argument("--integration", required=True, metavar="ID")
    set_.add_argument("--repository", metavar="NAME", help="only this repository of the integration")
    set_.add_argument("file", metavar="FILE", help="the document; - reads standard input")
    set_.set_defaults(handler=cmd_config_set)
    unset = config_actions.add_parser("unset", help="remove a configuration")
    unset.add_argument("--integration", required=True, metavar="ID")
    unset.add_argument("--repository", metavar="NAME")
    unset.set_defaults(handler=cmd_config_unset)
    show = config_actions.add_parser("show", help="the settings that apply, and the documents stored")
    show.add_argument("--integration", metavar="ID")
    show.add_argument("--repository", metavar="NAME")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=cmd_config_show)
    kev = actions.add_parser("kev", help="the high-profile vulnerability list")
    kev_actions = kev.add_subparsers(dest="action", required=True, metavar="import")
    imported = kev_actions.add_parser("import", help="import a CISA KEV catalog (JSON) or a list of ids")
    imported.add_argument("file", metavar="FILE", help="the file; - reads standard input")
    imported.set_defaults(handler=cmd_kev_import)
    return parser


def _image_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lookout policy", parents=[api_options()],
                                     description="An analyzed image's policy results.")
    parser.add_argument("image", metavar="IMAGE", help="registry/repository:tag or registry/repository@sha256:...")
    parser.set_defaults(handler=cmd_image)
    return parser


def cmd_policy(args: argparse.Namespace) -> int:
    """``lookout policy …``: ``config`` and ``kev`` are the management commands, any other first word an IMAGE."""
    words = list(args.words)
    if not words:
        raise InvalidInput("lookout policy needs an IMAGE, or config or kev (see lookout policy --help)")
    parser = _sub_parsers() if words[0] in ("config", "kev") else _image_parser()
    parsed = parser.parse_args(words)
    return int(parsed.handler(parsed))


def add_parser(commands: Any) -> None:
    """Register ``policy`` on the top-level subparsers."""
    parser = commands.add_parser(
        "policy", help="an image's policy results; the policies' configuration; the high-profile list",
        description="lookout policy IMAGE [--json] [--url URL] [--key KEY]: an analyzed image's policy results "
                    f"(exit {EXIT_VIOLATION} when one fails).\n"
                    "lookout policy config set --integration ID [--repository NAME] FILE | config unset ... | "
                    "config show [--integration ID [--repository NAME]] [--json]\n"
                    "lookout policy kev import FILE: the high-profile list (CISA KEV JSON, or ids one a line).",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("words", nargs=argparse.REMAINDER, metavar="IMAGE | config ... | kev ...")
    parser.set_defaults(handler=cmd_policy)
