"""``lookout integrations …`` and ``lookout repos …``: manage a running Lookout over its HTTP API.

Output is a readable table by default and the API's JSON with ``--json``. Exit codes: 0 success,
1 the operation failed (including a failed connection test), 2 usage error, 3 the API is unreachable.
Passwords are read from a prompt or from standard input (``--password-stdin``), never from argv.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from shared.cli.api import api_options, client_of, repository_path
from shared.errors import InvalidInput

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3


def table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> str:
    """Rows as a plain, left-aligned text table with a header line."""
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells)


def read_password(from_stdin: bool, prompt: str, stdin: TextIO | None = None) -> str:
    """The password from standard input (first line) or an interactive prompt; never empty."""
    value = (stdin or sys.stdin).readline().rstrip("\r\n") if from_stdin else getpass.getpass(prompt)
    if not value:
        raise InvalidInput("no password given")
    return value


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2))


def _show_connection(body: dict[str, Any]) -> int:
    connection = body.get("connection")
    if not isinstance(connection, dict):
        return EXIT_OK
    if connection.get("ok"):
        print(f"connection test passed: {body['registry']} is connected")
        return EXIT_OK
    error = connection.get("error") or {}
    print(f"connection test failed ({error.get('code')}): {error.get('message')}", file=sys.stderr)
    if error.get("hint"):
        print(f"to fix it: {error['hint']}", file=sys.stderr)
    return EXIT_FAILED


def cmd_add(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"registry": args.registry, "insecure": args.insecure}
    if args.password_stdin or args.username:
        body["username"] = args.username or "docker-scout-readonly-token"
        body["password"] = read_password(args.password_stdin, f"Password of token {body['username']}: ")
    result = client_of(args).call("POST", "integrations", body)
    if args.json:
        _print_json(result)
        return EXIT_FAILED if result.get("connection", {}).get("ok") is False else EXIT_OK
    template = result["registry_template"]
    print(f"integration {result['id']} for {result['registry']}: {result['status']}")
    print(f"\nwebhook URL (keep it private; it carries the delivery secret):\n  {result['webhook_url']}")
    print("\nregistry template parameters:")
    for name, value in template["parameters"].items():
        print(f"  {name} = {value}")
    print(f"\ndeploy it in the registry's resource group:\n  {template['az_command']}")
    print(f"or in the portal:\n  {template['deploy_to_azure_url']}")
    print(f"\nthen generate the token password:\n  {template['token_password_command']}")
    print(f"and hand it to Lookout:\n  lookout integrations token {result['id']} --password-stdin")
    return _show_connection(result)


def cmd_token(args: argparse.Namespace) -> int:
    username = args.username or "docker-scout-readonly-token"
    password = read_password(args.password_stdin, f"Password of token {username}: ")
    result = client_of(args).call("PUT", f"integrations/{args.id}/token", {"username": username, "password": password})
    if args.json:
        _print_json(result)
        return EXIT_OK if result.get("connection", {}).get("ok") else EXIT_FAILED
    return _show_connection(result)


def cmd_test(args: argparse.Namespace) -> int:
    result = client_of(args).call("POST", f"integrations/{args.id}/test")
    if args.json:
        _print_json(result)
        return EXIT_OK if result.get("connection", {}).get("ok") else EXIT_FAILED
    return _show_connection(result)


def cmd_list(args: argparse.Namespace) -> int:
    result = client_of(args).call("GET", "integrations")
    if args.json:
        _print_json(result)
        return EXIT_OK
    rows = [
        (i["id"], i["registry"], i["status"], i["activated_repositories"], i["images_analyzed"],
         i.get("last_event") or "-", i.get("last_tested") or "-", i.get("last_error") or "")
        for i in result["integrations"]
    ]
    if not rows:
        print("no integrations; add one with `lookout integrations add REGISTRY`")
        return EXIT_OK
    print(table(rows, ["ID", "REGISTRY", "STATUS", "REPOS", "IMAGES", "LAST EVENT", "LAST TESTED", "LAST ERROR"]))
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    result = client_of(args).call("GET", f"integrations/{args.id}")
    _print_json(result)
    return EXIT_OK


def cmd_remove(args: argparse.Namespace) -> int:
    if not args.yes and sys.stdin.isatty():
        answer = input(f"remove integration {args.id}{' and delete its analyses' if args.purge else ''}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing removed")
            return EXIT_FAILED
    result = client_of(args).call("DELETE", f"integrations/{args.id}", params={"purge": str(args.purge).lower()})
    if args.json:
        _print_json(result)
        return EXIT_OK
    kept = f"{result['images_deleted']} analyses deleted" if args.purge else "its analyses are kept"
    print(f"integration {result['removed']} ({result['registry']}) removed; {kept}")
    print("\nthese Azure resources remain on the registry side:")
    for resource in result["remaining_azure_resources"]:
        print(f"  - {resource}")
    print("delete them with:")
    for command in result["cleanup_commands"]:
        print(f"  {command}")
    return EXIT_OK


def cmd_repos_list(args: argparse.Namespace) -> int:
    result = client_of(args).call("GET", f"integrations/{args.id}/repositories")
    if args.json:
        _print_json(result)
        return EXIT_OK
    rows = [(r["repository"], "yes" if r["enabled"] else "no", "" if r["in_registry"] else "not in registry")
            for r in result["repositories"]]
    print(table(rows, ["REPOSITORY", "ACTIVATED", "NOTE"]) if rows else "the registry has no repositories")
    if result.get("truncated"):
        print("(the listing was truncated)", file=sys.stderr)
    return EXIT_OK


def _set_repos(args: argparse.Namespace, enabled: bool) -> int:
    client = client_of(args)
    if getattr(args, "all", False):
        if args.repositories:
            raise InvalidInput("give repositories or --all, not both")
        result = client.call("PUT", f"integrations/{args.id}/repositories", {"enabled": enabled, "repositories": "*"})
    elif len(args.repositories) == 1:
        result = client.call("PUT", repository_path(args.id, args.repositories[0]), {"enabled": enabled})
    elif args.repositories:
        result = client.call("PUT", f"integrations/{args.id}/repositories",
                             {"enabled": enabled, "repositories": list(args.repositories)})
    else:
        raise InvalidInput("name at least one repository" + (" or --all" if enabled else ""))
    if args.json:
        _print_json(result)
        return EXIT_OK
    for row in result["repositories"]:
        state = "activated" if row["enabled"] else "deactivated"
        extra = "; its latest image is queued for analysis" if row["backfill_queued"] else ""
        print(f"{row['repository']}: {state}{extra}")
    if result.get("note"):
        print(result["note"], file=sys.stderr)
    return EXIT_OK


def cmd_repos_enable(args: argparse.Namespace) -> int:
    return _set_repos(args, True)


def cmd_repos_disable(args: argparse.Namespace) -> int:
    return _set_repos(args, False)


def add_parsers(commands: Any) -> None:
    """Register ``integrations`` and ``repos`` on the top-level subparsers."""
    common = api_options()

    def sub(group: Any, name: str, handler: Callable[[argparse.Namespace], int], help_text: str) -> Any:
        parser = group.add_parser(name, parents=[common], help=help_text)
        parser.set_defaults(handler=handler)
        return parser

    integrations = commands.add_parser("integrations", help="connect, test, list and remove registries")
    group = integrations.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = sub(group, "add", cmd_add, "create an integration; prints the webhook URL and the registry template inputs")
    add.add_argument("registry", help="registry login server, e.g. myregistry.azurecr.io")
    add.add_argument("--username", help="token name, to set the password at once (default docker-scout-readonly-token)")
    add.add_argument("--password-stdin", action="store_true", help="read the token password from standard input")
    add.add_argument("--insecure", action="store_true", help="plain HTTP (loopback registries only)")
    token = sub(group, "token", cmd_token, "set or rotate the token password; runs the connection test")
    token.add_argument("id")
    token.add_argument("--username", help="token name (default docker-scout-readonly-token)")
    token.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    sub(group, "test", cmd_test, "run the connection test again").add_argument("id")
    sub(group, "list", cmd_list, "every integration with its health")
    sub(group, "show", cmd_show, "one integration with its webhook URL and template inputs").add_argument("id")
    remove = sub(group, "remove", cmd_remove, "remove an integration; prints what to delete in Azure")
    remove.add_argument("id")
    remove.add_argument("--purge", action="store_true", help="also delete its analyses")
    remove.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    repos = commands.add_parser("repos", help="list, activate and deactivate repositories")
    group = repos.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub(group, "list", cmd_repos_list, "the registry's repositories and their activation").add_argument("id")
    enable = sub(group, "enable", cmd_repos_enable, "activate repositories and analyze their latest image")
    enable.add_argument("id")
    enable.add_argument("repositories", nargs="*")
    enable.add_argument("--all", action="store_true", help="every repository of the registry")
    disable = sub(group, "disable", cmd_repos_disable, "deactivate repositories (results are kept)")
    disable.add_argument("id")
    disable.add_argument("repositories", nargs="+")
