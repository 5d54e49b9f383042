"""The management and results API: integrations, their token, repositories, images, vulnerabilities and
packages; the registry template.

Function-key protected in Azure (``x-functions-key`` header or ``?code=``), except the static
registry template that the Azure portal fetches. The triggers parse, call the library and answer;
:func:`~functions.httpio.answers_errors` turns a library error into its HTTP status.
"""

from __future__ import annotations

import logging
from urllib.parse import unquote

import azure.functions as func

from functions.httpio import actor, answers_errors, error_response, json_response, read_json_object
from shared.api.findings import image_vulnerabilities
from shared.api.image_listing import list_images
from shared.api.image_lookup import find_image
from shared.api.package_search import search_packages
from shared.api.repository_listing import list_repositories
from shared.api.sbom_documents import image_analysis, render_sbom
from shared.api.vulnerability_listing import list_vulnerabilities, vulnerability_detail
from shared.bases.service import image_recommendations
from shared.errors import InvalidInput
from shared.integrations.service import Integrations, Outcome, integration_json
from shared.integrations.template import TEMPLATE_FILE, TEMPLATE_ROUTE
from shared.wiring import services

log = logging.getLogger(__name__)
blueprint = func.Blueprint()


def _integrations() -> Integrations:
    return services().integration_service


def _outcome_json(outcome: Outcome) -> dict[str, object]:
    body = integration_json(outcome.integration)
    if outcome.connection is not None:
        body["connection"] = outcome.connection.to_json()
    return body


@blueprint.function_name("integrations_create")
@blueprint.route(route="integrations", methods=["POST"])
@answers_errors
def integrations_create(req: func.HttpRequest) -> func.HttpResponse:
    """Create an integration: ``{"registry", "username"?, "password"?, "insecure"?}`` → 201."""
    body = read_json_object(req)
    integrations = _integrations()
    outcome = integrations.create(body.get("registry"), body.get("username"), body.get("password"),
                                  body.get("insecure", False))
    return json_response(201, integrations.connect_json(outcome))


@blueprint.function_name("integrations_list")
@blueprint.route(route="integrations", methods=["GET"])
@answers_errors
def integrations_list(req: func.HttpRequest) -> func.HttpResponse:
    """Every integration with its health and counts."""
    return json_response(200, {"integrations": _integrations().summarize()})


@blueprint.function_name("integration_get")
@blueprint.route(route="integrations/{id}", methods=["GET"])
@answers_errors
def integration_get(req: func.HttpRequest) -> func.HttpResponse:
    """One integration, with its webhook URL and the registry template's inputs."""
    integrations = _integrations()
    return json_response(200, integrations.connect_json(Outcome(integrations.get(req.route_params.get("id", "")))))


@blueprint.function_name("integration_delete")
@blueprint.route(route="integrations/{id}", methods=["DELETE"])
@answers_errors
def integration_delete(req: func.HttpRequest) -> func.HttpResponse:
    """Remove an integration (``?purge=true`` deletes its analyses too)."""
    purge = req.params.get("purge", "false").lower()
    if purge not in ("true", "false"):
        raise InvalidInput("'purge' must be true or false")
    return json_response(200, _integrations().remove(req.route_params.get("id", ""), purge == "true", actor(req)))


@blueprint.function_name("integration_token")
@blueprint.route(route="integrations/{id}/token", methods=["PUT"])
@answers_errors
def integration_token(req: func.HttpRequest) -> func.HttpResponse:
    """Set or rotate the token password: ``{"password", "username"?}``; runs the connection test."""
    body = read_json_object(req)
    outcome = _integrations().set_token(req.route_params.get("id", ""), body.get("username"), body.get("password"))
    log.info("token of integration %s set by %s", outcome.integration.id, actor(req))
    return json_response(200, _outcome_json(outcome))


@blueprint.function_name("integration_test")
@blueprint.route(route="integrations/{id}/test", methods=["POST"])
@answers_errors
def integration_test(req: func.HttpRequest) -> func.HttpResponse:
    """Run the connection test again with the stored token."""
    return json_response(200, _outcome_json(_integrations().retest(req.route_params.get("id", ""))))


@blueprint.function_name("repositories_list")
@blueprint.route(route="integrations/{id}/repositories", methods=["GET"])
@answers_errors
def repositories_list(req: func.HttpRequest) -> func.HttpResponse:
    """The registry's repositories with their activation state."""
    return json_response(200, _integrations().repositories_json(req.route_params.get("id", "")))


@blueprint.function_name("repositories_bulk")
@blueprint.route(route="integrations/{id}/repositories", methods=["PUT"])
@answers_errors
def repositories_bulk(req: func.HttpRequest) -> func.HttpResponse:
    """Activate or deactivate several repositories: ``{"enabled", "repositories": [...] | "*"}``."""
    body = read_json_object(req)
    result = _integrations().set_repositories(req.route_params.get("id", ""), body.get("repositories"),
                                              body.get("enabled"), actor(req))
    return json_response(200, result)


@blueprint.function_name("repository_set")
@blueprint.route(route="integrations/{id}/repositories/{*repository}", methods=["PUT"])
@answers_errors
def repository_set(req: func.HttpRequest) -> func.HttpResponse:
    """Activate (and backfill) or deactivate one repository: ``{"enabled": true|false}``; the name may be URL-encoded."""
    body = read_json_object(req)
    repository = unquote(req.route_params.get("repository", ""))
    result = _integrations().set_repositories(req.route_params.get("id", ""), repository, body.get("enabled"),
                                              actor(req))
    return json_response(200, result)


@blueprint.function_name("repositories_overview")
@blueprint.route(route="repositories", methods=["GET"])
@answers_errors
def repositories_overview(req: func.HttpRequest) -> func.HttpResponse:
    """Repositories with their newest image ``?[integration=][&limit=][&continuation=]``, activated ones first."""
    svc = services()
    return json_response(200, list_repositories(svc.integrations, svc.summaries, svc.continuations,
                                                req.params.get("integration"), req.params.get("limit"),
                                                req.params.get("continuation")))


@blueprint.function_name("images_get")
@blueprint.route(route="images", methods=["GET"])
@answers_errors
def images_get(req: func.HttpRequest) -> func.HttpResponse:
    """The recorded image ``?registry=&repository=&reference=`` (tag or digest; 404 when unknown), or without
    ``reference`` the repository's live images, newest push first ``[&limit=][&continuation=]``."""
    svc = services()
    if "reference" not in req.params:
        return json_response(200, list_images(svc.images, svc.continuations, req.params.get("registry"),
                                              req.params.get("repository"), req.params.get("limit"),
                                              req.params.get("continuation")))
    image = find_image(
        svc.images, req.params.get("registry"), req.params.get("repository"), req.params.get("reference")
    )
    if image is None:
        return error_response(404, "not-found", "no such image has been recorded")
    return json_response(200, image)


@blueprint.function_name("images_sbom")
@blueprint.route(route="images/sbom", methods=["GET"])
@answers_errors
def images_sbom(req: func.HttpRequest) -> func.HttpResponse:
    """The SBOM ``?registry=&repository=&reference=&format=json|cyclonedx|spdx[&platform=os/arch]``."""
    svc = services()
    analysis = image_analysis(
        svc.images, svc.sboms, req.params.get("registry"), req.params.get("repository"), req.params.get("reference")
    )
    rendered = render_sbom(analysis, req.params.get("format", "json"), req.params.get("platform") or None)
    return func.HttpResponse(rendered.body, status_code=200, mimetype=rendered.media_type)


@blueprint.function_name("images_vulnerabilities")
@blueprint.route(route="images/vulnerabilities", methods=["GET"])
@answers_errors
def images_vulnerabilities(req: func.HttpRequest) -> func.HttpResponse:
    """Findings ``?registry=&repository=&reference=[&severity=critical,high][&fixable=true]``."""
    svc = services()
    result = image_vulnerabilities(
        svc.images, svc.reports, req.params.get("registry"), req.params.get("repository"), req.params.get("reference"),
        severity=req.params.get("severity"), fixable=req.params.get("fixable"),
    )
    return json_response(200, result)


@blueprint.function_name("images_recommendations")
@blueprint.route(route="images/recommendations", methods=["GET"])
@answers_errors
def images_recommendations(req: func.HttpRequest) -> func.HttpResponse:
    """The detected base of each platform and the other tags of it ``?registry=&repository=&reference=``."""
    svc = services()
    return json_response(200, image_recommendations(svc.base_service, svc.images, req.params.get("registry"),
                                                    req.params.get("repository"), req.params.get("reference")))


@blueprint.function_name("bases_list")
@blueprint.route(route="bases", methods=["GET"])
@answers_errors
def bases_list(req: func.HttpRequest) -> func.HttpResponse:
    """The imported public base images ``[?name=]`` (``lookout bases import`` adds them)."""
    bases = services().base_service.list_public(req.params.get("name") or None)
    return json_response(200, {"bases": [b.to_json() for b in bases]})


@blueprint.function_name("images_policy")
@blueprint.route(route="images/policy", methods=["GET"])
@answers_errors
def images_policy(req: func.HttpRequest) -> func.HttpResponse:
    """The policy results of an image ``?registry=&repository=&reference=`` (404 unknown, 409 not analyzed)."""
    return json_response(200, services().policies.image_policy(req.params.get("registry"), req.params.get("repository"),
                                                               req.params.get("reference")))


@blueprint.function_name("vulnerabilities_list")
@blueprint.route(route="vulnerabilities", methods=["GET"])
@answers_errors
def vulnerabilities_list(req: func.HttpRequest) -> func.HttpResponse:
    """Every advisory found in a live image, worst first ``?[severity=][&fixable=true][&q=][&limit=][&continuation=]``."""
    svc = services()
    return json_response(200, list_vulnerabilities(svc.affected, svc.continuations, req.params.get("severity"),
                                                   req.params.get("fixable"), req.params.get("q"),
                                                   req.params.get("limit"), req.params.get("continuation")))


@blueprint.function_name("vulnerability_get")
@blueprint.route(route="vulnerabilities/{id}", methods=["GET"])
@answers_errors
def vulnerability_get(req: func.HttpRequest) -> func.HttpResponse:
    """One advisory (by id or alias) and the live images it is found in ``[?limit=][&continuation=]``; 404 when none."""
    svc = services()
    return json_response(200, vulnerability_detail(svc.affected, svc.images, svc.continuations,
                                                   unquote(req.route_params.get("id", "")), req.params.get("limit"),
                                                   req.params.get("continuation")))


@blueprint.function_name("packages_search")
@blueprint.route(route="packages", methods=["GET"])
@answers_errors
def packages_search(req: func.HttpRequest) -> func.HttpResponse:
    """The live images holding a package ``?purl=`` or ``?name=[&type=]`` ``[&limit=][&continuation=]``."""
    svc = services()
    return json_response(200, search_packages(svc.packages, svc.images, svc.continuations, req.params.get("purl"),
                                              req.params.get("name"), req.params.get("type"), req.params.get("limit"),
                                              req.params.get("continuation")))


@blueprint.function_name("advisories_status")
@blueprint.route(route="advisories", methods=["GET"])
@answers_errors
def advisories_status(req: func.HttpRequest) -> func.HttpResponse:
    """The advisory mirror's snapshot and last import."""
    svc = services()
    return json_response(200, {"source": svc.settings.advisory_source, **svc.advisories.status()})


@blueprint.function_name("registry_template")
@blueprint.route(route=TEMPLATE_ROUTE, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def registry_template(req: func.HttpRequest) -> func.HttpResponse:
    """The registry-side ARM template, for ``az --template-uri`` and the portal's "Deploy to Azure"."""
    return func.HttpResponse(
        TEMPLATE_FILE.read_bytes(),
        status_code=200,
        mimetype="application/json",
        headers={"Access-Control-Allow-Origin": "https://portal.azure.com", "Cache-Control": "max-age=300"},
    )
