"""The management and results API: integrations, repository activation, images.

Function-key protected in Azure (``x-functions-key`` header or ``?code=``); the triggers parse,
call the library and answer.
"""

from __future__ import annotations

from urllib.parse import unquote

import azure.functions as func

from functions.httpio import error_response, failure_response, json_response, read_json_object
from shared.errors import LookoutError
from shared.images.query import find_image
from shared.integrations.service import (
    create_integration,
    integration_json,
    set_repository_enabled,
    webhook_url,
)
from shared.services import services

blueprint = func.Blueprint()


@blueprint.function_name("integrations_create")
@blueprint.route(route="integrations", methods=["POST"])
def integrations_create(req: func.HttpRequest) -> func.HttpResponse:
    """Create an integration: ``{"registry", "username"?, "password"?, "insecure"?}`` → 201."""
    try:
        body = read_json_object(req)
        svc = services()
        integration = create_integration(
            svc, body.get("registry"), body.get("username"), body.get("password"), body.get("insecure", False)
        )
        return json_response(201, integration_json(integration, webhook_url(svc, integration)))
    except LookoutError as exc:
        return failure_response(exc)


@blueprint.function_name("integrations_list")
@blueprint.route(route="integrations", methods=["GET"])
def integrations_list(req: func.HttpRequest) -> func.HttpResponse:
    """Every integration with its status."""
    try:
        svc = services()
        return json_response(200, {"integrations": [integration_json(i) for i in svc.integrations.list()]})
    except LookoutError as exc:
        return failure_response(exc)


@blueprint.function_name("repository_set")
@blueprint.route(route="integrations/{id}/repositories/{*repository}", methods=["PUT"])
def repository_set(req: func.HttpRequest) -> func.HttpResponse:
    """Activate or deactivate a repository: ``{"enabled": true|false}``; the name may be URL-encoded."""
    try:
        body = read_json_object(req)
        repository = unquote(req.route_params.get("repository", ""))
        result = set_repository_enabled(services(), req.route_params.get("id", ""), repository, body.get("enabled"))
        return json_response(200, result)
    except LookoutError as exc:
        return failure_response(exc)


@blueprint.function_name("images_get")
@blueprint.route(route="images", methods=["GET"])
def images_get(req: func.HttpRequest) -> func.HttpResponse:
    """The recorded image ``?registry=&repository=&reference=`` (tag or digest); 404 when unknown."""
    try:
        image = find_image(
            services(), req.params.get("registry"), req.params.get("repository"), req.params.get("reference")
        )
    except LookoutError as exc:
        return failure_response(exc)
    if image is None:
        return error_response(404, "not-found", "no such image has been recorded")
    return json_response(200, image)
