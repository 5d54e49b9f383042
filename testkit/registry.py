"""A real registry that behaves like ACR: Debian's ``docker-registry`` with token auth and storage redirects.

:class:`RegistryServer` runs three things on loopback:

- the CNCF distribution registry (``/usr/bin/docker-registry``) as a child process, filesystem
  storage in a temporary directory, ``auth.token`` pointing at
- a token service (an in-process HTTP server on 127.0.0.1) answering ``GET /oauth2/token`` like
  ACR: HTTP Basic in, ``{"access_token": <ES256 JWT with x5c>, "expires_in": N}`` out, granting
  each user only what their policy allows (unknown users and wrong passwords get 401), and
- a static blob server on 127.0.0.2 rooted at the storage directory, which the registry's
  ``redirect`` storage middleware sends blob downloads to (a 307, like ACR's redirect to Azure
  Storage). Like Azure Storage it answers 400 to any request carrying ``Authorization``, and it
  counts the blob downloads it serves per digest.

The session fixture :func:`registry` starts one for the whole test run.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from shared.registry import Credentials, Digest, RegistryClient
from testkit.processes import free_port, stop_process, wait_for_port

REGISTRY_BIN = Path("/usr/bin/docker-registry")
ISSUER = "lookout-test-token-service"
BLOB_HOST = "127.0.0.2"
ADMIN_USER = "lookout-admin"
READONLY_USER = "docker-scout-readonly-token"

_BLOB_PATH = "/docker/registry/v2/blobs/sha256/"


@dataclass(frozen=True)
class UserPolicy:
    """What a user of the token service may do. ``pull`` includes ACR's ``metadata_read``."""

    password: str
    pull: bool = True
    push: bool = False
    delete: bool = False
    catalog: bool = True


@dataclass(frozen=True)
class TokenRequest:
    """One request the token service answered: who (``None``: anonymous), the scopes asked, the status."""

    user: str | None
    scopes: tuple[str, ...]
    status: int
    granted: tuple[dict[str, Any], ...] = ()


class DownloadCounts:
    """How many times the blob server served each blob, by digest (``"sha256:..."``). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, digest: str) -> None:
        with self._lock:
            self._counts[digest] += 1

    def __getitem__(self, digest: str | Digest) -> int:
        with self._lock:
            return self._counts[str(digest)]

    def total(self) -> int:
        """Downloads of all blobs together."""
        with self._lock:
            return sum(self._counts.values())

    def snapshot(self) -> dict[str, int]:
        """A copy of the counts."""
        with self._lock:
            return dict(self._counts)

    def reset(self) -> None:
        """Forget every count."""
        with self._lock:
            self._counts.clear()


class _SigningKey:
    """An ES256 key with a self-signed certificate: what the registry's ``rootcertbundle`` trusts."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{ISSUER} {uuid.uuid4().hex[:8]}")])
        now = dt.datetime.now(dt.timezone.utc)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.x5c = base64.b64encode(self.certificate.public_bytes(serialization.Encoding.DER)).decode("ascii")

    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: Any


class _QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def reply(self, status: int, body: bytes = b"", content_type: str = "application/json", **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class _TokenHandler(_QuietHandler):
    def do_GET(self) -> None:
        service: TokenService = self.server.owner  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        if url.path != "/oauth2/token":
            self.reply(404, b'{"errors":[{"code":"NOT_FOUND","message":"no such endpoint"}]}')
            return
        query = parse_qs(url.query)
        scopes = tuple(part for value in query.get("scope", []) for part in value.split() if part)
        status, body = service.issue(self.headers.get("Authorization"), query.get("service", [None])[0], scopes)
        self.reply(status, json.dumps(body).encode())


class TokenService:
    """ACR-like ``/oauth2/token``: HTTP Basic credentials in, a JWT granting the user's rights out."""

    def __init__(self, service: str, key: _SigningKey, *, lifetime: int = 300) -> None:
        self.service = service
        self.key = key
        self.lifetime = lifetime
        """Seconds announced as ``expires_in`` and put into the JWT's ``exp``."""
        self.field = "access_token"
        """The JSON field carrying the token: ACR's ``access_token`` or the token spec's ``token``."""
        self.users: dict[str, UserPolicy] = {}
        self._lock = threading.Lock()
        self._requests: list[TokenRequest] = []
        self.port = free_port()
        self._server = _Server(("127.0.0.1", self.port), _TokenHandler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="token-service", daemon=True)
        self._thread.start()

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.port}/oauth2/token"

    def set_user(self, name: str, policy: UserPolicy | None) -> None:
        """Add, replace (``policy``) or remove (``None``) a user."""
        with self._lock:
            if policy is None:
                self.users.pop(name, None)
            else:
                self.users[name] = policy

    @property
    def requests(self) -> list[TokenRequest]:
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()

    def issue(self, authorization: str | None, service: str | None, scopes: tuple[str, ...]) -> tuple[int, dict[str, Any]]:
        """The status and JSON body answering a token request."""
        user, policy = self._authenticate(authorization)
        if policy is None:
            with self._lock:
                self._requests.append(TokenRequest(user, scopes, 401))
            return 401, {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}
        access = tuple(self._grant(policy, scopes))
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": user,
            "aud": service or self.service,
            "exp": now + self.lifetime,
            "nbf": now - 5,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": list(access),
        }
        token = jwt.encode(claims, self.key.key, algorithm="ES256", headers={"x5c": [self.key.x5c]})
        with self._lock:
            self._requests.append(TokenRequest(user, scopes, 200, access))
        return 200, {self.field: token, "expires_in": self.lifetime, "issued_at": dt.datetime.now(dt.timezone.utc).isoformat()}

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _authenticate(self, authorization: str | None) -> tuple[str | None, UserPolicy | None]:
        if not authorization or not authorization.startswith("Basic "):
            return None, None
        try:
            name, _, password = base64.b64decode(authorization[6:], validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None, None
        with self._lock:
            policy = self.users.get(name)
        if policy is None or not secrets.compare_digest(policy.password, password):
            return name, None
        return name, policy

    @staticmethod
    def _grant(policy: UserPolicy, scopes: tuple[str, ...]) -> Iterator[dict[str, Any]]:
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions_text = rest.rpartition(":")
            asked = set(actions_text.split(","))
            allowed: set[str] = set()
            if kind == "repository":
                if policy.pull:
                    allowed |= {"pull", "metadata_read"}
                if policy.push:
                    allowed |= {"pull", "push", "metadata_read", "metadata_write"}
                if policy.delete:
                    allowed |= {"delete"}
            elif kind == "registry" and name == "catalog" and policy.catalog:
                allowed |= {"*"}
            granted = sorted(asked & allowed) if "*" not in asked or kind == "registry" else sorted(allowed)
            if granted:
                yield {"type": kind, "name": name, "actions": granted}


class _BlobHandler(_QuietHandler):
    def do_GET(self) -> None:
        blobs: BlobServer = self.server.owner  # type: ignore[attr-defined]
        if self.headers.get("Authorization") is not None:
            blobs.note_rejected()
            body = (
                b'<?xml version="1.0" encoding="utf-8"?><Error><Code>InvalidAuthenticationInfo</Code>'
                b"<Message>Authentication information is not given in the correct format.</Message></Error>"
            )
            self.reply(400, body, "application/xml")
            return
        path = urlsplit(self.path).path
        target = (blobs.root / unquote(path).lstrip("/")).resolve()
        if not target.is_relative_to(blobs.root) or not target.is_file():
            self.reply(404, b"<Error><Code>BlobNotFound</Code></Error>", "application/xml")
            return
        size = target.stat().st_size
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        if self.command == "HEAD":
            return
        with target.open("rb") as source:
            shutil.copyfileobj(source, self.wfile)
        if path.startswith(_BLOB_PATH) and path.endswith("/data"):
            blobs.downloads.add("sha256:" + path[len(_BLOB_PATH) :].split("/")[1])

    do_HEAD = do_GET


class BlobServer:
    """A static file server on 127.0.0.2, like Azure Storage behind ACR's blob redirects."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.downloads = DownloadCounts()
        self._lock = threading.Lock()
        self.rejected = 0
        """Requests refused because they carried ``Authorization``."""
        self.port = free_port(BLOB_HOST)
        self._server = _Server((BLOB_HOST, self.port), _BlobHandler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="blob-server", daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://{BLOB_HOST}:{self.port}/"

    def note_rejected(self) -> None:
        with self._lock:
            self.rejected += 1

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class RegistryServer:
    """A distribution registry with ACR-like token auth and storage redirects, on loopback.

    Created with two users: :attr:`admin` (pull, push, delete, catalog) and :attr:`readonly`
    (``docker-scout-readonly-token``: pull and catalog, like ACR's
    ``_repositories_pull_metadata_read`` scope map). ``stop()`` and ``start()`` stop and restart
    the registry process alone, keeping port, data, users and the other servers.
    """

    def __init__(self, *, token_lifetime: int = 300) -> None:
        if not REGISTRY_BIN.exists():
            raise RuntimeError(f"{REGISTRY_BIN} is missing: run `make setup` (it installs Debian's docker-registry)")
        self._dir = Path(tempfile.mkdtemp(prefix="lookout-registry-"))
        self.storage = self._dir / "storage"
        self.storage.mkdir()
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"
        self._key = _SigningKey()
        self._bundle = self._dir / "token-ca.pem"
        self._bundle.write_bytes(self._key.pem())
        self.tokens = TokenService(self.host, self._key, lifetime=token_lifetime)
        self.blobs = BlobServer(self.storage)
        self._secret = secrets.token_hex(16)
        self._config = self._dir / "config.yml"
        self._log_path = self._dir / "registry.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.admin = self.add_user(ADMIN_USER, secrets.token_urlsafe(16), push=True, delete=True)
        self.readonly = self.add_user(READONLY_USER, secrets.token_urlsafe(16))

    # -- users and tokens ------------------------------------------------------------------------

    def add_user(
        self,
        name: str,
        password: str,
        *,
        pull: bool = True,
        push: bool = False,
        catalog: bool = True,
        delete: bool = False,
    ) -> Credentials:
        """Add (or replace) a token-service user; ``pull=push=catalog=False`` is a user with no rights."""
        self.tokens.set_user(name, UserPolicy(password, pull=pull or push, push=push, delete=delete, catalog=catalog))
        return Credentials(name, password)

    def remove_user(self, name: str) -> None:
        """Forget a user: their next token request gets 401 (tokens already issued stay valid)."""
        self.tokens.set_user(name, None)

    @property
    def token_requests(self) -> list[TokenRequest]:
        """Every token request answered since the last :meth:`reset_token_requests`, in order."""
        return self.tokens.requests

    def token_requests_for(self, user: str | None) -> int:
        """How many token requests ``user`` made (``None``: anonymous or unparseable ones)."""
        return sum(1 for request in self.tokens.requests if request.user == user)

    def reset_token_requests(self) -> None:
        self.tokens.reset()

    def rotate_signing_key(self) -> None:
        """Sign tokens with a new key and trust only that one (restarts the registry).

        Tokens issued before are rejected from then on, though their ``exp`` has not passed: the way
        to make a client's cached token stale.
        """
        self._key = _SigningKey()
        self._bundle.write_bytes(self._key.pem())
        self.tokens.key = self._key
        self.stop()
        self.start()

    # -- blob downloads --------------------------------------------------------------------------

    @property
    def blob_downloads(self) -> DownloadCounts:
        """Blob downloads served by the storage stand-in, per digest."""
        return self.blobs.downloads

    @property
    def rejected_blob_requests(self) -> int:
        """Requests the storage stand-in refused because they carried ``Authorization``."""
        return self.blobs.rejected

    # -- lifecycle -------------------------------------------------------------------------------

    def client(self, credentials: Credentials | None = None, **options: Any) -> RegistryClient:
        """A client of this registry (insecure: it speaks plain HTTP on loopback)."""
        options.setdefault("insecure", True)
        return RegistryClient(self.host, credentials, **options)

    def start(self) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        self._config.write_text(self._render_config())
        log = self._log_path.open("ab")
        try:
            self.process = subprocess.Popen([str(REGISTRY_BIN), "serve", str(self._config)], stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()
        try:
            wait_for_port("127.0.0.1", self.port, timeout=30, process=self.process)
        except RuntimeError as error:
            raise RuntimeError(f"{error}\n--- registry log ---\n{self.log_tail()}") from None

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None

    def close(self) -> None:
        self.stop()
        self.tokens.close()
        self.blobs.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> RegistryServer:
        """Start the registry; what a failed start left running is closed before the error propagates."""
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def log_tail(self, lines: int = 40) -> str:
        """The end of the registry's log, for failure messages."""
        try:
            return "\n".join(self._log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _render_config(self) -> str:
        # JSON is YAML: no quoting surprises with paths.
        config = {
            "version": 0.1,
            "log": {"level": "warn", "formatter": "text", "accesslog": {"disabled": True}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.storage)},
                "delete": {"enabled": True},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": {"addr": self.host, "secret": self._secret},
            "auth": {
                "token": {
                    "realm": self.tokens.realm,
                    "service": self.host,
                    "issuer": ISSUER,
                    "rootcertbundle": str(self._bundle),
                }
            },
            "middleware": {"storage": [{"name": "redirect", "options": {"baseurl": self.blobs.base_url}}]},
        }
        return json.dumps(config, indent=2)


@pytest.fixture(scope="session")
def registry() -> Iterator[RegistryServer]:
    """One running :class:`RegistryServer` for the test session (users ``admin`` and ``readonly``)."""
    with RegistryServer() as server:
        yield server
