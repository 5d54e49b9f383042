"""The Event Grid webhook: ``POST /api/events`` (deliveries) and ``OPTIONS`` (CloudEvents handshake).

Anonymous at the Functions level: each integration's webhook URL carries its own secret, checked by
the library. The trigger only adapts HTTP to :mod:`shared.intake.webhook`.
"""

from __future__ import annotations

import azure.functions as func

from functions.httpio import answers_errors, json_response
from shared.intake.webhook import Reply, abuse_protection
from shared.wiring import services

blueprint = func.Blueprint()


def _reply(reply: Reply) -> func.HttpResponse:
    return json_response(reply.status, reply.body, reply.headers or None)


@blueprint.function_name("events")
@blueprint.route(route="events", methods=["POST", "OPTIONS"], auth_level=func.AuthLevel.ANONYMOUS)
@answers_errors
def events(req: func.HttpRequest) -> func.HttpResponse:
    """Receive an Event Grid delivery for the integration named in the URL."""
    webhook = services().webhook
    found = webhook.authenticate(req.params)
    if isinstance(found, Reply):
        return _reply(found)
    if req.method.upper() == "OPTIONS":
        return _reply(abuse_protection(req.headers))
    return _reply(webhook.receive(found, req.get_body() or b""))
