"""``lookout notifications add|list|remove|test``: the outbound webhooks of an integration.

These commands talk to storage directly, with the app's settings (environment, then
``local.settings.json``), like the function app itself: run them where the app's settings are.
``add`` prints the endpoint's signing secret once (it is stored encrypted and never shown again);
``test`` queues a sample notification through the same queue the app's notify function reads and
waits for its delivery record: exit code 0 when the endpoint answered 2xx, 1 when the delivery failed
or the wait ran out (the app must be running to send it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING, Any

from shared.cli.manage import EXIT_FAILED, EXIT_OK, table
from shared.errors import NotFound

if TYPE_CHECKING:
    from shared.notify.model import Delivery, Endpoint
    from shared.notify.service import Notifications

# The storage modules are imported by the commands, so that every other ``lookout`` command starts
# without loading the Azure SDK.

POLL_SECONDS = 1.0


def _service() -> Notifications:
    from shared.wiring import services

    return services().notifications


def _find(service: Notifications, integration_id: str, which: str) -> Endpoint:
    """The endpoint of the integration with id or name ``which``."""
    for listed in service.list(integration_id):
        if which in (listed.endpoint.id, listed.endpoint.name):
            return listed.endpoint
    raise NotFound(f"integration {integration_id!r} has no notification endpoint {which!r}")


def delivery_text(delivery: Delivery | None) -> str:
    """``delivered (HTTP 200, 1 attempt) at <time>``, or ``never`` before the first delivery."""
    if delivery is None:
        return "never"
    parts = [f"HTTP {delivery.http_status}"] if delivery.http_status is not None else []
    if delivery.attempts:
        parts.append(f"{delivery.attempts} attempt{'s' if delivery.attempts != 1 else ''}")
    detail = f" ({', '.join(parts)})" if parts else ""
    test = " [test]" if delivery.test else ""
    return f"{delivery.status}{detail} at {delivery.updated}{test}"


def cmd_add(args: argparse.Namespace) -> int:
    endpoint, secret = _service().add(args.integration, name=args.name, url=args.url, format=args.format,
                                      min_severity=args.min_severity, events=args.events)
    if args.json:
        print(json.dumps({**endpoint.to_json(), "secret": secret}, indent=2))
        return EXIT_OK
    print(f"notification endpoint {endpoint.id} ({endpoint.name}) added: {endpoint.url_display}, format "
          f"{endpoint.format}, {', '.join(endpoint.events)} at {endpoint.min_severity} or worse")
    print(f"\nsigning secret (shown once; the X-Lookout-Signature header is its HMAC-SHA256):\n  {secret}")
    print(f"\ntry it: lookout notifications test --integration {endpoint.integration_id} {endpoint.id}")
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    listed = _service().list(args.integration)
    if args.json:
        print(json.dumps([{**item.endpoint.to_json(),
                           "last_delivery": item.latest.to_json() if item.latest else None} for item in listed],
                         indent=2))
        return EXIT_OK
    if not listed:
        print("no notification endpoints; add one with `lookout notifications add --integration ID --name NAME --url URL`")
        return EXIT_OK
    rows = [(item.endpoint.id, item.endpoint.integration_id, item.endpoint.name, item.endpoint.url_display,
             item.endpoint.format, item.endpoint.min_severity, ",".join(item.endpoint.events),
             delivery_text(item.latest)) for item in listed]
    print(table(rows, ["ID", "INTEGRATION", "NAME", "URL", "FORMAT", "MIN", "EVENTS", "LAST DELIVERY"]))
    return EXIT_OK


def cmd_remove(args: argparse.Namespace) -> int:
    service = _service()
    endpoint = _find(service, args.integration, args.endpoint)
    service.remove(args.integration, endpoint.id)
    print(f"notification endpoint {endpoint.id} ({endpoint.name}) removed")
    return EXIT_OK


def cmd_test(args: argparse.Namespace) -> int:
    service = _service()
    endpoint = _find(service, args.integration, args.endpoint)
    queued = service.test(args.integration, endpoint.id)
    if not args.json:
        print(f"sample notification {queued.id} queued for {endpoint.name} ({endpoint.url_display}); waiting for it")
    deadline = time.monotonic() + args.timeout
    current: Delivery | None = queued
    shown = ""
    while True:
        current = service.delivery(endpoint.id, queued.id) or current
        assert current is not None
        text = delivery_text(current)
        if not args.json and text != shown and current.status != "queued":
            print(f"  {text}" + (f": {current.answer}" if current.answer else ""))
            shown = text
        if current.status in ("delivered", "failed") or time.monotonic() >= deadline:
            break
        time.sleep(POLL_SECONDS)
    if args.json:
        print(json.dumps(current.to_json(), indent=2))
    if current.status == "delivered":
        return EXIT_OK
    if current.status != "failed":
        print(f"lookout: no answer within {args.timeout:g} s (is the app running? the delivery is {current.status})",
              file=sys.stderr)
    return EXIT_FAILED


def add_parser(commands: Any) -> None:
    """Register ``notifications`` on the top-level subparsers."""
    from shared.notify.model import DEFAULT_MIN_SEVERITY, EVENTS, FORMATS, SEVERITIES

    parser = commands.add_parser("notifications", help="outbound webhooks: new findings, failed policies")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    add = actions.add_parser("add", help="add a webhook endpoint to an integration (prints its signing secret)")
    add.add_argument("--integration", required=True, metavar="ID", help="the integration")
    add.add_argument("--name", required=True, help="a name for the endpoint")
    add.add_argument("--url", required=True, help="the webhook URL (https; plain http only to localhost when local)")
    add.add_argument("--format", default="generic", choices=FORMATS, help="payload format (default generic)")
    add.add_argument("--min-severity", default=DEFAULT_MIN_SEVERITY, choices=SEVERITIES,
                     help=f"least severe new finding that notifies (default {DEFAULT_MIN_SEVERITY})")
    add.add_argument("--events", default=",".join(EVENTS), help=f"comma-separated events (default {','.join(EVENTS)})")
    add.add_argument("--json", action="store_true", help="print the endpoint (and the secret) as JSON")
    add.set_defaults(handler=cmd_add)

    listing = actions.add_parser("list", help="the endpoints and their last delivery")
    listing.add_argument("--integration", metavar="ID", help="only this integration's endpoints")
    listing.add_argument("--json", action="store_true", help="print as JSON")
    listing.set_defaults(handler=cmd_list)

    remove = actions.add_parser("remove", help="remove an endpoint and its delivery records")
    remove.add_argument("--integration", required=True, metavar="ID", help="the integration")
    remove.add_argument("endpoint", metavar="ENDPOINT", help="the endpoint's id or name")
    remove.set_defaults(handler=cmd_remove)

    test = actions.add_parser("test", help="send a sample notification through the queue and report the answer")
    test.add_argument("--integration", required=True, metavar="ID", help="the integration")
    test.add_argument("endpoint", metavar="ENDPOINT", help="the endpoint's id or name")
    test.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for the answer (default 90)")
    test.add_argument("--json", action="store_true", help="print the delivery record as JSON")
    test.set_defaults(handler=cmd_test)
