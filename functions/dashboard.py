"""The web dashboard's static files at ``/api/dashboard/`` (anonymous).

The files hold no data: the page reads everything through the function-key protected API, sending
the key it was given (``?code=``) as ``x-functions-key``. Serving the shell anonymously is what lets
a browser load its scripts and styles, which carry no key. ``/api/dashboard`` redirects to
``/api/dashboard/`` (keeping the query string) so that the page's relative URLs resolve under it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import azure.functions as func

from shared.dashboard.assets import SECURITY_HEADERS, resolve

blueprint = func.Blueprint()


def _serve(req: func.HttpRequest, path: str) -> func.HttpResponse:
    """The asset ``path`` names: 200 with it, 304 when ``If-None-Match`` names it, 404 when there is none."""
    asset = resolve(path)
    if asset is None:
        return func.HttpResponse("not found\n", status_code=404, mimetype="text/plain", charset="utf-8",
                                 headers={**SECURITY_HEADERS, "Cache-Control": "no-store"})
    if asset.matches(req.headers.get("if-none-match")):
        return func.HttpResponse(status_code=304, headers=asset.headers())
    return func.HttpResponse(asset.body, status_code=200, mimetype=asset.content_type.split(";")[0],
                             headers={**asset.headers(), "Content-Type": asset.content_type})


@blueprint.function_name("dashboard_root")
@blueprint.route(route="dashboard", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def dashboard_root(req: func.HttpRequest) -> func.HttpResponse:
    """The dashboard's page at ``…/dashboard/``; ``…/dashboard`` answers 302 to it, keeping the query string."""
    url = urlsplit(req.url)
    if url.path.endswith("/"):
        return _serve(req, "")
    last = url.path.rstrip("/").rsplit("/", 1)[-1] or "dashboard"
    location = f"{last}/" + (f"?{url.query}" if url.query else "")
    return func.HttpResponse(status_code=302, headers={**SECURITY_HEADERS, "Location": location, "Cache-Control": "no-store"})


@blueprint.function_name("dashboard_asset")
@blueprint.route(route="dashboard/{*path}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def dashboard_asset(req: func.HttpRequest) -> func.HttpResponse:
    """A static file of the dashboard (``index.html`` for an empty path)."""
    return _serve(req, req.route_params.get("path", ""))
