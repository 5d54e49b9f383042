"""The HTTP front end: a threading HTTP/1.1 server that routes requests to HTTP-triggered functions.

Each request becomes a real :class:`azure.functions.HttpRequest` (method, full URL, headers with
lower-case names and repeated ones joined by ", ", query parameters with repeated ones joined by
",", route values, body) and the function's :class:`azure.functions.HttpResponse` (or ``str``) is
written back the way the worker and host convert it: ``Content-Type`` from mimetype and charset
when the function sets none, every ``Set-Cookie`` sent, the last value of any other repeated
header, ``Content-Length`` computed here. Answers the host gives by itself: 404 with an empty body
when no route matches (also for an undeclared method), 500 with an empty body when the function
raises or returns something that is not a response, 413 for a body over 100 MB, 414 for a URL over
4 KB. Keys (auth levels) are not checked, as under ``func start``.

Connections are kept alive between requests. :meth:`HttpFrontEnd.stop_accepting` closes the
listening socket and idle connections; requests in progress finish, then their connections close.
One log line per request: method, path without the query string, status, milliseconds.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import azure.functions as func

from devhost.indexing import HttpFunction
from devhost.invocation import Invoker
from devhost.routing import RouteTable, split_path
from devhost.waiting import wait_until_idle

logger = logging.getLogger(__name__)

MAX_REQUEST_BODY_BYTES = 100 * 1024 * 1024
MAX_URL_LENGTH = 4096
KEEP_ALIVE_SECONDS = 130.0
_NO_BODY_STATUSES = frozenset({204, 304})
_FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})

HTTP_REASON = "This function was programmatically called via the host APIs."
HOMEPAGE = (
    b"<!DOCTYPE html><html><head><title>Your Functions app is up and running</title></head>"
    b"<body><h1>Your Functions app is up and running</h1><p>Served by the local development host.</p></body></html>"
)


class _BodyTooLarge(Exception):
    pass


LISTEN_BACKLOG = 128
"""Connections the kernel holds while every handler thread is busy (the socketserver default of 5
resets clients under a burst of concurrent deliveries)."""


class _BadRequest(Exception):
    pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, address: tuple[str, int], front_end: HttpFrontEnd) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.front_end = front_end
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-request is routine; anything else is logged with its traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            logger.debug("connection from %s ended: %s", client_address[0], type(error).__name__)
        else:
            logger.exception("unexpected error while serving a request from %s", client_address[0])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "lookout-devhost"
    timeout = KEEP_ALIVE_SECONDS
    disable_nagle_algorithm = True
    wbufsize = 64 * 1024  # headers and a small body leave in one write, flushed after each request
    server: _Server

    # connection bookkeeping, for a clean shutdown
    def setup(self) -> None:
        super().setup()
        self.server.front_end.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.front_end.untrack(self.connection)

    def parse_request(self) -> bool:
        self.server.front_end.set_busy(self.connection, True)
        return super().parse_request()

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        finally:
            self.server.front_end.set_busy(self.connection, False)
            if self.server.front_end.stopping:
                self.close_connection = True

    def handle_expect_100(self) -> bool:
        declared = self.headers.get("Content-Length", "").strip()
        if declared.isdigit() and int(declared) > self.server.front_end.max_body_bytes:
            self._write_empty(413, close=True)
            self.wfile.flush()
            self._log_request(time.perf_counter())
            return False
        accepted = super().handle_expect_100()
        self.wfile.flush()  # the interim 100 response must leave now, not with the final one
        return accepted

    def version_string(self) -> str:
        return self.server_version

    # every method the decorators accept goes through one dispatcher
    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Silenced: :meth:`_log_request` writes the one line per request."""

    def log_error(self, format: str, *args: Any) -> None:
        # The base class passes the request line in some messages; it may hold a query string.
        code = args[0] if args and isinstance(args[0], int) else None
        logger.info("HTTP protocol error%s from %s", f" {code}" if code else "", self.client_address[0])

    def _dispatch(self) -> None:
        started = time.perf_counter()
        self._status = 500
        try:
            self._respond()
        finally:
            self._log_request(started)

    def _target(self) -> tuple[str, str]:
        """Path (still percent-encoded) and query string of the request target."""
        if self.path.startswith(("http://", "https://")):  # absolute form
            parts = urlsplit(self.path)
            return parts.path or "/", parts.query
        path, _, query = self.path.partition("?")
        return path, query

    def _log_request(self, started: float) -> None:
        path, _ = self._target()
        elapsed = (time.perf_counter() - started) * 1000
        logger.info("%s %s %d %.1fms", self.command, path, getattr(self, "_status", 0), elapsed)

    def _respond(self) -> None:
        front_end = self.server.front_end
        if len(self.path) > MAX_URL_LENGTH:
            self._write_empty(414, close=True)
            return
        try:
            body = self._read_body(front_end.max_body_bytes)
        except _BodyTooLarge:
            self._write_empty(413, close=True)
            return
        except _BadRequest:
            self._write_empty(400, close=True)
            return
        path, query = self._target()
        segments = split_path(unquote(path))
        resolved = front_end.routes.resolve(self.command, segments)
        if resolved is None:
            if self.command in ("GET", "HEAD") and not segments and front_end.homepage_enabled():
                self._write(200, [("Content-Type", "text/html")], HOMEPAGE)
            else:
                self._write_empty(404)
            return
        route, route_values = resolved
        request = func.HttpRequest(
            method=self.command,
            url=self._full_url(path, query),
            headers=self._request_headers(),
            params=_query_params(query),
            route_params=route_values,
            body=body,
        )
        function = route.target
        outcome = front_end.invoker.invoke(function, request, reason=HTTP_REASON)
        if not outcome.succeeded:
            self._write_empty(500)
            return
        converted = _convert_response(outcome.value)
        if converted is None:
            logger.error(
                "Function 'Functions.%s' returned %s; an HTTP function must return func.HttpResponse or str",
                function.name,
                type(outcome.value).__name__,
            )
            self._write_empty(500)
            return
        self._write(*converted)

    def _read_body(self, limit: int) -> bytes:
        transfer = self.headers.get("Transfer-Encoding", "").strip().lower()
        if transfer:
            if transfer != "chunked":
                raise _BadRequest
            return self._read_chunked(limit)
        declared = self.headers.get("Content-Length")
        if declared is None:
            return b""
        declared = declared.strip()
        if not declared.isdigit():
            raise _BadRequest
        length = int(declared)
        if length > limit:
            raise _BodyTooLarge
        body = self.rfile.read(length) if length else b""
        if len(body) != length:
            raise _BadRequest
        return body

    def _read_chunked(self, limit: int) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(65537)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError as exc:
                raise _BadRequest from exc
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers are read and dropped
                return b"".join(parts)
            total += size
            if total > limit:
                raise _BodyTooLarge
            chunk = self.rfile.read(size)
            if len(chunk) != size or self.rfile.readline(3).strip():
                raise _BadRequest
            parts.append(chunk)

    def _request_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        return headers

    def _full_url(self, path: str, query: str) -> str:
        if self.path.startswith(("http://", "https://")):
            return self.path
        host = self.headers.get("Host") or f"{self.server.front_end.host}:{self.server.front_end.port}"
        return f"http://{host}{path}" + (f"?{query}" if query else "")

    def _write_empty(self, status: int, *, close: bool = False) -> None:
        headers = [("Connection", "close")] if close else []
        self._write(status, headers, b"")

    def _write(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self._status = status
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if self.server.front_end.stopping and not self.close_connection:
            self.send_header("Connection", "close")
        has_body = status >= 200 and status not in _NO_BODY_STATUSES
        if has_body:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if has_body and self.command != "HEAD" and body:
            self.wfile.write(body)


def _query_params(query: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        params[name] = f"{params[name]},{value}" if name in params else value
    return params


def _convert_response(value: object) -> tuple[int, list[tuple[str, str]], bytes] | None:
    """Status, headers and body of what an HTTP function returned; None when it is no response."""
    if isinstance(value, str):
        return 200, [("Content-Type", "text/plain; charset=utf-8")], value.encode("utf-8")
    if not isinstance(value, func.HttpResponse):
        return None
    pairs: list[tuple[str, str]] = [(str(name), str(v)) for name, v in value.headers.items()]
    if not any(name.lower() == "content-type" for name, _ in pairs):
        mimetype, charset = value.mimetype, value.charset
        pairs.insert(0, ("Content-Type", f"{mimetype}; charset={charset}" if mimetype.startswith("text/") else mimetype))
    headers: list[tuple[str, str]] = []
    position: dict[str, int] = {}
    for name, header_value in pairs:
        key = name.lower()
        if key in _FRAMING_HEADERS:
            continue
        if key == "set-cookie":
            headers.append((name, header_value))
        elif key in position:
            headers[position[key]] = (name, header_value)
        else:
            position[key] = len(headers)
            headers.append((name, header_value))
    return int(value.status_code), headers, value.get_body()


class HttpFrontEnd:
    """The HTTP server of the local host, bound at construction; :meth:`start` begins serving."""

    def __init__(
        self,
        host: str,
        port: int,
        routes: RouteTable[HttpFunction],
        invoker: Invoker,
        *,
        max_body_bytes: int = MAX_REQUEST_BODY_BYTES,
        homepage_enabled: Callable[[], bool] | None = None,
    ) -> None:
        self.routes = routes
        self.invoker = invoker
        self.max_body_bytes = max_body_bytes
        self.host = host
        self.stopping = False
        self._homepage_enabled = homepage_enabled or _homepage_enabled_by_environment
        self._connections: dict[socket.socket, bool] = {}
        self._state = threading.Condition()
        self._server = _Server((host, port), self)
        self.port = int(self._server.server_address[1])
        self._thread: threading.Thread | None = None

    def homepage_enabled(self) -> bool:
        return self._homepage_enabled()

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="devhost-http", daemon=True
        )
        self._thread.start()

    def track(self, connection: socket.socket) -> None:
        with self._state:
            self._connections[connection] = False

    def untrack(self, connection: socket.socket) -> None:
        with self._state:
            self._connections.pop(connection, None)
            self._state.notify_all()

    def set_busy(self, connection: socket.socket, busy: bool) -> None:
        with self._state:
            if connection in self._connections:
                self._connections[connection] = busy
            self._state.notify_all()

    def stop_accepting(self) -> None:
        """Close the listening socket and idle keep-alive connections; requests in progress go on."""
        with self._state:
            self.stopping = True
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()
        with self._state:
            idle = [connection for connection, busy in self._connections.items() if not busy]
        for connection in idle:
            _shut(connection)

    def drain(self, timeout: float) -> bool:
        """Wait until no request is in progress, at most ``timeout`` seconds; True when none is."""
        return wait_until_idle(self._state, lambda: any(self._connections.values()), timeout)

    def close(self) -> None:
        """Close every connection that is still open (after :meth:`drain`)."""
        with self._state:
            remaining = list(self._connections)
        for connection in remaining:
            _shut(connection)


def _shut(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the peer
        connection.shutdown(socket.SHUT_RDWR)


def _homepage_enabled_by_environment() -> bool:
    return os.environ.get("AzureWebJobsDisableHomepage", "").strip().lower() not in ("true", "1")  # noqa: SIM112
