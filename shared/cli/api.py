"""A small client of Lookout's HTTP API, for the command line.

The base URL and function key come from flags or ``LOOKOUT_URL`` / ``LOOKOUT_KEY``; the key travels
in the ``x-functions-key`` header, never in a URL. :func:`api_options` gives every command that talks
to the API the same ``--url``, ``--key`` and ``--json`` flags; :func:`read_pages` follows a listing's
continuation tokens; :func:`image_query` turns an image reference into the query of the image routes.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests

from shared.errors import InvalidInput, LookoutError, NotFound
from shared.registry.reference import Reference

DEFAULT_URL = "http://localhost:7071"
URL_ENV = "LOOKOUT_URL"
KEY_ENV = "LOOKOUT_KEY"
MAX_PAGES = 10_000
"""How many pages :func:`read_pages` follows at most before it stops with an error (a listing that never ends)."""
TIMEOUT = (10, 120)
MAX_RESPONSE_BYTES = 16 * 1024 * 1024


class ApiUnreachable(LookoutError):
    """The Lookout API did not answer (wrong URL, app not running, network)."""

    code = "api-unreachable"
    temporary = True


class ApiFailure(LookoutError):
    """The API answered with an error; ``status`` and the server's ``code`` are kept."""

    code = "api-error"

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message, code=code)
        self.status = status


@dataclass
class ApiClient:
    """Calls the API at ``base_url`` with an optional function ``key``."""

    base_url: str = DEFAULT_URL
    key: str | None = field(default=None, repr=False)
    session: requests.Session = field(default_factory=requests.Session, repr=False)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None,
             params: dict[str, str] | None = None) -> Any:
        """``method`` on ``/api/<path>``; the decoded JSON answer, or :class:`ApiFailure` / :class:`ApiUnreachable`."""
        headers = {"Accept": "application/json"}
        if self.key:
            headers["x-functions-key"] = self.key
        url = f"{self.base_url.rstrip('/')}/api/{path}"
        try:
            response = self.session.request(method, url, json=body, params=params, headers=headers, timeout=TIMEOUT,
                                            allow_redirects=False)
        except requests.RequestException as exc:
            raise ApiUnreachable(f"cannot reach Lookout at {self.base_url}: {type(exc).__name__}") from None
        content = response.content[:MAX_RESPONSE_BYTES]
        try:
            document = json.loads(content) if content else None
        except ValueError:
            document = None
        if response.status_code >= 400:
            error = document.get("error") if isinstance(document, dict) else None
            if isinstance(error, dict):
                raise ApiFailure(response.status_code, str(error.get("code", "error")), str(error.get("message", "")))
            hint = " (is the function key right?)" if response.status_code in (401, 403) else ""
            raise ApiFailure(response.status_code, "http-error", f"HTTP {response.status_code} from {path}{hint}")
        return document

    def get(self, path: str, params: Mapping[str, str] | None = None, *, subject: str = "") -> Any:
        """``GET /api/<path>``, like :meth:`call`, with its failures phrased by :func:`explained`."""
        try:
            return self.call("GET", path, params=dict(params or {}))
        except ApiFailure as exc:
            raise explained(exc, subject) from None


def explained(failure: ApiFailure, subject: str = "") -> LookoutError:
    """``failure`` for the command line: the server's message after ``subject`` (``registry/app:1: no such
    image has been recorded``); a 400 answer as :class:`InvalidInput` and a 404 as :class:`NotFound`, so that
    a command exits with its usage or failure code and one line saying why; other answers stay
    :class:`ApiFailure` (``status`` kept)."""
    message = f"{subject}: {failure.message}" if subject else failure.message
    if failure.status == 400:
        return InvalidInput(message, code=failure.code)
    if failure.status == 404:
        return NotFound(message, code=failure.code)
    return ApiFailure(failure.status, failure.code, message)


def api_options() -> argparse.ArgumentParser:
    """A parent parser with ``--url`` (default ``$LOOKOUT_URL``, else :data:`DEFAULT_URL`), ``--key``
    (default ``$LOOKOUT_KEY``) and ``--json``: the flags of every command that calls the API."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=os.environ.get(URL_ENV, DEFAULT_URL),
                        help=f"Lookout's base URL (env {URL_ENV}; default %(default)s)")
    common.add_argument("--key", default=os.environ.get(KEY_ENV),
                        help=f"function key for the management API (env {KEY_ENV})")
    common.add_argument("--json", action="store_true", help="print JSON instead of tables")
    return common


def client_of(args: argparse.Namespace) -> ApiClient:
    """The client of the ``--url`` and ``--key`` of :func:`api_options`."""
    return ApiClient(base_url=args.url, key=args.key)


def read_pages(client: ApiClient, path: str, key: str, params: Mapping[str, str], *, limit: int | None = None,
               every: bool = False, subject: str = "") -> tuple[list[Any], str | None]:
    """The items under ``key`` of the listing at ``path``: one page of ``limit`` (the API's default when None),
    or with ``every`` all of them, page after page; and the continuation token left (None at the end)."""
    query = dict(params)
    if limit is not None:
        query["limit"] = str(limit)
    items: list[Any] = []
    for _ in range(MAX_PAGES):
        page = client.get(path, query, subject=subject)
        items.extend(page.get(key) or [])
        token = page.get("continuation")
        if not token or not every:
            return items, token or None
        query["continuation"] = str(token)
    raise LookoutError(f"the listing {path} did not end after {MAX_PAGES} pages")


def image_label(reference: Reference) -> str:
    """How the analysis names an image: ``registry/repository:tag`` or ``registry/repository@digest`` (the
    digest when both are given), as ``lookout analyze`` and ``lookout cves`` print it."""
    identifier = reference.identifier
    return f"{reference.name}{'@' if ':' in identifier else ':'}{identifier}"


def image_query(reference: Reference) -> dict[str, str]:
    """The ``registry``, ``repository`` and ``reference`` (digest, else tag, else ``latest``) parameters of the
    image routes."""
    return {"registry": reference.registry, "repository": reference.repository, "reference": reference.identifier}


def repository_path(integration_id: str, repository: str) -> str:
    """The API path of one repository of an integration (the name URL-encoded, slashes included)."""
    return f"integrations/{quote(integration_id, safe='')}/repositories/{quote(repository, safe='')}"
