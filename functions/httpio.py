"""Helpers shared by the HTTP triggers: JSON bodies in and out, and error replies."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

import azure.functions as func

from shared.errors import ConfigurationError, Conflict, InvalidInput, LookoutError, NotFound

log = logging.getLogger(__name__)

MAX_JSON_BODY = 64 * 1024


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> func.HttpResponse:
    """A JSON response (no body when ``body`` is None)."""
    if body is None:
        return func.HttpResponse(status_code=status, headers=headers)
    return func.HttpResponse(
        json.dumps(body, separators=(",", ":")), status_code=status, mimetype="application/json", headers=headers
    )


def error_response(status: int, code: str, message: str) -> func.HttpResponse:
    """The uniform error body ``{"error": {"code", "message"}}``."""
    return json_response(status, {"error": {"code": code, "message": message}})


def read_json_object(req: func.HttpRequest) -> dict[str, Any]:
    """The request body as a JSON object; :class:`InvalidInput` when it is too large or not an object."""
    body = req.get_body() or b""
    if len(body) > MAX_JSON_BODY:
        raise InvalidInput(f"request body over {MAX_JSON_BODY} bytes")
    try:
        value = json.loads(body or b"{}")
    except ValueError as exc:
        raise InvalidInput(f"request body is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidInput("request body must be a JSON object")
    return value


def failure_response(exc: LookoutError) -> func.HttpResponse:
    """Map a library error to its HTTP status: 400, 404, 409, 503 (temporary) or 500."""
    if isinstance(exc, InvalidInput):
        return error_response(400, exc.code, exc.message)
    if isinstance(exc, NotFound):
        return error_response(404, exc.code, exc.message)
    if isinstance(exc, Conflict):
        return error_response(409, exc.code, exc.message)
    if isinstance(exc, ConfigurationError):
        log.error("configuration error: %s", exc.message)
        return error_response(500, exc.code, exc.message)
    if exc.temporary:
        log.warning("temporary failure: %s", exc.message)
        return error_response(503, exc.code, exc.message)
    log.error("request failed: %s: %s", exc.code, exc.message)
    return error_response(500, exc.code, exc.message)


def answers_errors(handler: Callable[[func.HttpRequest], func.HttpResponse]) -> Callable[[func.HttpRequest], func.HttpResponse]:
    """Wrap an HTTP handler so that a :class:`LookoutError` it raises becomes :func:`failure_response`.

    Other exceptions propagate (the host answers 500 and logs them). The wrapper keeps the handler's
    name and signature, which the Functions host reads to bind the request.
    """

    @functools.wraps(handler)
    def answer(req: func.HttpRequest) -> func.HttpResponse:
        try:
            return handler(req)
        except LookoutError as exc:
            return failure_response(exc)

    return answer


def actor(req: func.HttpRequest) -> str:
    """Who made a management call, for the audit log: the signed-in principal, else the caller's address.

    Never a key or a token.
    """
    principal = req.headers.get("x-ms-client-principal-name")
    address = (req.headers.get("x-forwarded-for") or "").split(",")[0].strip()
    who = principal or "function key holder"
    return f"{who} from {address}" if address else who
