"""A scripted HTTP(S) server standing in for a registry, a token service or storage.

For failure modes a real registry does not produce on demand: 429 with ``Retry-After``, 503 then
success, oversized or corrupt manifests, a wrong ``Docker-Content-Digest``, redirects to another
host. Each route answers from a list of :class:`Reply` (the last one repeats) or a function of the
request; every request is recorded with its headers so tests can check what was (not) sent.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from testkit.processes import free_port


@dataclass(frozen=True)
class Reply:
    """One scripted answer. ``length=False`` sends no ``Content-Length`` (the body ends at close)."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    length: bool = True


@dataclass(frozen=True)
class Seen:
    """A request the stand-in received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


class RecordedSleeps(list[float]):
    """The delays a retry policy waited for, recorded instead of slept."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


Route = list[Reply] | Callable[[Seen], Reply]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: StandIn


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        owner: StandIn = self.server.owner  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        seen = Seen(self.command, url.path, parse_qs(url.query), dict(self.headers.items()), body)
        reply = owner.answer(seen)
        if reply.delay:
            time.sleep(reply.delay)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.length:
            self.send_header("Content-Length", str(len(reply.body)))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(reply.body)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _handle


class StandIn:
    """A scripted server on ``host`` (a free port), plain HTTP unless ``tls`` is given."""

    def __init__(self, host: str = "127.0.0.1", *, tls: TLSFiles | None = None) -> None:
        self.port = free_port(host)
        self.host = f"{host}:{self.port}"
        self.scheme = "https" if tls else "http"
        self.url = f"{self.scheme}://{self.host}"
        self._routes: dict[tuple[str, str], Route] = {}
        self._lock = threading.Lock()
        self.seen: list[Seen] = []
        self._server = _Server((host, self.port), _Handler)
        self._server.owner = self
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls.certificate, tls.key)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def route(self, method: str, path: str, *replies: Reply | Callable[[Seen], Reply]) -> None:
        """Answer ``method path`` with ``replies`` in order (the last repeats), or with a function."""
        if len(replies) == 1 and callable(replies[0]) and not isinstance(replies[0], Reply):
            self._routes[(method, path)] = replies[0]
        else:
            self._routes[(method, path)] = [r for r in replies if isinstance(r, Reply)]

    def answer(self, seen: Seen) -> Reply:
        with self._lock:
            self.seen.append(seen)
            route = self._routes.get((seen.method, seen.path))
            if route is None:
                return Reply(404, b'{"errors":[{"code":"NOT_FOUND","message":"no route"}]}')
            if callable(route):
                handler = route
            else:
                reply = route.pop(0) if len(route) > 1 else route[0]
                return reply
        return handler(seen)

    def requests_to(self, path: str) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.path == path]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass(frozen=True)
class TLSFiles:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files; ``certificate`` is also the CA."""

    certificate: Path
    key: Path

    @classmethod
    def create(cls, directory: Path) -> TLSFiles:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
        now = dt.datetime.now(dt.timezone.utc)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        cert_path, key_path = directory / "standin.pem", directory / "standin.key"
        cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
        return cls(cert_path, key_path)
