"""HTTP for registry calls: timeouts, bounded retries, HTTPS-only unless insecure, safe redirects.

:class:`Transport` wraps a :class:`requests.Session`. Every request

- has a connect and a read timeout;
- is retried by :func:`shared.retry.send_with_retries` under a :class:`~shared.retry.RetryPolicy`
  (by default on 429, 502, 503, 504, connection errors and timeouts, at most 4 tries in all, with
  jittered exponential backoff that honours ``Retry-After`` up to 30 s); a TLS failure is not retried;
- goes over HTTPS with verified certificates, unless the transport was made ``insecure`` (then
  plain HTTP and unverified TLS are allowed: the caller decides which registries may be insecure);
- follows redirects itself, dropping ``Authorization`` as soon as a redirect leaves the origin
  (scheme, host, port) the header was meant for, and never adding it back;
- when the transport was given a ``min_interval``, leaves at least that many seconds between the
  starts of two requests (a pace kept under a registry's read limit by a caller that sends many).

Responses are streamed: the caller reads them with :func:`read_limited` (or its own bounded reader)
and closes them. Environment proxies are honoured; ``.netrc`` credentials and cookies are not used.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests

from shared.registry.errors import (
    MAX_ERROR_BODY,
    InsecureNotAllowed,
    RegistryError,
    RegistryUnreachable,
    TLSFailure,
    TooLarge,
)
from shared.retry import RetryPolicy, parse_retry_after, send_with_retries

__all__ = [
    "CHUNK_SIZE",
    "MAX_REDIRECTS",
    "REDIRECT_STATUSES",
    "RetryPolicy",
    "Timeout",
    "Transport",
    "origin",
    "parse_retry_after",
    "read_error_body",
    "read_limited",
    "redact",
]

logger = logging.getLogger(__name__)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
CHUNK_SIZE = 64 * 1024


@dataclass(frozen=True)
class Timeout:
    """Seconds to wait for a connection and, once connected, between bytes of the response."""

    connect: float = 10.0
    read: float = 60.0

    def __post_init__(self) -> None:
        if self.connect <= 0 or self.read <= 0:
            raise ValueError("timeouts must be positive")


def redact(url: str) -> str:
    """``url`` without its query string, fragment or user info: safe for messages and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port is not None else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def origin(url: str) -> tuple[str, str, int]:
    """The (scheme, host, port) a request to ``url`` goes to, with the scheme's default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port


class Transport:
    """Sends registry HTTP requests (see the module doc for the guarantees).

    ``request_count`` counts the HTTP requests sent (each redirect hop and retry included).
    ``min_interval`` is the least time, in seconds, between the starts of two of them (0: no pacing);
    the pacing waits come on top of any retry backoff or ``Retry-After``.
    """

    def __init__(
        self,
        *,
        insecure: bool = False,
        timeout: Timeout | None = None,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
        max_redirects: int = MAX_REDIRECTS,
        min_interval: float = 0.0,
    ) -> None:
        if min_interval < 0:
            raise ValueError("min_interval must not be negative")
        self.insecure = insecure
        self.timeout = timeout or Timeout()
        self.retry = retry or RetryPolicy()
        self.max_redirects = max_redirects
        self._owns_session = session is None
        self.session = session or requests.Session()
        self._count_lock = threading.Lock()
        self.request_count = 0
        self.min_interval = min_interval
        self._pace_lock = threading.Lock()
        self._next_start = 0.0

    def close(self) -> None:
        """Close the session when this transport created it."""
        if self._owns_session:
            self.session.close()

    def _pace(self) -> None:
        """Wait until ``min_interval`` seconds have passed since the previous request started.

        Concurrent callers queue up behind each other, so the pace holds across threads.
        """
        if self.min_interval <= 0:
            return
        with self._pace_lock:
            now = time.monotonic()
            if self._next_start > now:
                time.sleep(self._next_start - now)
                now = self._next_start
            self._next_start = now + self.min_interval

    def check_url(self, url: str) -> None:
        """Raise :class:`InsecureNotAllowed` unless ``url`` is https (or http on an insecure transport)."""
        scheme = urlsplit(url).scheme.lower()
        if scheme == "https" or (scheme == "http" and self.insecure):
            return
        if scheme == "http":
            raise InsecureNotAllowed(
                f"refusing plain HTTP to {redact(url)}: this registry is not configured as insecure, so only HTTPS is used"
            )
        raise InsecureNotAllowed(f"refusing URL scheme {scheme!r} for {redact(url)}: only HTTPS is used")

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str | list[str]] | None = None,
        data: bytes | None = None,
    ) -> requests.Response:
        """Send a request, retrying and following redirects; return the final, streamed response.

        The response may be any status (including 429 or 5xx after the last attempt, or when its
        ``Retry-After`` asks for longer than the policy allows); the caller maps it to an error and
        must close it. Raises :class:`RegistryUnreachable` (temporary) when
        no response arrived after the last attempt, :class:`TLSFailure` on TLS errors and
        :class:`InsecureNotAllowed` for a URL, or redirect, this transport may not follow.
        """
        label = f"{method} {redact(url)}"
        try:
            answer = send_with_retries(
                self.retry, lambda: self._follow(method, url, dict(headers or {}), params, data), label=label, log=logger
            )
        except requests.exceptions.SSLError:
            raise TLSFailure(
                f"{label}: TLS handshake failed (untrusted or mismatched certificate, or the server does not speak HTTPS)"
            ) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as error:
            what = "timed out" if isinstance(error, requests.exceptions.Timeout) else "could not connect"
            raise RegistryUnreachable(f"{label}: {what} after {self.retry.max_attempts} attempt(s)") from None
        return answer.response

    def _follow(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        params: Mapping[str, str | list[str]] | None,
        data: bytes | None,
    ) -> requests.Response:
        """One attempt: send, following up to ``max_redirects`` redirects."""
        for _ in range(self.max_redirects + 1):
            self.check_url(url)
            prepared = requests.Request(method, url, headers=headers, params=params, data=data).prepare()
            verify = False if self.insecure else self.session.verify
            settings = self.session.merge_environment_settings(prepared.url, {}, True, verify, None)
            self._pace()
            with self._count_lock:
                self.request_count += 1
            response = self.session.send(
                prepared,
                timeout=(self.timeout.connect, self.timeout.read),
                allow_redirects=False,
                stream=True,
                verify=False if self.insecure else settings["verify"],
                proxies=settings["proxies"],
            )
            logger.debug("%s %s -> %d", method, redact(url), response.status_code)
            location = response.headers.get("Location")
            if response.status_code not in REDIRECT_STATUSES or not location:
                return response
            response.close()
            target = urljoin(prepared.url or url, location)
            if origin(target) != origin(url):
                for name in [name for name in headers if name.lower() == "authorization"]:
                    del headers[name]
            if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
                method, data = "GET", None
            url, params = target, None
        raise RegistryError(f"{method} {redact(url)}: more than {self.max_redirects} redirects")


def read_limited(response: requests.Response, limit: int, *, what: str) -> bytes:
    """Read a streamed response body of at most ``limit`` bytes, then close the response.

    A larger body (by ``Content-Length`` or by what actually arrives) raises :class:`TooLarge`
    without reading it all; a connection failure mid-body raises :class:`RegistryUnreachable`.
    """
    try:
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise TooLarge(f"{what}: {int(declared)} bytes is more than the {limit} allowed", status=response.status_code)
        chunks: list[bytes] = []
        total = 0
        try:
            for chunk in response.iter_content(CHUNK_SIZE):
                total += len(chunk)
                if total > limit:
                    raise TooLarge(f"{what}: more than the {limit} bytes allowed", status=response.status_code)
                chunks.append(chunk)
        except requests.exceptions.RequestException as error:
            raise RegistryUnreachable(f"{what}: the connection failed while reading ({type(error).__name__})") from None
        return b"".join(chunks)
    finally:
        response.close()


def read_error_body(response: requests.Response) -> bytes:
    """Up to :data:`MAX_ERROR_BODY` bytes of an error response, then close it; never raises on a bad body."""
    chunks: list[bytes] = []
    total = 0
    try:
        for chunk in response.iter_content(CHUNK_SIZE):
            chunks.append(chunk[: MAX_ERROR_BODY - total])
            total += len(chunks[-1])
            if total >= MAX_ERROR_BODY:
                break
    except requests.exceptions.RequestException:
        pass
    finally:
        response.close()
    return b"".join(chunks)
