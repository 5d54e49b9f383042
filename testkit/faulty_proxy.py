"""A fault-injecting HTTP proxy on loopback, in front of the test registry and its blob host.

:class:`FaultyProxy` listens on two loopback origins: one fronts the registry (``127.0.0.1``), the
other the blob host the registry redirects downloads to (``127.0.0.2``, another origin, so a client
drops ``Authorization`` on the way there as it must). Every request is forwarded to the real server
unless a fault is scheduled for it; a redirect to the blob host is rewritten to point at the proxy's
blob front, so layer downloads go through the proxy too.

Faults are scheduled with :meth:`FaultyProxy.inject`: a :class:`Fault` applies to the next ``times``
requests matching a front (``"registry"`` or ``"blob"``), a method and a path substring, in the order
the rules were added. The faults:

- :func:`answer`: an HTTP status (429, 503...) with an optional ``Retry-After``, without forwarding;
  also any fixed body (:func:`substitute`);
- :func:`reset`: a TCP reset instead of an answer;
- :func:`reset_mid_body`, :func:`truncate`: the real answer cut after some bytes (a reset, or a clean
  close with the full ``Content-Length`` announced);
- :func:`corrupt`: the real answer with one byte changed (the digest no longer matches);
- :func:`slow`: the real answer in small pieces with pauses; :func:`stall`: one long pause mid-body;
- :func:`endless`: a body of ``declared`` bytes (or chunked and unbounded) generated on the fly, for
  clients that must stop reading at their own cap.

Every request is recorded as an :class:`Exchange` (front, method, path, the fault applied), so tests
count retries. Upstream bodies are read whole before being replayed: meant for test-sized blobs.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import urlsplit

from testkit.processes import free_port
from testkit.registry import BLOB_HOST, RegistryServer

Front = Literal["registry", "blob"]
FaultKind = Literal["answer", "reset", "reset_mid_body", "truncate", "corrupt", "slow", "stall", "endless"]

_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
                         "proxy-authenticate", "proxy-authorization", "content-length"})
_REPLAY_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Fault:
    """One misbehaviour; build with the functions of this module (:func:`answer`, :func:`reset`...)."""

    kind: FaultKind
    status: int = 200
    retry_after: str | None = None
    body: bytes = field(default=b"", repr=False)
    content_type: str = "application/json"
    keep: int = 0
    """Bytes of the body sent before a cut, a stall, or (for ``corrupt``) the offset of the changed byte."""
    chunk: int = 0
    delay: float = 0.0
    """Seconds between pieces (``slow``) or of the one pause (``stall``)."""
    declared: int | None = None
    """The ``Content-Length`` announced by ``endless`` (``None``: chunked, without end)."""


def answer(status: int, *, retry_after: str | None = None, body: bytes | None = None) -> Fault:
    """Answer ``status`` (with ``Retry-After`` when given) instead of forwarding the request."""
    default = b'{"errors":[{"code":"UNAVAILABLE","message":"injected fault"}]}'
    return Fault("answer", status=status, retry_after=retry_after, body=default if body is None else body)


def substitute(body: bytes, content_type: str, status: int = 200) -> Fault:
    """Answer ``body`` as ``content_type`` instead of forwarding (a lying registry)."""
    return Fault("answer", status=status, body=body, content_type=content_type)


def reset() -> Fault:
    """Reset the connection (TCP RST) once the request has arrived, answering nothing."""
    return Fault("reset")


def reset_mid_body(keep: int) -> Fault:
    """Send the real headers and ``keep`` bytes of the body, then reset the connection."""
    return Fault("reset_mid_body", keep=keep)


def truncate(keep: int) -> Fault:
    """Send the real headers (full ``Content-Length``) and ``keep`` bytes of the body, then close cleanly."""
    return Fault("truncate", keep=keep)


def corrupt(offset: int) -> Fault:
    """Send the real answer with the byte at ``offset`` of the body changed (clamped to the last byte)."""
    return Fault("corrupt", keep=offset)


def slow(chunk: int, delay: float) -> Fault:
    """Send the real body ``chunk`` bytes at a time with ``delay`` seconds between pieces."""
    return Fault("slow", chunk=chunk, delay=delay)


def stall(keep: int, seconds: float) -> Fault:
    """Send ``keep`` bytes of the real body, pause ``seconds``, then the rest."""
    return Fault("stall", keep=keep, delay=seconds)


def endless(declared: int | None, content_type: str = "application/vnd.oci.image.manifest.v1+json") -> Fault:
    """Answer 200 with a body generated on the fly: ``declared`` bytes announced and sent, or chunked without end.

    Sending stops when the client hangs up.
    """
    return Fault("endless", declared=declared, content_type=content_type)


@dataclass
class _Rule:
    fault: Fault
    front: Front | None
    method: str | None
    path: str
    authorized: bool | None
    remaining: int


@dataclass(frozen=True)
class Exchange:
    """One request the proxy received: which front, method and path, the fault applied (``None``: forwarded)."""

    front: Front
    method: str
    path: str
    fault: FaultKind | None
    status: int | None
    """The status sent (``None`` when the connection was reset before any)."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], proxy: FaultyProxy, front: Front) -> None:
        self.proxy = proxy
        self.front = front
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hang up on purpose here (caps, timeouts, resets): nothing to report."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.proxy.handle(self)

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def finish(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            super().finish()


class FaultyProxy:
    """The proxy (see the module documentation). ``host`` is what a :class:`RegistryClient` is given."""

    def __init__(self, registry: RegistryServer, *, read_timeout: float = 30.0) -> None:
        self.registry = registry
        self.read_timeout = read_timeout
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._log: list[Exchange] = []
        self._registry_front = _Server(("127.0.0.1", free_port()), self, "registry")
        self._blob_front = _Server((BLOB_HOST, free_port(BLOB_HOST)), self, "blob")
        self._threads = [
            threading.Thread(target=server.serve_forever, args=(0.05,), name=f"faulty-proxy-{server.front}", daemon=True)
            for server in (self._registry_front, self._blob_front)
        ]
        for thread in self._threads:
            thread.start()

    @property
    def host(self) -> str:
        """``127.0.0.1:<port>``: the registry as seen through the proxy."""
        return f"127.0.0.1:{self._registry_front.server_address[1]}"

    @property
    def blob_origin(self) -> str:
        return f"http://{BLOB_HOST}:{self._blob_front.server_address[1]}"

    def inject(self, fault: Fault, *, front: Front | None = None, method: str | None = "GET", path: str = "",
               authorized: bool | None = None, times: int = 1) -> None:
        """Apply ``fault`` to the next ``times`` requests matching ``front``, ``method`` and the ``path`` substring.

        ``authorized`` true matches only requests carrying ``Authorization`` (not a registry's first,
        unauthenticated try), false only those without; ``None`` matches both.
        """
        with self._lock:
            self._rules.append(_Rule(fault, front, method, path, authorized, times))

    def clear(self) -> None:
        """Forget every rule and every recorded exchange."""
        with self._lock:
            self._rules.clear()
            self._log.clear()

    @property
    def exchanges(self) -> list[Exchange]:
        with self._lock:
            return list(self._log)

    def count(self, *, front: Front | None = None, path: str = "", method: str | None = "GET") -> int:
        """How many requests matching ``front``, ``path`` substring and ``method`` arrived."""
        return sum(1 for e in self.exchanges
                   if (front is None or e.front == front) and path in e.path and (method is None or e.method == method))

    def pending(self) -> int:
        """Faults scheduled but not yet applied."""
        with self._lock:
            return sum(rule.remaining for rule in self._rules)

    def close(self) -> None:
        for server in (self._registry_front, self._blob_front):
            server.shutdown()
            server.server_close()

    def __enter__(self) -> FaultyProxy:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- one request -----------------------------------------------------------------------------

    def _take(self, front: Front, method: str, path: str, authorized: bool) -> Fault | None:
        with self._lock:
            for rule in self._rules:
                if rule.remaining <= 0:
                    continue
                if (rule.front is None or rule.front == front) and (rule.method is None or rule.method == method) \
                        and rule.path in path and (rule.authorized is None or rule.authorized == authorized):
                    rule.remaining -= 1
                    return rule.fault
        return None

    def _record(self, front: Front, method: str, path: str, fault: Fault | None, status: int | None) -> None:
        with self._lock:
            self._log.append(Exchange(front, method, path, fault.kind if fault else None, status))

    def handle(self, handler: _Handler) -> None:
        """Serve one request on ``handler``: a fault, or the upstream answer (perhaps altered)."""
        front = handler.server.front
        method, path = handler.command, handler.path
        length = handler.headers.get("Content-Length")
        request_body = handler.rfile.read(int(length)) if length and length.isdigit() else b""
        handler.close_connection = True
        fault = self._take(front, method, path, handler.headers.get("Authorization") is not None)
        if fault is not None and fault.kind == "reset":
            self._record(front, method, path, fault, None)
            _reset(handler.connection)
            return
        if fault is not None and fault.kind == "answer":
            self._record(front, method, path, fault, fault.status)
            headers = [("Content-Type", fault.content_type)]
            if fault.retry_after is not None:
                headers.append(("Retry-After", fault.retry_after))
            _send_head(handler, fault.status, headers, len(fault.body))
            _write(handler, fault.body)
            return
        if fault is not None and fault.kind == "endless":
            self._record(front, method, path, fault, 200)
            _send_endless(handler, fault)
            return
        status, headers, body = self._forward(front, method, path, handler, request_body)
        self._record(front, method, path, fault, status)
        _send_head(handler, status, headers, len(body))
        if method == "HEAD":
            return
        _replay(handler, body, fault)

    def _forward(self, front: Front, method: str, path: str, handler: _Handler,
                 body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        if front == "registry":
            upstream_host, upstream_port = "127.0.0.1", self.registry.port
        else:
            upstream_host, upstream_port = BLOB_HOST, self.registry.blobs.port
        headers = {name: value for name, value in handler.headers.items() if name.lower() not in _HOP_BY_HOP}
        headers["Host"] = f"{upstream_host}:{upstream_port}"
        connection = http.client.HTTPConnection(upstream_host, upstream_port, timeout=self.read_timeout)
        try:
            connection.request(method, path, body=body or None, headers=headers)
            response = connection.getresponse()
            data = response.read()
            out = [(name, self._rewrite(name, value)) for name, value in response.getheaders()
                   if name.lower() not in _HOP_BY_HOP]
            return response.status, out, data
        finally:
            connection.close()

    def _rewrite(self, name: str, value: str) -> str:
        """Point redirects to the blob host at the proxy's blob front."""
        if name.lower() != "location":
            return value
        target = urlsplit(value)
        if target.hostname == BLOB_HOST and target.port == self.registry.blobs.port:
            return self.blob_origin + value[len(f"{target.scheme}://{target.netloc}"):]
        return value


def _reset(connection: socket.socket) -> None:
    """Close ``connection`` with a TCP reset (SO_LINGER with a zero timeout)."""
    with contextlib.suppress(OSError):
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()


def _send_head(handler: _Handler, status: int, headers: list[tuple[str, str]], length: int | None) -> None:
    handler.send_response(status)
    for name, value in headers:
        handler.send_header(name, value)
    if length is not None:
        handler.send_header("Content-Length", str(length))
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.wfile.flush()


def _write(handler: _Handler, data: bytes) -> bool:
    """Write and flush; False when the client is gone."""
    try:
        handler.wfile.write(data)
        handler.wfile.flush()
    except OSError:
        return False
    return True


def _pieces(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


def _replay(handler: _Handler, body: bytes, fault: Fault | None) -> None:
    """Send ``body`` as ``fault`` says (unchanged when ``fault`` is ``None``)."""
    if fault is None:
        _write(handler, body)
        return
    if fault.kind == "corrupt":
        if body:
            at = min(fault.keep, len(body) - 1)
            body = body[:at] + bytes([body[at] ^ 0xFF]) + body[at + 1:]
        _write(handler, body)
    elif fault.kind == "truncate":
        _write(handler, body[:fault.keep])
    elif fault.kind == "reset_mid_body":
        _write(handler, body[:fault.keep])
        _reset(handler.connection)
    elif fault.kind == "slow":
        for piece in _pieces(body, fault.chunk):
            if not _write(handler, piece):
                return
            time.sleep(fault.delay)
    elif fault.kind == "stall" and _write(handler, body[:fault.keep]):
        time.sleep(fault.delay)
        _write(handler, body[fault.keep:])


def _send_endless(handler: _Handler, fault: Fault) -> None:
    """A JSON-looking body of ``fault.declared`` bytes, or chunked without end, until the client hangs up."""
    filler = b" " * _REPLAY_CHUNK
    opening = b'{"schemaVersion": 2, "padding": "'
    if fault.declared is None:
        handler.send_response(200)
        handler.send_header("Content-Type", fault.content_type)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.send_header("Connection", "close")
        handler.end_headers()
        piece = b"%x\r\n%s\r\n" % (len(filler), filler)
        if not _write(handler, b"%x\r\n%s\r\n" % (len(opening), opening)):
            return
        while _write(handler, piece):
            pass
        return
    _send_head(handler, 200, [("Content-Type", fault.content_type)], fault.declared)
    left = fault.declared
    first = opening[:left]
    if not _write(handler, first):
        return
    left -= len(first)
    while left > 0:
        piece = filler[:left]
        if not _write(handler, piece):
            return
        left -= len(piece)
