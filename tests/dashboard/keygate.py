"""A stand-in for Azure's function-key check in front of ``lookout serve``, which checks no keys.

In Azure the Functions front end answers 401 with an empty body to a call of a ``FUNCTION``-level
route that carries no valid key (``x-functions-key`` header or ``?code=``); anonymous routes pass.
:class:`KeyGate` does the same for the app behind it and forwards everything else unchanged, so the
dashboard's handling of keys can be tested against the real app. ``older_api`` lists paths answered
with the host's empty 404, as an app without those routes would answer.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

ANONYMOUS = ("/api/dashboard", "/api/events", "/api/templates/")
"""Route prefixes of the app's anonymous functions."""

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "date", "server"}


class KeyGate:
    """A loopback HTTP server that checks function keys like Azure and proxies to ``upstream``."""

    def __init__(self, upstream: str, key: str, older_api: Iterable[str] = ()) -> None:
        self.upstream = upstream.rstrip("/")
        self.key = key
        self.older_api = tuple(older_api)
        self.keys_seen: list[str | None] = []
        gate = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def answer(self) -> None:
                gate.handle(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_OPTIONS = answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> KeyGate:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        url = urlsplit(request.path)
        if not url.path.startswith(ANONYMOUS):
            given = request.headers.get("x-functions-key") or parse_qs(url.query).get("code", [None])[0]
            self.keys_seen.append(given)
            if given != self.key:
                self._reply(request, 401, b"", {})
                return
        if url.path.startswith(self.older_api):
            self._reply(request, 404, b"", {})
            return
        length = int(request.headers.get("content-length") or 0)
        body = request.rfile.read(length) if length else None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP | {"host"}}
        upstream = requests.request(request.command, self.upstream + request.path, data=body, headers=headers,
                                    allow_redirects=False, timeout=60)
        kept = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
        self._reply(request, upstream.status_code, upstream.content, kept)

    @staticmethod
    def _reply(request: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]) -> None:
        request.send_response(status)
        for name, value in headers.items():
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)
