"""``lookout``: the command-line entry point.

Subcommands: ``serve`` (the local Functions host), ``init-local-settings`` (write
``local.settings.json`` with a fresh encryption key), ``integrations`` and ``repos`` (manage a
running Lookout over its API), ``analyze`` and ``cves`` (an image's SBOM and vulnerabilities straight
from its registry), ``advisories`` (the offline advisory mirror), ``reconcile`` (the sweep that
catches registry events Event Grid never delivered) and ``listings rebuild`` (file images analyzed
before the listing indexes existed); ``images``, ``quickview``, ``sbom``, ``compare``
and ``vulns`` read a running Lookout's stored results over its API; ``policy`` an image's policy results (and
their configuration, the high-profile list). Exit codes: 0 success, 1 failure, 2 usage error, 3 the API is
unreachable.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from shared.cli import advisories, analyze, compare, cves, images, listings, manage, quickview, reconcile, sbom, vulns
from shared.cli import bases as base_images
from shared.cli import notifications as notification_endpoints
from shared.cli import policy as image_policy
from shared.cli import recommendations as base_recommendations
from shared.cli import vex as vex_documents
from shared.cli.api import ApiUnreachable
from shared.errors import InvalidInput, LookoutError
from shared.secrets import generate_key
from shared.settings import LOCAL_SETTINGS_FILE, PROJECT_ROOT

SAMPLE_SETTINGS = PROJECT_ROOT / "local.settings.sample.json"


def _init_local_settings(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if path.exists():
        print(f"{path} exists; left unchanged")
        return 0
    document = json.loads(SAMPLE_SETTINGS.read_text(encoding="utf-8"))
    document["Values"]["LOOKOUT_ENCRYPTION_KEY"] = generate_key()
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    path.chmod(0o600)
    print(f"wrote {path} with a new encryption key")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from devhost import serve

    return serve(port=args.port, host=args.host)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="lookout", description="Image analysis for Azure Container Registry.")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log debug details, the Azure SDK's HTTP traffic included (otherwise only warnings)")
    parser.set_defaults(log_level=logging.WARNING)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the function app locally (HTTP, queue and timer triggers)")
    serve.add_argument("--port", type=int, default=7071, help="HTTP port (default 7071)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.set_defaults(handler=_serve, log_level=logging.INFO)

    init = commands.add_parser("init-local-settings", help="write local.settings.json with a new encryption key")
    init.add_argument("--path", default=str(LOCAL_SETTINGS_FILE), help="where to write it")
    init.set_defaults(handler=_init_local_settings)

    manage.add_parsers(commands)
    analyze.add_parser(commands)
    advisories.add_parser(commands)
    cves.add_parser(commands)
    reconcile.add_parser(commands)
    listings.add_parser(commands)
    images.add_parser(commands)
    quickview.add_parser(commands)
    sbom.add_parser(commands)
    compare.add_parser(commands)
    vulns.add_parser(commands)
    notification_endpoints.add_parser(commands)
    image_policy.add_parser(commands)
    vex_documents.add_parser(commands)
    base_images.add_parser(commands)
    base_recommendations.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else args.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.handler(args))
    except ApiUnreachable as exc:
        print(f"lookout: {exc.message}", file=sys.stderr)
        return manage.EXIT_UNREACHABLE
    except InvalidInput as exc:
        print(f"lookout: {exc.message}", file=sys.stderr)
        return manage.EXIT_USAGE
    except LookoutError as exc:
        print(f"lookout: {exc.message}", file=sys.stderr)
        return manage.EXIT_FAILED
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
