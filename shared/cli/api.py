"""A small client of Lookout's HTTP API, for the command line.

The base URL and function key come from flags or ``LOOKOUT_URL`` / ``LOOKOUT_KEY``; the key travels
in the ``x-functions-key`` header, never in a URL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests

from shared.errors import LookoutError

DEFAULT_URL = "http://localhost:7071"
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


def repository_path(integration_id: str, repository: str) -> str:
    """The API path of one repository of an integration (the name URL-encoded, slashes included)."""
    return f"integrations/{quote(integration_id, safe='')}/repositories/{quote(repository, safe='')}"
