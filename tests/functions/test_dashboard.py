"""The dashboard's triggers, called with real ``func.HttpRequest`` objects: files, 304s, 404s, the redirect."""

from __future__ import annotations

import azure.functions as func
from azure.functions.decorators.http import HttpTrigger

from function_app import app
from functions.dashboard import blueprint, dashboard_asset, dashboard_root
from shared.dashboard.assets import STATIC_ROOT


def get(url: str, route_params: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> func.HttpResponse:
    request = func.HttpRequest("GET", url, headers=headers or {}, route_params=route_params or {}, body=b"")
    handler = dashboard_asset if route_params is not None else dashboard_root
    response = handler.build().get_user_function()(request)
    assert isinstance(response, func.HttpResponse)
    return response


def test_both_routes_are_anonymous_gets_under_the_api_prefix() -> None:
    # A fresh app of the same blueprint: the SDK indexes an app's functions only once per process.
    indexed = func.FunctionApp(http_auth_level=app.auth_level)
    indexed.register_functions(blueprint)
    routes = {}
    for function in indexed.get_functions():
        trigger = function.get_trigger()
        if (function.get_function_name() or "").startswith("dashboard"):
            assert isinstance(trigger, HttpTrigger)
            routes[trigger.route] = (trigger.methods, trigger.auth_level)
    assert set(routes) == {"dashboard", "dashboard/{*path}"}
    for methods, level in routes.values():
        assert [str(m) for m in methods or ()] == ["GET"] and level == func.AuthLevel.ANONYMOUS


def test_root_without_slash_redirects_keeping_the_query() -> None:
    response = get("http://localhost:7071/api/dashboard?code=abc#x")
    assert response.status_code == 302
    assert response.headers["Location"] == "dashboard/?code=abc"
    assert get("http://localhost/api/dashboard").headers["Location"] == "dashboard/"


def test_root_with_slash_serves_the_page_with_security_headers() -> None:
    response = get("http://localhost/api/dashboard/")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.get_body() == (STATIC_ROOT / "index.html").read_bytes()
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_asset_and_revalidation() -> None:
    first = get("http://localhost/api/dashboard/js/main.js", {"path": "js/main.js"})
    assert first.status_code == 200 and first.headers["Content-Type"] == "text/javascript; charset=utf-8"
    etag = first.headers["ETag"]
    again = get("http://localhost/api/dashboard/js/main.js", {"path": "js/main.js"}, {"if-none-match": etag})
    assert again.status_code == 304 and again.get_body() == b"" and again.headers["ETag"] == etag


def test_unknown_or_unsafe_paths_answer_404_with_the_same_headers() -> None:
    for path in ("../function_app.py", "nope.css", "js/../../settings.py", "index.py"):
        response = get(f"http://localhost/api/dashboard/{path}", {"path": path})
        assert response.status_code == 404, path
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"


def test_empty_catch_all_is_the_page() -> None:
    assert get("http://localhost/api/dashboard/", {}).get_body() == (STATIC_ROOT / "index.html").read_bytes()
